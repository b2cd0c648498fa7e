//! Applying migrations: plans, the per-migration transaction, non-transactional statements with the
//! dirty flag, lock timeouts with retry, and the reports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;
use tokio_postgres::error::{ErrorPosition, SqlState};

use super::source::{Migration, MigrationSource, Script};
use super::state::{StateTables, VersionState};
use crate::error::{Error, Result};
use crate::progress::{Progress, ProgressUnit, report};
use crate::sql::{self, TxRequirement};

/// Which way a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Apply.
    Up,
    /// Roll back.
    Down,
}

/// What to do when an applied migration's file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumPolicy {
    /// Report it in [`MigrateReport::warnings`] (default).
    #[default]
    Warn,
    /// Refuse to migrate.
    Error,
    /// Do not compare.
    Ignore,
}

/// The default `lock_timeout` of migration statements.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// Options of a [`super::PgMigrator`]. Defaults are golang-migrate's where it has one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MigrateOptions {
    /// Schema of the state tables. Default: the connection's `current_schema()` (usually `public`).
    pub schema: Option<String>,
    /// golang-migrate's table. Default: `schema_migrations`.
    pub table: String,
    /// dbops' history table. Default: `dbops_migration_history`.
    pub history_table: String,
    /// How long to wait for another migrator's lock. Default: 15 minutes.
    pub lock_wait: Duration,
    /// `lock_timeout` for migration statements, so a statement waiting for a table lock never
    /// queues the table's traffic behind it for longer; a transactional migration that times out
    /// is rolled back and retried with backoff. `CONCURRENTLY` statements run without it (their
    /// waits hold no traffic up, and a cancelled one leaves an invalid index). `None`: wait as long
    /// as it takes. Default: 2 s.
    pub lock_timeout: Option<Duration>,
    /// Retries after a lock timeout. Default: 5 (waits 1, 2, 4, 8, 16 s: about 40 s in all with a
    /// 2 s lock_timeout before the migration gives up).
    pub lock_retries: u32,
    /// `statement_timeout` for migration statements. Default: none.
    pub statement_timeout: Option<Duration>,
    /// Changed files of applied migrations. Default: warn.
    pub checksums: ChecksumPolicy,
    /// Reports each step (not serialized). Default: none.
    #[serde(skip)]
    pub progress: Option<Progress>,
    /// Refuses or delays risky steps (feature `lint`; [`MigrateOptions::with_risk_guard`]).
    #[cfg(feature = "lint")]
    #[serde(skip)]
    pub(crate) risk_guard: Option<super::plan::RiskGuard>,
}

#[cfg(feature = "lint")]
#[cfg_attr(docsrs, doc(cfg(feature = "lint")))]
impl MigrateOptions {
    /// Plans the pending steps against the live database before applying them, refusing those
    /// that would block traffic too long and waiting for sessions in the way (see
    /// [`super::plan::RiskGuard`]). Default: none.
    #[must_use]
    pub fn with_risk_guard(mut self, guard: impl Into<Option<super::plan::RiskGuard>>) -> Self {
        self.risk_guard = guard.into();
        self
    }

    /// The risk guard, if any.
    pub fn risk_guard(&self) -> Option<&super::plan::RiskGuard> {
        self.risk_guard.as_ref()
    }
}

crate::setters::with_setters!(MigrateOptions {
    with_schema => schema: opt String,
    with_table => table: into String,
    with_history_table => history_table: into String,
    with_lock_wait => lock_wait: Duration,
    with_lock_timeout => lock_timeout: opt Duration,
    with_lock_retries => lock_retries: u32,
    with_statement_timeout => statement_timeout: opt Duration,
    with_checksums => checksums: ChecksumPolicy,
    with_progress => progress: opt Progress,
});

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            schema: None,
            table: "schema_migrations".into(),
            history_table: "dbops_migration_history".into(),
            lock_wait: Duration::from_secs(15 * 60),
            lock_timeout: Some(DEFAULT_LOCK_TIMEOUT),
            lock_retries: 5,
            statement_timeout: None,
            checksums: ChecksumPolicy::Warn,
            progress: None,
            #[cfg(feature = "lint")]
            risk_guard: None,
        }
    }
}

