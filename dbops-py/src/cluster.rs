//! `dbops.TempCluster`: a throwaway PostgreSQL cluster from the local server binaries.

use std::collections::HashMap;
use std::sync::Arc;

use dbops::{Durability, Listen};
use pyo3::prelude::*;

use crate::runtime::{block_on, into_awaitable};

/// A throwaway PostgreSQL cluster; stopped and removed by `stop()`, on `with` exit, or when collected.
#[pyclass(module = "dbops", frozen)]
pub struct TempCluster(pub Arc<dbops::TempCluster>);

fn builder(
    tcp: bool,
    durable: bool,
    settings: Option<HashMap<String, String>>,
    data_dir: Option<std::path::PathBuf>,
    in_memory: bool,
    major: Option<u32>,
) -> dbops::TempClusterBuilder {
    let mut builder = dbops::TempCluster::builder().in_memory(in_memory);
    if let Some(major) = major {
        builder = builder.major(major);
    }
    if let Some(dir) = data_dir {
        builder = builder.data_dir(dir);
    }
    if tcp {
        builder = builder.listen(Listen::Tcp);
    }
    if durable {
        builder = builder.durability(Durability::Durable);
    }
    for (name, value) in settings.unwrap_or_default() {
        builder = builder.setting(name, value);
    }
    builder
}

#[pymethods]
impl TempCluster {
    /// Starts a throwaway PostgreSQL cluster from the installed server programs (the GIL is released).
    /// It is stopped and removed by ``stop()``, on ``with`` exit, when collected, or when the process
    /// ends.
    ///
    /// Args:
    ///     tcp: also listen on 127.0.0.1 with a random password (``tcp_url``).
    ///     durable: keep fsync and full page writes on.
    ///     settings: server settings (``{'work_mem': '64MB'}``).
    ///     data_dir: run on this directory (created by initdb unless it holds one, e.g. one prepared by
    ///         ``dbops.pitr.restore``: it runs the PostgreSQL major that made it), kept afterwards.
    ///     in_memory: keep its files on ``/dev/shm`` when that has 1 GiB free (fast clones for tests;
    ///         ``DBOPS_TMPDIR`` wins).
    ///     major: the installed PostgreSQL major to run (default: ``DBOPS_PG_MAJOR``, else the first
    ///         found).
    ///
    /// Returns:
    ///     TempCluster: the running cluster (a context manager that stops it on exit; it also stops
    ///         with the process).
    ///
    /// Raises:
    ///     ClusterError: no PostgreSQL installation was found (the message lists where it looked and
    ///         how to install one) or the server did not start.
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    #[staticmethod]
    #[pyo3(signature = (*, tcp=false, durable=false, settings=None, data_dir=None, in_memory=false, major=None))]
    fn start(
        py: Python<'_>,
        tcp: bool,
        durable: bool,
        settings: Option<HashMap<String, String>>,
        data_dir: Option<std::path::PathBuf>,
        in_memory: bool,
        major: Option<u32>,
    ) -> PyResult<Self> {
        let cluster = block_on(
            py,
            builder(tcp, durable, settings, data_dir, in_memory, major).start(),
        )?;
        Ok(Self(Arc::new(cluster)))
    }

    /// The awaitable form of `start`: the same arguments, result and errors.
    #[staticmethod]
    #[pyo3(signature = (*, tcp=false, durable=false, settings=None, data_dir=None, in_memory=false, major=None))]
    fn start_async(
        py: Python<'_>,
        tcp: bool,
        durable: bool,
        settings: Option<HashMap<String, String>>,
        data_dir: Option<std::path::PathBuf>,
        in_memory: bool,
        major: Option<u32>,
    ) -> PyResult<Bound<'_, PyAny>> {
        let start = builder(tcp, durable, settings, data_dir, in_memory, major).start();
        into_awaitable(py, async move { Ok(Self(Arc::new(start.await?))) })
    }

    /// Superuser URL over the unix socket (no password).
    #[getter]
    fn url(&self) -> String {
        self.0.url().expose()
    }

    /// Superuser URL over TCP with its password, when started with `tcp=True`.
    #[getter]
    fn tcp_url(&self) -> Option<String> {
        self.0.tcp_url().map(|url| url.expose())
    }

    /// The port (TCP port, or the socket file's number).
    #[getter]
    fn port(&self) -> u16 {
        self.0.port()
    }

    /// The data directory.
    #[getter]
    fn data_dir(&self) -> String {
        self.0.data_dir().display().to_string()
    }

    /// The postmaster's pid while running.
    #[getter]
    fn pid(&self) -> Option<u32> {
        self.0.pid()
    }

    /// Whether the server is running.
    #[getter]
    fn is_running(&self) -> bool {
        self.0.is_running()
    }

    /// Stops the server and removes its files (a ``data_dir`` given to ``start`` is kept).
    ///
    /// Returns:
    ///     None.
    ///
    /// Raises:
    ///     ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
    ///         ...) failed; its message has the program's last lines.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let cluster = self.0.clone();
        block_on(py, async move { cluster.stop().await })
    }

    /// The awaitable form of `stop`: the same arguments, result and errors.
    fn stop_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let cluster = self.0.clone();
        into_awaitable(py, async move { cluster.stop().await })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Py<PyAny>,
        _v: Py<PyAny>,
        _tb: Py<PyAny>,
    ) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "TempCluster(url={:?}, running={})",
            self.0.url().redacted(),
            self.0.is_running()
        )
    }
}

/// Adds the class to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TempCluster>()
}
