//! `lint`: rules that catch migrations which lock production tables, cannot be rolled back or are not
//! idempotent. Silence a rule for one statement with `-- dbops:allow <rule>` on the line before it or
//! inside it.

use serde::Serialize;

use super::source::{Migration, MigrationSource, Script};
use crate::sql::{self, Statement, head_words};

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
        id: "file-name",
        severity: Severity::Error,
        summary: "a migration file not named NNNNNN_description.up.sql / .down.sql with a lower_snake_case description (as `migrate create` writes it) is not run, or not in the order meant",
    },
    Rule {
        id: "invalid-source",
        severity: Severity::Error,
        summary: "the migrations directory cannot be read as a whole (a version used twice, a down file without its up, an empty file): nothing in it would run",
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

/// Lints the given files (a pre-commit hook's changed files): each `.sql` file's name, the
/// directory it is in as a whole, and the rules' findings in these files only (older migrations,
/// already applied, are not reported again). Other files are ignored. A directory stands for every
/// `.sql` file in it; a path that does not exist, or a directory without `.sql` files, is a finding.
/// With `names_only`, only names and the directory are checked.
pub fn check_files(paths: &[std::path::PathBuf], names_only: bool) -> Vec<LintFinding> {
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
                check(&source)
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
    let rule = rule(id);
    LintFinding {
        rule: rule.id,
        severity: rule.severity,
        file: file.to_string(),
        line: 1,
        message,
    }
}

/// Whether `-- dbops:allow <id>` is on the statement's lines or the line before it (`lines`: the
/// script's lines, split once per file).
fn allowed(lines: &[&str], statement: &Statement, id: &str) -> bool {
    let marker = format!("dbops:allow {id}");
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
    let facts = UpFacts::gather(&statements);
    let mut findings = UpFindings {
        lines: up.sql.lines().collect(),
        file: &up.file,
        out,
    };
    if m.down.is_none()
        && let Some(first) = statements.first()
    {
        findings.flag(
            first,
            "missing-down",
            format!("no {}", up.file.replace(".up.sql", ".down.sql")),
        );
    }
    for s in &statements {
        let head = HeadWords(head_words(&s.sql, 12));
        let upper = s.sql.to_ascii_uppercase();
        check_concurrency(s, &head, &facts, &mut findings);
        check_alter_table(s, &head, &upper, m.down.is_some(), &mut findings);
        check_creates_and_data(s, &head, &mut findings);
    }
    if let Some(down) = &m.down {
        check_down_file(down, out);
    }
}

/// What the rules need to know about an up file as a whole.
struct UpFacts {
    /// Tables the file creates (lower-cased, schema stripped).
    created: Vec<String>,
    /// Whether the file has its own BEGIN ... COMMIT.
    explicit_tx: bool,
    /// Whether it has DDL without CONCURRENTLY.
    other_ddl: bool,
}

impl UpFacts {
    /// The facts of an up file's statements.
    fn gather(statements: &[Statement]) -> Self {
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
        Self {
            created,
            explicit_tx,
            other_ddl,
        }
    }
}

/// The findings of one up file: where they are reported and which are silenced.
struct UpFindings<'a> {
    /// The up file's lines.
    lines: Vec<&'a str>,
    file: &'a str,
    out: &'a mut Vec<LintFinding>,
}

impl UpFindings<'_> {
    /// Reports rule `id` on `statement`, unless silenced with `-- dbops:allow <id>`.
    fn flag(&mut self, statement: &Statement, id: &'static str, message: String) {
        if !allowed(&self.lines, statement, id) {
            self.out.push(LintFinding {
                rule: id,
                severity: rule(id).severity,
                file: self.file.to_string(),
                line: statement.line,
                message: format!("{message} (silence with `-- dbops:allow {id}`)"),
            });
        }
    }
}

/// The first words of a statement, upper-cased.
struct HeadWords(Vec<String>);

