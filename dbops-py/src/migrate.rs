//! `dbops.Migrator`, `dbops.lint`, `dbops.verify`, `dbops.create_migration`.

use dbops::migrate::{self, MigrateSettings, Numbering, Rollback, Scratch, VerifyOptions};
use std::collections::BTreeMap;

use dbops::backup::{Backup, BackupOptions, Decryption, Encryption};
use dbops::{DatabaseUrl, DownSteps, MigrationSource, Migrator as _, PgMigrator};
use pyo3::prelude::*;

use crate::convert::{Typed, to_py, to_py_attached};
use crate::errors::to_py as err;
use crate::runtime::{block_on, into_awaitable, operation};

/// golang-migrate compatible migrations of one database: ``Migrator(url, source, ...)``.
///
/// Args:
///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
///     source: the migrations directory (``NNNNNN_name.up.sql`` / ``.down.sql``).
///     schema: the schema of the version table (default ``public``).
///     table: the version table (default ``schema_migrations``, golang-migrate's).
///     lock_timeout: seconds a statement may wait for a lock before the migration steps aside and
///         retries (default 2; 0: off).
///     statement_timeout: seconds a statement may run (default: the role's).
///     strict: refuse to run when an applied migration's file changed.
///     progress: called as ``progress(stage, done, total)`` while it runs.
///     max_blocking: refuse steps that would block traffic longer than this many seconds (the risk
///         guard; default: off).
///     wait_for_sessions: seconds to wait for sessions in the way of a step (with
///         ``max_blocking``).
///     refuse_when_waiting: refuse rather than go on when such sessions do not end.
///
/// Raises:
///     ConfigError: an invalid URL or option.
///     MigrationSourceError: the directory or a file name is invalid.
#[pyclass(module = "dbops", frozen)]
pub struct Migrator(PgMigrator, DatabaseUrl);

fn source(dir: &str, strict: bool) -> PyResult<MigrationSource> {
    let strictness = MigrateSettings::default().with_strict(strict).strictness();
    MigrationSource::from_dir(dir)
        .and_then(|s| s.validate(strictness))
        .map_err(err)
}

fn json<T: Typed>(result: dbops::Result<T>) -> dbops::Result<Py<PyAny>> {
    to_py_attached(&result?)
}

