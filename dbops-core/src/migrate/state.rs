//! Migration state exactly as golang-migrate keeps it (`schema_migrations(version bigint primary key,
//! dirty boolean not null)`, one row), our history table for drift detection, and golang-migrate's
//! advisory lock.

use std::time::Duration;

use tokio_postgres::{Client, GenericClient};

use crate::config::{quote_ident, quote_literal};
use crate::error::{Error, Result};

/// golang-migrate's salt for advisory lock ids (`database/util.go`).
const ADVISORY_LOCK_SALT: u32 = 1_486_364_155;

/// The version recorded in `schema_migrations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VersionState {
    /// The last applied version (what golang-migrate calls the current version).
    pub version: i64,
    /// Whether a migration to `version` failed half-way outside a transaction.
    pub dirty: bool,
}

/// Where the state lives.
#[derive(Debug, Clone)]
pub(crate) struct StateTables {
    /// Schema holding both tables (the connection's `current_schema()` unless configured).
    pub schema: String,
    /// golang-migrate's table (default `schema_migrations`).
    pub table: String,
    /// dbops' history table (default `dbops_migration_history`).
    pub history: String,
    /// `current_database()`.
    pub database: String,
}

impl StateTables {
    /// Resolves the schema and database names on `client`.
    pub async fn resolve(
        client: &impl GenericClient,
        schema: Option<&str>,
        table: &str,
        history: &str,
    ) -> Result<Self> {
        let row = client
            .query_one(
                "SELECT current_database()::text, current_schema()::text",
                &[],
            )
            .await
            .map_err(|e| Error::postgres("reading the current database and schema", e))?;
        let current: Option<String> = row.get(1);
        let schema = match schema {
            Some(s) => s.to_string(),
            None => current.ok_or_else(|| {
                Error::config(
                    "migrations schema",
                    "the connection has no current schema (empty search_path); set the schema explicitly",
                )
            })?,
        };
        Ok(Self {
            schema,
            table: table.to_string(),
            history: history.to_string(),
            database: row.get(0),
        })
    }

    /// golang-migrate's advisory lock id: CRC-32 (IEEE) of `schema \0 table \0 database` times its salt,
    /// as an unsigned 32-bit number.
    pub fn lock_id(&self) -> i64 {
        let key = format!("{}\0{}\0{}", self.schema, self.table, self.database);
        i64::from(crc32fast::hash(key.as_bytes()).wrapping_mul(ADVISORY_LOCK_SALT))
    }

    fn table_ident(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }

