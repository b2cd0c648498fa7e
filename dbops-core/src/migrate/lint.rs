//! `lint`: rules that catch migrations which lock production tables, cannot be rolled back or are not
//! idempotent. Silence a rule for one statement with `-- dbops:allow <rule>` on the line before it or
//! inside it.

use serde::Serialize;

use super::source::{Migration, MigrationSource};
use super::sql::{self, Statement, head_words};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Warning,
    /// Likely to hurt in production.
    Error,
}

/// A lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Identifier used to silence it.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What it catches and why it matters.
    pub summary: &'static str,
}

/// Every rule.
pub const RULES: &[Rule] = &[
    Rule {
        id: "index-not-concurrent",
        severity: Severity::Error,
        summary: "CREATE INDEX without CONCURRENTLY on an existing table blocks writes while it builds",
    },
    Rule {
        id: "concurrently-in-transaction",
        severity: Severity::Error,
        summary: "CONCURRENTLY cannot run inside an explicit BEGIN ... COMMIT block",
    },
    Rule {
        id: "mixed-transaction-modes",
        severity: Severity::Warning,
        summary: "a file mixing CONCURRENTLY with other DDL runs outside a transaction, so a failure leaves it half applied",
    },
    Rule {
        id: "not-null-without-default",
        severity: Severity::Error,
        summary: "ADD COLUMN ... NOT NULL without DEFAULT fails on a non-empty table",
    },
    Rule {
        id: "column-type-change",
        severity: Severity::Warning,
        summary: "ALTER COLUMN ... TYPE rewrites the table under an exclusive lock",
    },
    Rule {
        id: "drop-without-down",
        severity: Severity::Error,
        summary: "DROP TABLE / DROP COLUMN in a migration without a down file loses data irrecoverably",
    },
    Rule {
        id: "missing-down",
        severity: Severity::Warning,
        summary: "no down file: the migration cannot be rolled back",
    },
    Rule {
        id: "missing-if-exists",
        severity: Severity::Warning,
        summary: "CREATE without IF NOT EXISTS / DROP without IF EXISTS is not safe to re-run by hand after a failure",
    },
    Rule {
        id: "data-change",
        severity: Severity::Warning,
        summary: "INSERT/UPDATE/DELETE/TRUNCATE in a schema migration: keep data changes in seeds or separate, reviewed migrations",
    },
];

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintFinding {
    /// The rule's id.
    pub rule: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// File name.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong and how to fix or silence it.
    pub message: String,
}

impl std::fmt::Display for LintFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = if self.severity == Severity::Error {
            "error"
        } else {
            "warning"
        };
        write!(
            f,
            "{}:{}: {level}[{}]: {}",
            self.file, self.line, self.rule, self.message
        )
    }
}

fn rule(id: &str) -> Rule {
    RULES
        .iter()
        .copied()
        .find(|r| r.id == id)
        .unwrap_or(RULES[0])
}

/// Lints every migration of `source` (up and down files).
pub fn check(source: &MigrationSource) -> Vec<LintFinding> {
    let mut out = Vec::new();
    for m in source.migrations() {
        check_migration(m, &mut out);
    }
    out
}

fn allowed(script: &str, statement: &Statement, id: &str) -> bool {
    let marker = format!("dbops:allow {id}");
    let lines: Vec<&str> = script.lines().collect();
    let first = statement.line.saturating_sub(2);
    let last = (statement.line - 1 + statement.sql.lines().count()).min(lines.len());
    lines[first.min(lines.len())..last]
        .iter()
        .any(|l| l.contains(&marker))
}

/// The table a statement names after `keyword` (e.g. `ON`, `TABLE`), lower-cased, schema stripped.
fn name_after(statement: &str, keyword: &str, skip: &[&str]) -> Option<String> {
    let words = head_words(statement, 16);
    let at = words.iter().position(|w| w == keyword)?;
    let name = words[at + 1..]
        .iter()
        .find(|w| !skip.contains(&w.as_str()))?;
    Some(name.to_ascii_lowercase())
}

