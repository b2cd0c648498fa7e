//! The `dbops` command-line tool, a front-end of the `dbops` library: every command maps its
//! arguments onto library types, calls the library and prints. Nothing here is library API: the
//! binary calls [`main`], Python's `python -m dbops` calls [`run_from_args`].

mod backup;
mod cluster;
mod context;
mod examples;
mod golang_migrate;
mod health;
mod interrupt;
mod logging;
mod mask;
mod migrate;
mod panic_guard;
mod pitr;
mod seed;

use clap::{Parser, Subcommand};

use context::{Context, GlobalArgs};

use dbops::error::{Result, report};

/// Every PostgreSQL operation of one service's database.
#[derive(Debug, Parser)]
#[command(name = "dbops", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Start, stop and list embedded PostgreSQL clusters built from the local server binaries.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Apply, roll back, inspect, verify and lint migrations (golang-migrate compatible).
    Migrate(migrate::MigrateArgs),
    /// Readiness checks once, or an HTTP server with health routes and metrics.
    #[command(subcommand)]
    Health(health::HealthCommand),
    /// Database status (the monitoring queries), terminating sessions, guarded reset.
    #[command(subcommand)]
    Db(DbCommand),
    /// Seed the reference schema with a profile of the guide, or run a seed SQL file.
    Seed(seed::SeedArgs),
    /// Back up to any object store (pg_dump, zstd, age), list, verify, prune.
    Backup(Box<backup::BackupArgs>),
    /// Restore a backup (latest, by id, before a time, or a file), verified while streaming.
    Restore(Box<backup::RestoreArgs>),
    /// Masking rules for staging copies without personal data: check them, draft them.
    #[command(subcommand)]
    Mask(mask::MaskCommand),
    /// WAL archiving for point-in-time recovery: archive_command and restore_command.
    #[command(subcommand)]
    Wal(Box<pitr::WalCommand>),
    /// Take a base backup (pg_basebackup) into the PITR archive.
    Basebackup(Box<pitr::BaseBackupArgs>),
    /// Point-in-time recovery: restore to a time/restore point/xid/LSN, restore points, status, setup.
    #[command(subcommand)]
    Pitr(Box<pitr::PitrCommand>),
}

/// `dbops db ...`
#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Status and kill.
    #[command(flatten)]
    Monitor(health::DbCommand),
    /// Drop, recreate, migrate and optionally seed the database; refuses production-looking targets.
    Reset(seed::ResetArgs),
}

impl Command {
    async fn run(self, ctx: &Context) -> Result<()> {
        match self {
            Command::Cluster(cmd) => cluster::run(cmd, ctx).await,
            Command::Migrate(args) => migrate::run(args, ctx).await,
            Command::Health(cmd) => health::run_health(cmd, ctx).await,
            Command::Db(DbCommand::Monitor(cmd)) => health::run_db(cmd, ctx).await,
            Command::Db(DbCommand::Reset(args)) => seed::run_reset(args, ctx).await,
            Command::Seed(args) => seed::run_seed(args, ctx).await,
            Command::Backup(args) => backup::run_backup(*args, ctx).await,
            Command::Restore(args) => backup::run_restore(*args, ctx).await,
            Command::Mask(cmd) => mask::run(cmd, ctx).await,
            Command::Wal(cmd) => pitr::run_wal(*cmd, ctx).await,
            Command::Basebackup(args) => pitr::run_basebackup(*args, ctx).await,
            Command::Pitr(cmd) => pitr::run_pitr(*cmd, ctx).await,
        }
    }
}

/// Runs the CLI with the process arguments and exits with its status code.
pub fn main() -> ! {
    // Passwords, identities and passphrases live in this process: no core files of it.
    if let Err(error) = dbops::config::disable_core_dumps() {
        eprintln!("warning: {error}");
    }
    std::process::exit(run_from_args(std::env::args_os()))
}