/// Migration options as people give them (the CLI's flags, Python's arguments): timeouts in seconds,
/// one `strict` switch. [`Self::options`] checks and converts them; unset fields take
/// [`MigrateOptions::default`]'s values.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MigrateSettings {
    /// Schema of the state tables. Default: the connection's current schema.
    pub schema: Option<String>,
    /// golang-migrate's table. Default: `schema_migrations`.
    pub table: Option<String>,
    /// `lock_timeout` of migration statements, in seconds; 0 waits as long as it takes. Default: 2.
    pub lock_timeout_secs: Option<f64>,
    /// `statement_timeout` of migration statements, in seconds. Default: none.
    pub statement_timeout_secs: Option<f64>,
    /// Strict: changed applied files are errors ([`ChecksumPolicy::Error`]) and so are problems
    /// golang-migrate tolerates in the files ([`super::Strictness::Strict`]). Default: false.
    pub strict: bool,
    /// Turns the risk guard on (feature `lint`): steps that would block traffic for longer than
    /// this many seconds at the tables' current size are refused. Default: no guard.
    pub max_blocking_secs: Option<f64>,
    /// With the guard on: seconds to wait for sessions holding conflicting locks. Default: 30.
    pub wait_for_sessions_secs: Option<f64>,
    /// With the guard on: refuse, rather than migrate, when sessions are still in the way after
    /// the wait. Default: false.
    pub refuse_when_waiting: bool,
}

crate::setters::with_setters!(MigrateSettings {
    with_schema => schema: opt String,
    with_table => table: opt String,
    with_lock_timeout_secs => lock_timeout_secs: opt f64,
    with_statement_timeout_secs => statement_timeout_secs: opt f64,
    with_strict => strict: bool,
    with_max_blocking_secs => max_blocking_secs: opt f64,
    with_wait_for_sessions_secs => wait_for_sessions_secs: opt f64,
    with_refuse_when_waiting => refuse_when_waiting: bool,
});

impl MigrateSettings {
    /// The checked options.
    pub fn options(&self) -> crate::error::Result<MigrateOptions> {
        use crate::config::{TimeUnit, duration_from};
        let seconds = |what: &str, value: Option<f64>| {
            value
                .map(|v| duration_from(what, v, TimeUnit::Seconds))
                .transpose()
        };
        let defaults = MigrateOptions::default();
        let options = MigrateOptions {
            schema: self.schema.clone(),
            table: self.table.clone().unwrap_or(defaults.table.clone()),
            lock_timeout: match seconds("lock timeout", self.lock_timeout_secs)? {
                None => defaults.lock_timeout,
                Some(Duration::ZERO) => None,
                Some(timeout) => Some(timeout),
            },
            statement_timeout: seconds("statement timeout", self.statement_timeout_secs)?,
            checksums: if self.strict {
                ChecksumPolicy::Error
            } else {
                ChecksumPolicy::Warn
            },
            ..defaults
        };
        self.with_guard(options)
    }

    /// Whether any risk guard setting is given.
    fn guarded(&self) -> bool {
        self.max_blocking_secs.is_some()
            || self.wait_for_sessions_secs.is_some()
            || self.refuse_when_waiting
    }

    #[cfg(feature = "lint")]
    fn with_guard(&self, options: MigrateOptions) -> crate::error::Result<MigrateOptions> {
        use crate::config::{TimeUnit, duration_from};
        if !self.guarded() {
            return Ok(options);
        }
        let mut guard =
            super::plan::RiskGuard::default().with_refuse_when_waiting(self.refuse_when_waiting);
        if let Some(secs) = self.max_blocking_secs {
            guard =
                guard.with_max_blocking(duration_from("max blocking", secs, TimeUnit::Seconds)?);
        }
        if let Some(secs) = self.wait_for_sessions_secs {
            guard = guard.with_wait_for_sessions(duration_from(
                "wait for sessions",
                secs,
                TimeUnit::Seconds,
            )?);
        }
        Ok(options.with_risk_guard(guard))
    }

    #[cfg(not(feature = "lint"))]
    fn with_guard(&self, options: MigrateOptions) -> crate::error::Result<MigrateOptions> {
        if self.guarded() {
            return Err(Error::config(
                "max_blocking_secs",
                "the risk guard plans migrations with the SQL parser of the `lint` feature; build dbops with `--features lint` or leave the guard settings unset",
            ));
        }
        Ok(options)
    }

