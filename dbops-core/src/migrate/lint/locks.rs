//! What a statement does to the tables it names: the lock it takes on each (PostgreSQL's table lock
//! modes, as its documentation lists them per command) and the work it does under that lock (a
//! catalog change, a scan of every row, a rewrite, an index build).

use serde::{Deserialize, Serialize};
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::cst::{self, Statement, child, contains, has_token};

/// A table lock mode, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// `ACCESS SHARE` (SELECT).
    AccessShare,
    /// `ROW SHARE` (SELECT FOR UPDATE).
    RowShare,
    /// `ROW EXCLUSIVE` (INSERT, UPDATE, DELETE).
    RowExclusive,
    /// `SHARE UPDATE EXCLUSIVE` (VACUUM, CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT).
    ShareUpdateExclusive,
    /// `SHARE` (CREATE INDEX).
    Share,
    /// `SHARE ROW EXCLUSIVE` (CREATE TRIGGER, foreign keys).
    ShareRowExclusive,
    /// `EXCLUSIVE` (REFRESH MATERIALIZED VIEW CONCURRENTLY).
    Exclusive,
    /// `ACCESS EXCLUSIVE` (most ALTER TABLE forms, DROP, TRUNCATE, VACUUM FULL).
    AccessExclusive,
}

/// What ordinary traffic a lock holds up while it is held (or waited for: a waiting lock request
/// queues every later conflicting one behind it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Blocks {
    /// Only other schema changes, VACUUM and ANALYZE.
    SchemaChanges,
    /// INSERT, UPDATE, DELETE (reads go on).
    Writes,
    /// Every query on the table, reads included.
    ReadsAndWrites,
}

impl LockMode {
    /// Every mode, weakest first.
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// The name PostgreSQL's documentation gives it (`ACCESS EXCLUSIVE`).
    pub fn sql_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// The mode of a `pg_locks.mode` value (`AccessExclusiveLock`).
    pub fn from_pg_locks(mode: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| {
            let camel: String = m
                .sql_name()
                .split(' ')
                .map(|w| w[..1].to_string() + &w[1..].to_ascii_lowercase())
                .collect();
            mode == format!("{camel}Lock")
        })
    }

    /// Whether a lock of this mode and one of `other` cannot be held at once (PostgreSQL's
    /// conflict table).
    pub fn conflicts_with(self, other: LockMode) -> bool {
        use LockMode::*;
        let conflicts: &[LockMode] = match self {
            AccessShare => &[AccessExclusive],
            RowShare => &[Exclusive, AccessExclusive],
            RowExclusive => &[Share, ShareRowExclusive, Exclusive, AccessExclusive],
            ShareUpdateExclusive => &[
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            Share => &[
                RowExclusive,
                ShareUpdateExclusive,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            ShareRowExclusive => &[
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            Exclusive => &[
                RowShare,
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            AccessExclusive => &Self::ALL,
        };
        conflicts.contains(&other)
    }

    /// What ordinary traffic it holds up.
    pub fn blocks(self) -> Blocks {
        if self.conflicts_with(LockMode::AccessShare) {
            Blocks::ReadsAndWrites
        } else if self.conflicts_with(LockMode::RowExclusive) {
            Blocks::Writes
        } else {
            Blocks::SchemaChanges
        }
    }
}

impl std::fmt::Display for LockMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.sql_name())
    }
}

impl std::fmt::Display for Blocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Blocks::SchemaChanges => "other schema changes only",
            Blocks::Writes => "writes",
            Blocks::ReadsAndWrites => "reads and writes",
        })
    }
}

impl std::fmt::Display for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Work::Catalog => "catalog change",
            Work::Rows => "row changes",
            Work::Scan => "full scan",
            Work::IndexBuild => "index build",
            Work::Rewrite => "rewrite",
        })
    }
}

/// The work a statement does on a table while it holds its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// A catalog change: milliseconds, whatever the table's size.
    Catalog,
    /// Changes rows (INSERT, UPDATE, DELETE): as long as the rows it touches take.
    Rows,
    /// Reads every row (a constraint checked, `SET NOT NULL`).
    Scan,
    /// Builds an index: reads and sorts every row.
    IndexBuild,
    /// Writes the whole table and its indexes anew.
    Rewrite,
}

impl Work {
    /// Whether the time it takes grows with the table.
    pub fn scales(self) -> bool {
        self != Work::Catalog
    }
}

/// What a statement does to one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableEffect {
    /// The table as written in the statement.
    pub table: String,
    /// The lock it takes.
    pub lock: LockMode,
    /// The work done under it.
    pub work: Work,
}