/// Runs the CLI with the given arguments (the first is the program name) and returns the exit code:
/// 0 on success, 1 when the operation failed, 2 on bad usage, 70 when dbops itself failed (a panic:
/// a bug, reported in two short lines; a backtrace only with `RUST_BACKTRACE`), 130 and 143 when
/// SIGINT or SIGTERM interrupted it (after cleaning up what it started).
pub fn run_from_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    if let Some(golang_args) = golang_migrate_args(&args) {
        return panic_guard::run("migrate", move || golang_migrate::run(golang_args));
    }
    let parsed = examples::with_examples(Cli::command())
        .try_get_matches_from(args)
        .and_then(|matches| Ok((command_path(&matches), Cli::from_arg_matches(&matches)?)));
    let (command, cli) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { 2 } else { 0 };
        }
    };
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    panic_guard::run(&command.clone(), move || run_parsed(&command, cli))
}

/// The arguments of golang-migrate's command line, when these are: the program is called `migrate`
/// (a link to dbops), or `dbops migrate` is followed by golang-migrate's flags.
fn golang_migrate_args(args: &[std::ffi::OsString]) -> Option<Vec<std::ffi::OsString>> {
    let program = args.first().map(std::path::Path::new)?;
    let stem = program.file_stem()?.to_string_lossy();
    if stem == "migrate" {
        return Some(args[1..].to_vec());
    }
    let rest = args.get(2..)?;
    (args[1] == "migrate" && golang_migrate::wants(rest)).then(|| rest.to_vec())
}

/// `dbops backup list` for messages: the program and its subcommands, without arguments.
fn command_path(matches: &clap::ArgMatches) -> String {
    let mut path = String::from("dbops");
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(' ');
        path.push_str(name);
        current = sub;
    }
    path
}

/// Runs `future` on a new multi-threaded runtime; `Err(1)` when the runtime cannot start.
fn block_on<F: std::future::Future>(future: F) -> std::result::Result<F::Output, i32> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(err) => {
            eprintln!("error: could not start the async runtime: {err}");
            Err(1)
        }
    }
}

fn run_parsed(command: &str, cli: Cli) -> i32 {
    logging::init(&cli.global);
    let outcome = block_on(async move {
        let ctx = Context::new(cli.global);
        let outcome = interrupt::run(command, cli.command.run(&ctx)).await;
        ctx.finish().await;
        outcome.map(|outcome| outcome.map(|()| ctx.exit_code()))
    });
    match outcome {
        Err(code) => code,
        Ok(Err(interrupted)) => interrupted.exit_code(),
        Ok(Ok(Ok(code))) => code,
        Ok(Ok(Err(err))) => {
            eprintln!("error: {}", report(&err));
            exit_code_of(&err)
        }
    }
}

/// The exit code of a command that failed with `err`: 2 for bad usage (an invalid URL, option or
/// setting), 1 for everything else.
fn exit_code_of(err: &dbops::Error) -> i32 {
    match err {
        dbops::Error::InvalidUrl { .. } | dbops::Error::Config { .. } => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

/// The CLI's defaults are the library's: parsing a command without options gives the library's
/// default settings.
#[cfg(test)]
mod defaults {
    use clap::Parser;

    fn parse(args: &[&str]) -> super::Cli {
        super::Cli::try_parse_from(std::iter::once("dbops").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn backup_health_thresholds_are_the_librarys() {
        let super::Command::Backup(args) = parse(&["backup", "health"]).command else {
            panic!("not backup");
        };
        assert_eq!(
            crate::backup::health_limits(&args),
            Some(dbops::backup::BackupHealthLimits::default())
        );
    }

    #[test]
    fn migrate_settings_are_the_librarys() {
        let super::Command::Migrate(args) = parse(&["migrate", "up"]).command else {
            panic!("not migrate");
        };
        let settings = args.settings();
        assert_eq!(
            serde_json::to_value(&settings).unwrap(),
            serde_json::to_value(dbops::migrate::MigrateSettings::default()).unwrap()
        );
        assert_eq!(
            serde_json::to_value(settings.options().unwrap()).unwrap(),
            serde_json::to_value(dbops::MigrateOptions::default()).unwrap()
        );
    }
}
