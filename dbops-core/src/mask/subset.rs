//! Subsets that keep their referential closure, run on the loaded rows before constraints exist.
//! Rows are marked as kept (by `(tableoid, ctid)`, in temporary tables) until nothing changes:
//! 1. the rows of each root table its conditions select (several conditions on one table: any);
//! 2. rows of tables that reference the roots, directly or through each other (a ride's payments,
//!    ratings, location pings), that reference a kept row;
//! 3. every row a kept row references (the ride's rider, driver, vehicle; a selected employee's
//!    manager), in any of these tables.
//!
//! Then every unmarked row of these tables is removed, and rows of other tables whose foreign key
//! points at a removed row go too (the removed users' notifications), until every foreign key holds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;

use super::shape::{DatabaseShape, ForeignKey};
use crate::config::quote_ident;
use crate::error::{Error, Result};

/// Keep the rows of `table` for which `predicate` (SQL) is true, and their closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsetRule {
    /// `schema.table`.
    pub table: String,
    /// An SQL condition on its rows (it sees masked values when masking too).
    pub predicate: String,
}

impl std::str::FromStr for SubsetRule {
    type Err = Error;

    /// `table: condition` or `schema.table: condition`.
    fn from_str(text: &str) -> Result<Self> {
        let invalid = || {
            Error::config(
                "--subset",
                format!(
                    "`{text}` is not `table: condition`, e.g. \"rides: requested_at > now() - \
                     interval '30 days'\""
                ),
            )
        };
        let (table, predicate) = text.split_once(':').ok_or_else(invalid)?;
        let (table, predicate) = (table.trim(), predicate.trim());
        if table.is_empty() || predicate.is_empty() || table.contains(char::is_whitespace) {
            return Err(invalid());
        }
        let table = if table.contains('.') {
            table.to_string()
        } else {
            format!("public.{table}")
        };
        Ok(Self {
            table,
            predicate: predicate.to_string(),
        })
    }
}

/// What a subset kept.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct SubsetReport {
    /// Rows removed per table (`schema.name`), for tables that lost any.
    pub removed: BTreeMap<String, u64>,
    /// Marking passes until nothing more was kept.
    pub passes: usize,
}

fn sql_table(qualified: &str) -> String {
    match qualified.split_once('.') {
        Some((schema, name)) => format!("{}.{}", quote_ident(schema), quote_ident(name)),
        None => quote_ident(qualified),
    }
}

