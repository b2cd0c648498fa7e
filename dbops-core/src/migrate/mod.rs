//! Migrations: golang-migrate compatible files, `schema_migrations` table and advisory lock, safe with
//! many replicas migrating at once; each migration and its bookkeeping run in one transaction.

mod conn;
mod create;
#[cfg(feature = "lint")]
pub mod lint;
#[cfg(feature = "lint")]
pub mod plan;
mod runner;
mod source;
/// The statement splitter (moved to [`crate::sql`]; this path keeps working).
pub use crate::sql;
mod state;
#[cfg(feature = "testing")]
mod verify;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

pub use create::{CreateOptions, Numbering, create, create_with};
pub use runner::{
    AppliedMigration, ChecksumPolicy, DEFAULT_LOCK_TIMEOUT, Direction, MigrateOptions,
    MigrateReport, MigrateSettings, MigrationState, MigrationStatus, PlannedStep,
};
pub use source::{Migration, MigrationSource, Script, Strictness, parse_file_name};
pub use state::VersionState;
#[cfg(feature = "testing")]
pub use verify::{
    Rollback, RoundTrip, Scratch, VerifiedMigration, VerifyOptions, VerifyReport, verify,
};

use conn::{Conn, Connector};
use runner::{Runner, checksum_warnings, plan};
use state::StateTables;

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// How far `down` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownSteps {
    /// Roll back this many migrations.
    Count(usize),
    /// Roll back every migration.
    All,
}

/// A migration engine (object-safe). [`PgMigrator`] runs golang-migrate compatible migrations;
/// [`migrate_with`], the startup path, takes any migrator, so a service can wrap one (to log, to
/// take a backup first, to refuse in some environment) or fake one in its tests.
///
/// ```
/// use dbops::migrate::{MigrationStatus, PlannedStep, VersionState};
/// use dbops::{DownSteps, MigrateReport, Migrator};
///
/// /// Refuses to roll back or force in this deployment; migrates up as the inner migrator does.
/// struct ForwardOnly<M>(M);
///
/// #[async_trait::async_trait]
/// impl<M: Migrator> Migrator for ForwardOnly<M> {
///     async fn version(&self) -> dbops::Result<Option<VersionState>> { self.0.version().await }
///     async fn up(&self, target: Option<i64>) -> dbops::Result<MigrateReport> { self.0.up(target).await }
///     async fn down(&self, _: DownSteps) -> dbops::Result<MigrateReport> { Err(refused("down")) }
///     async fn goto(&self, version: i64) -> dbops::Result<MigrateReport> { self.0.up(Some(version)).await }
///     async fn force(&self, _: Option<i64>) -> dbops::Result<()> { Err(refused("force")) }
///     async fn status(&self) -> dbops::Result<Vec<MigrationStatus>> { self.0.status().await }
///     async fn plan_up(&self, t: Option<i64>) -> dbops::Result<Vec<PlannedStep>> { self.0.plan_up(t).await }
/// }
///
/// fn refused(what: &str) -> dbops::Error {
///     dbops::Error::Refused { action: format!("migrate {what}"), reason: "forward only here".into() }
/// }
/// ```
#[async_trait]
pub trait Migrator: Send + Sync {
    /// The recorded version, `None` when nothing is applied.
    async fn version(&self) -> Result<Option<VersionState>>;
    /// Applies pending migrations up to `target` (default: all).
    async fn up(&self, target: Option<i64>) -> Result<MigrateReport>;
    /// Rolls back migrations.
    async fn down(&self, steps: DownSteps) -> Result<MigrateReport>;
    /// Migrates up or down to exactly `version`.
    async fn goto(&self, version: i64) -> Result<MigrateReport>;
    /// Records `version` (`None`: nothing applied) as clean without running anything.
    async fn force(&self, version: Option<i64>) -> Result<()>;
    /// Every migration with its state.
    async fn status(&self) -> Result<Vec<MigrationStatus>>;
    /// The steps `up(target)` would take, without running them.
    async fn plan_up(&self, target: Option<i64>) -> Result<Vec<PlannedStep>>;
}