/// The tables `statement` locks, with the mode and the work (`server_major`: what the server makes
/// cheap, e.g. a constant `DEFAULT` needs no rewrite since 11).
pub fn effects(statement: &Statement, server_major: u32) -> Vec<TableEffect> {
    let node = &statement.node;
    let table = || cst::first_table(node).unwrap_or_default();
    let one = |lock, work| {
        vec![TableEffect {
            table: table(),
            lock,
            work,
        }]
    };
    let concurrently = has_token(node, K::CONCURRENTLY_KW);
    match node.kind() {
        K::ALTER_TABLE => alter_table(node, server_major),
        K::CREATE_INDEX if concurrently => one(LockMode::ShareUpdateExclusive, Work::IndexBuild),
        K::CREATE_INDEX => one(LockMode::Share, Work::IndexBuild),
        K::DROP_INDEX if concurrently => one(LockMode::ShareUpdateExclusive, Work::Catalog),
        K::DROP_INDEX => one(LockMode::AccessExclusive, Work::Catalog),
        K::DROP_TABLE | K::TRUNCATE | K::LOCK => {
            let mode = lock_clause(node).unwrap_or(LockMode::AccessExclusive);
            all_tables(node, mode, Work::Catalog)
        }
        K::CREATE_TABLE => references(node),
        K::CREATE_TRIGGER => one(LockMode::ShareRowExclusive, Work::Catalog),
        K::VACUUM if contains_full(node) => {
            all_tables(node, LockMode::AccessExclusive, Work::Rewrite)
        }
        K::VACUUM => all_tables(node, LockMode::ShareUpdateExclusive, Work::Scan),
        K::CLUSTER => one(LockMode::AccessExclusive, Work::Rewrite),
        K::REFRESH if concurrently => one(LockMode::Exclusive, Work::Rewrite),
        K::REFRESH => one(LockMode::AccessExclusive, Work::Rewrite),
        K::REINDEX if reindex_concurrently(node) => {
            one(LockMode::ShareUpdateExclusive, Work::IndexBuild)
        }
        K::REINDEX => one(LockMode::Share, Work::IndexBuild),
        K::UPDATE | K::DELETE | K::MERGE => one(LockMode::RowExclusive, Work::Rows),
        K::INSERT => one(LockMode::RowExclusive, Work::Rows),
        _ => Vec::new(),
    }
}

/// `VACUUM FULL`.
fn contains_full(node: &SyntaxNode) -> bool {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .any(|t| t.kind() == K::FULL_KW)
}

fn reindex_concurrently(node: &SyntaxNode) -> bool {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .any(|t| t.kind() == K::CONCURRENTLY_KW)
}

/// The mode of `LOCK TABLE ... IN <mode> MODE`.
fn lock_clause(node: &SyntaxNode) -> Option<LockMode> {
    let clause = child(node, K::LOCK_MODE_CLAUSE)?;
    let words = cst::text_of(&clause).to_ascii_uppercase();
    let mode = words.trim_start_matches("IN").trim_end_matches("MODE");
    LockMode::ALL
        .into_iter()
        .find(|m| m.sql_name().replace(' ', "") == mode)
}

/// Every table a statement lists (`DROP TABLE a, b`, `TRUNCATE a, b`, `VACUUM FULL a, b`).
fn all_tables(node: &SyntaxNode, lock: LockMode, work: Work) -> Vec<TableEffect> {
    let mut out: Vec<TableEffect> = node
        .descendants()
        .filter(|d| matches!(d.kind(), K::TABLE_NAME_REF | K::RELATION_NAME_REF))
        .map(|d| TableEffect {
            table: cst::text_of(&d),
            lock,
            work,
        })
        .collect();
    out.dedup_by(|a, b| a.table == b.table);
    out
}

/// The tables a new table's foreign keys reference: `SHARE ROW EXCLUSIVE`, briefly (the new table
/// has no rows to check).
fn references(node: &SyntaxNode) -> Vec<TableEffect> {
    node.descendants()
        .filter(|d| {
            matches!(
                d.kind(),
                K::REFERENCES_CONSTRAINT | K::FOREIGN_KEY_CONSTRAINT
            )
        })
        .filter_map(|d| child(&d, K::TABLE_NAME_REF))
        .map(|t| TableEffect {
            table: cst::text_of(&t),
            lock: LockMode::ShareRowExclusive,
            work: Work::Catalog,
        })
        .collect()
}

/// The effects of `ALTER TABLE`: the strongest action's lock and heaviest work on the table, plus
/// the tables its foreign keys reference.
fn alter_table(node: &SyntaxNode, server_major: u32) -> Vec<TableEffect> {
    let table = cst::first_table(node).unwrap_or_default();
    let mut lock = LockMode::ShareUpdateExclusive;
    let mut work = Work::Catalog;
    let mut out = Vec::new();
    for action in node.children() {
        let Some((action_lock, action_work)) = action_effect(&action, server_major) else {
            continue;
        };
        lock = lock.max(action_lock);
        work = work.max(action_work);
        for referenced in references(&action) {
            let validated = !contains(&action, K::NOT_VALID);
            out.push(TableEffect {
                work: if validated { Work::Scan } else { Work::Catalog },
                ..referenced
            });
        }
    }
    out.insert(0, TableEffect { table, lock, work });
    out
}