impl HeadWords {
    /// Word `i`, or `""` past the end.
    fn word(&self, i: usize) -> &str {
        self.0.get(i).map(String::as_str).unwrap_or("")
    }

    /// Whether `x` is among the words.
    fn has(&self, x: &str) -> bool {
        self.0.iter().any(|y| y == x)
    }
}

/// `index-not-concurrent`, `concurrently-in-transaction` and `mixed-transaction-modes`.
fn check_concurrency(
    s: &Statement,
    head: &HeadWords,
    facts: &UpFacts,
    findings: &mut UpFindings<'_>,
) {
    let w = |i: usize| head.word(i);
    let is_index = w(0) == "CREATE" && (w(1) == "INDEX" || (w(1) == "UNIQUE" && w(2) == "INDEX"));
    if is_index && !head.has("CONCURRENTLY") {
        let table = name_after(&s.sql, "ON", &["ONLY"]);
        if table.as_ref().is_none_or(|t| !facts.created.contains(t)) {
            findings.flag(
                s,
                "index-not-concurrent",
                format!(
                    "index on existing table `{}` built without CONCURRENTLY blocks writes; use CREATE INDEX CONCURRENTLY",
                    table.unwrap_or_default()
                ),
            );
        }
    }
    if head.has("CONCURRENTLY") && facts.explicit_tx {
        findings.flag(s, "concurrently-in-transaction", "CONCURRENTLY inside this file's own BEGIN ... COMMIT fails; remove the transaction block".into());
    }
    if head.has("CONCURRENTLY") && facts.other_ddl && !facts.explicit_tx {
        findings.flag(s, "mixed-transaction-modes", "this file runs outside a transaction because of CONCURRENTLY; move the other DDL to its own migration".into());
    }
}

/// `not-null-without-default`, `column-type-change` and `drop-without-down` (`upper`: the statement
/// upper-cased).
fn check_alter_table(
    s: &Statement,
    head: &HeadWords,
    upper: &str,
    has_down: bool,
    findings: &mut UpFindings<'_>,
) {
    let w = |i: usize| head.word(i);
    if w(0) == "ALTER"
        && w(1) == "TABLE"
        && upper.contains("ADD COLUMN")
        && upper.contains("NOT NULL")
        && !upper.contains("DEFAULT")
    {
        findings.flag(s, "not-null-without-default", "adding a NOT NULL column without DEFAULT fails on a non-empty table; add a DEFAULT or backfill first".into());
    }
    if w(0) == "ALTER" && w(1) == "TABLE" && upper.contains("ALTER COLUMN") && head.has("TYPE") {
        findings.flag(
            s,
            "column-type-change",
            "changing a column type rewrites the table under an ACCESS EXCLUSIVE lock".into(),
        );
    }
    let drops = (w(0) == "DROP" && w(1) == "TABLE")
        || (w(0) == "ALTER" && w(1) == "TABLE" && upper.contains("DROP COLUMN"));
    if drops && !has_down {
        findings.flag(
            s,
            "drop-without-down",
            "drops data and the migration has no down file to restore the structure".into(),
        );
    }
}

/// `missing-if-exists` on CREATE and `data-change`.
fn check_creates_and_data(s: &Statement, head: &HeadWords, findings: &mut UpFindings<'_>) {
    let w = |i: usize| head.word(i);
    let creates = w(0) == "CREATE"
        && matches!(
            w(1),
            "TABLE" | "INDEX" | "SCHEMA" | "SEQUENCE" | "UNIQUE" | "EXTENSION"
        );
    if creates && !(head.has("IF") && head.has("NOT") && head.has("EXISTS")) {
        findings.flag(
            s,
            "missing-if-exists",
            "add IF NOT EXISTS so the statement can be re-run after a partial failure".into(),
        );
    }
    if matches!(w(0), "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE") {
        findings.flag(s, "data-change", format!("{} in a schema migration", w(0)));
    }
}

/// `missing-if-exists` on the DROPs of a down file.
fn check_down_file(down: &Script, out: &mut Vec<LintFinding>) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