/// `c.a = p.x AND c.b = p.y`
fn join_condition(key: &ForeignKey, child: &str, parent: &str) -> String {
    key.child_columns
        .iter()
        .zip(&key.parent_columns)
        .map(|(c, p)| format!("{child}.{} = {parent}.{}", quote_ident(c), quote_ident(p)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `c.a IS NOT NULL AND c.b IS NOT NULL`: the key is checked (MATCH SIMPLE).
fn key_present(key: &ForeignKey, child: &str) -> String {
    key.child_columns
        .iter()
        .map(|c| format!("{child}.{} IS NOT NULL", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Reduces the tables of `shape` on `client` to the `rules`' subset and its closure.
pub async fn apply_subset(
    client: &tokio_postgres::Client,
    shape: &DatabaseShape,
    rules: &[SubsetRule],
) -> Result<SubsetReport> {
    for rule in rules {
        if !shape.tables.contains_key(&rule.table) {
            return Err(Error::config(
                "--subset",
                format!("the backup has no table {}", rule.table),
            ));
        }
    }
    let keys: Vec<&ForeignKey> = shape
        .foreign_keys
        .iter()
        .filter(|k| shape.tables.contains_key(&k.child) && shape.tables.contains_key(&k.parent))
        .collect();
    let roots: BTreeSet<String> = rules.iter().map(|r| r.table.clone()).collect();
    let descendants = descendants(&roots, &keys);
    let closure: BTreeSet<String> = roots.iter().chain(&descendants).cloned().collect();
    let members: Vec<String> = closure
        .iter()
        .cloned()
        .chain(ancestors(&closure, &keys))
        .collect();
    let marks: Marks = members
        .iter()
        .enumerate()
        .map(|(i, table)| (table, format!("dbops_subset_keep_{i}")))
        .collect();
    execute(
        client,
        "SET work_mem = '128MB'",
        "setting work_mem for the subset",
    )
    .await?;
    for mark in marks.values() {
        let sql =
            format!("CREATE TEMPORARY TABLE {mark} (o oid, t tid, g bigint, PRIMARY KEY (o, t))");
        execute(client, &sql, "creating the subset's marks").await?;
    }
    let newest = mark_selected(client, rules, &marks).await?;
    let edges = edges(&roots, &descendants, &members, &keys);
    let mut report = SubsetReport {
        passes: mark_closure(client, edges, &marks, newest).await?,
        ..SubsetReport::default()
    };
    remove_unmarked(client, &marks, &mut report).await?;
    remove_dangling(client, &keys, &mut report).await?;
    for mark in marks.values() {
        execute(
            client,
            &format!("DROP TABLE IF EXISTS {mark}"),
            "dropping the subset's marks",
        )
        .await?;
    }
    execute(client, "RESET work_mem", "resetting work_mem").await?;
    Ok(report)
}

/// The temporary table holding each member table's kept rows (`tableoid`, `ctid`, and in `g` the
/// step that marked them).
type Marks<'a> = BTreeMap<&'a String, String>;

/// Marks the rows the rules select (step 0); the tables that got any, with their newest step.
async fn mark_selected<'a>(
    client: &tokio_postgres::Client,
    rules: &'a [SubsetRule],
    marks: &Marks<'_>,
) -> Result<BTreeMap<&'a String, i64>> {
    let mut newest = BTreeMap::new();
    for rule in rules {
        let sql = format!(
            "INSERT INTO {} SELECT x.tableoid, x.ctid, 0 FROM {} x WHERE COALESCE(({}), false) \
             ON CONFLICT DO NOTHING",
            marks[&rule.table],
            sql_table(&rule.table),
            rule.predicate
        );
        let what = format!("selecting the subset of {}", rule.table);
        if execute(client, &sql, &what).await? > 0 {
            newest.insert(&rule.table, 0);
        }
    }
    Ok(newest)
}

/// Follows the edges until a pass marks nothing new; returns the passes. `newest` holds the step
/// at which each table last got new marks.
async fn mark_closure<'a>(
    client: &tokio_postgres::Client,
    mut edges: Vec<Edge<'a>>,
    marks: &Marks<'_>,
    mut newest: BTreeMap<&'a String, i64>,
) -> Result<usize> {
    let mut step = 0i64;
    let mut passes = 0;
    loop {
        passes += 1;
        let mut marked = 0;
        for edge in &mut edges {
            let (from, to) = edge.tables();
            // Semi-naive: only rows marked since this edge last ran can mark anything new.
            if newest.get(from).is_none_or(|n| *n <= edge.seen) {
                continue;
            }
            step += 1;
            let sql = edge.sql(&marks[from], &marks[to], step);
            let what = format!("keeping the rows of {to} that kept {from} rows need");
            let inserted = execute(client, &sql, &what).await?;
            edge.seen = step - 1;
            if inserted > 0 {
                newest.insert(to, step);
                marked += inserted;
            }
        }
        if marked == 0 {
            return Ok(passes);
        }
    }
}

/// Removes every unmarked row of the member tables.
async fn remove_unmarked(
    client: &tokio_postgres::Client,
    marks: &Marks<'_>,
    report: &mut SubsetReport,
) -> Result<()> {
    for (table, mark) in marks {
        let sql = format!(
            "DELETE FROM {} t WHERE NOT EXISTS (SELECT 1 FROM {mark} k WHERE k.o = t.tableoid AND k.t = t.ctid)",
            sql_table(table)
        );
        let what = format!("removing the rows of {table} outside the subset");
        let removed = execute(client, &sql, &what).await?;
        report.add(table, removed);
    }
    Ok(())
}

/// Removes rows whose foreign key points at a removed row, until every key holds.
async fn remove_dangling(
    client: &tokio_postgres::Client,
    keys: &[&ForeignKey],
    report: &mut SubsetReport,
) -> Result<()> {
    loop {
        let mut removed_now = 0;
        for key in keys {
            let sql = format!(
                "DELETE FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
                sql_table(&key.child),
                key_present(key, "c"),
                sql_table(&key.parent),
                join_condition(key, "c", "p")
            );
            let what = format!(
                "removing rows of {} whose {} row left the subset",
                key.child, key.parent
            );
            let removed = execute(client, &sql, &what).await?;
            report.add(&key.child, removed);
            removed_now += removed;
        }
        if removed_now == 0 {
            return Ok(());
        }
    }
}

/// A direction in which kept rows make other rows kept.
struct Edge<'a> {
    key: &'a ForeignKey,
    /// Down: child rows referencing kept parent rows (the child belongs to the roots). Up: parent
    /// rows kept child rows reference.
    down: bool,
    /// Marks of the source table up to this step have been followed.
    seen: i64,
}

impl<'a> Edge<'a> {
    /// (source table, target table).
    fn tables(&self) -> (&'a String, &'a String) {
        if self.down {
            (&self.key.parent, &self.key.child)
        } else {
            (&self.key.child, &self.key.parent)
        }
    }

    /// Marks in `to_mark` every row the new marks of `from_mark` reach, as step `step`.
    fn sql(&self, from_mark: &str, to_mark: &str, step: i64) -> String {
        let key = self.key;
        let (source, target, alias) = if self.down {
            (&key.parent, &key.child, "c")
        } else {
            (&key.child, &key.parent, "p")
        };
        let source_alias = if self.down { "p" } else { "c" };
        format!(
            "INSERT INTO {to_mark} SELECT {alias}.tableoid, {alias}.ctid, {step} FROM {from_mark} k \
             JOIN {} {source_alias} ON {source_alias}.tableoid = k.o AND {source_alias}.ctid = k.t \
             JOIN {} {alias} ON {} WHERE k.g > {} ON CONFLICT DO NOTHING",
            sql_table(source),
            sql_table(target),
            join_condition(key, "c", "p"),
            self.seen
        )
    }
}

/// The edges in an order that lets one pass do most of the work: down from the roots (nearest
/// tables first), then up from the deepest tables towards the ones they reference.
fn edges<'a>(
    roots: &BTreeSet<String>,
    descendants: &[String],
    members: &[String],
    keys: &[&'a ForeignKey],
) -> Vec<Edge<'a>> {
    let member = |t: &String| members.contains(t);
    let in_closure = |t: &String| roots.contains(t) || descendants.contains(t);
    let mut out = Vec::new();
    for table in descendants {
        for key in keys
            .iter()
            .filter(|k| &k.child == table && in_closure(&k.parent))
        {
            out.push(Edge {
                key,
                down: true,
                seen: -1,
            });
        }
    }
    let upward = descendants
        .iter()
        .rev()
        .chain(roots.iter())
        .chain(members.iter().filter(|t| !in_closure(t)));
    for table in upward {
        for key in keys
            .iter()
            .filter(|k| &k.child == table && member(&k.parent))
        {
            out.push(Edge {
                key,
                down: false,
                seen: -1,
            });
        }
    }
    out
}

impl SubsetReport {
    fn add(&mut self, table: &str, removed: u64) {
        if removed > 0 {
            *self.removed.entry(table.to_string()).or_default() += removed;
        }
    }
}

async fn execute(client: &tokio_postgres::Client, sql: &str, what: &str) -> Result<u64> {
    client
        .execute(sql, &[])
        .await
        .map_err(|e| Error::postgres(what, e))
}

/// Tables that reference the roots, directly or through each other, nearest first.
fn descendants(roots: &BTreeSet<String>, keys: &[&ForeignKey]) -> Vec<String> {
    let mut seen: BTreeSet<String> = roots.clone();
    let mut order = Vec::new();
    let mut queue: VecDeque<String> = roots.iter().cloned().collect();
    while let Some(table) = queue.pop_front() {
        for key in keys.iter().filter(|k| k.parent == table) {
            if seen.insert(key.child.clone()) {
                order.push(key.child.clone());
                queue.push_back(key.child.clone());
            }
        }
    }
    order
}

/// Tables the `members` reference, directly or through each other (not members themselves).
fn ancestors(members: &BTreeSet<String>, keys: &[&ForeignKey]) -> Vec<String> {
    let mut seen: BTreeSet<String> = members.clone();
    let mut order = Vec::new();
    let mut queue: VecDeque<String> = members.iter().cloned().collect();
    while let Some(table) = queue.pop_front() {
        for key in keys.iter().filter(|k| k.child == table) {
            if seen.insert(key.parent.clone()) {
                order.push(key.parent.clone());
                queue.push_back(key.parent.clone());
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_subset_rules() {
        let rule: SubsetRule = "rides: requested_at > now() - interval '30 days'"
            .parse()
            .unwrap();
        assert_eq!(rule.table, "public.rides");
        assert_eq!(rule.predicate, "requested_at > now() - interval '30 days'");
        let rule: SubsetRule = "app.rides: id::text like '1%'".parse().unwrap();
        assert_eq!(rule.table, "app.rides");
        assert!("no condition".parse::<SubsetRule>().is_err());
        assert!("rides:".parse::<SubsetRule>().is_err());
    }

    #[test]
    fn closure_order() {
        let fk = |child: &str, parent: &str| ForeignKey {
            child: child.into(),
            child_columns: vec!["x".into()],
            parent: parent.into(),
            parent_columns: vec!["id".into()],
        };
        let keys = [
            fk("rides", "users"),
            fk("payments", "rides"),
            fk("refunds", "payments"),
            fk("notifications", "users"),
            fk("payments", "methods"),
        ];
        let keys: Vec<&ForeignKey> = keys.iter().collect();
        let roots = BTreeSet::from(["rides".to_string()]);
        assert_eq!(descendants(&roots, &keys), vec!["payments", "refunds"]);
        let members = BTreeSet::from(["rides".into(), "payments".into(), "refunds".into()]);
        assert_eq!(ancestors(&members, &keys), vec!["methods", "users"]);
    }
}
