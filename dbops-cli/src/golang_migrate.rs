//! golang-migrate's own command line, so Makefiles, CI jobs and runbooks that call
//! `migrate -path db/migrations -database "$DATABASE_URL" up` keep working when `migrate` is dbops
//! (a link named `migrate` to the `dbops` binary, or `dbops migrate -path ...`).
//!
//! Flags are parsed as Go's `flag` package does (`-flag value`, `-flag=value`, `--flag`, flags stop
//! at the first argument that is not one). Lines go to stderr as golang-migrate prints them
//! (`1/u create_users (12.3ms)`, `no change`, `8 (dirty)`, `error: ...`); exit codes are its own:
//! 0 done, 1 failed, 2 bad usage.

use std::ffi::OsString;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use dbops::config::DatabaseUrl;
use dbops::error::{Error, Result};
use dbops::migrate::{
    self, CreateOptions, DownSteps, MigrateReport, MigrateSettings, MigrationSource, Migrator,
    Numbering, PgMigrator,
};

const USAGE: &str = "Usage: migrate OPTIONS COMMAND [arg...]
       migrate [ -version | -help ]

Options:
  -source          Location of the migrations (driver://url)
  -path            Shorthand for -source=file://path
  -database        Run migrations against this database (driver://url)
  -prefetch N      Number of migrations to load in advance before executing (default 10)
  -lock-timeout N  Allow N seconds to acquire database lock (default 15)
  -verbose         Print verbose logging
  -version         Print version
  -help            Print usage

Commands:
  create [-ext E] [-dir D] [-seq] [-digits N] [-format] [-tz] NAME
  goto V       Migrate to version V
  up [N]       Apply all or N up migrations
  down [N] [-all]    Apply all or N down migrations
  drop [-f]    Drop everything inside database
  force V      Set version V but don't run migration (ignores dirty state)
  version      Print current migration version

Source drivers: file
Database drivers: postgres, postgresql (dbops)";

/// golang-migrate's global flags: (name, takes a value).
const GLOBAL_FLAGS: &[(&str, bool)] = &[
    ("help", false),
    ("version", false),
    ("verbose", false),
    ("prefetch", true),
    ("lock-timeout", true),
    ("path", true),
    ("database", true),
    ("source", true),
];

/// Whether `dbops migrate ARGS` is golang-migrate's command line rather than dbops' own: it gives
/// one of golang-migrate's single-dash flags (`-path`, `-database`, `-all`, `-f`, `-ext`, ...).
pub fn wants(args_after_migrate: &[OsString]) -> bool {
    const GO_ONLY: &[&str] = &[
        "path",
        "source",
        "database",
        "prefetch",
        "lock-timeout",
        "verbose",
        "help",
        "version",
        "all",
        "f",
        "ext",
        "dir",
        "seq",
        "digits",
        "format",
        "tz",
    ];
    args_after_migrate.iter().any(|arg| {
        let arg = arg.to_string_lossy();
        let Some(flag) = arg.strip_prefix('-').filter(|f| !f.starts_with('-')) else {
            return false;
        };
        let name = flag.split_once('=').map_or(flag, |(name, _)| name);
        // `-s`, `-q`, `-v` are dbops' own short options; golang-migrate's are words (and `-f`).
        GO_ONLY.contains(&name) && (name.len() > 1 || name == "f")
    })
}

/// A command line parsed as Go's `flag` package parses it.
#[derive(Debug, Default)]
struct GoFlags {
    values: Vec<(String, String)>,
    rest: Vec<String>,
}

impl GoFlags {
    /// Parses `args` against `known` (name, takes a value); stops at the first non-flag or `--`.
    fn parse(args: &[String], known: &[(&str, bool)]) -> std::result::Result<Self, String> {
        let mut parsed = GoFlags::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg == "--" {
                i += 1;
                break;
            }
            let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
                break;
            };
            if flag.is_empty() {
                break;
            }
            let (name, inline) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (flag, None),
            };
            let Some((_, takes_value)) = known.iter().find(|(known, _)| *known == name) else {
                return Err(format!("flag provided but not defined: -{name}"));
            };
            let value = match (inline, takes_value) {
                (Some(value), _) => value,
                (None, false) => "true".into(),
                (None, true) => {
                    i += 1;
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| format!("flag needs an argument: -{name}"))?
                }
            };
            parsed.values.push((name.to_string(), value));
            i += 1;
        }
        parsed.rest = args[i..].to_vec();
        Ok(parsed)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn is_set(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| matches!(v, "true" | "1" | "t" | "T" | "TRUE" | "True"))
    }
}

