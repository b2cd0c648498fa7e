//! `dbops.TestDatabases`: per-test databases cloned from a sealed template.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use crate::cluster::TempCluster;
use crate::runtime::{block_on, into_awaitable};

/// Builds a template once (from SQL scripts) and clones a fresh database from it per call.
#[pyclass(module = "dbops", frozen)]
pub struct TestDatabases(Arc<dbops::TestDatabases>);

/// One cloned database; dropped by `drop()`, on `with` exit, or in the background when collected.
#[pyclass(module = "dbops", frozen)]
pub struct TestDatabase {
    inner: Mutex<Option<dbops::TestDatabase>>,
    url: String,
    name: String,
}

fn builder(
    admin_url: &str,
    setup_sql: Vec<String>,
    prefix: Option<String>,
    spares: usize,
) -> PyResult<dbops::testing::TestDatabasesBuilder> {
    let admin = dbops::DatabaseUrl::parse(admin_url).map_err(crate::errors::to_py)?;
    let mut scripts = dbops::SqlScripts::new();
    for (i, sql) in setup_sql.into_iter().enumerate() {
        scripts = scripts.script(format!("script {}", i + 1), sql);
    }
    let mut builder = dbops::TestDatabases::builder(admin)
        .setup(scripts)
        .spares(spares);
    if let Some(prefix) = prefix {
        builder = builder.prefix(prefix);
    }
    Ok(builder)
}

fn wrap(db: dbops::TestDatabase) -> TestDatabase {
    TestDatabase {
        url: db.url().expose(),
        name: db.name().to_string(),
        inner: Mutex::new(Some(db)),
    }
}

#[pymethods]
impl TestDatabases {
    /// Builds (or reuses) the template on the server at `admin_url` after running `setup_sql` in it.
    #[staticmethod]
    #[pyo3(signature = (admin_url, setup_sql=Vec::new(), *, prefix=None, spares=2))]
    fn build(
        py: Python<'_>,
        admin_url: &str,
        setup_sql: Vec<String>,
        prefix: Option<String>,
        spares: usize,
    ) -> PyResult<Self> {
        let builder = builder(admin_url, setup_sql, prefix, spares)?;
        Ok(Self(Arc::new(block_on(py, builder.build())?)))
    }

    /// Like `build`; awaitable.
    #[staticmethod]
    #[pyo3(signature = (admin_url, setup_sql=Vec::new(), *, prefix=None, spares=2))]
    fn build_async<'py>(
        py: Python<'py>,
        admin_url: &str,
        setup_sql: Vec<String>,
        prefix: Option<String>,
        spares: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let builder = builder(admin_url, setup_sql, prefix, spares)?;
        into_awaitable(
            py,
            async move { Ok(Self(Arc::new(builder.build().await?))) },
        )
    }

    /// Same as `build` on an embedded cluster.
    #[staticmethod]
    #[pyo3(signature = (cluster, setup_sql=Vec::new(), *, prefix=None, spares=2))]
    fn on_cluster(
        py: Python<'_>,
        cluster: &TempCluster,
        setup_sql: Vec<String>,
        prefix: Option<String>,
        spares: usize,
    ) -> PyResult<Self> {
        Self::build(py, &cluster.0.url().expose(), setup_sql, prefix, spares)
    }

    /// Like `on_cluster`; awaitable.
    #[staticmethod]
    #[pyo3(signature = (cluster, setup_sql=Vec::new(), *, prefix=None, spares=2))]
    fn on_cluster_async<'py>(
        py: Python<'py>,
        cluster: &TempCluster,
        setup_sql: Vec<String>,
        prefix: Option<String>,
        spares: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        Self::build_async(py, &cluster.0.url().expose(), setup_sql, prefix, spares)
    }

    /// The template database's name.
    #[getter]
    fn template_name(&self) -> String {
        self.0.template_name().to_string()
    }

    /// Clones a fresh database from the template.
    fn create(&self, py: Python<'_>) -> PyResult<TestDatabase> {
        let dbs = self.0.clone();
        block_on(py, async move { dbs.create().await }).map(wrap)
    }

    /// Clones a fresh database from the template; awaitable.
    fn create_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let dbs = self.0.clone();
        into_awaitable(py, async move { Ok(wrap(dbs.create().await?)) })
    }
}

#[pymethods]
impl TestDatabase {
    /// Its connection URL.
    #[getter]
    fn url(&self) -> String {
        self.url.clone()
    }

    /// Its name.
    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }

    /// Drops it now (terminating its connections).
    fn drop(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.inner.lock().ok().and_then(|mut inner| inner.take());
        match taken {
            Some(db) => block_on(py, db.drop_now()),
            None => Ok(()),
        }
    }

    /// Drops it now (terminating its connections); awaitable.
    fn drop_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let taken = self.inner.lock().ok().and_then(|mut inner| inner.take());
        into_awaitable(py, async move {
            match taken {
                Some(db) => db.drop_now().await,
                None => Ok(()),
            }
        })
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
        self.drop(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("TestDatabase(name={:?})", self.name)
    }
}

/// Adds the classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TestDatabases>()?;
    m.add_class::<TestDatabase>()
}