/// The PostgreSQL migrator; a cheap `Clone` handle.
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use std::time::Duration;
/// use dbops::{MigrateOptions, MigrationSource, Migrator, PgMigrator};
///
/// // Wait at most a minute for another replica's migration lock (default: 15 minutes).
/// let options = MigrateOptions::default().with_lock_wait(Duration::from_secs(60));
/// let migrator = PgMigrator::new(url, MigrationSource::from_dir("migrations")?).options(options);
/// for step in migrator.plan_up(None).await? {
///     println!("pending: {} {}", step.version, step.name);
/// }
/// let report = migrator.up(None).await?; // `None`: every pending migration
/// println!("{:?} -> {:?}", report.from, report.to);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgMigrator {
    connector: Connector,
    source: Arc<MigrationSource>,
    options: Arc<MigrateOptions>,
}

impl PgMigrator {
    /// A migrator that opens its own connection to `url` for each operation.
    pub fn new(url: DatabaseUrl, source: MigrationSource) -> Self {
        Self {
            connector: Connector::Url(url),
            source: Arc::new(source),
            options: Arc::new(MigrateOptions::default()),
        }
    }

    /// A migrator for a private scratch database (a migration check): its sessions ignore the role's
    /// and database's statement, lock and idle timeouts, which guard production, not a check.
    #[cfg(feature = "testing")]
    pub(crate) fn for_scratch(url: DatabaseUrl, source: MigrationSource) -> Self {
        Self {
            connector: Connector::Scratch(url),
            source: Arc::new(source),
            options: Arc::new(MigrateOptions::default()),
        }
    }

    /// A migrator that borrows connections from a service's pool. A connection that held the lock is
    /// discarded (never returned) if an operation fails or is cancelled.
    pub fn with_pool(pool: deadpool_postgres::Pool, source: MigrationSource) -> Self {
        Self {
            connector: Connector::Pool(pool),
            source: Arc::new(source),
            options: Arc::new(MigrateOptions::default()),
        }
    }

    /// Replaces the options.
    pub fn options(mut self, options: MigrateOptions) -> Self {
        self.options = Arc::new(options);
        self
    }

    /// Reports each step to `progress`.
    #[deprecated(note = "set `MigrateOptions::with_progress` and pass the options to `options`")]
    pub fn progress(mut self, progress: Progress) -> Self {
        Arc::make_mut(&mut self.options).progress = Some(progress);
        self
    }

    /// The migrations.
    pub fn source(&self) -> &MigrationSource {
        &self.source
    }

    async fn tables(&self, conn: &Conn) -> Result<StateTables> {
        StateTables::resolve(
            &**conn,
            self.options.schema.as_deref(),
            &self.options.table,
            &self.options.history_table,
        )
        .await
    }

    /// Runs `target(current)` -> plan -> steps under the lock.
    async fn migrate<F>(&self, target: F) -> Result<MigrateReport>
    where
        F: Fn(Option<i64>) -> Result<Option<i64>> + Send + Sync,
    {
        let conn = self.connector.get().await?;
        let tables = self.tables(&conn).await?;

        // Fast path without the lock: nothing to do.
        let current = tables.read(&*conn).await?;
        if let Some(state) = current
            && !state.dirty
            && target(Some(state.version))? == Some(state.version)
        {
            let warnings = self.check_checksums(&conn, &tables, current).await?;
            conn.release();
            return Ok(MigrateReport {
                from: Some(state.version),
                to: Some(state.version),
                warnings,
                ..MigrateReport::default()
            });
        }

        let waited = Instant::now();
        tables.lock(&conn, self.options.lock_wait).await?;
        let lock_wait = waited.elapsed();
        let outcome = self.migrate_locked(&conn, &tables, &target).await;
        match outcome {
            Ok(mut report) => {
                tables.unlock(&conn).await?;
                conn.release();
                report.lock_wait = lock_wait;
                Ok(report)
            }
            Err(error) => {
                // Release now so the next migrator need not wait for the session to end; `conn` is
                // then dropped without release, which closes it (a cancelled future gets the same).
                let _ = conn
                    .batch_execute("ROLLBACK; SELECT pg_advisory_unlock_all()")
                    .await;
                Err(error)
            }
        }
    }