/// How a golang-migrate run ends.
enum Outcome {
    Done,
    /// `error: ...` or another last line, exit 1.
    Failed(String),
    /// The usage text, exit 2.
    Usage,
}

/// Runs golang-migrate's command line (`args` without the program name) and returns the exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let flags = match GoFlags::parse(&args, GLOBAL_FLAGS) {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return 2;
        }
    };
    let log = Log {
        verbose: flags.is_set("verbose"),
    };
    if flags.is_set("version") {
        eprintln!("{} (dbops)", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    if flags.is_set("help") {
        eprintln!("{USAGE}");
        return 0;
    }
    let started = std::time::Instant::now();
    let outcome = match crate::block_on(crate::interrupt::run("migrate", command(&flags, &log))) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(interrupted)) => return interrupted.exit_code(),
        Err(code) => return code,
    };
    match outcome {
        Outcome::Done => {
            if log.verbose {
                log.line(&format!(
                    "Finished after {}",
                    go_duration(started.elapsed())
                ));
            }
            0
        }
        Outcome::Failed(line) => {
            log.line(&line);
            1
        }
        Outcome::Usage => {
            eprintln!("{USAGE}");
            2
        }
    }
}

/// golang-migrate's log: plain lines on stderr, with a timestamp when `-verbose`.
struct Log {
    verbose: bool,
}

impl Log {
    fn line(&self, text: &str) {
        if self.verbose {
            eprintln!(
                "{} {text}",
                chrono::Local::now().format("%Y/%m/%d %H:%M:%S")
            );
        } else {
            eprintln!("{text}");
        }
    }
}

async fn command(flags: &GoFlags, log: &Log) -> Outcome {
    let Some((name, args)) = flags.rest.split_first() else {
        return Outcome::Usage;
    };
    let result = match name.as_str() {
        "create" => create(args, log),
        "up" => up(flags, args, log).await,
        "down" => down(flags, args, log).await,
        "goto" => goto(flags, args, log).await,
        "force" => force(flags, args).await,
        "version" => version(flags, log).await,
        "drop" => drop(flags, args, log).await,
        _ => return Outcome::Usage,
    };
    match result {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Failed(error_line(&error)),
    }
}

/// `error: ...` as golang-migrate words the errors scripts match on.
fn error_line(error: &Error) -> String {
    match error {
        Error::Dirty { version, .. } => {
            format!("error: Dirty database version {version}. Fix and force version.")
        }
        other => format!("error: {}", dbops::error::report(other)),
    }
}

fn failed(text: impl Into<String>) -> Result<Outcome> {
    Ok(Outcome::Failed(text.into()))
}

/// A subcommand's own flags, then its arguments; a bad flag is golang-migrate's `error: ...`.
fn sub_flags(args: &[String], known: &[(&str, bool)]) -> std::result::Result<GoFlags, String> {
    let mut with_help = known.to_vec();
    with_help.push(("help", false));
    GoFlags::parse(args, &with_help).map_err(|message| format!("error: {message}"))
}

/// The migrations directory of `-source file://...` or `-path`.
fn source_dir(flags: &GoFlags) -> Result<PathBuf> {
    if let Some(source) = flags.get("source").filter(|s| !s.is_empty()) {
        let path = source.strip_prefix("file://").ok_or_else(|| {
            Error::config(
                "-source",
                format!(
                    "`{source}`: dbops reads migrations from files only: use -source file://DIR or -path DIR"
                ),
            )
        })?;
        return Ok(PathBuf::from(path));
    }
    match flags.get("path").filter(|p| !p.is_empty()) {
        Some(path) => Ok(PathBuf::from(path)),
        None => Err(Error::config(
            "-source",
            "no migrations given: use -path DIR or -source file://DIR",
        )),
    }
}

/// The migrator of `-database` (else `DATABASE_URL`), with golang-migrate's `x-migrations-table`
/// and `x-statement-timeout` URL parameters and `-lock-timeout`.
async fn migrator(flags: &GoFlags) -> Result<PgMigrator> {
    Ok(connect(flags)?.0)
}