    /// How strictly the migration files are validated.
    pub fn strictness(&self) -> super::Strictness {
        if self.strict {
            super::Strictness::Strict
        } else {
            super::Strictness::Lenient
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// The migration's version.
    pub version: i64,
    /// Its description.
    pub name: String,
    /// Up or down.
    pub direction: Direction,
    /// The version recorded after this step (`None`: nothing applied).
    pub resulting_version: Option<i64>,
}

/// One applied step.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedMigration {
    /// The migration's version.
    pub version: i64,
    /// Its description.
    pub name: String,
    /// Up or down.
    pub direction: Direction,
    /// Whether it ran in one transaction with its bookkeeping.
    pub transactional: bool,
    /// How long it took.
    #[serde(with = "millis")]
    pub duration: Duration,
}

/// What an operation did.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct MigrateReport {
    /// Version before (`None`: nothing applied).
    pub from: Option<i64>,
    /// Version after.
    pub to: Option<i64>,
    /// The steps applied, in order (empty: already up to date).
    pub applied: Vec<AppliedMigration>,
    /// Problems worth knowing (changed files, missing down files, ...).
    pub warnings: Vec<String>,
    /// Time spent waiting for another migrator's lock.
    #[serde(with = "millis")]
    pub lock_wait: Duration,
}

crate::setters::with_setters!(MigrateReport {
    with_from => from: opt i64,
    with_to => to: opt i64,
    with_applied => applied: Vec<AppliedMigration>,
    with_warnings => warnings: Vec<String>,
    with_lock_wait => lock_wait: Duration,
});

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64() * 1000.0)
    }
}

/// State of one migration relative to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    /// Applied, file unchanged (or no history to compare).
    Applied,
    /// Applied, but its file changed since.
    Changed,
    /// Not applied yet.
    Pending,
    /// The version the database is dirty at.
    Dirty,
}

/// One line of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationStatus {
    /// Version.
    pub version: i64,
    /// Description.
    pub name: String,
    /// State.
    pub state: MigrationState,
    /// Whether a down file exists.
    pub has_down: bool,
}

/// Plans the steps from `current` to `target` (both `None` = nothing applied).
pub(crate) fn plan(
    source: &MigrationSource,
    current: Option<i64>,
    target: Option<i64>,
) -> Result<Vec<PlannedStep>> {
    let migrations = source.migrations();
    if let Some(t) = target
        && source.get(t).is_none()
    {
        return Err(Error::config(
            "target version",
            format!("no migration has version {t} in {}", source.origin()),
        ));
    }
    if let Some(c) = current
        && c >= 0
        && source.get(c).is_none()
        && target.is_none_or(|t| t < c)
    {
        return Err(Error::MigrationSource {
            path: source.origin().to_string(),
            reason: format!(
                "the database is at version {c}, which has no file here; are these the right migrations?"
            ),
        });
    }
    let cur = current.unwrap_or(i64::MIN);
    let tgt = target.unwrap_or(i64::MIN);
    let mut steps = Vec::new();
    if tgt > cur {
        for m in migrations
            .iter()
            .filter(|m| m.version > cur && m.version <= tgt)
        {
            steps.push(PlannedStep {
                version: m.version,
                name: m.name.clone(),
                direction: Direction::Up,
                resulting_version: Some(m.version),
            });
        }
    } else if tgt < cur {
        let applied: Vec<&Migration> = migrations
            .iter()
            .filter(|m| m.version <= cur && m.version > tgt)
            .collect();
        for m in applied.iter().rev() {
            let previous = migrations
                .iter()
                .rev()
                .find(|p| p.version < m.version)
                .map(|p| p.version);
            steps.push(PlannedStep {
                version: m.version,
                name: m.name.clone(),
                direction: Direction::Down,
                resulting_version: previous,
            });
        }
    }
    Ok(steps)
}

/// Session settings of a migrator.
pub(crate) struct Runner<'a> {
    pub client: &'a Client,
    pub tables: &'a StateTables,
    pub source: &'a Arc<MigrationSource>,
    pub options: &'a MigrateOptions,
    pub progress: Option<&'a Progress>,
    pub server_version: i32,
}