    async fn migrate_locked<F>(
        &self,
        conn: &Conn,
        tables: &StateTables,
        target: &F,
    ) -> Result<MigrateReport>
    where
        F: Fn(Option<i64>) -> Result<Option<i64>> + Send + Sync,
    {
        tables.ensure(&**conn).await?;
        let current = tables.read(&**conn).await?;
        if let Some(state) = current
            && state.dirty
        {
            return Err(dirty_error(state.version));
        }
        let mut warnings: Vec<String> = self.source.warnings().to_vec();
        warnings.extend(self.check_checksums(conn, tables, current).await?);
        let from = current.map(|s| s.version).filter(|v| *v >= 0);
        let goal = target(from)?;
        let steps = plan(&self.source, from, goal)?;
        let server_version = server_version_num(conn).await?;
        #[cfg(feature = "lint")]
        if let Some(guard) = &self.options.risk_guard
            && !steps.is_empty()
        {
            let major = (server_version / 10000) as u32;
            self::plan::enforce(conn, &self.source, &steps, guard, major).await?;
        }
        let runner = Runner {
            client: conn,
            tables,
            source: &self.source,
            options: &self.options,
            progress: self.options.progress.as_ref(),
            server_version,
        };
        let applied = runner.run(&steps).await?;
        let to = steps.last().map_or(from, |s| s.resulting_version);
        Ok(MigrateReport {
            from,
            to,
            applied,
            warnings,
            lock_wait: Default::default(),
        })
    }

    async fn check_checksums(
        &self,
        conn: &Conn,
        tables: &StateTables,
        current: Option<VersionState>,
    ) -> Result<Vec<String>> {
        if self.options.checksums == ChecksumPolicy::Ignore {
            return Ok(Vec::new());
        }
        let recorded = tables.applied_checksums(&**conn).await?;
        let changed = checksum_warnings(&self.source, current, &recorded);
        if let Some((version, file, recorded)) = changed.first()
            && self.options.checksums == ChecksumPolicy::Error
        {
            let current = self
                .source
                .get(*version)
                .map(|m| m.up.checksum.clone())
                .unwrap_or_default();
            return Err(Error::ChecksumMismatch {
                version: *version,
                file: file.clone(),
                reason: format!(
                    "applied with sha256 {recorded}, now {current}; restore the file as applied, or add a new \
                     migration for the change (set checksums to warn to proceed anyway)"
                ),
            });
        }
        Ok(changed
            .into_iter()
            .map(|(version, file, _)| {
                format!("{file}: migration {version} changed after it was applied")
            })
            .collect())
    }

    /// Drops every table, view, sequence, function and type in the migrations schema, including the
    /// state tables. Refuses unless `confirm_database` names the connected database.
    pub async fn drop_everything(&self, confirm_database: &str) -> Result<Vec<String>> {
        let conn = self.connector.get().await?;
        let tables = self.tables(&conn).await?;
        if confirm_database != tables.database {
            return Err(Error::Refused {
                action: format!(
                    "drop everything in schema `{}` of database `{}`",
                    tables.schema, tables.database
                ),
                reason: format!(
                    "the confirmation `{confirm_database}` does not name the connected database; pass `{}` to confirm",
                    tables.database
                ),
            });
        }
        tables.lock(&conn, self.options.lock_wait).await?;
        let rows = conn
            .query(
                "SELECT format('DROP %s IF EXISTS %I.%I CASCADE', kind, nspname, relname), relname FROM (
                   SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                          WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind,
                          n.nspname, c.relname
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
                 ) x",
                &[&tables.schema],
            )
            .await
            .map_err(|e| Error::postgres("listing objects to drop", e))?;
        let mut dropped = Vec::new();
        for row in rows {
            let sql: String = row.get(0);
            conn.batch_execute(&sql)
                .await
                .map_err(|e| Error::postgres(format!("running `{sql}`"), e))?;
            dropped.push(row.get(1));
        }
        let types = conn
            .query(
                "SELECT format('DROP TYPE IF EXISTS %I.%I CASCADE', n.nspname, t.typname), t.typname
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'c') AND NOT EXISTS (
                   SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)",
                &[&tables.schema],
            )
            .await
            .map_err(|e| Error::postgres("listing types to drop", e))?;
        for row in types {
            let sql: String = row.get(0);
            conn.batch_execute(&sql)
                .await
                .map_err(|e| Error::postgres(format!("running `{sql}`"), e))?;
            dropped.push(row.get(1));
        }
        tables.unlock(&conn).await?;
        conn.release();
        Ok(dropped)
    }
}