fn check_migration(m: &Migration, out: &mut Vec<LintFinding>) {
    let up = &m.up;
    let statements = sql::split(&up.sql);
    let created: Vec<String> = statements
        .iter()
        .filter(|s| head_words(&s.sql, 2) == ["CREATE", "TABLE"])
        .filter_map(|s| name_after(&s.sql, "TABLE", &["IF", "NOT", "EXISTS"]))
        .collect();
    let explicit_tx = statements
        .iter()
        .any(|s| sql::tx_requirement(&s.sql) == sql::TxRequirement::TransactionControl);
    let other_ddl = statements.iter().any(|s| {
        let w = head_words(&s.sql, 8);
        !w.iter().any(|x| x == "CONCURRENTLY")
            && matches!(
                w.first().map(String::as_str),
                Some("CREATE" | "ALTER" | "DROP")
            )
    });
    let mut push =
        |statement: &Statement, script: &str, file: &str, id: &'static str, message: String| {
            if !allowed(script, statement, id) {
                out.push(LintFinding {
                    rule: id,
                    severity: rule(id).severity,
                    file: file.to_string(),
                    line: statement.line,
                    message: format!("{message} (silence with `-- dbops:allow {id}`)"),
                });
            }
        };
    if m.down.is_none()
        && let Some(first) = statements.first()
    {
        push(
            first,
            &up.sql,
            &up.file,
            "missing-down",
            format!("no {}", up.file.replace(".up.sql", ".down.sql")),
        );
    }
    for s in &statements {
        let words = head_words(&s.sql, 12);
        let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        let has = |x: &str| words.iter().any(|y| y == x);
        let is_index =
            w(0) == "CREATE" && (w(1) == "INDEX" || (w(1) == "UNIQUE" && w(2) == "INDEX"));
        if is_index && !has("CONCURRENTLY") {
            let table = name_after(&s.sql, "ON", &["ONLY"]);
            if table.as_ref().is_none_or(|t| !created.contains(t)) {
                push(
                    s,
                    &up.sql,
                    &up.file,
                    "index-not-concurrent",
                    format!(
                        "index on existing table `{}` built without CONCURRENTLY blocks writes; use CREATE INDEX CONCURRENTLY",
                        table.unwrap_or_default()
                    ),
                );
            }
        }
        if has("CONCURRENTLY") && explicit_tx {
            push(s, &up.sql, &up.file, "concurrently-in-transaction", "CONCURRENTLY inside this file's own BEGIN ... COMMIT fails; remove the transaction block".into());
        }
        if has("CONCURRENTLY") && other_ddl && !explicit_tx {
            push(s, &up.sql, &up.file, "mixed-transaction-modes", "this file runs outside a transaction because of CONCURRENTLY; move the other DDL to its own migration".into());
        }
        let upper = s.sql.to_ascii_uppercase();
        if w(0) == "ALTER"
            && w(1) == "TABLE"
            && upper.contains("ADD COLUMN")
            && upper.contains("NOT NULL")
            && !upper.contains("DEFAULT")
        {
            push(s, &up.sql, &up.file, "not-null-without-default", "adding a NOT NULL column without DEFAULT fails on a non-empty table; add a DEFAULT or backfill first".into());
        }
        if w(0) == "ALTER" && w(1) == "TABLE" && upper.contains("ALTER COLUMN") && has("TYPE") {
            push(
                s,
                &up.sql,
                &up.file,
                "column-type-change",
                "changing a column type rewrites the table under an ACCESS EXCLUSIVE lock".into(),
            );
        }
        let drops = (w(0) == "DROP" && w(1) == "TABLE")
            || (w(0) == "ALTER" && w(1) == "TABLE" && upper.contains("DROP COLUMN"));
        if drops && m.down.is_none() {
            push(
                s,
                &up.sql,
                &up.file,
                "drop-without-down",
                "drops data and the migration has no down file to restore the structure".into(),
            );
        }
        let creates = w(0) == "CREATE"
            && matches!(
                w(1),
                "TABLE" | "INDEX" | "SCHEMA" | "SEQUENCE" | "UNIQUE" | "EXTENSION"
            );
        if creates && !(has("IF") && has("NOT") && has("EXISTS")) {
            push(
                s,
                &up.sql,
                &up.file,
                "missing-if-exists",
                "add IF NOT EXISTS so the statement can be re-run after a partial failure".into(),
            );
        }
        if matches!(w(0), "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE") {
            push(
                s,
                &up.sql,
                &up.file,
                "data-change",
                format!("{} in a schema migration", w(0)),
            );
        }
    }
    if let Some(down) = &m.down {
        for s in sql::split(&down.sql) {
            let words = head_words(&s.sql, 6);
            let drop_kind = words.first().is_some_and(|w| w == "DROP")
                && matches!(
                    words.get(1).map(String::as_str),
                    Some("TABLE" | "INDEX" | "TYPE" | "VIEW" | "FUNCTION" | "TRIGGER" | "SEQUENCE")
                );
            if drop_kind && !words.iter().any(|w| w == "EXISTS") {
                out.push(LintFinding {
                    rule: "missing-if-exists",
                    severity: Severity::Warning,
                    file: down.file.clone(),
                    line: s.line,
                    message: "add IF EXISTS so the rollback can be re-run after a partial failure (silence with `-- dbops:allow missing-if-exists`)".into(),
                });
            }
        }
    }
}