#[pymethods]
impl Migrator {
    /// `url`: the database; `source`: the migrations directory;
    /// `max_blocking`, `wait_for_sessions`, `refuse_when_waiting`: the risk guard (seconds).
    #[new]
    #[pyo3(signature = (url, source, *, schema=None, table=None, lock_timeout=None, statement_timeout=None, strict=false, progress=None, max_blocking=None, wait_for_sessions=None, refuse_when_waiting=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: &str,
        source: &str,
        schema: Option<String>,
        table: Option<String>,
        lock_timeout: Option<f64>,
        statement_timeout: Option<f64>,
        strict: bool,
        progress: Option<Py<PyAny>>,
        max_blocking: Option<f64>,
        wait_for_sessions: Option<f64>,
        refuse_when_waiting: bool,
    ) -> PyResult<Self> {
        let settings = MigrateSettings::default()
            .with_schema(schema)
            .with_table(table)
            .with_lock_timeout_secs(lock_timeout)
            .with_statement_timeout_secs(statement_timeout)
            .with_strict(strict)
            .with_max_blocking_secs(max_blocking)
            .with_wait_for_sessions_secs(wait_for_sessions)
            .with_refuse_when_waiting(refuse_when_waiting);
        let options =
            (settings.options().map_err(err)?).with_progress(crate::convert::progress(progress));
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let migrator = PgMigrator::new(url.clone(), self::source(source, strict)?).options(options);
        Ok(Self(migrator, url))
    }

    /// Applies the pending migrations, each in one transaction with its bookkeeping, under the
    /// migration lock (other replicas wait).
    ///
    /// Args:
    ///     to: apply up to this version (default: all).
    ///
    /// Returns:
    ///     MigrateReport: the versions before and after, each migration applied and its time.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationError: a migration failed (file, line and statement in the message; nothing of it
    ///         applied unless it runs outside a transaction).
    ///     MigrationSourceError: a migration file or directory is invalid.
    ///     DirtyDatabaseError: the database is dirty after a failed non-transactional migration: repair
    ///         it, then ``force``.
    ///     ChecksumMismatchError: an applied migration's file changed (strict mode).
    ///     RefusedError: the risk guard refused a step (nothing applied), or lock retries ran out.
    ///     KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
    #[pyo3(signature = (to=None))]
    fn up(&self, py: Python<'_>, to: Option<i64>) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.up(to).await) })
    }

    /// The awaitable form of `up`: the same arguments, result and errors.
    #[pyo3(signature = (to=None))]
    fn up_async<'py>(&self, py: Python<'py>, to: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.up(to).await) })
    }

    /// Applies the pending migrations after a verified backup of the database into ``store``, taken
    /// only when something is pending. A failed migration's error names the backup and the command that
    /// restores it.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     to: apply up to this version (default: all).
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///     recipients: age recipients (``age1...``) to encrypt to.
    ///     passphrase: encrypt (and read back) with this passphrase.
    ///     identity: an age identity to read an encrypted backup back with.
    ///     identity_file: a file of age identities to read it back with.
    ///
    /// Returns:
    ///     GuardedMigrateReport: the backup (with its ``restore_command``), or None when nothing was
    ///         pending, and the ``MigrateReport``.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationError: a migration failed (file, line and statement in the message; nothing of it
    ///         applied unless it runs outside a transaction).
    ///     MigrationSourceError: a migration file or directory is invalid.
    ///     DirtyDatabaseError: the database is dirty after a failed non-transactional migration: repair
    ///         it, then ``force``.
    ///     ChecksumMismatchError: an applied migration's file changed (strict mode).
    ///     RefusedError: the risk guard refused a step (nothing applied), or lock retries ran out.
    ///     KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     IntegrityError: stored data does not match its manifest or checksums.
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
    ///         ...) failed; its message has the program's last lines.
    #[pyo3(signature = (store, *, to=None, store_options=None, recipients=None, passphrase=None, identity=None, identity_file=None))]
    #[allow(clippy::too_many_arguments)]
    fn up_with_backup(
        &self,
        py: Python<'_>,
        store: &str,
        to: Option<i64>,
        store_options: Option<BTreeMap<String, String>>,
        recipients: Option<Vec<String>>,
        passphrase: Option<String>,
        identity: Option<String>,
        identity_file: Option<std::path::PathBuf>,
    ) -> PyResult<Py<PyAny>> {
        let job = self.backup_first(
            store,
            store_options,
            recipients,
            passphrase,
            identity,
            identity_file,
        )?;
        block_on(py, async move { json(job.run(to).await) })
    }

    /// The awaitable form of `up_with_backup`: the same arguments, result and errors.
    #[pyo3(signature = (store, *, to=None, store_options=None, recipients=None, passphrase=None, identity=None, identity_file=None))]
    #[allow(clippy::too_many_arguments)]
    fn up_with_backup_async<'py>(
        &self,
        py: Python<'py>,
        store: &str,
        to: Option<i64>,
        store_options: Option<BTreeMap<String, String>>,
        recipients: Option<Vec<String>>,
        passphrase: Option<String>,
        identity: Option<String>,
        identity_file: Option<std::path::PathBuf>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let job = self.backup_first(
            store,
            store_options,
            recipients,
            passphrase,
            identity,
            identity_file,
        )?;
        into_awaitable(py, async move { json(job.run(to).await) })
    }

    /// Rolls back migrations with their down files.
    ///
    /// Args:
    ///     count: how many to roll back (default 1).
    ///     all: roll back every applied migration.
    ///
    /// Returns:
    ///     MigrateReport: the versions before and after and each migration rolled back.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationError: a migration failed (file, line and statement in the message; nothing of it
    ///         applied unless it runs outside a transaction).
    ///     MigrationSourceError: a migration file or directory is invalid.
    ///     DirtyDatabaseError: the database is dirty after a failed non-transactional migration: repair
    ///         it, then ``force``.
    ///     ChecksumMismatchError: an applied migration's file changed (strict mode).
    ///     RefusedError: the risk guard refused a step (nothing applied), or lock retries ran out.
    ///     KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
    #[pyo3(signature = (count=1, *, all=false))]
    fn down(&self, py: Python<'_>, count: usize, all: bool) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        let steps = if all {
            DownSteps::All
        } else {
            DownSteps::Count(count)
        };
        block_on(py, async move { json(m.down(steps).await) })
    }

    /// The awaitable form of `down`: the same arguments, result and errors.
    #[pyo3(signature = (count=1, *, all=false))]
    fn down_async<'py>(
        &self,
        py: Python<'py>,
        count: usize,
        all: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        let steps = if all {
            DownSteps::All
        } else {
            DownSteps::Count(count)
        };
        into_awaitable(py, async move { json(m.down(steps).await) })
    }

    /// Migrates up or down to exactly ``version``.
    ///
    /// Args:
    ///     version: the version to end at.
    ///
    /// Returns:
    ///     MigrateReport: the versions before and after and each step.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationError: a migration failed (file, line and statement in the message; nothing of it
    ///         applied unless it runs outside a transaction).
    ///     MigrationSourceError: a migration file or directory is invalid.
    ///     DirtyDatabaseError: the database is dirty after a failed non-transactional migration: repair
    ///         it, then ``force``.
    ///     ChecksumMismatchError: an applied migration's file changed (strict mode).
    ///     RefusedError: the risk guard refused a step (nothing applied), or lock retries ran out.
    ///     KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
    fn goto(&self, py: Python<'_>, version: i64) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.goto(version).await) })
    }

    /// The awaitable form of `goto`: the same arguments, result and errors.
    fn goto_async<'py>(&self, py: Python<'py>, version: i64) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.goto(version).await) })
    }

    /// Reads the recorded version.
    ///
    /// Returns:
    ///     VersionState | None: the version and whether it is dirty, or None when nothing is applied.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    fn version(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.version().await) })
    }

    /// The awaitable form of `version`: the same arguments, result and errors.
    fn version_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.version().await) })
    }

    /// Records ``version`` as the clean current version without running anything (after repairing a
    /// dirty database by hand).
    ///
    /// Args:
    ///     version: the version the database truly is at (None or -1: nothing applied).
    ///
    /// Returns:
    ///     None.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationSourceError: a migration file or directory is invalid.
    #[pyo3(signature = (version))]
    fn force(&self, py: Python<'_>, version: Option<i64>) -> PyResult<()> {
        let m = self.0.clone();
        block_on(
            py,
            async move { m.force(version.filter(|v| *v >= 0)).await },
        )
    }

    /// The awaitable form of `force`: the same arguments, result and errors.
    #[pyo3(signature = (version))]
    fn force_async<'py>(
        &self,
        py: Python<'py>,
        version: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(
            py,
            async move { m.force(version.filter(|v| *v >= 0)).await },
        )
    }

    /// Lists every migration with its state.
    ///
    /// Returns:
    ///     list[MigrationStatus]: version, name, state (applied, pending, changed, dirty) and whether
    ///         it has a down file.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationSourceError: a migration file or directory is invalid.
    fn status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.status().await) })
    }

    /// The awaitable form of `status`: the same arguments, result and errors.
    fn status_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.status().await) })
    }

    /// The steps ``up(to)`` would take, without running them.
    ///
    /// Args:
    ///     to: plan up to this version (default: all).
    ///
    /// Returns:
    ///     list[PlannedStep]: each migration, its direction and whether it runs in a transaction.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationSourceError: a migration file or directory is invalid.
    #[pyo3(signature = (to=None))]
    fn plan(&self, py: Python<'_>, to: Option<i64>) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.plan_up(to).await) })
    }

    /// The awaitable form of `plan`: the same arguments, result and errors.
    #[pyo3(signature = (to=None))]
    fn plan_async<'py>(&self, py: Python<'py>, to: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.plan_up(to).await) })
    }

    /// The lock plan of the pending migrations against the live database: each statement's lock, the
    /// work done under it, the table's size, the sessions in the way and a verdict.
    ///
    /// Args:
    ///     to: plan up to this version (default: all).
    ///     max_blocking: seconds of blocking that count as blocking (default 1).
    ///
    /// Returns:
    ///     LockPlan: one ``StatementPlan`` per statement and the worst verdict.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationSourceError: a migration file or directory is invalid.
    #[pyo3(signature = (to=None, *, max_blocking=None))]
    fn plan_locks(
        &self,
        py: Python<'_>,
        to: Option<i64>,
        max_blocking: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let (m, options) = (self.0.clone(), plan_options(max_blocking)?);
        block_on(py, async move { json(m.plan_locks(to, &options).await) })
    }

    /// The awaitable form of `plan_locks`: the same arguments, result and errors.
    #[pyo3(signature = (to=None, *, max_blocking=None))]
    fn plan_locks_async<'py>(
        &self,
        py: Python<'py>,
        to: Option<i64>,
        max_blocking: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (m, options) = (self.0.clone(), plan_options(max_blocking)?);
        into_awaitable(py, async move { json(m.plan_locks(to, &options).await) })
    }
}

