//! `dbops.Migrator`, `dbops.lint`, `dbops.verify`, `dbops.create_migration`.

use dbops::migrate::{self, MigrateSettings, Numbering, Rollback, Scratch, VerifyOptions};
use std::collections::BTreeMap;

use dbops::backup::{Backup, BackupOptions, Decryption, Encryption};
use dbops::{DatabaseUrl, DownSteps, MigrationSource, Migrator as _, PgMigrator};
use pyo3::prelude::*;

use crate::convert::{Typed, to_py, to_py_attached};
use crate::errors::to_py as err;
use crate::runtime::{block_on, into_awaitable, operation};

/// golang-migrate compatible migrations of one database.
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

    /// Applies pending migrations (up to `to`); returns the `MigrateReport`.
    #[pyo3(signature = (to=None))]
    fn up(&self, py: Python<'_>, to: Option<i64>) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.up(to).await) })
    }

    /// Like `up`; awaitable.
    #[pyo3(signature = (to=None))]
    fn up_async<'py>(&self, py: Python<'py>, to: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.up(to).await) })
    }

    /// Applies pending migrations (up to `to`) after a verified backup of the database into
    /// `store`, taken only when something is pending; returns the `GuardedMigrateReport` (the backup,
    /// with its `restore_command`, and the `MigrateReport`). A failed migration's error names the
    /// backup and the restore command.
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

    /// Like `up_with_backup`; awaitable.
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

    /// Rolls back `count` migrations, or all with `all=True`; returns the `MigrateReport`.
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

    /// Like `down`; awaitable.
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

    /// Migrates up or down to exactly `version`; returns the `MigrateReport`.
    fn goto(&self, py: Python<'_>, version: i64) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.goto(version).await) })
    }

    /// Like `goto`; awaitable.
    fn goto_async<'py>(&self, py: Python<'py>, version: i64) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.goto(version).await) })
    }

    /// The `VersionState` (version, dirty), or None when nothing is applied.
    fn version(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.version().await) })
    }

    /// Like `version`; awaitable.
    fn version_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.version().await) })
    }

    /// Records `version` (None or -1: nothing applied) as clean without running anything.
    #[pyo3(signature = (version))]
    fn force(&self, py: Python<'_>, version: Option<i64>) -> PyResult<()> {
        let m = self.0.clone();
        block_on(
            py,
            async move { m.force(version.filter(|v| *v >= 0)).await },
        )
    }

    /// Like `force`; awaitable.
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

    /// One `MigrationStatus` per migration: version, name, state (applied/pending/changed/dirty),
    /// has_down.
    fn status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.status().await) })
    }

    /// Like `status`; awaitable.
    fn status_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.status().await) })
    }

    /// The steps (`PlannedStep`) `up(to)` would take.
    #[pyo3(signature = (to=None))]
    fn plan(&self, py: Python<'_>, to: Option<i64>) -> PyResult<Py<PyAny>> {
        let m = self.0.clone();
        block_on(py, async move { json(m.plan_up(to).await) })
    }

    /// Like `plan`; awaitable.
    #[pyo3(signature = (to=None))]
    fn plan_async<'py>(&self, py: Python<'py>, to: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.0.clone();
        into_awaitable(py, async move { json(m.plan_up(to).await) })
    }

    /// The `LockPlan` of the pending migrations against the live database: each statement's lock,
    /// the work under it, the table's size, the sessions in the way and a verdict; `max_blocking`
    /// (seconds, default 1): what counts as blocking.
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

    /// Like `plan_locks`; awaitable.
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

/// Lint findings (`LintFinding`: rule, severity, file, line, column, message) of a migrations
/// directory; `server_major`: the oldest PostgreSQL major the migrations must be safe on.
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
    /// Verifies every migration's round trip in a scratch database on the server of `url`; returns
    /// the `VerifyReport`.
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

/// Creates the next pair of migration files in `directory`; returns their paths.
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
