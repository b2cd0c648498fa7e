//! `dbops.HealthProbe`, `dbops.status`, `dbops.terminate` (each with `_async` forms).

use dbops::DatabaseUrl;
use dbops::config::{TimeUnit, duration_from};
use dbops::health::{HealthOptions, HealthProbe as _, PgHealthProbe};
use dbops::monitor::{self, StatusOptions};
use pyo3::prelude::*;

use crate::convert::to_py_attached as json;
use crate::errors::to_py as err;
use crate::runtime::{block_on, into_awaitable, operation};

/// Liveness and readiness of a database: ``HealthProbe(url, ...)``; reports are ``HealthReport``s
/// (status, checks, checked_at, migration).
///
/// Args:
///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
///     timeout: seconds the readiness checks may take.
///     cache_ttl: seconds a readiness result is reused.
///     migrations: require applied, clean migrations to be ready.
///     min_version: require at least this schema version to be ready.
///
/// Raises:
///     ConfigError: an invalid URL or option.
#[pyclass(module = "dbops", frozen)]
pub struct HealthProbe(PgHealthProbe);

#[pymethods]
impl HealthProbe {
    /// `timeout` seconds for the checks; `migrations` requires applied, clean migrations.
    #[new]
    #[pyo3(signature = (url, *, timeout=2.0, cache_ttl=1.0, migrations=true, min_version=None))]
    fn new(
        url: &str,
        timeout: f64,
        cache_ttl: f64,
        migrations: bool,
        min_version: Option<i64>,
    ) -> PyResult<Self> {
        let mut options = HealthOptions::default()
            .with_timeout(duration_from("timeout", timeout, TimeUnit::Seconds).map_err(err)?)
            .with_cache_ttl(duration_from("cache_ttl", cache_ttl, TimeUnit::Seconds).map_err(err)?);
        if !migrations {
            options.migrations = None;
        } else if let Some(m) = options.migrations.as_mut() {
            m.min_version = min_version;
        }
        let url = DatabaseUrl::parse(url).map_err(err)?;
        // The pool spawns on the shared runtime.
        let _guard = crate::runtime::runtime().enter();
        Ok(Self(PgHealthProbe::for_url(&url, options).map_err(err)?))
    }

    /// Checks readiness: the database answers within the timeout and (unless turned off) the migrations
    /// are applied, clean and at least ``min_version``. Cached for ``cache_ttl`` seconds.
    ///
    /// Returns:
    ///     HealthReport: ``status`` (``up`` or ``down``) and each check's result; a failing database is
    ///         a failed check, not an exception.
    ///
    /// Raises:
    ///     InternalError: only on a bug in dbops.
    fn ready(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let p = self.0.clone();
        block_on(py, async move { json(&p.ready().await) })
    }

    /// The awaitable form of `ready`: the same arguments, result and errors.
    fn ready_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.0.clone();
        into_awaitable(py, async move { json(&p.ready().await) })
    }

    /// Checks liveness: the process answers. Never touches the database (an outage must not restart
    /// every replica).
    ///
    /// Returns:
    ///     HealthReport: ``up`` while the process runs.
    ///
    /// Raises:
    ///     InternalError: only on a bug in dbops.
    fn live(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let p = self.0.clone();
        block_on(py, async move { json(&p.live().await) })
    }

    /// The awaitable form of `live`: the same arguments, result and errors.
    fn live_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.0.clone();
        into_awaitable(py, async move { json(&p.live().await) })
    }
}

operation! {
    /// The monitoring report of the database at ``url``: connections, long-running queries, locks and
    /// waits, table and index sizes, vacuum state, replication and archiver.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     long_running: queries running longer than this many seconds are listed.
    ///     limit: rows per list (largest tables, top queries, ...).
    ///
    /// Returns:
    ///     DbStatus: the report (the same as ``dbops db status --json``).
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    #[pyo3(signature = (url, *, long_running=60.0, limit=10))]
    fn status / status_async(py, url: &str, long_running: f64, limit: i64) -> Py<PyAny> {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let options = StatusOptions::default()
            .with_long_running_secs(long_running)
            .with_limit(limit);
        async move { json(&monitor::status(&url, &options).await?) }
    }
}

operation! {
    /// Terminates the server session (backend) ``pid``, as ``pg_terminate_backend`` does.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     pid: the backend's process id (from ``status``).
    ///
    /// Returns:
    ///     bool: True when a session was terminated, False when there was none.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    #[pyo3(signature = (url, pid))]
    fn terminate / terminate_async(py, url: &str, pid: i32) -> bool {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        async move { monitor::terminate(&url, pid).await }
    }
}

/// Adds the class and functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HealthProbe>()?;
    m.add_function(wrap_pyfunction!(status, m)?)?;
    m.add_function(wrap_pyfunction!(status_async, m)?)?;
    m.add_function(wrap_pyfunction!(terminate, m)?)?;
    m.add_function(wrap_pyfunction!(terminate_async, m)?)
}