impl Runner<'_> {
    /// Runs the planned steps in order.
    pub async fn run(&self, steps: &[PlannedStep]) -> Result<Vec<AppliedMigration>> {
        let mut applied = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let stage =
                format!("{:?} {} {}", step.direction, step.version, step.name).to_lowercase();
            report(
                self.progress,
                &stage,
                i as u64,
                Some(steps.len() as u64),
                ProgressUnit::Steps,
            );
            let migration =
                self.source
                    .get(step.version)
                    .ok_or_else(|| Error::MigrationSource {
                        path: self.source.origin().to_string(),
                        reason: format!("migration {} disappeared from the source", step.version),
                    })?;
            applied.push(self.apply(migration, step).await?);
        }
        report(
            self.progress,
            "done",
            steps.len() as u64,
            Some(steps.len() as u64),
            ProgressUnit::Steps,
        );
        Ok(applied)
    }

    async fn apply(&self, m: &Migration, step: &PlannedStep) -> Result<AppliedMigration> {
        let script = match step.direction {
            Direction::Up => &m.up,
            Direction::Down => m.down.as_ref().ok_or_else(|| Error::MigrationSource {
                path: format!("{}/{}", self.source.origin(), m.up.file),
                reason: format!(
                    "migration {} has no down file, so it cannot be rolled back; write {}",
                    m.version,
                    m.up.file.replace(".up.sql", ".down.sql")
                ),
            })?,
        };
        let statements = sql::split(&script.sql);
        let transactional = !sql::has_no_transaction_directive(&script.sql)
            && statements
                .iter()
                .all(|s| match sql::tx_requirement(&s.sql) {
                    TxRequirement::Any => true,
                    TxRequirement::NoTransactionBefore12 => self.server_version >= 120000,
                    TxRequirement::NoTransaction | TxRequirement::TransactionControl => false,
                });
        let started = Instant::now();
        if transactional {
            self.apply_in_transaction(m, script, &statements, step, started)
                .await?;
        } else {
            self.apply_outside_transaction(m, script, &statements, step, started)
                .await?;
        }
        let duration = started.elapsed();
        tracing::info!(version = m.version, name = %m.name, direction = ?step.direction, ?duration, "migration applied");
        Ok(AppliedMigration {
            version: m.version,
            name: m.name.clone(),
            direction: step.direction,
            transactional,
            duration,
        })
    }

    fn settings(&self, scope: &str) -> String {
        let mut sql = String::new();
        if let Some(t) = self.options.lock_timeout {
            sql.push_str(&format!(
                "SET {scope} lock_timeout = '{}ms';",
                t.as_millis().max(1)
            ));
        }
        if let Some(t) = self.options.statement_timeout {
            sql.push_str(&format!(
                "SET {scope} statement_timeout = '{}ms';",
                t.as_millis().max(1)
            ));
        }
        sql
    }

    async fn exec(&self, sql: &str, context: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| Error::postgres(context.to_string(), e))
    }

    async fn apply_in_transaction(
        &self,
        m: &Migration,
        script: &Script,
        statements: &[sql::Statement],
        step: &PlannedStep,
        started: Instant,
    ) -> Result<()> {
        // The whole script goes in one round trip; only when it fails is it replayed statement by
        // statement (and rolled back) to name the failing line.
        let mut batch = format!("BEGIN;{}", self.settings("LOCAL"));
        for statement in statements {
            batch.push_str(&statement.sql);
            batch.push_str(";\n");
        }
        let direction = if step.direction == Direction::Up {
            "up"
        } else {
            "down"
        };
        let mut attempt = 0;
        loop {
            if let Err(error) = self.client.batch_execute(&batch).await {
                let _ = self.client.batch_execute("ROLLBACK").await;
                if error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
                    && attempt < self.options.lock_retries
                {
                    let wait = Duration::from_secs(1 << attempt.min(6));
                    tracing::warn!(
                        version = m.version,
                        attempt,
                        ?wait,
                        "lock timeout; retrying the migration"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                let timed_out = error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE);
                let failed = self.diagnose(m, script, statements, step, error).await;
                if timed_out {
                    return Err(self.lock_timeout_explained(failed, attempt + 1).await);
                }
                return Err(failed);
            }
            let mut finish = self.tables.bookkeeping_sql(
                step.resulting_version,
                m.version,
                &m.name,
                &script.checksum,
                direction,
                started.elapsed(),
            );
            finish.push_str("COMMIT;");
            if crate::failpoint::failpoint("migrate::before_commit").is_err() {
                finish.insert_str(0, &injected_sql_fault("migrate::before_commit"));
            }
            if let Err(error) = self.client.batch_execute(&finish).await {
                let _ = self.client.batch_execute("ROLLBACK").await;
                return Err(Error::postgres(
                    format!(
                        "recording migration {} and committing (rolled back: nothing was changed; \
                         run the migrations again)",
                        m.version
                    ),
                    error,
                ));
            }
            return Ok(());
        }
    }

    /// Adds to a migration that kept timing out on a lock how often it tried and which sessions
    /// have the oldest open transactions (the usual holders of the lock).
    async fn lock_timeout_explained(&self, failed: Error, attempts: u32) -> Error {
        let Error::MigrationFailed {
            version,
            file,
            line,
            statement,
            message,
            mut after,
            source,
        } = failed
        else {
            return failed;
        };
        let timeout = self.options.lock_timeout.unwrap_or_default();
        after.push_str(&format!(
            "\n  it waited at most {} ms for the lock in each of {attempts} attempts, so the table's \
             traffic never queued behind it for longer; the oldest open transactions, the usual \
             holders of the lock:",
            timeout.as_millis()
        ));
        let oldest = self
            .client
            .query(
                "SELECT pid, coalesce(state, ''), extract(epoch FROM now() - xact_start)::float8, \
                        left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 80) \
                 FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() \
                   AND backend_type = 'client backend' ORDER BY xact_start LIMIT 3",
                &[],
            )
            .await
            .unwrap_or_default();
        for row in &oldest {
            let secs: f64 = row.get(2);
            after.push_str(&format!(
                "\n    pid {} ({}, open {secs:.0} s): {}",
                row.get::<_, i32>(0),
                row.get::<_, String>(1),
                row.get::<_, String>(3)
            ));
        }
        after.push_str(
            "\n  end those sessions (pg_terminate_backend(pid)) or migrate again when they are done",
        );
        Error::MigrationFailed {
            version,
            file,
            line,
            statement,
            message,
            after,
            source,
        }
    }

    /// Replays a failed transactional script statement by statement inside a transaction that is
    /// rolled back, to report the exact failing statement and line.
    async fn diagnose(
        &self,
        m: &Migration,
        script: &Script,
        statements: &[sql::Statement],
        step: &PlannedStep,
        original: tokio_postgres::Error,
    ) -> Error {
        let replay = async {
            self.exec("BEGIN", "replaying the failed migration").await?;
            self.exec(
                &self.settings("LOCAL"),
                "applying lock_timeout/statement_timeout",
            )
            .await?;
            self.run_statements(m, script, statements, step, true).await
        }
        .await;
        let _ = self.client.batch_execute("ROLLBACK").await;
        match replay {
            Err(error) => error,
            // Not reproducible statement by statement: report the batch's error at the first line.
            Ok(()) => {
                let first = statements.first().cloned().unwrap_or(sql::Statement {
                    sql: String::new(),
                    line: 1,
                });
                let (message, line) = describe(&original, &first);
                Error::MigrationFailed {
                    version: m.version,
                    file: script.file.clone(),
                    line,
                    statement: shorten(&first.sql),
                    message,
                    after: format!(
                        "\n  nothing was changed: the migration ran in one transaction that was rolled back; fix {} and run it again",
                        script.file
                    ),
                    source: original,
                }
            }
        }
    }

    async fn apply_outside_transaction(
        &self,
        m: &Migration,
        script: &Script,
        statements: &[sql::Statement],
        step: &PlannedStep,
        started: Instant,
    ) -> Result<()> {
        // golang-migrate marks the version being moved to dirty while the migration runs.
        let dirty_version = step.resulting_version.unwrap_or(-1);
        self.tables
            .write(self.client, Some(dirty_version), true)
            .await?;
        self.exec(
            &self.settings("SESSION"),
            "applying lock_timeout/statement_timeout",
        )
        .await?;
        self.run_statements(m, script, statements, step, false)
            .await?;
        self.exec(
            "RESET lock_timeout; RESET statement_timeout",
            "resetting timeouts",
        )
        .await?;
        self.tables
            .write(self.client, step.resulting_version, false)
            .await?;
        let direction = if step.direction == Direction::Up {
            "up"
        } else {
            "down"
        };
        self.tables
            .record(
                self.client,
                m.version,
                &m.name,
                &script.checksum,
                direction,
                started.elapsed(),
            )
            .await
    }

    async fn run_statements(
        &self,
        m: &Migration,
        script: &Script,
        statements: &[sql::Statement],
        step: &PlannedStep,
        transactional: bool,
    ) -> Result<()> {
        for (index, statement) in statements.iter().enumerate() {
            // Failpoint: this statement fails (through the real error path) after the first one ran.
            let injected =
                index > 0 && crate::failpoint::failpoint("migrate::between_statements").is_err();
            let fault;
            let sql = if injected {
                fault = injected_sql_fault("migrate::between_statements");
                fault.as_str()
            } else {
                statement.sql.as_str()
            };
            if let Err(source) = self.execute(sql, transactional).await? {
                let (message, line) = describe(&source, statement);
                return Err(Error::MigrationFailed {
                    version: m.version,
                    file: script.file.clone(),
                    line,
                    statement: shorten(&statement.sql),
                    message,
                    after: self.failure_state(m, script, step, transactional, index),
                    source,
                });
            }
        }
        Ok(())
    }

    /// Runs one statement. CONCURRENTLY outside a transaction runs without lock_timeout: its waits
    /// hold no traffic up, and a cancelled build leaves an invalid index behind.
    async fn execute(
        &self,
        sql: &str,
        transactional: bool,
    ) -> Result<std::result::Result<(), tokio_postgres::Error>> {
        let unbounded = !transactional
            && self.options.lock_timeout.is_some()
            && sql::head_words(sql, 8).iter().any(|w| w == "CONCURRENTLY");
        if unbounded {
            self.exec(
                "SET lock_timeout = 0",
                "lifting lock_timeout for CONCURRENTLY",
            )
            .await?;
        }
        let outcome = self.client.batch_execute(sql).await;
        if unbounded {
            self.exec(&self.settings("SESSION"), "restoring lock_timeout")
                .await?;
        }
        Ok(outcome)
    }

    /// What state a failed statement left the database in, and how to recover.
    fn failure_state(
        &self,
        m: &Migration,
        script: &Script,
        step: &PlannedStep,
        transactional: bool,
        index: usize,
    ) -> String {
        if transactional {
            return format!(
                "\n  nothing was changed: the migration ran in one transaction that was rolled back; fix {} and run it again",
                script.file
            );
        }
        let before = step
            .resulting_version
            .map_or("nothing applied".to_string(), |v| v.to_string());
        let dirty = step.resulting_version.unwrap_or(-1);
        let (finished, undone) = if step.direction == Direction::Up {
            let previous = self
                .source
                .migrations()
                .iter()
                .rev()
                .find(|p| p.version < m.version)
                .map_or("-1".to_string(), |p| p.version.to_string());
            (m.version.to_string(), previous)
        } else {
            (before, m.version.to_string())
        };
        format!(
            "\n  this migration runs outside a transaction, so the {index} statement(s) before this one stay applied \
             and the database is marked dirty at version {dirty}.\n  to recover: finish or undo those statements by hand, \
             then `dbops migrate force {finished}` (finished) or `dbops migrate force {undone}` (undone), then migrate again"
        )
    }
}