/// [`migrator`] and the database URL it connects to.
fn connect(flags: &GoFlags) -> Result<(PgMigrator, DatabaseUrl)> {
    let raw = match flags.get("database").filter(|d| !d.is_empty()) {
        Some(raw) => raw.to_string(),
        None => std::env::var("DATABASE_URL").map_err(|_| {
            Error::config(
                "-database",
                "no database given: use -database postgres://user@host:5432/db or set DATABASE_URL",
            )
        })?,
    };
    let (url, settings) = golang_url(&raw)?;
    let source = MigrationSource::from_dir(source_dir(flags)?)?.validate(settings.strictness())?;
    let mut options = settings.options()?;
    if let Some(secs) = flags.get("lock-timeout") {
        let secs: u64 = secs.parse().map_err(|_| {
            Error::config(
                "-lock-timeout",
                format!("`{secs}` is not a number of seconds"),
            )
        })?;
        options.lock_wait = Duration::from_secs(secs);
    }
    Ok((PgMigrator::new(url.clone(), source).options(options), url))
}

/// A golang-migrate database URL: its scheme and `x-` parameters become dbops settings.
fn golang_url(raw: &str) -> Result<(DatabaseUrl, MigrateSettings)> {
    let scheme = raw.split_once("://").map(|(scheme, _)| scheme);
    if let Some(scheme) = scheme.filter(|s| !matches!(*s, "postgres" | "postgresql")) {
        return Err(Error::config(
            "-database",
            format!(
                "database driver `{scheme}` is not PostgreSQL: dbops migrates postgres:// URLs"
            ),
        ));
    }
    let mut url = DatabaseUrl::parse(raw)?;
    let mut settings = MigrateSettings::default();
    if let Some(table) = url.take_param("x-migrations-table") {
        settings.table = Some(table);
    }
    if let Some(ms) = url.take_param("x-statement-timeout") {
        let ms: f64 = ms.parse().map_err(|_| {
            Error::config("x-statement-timeout", format!("`{ms}` is not milliseconds"))
        })?;
        settings.statement_timeout_secs = Some(ms / 1000.0);
    }
    for ignored in [
        "x-multi-statement",
        "x-multi-statement-max-size",
        "x-migrations-table-quoted",
    ] {
        url.take_param(ignored);
    }
    Ok((url, settings))
}

/// golang-migrate's lines for applied migrations: `1/u create_users (12.3ms)`.
fn print_applied(log: &Log, report: &MigrateReport) {
    if report.applied.is_empty() {
        log.line("no change");
    }
    for step in &report.applied {
        let direction = match step.direction {
            migrate::Direction::Up => "u",
            migrate::Direction::Down => "d",
        };
        log.line(&format!(
            "{}/{direction} {} ({})",
            step.version,
            step.name,
            go_duration(step.duration)
        ));
    }
}

fn create(args: &[String], log: &Log) -> Result<Outcome> {
    let known = [
        ("ext", true),
        ("dir", true),
        ("seq", false),
        ("digits", true),
        ("format", true),
        ("tz", true),
    ];
    let flags = match sub_flags(args, &known) {
        Ok(flags) => flags,
        Err(line) => return failed(line),
    };
    let Some(name) = flags.rest.first() else {
        return failed("error: please specify name");
    };
    let Some(ext) = flags.get("ext").filter(|e| !e.is_empty()) else {
        return failed("error: -ext flag must be specified");
    };
    if ext.trim_start_matches('.') != "sql" {
        return failed(format!(
            "error: -ext {ext}: dbops migrations are SQL files: use -ext sql"
        ));
    }
    if !matches!(flags.get("tz").unwrap_or("UTC"), "UTC" | "utc") {
        return failed("error: -tz: dbops numbers timestamped migrations in UTC only");
    }
    let seq = flags.is_set("seq");
    let format = flags.get("format");
    let numbering = match (seq, format) {
        (true, Some(f)) if f != "20060102150405" => {
            return failed("error: the seq and format options are mutually exclusive");
        }
        (true, _) => Numbering::Sequential,
        (false, None | Some("20060102150405")) => Numbering::Timestamp,
        (false, Some("unix")) => Numbering::UnixSeconds,
        (false, Some("unixNano")) => Numbering::UnixNanos,
        (false, Some(other)) => {
            return failed(format!(
                "error: -format {other}: dbops supports the default (20060102150405), unix and unixNano"
            ));
        }
    };
    let digits = match flags.get("digits").map(str::parse::<usize>) {
        None => 6,
        Some(Ok(digits)) if digits > 0 => digits,
        Some(_) => return failed("error: digits must be positive"),
    };
    let dir = PathBuf::from(flags.get("dir").unwrap_or("."));
    let options = CreateOptions::default()
        .with_numbering(numbering)
        .with_digits(digits)
        .with_empty(true);
    let (up, down) = migrate::create_with(&dir, name, &options)?;
    for path in [up, down] {
        log.line(
            &std::path::absolute(&path)
                .unwrap_or(path)
                .display()
                .to_string(),
        );
    }
    Ok(Outcome::Done)
}