fn plan_options(max_blocking: Option<f64>) -> PyResult<migrate::plan::PlanOptions> {
    let mut options = migrate::plan::PlanOptions::default();
    if let Some(secs) = max_blocking {
        let limit =
            dbops::config::duration_from("max_blocking", secs, dbops::config::TimeUnit::Seconds)
                .map_err(err)?;
        options = options.with_max_blocking(limit);
    }
    Ok(options)
}

/// A migrator with the backup to take before it migrates.
struct BackupFirst {
    migrator: PgMigrator,
    backup: Backup,
    decryption: Decryption,
}

impl BackupFirst {
    async fn run(
        self,
        to: Option<i64>,
    ) -> dbops::Result<dbops::pre_migration::GuardedMigrateReport> {
        dbops::pre_migration::up_with_backup(&self.migrator, &self.backup, &self.decryption, to)
            .await
    }
}

impl Migrator {
    fn backup_first(
        &self,
        store: &str,
        store_options: Option<BTreeMap<String, String>>,
        recipients: Option<Vec<String>>,
        passphrase: Option<String>,
        identity: Option<String>,
        identity_file: Option<std::path::PathBuf>,
    ) -> PyResult<BackupFirst> {
        let store = crate::backup::open_store(store, store_options)?;
        let encryption =
            Encryption::choose(recipients.unwrap_or_default(), passphrase).map_err(err)?;
        let options = BackupOptions::default().with_encryption(encryption);
        Ok(BackupFirst {
            backup: Backup::new(self.1.clone(), store, options),
            decryption: crate::backup::decryption(identity, identity_file, None)?,
            migrator: self.0.clone(),
        })
    }
}

