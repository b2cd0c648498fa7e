//! `lint`: migrations read with a PostgreSQL grammar and checked against rules that know the lock
//! each statement takes, what it blocks, how that scales with the table, and the safe rewrite; what
//! a file created itself (an index on a table created in the same migration is fine); and what the
//! server version makes safe. Silence a rule for one statement with `-- dbops:allow <rule>` on the
//! line before it or inside it, or for a whole file with `-- dbops:allow-file <rule>`.
//!
//! ```
//! use dbops::migrate::lint::{self, LintOptions, Severity};
//!
//! let findings = lint::check_script(
//!     "000012_driver_fk.up.sql",
//!     "ALTER TABLE rides ADD CONSTRAINT rides_driver_fk FOREIGN KEY (driver_id) REFERENCES drivers (id);",
//!     &LintOptions::default(),
//! );
//! assert_eq!(findings[0].rule, "foreign-key-not-valid");
//! assert_eq!(findings[0].severity, Severity::Error);
//! assert!(findings[0].message.contains("NOT VALID"));
//! ```

mod checks;
pub mod cst;
mod locks;
mod rules;

use serde::Serialize;

use super::source::{Migration, MigrationSource, Script};
pub use locks::{Blocks, LockMode, TableEffect, Work, effects};
use rules::rule_by_id as rule;
pub use rules::{RULES, Rule, Severity, rules_markdown};

/// What the rules assume of the servers the migrations run on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LintOptions {
    /// The oldest PostgreSQL major the migrations must be safe on (what is cheap depends on it:
    /// a constant `DEFAULT` needs no rewrite since 11, `DETACH PARTITION CONCURRENTLY` exists
    /// since 14). Default: 13, the oldest dbops supports.
    pub server_major: u32,
}

impl Default for LintOptions {
    fn default() -> Self {
        Self { server_major: 13 }
    }
}

crate::setters::with_setters!(LintOptions {
    with_server_major => server_major: u32,
});

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LintFinding {
    /// The rule's id.
    pub rule: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// File name.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and how to fix or silence it.
    pub message: String,
}

impl std::fmt::Display for LintFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}]: {}",
            self.file, self.line, self.column, self.severity, self.rule, self.message
        )
    }
}

/// Lints every migration of `source` (up and down files) with the default [`LintOptions`].
///
/// ```
/// use dbops::MigrationSource;
/// use dbops::migrate::lint;
///
/// let source = MigrationSource::from_files("migrations", [
///     ("000001_users.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text)"),
///     ("000001_users.down.sql", "DROP TABLE users"),
///     ("000002_users_email.up.sql", "CREATE INDEX users_email ON users (email)"),
///     ("000002_users_email.down.sql", "DROP INDEX users_email"),
/// ])?;
/// let findings = lint::check(&source);
/// for finding in &findings {
///     println!("{finding}"); // file:line:column: severity[rule]: message
/// }
/// // The index on an existing table blocks its writes while it builds: use CONCURRENTLY.
/// let index = findings.iter().find(|f| f.rule == "index-not-concurrent");
/// assert_eq!(index.map(|f| f.file.as_str()), Some("000002_users_email.up.sql"));
/// # Ok::<(), dbops::Error>(())
/// ```
pub fn check(source: &MigrationSource) -> Vec<LintFinding> {
    check_with(source, &LintOptions::default())
}

/// Lints every migration of `source` (up and down files). What earlier migrations proved carries
/// over: a validated `CHECK (col IS NOT NULL)` makes a later `SET NOT NULL` safe.
pub fn check_with(source: &MigrationSource, options: &LintOptions) -> Vec<LintFinding> {
    let mut out = Vec::new();
    let mut proven = checks::Proven::default();
    for m in source.migrations() {
        proven = check_migration(m, options, proven, &mut out);
    }
    out
}

/// Lints one up script on its own (no down file is expected of it).
pub fn check_script(file: &str, sql: &str, options: &LintOptions) -> Vec<LintFinding> {
    let mut out = Vec::new();
    let ctx = checks::FileContext {
        has_down: true,
        server_major: options.server_major,
        ..Default::default()
    };
    check_up(file, sql, ctx, &mut out);
    out
}

