//! The rules: what each catches, the lock it involves, what that blocks, how it scales and the safe
//! rewrite.

use serde::Serialize;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Advice that cannot take production down (a type that ages badly, a robustness habit).
    Hint,
    /// Worth a look: can break running code or hurt in some cases.
    Warning,
    /// Likely to hurt in production (locks traffic out, fails, loses data).
    Error,
}

impl std::str::FromStr for Severity {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> crate::error::Result<Self> {
        match s {
            "hint" => Ok(Severity::Hint),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(crate::error::Error::config(
                "severity",
                format!("`{other}` is not hint, warning or error"),
            )),
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Hint => "hint",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Rule {
    /// Identifier used to silence it (`-- dbops:allow <id>`).
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What it catches and why it matters.
    pub summary: &'static str,
    /// The lock the statement takes, on what (empty when no lock is involved).
    pub lock: &'static str,
    /// What the lock holds up, and for how long as the table grows.
    pub blocks: &'static str,
    /// The safe way to do the same.
    pub rewrite: &'static str,
}

const fn rule(
    id: &'static str,
    severity: Severity,
    summary: &'static str,
    lock: &'static str,
    blocks: &'static str,
    rewrite: &'static str,
) -> Rule {
    Rule {
        id,
        severity,
        summary,
        lock,
        blocks,
        rewrite,
    }
}

use Severity::{Error as E, Hint as H, Warning as W};

const AE: &str = "ACCESS EXCLUSIVE on the table";
const BRIEF_ALL: &str = "reads and writes, briefly (and every query queues behind it while it waits for running transactions)";

/// Every rule.
pub const RULES: &[Rule] = &[
    rule(
        "syntax-error",
        E,
        "the file does not parse as PostgreSQL: nothing in it would run",
        "",
        "",
        "fix the statement at the line and column given",
    ),
    rule(
        "index-not-concurrent",
        E,
        "CREATE INDEX without CONCURRENTLY on an existing table",
        "SHARE on the table",
        "writes, for the whole build (grows with the table)",
        "CREATE INDEX CONCURRENTLY (in a migration of its own, outside a transaction)",
    ),
    rule(
        "drop-index-not-concurrent",
        W,
        "DROP INDEX without CONCURRENTLY",
        AE,
        BRIEF_ALL,
        "DROP INDEX CONCURRENTLY",
    ),
    rule(
        "reindex-not-concurrent",
        E,
        "REINDEX without CONCURRENTLY",
        "SHARE on the table, ACCESS EXCLUSIVE on the index",
        "writes (and reads using the index), for the whole rebuild",
        "REINDEX ... CONCURRENTLY",
    ),
    rule(
        "concurrently-in-transaction",
        E,
        "CONCURRENTLY inside an explicit BEGIN ... COMMIT block fails",
        "",
        "",
        "remove the transaction block; dbops runs such a file outside a transaction",
    ),
    rule(
        "mixed-transaction-modes",
        W,
        "a file mixing CONCURRENTLY with other DDL runs outside a transaction, so a failure leaves it half applied",
        "",
        "",
        "put the CONCURRENTLY statement in a migration of its own",
    ),
    rule(
        "foreign-key-not-valid",
        E,
        "a foreign key added to an existing table checks every row while both tables are locked",
        "SHARE ROW EXCLUSIVE on the table and on the referenced table",
        "writes to both tables, for a scan of the table (grows with it)",
        "ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later migration (SHARE UPDATE EXCLUSIVE: writes go on)",
    ),
    rule(
        "constraint-not-valid",
        E,
        "a CHECK constraint added to an existing table checks every row under an exclusive lock; validating in the same transaction keeps it",
        AE,
        "reads and writes, for a scan of the table",
        "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later migration",
    ),
    rule(
        "set-not-null",
        W,
        "SET NOT NULL on an existing column scans every row under an exclusive lock",
        AE,
        "reads and writes, for a scan of the table",
        "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c (a later migration); then SET NOT NULL (no scan: the valid check proves it) and DROP CONSTRAINT c",
    ),
    rule(
        "not-null-without-default",
        E,
        "ADD COLUMN ... NOT NULL without DEFAULT fails on a non-empty table",
        AE,
        "fails at once on a table with rows",
        "add the column with a DEFAULT, or nullable, backfill, then the steps of set-not-null",
    ),
    rule(
        "volatile-default",
        E,
        "ADD COLUMN with a default that differs per row (a volatile function, serial, a stored generated column) rewrites the table",
        AE,
        "reads and writes, for a rewrite of the table and its indexes",
        "add the column without the default, set the default, backfill in batches",
    ),
    rule(
        "column-type-change",
        E,
        "ALTER COLUMN ... TYPE rewrites the table and rebuilds its indexes (unless the new type is binary compatible, e.g. varchar to text)",
        AE,
        "reads and writes, for a rewrite of the table and its indexes",
        "add a new column, backfill it in batches, switch readers, drop the old one",
    ),
    rule(
        "constraint-without-index",
        E,
        "ADD PRIMARY KEY / UNIQUE / EXCLUDE on an existing table builds the index under an exclusive lock",
        AE,
        "reads and writes, for the index build",
        "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... PRIMARY KEY / UNIQUE USING INDEX",
    ),
    rule(
        "table-rewrite-command",
        E,
        "VACUUM FULL, CLUSTER, REFRESH MATERIALIZED VIEW (without CONCURRENTLY), SET LOGGED/UNLOGGED/TABLESPACE rewrite the whole table",
        AE,
        "reads and writes, for the whole rewrite",
        "pg_repack or REFRESH MATERIALIZED VIEW CONCURRENTLY, run outside migrations",
    ),
    rule(
        "lock-table",
        W,
        "an explicit LOCK TABLE holds traffic out until the migration commits",
        "the mode given",
        "what the mode conflicts with, until commit",
        "let each statement take its own lock; keep the migration short",
    ),
    rule(
        "detach-partition-not-concurrent",
        W,
        "DETACH PARTITION without CONCURRENTLY (PostgreSQL 14 and later)",
        "ACCESS EXCLUSIVE on the parent",
        "reads and writes of the whole partitioned table, briefly",
        "DETACH PARTITION ... CONCURRENTLY (outside a transaction)",
    ),
    rule(
        "domain-constraint",
        W,
        "a CHECK on a domain is checked against every column of that domain, in every table, under their locks",
        "SHARE on every table using the domain",
        "writes to those tables, for their scans",
        "put the CHECK on the table columns (NOT VALID, then VALIDATE)",
    ),
    rule(
        "drop-column",
        W,
        "code still running reads the column until it is deployed without it",
        AE,
        BRIEF_ALL,
        "stop reading and writing the column in a release first, then drop it",
    ),
    rule(
        "drop-table",
        W,
        "code still running reads the table until it is deployed without it",
        AE,
        BRIEF_ALL,
        "stop using the table in a release first, then drop it",
    ),
    rule(
        "drop-database",
        E,
        "DROP DATABASE in a migration",
        "",
        "",
        "drop databases by hand, never from a migration",
    ),
    rule(
        "drop-not-null",
        W,
        "code still running may rely on the column never being NULL",
        AE,
        BRIEF_ALL,
        "make readers handle NULL first",
    ),
    rule(
        "rename-column",
        W,
        "code still running uses the old name",
        AE,
        BRIEF_ALL,
        "add the new column, write both, backfill, move readers, then drop the old one",
    ),
    rule(
        "rename-table",
        W,
        "code still running uses the old name",
        AE,
        BRIEF_ALL,
        "create a view under the new name first, or move readers in steps",
    ),
    rule(
        "truncate-cascade",
        E,
        "TRUNCATE ... CASCADE empties every table that references it, too",
        AE,
        "reads and writes of every table truncated",
        "truncate the tables by name",
    ),
    rule(
        "int-key",
        W,
        "an int or smallint key (serial, integer, smallint) runs out (2,147,483,647 or 32,767) and widening it later rewrites the table",
        "",
        "",
        "bigint (or bigint GENERATED ... AS IDENTITY)",
    ),
    rule(
        "serial",
        H,
        "serial columns own a sequence with separate permissions and odd dump behaviour",
        "",
        "",
        "bigint GENERATED BY DEFAULT AS IDENTITY",
    ),
    rule(
        "timestamp-without-tz",
        W,
        "timestamp without time zone stores wall-clock times that mean different instants in different places",
        "",
        "",
        "timestamptz",
    ),
    rule(
        "char-type",
        H,
        "char(n) pads with spaces and is not faster than text",
        "",
        "",
        "text (with a CHECK on length if needed)",
    ),
    rule(
        "varchar-limit",
        H,
        "varchar(n): raising the limit later needs an exclusive lock; a CHECK can be changed NOT VALID",
        "",
        "",
        "text with CHECK (char_length(col) <= n)",
    ),
    rule(
        "identifier-too-long",
        E,
        "names longer than 63 bytes are silently truncated, so two names can collide",
        "",
        "",
        "a name of at most 63 bytes",
    ),
    rule(
        "transaction-nesting",
        W,
        "BEGIN/COMMIT inside a migration: dbops already runs each file in one transaction (or outside one, for CONCURRENTLY)",
        "",
        "",
        "remove BEGIN/COMMIT",
    ),
    rule(
        "uncommitted-transaction",
        E,
        "BEGIN without COMMIT leaves the transaction open",
        "",
        "",
        "COMMIT, or remove BEGIN",
    ),
    rule(
        "timeout-disabled",
        W,
        "turning lock_timeout or statement_timeout off lets a statement queue traffic behind it without limit",
        "",
        "",
        "keep the runner's lock_timeout (MigrateOptions::with_lock_timeout, --lock-timeout)",
    ),
    rule(
        "duplicate-assignment",
        E,
        "UPDATE assigning the same column twice fails",
        "",
        "",
        "assign each column once",
    ),
    rule(
        "enum-value-order",
        H,
        "ALTER TYPE ... ADD VALUE without BEFORE/AFTER appends the value at the end of the sort order",
        "",
        "",
        "say where it goes: ADD VALUE 'x' BEFORE 'y'",
    ),
    rule(
        "data-change",
        W,
        "INSERT/UPDATE/DELETE/TRUNCATE/MERGE in a schema migration: keep data changes in seeds or separate, reviewed migrations",
        "ROW EXCLUSIVE on the table (ACCESS EXCLUSIVE for TRUNCATE)",
        "nothing for INSERT; row locks for UPDATE/DELETE until commit",
        "batch large updates outside the schema migration",
    ),
    rule(
        "drop-without-down",
        E,
        "DROP TABLE / DROP COLUMN in a migration without a down file loses data irrecoverably",
        "",
        "",
        "write the down file",
    ),
    rule(
        "missing-down",
        W,
        "no down file: the migration cannot be rolled back",
        "",
        "",
        "write NNNNNN_name.down.sql",
    ),
    rule(
        "missing-if-exists",
        W,
        "CREATE without IF NOT EXISTS / DROP without IF EXISTS is not safe to re-run by hand after a failure",
        "",
        "",
        "add IF NOT EXISTS / IF EXISTS",
    ),
    rule(
        "file-name",
        E,
        "a migration file not named NNNNNN_description.up.sql / .down.sql with a lower_snake_case description (as `migrate create` writes it) is not run, or not in the order meant",
        "",
        "",
        "rename it as `dbops migrate create` would",
    ),
    rule(
        "invalid-source",
        E,
        "the migrations directory cannot be read as a whole (a version used twice, a down file without its up, an empty file): nothing in it would run",
        "",
        "",
        "fix the file named",
    ),
];

/// The rule `id` (every id the checks use is in [`RULES`]).
pub fn rule_by_id(id: &str) -> Rule {
    RULES
        .iter()
        .copied()
        .find(|r| r.id == id)
        .unwrap_or(RULES[0])
}

/// The rules as a Markdown table (rule, severity, what it catches, lock, what it blocks, safe
/// rewrite): what `dbops migrate lint --rules` prints and the guide's migrations page shows.
pub fn rules_markdown() -> String {
    let cell = |text: &str| {
        if text.is_empty() {
            "-".to_string()
        } else {
            text.replace('|', "\\|")
        }
    };
    let mut out = String::from(
        "| rule | severity | catches | lock | blocks | safe rewrite |\n|---|---|---|---|---|---|\n",
    );
    for r in RULES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            r.id,
            r.severity,
            cell(r.summary),
            cell(r.lock),
            cell(r.blocks),
            cell(r.rewrite)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_shows_every_rule_as_the_code_has_it() {
        let page = include_str!("../../../../docs/src/migrations.md");
        let table = page
            .split("<!-- lint-rules -->\n")
            .nth(1)
            .and_then(|rest| rest.split("<!-- /lint-rules -->").next())
            .expect("docs/src/migrations.md has a <!-- lint-rules --> block");
        assert_eq!(
            table,
            rules_markdown(),
            "the guide's rules table (docs/src/migrations.md) is stale: paste `dbops migrate lint --rules` \
             between the markers"
        );
    }

    #[test]
    fn rule_ids_are_unique_and_every_risky_rule_says_how_to_do_it_safely() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate rule ids");
        for rule in RULES {
            assert!(!rule.rewrite.is_empty(), "{} has no rewrite", rule.id);
            assert_eq!(rule.lock.is_empty(), rule.blocks.is_empty(), "{}", rule.id);
        }
        assert_eq!("warning".parse::<Severity>().unwrap(), Severity::Warning);
        assert!(Severity::Hint < Severity::Warning && Severity::Warning < Severity::Error);
    }
}