/// `[N]`: none, or one count golang-migrate reads as an unsigned number.
fn count_arg(args: &[String]) -> std::result::Result<Option<usize>, String> {
    match args {
        [] => Ok(None),
        [n] => n
            .parse()
            .map(Some)
            .map_err(|_| "error: can't read limit argument N".to_string()),
        _ => Err("error: too many arguments".into()),
    }
}

async fn up(flags: &GoFlags, args: &[String], log: &Log) -> Result<Outcome> {
    let sub = match sub_flags(args, &[]) {
        Ok(sub) => sub,
        Err(line) => return failed(line),
    };
    let limit = match count_arg(&sub.rest) {
        Ok(limit) => limit,
        Err(line) => return failed(line),
    };
    let migrator = migrator(flags).await?;
    match limit {
        None => print_applied(log, &migrator.up(None).await?),
        Some(0) => log.line("no change"),
        Some(n) => return steps_outcome(log, migrate::up_steps(&migrator, n).await?),
    }
    Ok(Outcome::Done)
}

/// The lines of `up N`/`down N`; fewer migrations than N is golang-migrate's `limit N short`.
fn steps_outcome(log: &Log, steps: migrate::StepsReport) -> Result<Outcome> {
    if steps.report.applied.is_empty() {
        return failed("error: file does not exist (no migration to apply)");
    }
    print_applied(log, &steps.report);
    if steps.short > 0 {
        return failed(format!("error: limit {} short", steps.short));
    }
    Ok(Outcome::Done)
}

async fn down(flags: &GoFlags, args: &[String], log: &Log) -> Result<Outcome> {
    let sub = match sub_flags(args, &[("all", false)]) {
        Ok(sub) => sub,
        Err(line) => return failed(line),
    };
    let all = sub.is_set("all");
    let limit = match count_arg(&sub.rest) {
        Ok(limit) => limit,
        Err(line) => return failed(line),
    };
    if all && limit.is_some() {
        return failed("error: -all cannot be used with other arguments");
    }
    if !all && limit.is_none() {
        if !confirmed(
            log,
            "Are you sure you want to apply all down migrations? [y/N]",
        ) {
            return failed("Not applying all down migrations");
        }
        log.line("Applying all down migrations");
    }
    let migrator = migrator(flags).await?;
    match limit {
        None => print_applied(log, &migrator.down(DownSteps::All).await?),
        Some(0) => log.line("no change"),
        Some(n) => return steps_outcome(log, migrate::down_steps(&migrator, n).await?),
    }
    Ok(Outcome::Done)
}

/// Asks on stderr and reads a line from stdin: only `y` agrees.
fn confirmed(log: &Log, question: &str) -> bool {
    log.line(question);
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim().eq_ignore_ascii_case("y")
}

/// The one version argument of `goto V` / `force V`.
fn version_arg(args: &[String]) -> std::result::Result<i64, String> {
    let sub = sub_flags(args, &[])?;
    let v = sub
        .rest
        .first()
        .ok_or("error: please specify version argument V")?;
    v.parse()
        .map_err(|_| "error: can't read version argument V".to_string())
}

async fn goto(flags: &GoFlags, args: &[String], log: &Log) -> Result<Outcome> {
    let version = match version_arg(args) {
        Ok(v) if v >= 0 => v,
        Ok(_) => return failed("error: can't read version argument V"),
        Err(line) => return failed(line),
    };
    print_applied(log, &migrator(flags).await?.goto(version).await?);
    Ok(Outcome::Done)
}

async fn force(flags: &GoFlags, args: &[String]) -> Result<Outcome> {
    let version = match version_arg(args) {
        Ok(v) if v >= -1 => v,
        Ok(_) => return failed("error: argument V must be >= -1"),
        Err(line) => return failed(line),
    };
    migrator(flags)
        .await?
        .force((version >= 0).then_some(version))
        .await?;
    Ok(Outcome::Done)
}