fn dirty_error(version: i64) -> Error {
    Error::Dirty {
        version,
        reason: format!(
            "a migration to version {version} failed part-way outside a transaction, so some of its statements \
             may be applied. Inspect the schema, finish or undo that migration by hand, then run \
             `dbops migrate force {version}` (if it is now complete) or `dbops migrate force <previous version>` \
             (if undone), and migrate again"
        ),
    }
}

#[async_trait]
impl Migrator for PgMigrator {
    async fn version(&self) -> Result<Option<VersionState>> {
        let conn = self.connector.get().await?;
        let tables = self.tables(&conn).await?;
        let state = tables
            .read(&*conn)
            .await?
            .filter(|s| s.version >= 0 || s.dirty);
        conn.release();
        Ok(state)
    }

    async fn up(&self, target: Option<i64>) -> Result<MigrateReport> {
        let latest = target.or(self.source.latest());
        self.migrate(move |current| {
            Ok(match (current, latest) {
                (Some(c), Some(l)) if c > l && target.is_none() => Some(c),
                (Some(c), Some(t)) if target.is_some() && c > t => {
                    return Err(Error::config(
                        "target version",
                        format!(
                            "the database is at {c}, past {t}; use `down` or `goto {t}` to go back"
                        ),
                    ));
                }
                (_, l) => l.max(current),
            })
        })
        .await
    }

    async fn down(&self, steps: DownSteps) -> Result<MigrateReport> {
        let source = self.source.clone();
        self.migrate(move |current| {
            let Some(current) = current else {
                return Ok(None);
            };
            let applied: Vec<i64> = source
                .migrations()
                .iter()
                .map(|m| m.version)
                .filter(|v| *v <= current)
                .collect();
            Ok(match steps {
                DownSteps::All => None,
                DownSteps::Count(n) if n >= applied.len() => None,
                DownSteps::Count(n) => Some(applied[applied.len() - 1 - n]),
            })
        })
        .await
    }

    async fn goto(&self, version: i64) -> Result<MigrateReport> {
        if self.source.get(version).is_none() {
            return Err(Error::config(
                "target version",
                format!(
                    "no migration has version {version} in {}",
                    self.source.origin()
                ),
            ));
        }
        self.migrate(move |_| Ok(Some(version))).await
    }

    async fn force(&self, version: Option<i64>) -> Result<()> {
        if let Some(v) = version
            && v >= 0
            && self.source.get(v).is_none()
        {
            return Err(Error::config(
                "version",
                format!(
                    "no migration has version {v} in {}; force only versions that exist",
                    self.source.origin()
                ),
            ));
        }
        let conn = self.connector.get().await?;
        let tables = self.tables(&conn).await?;
        tables.lock(&conn, self.options.lock_wait).await?;
        tables.ensure(&*conn).await?;
        let recorded = version.filter(|v| *v >= 0);
        tables.write(&*conn, recorded, false).await?;
        if let Some(m) = recorded.and_then(|v| self.source.get(v)) {
            tables
                .record(
                    &*conn,
                    m.version,
                    &m.name,
                    &m.up.checksum,
                    "force",
                    Default::default(),
                )
                .await?;
        }
        tables.unlock(&conn).await?;
        conn.release();
        Ok(())
    }

    async fn status(&self) -> Result<Vec<MigrationStatus>> {
        let conn = self.connector.get().await?;
        let tables = self.tables(&conn).await?;
        let current = tables.read(&*conn).await?;
        let recorded = tables.applied_checksums(&*conn).await?;
        conn.release();
        let changed: Vec<i64> = checksum_warnings(&self.source, current, &recorded)
            .into_iter()
            .map(|(v, _, _)| v)
            .collect();
        Ok(self
            .source
            .migrations()
            .iter()
            .map(|m| {
                let state = match current {
                    Some(s) if s.dirty && s.version == m.version => MigrationState::Dirty,
                    Some(s) if m.version <= s.version && changed.contains(&m.version) => {
                        MigrationState::Changed
                    }
                    Some(s) if m.version <= s.version => MigrationState::Applied,
                    _ => MigrationState::Pending,
                };
                MigrationStatus {
                    version: m.version,
                    name: m.name.clone(),
                    state,
                    has_down: m.down.is_some(),
                }
            })
            .collect())
    }

