//! Subsets that keep their referential closure. Run on the loaded rows before constraints exist:
//! 1. each root table keeps the rows its predicate selects;
//! 2. tables that reference a root (directly or through other such tables: the ride's payments,
//!    ratings, events) keep the rows that reference kept rows;
//! 3. then, until nothing changes: tables the kept rows reference (the ride's rider, driver,
//!    vehicle) keep only rows something kept references, and every row whose foreign key points at a
//!    removed row is removed (the removed users' notifications).
//!
//! Every foreign key holds at the end, and every kept row keeps every row it references.

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
pub struct SubsetReport {
    /// Rows removed per table (`schema.name`), for tables that lost any.
    pub removed: BTreeMap<String, u64>,
    /// Passes of step 3 until nothing changed.
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
    let mut report = SubsetReport::default();
    execute(
        client,
        "SET work_mem = '128MB'",
        "setting work_mem for the subset",
    )
    .await?;
    let roots: BTreeSet<String> = rules.iter().map(|r| r.table.clone()).collect();
    for rule in rules {
        if !shape.tables.contains_key(&rule.table) {
            return Err(Error::config(
                "--subset",
                format!("the backup has no table {}", rule.table),
            ));
        }
        let sql = format!(
            "DELETE FROM {} WHERE NOT COALESCE(({}), false)",
            sql_table(&rule.table),
            rule.predicate
        );
        let removed = execute(
            client,
            &sql,
            &format!("selecting the subset of {}", rule.table),
        )
        .await?;
        report.add(&rule.table, removed);
    }
    let keys: Vec<&ForeignKey> = shape
        .foreign_keys
        .iter()
        .filter(|k| shape.tables.contains_key(&k.child) && shape.tables.contains_key(&k.parent))
        .collect();
    let descendants = descendants(&roots, &keys);
    for table in &descendants {
        let kept_by: Vec<String> = keys
            .iter()
            .filter(|k| &k.child == table && k.parent != k.child)
            .filter(|k| roots.contains(&k.parent) || descendants.contains(&k.parent))
            .map(|k| {
                format!(
                    "EXISTS (SELECT 1 FROM {} p WHERE {})",
                    sql_table(&k.parent),
                    join_condition(k, "x", "p")
                )
            })
            .collect();
        let removed = keep_only(
            client,
            table,
            &kept_by,
            &format!("keeping the rows of {table} that belong to the subset"),
        )
        .await?;
        report.add(table, removed);
    }
    let closure: BTreeSet<String> = roots.iter().chain(&descendants).cloned().collect();
    let ancestors = ancestors(&closure, &keys);
    let members: BTreeSet<&String> = closure.iter().chain(ancestors.iter()).collect();
    loop {
        report.passes += 1;
        let mut changed = 0;
        for parent in &ancestors {
            let referenced_by: Vec<String> = keys
                .iter()
                .filter(|k| &k.parent == parent && members.contains(&k.child))
                .map(|k| {
                    format!(
                        "EXISTS (SELECT 1 FROM {} c WHERE {})",
                        sql_table(&k.child),
                        join_condition(k, "c", "x")
                    )
                })
                .collect();
            if referenced_by.is_empty() {
                continue;
            }
            let removed = keep_only(
                client,
                parent,
                &referenced_by,
                &format!("keeping the rows of {parent} the subset references"),
            )
            .await?;
            report.add(parent, removed);
            changed += removed;
        }
        for key in &keys {
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
            changed += removed;
        }
        if changed == 0 {
            execute(client, "RESET work_mem", "resetting work_mem").await?;
            return Ok(report);
        }
    }
}

/// Deletes the rows of `table` (aliased `x` in the conditions) for which none of `conditions`
/// holds. Each condition is a semi-join and the rows kept are matched by `ctid` in a hash anti-join,
/// so no condition is evaluated row by row (an `OR` of `EXISTS` would be).
async fn keep_only(
    client: &tokio_postgres::Client,
    table: &str,
    conditions: &[String],
    what: &str,
) -> Result<u64> {
    let kept: Vec<String> = conditions
        .iter()
        .map(|condition| {
            format!(
                "SELECT x.ctid AS row FROM {} x WHERE {condition}",
                sql_table(table)
            )
        })
        .collect();
    let sql = format!(
        "DELETE FROM {} t WHERE NOT EXISTS (SELECT 1 FROM ({}) kept WHERE kept.row = t.ctid)",
        sql_table(table),
        kept.join(" UNION ALL ")
    );
    execute(client, &sql, what).await
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