async fn version(flags: &GoFlags, log: &Log) -> Result<Outcome> {
    match migrator(flags).await?.version().await? {
        None => failed("error: no migration"),
        Some(state) if state.dirty => {
            log.line(&format!("{} (dirty)", state.version));
            Ok(Outcome::Done)
        }
        Some(state) => {
            log.line(&state.version.to_string());
            Ok(Outcome::Done)
        }
    }
}

async fn drop(flags: &GoFlags, args: &[String], log: &Log) -> Result<Outcome> {
    let sub = match sub_flags(args, &[("f", false)]) {
        Ok(sub) => sub,
        Err(line) => return failed(line),
    };
    if !sub.is_set("f") {
        if !confirmed(
            log,
            "Are you sure you want to drop the entire database schema? [y/N]",
        ) {
            return failed("Aborted dropping the entire database schema");
        }
        log.line("Dropping the entire database schema");
    }
    let (migrator, url) = connect(flags)?;
    migrator.drop_everything(&url.database()).await?;
    Ok(Outcome::Done)
}

/// A duration as Go prints one: `850µs`, `12.345678ms`, `1.5s`, `2m3.2s`.
fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    let trimmed = |value: f64, decimals: usize, unit: &str| {
        let text = format!("{value:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.')
        } else {
            &text
        };
        format!("{text}{unit}")
    };
    match nanos {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => trimmed(n as f64 / 1e3, 3, "µs"),
        n if n < 1_000_000_000 => trimmed(n as f64 / 1e6, 6, "ms"),
        n if n < 60_000_000_000 => trimmed(n as f64 / 1e9, 9, "s"),
        n => {
            let minutes = n / 60_000_000_000;
            let rest = (n % 60_000_000_000) as f64 / 1e9;
            format!("{minutes}m{}", trimmed(rest, 9, "s"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_parse_as_go_does() {
        let flags = GoFlags::parse(
            &strings(&[
                "-path",
                "db",
                "--database=postgres://x/y",
                "-verbose",
                "up",
                "2",
            ]),
            GLOBAL_FLAGS,
        )
        .unwrap();
        assert_eq!(flags.get("path"), Some("db"));
        assert_eq!(flags.get("database"), Some("postgres://x/y"));
        assert!(flags.is_set("verbose"));
        assert_eq!(flags.rest, strings(&["up", "2"]));
        let err = GoFlags::parse(&strings(&["-nope", "up"]), GLOBAL_FLAGS).unwrap_err();
        assert_eq!(err, "flag provided but not defined: -nope");
        let err = GoFlags::parse(&strings(&["-path"]), GLOBAL_FLAGS).unwrap_err();
        assert_eq!(err, "flag needs an argument: -path");
    }

    #[test]
    fn golang_forms_are_recognised_and_dbops_forms_are_not() {
        let os = |args: &[&str]| args.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants(&os(&["-path", "db", "up"])));
        assert!(wants(&os(&["-database=postgres://x", "version"])));
        assert!(wants(&os(&["down", "-all"])));
        assert!(wants(&os(&["drop", "-f"])));
        assert!(wants(&os(&[
            "create", "-ext", "sql", "-dir", "d", "-seq", "x"
        ])));
        assert!(!wants(&os(&["-s", "db", "up", "2"])));
        assert!(!wants(&os(&["--source", "db", "down", "--all"])));
        assert!(!wants(&os(&["create", "add rides"])));
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(go_duration(Duration::from_nanos(850)), "850ns");
        assert_eq!(go_duration(Duration::from_micros(850)), "850µs");
        assert_eq!(go_duration(Duration::from_nanos(12_345_678)), "12.345678ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(123_200)), "2m3.2s");
    }

    #[test]
    fn golang_url_parameters_become_settings() {
        let (url, settings) = golang_url(
            "postgres://u@h:5432/db?sslmode=disable&x-migrations-table=mig&x-statement-timeout=1500&x-multi-statement=true",
        )
        .unwrap();
        assert_eq!(settings.table.as_deref(), Some("mig"));
        assert_eq!(settings.statement_timeout_secs, Some(1.5));
        assert_eq!(url.param("sslmode"), Some("disable"));
        assert_eq!(url.param("x-migrations-table"), None);
        assert_eq!(url.param("x-multi-statement"), None);
        assert!(golang_url("mysql://u@h/db").is_err());
    }
}
