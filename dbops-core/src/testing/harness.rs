//! What `#[dbops::test]` runs: one template per distinct setup per test binary, a fresh clone per
//! test, the argument the test asks for, and the clone dropped afterwards (kept on failure with
//! `DBOPS_KEEP_TEST_DBS=1`).

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use tokio::sync::OnceCell;

use super::{SqlScripts, TestDatabase, TestDatabases};
use crate::cluster::TempCluster;
use crate::config::{DatabaseUrl, PoolOptions};
use crate::error::Result;
use crate::migrate::MigrationSource;

/// Files embedded at compile time: where they came from (for messages) and `(name, text)` pairs.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFiles {
    /// The directory as written in the attribute.
    pub origin: &'static str,
    /// File names and contents.
    pub files: &'static [(&'static str, &'static str)],
}

/// A test database's setup as `#[dbops::test(...)]` writes it: migrations, then a seed profile,
/// then fixture SQL files, each applied once to the template.
#[derive(Debug, Clone, Copy)]
pub struct TestSetup {
    /// The migrations (`migrations = "dir"`).
    pub migrations: Option<EmbeddedFiles>,
    /// A seed profile of the reference schema (`seed = "light"`, feature `seed`).
    pub seed: Option<&'static str>,
    /// Fixture SQL files (`fixtures("a.sql", ...)`), run in order, each in one transaction.
    pub fixtures: &'static [(&'static str, &'static str)],
}

impl TestSetup {
    /// The test databases of this setup on `server`.
    async fn build(&self, server: Server<'_>) -> Result<TestDatabases> {
        let mut builder = match server {
            Server::Url(url) => TestDatabases::builder(url.clone()),
            Server::Cluster(cluster) => TestDatabases::on_cluster(cluster),
        }
        .prefix("dbops_test");
        if let Some(migrations) = &self.migrations {
            let source =
                MigrationSource::from_files(migrations.origin, migrations.files.iter().copied())?;
            builder = builder.setup(source);
        }
        if let Some(profile) = self.seed {
            builder = seed_step(builder, profile)?;
        }
        if !self.fixtures.is_empty() {
            let scripts = self
                .fixtures
                .iter()
                .fold(SqlScripts::new(), |s, (name, sql)| s.script(*name, *sql));
            builder = builder.setup(scripts);
        }
        builder.build().await
    }

    /// A key that differs when any part of the setup differs.
    fn key(&self) -> String {
        format!("{:?}", self)
    }
}

#[cfg(feature = "seed")]
fn seed_step(
    builder: super::TestDatabasesBuilder,
    profile: &str,
) -> Result<super::TestDatabasesBuilder> {
    Ok(builder.setup(super::SeedStep::new(profile.parse()?)))
}

#[cfg(not(feature = "seed"))]
fn seed_step(_: super::TestDatabasesBuilder, profile: &str) -> Result<super::TestDatabasesBuilder> {
    Err(crate::error::Error::config(
        "seed",
        format!("seeding `{profile}` needs the dbops feature `seed`"),
    ))
}