/// Lints the given files (a pre-commit hook's changed files): each `.sql` file's name, the
/// directory it is in as a whole, and the rules' findings in these files only (older migrations,
/// already applied, are not reported again). Other files are ignored. A directory stands for every
/// `.sql` file in it; a path that does not exist, or a directory without `.sql` files, is a finding.
/// With `names_only`, only names and the directory are checked.
pub fn check_files(paths: &[std::path::PathBuf], names_only: bool) -> Vec<LintFinding> {
    check_files_with(paths, names_only, &LintOptions::default())
}

/// [`check_files`] with `options`.
pub fn check_files_with(
    paths: &[std::path::PathBuf],
    names_only: bool,
    options: &LintOptions,
) -> Vec<LintFinding> {
    let mut out = Vec::new();
    let files = expand_directories(paths, &mut out);
    let mut by_dir: std::collections::BTreeMap<std::path::PathBuf, Vec<String>> =
        std::collections::BTreeMap::new();
    for path in &files {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        if !file.ends_with(".sql") {
            continue;
        }
        let dir = path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let display = path.display().to_string();
        match file_name_problem(file) {
            Some(problem) => out.push(finding_at(&display, "file-name", problem)),
            None => by_dir.entry(dir).or_default().push(file.to_string()),
        }
    }
    for (dir, names) in by_dir {
        let dir = if dir.as_os_str().is_empty() {
            std::path::PathBuf::from(".")
        } else {
            dir
        };
        match MigrationSource::from_dir(&dir) {
            Err(error) => out.push(finding_at(
                &dir.display().to_string(),
                "invalid-source",
                crate::error::report(&error),
            )),
            Ok(_) if names_only => {}
            Ok(source) => out.extend(
                check_with(&source, options)
                    .into_iter()
                    .filter(|f| names.contains(&f.file))
                    .map(|mut f| {
                        f.file = dir.join(&f.file).display().to_string();
                        f
                    }),
            ),
        }
    }
    out
}

/// `paths` with every directory replaced by the `.sql` files in it (sorted); paths that do not exist
/// and directories without `.sql` files are findings in `out`.
fn expand_directories(
    paths: &[std::path::PathBuf],
    out: &mut Vec<LintFinding>,
) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        let display = path.display().to_string();
        if path.is_dir() {
            let mut sql: Vec<std::path::PathBuf> = std::fs::read_dir(path)
                .map(|entries| entries.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            sql.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == "sql"));
            sql.sort();
            if sql.is_empty() {
                let message = "a directory without migration files (`.sql`); check the path".into();
                out.push(finding_at(&display, "invalid-source", message));
            }
            files.extend(sql);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            let message = "no such file or directory; check the path".into();
            out.push(finding_at(&display, "invalid-source", message));
        }
    }
    files
}

/// Why `file` is not a well-named migration, if it is not.
fn file_name_problem(file: &str) -> Option<String> {
    let (_, name, _) = match super::parse_file_name(file) {
        Ok(parsed) => parsed,
        Err(reason) => return Some(reason),
    };
    let snake = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (!snake).then(|| {
        format!(
            "`{file}`: the description `{name}` is not lower_snake_case; rename it as `dbops migrate create` would write it"
        )
    })
}

fn finding_at(file: &str, id: &str, message: String) -> LintFinding {
    finding(file, id, 1, 1, message)
}

/// The allow comments of one file: `-- dbops:allow <id>` silences a rule on the statement it is
/// on or precedes, `-- dbops:allow-file <id>` anywhere silences it in the whole file.
struct Allows<'a> {
    lines: Vec<&'a str>,
    file_wide: std::collections::BTreeSet<&'a str>,
}

/// The rule ids after `marker` on `line`, up to a further `--`.
fn named_after<'a>(line: &'a str, marker: &str) -> impl Iterator<Item = &'a str> {
    line.split(marker).skip(1).flat_map(|rest| {
        rest.split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .take_while(|w| !w.starts_with("--"))
    })
}