/// What a failpoint configured with `return` runs instead of a migration statement or its bookkeeping,
/// so the injected failure takes the real error path.
fn injected_sql_fault(point: &str) -> String {
    format!("DO $$BEGIN RAISE EXCEPTION 'injected fault at failpoint `{point}`'; END$$;")
}

/// PostgreSQL's message with detail, hint and position, and the file line of the error.
fn describe(error: &tokio_postgres::Error, statement: &sql::Statement) -> (String, usize) {
    let Some(db) = error.as_db_error() else {
        return (error.to_string(), statement.line);
    };
    let mut message = format!("{} ({})", db.message(), db.code().code());
    if let Some(detail) = db.detail() {
        message.push_str(&format!("\n  detail: {detail}"));
    }
    if let Some(hint) = db.hint() {
        message.push_str(&format!("\n  hint: {hint}"));
    }
    let mut line = statement.line;
    if let Some(ErrorPosition::Original(pos)) = db.position() {
        let chars: String = statement
            .sql
            .chars()
            .take((*pos as usize).saturating_sub(1))
            .collect();
        line += chars.matches('\n').count();
        let column = chars.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        message.push_str(&format!("\n  at line {line}, column {column}"));
    }
    (message, line)
}

fn shorten(sql: &str) -> String {
    let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 200 {
        format!("{}...", one_line.chars().take(200).collect::<String>())
    } else {
        one_line
    }
}

/// Compares applied migrations' recorded checksums with the files.
pub(crate) fn checksum_warnings(
    source: &MigrationSource,
    current: Option<VersionState>,
    recorded: &[(i64, String, String)],
) -> Vec<(i64, String, String)> {
    let Some(current) = current else {
        return Vec::new();
    };
    recorded
        .iter()
        .filter(|(version, _, _)| *version <= current.version)
        .filter_map(|(version, _, checksum)| {
            let m = source.get(*version)?;
            (m.up.checksum != *checksum).then(|| (*version, m.up.file.clone(), checksum.clone()))
        })
        .collect()
}