/// The lock and work of one `ALTER TABLE` action (`None` for what is not an action).
fn action_effect(action: &SyntaxNode, server_major: u32) -> Option<(LockMode, Work)> {
    use LockMode::*;
    Some(match action.kind() {
        K::ADD_COLUMN => (AccessExclusive, add_column_work(action, server_major)),
        K::ALTER_COLUMN => alter_column_effect(action),
        K::ADD_CONSTRAINT => add_constraint_effect(action),
        K::VALIDATE_CONSTRAINT => (ShareUpdateExclusive, Work::Scan),
        K::ATTACH_PARTITION => (ShareUpdateExclusive, Work::Scan),
        K::DETACH_PARTITION if contains(action, K::DETACH_CONCURRENTLY) => {
            (ShareUpdateExclusive, Work::Catalog)
        }
        K::SET_LOGGED | K::SET_UNLOGGED | K::SET_TABLESPACE | K::SET_ACCESS_METHOD => {
            (AccessExclusive, Work::Rewrite)
        }
        K::SET_OPTIONS | K::RESET_OPTIONS | K::CLUSTER_ON | K::SET_WITHOUT_CLUSTER => {
            (ShareUpdateExclusive, Work::Catalog)
        }
        K::ENABLE_TRIGGER
        | K::DISABLE_TRIGGER
        | K::ENABLE_ALWAYS_TRIGGER
        | K::ENABLE_REPLICA_TRIGGER => (ShareRowExclusive, Work::Catalog),
        K::TABLE_RELATION_NAME | K::IF_EXISTS => return None,
        _ => (AccessExclusive, Work::Catalog),
    })
}

/// `ADD COLUMN`: a catalog change, unless its default must be computed per row (a volatile one, or
/// any default before 11), or it brings an index or a checked constraint.
fn add_column_work(action: &SyntaxNode, server_major: u32) -> Work {
    let default = child(action, K::DEFAULT_CONSTRAINT);
    let rewrite = default
        .as_ref()
        .is_some_and(|d| server_major < 11 || is_volatile(d))
        || contains(action, K::GENERATED_CONSTRAINT) && cst::text_of(action).contains("STORED")
        || cst::type_text(action).is_some_and(|t| t.contains("serial"));
    if rewrite {
        Work::Rewrite
    } else if contains(action, K::PRIMARY_KEY_CONSTRAINT) || contains(action, K::UNIQUE_CONSTRAINT)
    {
        Work::IndexBuild
    } else if contains(action, K::CHECK_CONSTRAINT) || contains(action, K::REFERENCES_CONSTRAINT) {
        Work::Scan
    } else {
        Work::Catalog
    }
}

/// Whether a `DEFAULT` expression may differ per row (a function call other than a few known
/// stable ones, or a sequence), so `ADD COLUMN` must write it into every row.
pub fn is_volatile(default: &SyntaxNode) -> bool {
    const STABLE: &[&str] = &[
        "now",
        "current_timestamp",
        "current_date",
        "transaction_timestamp",
        "statement_timestamp",
        "current_user",
        "lower",
        "upper",
    ];
    default
        .descendants()
        .filter(|d| d.kind() == K::CALL_EXPR)
        .filter_map(|call| child(&call, K::NAME_REF).map(|n| cst::text_of(&n).to_ascii_lowercase()))
        .any(|name| !STABLE.contains(&name.as_str()))
}

fn alter_column_effect(action: &SyntaxNode) -> (LockMode, Work) {
    use LockMode::*;
    if let Some(set_type) = child(action, K::SET_TYPE) {
        let work = if child(&set_type, K::USING_EXPR).is_none() && type_change_is_cheap(&set_type) {
            Work::Catalog
        } else {
            Work::Rewrite
        };
        return (AccessExclusive, work);
    }
    if child(action, K::SET_NOT_NULL).is_some() {
        return (AccessExclusive, Work::Scan);
    }
    if child(action, K::ALTER_SET_STATISTICS).is_some() || child(action, K::SET_OPTIONS).is_some() {
        return (ShareUpdateExclusive, Work::Catalog);
    }
    (AccessExclusive, Work::Catalog)
}

/// Whether a type change needs no rewrite: to `text`, or to a `varchar` without a limit (the old
/// type being unknown here, a larger limit is assumed to widen).
fn type_change_is_cheap(set_type: &SyntaxNode) -> bool {
    cst::type_text(set_type).is_some_and(|t| {
        t == "text"
            || t == "varchar"
            || t == "character varying"
            || t.starts_with("varchar(")
            || t.starts_with("character varying(")
    })
}