    fn history_ident(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.schema),
            quote_ident(&self.history)
        )
    }

    /// Creates both tables if missing (golang-migrate's DDL for its table).
    pub async fn ensure(&self, client: &impl GenericClient) -> Result<()> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
             CREATE TABLE IF NOT EXISTS {} (
                id bigserial PRIMARY KEY,
                version bigint NOT NULL,
                name text NOT NULL,
                checksum text NOT NULL,
                direction text NOT NULL CHECK (direction IN ('up', 'down', 'force')),
                applied_at timestamptz NOT NULL DEFAULT now(),
                duration_ms bigint NOT NULL,
                applied_by text NOT NULL)",
            self.table_ident(),
            self.history_ident()
        );
        client.batch_execute(&sql).await.map_err(|e| {
            Error::postgres(
                format!("creating the migration tables in schema `{}`", self.schema),
                e,
            )
        })
    }

    /// Whether golang-migrate's table exists (without creating it).
    pub async fn exists(&self, client: &impl GenericClient) -> Result<bool> {
        let row = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.table_ident()])
            .await
            .map_err(|e| Error::postgres("looking for the migrations table", e))?;
        Ok(row.get(0))
    }

    /// The recorded version, `None` when nothing is applied.
    pub async fn read(&self, client: &impl GenericClient) -> Result<Option<VersionState>> {
        if !self.exists(client).await? {
            return Ok(None);
        }
        let row = client
            .query_opt(
                &format!("SELECT version, dirty FROM {} LIMIT 1", self.table_ident()),
                &[],
            )
            .await
            .map_err(|e| Error::postgres(format!("reading {}", self.table), e))?;
        Ok(row.map(|r| VersionState {
            version: r.get(0),
            dirty: r.get(1),
        }))
    }

    /// Records `version` as golang-migrate does: empty the table, insert one row (none for `None`).
    /// (`DELETE`, not golang-migrate's `TRUNCATE`: the same rows, without a new relation file per
    /// migration, and readers keep seeing the old version until commit instead of blocking.)
    pub async fn write(
        &self,
        client: &impl GenericClient,
        version: Option<i64>,
        dirty: bool,
    ) -> Result<()> {
        let mut sql = format!("DELETE FROM {};", self.table_ident());
        if let Some(v) = version {
            sql.push_str(&format!(
                "INSERT INTO {} (version, dirty) VALUES ({v}, {dirty});",
                self.table_ident()
            ));
        }
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| Error::postgres(format!("recording migration version {version:?}"), e))
    }

    /// SQL that records `version` (as [`StateTables::write`]) and appends a history record, for
    /// sending in the same round trip as the transaction's COMMIT.
    #[allow(clippy::too_many_arguments)]
    pub fn bookkeeping_sql(
        &self,
        version: Option<i64>,
        migration: i64,
        name: &str,
        checksum: &str,
        direction: &str,
        duration: Duration,
    ) -> String {
        let mut sql = format!("DELETE FROM {};", self.table_ident());
        if let Some(v) = version {
            sql.push_str(&format!(
                "INSERT INTO {} (version, dirty) VALUES ({v}, false);",
                self.table_ident()
            ));
        }
        sql.push_str(&format!(
            "INSERT INTO {} (version, name, checksum, direction, duration_ms, applied_by)
             VALUES ({migration}, {}, {}, {}, {}, current_user || ' via dbops ' || {} || ' on ' || {});",
            self.history_ident(),
            quote_literal(name),
            quote_literal(checksum),
            quote_literal(direction),
            duration.as_millis() as i64,
            quote_literal(env!("CARGO_PKG_VERSION")),
            quote_literal(&applied_from())
        ));
        sql
    }

    /// Appends a history record.
    pub async fn record(
        &self,
        client: &impl GenericClient,
        version: i64,
        name: &str,
        checksum: &str,
        direction: &str,
        duration: Duration,
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, direction, duration_ms, applied_by)
             VALUES ($1, $2, $3, $4, $5, current_user || ' via dbops ' || {} || ' on ' || {})",
            self.history_ident(),
            quote_literal(env!("CARGO_PKG_VERSION")),
            quote_literal(&applied_from())
        );
        let ms = duration.as_millis() as i64;
        client
            .execute(&sql, &[&version, &name, &checksum, &direction, &ms])
            .await
            .map_err(|e| {
                Error::postgres(format!("recording migration {version} in the history"), e)
            })?;
        Ok(())
    }

    /// For each version whose latest history record is an `up`, its checksum.
    pub async fn applied_checksums(
        &self,
        client: &impl GenericClient,
    ) -> Result<Vec<(i64, String, String)>> {
        let exists: bool = client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&self.history_ident()],
            )
            .await
            .map_err(|e| Error::postgres("looking for the migration history", e))?
            .get(0);
        if !exists {
            return Ok(Vec::new());
        }
        let rows = client
            .query(
                &format!(
                    "SELECT DISTINCT ON (version) version, name, checksum, direction FROM {}
                     WHERE direction IN ('up', 'down') ORDER BY version, id DESC",
                    self.history_ident()
                ),
                &[],
            )
            .await
            .map_err(|e| Error::postgres("reading the migration history", e))?;
        Ok(rows
            .into_iter()
            .filter(|r| r.get::<_, String>(3) == "up")
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Takes golang-migrate's advisory lock on `client`, waiting at most `timeout`. The lock belongs to
    /// the session: closing the connection releases it.
    ///
    /// Waiters poll with `pg_try_advisory_lock` instead of blocking in `pg_advisory_lock`: a blocked
    /// waiter sits in an open transaction, and `CREATE INDEX CONCURRENTLY` in the holder's migration
    /// waits for every open transaction to finish, a deadlock that golang-migrate fleets run into.
    pub async fn lock(&self, client: &Client, timeout: Duration) -> Result<()> {
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let locked: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&self.lock_id()])
                .await
                .map_err(|e| Error::postgres("taking the migration lock", e))?
                .get(0);
            if locked {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(Error::Timeout {
                    action: format!(
                        "waiting for the migration lock of {}.{} (another migrator holds it; see pg_locks where \
                         locktype = 'advisory' and objid = {})",
                        self.schema,
                        self.table,
                        self.lock_id()
                    ),
                    elapsed: started.elapsed(),
                });
            }
            let jitter = Duration::from_millis((uuid::Uuid::new_v4().as_u128() % 20) as u64);
            tokio::time::sleep(pause + jitter).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Releases the advisory lock.
    pub async fn unlock(&self, client: &Client) -> Result<()> {
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&self.lock_id()])
            .await
            .map_err(|e| Error::postgres("releasing the migration lock", e))?;
        Ok(())
    }
}

fn applied_from() -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown host".into());
    format!("{host} (pid {})", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_id_matches_golang_migrate() {
        // golang-migrate: GenerateAdvisoryLockId("db", "public", "schema_migrations") joins
        // ["public", "schema_migrations", "db"] with NUL, CRC-32 IEEE, times 1486364155 (uint32).
        // Reference values computed independently (Python zlib.crc32 * 1486364155 mod 2^32).
        let tables = |database: &str| StateTables {
            schema: "public".into(),
            table: "schema_migrations".into(),
            history: "h".into(),
            database: database.into(),
        };
        assert_eq!(tables("db").lock_id(), 3_256_993_429);
        assert_eq!(tables("ridehailing").lock_id(), 2_196_464_482);
        let tables = tables("db");
        assert!(tables.lock_id() >= 0 && tables.lock_id() <= i64::from(u32::MAX));
    }
}