/// Lints the migrations of a directory without a database: statements read with PostgreSQL's
/// grammar and checked against rules that know each statement's lock (the rules of ``dbops migrate
/// lint``; each finding's message has the safe rewrite).
///
/// Args:
///     source: the migrations directory.
///     server_major: the oldest PostgreSQL major the migrations must be safe on (default 13).
///
/// Returns:
///     list[LintFinding]: rule, severity, file, line, column and message of each finding (empty:
///         nothing found).
///
/// Raises:
///     MigrationSourceError: a migration file or directory is invalid.
///     DbopsIOError: a local file or directory could not be read or written.
#[pyfunction]
#[pyo3(signature = (source, *, server_major=None))]
fn lint(py: Python<'_>, source: &str, server_major: Option<u32>) -> PyResult<Py<PyAny>> {
    crate::runtime::guard("linting migrations", || {
        let options = server_major.map_or_else(migrate::lint::LintOptions::default, |major| {
            migrate::lint::LintOptions::default().with_server_major(major)
        });
        to_py(
            py,
            &migrate::lint::check_with(&self::source(source, false)?, &options),
        )
    })
}

/// A `VerifyReport` as Python sees it: the core report and whether every round trip passed.
#[derive(serde::Serialize)]
pub struct Verified {
    #[serde(flatten)]
    report: migrate::VerifyReport,
    passed: bool,
}

operation! {
    /// Verifies every migration's round trip in a scratch database on the server of ``url``: each up,
    /// then its down, then up again, comparing the schema each time.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     source: the migrations directory.
    ///     skip_rollback: only apply the up files.
    ///     keep: keep the scratch database (its name is in the report).
    ///     progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
    ///         unknown).
    ///
    /// Returns:
    ///     VerifyReport: ``passed`` and each migration's result with the schema differences found.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationSourceError: a migration file or directory is invalid.
    ///     KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
    #[pyo3(signature = (url, source, *, skip_rollback=false, keep=false, progress=None))]
    fn verify / verify_async(
        py,
        url: &str,
        source: &str,
        skip_rollback: bool,
        keep: bool,
        progress: Option<Py<PyAny>>,
    ) -> Py<PyAny> {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let source = self::source(source, false)?;
        let options = VerifyOptions::default()
            .with_rollback(if skip_rollback {
                Rollback::Skip
            } else {
                Rollback::Check
            })
            .with_scratch(if keep { Scratch::Keep } else { Scratch::Drop })
            .with_progress(crate::convert::progress(progress));
        async move {
            let report = migrate::verify(&url, &source, &options).await?;
            let passed = report.passed();
            to_py_attached(&Verified { report, passed })
        }
    }
}

/// Creates the next pair of empty migration files in ``directory``.
///
/// Args:
///     directory: the migrations directory (created if missing).
///     name: the migration's name (``add tips`` becomes ``add_tips``).
///     timestamp: name it by the time instead of the next sequence number.
///
/// Returns:
///     tuple[str, str]: the paths of the up and down files.
///
/// Raises:
///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
///     DbopsIOError: a local file or directory could not be read or written.
///     MigrationSourceError: a migration file or directory is invalid.
#[pyfunction]
#[pyo3(signature = (directory, name, *, timestamp=false))]
fn create_migration(directory: &str, name: &str, timestamp: bool) -> PyResult<(String, String)> {
    let numbering = if timestamp {
        Numbering::Timestamp
    } else {
        Numbering::Sequential
    };
    let (up, down) = crate::runtime::guard("creating a migration", || {
        migrate::create(std::path::Path::new(directory), name, numbering).map_err(err)
    })?;
    Ok((up.display().to_string(), down.display().to_string()))
}

/// Adds the class and functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Migrator>()?;
    m.add_function(wrap_pyfunction!(lint, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(verify_async, m)?)?;
    m.add_function(wrap_pyfunction!(create_migration, m)?)
}