fn add_constraint_effect(action: &SyntaxNode) -> (LockMode, Work) {
    use LockMode::*;
    let not_valid = contains(action, K::NOT_VALID);
    let using_index = contains(action, K::USING_INDEX_NAME);
    if contains(action, K::FOREIGN_KEY_CONSTRAINT) || contains(action, K::REFERENCES_CONSTRAINT) {
        return (
            ShareRowExclusive,
            if not_valid { Work::Catalog } else { Work::Scan },
        );
    }
    let index_backed = contains(action, K::PRIMARY_KEY_CONSTRAINT)
        || contains(action, K::UNIQUE_CONSTRAINT)
        || contains(action, K::EXCLUDE_CONSTRAINT);
    if index_backed {
        return (
            AccessExclusive,
            if using_index {
                Work::Catalog
            } else {
                Work::IndexBuild
            },
        );
    }
    (
        AccessExclusive,
        if not_valid { Work::Catalog } else { Work::Scan },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::lint::cst::parse;

    fn effects_of(sql: &str) -> Vec<(String, LockMode, Work)> {
        let script = parse(sql);
        assert!(script.errors.is_empty(), "{:?}", script.errors);
        effects(&script.statements[0], 15)
            .into_iter()
            .map(|e| (e.table, e.lock, e.work))
            .collect()
    }

    #[test]
    fn locks_follow_postgresql_documentation() {
        use LockMode::*;
        assert_eq!(
            effects_of("CREATE INDEX i ON rides (a)"),
            [("rides".into(), Share, Work::IndexBuild)]
        );
        assert_eq!(
            effects_of("CREATE INDEX CONCURRENTLY i ON rides (a)"),
            [("rides".into(), ShareUpdateExclusive, Work::IndexBuild)]
        );
        assert_eq!(
            effects_of(
                "ALTER TABLE rides ADD CONSTRAINT f FOREIGN KEY (d) REFERENCES drivers (id)"
            ),
            [
                ("rides".into(), ShareRowExclusive, Work::Scan),
                ("drivers".into(), ShareRowExclusive, Work::Scan)
            ]
        );
        assert_eq!(
            effects_of(
                "ALTER TABLE rides ADD CONSTRAINT f FOREIGN KEY (d) REFERENCES drivers (id) NOT VALID"
            ),
            [
                ("rides".into(), ShareRowExclusive, Work::Catalog),
                ("drivers".into(), ShareRowExclusive, Work::Catalog)
            ]
        );
        assert_eq!(
            effects_of("ALTER TABLE rides ALTER COLUMN a SET NOT NULL")[0].2,
            Work::Scan
        );
        assert_eq!(
            effects_of("ALTER TABLE rides ADD COLUMN a int DEFAULT 0")[0].2,
            Work::Catalog
        );
        assert_eq!(
            effects_of("ALTER TABLE rides ADD COLUMN a uuid DEFAULT gen_random_uuid()")[0].2,
            Work::Rewrite
        );
        assert_eq!(
            effects_of("ALTER TABLE rides ALTER COLUMN a TYPE bigint")[0].2,
            Work::Rewrite
        );
        assert_eq!(
            effects_of("ALTER TABLE rides ALTER COLUMN a TYPE text")[0].2,
            Work::Catalog
        );
        assert_eq!(
            effects_of("ALTER TABLE rides VALIDATE CONSTRAINT f")[0].1,
            ShareUpdateExclusive
        );
        assert_eq!(
            effects_of("LOCK TABLE rides IN SHARE ROW EXCLUSIVE MODE"),
            [("rides".into(), ShareRowExclusive, Work::Catalog)]
        );
        assert_eq!(effects_of("VACUUM FULL rides")[0].2, Work::Rewrite);
        assert_eq!(effects_of("DROP TABLE a, b").len(), 2);
    }

    #[test]
    fn the_conflict_table_is_symmetric_and_names_round_trip() {
        for a in LockMode::ALL {
            for b in LockMode::ALL {
                assert_eq!(a.conflicts_with(b), b.conflicts_with(a), "{a} / {b}");
            }
            let pg = format!(
                "{}Lock",
                a.sql_name()
                    .split(' ')
                    .map(|w| w[..1].to_string() + &w[1..].to_ascii_lowercase())
                    .collect::<String>()
            );
            assert_eq!(LockMode::from_pg_locks(&pg), Some(a));
        }
        assert_eq!(LockMode::AccessExclusive.blocks(), Blocks::ReadsAndWrites);
        assert_eq!(LockMode::Share.blocks(), Blocks::Writes);
        assert_eq!(
            LockMode::ShareUpdateExclusive.blocks(),
            Blocks::SchemaChanges
        );
    }
}