/// Where test databases are made.
enum Server<'a> {
    Url(&'a DatabaseUrl),
    Cluster(&'a TempCluster),
}

/// What a `#[dbops::test]` function takes: built from its fresh database. Implement it for a type
/// of your own to have tests take it directly:
///
/// ```
/// use dbops::testing::TestArg;
/// use dbops::{DatabaseUrl, TestDatabase};
///
/// /// The service's own repository, over the test's database.
/// struct Rides {
///     url: DatabaseUrl,
/// }
///
/// impl TestArg for Rides {
///     async fn from_database(db: &TestDatabase) -> dbops::Result<Self> {
///         Ok(Rides { url: db.url().clone() })
///     }
/// }
/// // #[dbops::test(migrations = "migrations")]
/// // async fn counts_rides(rides: Rides) { ... }
/// # let _ = |r: Rides| r.url;
/// ```
pub trait TestArg: Sized {
    /// The value for the test, from its database.
    fn from_database(db: &TestDatabase) -> impl Future<Output = Result<Self>> + Send;
}

impl TestArg for TestDatabase {
    async fn from_database(db: &TestDatabase) -> Result<Self> {
        Ok(db.handle_without_ownership())
    }
}

impl TestArg for tokio_postgres::Client {
    async fn from_database(db: &TestDatabase) -> Result<Self> {
        db.connect().await
    }
}

impl TestArg for deadpool_postgres::Pool {
    async fn from_database(db: &TestDatabase) -> Result<Self> {
        db.url().pool(&PoolOptions::default())
    }
}

impl TestArg for DatabaseUrl {
    async fn from_database(db: &TestDatabase) -> Result<Self> {
        Ok(db.url().clone())
    }
}

/// What a `#[dbops::test]` function returns: `()` or `Result<(), E: Debug>`; implement it for a
/// test outcome of your own:
///
/// ```
/// use dbops::testing::TestOutcome;
///
/// /// A check that lists everything it found wrong.
/// struct Findings(Vec<String>);
///
/// impl TestOutcome for Findings {
///     fn into_result(self) -> Result<(), String> {
///         if self.0.is_empty() { Ok(()) } else { Err(self.0.join("\n")) }
///     }
/// }
/// assert!(Findings(vec!["rides without a rider".into()]).into_result().is_err());
/// ```
pub trait TestOutcome {
    /// `Err` with the error's text when the test failed.
    fn into_result(self) -> std::result::Result<(), String>;
}

impl TestOutcome for () {
    fn into_result(self) -> std::result::Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Debug> TestOutcome for std::result::Result<(), E> {
    fn into_result(self) -> std::result::Result<(), String> {
        self.map_err(|e| format!("{e:?}"))
    }
}

/// Runs one `#[dbops::test]` (the attribute's expansion calls this): a fresh database of `setup`,
/// the test with the argument it asks for, then the database dropped, or kept and its URL printed
/// when the test failed and `DBOPS_KEEP_TEST_DBS` is set. Panics (fails the test) with a clear
/// message when the database cannot be made.
pub fn run_test<A, F, Fut>(name: &str, setup: TestSetup, test: F)
where
    A: TestArg,
    F: FnOnce(A) -> Fut,
    Fut: Future,
    Fut::Output: TestOutcome,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{name}: cannot start a tokio runtime: {e}"));
    runtime.block_on(async {
        let db = match fresh_database(&setup).await {
            Ok(db) => db,
            Err(error) => panic!(
                "{name}: could not make its test database: {}",
                crate::error::report(&error)
            ),
        };
        let arg = match A::from_database(&db).await {
            Ok(arg) => arg,
            Err(error) => panic!("{name}: {}", crate::error::report(&error)),
        };
        let outcome = AssertUnwindSafe(test(arg)).catch_unwind().await;
        finish(name, db, outcome.map(TestOutcome::into_result));
    });
}

/// Drops or keeps the database, then reports the test's failure.
fn finish(
    name: &str,
    db: TestDatabase,
    outcome: std::result::Result<std::result::Result<(), String>, Box<dyn std::any::Any + Send>>,
) {
    let passed = matches!(outcome, Ok(Ok(())));
    if !passed && std::env::var_os("DBOPS_KEEP_TEST_DBS").is_some() {
        let name_of_db = db.name().to_string();
        let url = db.keep();
        eprintln!("{name}: failed; its database `{name_of_db}` is kept: {url}");
    } else {
        // Not waited for: the next test starts at once; the process waits for its drops at exit.
        db.drop_in_background();
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!("{name} returned an error: {error}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A fresh clone of `setup`'s template, built once per setup in this process.
async fn fresh_database(setup: &TestSetup) -> Result<TestDatabase> {
    type Cells = Mutex<HashMap<String, Arc<OnceCell<TestDatabases>>>>;
    static TEMPLATES: std::sync::OnceLock<Cells> = std::sync::OnceLock::new();
    let cell = TEMPLATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(setup.key())
        .or_default()
        .clone();
    let databases = cell
        .get_or_try_init(|| async {
            match DatabaseUrl::from_env()? {
                Some(url) => setup.build(Server::Url(&url)).await,
                None => {
                    setup
                        .build(Server::Cluster(embedded_cluster().await?))
                        .await
                }
            }
        })
        .await?;
    databases.create().await
}

/// The embedded cluster of this test binary, started by the first test that needs it and stopped
/// when the process exits.
async fn embedded_cluster() -> Result<&'static TempCluster> {
    static CLUSTER: OnceCell<TempCluster> = OnceCell::const_new();
    CLUSTER
        .get_or_try_init(|| TempCluster::builder().in_memory(true).start())
        .await
}