    async fn plan_up(&self, target: Option<i64>) -> Result<Vec<PlannedStep>> {
        let current = self.version().await?;
        if let Some(state) = current
            && state.dirty
        {
            return Err(dirty_error(state.version));
        }
        plan(
            &self.source,
            current.map(|s| s.version),
            target
                .or(self.source.latest())
                .max(current.map(|s| s.version)),
        )
    }
}

/// What [`up_steps`] did: the report, and how many of the asked-for migrations were not there.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct StepsReport {
    /// The migrations applied.
    pub report: MigrateReport,
    /// How many fewer migrations were pending than asked for (golang-migrate's "limit N short").
    pub short: usize,
}

/// Applies the next `count` pending migrations (golang-migrate's `up N`): all of them when fewer
/// are pending, with [`StepsReport::short`] saying how many were missing.
pub async fn up_steps(migrator: &dyn Migrator, count: usize) -> Result<StepsReport> {
    if count == 0 {
        return Err(Error::config("count", "apply at least one migration"));
    }
    let pending = migrator.plan_up(None).await?;
    // Nothing pending: `up` is then a no-op that reports the current version.
    let target = pending.get(count.min(pending.len()).wrapping_sub(1));
    let report = migrator.up(target.map(|step| step.version)).await?;
    Ok(StepsReport {
        short: count.saturating_sub(report.applied.len()),
        report,
    })
}

/// Rolls back the last `count` applied migrations (golang-migrate's `down N`), with
/// [`StepsReport::short`] saying how many fewer were applied than asked for.
pub async fn down_steps(migrator: &dyn Migrator, count: usize) -> Result<StepsReport> {
    if count == 0 {
        return Err(Error::config("count", "roll back at least one migration"));
    }
    let report = migrator.down(DownSteps::Count(count)).await?;
    Ok(StepsReport {
        short: count.saturating_sub(report.applied.len()),
        report,
    })
}

/// The server's `server_version_num` (150004 for 15.4).
pub(crate) async fn server_version_num(client: &tokio_postgres::Client) -> Result<i32> {
    Ok(client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| Error::postgres("reading the server version", e))?
        .get(0))
}

/// Migrates a service's database at startup: one call, many replicas at once, a no-op in a few
/// milliseconds when the database is up to date. [`migrate_with`] over a [`PgMigrator`] on the pool.
///
/// ```no_run
/// # async fn demo(pool: dbops::deadpool_postgres::Pool) -> dbops::Result<()> {
/// use dbops::MigrationSource;
///
/// // `pool`: the service's own pool; the migrations borrow one connection from it.
/// let report = dbops::migrate_on_startup(&pool, MigrationSource::from_dir("migrations")?).await?;
/// println!("{} applied, schema at version {:?}", report.applied.len(), report.to);
/// # Ok(()) }
/// ```
pub async fn migrate_on_startup(
    pool: &deadpool_postgres::Pool,
    source: MigrationSource,
) -> Result<MigrateReport> {
    migrate_with(&PgMigrator::with_pool(pool.clone(), source)).await
}

/// The startup path over any [`Migrator`]: applies what is pending and logs what it did (the
/// migrations applied and how long the lock was waited for, or that the database was up to date).
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use std::time::Duration;
/// use dbops::{MigrateOptions, MigrationSource, PgMigrator};
///
/// // A migrator with its own connection (not the service's pool) and a statement timeout.
/// let options = MigrateOptions::default().with_statement_timeout(Duration::from_secs(300));
/// let migrator = PgMigrator::new(url, MigrationSource::from_dir("migrations")?).options(options);
/// let report = dbops::migrate_with(&migrator).await?; // any `Migrator`, e.g. a wrapper
/// println!("schema at version {:?}", report.to);
/// # Ok(()) }
/// ```
#[tracing::instrument(name = "migrate.startup", skip_all)]
pub async fn migrate_with(migrator: &dyn Migrator) -> Result<MigrateReport> {
    let report = migrator.up(None).await?;
    if report.applied.is_empty() {
        tracing::info!(version = ?report.to, "migrations up to date");
    } else {
        tracing::info!(
            from = ?report.from,
            to = ?report.to,
            applied = report.applied.len(),
            lock_wait_ms = report.lock_wait.as_millis() as u64,
            "migrations applied"
        );
    }
    for warning in &report.warnings {
        tracing::warn!(%warning, "migration warning");
    }
    Ok(report)
}