impl<'a> Allows<'a> {
    fn new(sql: &'a str) -> Self {
        let lines: Vec<&str> = sql.lines().collect();
        let file_wide = lines
            .iter()
            .flat_map(|l| named_after(l, "dbops:allow-file"))
            .collect();
        Self { lines, file_wide }
    }

    /// Whether the rule `id` is silenced for lines `first..=last` (1-based): on one of them, on
    /// the line before, or for the whole file.
    fn covers(&self, first: usize, last: usize, id: &str) -> bool {
        if self.file_wide.contains(id) {
            return true;
        }
        let from = first.saturating_sub(2).min(self.lines.len());
        let to = last.min(self.lines.len());
        self.lines[from..to]
            .iter()
            .any(|l| named_after(l, "dbops:allow ").any(|w| w == id))
    }
}

/// Checks one migration; returns what it proved, for the next.
fn check_migration(
    m: &Migration,
    options: &LintOptions,
    proven: checks::Proven,
    out: &mut Vec<LintFinding>,
) -> checks::Proven {
    if m.down.is_none() && !Allows::new(&m.up.sql).covers(1, 1, "missing-down") {
        out.push(finding(
            &m.up.file,
            "missing-down",
            1,
            1,
            format!(
                "no {} (silence with `-- dbops:allow-file missing-down`)",
                m.up.file.replace(".up.sql", ".down.sql")
            ),
        ));
    }
    let ctx = checks::FileContext {
        has_down: m.down.is_some(),
        server_major: options.server_major,
        ..Default::default()
    }
    .with_proven(proven);
    let proven = check_up(&m.up.file, &m.up.sql, ctx, out);
    if let Some(down) = &m.down {
        check_down(down, out);
    }
    proven
}

/// Checks an up script; returns the `IS NOT NULL` facts proven by the end of it.
fn check_up(
    file: &str,
    sql: &str,
    mut ctx: checks::FileContext,
    out: &mut Vec<LintFinding>,
) -> checks::Proven {
    let script = cst::parse(sql);
    let allows = Allows::new(sql);
    for error in &script.errors {
        out.push(finding(
            file,
            "syntax-error",
            error.line,
            error.column,
            format!(
                "{} (nothing in this file runs until it parses)",
                error.message
            ),
        ));
    }
    ctx.survey(&script.statements);
    let index = cst::LineIndex::new(sql);
    for statement in &script.statements {
        for hit in checks::check_statement(statement, &ctx) {
            if allows.covers(statement.line, statement.end_line, hit.rule) {
                continue;
            }
            let (line, column) = hit
                .at
                .map_or((statement.line, statement.column), |at| index.position(at));
            let message = format!(
                "{} (silence with `-- dbops:allow {}`)",
                hit.message, hit.rule
            );
            out.push(finding(file, hit.rule, line, column, message));
        }
        ctx.learn(statement);
    }
    if ctx.explicit_transaction {
        transaction_rules(file, &script.statements, &allows, out);
    }
    ctx.proven()
}

/// `transaction-nesting` and `uncommitted-transaction`.
fn transaction_rules(
    file: &str,
    statements: &[cst::Statement],
    allows: &Allows<'_>,
    out: &mut Vec<LintFinding>,
) {
    use squawk_syntax::SyntaxKind as K;
    let mut open: Option<&cst::Statement> = None;
    for s in statements {
        match s.kind() {
            K::BEGIN => {
                if !allows.covers(s.line, s.end_line, "transaction-nesting") {
                    out.push(finding(file, "transaction-nesting", s.line, s.column,
                        "BEGIN in a migration: dbops runs the file in one transaction already (silence with `-- dbops:allow transaction-nesting`)".into()));
                }
                open = Some(s);
            }
            K::COMMIT_TRANSACTION | K::ROLLBACK_TRANSACTION => open = None,
            _ => {}
        }
    }
    if let Some(s) = open
        && !allows.covers(s.line, s.end_line, "uncommitted-transaction")
    {
        out.push(finding(
            file,
            "uncommitted-transaction",
            s.line,
            s.column,
            "this BEGIN has no COMMIT after it".into(),
        ));
    }
}

