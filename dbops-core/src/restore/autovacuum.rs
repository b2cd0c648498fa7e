//! Autovacuum kept out of a staging database while the restore fills it. Autovacuum visits every
//! database in turn, and a staging database's freshly loaded tables all qualify: a visit analyzes
//! tables the restore analyzes itself and holds locks that the restore's index builds, foreign keys
//! and ANALYZE then wait for (up to `deadlock_timeout` before autovacuum gives way). The restore
//! sets `autovacuum_enabled = false` on its tables after creating them and resets it before the
//! database is renamed into place; a failed restore drops the database, setting and all. Tables that
//! set `autovacuum_enabled` themselves are left alone, so every table ends with its own options.

use crate::backup::{Manifest, TableObject};
use crate::error::{Error, Result};

/// The tables autovacuum is kept away from (quoted, schema-qualified names).
pub(super) struct AutovacuumPaused {
    tables: Vec<String>,
}

impl AutovacuumPaused {
    /// Turns autovacuum off for the manifest's plain tables that do not set it themselves.
    pub(super) async fn pause(
        client: &tokio_postgres::Client,
        manifest: &Manifest,
    ) -> Result<Self> {
        let names: Vec<String> = manifest.parts.iter().map(TableObject::sql_name).collect();
        let rows = client
            .query(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM unnest($1::text[]) AS t(name) \
                 JOIN pg_class c ON c.oid = to_regclass(t.name) \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'r' AND NOT EXISTS (SELECT FROM unnest(c.reloptions) AS o \
                   WHERE o LIKE 'autovacuum\\_enabled=%')",
                &[&names],
            )
            .await
            .map_err(|e| Error::postgres("listing the tables to keep autovacuum from", e))?;
        let tables: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let paused = Self { tables };
        if paused.tables.is_empty() {
            return Ok(paused);
        }
        client
            .batch_execute(&paused.statements("SET (autovacuum_enabled = false)"))
            .await
            .map_err(|e| Error::postgres("keeping autovacuum from the tables being restored", e))?;
        Ok(paused)
    }

    /// Gives the tables back to autovacuum (their `autovacuum_enabled` option removed again).
    pub(super) async fn resume(self, client: &tokio_postgres::Client) -> Result<()> {
        if self.tables.is_empty() {
            return Ok(());
        }
        client
            .batch_execute(&self.statements("RESET (autovacuum_enabled)"))
            .await
            .map_err(|e| Error::postgres("giving the restored tables back to autovacuum", e))
    }

    /// `ALTER TABLE t action;` for every table.
    fn statements(&self, action: &str) -> String {
        self.tables
            .iter()
            .map(|table| format!("ALTER TABLE {table} {action};"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_per_table() {
        let paused = AutovacuumPaused {
            tables: vec!["public.rides".into(), "\"Odd\".\"T\"".into()],
        };
        assert_eq!(
            paused.statements("RESET (autovacuum_enabled)"),
            "ALTER TABLE public.rides RESET (autovacuum_enabled);\
             ALTER TABLE \"Odd\".\"T\" RESET (autovacuum_enabled);"
        );
        let none = AutovacuumPaused { tables: Vec::new() };
        assert_eq!(none.statements("SET (autovacuum_enabled = false)"), "");
    }
}
