//! Bulk loading into empty tables: the seeded tables' foreign keys and plain secondary indexes are
//! dropped before COPY and recreated after it, inside the seed's transaction (what `pg_restore` does:
//! one index build and one validating join per constraint instead of a check and an index insertion
//! per row). Other sessions never see the tables without them: DDL is transactional and the tables
//! stay locked until commit; on any error the transaction rolls back with the schema unchanged.

use tokio_postgres::Transaction;

use crate::error::{Error, Result};
use crate::progress::{Progress, ProgressUnit, report};

/// DDL to run after the load, in order: index builds, then foreign keys (which use the indexes),
/// then the comments that dropping the constraints removed.
#[derive(Debug, Default)]
pub(super) struct Suspended {
    recreate: Vec<String>,
}

/// Foreign keys declared on the seeded tables, with the statements that drop and re-add them
/// (the definition from `pg_get_constraintdef`, so DEFERRABLE, ON DELETE and NOT VALID survive).
const FOREIGN_KEYS: &str = "
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)),
       CASE WHEN obj_description(c.oid, 'pg_constraint') IS NOT NULL THEN
         format('COMMENT ON CONSTRAINT %I ON %s IS %L', c.conname, c.conrelid::regclass, obj_description(c.oid, 'pg_constraint'))
       END
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid IN (SELECT to_regclass(t) FROM unnest($1::text[]) t)
ORDER BY c.conrelid, c.conname";

/// Plain secondary indexes of the seeded tables: not unique (a foreign key may rely on those), not
/// backing a constraint, nothing depending on them, and nothing `pg_get_indexdef` would not restore
/// (a comment, a tablespace, clustering, per-column statistics targets, a partitioned table).
const PLAIN_INDEXES: &str = "
SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
WHERE i.indrelid IN (SELECT to_regclass(t) FROM unnest($1::text[]) t)
  AND NOT i.indisunique AND NOT i.indisclustered AND i.indisvalid AND i.indisready
  AND t.relkind = 'r' AND ic.reltablespace = 0
  AND obj_description(i.indexrelid, 'pg_class') IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0)
ORDER BY i.indrelid, ic.relname";

/// Whether the current role owns every table (needed to drop and re-add their constraints).
const OWNS_ALL: &str = "
SELECT coalesce(bool_and(pg_has_role(current_user, c.relowner, 'USAGE')), false)
FROM pg_class c WHERE c.oid IN (SELECT to_regclass(t) FROM unnest($1::text[]) t)";

/// `SET LOCAL maintenance_work_mem` (index builds) to 256 MB and `work_mem` (the joins validating
/// foreign keys) to 64 MB, each unless already at least that.
const RAISE_MAINTENANCE_WORK_MEM: &str = "
SELECT set_config(name, value, true) FROM (VALUES ('maintenance_work_mem', '256MB'), ('work_mem', '64MB')) v(name, value)
WHERE pg_size_bytes(current_setting(name)) < pg_size_bytes(value)";

impl Suspended {
    /// Drops the foreign keys and plain indexes of `tables`, returning what recreates them; `None`
    /// (nothing dropped) when the current role does not own every table.
    pub(super) async fn suspend(tx: &Transaction<'_>, tables: &[&str]) -> Result<Option<Self>> {
        let owns: bool = tx
            .query_one(OWNS_ALL, &[&tables])
            .await
            .map_err(|e| Error::postgres("checking ownership of the seeded tables", e))?
            .get(0);
        if !owns {
            return Ok(None);
        }
        let foreign_keys = tx
            .query(FOREIGN_KEYS, &[&tables])
            .await
            .map_err(|e| Error::postgres("reading the foreign keys of the seeded tables", e))?;
        let indexes = tx
            .query(PLAIN_INDEXES, &[&tables])
            .await
            .map_err(|e| Error::postgres("reading the indexes of the seeded tables", e))?;
        let mut suspended = Self::default();
        let mut comments = Vec::new();
        for row in &foreign_keys {
            execute(tx, row.get(0)).await?;
        }
        for row in &indexes {
            execute(tx, row.get(0)).await?;
            suspended.recreate.push(row.get(1));
        }
        for row in &foreign_keys {
            suspended.recreate.push(row.get(1));
            comments.extend(row.get::<_, Option<String>>(2));
        }
        suspended.recreate.extend(comments);
        Ok(Some(suspended))
    }

    /// Recreates (and so validates) everything `suspend` dropped.
    pub(super) async fn resume(
        self,
        tx: &Transaction<'_>,
        progress: Option<&Progress>,
    ) -> Result<()> {
        // Index builds and validating joins sort and hash in memory rather than on disk (this
        // transaction only; a larger setting of the session or server is kept).
        execute(tx, RAISE_MAINTENANCE_WORK_MEM).await?;
        let total = self.recreate.len() as u64;
        for (done, statement) in self.recreate.iter().enumerate() {
            execute(tx, statement).await?;
            report(
                progress,
                "indexes and foreign keys",
                done as u64 + 1,
                Some(total),
                ProgressUnit::Steps,
            );
        }
        Ok(())
    }
}

async fn execute(tx: &Transaction<'_>, statement: &str) -> Result<()> {
    tx.batch_execute(statement)
        .await
        .map_err(|e| Error::postgres(format!("bulk load: {statement}"), e))
}