/// `missing-if-exists` on the DROPs of a down file, and its syntax errors.
fn check_down(down: &Script, out: &mut Vec<LintFinding>) {
    use squawk_syntax::SyntaxKind as K;
    let script = cst::parse(&down.sql);
    let allows = Allows::new(&down.sql);
    for error in &script.errors {
        out.push(finding(
            &down.file,
            "syntax-error",
            error.line,
            error.column,
            error.message.clone(),
        ));
    }
    for s in &script.statements {
        let drops = matches!(
            s.kind(),
            K::DROP_TABLE
                | K::DROP_INDEX
                | K::DROP_TYPE
                | K::DROP_VIEW
                | K::DROP_FUNCTION
                | K::DROP_TRIGGER
                | K::DROP_SEQUENCE
        );
        if drops
            && !cst::contains(&s.node, K::IF_EXISTS)
            && !allows.covers(s.line, s.end_line, "missing-if-exists")
        {
            out.push(finding(&down.file, "missing-if-exists", s.line, s.column,
                "add IF EXISTS so the rollback can be re-run after a partial failure (silence with `-- dbops:allow missing-if-exists`)".into()));
        }
    }
}

fn finding(file: &str, id: &str, line: usize, column: usize, message: String) -> LintFinding {
    let rule = rule(id);
    LintFinding {
        rule: rule.id,
        severity: rule.severity,
        file: file.to_string(),
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One statement per hazard on an existing table (`rides`, `drivers`), the rule it must raise,
    /// and the safe rewrite that must raise none of the lock rules.
    const HAZARDS: &[(&str, &str, &str)] = &[
        (
            "CREATE INDEX IF NOT EXISTS rides_x ON rides (x);",
            "index-not-concurrent",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS rides_x ON rides (x);",
        ),
        (
            "DROP INDEX IF EXISTS rides_x;",
            "drop-index-not-concurrent",
            "DROP INDEX CONCURRENTLY IF EXISTS rides_x;",
        ),
        (
            "REINDEX INDEX rides_x;",
            "reindex-not-concurrent",
            "REINDEX INDEX CONCURRENTLY rides_x;",
        ),
        (
            "ALTER TABLE rides ADD CONSTRAINT rides_driver_fk FOREIGN KEY (driver_id) REFERENCES drivers (id);",
            "foreign-key-not-valid",
            "ALTER TABLE rides ADD CONSTRAINT rides_driver_fk FOREIGN KEY (driver_id) REFERENCES drivers (id) NOT VALID;",
        ),
        (
            "ALTER TABLE rides ADD COLUMN promo_id bigint REFERENCES promos (id);",
            "foreign-key-not-valid",
            "ALTER TABLE rides ADD COLUMN promo_id bigint;",
        ),
        (
            "ALTER TABLE rides ADD CONSTRAINT fare_positive CHECK (fare > 0);",
            "constraint-not-valid",
            "ALTER TABLE rides ADD CONSTRAINT fare_positive CHECK (fare > 0) NOT VALID;",
        ),
        (
            "ALTER TABLE rides ALTER COLUMN city SET NOT NULL;",
            "set-not-null",
            "ALTER TABLE rides ADD CONSTRAINT city_nn CHECK (city IS NOT NULL) NOT VALID;",
        ),
        (
            "ALTER TABLE rides ADD COLUMN tip bigint NOT NULL;",
            "not-null-without-default",
            "ALTER TABLE rides ADD COLUMN tip bigint NOT NULL DEFAULT 0;",
        ),
        (
            "ALTER TABLE rides ADD COLUMN token uuid DEFAULT gen_random_uuid();",
            "volatile-default",
            "ALTER TABLE rides ADD COLUMN token uuid;",
        ),
        (
            "ALTER TABLE rides ALTER COLUMN fare TYPE numeric(14,2);",
            "column-type-change",
            "ALTER TABLE rides ALTER COLUMN note TYPE text;",
        ),
        (
            "ALTER TABLE rides ADD PRIMARY KEY (id);",
            "constraint-without-index",
            "ALTER TABLE rides ADD CONSTRAINT rides_pkey PRIMARY KEY USING INDEX rides_id_idx;",
        ),
        (
            "ALTER TABLE rides ADD CONSTRAINT rides_ref UNIQUE (ref);",
            "constraint-without-index",
            "ALTER TABLE rides ADD CONSTRAINT rides_ref UNIQUE USING INDEX rides_ref_idx;",
        ),
        (
            "VACUUM FULL rides;",
            "table-rewrite-command",
            "VACUUM rides;",
        ),
        (
            "REFRESH MATERIALIZED VIEW ride_stats;",
            "table-rewrite-command",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY ride_stats;",
        ),
        (
            "LOCK TABLE rides IN ACCESS EXCLUSIVE MODE;",
            "lock-table",
            "SELECT 1;",
        ),
        (
            "ALTER TABLE rides DETACH PARTITION rides_2020;",
            "detach-partition-not-concurrent",
            "ALTER TABLE rides DETACH PARTITION rides_2020 CONCURRENTLY;",
        ),
        (
            "CREATE DOMAIN positive AS int CHECK (VALUE > 0);",
            "domain-constraint",
            "CREATE DOMAIN positive AS int;",
        ),
        (
            "ALTER DOMAIN positive ADD CONSTRAINT p CHECK (VALUE > 0);",
            "domain-constraint",
            "SELECT 1;",
        ),
        (
            "ALTER TABLE rides DROP COLUMN IF EXISTS note;",
            "drop-column",
            "SELECT 1;",
        ),
        ("DROP TABLE IF EXISTS old_rides;", "drop-table", "SELECT 1;"),
        ("DROP DATABASE ridehailing;", "drop-database", "SELECT 1;"),
        (
            "ALTER TABLE rides ALTER COLUMN city DROP NOT NULL;",
            "drop-not-null",
            "SELECT 1;",
        ),
        (
            "ALTER TABLE rides RENAME COLUMN city TO town;",
            "rename-column",
            "ALTER TABLE rides ADD COLUMN town text;",
        ),
        (
            "ALTER TABLE rides RENAME TO trips;",
            "rename-table",
            "CREATE VIEW trips AS SELECT * FROM rides;",
        ),
        ("TRUNCATE rides CASCADE;", "truncate-cascade", "SELECT 1;"),
        (
            "CREATE TABLE IF NOT EXISTS zones (id serial PRIMARY KEY);",
            "int-key",
            "CREATE TABLE IF NOT EXISTS zones (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);",
        ),
        (
            "CREATE TABLE IF NOT EXISTS zones (id smallint PRIMARY KEY);",
            "int-key",
            "CREATE TABLE IF NOT EXISTS zones (id bigint PRIMARY KEY);",
        ),
        (
            "CREATE TABLE IF NOT EXISTS zones (id bigserial PRIMARY KEY);",
            "serial",
            "CREATE TABLE IF NOT EXISTS zones (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        ),
        (
            "CREATE TABLE IF NOT EXISTS zones (opened timestamp);",
            "timestamp-without-tz",
            "CREATE TABLE IF NOT EXISTS zones (opened timestamptz);",
        ),
        (
            "CREATE TABLE IF NOT EXISTS zones (code char(2));",
            "char-type",
            "CREATE TABLE IF NOT EXISTS zones (code text);",
        ),
        (
            "CREATE TABLE IF NOT EXISTS zones (name varchar(40));",
            "varchar-limit",
            "CREATE TABLE IF NOT EXISTS zones (name text CHECK (char_length(name) <= 40));",
        ),
        (
            "CREATE TABLE IF NOT EXISTS zones_with_a_name_that_goes_on_and_on_and_on_far_past_the_limit_of_sixty_three_bytes (id bigint);",
            "identifier-too-long",
            "CREATE TABLE IF NOT EXISTS zones (id bigint);",
        ),
        (
            "SET lock_timeout = 0;",
            "timeout-disabled",
            "SET lock_timeout = '2s';",
        ),
        (
            "UPDATE rides SET city = 'a', city = 'b';",
            "duplicate-assignment",
            "SELECT 1;",
        ),
        (
            "ALTER TYPE ride_status ADD VALUE 'paused';",
            "enum-value-order",
            "ALTER TYPE ride_status ADD VALUE 'paused' AFTER 'started';",
        ),
        (
            "CREATE TABLE zones (id bigint);",
            "missing-if-exists",
            "CREATE TABLE IF NOT EXISTS zones (id bigint);",
        ),
        ("INSERT INTO zones VALUES (1);", "data-change", "SELECT 1;"),
        (
            "ALTER TABLE rides ADD COLUMN note text;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS rides_note ON rides (note);",
            "mixed-transaction-modes",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS rides_note ON rides (note);",
        ),
        (
            "BEGIN;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS rides_note ON rides (note);\nCOMMIT;",
            "concurrently-in-transaction",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS rides_note ON rides (note);",
        ),
        (
            "BEGIN;\nALTER TABLE rides ADD COLUMN note text;\nCOMMIT;",
            "transaction-nesting",
            "ALTER TABLE rides ADD COLUMN note text;",
        ),
        (
            "BEGIN;\nALTER TABLE rides ADD COLUMN note text;",
            "uncommitted-transaction",
            "ALTER TABLE rides ADD COLUMN note text;",
        ),
        (
            "ALTER TABLE rides ADD COLUMN;",
            "syntax-error",
            "ALTER TABLE rides ADD COLUMN note text;",
        ),
    ];

    #[test]
    fn every_hazard_is_found_and_its_rewrite_is_clean() {
        let options = LintOptions::default().with_server_major(15);
        let mut missed = Vec::new();
        for (risky, rule, safe) in HAZARDS {
            let found = check_script("x.up.sql", risky, &options);
            if !found.iter().any(|f| f.rule == *rule) {
                missed.push(format!("{rule} not raised by {risky}: {found:?}"));
            }
            let after = check_script("x.up.sql", safe, &options);
            if let Some(f) = after.iter().find(|f| f.rule == *rule) {
                missed.push(format!("{rule} still raised by the rewrite {safe}: {f}"));
            }
        }
        assert!(missed.is_empty(), "{missed:#?}");
        let covered: std::collections::BTreeSet<&str> = HAZARDS.iter().map(|h| h.1).collect();
        let file_rules = [
            "drop-without-down",
            "missing-down",
            "file-name",
            "invalid-source",
        ];
        for rule in RULES {
            assert!(
                covered.contains(rule.id) || file_rules.contains(&rule.id),
                "no hazard exercises {}",
                rule.id
            );
        }
    }

    #[test]
    fn what_a_file_created_and_what_earlier_migrations_proved_is_safe() {
        let options = LintOptions::default();
        let created = "CREATE TABLE IF NOT EXISTS zones (id bigint, city text);\n\
                       CREATE INDEX IF NOT EXISTS zones_city ON zones (city);\n\
                       ALTER TABLE zones ADD CONSTRAINT zones_pk PRIMARY KEY (id);\n\
                       ALTER TABLE zones ALTER COLUMN city SET NOT NULL;";
        let found = check_script("x.up.sql", created, &options);
        assert!(found.is_empty(), "{found:#?}");

        let dir = tempfile::tempdir().unwrap();
        let write = |f: &str, sql: &str| std::fs::write(dir.path().join(f), sql).unwrap();
        write(
            "000001_check.up.sql",
            "ALTER TABLE rides ADD CONSTRAINT city_nn CHECK (city IS NOT NULL) NOT VALID;",
        );
        write(
            "000001_check.down.sql",
            "ALTER TABLE rides DROP CONSTRAINT IF EXISTS city_nn;",
        );
        write(
            "000002_validate.up.sql",
            "ALTER TABLE rides VALIDATE CONSTRAINT city_nn;",
        );
        write("000002_validate.down.sql", "SELECT 1;");
        write(
            "000003_not_null.up.sql",
            "ALTER TABLE rides ALTER COLUMN city SET NOT NULL;",
        );
        write(
            "000003_not_null.down.sql",
            "ALTER TABLE rides ALTER COLUMN city DROP NOT NULL;",
        );
        let source = MigrationSource::from_dir(dir.path()).unwrap();
        let found: Vec<_> = check(&source)
            .into_iter()
            .filter(|f| f.file.starts_with("00000") && f.file.contains(".up."))
            .collect();
        assert!(found.is_empty(), "{found:#?}");
        // Without the validated check, SET NOT NULL scans.
        write("000002_validate.up.sql", "SELECT 1;");
        let source = MigrationSource::from_dir(dir.path()).unwrap();
        assert!(check(&source).iter().any(|f| f.rule == "set-not-null"));
    }

    #[test]
    fn the_server_version_decides_what_is_cheap_and_allow_comments_silence() {
        let default_before_11 = LintOptions::default().with_server_major(10);
        let sql = "ALTER TABLE rides ADD COLUMN tip bigint NOT NULL DEFAULT 0;";
        assert!(
            check_script("x.up.sql", sql, &default_before_11)
                .iter()
                .any(|f| f.rule == "volatile-default")
        );
        assert!(check_script("x.up.sql", sql, &LintOptions::default()).is_empty());
        let detach = "ALTER TABLE rides DETACH PARTITION rides_2020;";
        assert!(
            check_script(
                "x.up.sql",
                detach,
                &LintOptions::default().with_server_major(13)
            )
            .is_empty()
        );

        let silenced = "-- dbops:allow index-not-concurrent\nCREATE INDEX IF NOT EXISTS i ON rides (x);\n\
                        CREATE INDEX IF NOT EXISTS j ON rides (y); -- dbops:allow index-not-concurrent, data-change";
        assert!(check_script("x.up.sql", silenced, &LintOptions::default()).is_empty());
        let file_wide = "-- dbops:allow-file index-not-concurrent\nCREATE INDEX IF NOT EXISTS i ON rides (x);\n\nCREATE INDEX IF NOT EXISTS j ON rides (y);";
        assert!(check_script("x.up.sql", file_wide, &LintOptions::default()).is_empty());
        let findings = check_script(
            "x.up.sql",
            "SELECT 1;\n\nALTER TABLE rides\n    ADD COLUMN tip bigint NOT NULL;",
            &LintOptions::default(),
        );
        assert_eq!(
            (findings[0].line, findings[0].column),
            (4, 5),
            "{findings:?}"
        );
    }

    #[test]
    fn file_names_follow_the_convention() {
        assert_eq!(file_name_problem("000001_add_riders.up.sql"), None);
        assert_eq!(
            file_name_problem("20261202101500_add_riders.down.sql"),
            None
        );
        for bad in [
            "000001_AddRiders.up.sql",
            "000001_add riders.up.sql",
            "add_riders.up.sql",
            "000001_add.sql",
            "000001.up.sql",
        ] {
            assert!(file_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn given_files_report_only_their_own_findings() {
        let dir = tempfile::tempdir().unwrap();
        let write = |f: &str, sql: &str| std::fs::write(dir.path().join(f), sql).unwrap();
        write(
            "000001_old.up.sql",
            "ALTER TABLE t ADD COLUMN a int NOT NULL;",
        );
        write(
            "000002_new.up.sql",
            "ALTER TABLE t ADD COLUMN b int NOT NULL;",
        );
        write("notes.txt", "not a migration");
        let given = [
            dir.path().join("000002_new.up.sql"),
            dir.path().join("notes.txt"),
        ];
        let findings = check_files(&given, false);
        assert!(
            findings
                .iter()
                .all(|f| f.file.ends_with("000002_new.up.sql")),
            "{findings:?}"
        );
        assert!(
            findings
                .iter()
                .any(|f| f.rule == "not-null-without-default")
        );
        assert!(check_files(&given, true).is_empty());
        write("000002_other.up.sql", "SELECT 1;");
        let findings = check_files(&given, true);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].rule, "invalid-source");
        assert!(
            findings[0].message.contains("version 2 is also used by"),
            "{findings:?}"
        );
    }
}
