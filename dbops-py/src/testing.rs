//! `dbops.TestDatabases`: per-test databases cloned from a sealed template.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use crate::cluster::TempCluster;
use crate::runtime::{block_on, into_awaitable};

/// Builds a template once (migrations, a seed profile, SQL scripts) and clones a fresh database from
/// it per call.
#[pyclass(module = "dbops", frozen)]
pub struct TestDatabases(Arc<dbops::TestDatabases>);

/// One cloned database; dropped by `drop()`, on `with` exit, or in the background when collected.
#[pyclass(module = "dbops", frozen)]
pub struct TestDatabase {
    inner: Mutex<Option<dbops::TestDatabase>>,
    url: String,
    name: String,
}

/// What the template gets, in this order: migrations, a seed profile, then the SQL scripts.
struct Template {
    setup_sql: Vec<String>,
    migrations: Option<std::path::PathBuf>,
    seed: Option<String>,
    seed_scale: u64,
    seed_seed: u64,
    prefix: Option<String>,
    spares: usize,
}

fn builder(admin_url: &str, template: Template) -> PyResult<dbops::testing::TestDatabasesBuilder> {
    let err = crate::errors::to_py;
    let admin = dbops::DatabaseUrl::parse(admin_url).map_err(err)?;
    let mut builder = dbops::TestDatabases::builder(admin).spares(template.spares);
    if let Some(dir) = template.migrations {
        builder = builder.setup(dbops::MigrationSource::from_dir(&dir).map_err(err)?);
    }
    if let Some(profile) = template.seed {
        let mut seed = dbops::seed::ReferenceSeed::new(profile.parse().map_err(err)?);
        seed.options.scale = template.seed_scale;
        seed.options.seed = template.seed_seed;
        builder = builder.setup(dbops::testing::SeedStep::with(seed));
    }
    let mut scripts = dbops::SqlScripts::new();
    for (i, sql) in template.setup_sql.into_iter().enumerate() {
        scripts = scripts.script(format!("script {}", i + 1), sql);
    }
    builder = builder.setup(scripts);
    if let Some(prefix) = template.prefix {
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

// Python keyword arguments map one to one onto these parameters.
#[allow(clippy::too_many_arguments)]
#[pymethods]
impl TestDatabases {
    /// Builds (or reuses) the template on the server at ``admin_url``: applies ``migrations``, seeds
    /// ``seed``, then runs ``setup_sql``; built once under a lock, whatever the number of processes.
    ///
    /// Args:
    ///     admin_url: a superuser URL of the server the databases are made on.
    ///     setup_sql: SQL scripts run last, in order.
    ///     migrations: a migrations directory applied first.
    ///     seed: a profile to seed (``light``, ``medium``, ``heavy``).
    ///     seed_scale: the seed's scale.
    ///     seed_seed: the seed's random seed.
    ///     prefix: the prefix of the template's and clones' names.
    ///     spares: clones prepared ahead in the background.
    ///
    /// Returns:
    ///     TestDatabases: the factory of test databases.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationError: a migration failed (file, line and statement in the message; nothing of it
    ///         applied unless it runs outside a transaction).
    #[staticmethod]
    #[pyo3(signature = (admin_url, setup_sql=Vec::new(), *, migrations=None, seed=None, seed_scale=1, seed_seed=42, prefix=None, spares=2))]
    fn build(
        py: Python<'_>,
        admin_url: &str,
        setup_sql: Vec<String>,
        migrations: Option<std::path::PathBuf>,
        seed: Option<String>,
        seed_scale: u64,
        seed_seed: u64,
        prefix: Option<String>,
        spares: usize,
    ) -> PyResult<Self> {
        let builder = builder(
            admin_url,
            Template {
                setup_sql,
                migrations,
                seed,
                seed_scale,
                seed_seed,
                prefix,
                spares,
            },
        )?;
        Ok(Self(Arc::new(block_on(py, builder.build())?)))
    }

    /// The awaitable form of `build`: the same arguments, result and errors.
    #[staticmethod]
    #[pyo3(signature = (admin_url, setup_sql=Vec::new(), *, migrations=None, seed=None, seed_scale=1, seed_seed=42, prefix=None, spares=2))]
    fn build_async<'py>(
        py: Python<'py>,
        admin_url: &str,
        setup_sql: Vec<String>,
        migrations: Option<std::path::PathBuf>,
        seed: Option<String>,
        seed_scale: u64,
        seed_seed: u64,
        prefix: Option<String>,
        spares: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let builder = builder(
            admin_url,
            Template {
                setup_sql,
                migrations,
                seed,
                seed_scale,
                seed_seed,
                prefix,
                spares,
            },
        )?;
        into_awaitable(
            py,
            async move { Ok(Self(Arc::new(builder.build().await?))) },
        )
    }

    /// Builds (or reuses) the template on an embedded cluster, as ``build`` does.
    ///
    /// Args:
    ///     cluster: a ``TempCluster``.
    ///     setup_sql: SQL scripts run last, in order.
    ///     migrations: a migrations directory applied first.
    ///     seed: a profile to seed (``light``, ``medium``, ``heavy``).
    ///     seed_scale: the seed's scale.
    ///     seed_seed: the seed's random seed.
    ///     prefix: the prefix of the template's and clones' names.
    ///     spares: clones prepared ahead in the background.
    ///
    /// Returns:
    ///     TestDatabases: the factory of test databases.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationError: a migration failed (file, line and statement in the message; nothing of it
    ///         applied unless it runs outside a transaction).
    #[staticmethod]
    #[pyo3(signature = (cluster, setup_sql=Vec::new(), *, migrations=None, seed=None, seed_scale=1, seed_seed=42, prefix=None, spares=2))]
    fn on_cluster(
        py: Python<'_>,
        cluster: &TempCluster,
        setup_sql: Vec<String>,
        migrations: Option<std::path::PathBuf>,
        seed: Option<String>,
        seed_scale: u64,
        seed_seed: u64,
        prefix: Option<String>,
        spares: usize,
    ) -> PyResult<Self> {
        Self::build(
            py,
            &cluster.0.url().expose(),
            setup_sql,
            migrations,
            seed,
            seed_scale,
            seed_seed,
            prefix,
            spares,
        )
    }

    /// The awaitable form of `on_cluster`: the same arguments, result and errors.
    #[staticmethod]
    #[pyo3(signature = (cluster, setup_sql=Vec::new(), *, migrations=None, seed=None, seed_scale=1, seed_seed=42, prefix=None, spares=2))]
    fn on_cluster_async<'py>(
        py: Python<'py>,
        cluster: &TempCluster,
        setup_sql: Vec<String>,
        migrations: Option<std::path::PathBuf>,
        seed: Option<String>,
        seed_scale: u64,
        seed_seed: u64,
        prefix: Option<String>,
        spares: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        Self::build_async(
            py,
            &cluster.0.url().expose(),
            setup_sql,
            migrations,
            seed,
            seed_scale,
            seed_seed,
            prefix,
            spares,
        )
    }

    /// The template database's name.
    #[getter]
    fn template_name(&self) -> String {
        self.0.template_name().to_string()
    }

    /// Clones a fresh database from the template (a spare prepared ahead when one is ready).
    ///
    /// Returns:
    ///     TestDatabase: the database (a context manager that drops it on exit).
    ///
    /// Raises:
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    fn create(&self, py: Python<'_>) -> PyResult<TestDatabase> {
        let dbs = self.0.clone();
        block_on(py, async move { dbs.create().await }).map(wrap)
    }

    /// The awaitable form of `create`: the same arguments, result and errors.
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

    /// Drops the database now, terminating its connections.
    ///
    /// Returns:
    ///     None.
    ///
    /// Raises:
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    fn drop(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.inner.lock().ok().and_then(|mut inner| inner.take());
        match taken {
            Some(db) => block_on(py, db.drop_now()),
            None => Ok(()),
        }
    }

    /// The awaitable form of `drop`: the same arguments, result and errors.
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
