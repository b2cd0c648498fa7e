//! [`TestDatabases`]: a fresh, migrated (and optionally seeded) database per test in milliseconds.
//!
//! A template database is built once per distinct setup (keyed by the setup's fingerprint and the
//! server version, under an advisory lock so parallel test processes build it once), sealed
//! (`IS_TEMPLATE true ALLOW_CONNECTIONS false`), and cloned per test with
//! `CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY`. Clones are dropped `WITH (FORCE)` when their
//! [`TestDatabase`] is dropped; clones left by killed processes on this host are swept at the next build.

#[cfg(feature = "macros")]
mod harness;
mod janitor;
#[cfg(feature = "seed")]
mod seed_step;
mod setup;
mod spares;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use spares::Spares;
use tokio::sync::Mutex;
use tokio_postgres::Client;

// The `#[dbops::test]` macro's plumbing: public for the code it generates, not an extension point.
#[cfg(feature = "macros")]
#[doc(hidden)]
pub use harness::{EmbeddedFiles, TestArg, TestOutcome, TestSetup, run_test};
#[cfg(feature = "seed")]
pub use seed_step::SeedStep;
pub use setup::{SqlScripts, TemplateSetup};

use crate::cluster::TempCluster;
use crate::config::{DatabaseUrl, quote_ident, quote_literal};
use crate::error::{Error, Result};

/// Options of a [`TestDatabases`].
pub struct TestDatabasesBuilder {
    admin: DatabaseUrl,
    setups: Vec<Arc<dyn TemplateSetup>>,
    prefix: String,
    cluster: Option<TempCluster>,
    spares: usize,
}

impl TestDatabasesBuilder {
    /// Adds a setup step (migrations, seed, SQL); steps run in the order added.
    pub fn setup(mut self, step: impl TemplateSetup + 'static) -> Self {
        self.setups.push(Arc::new(step));
        self
    }

    /// Adds a shared setup step.
    pub fn setup_arc(mut self, step: Arc<dyn TemplateSetup>) -> Self {
        self.setups.push(step);
        self
    }

    /// Prefix of the template and clone names. Default: `dbops`. Letters, digits and `_`, at most 20.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How many clones to keep ready in the background so `create()` only hands one out. Default: 2;
    /// 0 clones on demand only. Spares are dropped at process exit like every clone.
    pub fn spares(mut self, count: usize) -> Self {
        self.spares = count;
        self
    }

    /// Builds (or finds) the template database.
    #[tracing::instrument(name = "testing.build", skip_all)]
    pub async fn build(self) -> Result<TestDatabases> {
        self.check_prefix()?;
        let mut client = self.admin.connect_for_work().await?;
        let version: i32 = query_one(
            &client,
            "SHOW server_version_num",
            "reading the server version",
        )
        .await?
        .parse()
        .unwrap_or(0);
        let key = self.template_key(version);
        let template = format!("{}_tpl_{}", self.prefix, &key[..16]);
        let lock_id = i64::from_be_bytes(
            hex::decode(&key[..16])
                .ok()
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 8]),
        );
        sweep_stale_clones(&client, &self.prefix).await;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&lock_id])
            .await
            .map_err(|e| Error::postgres("waiting for the template build lock", e))?;
        let marker = format!("dbops template {key}");
        self.ensure_template(&mut client, &template, &marker)
            .await?;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&lock_id])
            .await
            .map_err(|e| Error::postgres("releasing the template build lock", e))?;
        Ok(self.into_databases(version, &key, template))
    }

    /// Refuses a prefix that is not 1-20 letters, digits or `_`.
    fn check_prefix(&self) -> Result<()> {
        if self.prefix.is_empty()
            || self.prefix.len() > 20
            || !self
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Error::config(
                "test database prefix",
                format!("`{}` must be 1-20 letters, digits or `_`", self.prefix),
            ));
        }
        Ok(())
    }

    /// The template's key (hex SHA-256): the server version and every setup step's fingerprint.
    fn template_key(&self, version: i32) -> String {
        let mut hash = Sha256::new();
        hash.update(b"dbops-template-v1\0");
        hash.update(version.to_string().as_bytes());
        for step in &self.setups {
            hash.update([0]);
            hash.update(step.fingerprint().as_bytes());
        }
        hex::encode(hash.finalize())
    }

    /// Keeps the template if it is sealed with `marker`; otherwise (re)builds it, dropping what a
    /// failed build leaves. Runs under the template build lock.
    async fn ensure_template(
        &self,
        client: &mut Client,
        template: &str,
        marker: &str,
    ) -> Result<()> {
        let sealed: Option<(bool, Option<String>)> = client
            .query_opt(
                "SELECT datistemplate, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                &[&template],
            )
            .await
            .map_err(|e| Error::postgres(format!("looking for template database `{template}`"), e))?
            .map(|row| (row.get(0), row.get(1)));
        match sealed {
            Some((true, Some(comment))) if comment == marker => {}
            existing => {
                if existing.is_some() {
                    // A build interrupted by a crash: start over.
                    drop_database(client, template).await?;
                }
                if let Err(error) = self.build_template(client, template, marker).await {
                    let _ = drop_database(client, template).await;
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// The clone factory of `template` (built on a server of `version`, with key `key`), its spares
    /// filling in the background.
    fn into_databases(self, version: i32, key: &str, template: String) -> TestDatabases {
        let file_copy = version >= 150000;
        let counter = Arc::new(AtomicU64::new(0));
        let name_prefix = format!("{}_t_{}_{}", self.prefix, &key[..8], std::process::id());
        let spares = Spares::new(
            self.admin.clone(),
            template.clone(),
            name_prefix.clone(),
            file_copy,
            counter.clone(),
            self.spares,
        );
        spares.refill();
        TestDatabases {
            inner: Arc::new(Inner {
                admin: self.admin,
                template,
                name_prefix,
                file_copy,
                counter,
                spares,
                client: Mutex::new(None),
                _cluster: self.cluster,
            }),
        }
    }

    async fn build_template(
        &self,
        client: &mut Client,
        template: &str,
        marker: &str,
    ) -> Result<()> {
        let ident = quote_ident(template);
        client
            .batch_execute(&format!("CREATE DATABASE {ident}"))
            .await
            .map_err(|e| Error::postgres(format!("creating template database `{template}`"), e))?;
        let url = self.admin.with_database(template);
        for step in &self.setups {
            step.apply(&url).await?;
        }
        client
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&template],
            )
            .await
            .map_err(|e| Error::postgres(format!("closing connections to `{template}`"), e))?;
        client
            .batch_execute(&format!(
                "ALTER DATABASE {ident} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false; \
                 COMMENT ON DATABASE {ident} IS {}",
                quote_literal(marker)
            ))
            .await
            .map_err(|e| Error::postgres(format!("sealing template database `{template}`"), e))?;
        Ok(())
    }
}

struct Inner {
    admin: DatabaseUrl,
    template: String,
    name_prefix: String,
    file_copy: bool,
    counter: Arc<AtomicU64>,
    spares: Arc<Spares>,
    client: Mutex<Option<Client>>,
    _cluster: Option<TempCluster>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for name in self.spares.close() {
            janitor::drop_later(self.admin.clone(), name);
        }
    }
}

/// The name of clone number `n` and the statements that make it (CREATE DATABASE cannot share a
/// batch with the COMMENT that labels it for the stale-clone sweep).
fn clone_sql(name_prefix: &str, n: u64, template: &str, file_copy: bool) -> (String, [String; 2]) {
    let name = format!(
        "{name_prefix}_{n}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let strategy = if file_copy { " STRATEGY FILE_COPY" } else { "" };
    let create = format!(
        "CREATE DATABASE {} TEMPLATE {}{strategy}",
        quote_ident(&name),
        quote_ident(template)
    );
    let comment = format!(
        "COMMENT ON DATABASE {} IS {}",
        quote_ident(&name),
        quote_literal(&clone_comment())
    );
    (name, [create, comment])
}

/// A sealed template and a factory of fresh clones. Cheap to clone.
///
/// ```no_run
/// # async fn demo(admin: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::{MigrationSource, TestDatabases};
///
/// // `admin`: a role with CREATEDB on the test server.
/// let databases = TestDatabases::builder(admin)
///     .setup(MigrationSource::from_dir("migrations")?) // the template is migrated once
///     .build()
///     .await?;
/// let db = databases.create().await?; // a fresh clone, dropped when `db` is
/// let client = db.connect().await?;
/// # drop(client); Ok(()) }
/// ```
#[derive(Clone)]
pub struct TestDatabases {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TestDatabases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabases")
            .field("admin", &self.inner.admin)
            .field("template", &self.inner.template)
            .finish()
    }
}

impl TestDatabases {
    /// Options for test databases on the server of `admin` (a superuser or a role with CREATEDB).
    pub fn builder(admin: DatabaseUrl) -> TestDatabasesBuilder {
        TestDatabasesBuilder {
            admin,
            setups: Vec::new(),
            prefix: "dbops".into(),
            cluster: None,
            spares: 2,
        }
    }

    /// Options for test databases on `cluster`, which stays alive as long as they do.
    pub fn on_cluster(cluster: &TempCluster) -> TestDatabasesBuilder {
        let mut builder = Self::builder(cluster.url());
        builder.cluster = Some(cluster.clone());
        builder
    }

    /// The template database's name.
    pub fn template_name(&self) -> &str {
        &self.inner.template
    }

    /// Creates a fresh clone of the template.
    #[tracing::instrument(name = "testing.create", skip_all)]
    pub async fn create(&self) -> Result<TestDatabase> {
        let inner = &self.inner;
        if let Some(name) = inner.spares.take() {
            inner.spares.refill();
            return Ok(self.handle(name));
        }
        let n = inner.counter.fetch_add(1, Ordering::Relaxed);
        let (name, statements) = clone_sql(&inner.name_prefix, n, &inner.template, inner.file_copy);
        let mut guard = inner.client.lock().await;
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = Some(admin_connect(&inner.admin).await?);
        }
        let client = guard
            .as_ref()
            .ok_or_else(|| Error::config("test databases", "no admin connection"))?;
        client.batch_execute(&statements[0]).await.map_err(|e| {
            Error::postgres(format!("cloning `{}` into `{name}`", inner.template), e)
        })?;
        let labelled = client.batch_execute(&statements[1]).await;
        drop(guard);
        let db = self.handle(name);
        labelled
            .map_err(|e| Error::postgres(format!("labelling test database `{}`", db.name), e))?;
        inner.spares.refill();
        Ok(db)
    }

    fn handle(&self, name: String) -> TestDatabase {
        let inner = &self.inner;
        TestDatabase {
            url: inner.admin.with_database(&name),
            admin: inner.admin.clone(),
            name,
            state: CloneState::Owned,
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloneState {
    Owned,
    Kept,
    Dropped,
}

/// One fresh database; dropped (`WITH (FORCE)`) in the background when this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: DatabaseUrl,
    admin: DatabaseUrl,
    name: String,
    state: CloneState,
}

impl TestDatabase {
    /// Its connection URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Opens a connection to it.
    pub async fn connect(&self) -> Result<Client> {
        self.url.connect().await
    }

    /// Drops the database now and waits for it.
    pub async fn drop_now(mut self) -> Result<()> {
        self.state = CloneState::Dropped;
        let client = self.admin.connect_for_work().await?;
        drop_database(&client, &self.name).await
    }

    /// A second handle to the same database that never drops it (the owner's handle decides).
    #[cfg(feature = "macros")]
    pub(crate) fn handle_without_ownership(&self) -> TestDatabase {
        TestDatabase {
            url: self.url.clone(),
            admin: self.admin.clone(),
            name: self.name.clone(),
            state: CloneState::Kept,
        }
    }

    /// Drops the database in the background (at process exit at the latest), whatever
    /// `DBOPS_KEEP_TEST_DBS` says.
    #[cfg(feature = "macros")]
    pub(crate) fn drop_in_background(mut self) {
        self.state = CloneState::Dropped;
        janitor::drop_later(self.admin.clone(), self.name.clone());
    }

    /// Keeps the database after this value is dropped (to inspect a failed test). Returns its URL.
    pub fn keep(mut self) -> DatabaseUrl {
        self.state = CloneState::Kept;
        self.url.clone()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.state != CloneState::Owned || std::env::var_os("DBOPS_KEEP_TEST_DBS").is_some() {
            return;
        }
        let (admin, name) = (self.admin.clone(), self.name.clone());
        if tokio::runtime::Handle::try_current().is_ok() {
            janitor::drop_later(admin, name);
        } else {
            janitor::drop_and_wait(admin, name);
        }
    }
}

/// A runtime that lives as long as the process, driving the cached admin connection: test harnesses
/// run each test on its own runtime, and a connection driven by a finished test's runtime is dead.
fn background() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<Option<tokio::runtime::Runtime>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("dbops-test-db-admin")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
        .ok_or_else(|| Error::config("test databases", "cannot start the background runtime"))
}

/// Connects on the background runtime (its socket and driver task live there).
async fn admin_connect(url: &DatabaseUrl) -> Result<Client> {
    let url = url.clone();
    background()?
        .spawn(async move { url.connect_for_work().await })
        .await
        .map_err(|e| {
            Error::config(
                "test databases",
                format!("admin connection task failed: {e}"),
            )
        })?
}

async fn query_one(client: &Client, sql: &str, context: &str) -> Result<String> {
    let rows = client
        .simple_query(sql)
        .await
        .map_err(|e| Error::postgres(context.to_string(), e))?;
    rows.iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .ok_or_else(|| Error::config("server", format!("no answer while {context}")))
}

async fn drop_database(client: &Client, name: &str) -> Result<()> {
    client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(name)
        ))
        .await
        .map_err(|e| Error::postgres(format!("dropping database `{name}`"), e))
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}

fn clone_comment() -> String {
    let pid = std::process::id();
    let started = crate::cluster::process_start_time(pid).unwrap_or(0);
    format!("dbops clone host={} pid={pid} start={started}", hostname())
}

/// Drops clones made on this host by processes that no longer exist.
async fn sweep_stale_clones(client: &Client, prefix: &str) {
    let pattern = format!("{}\\_t\\_%", prefix.replace('_', "\\_"));
    let Ok(rows) = client
        .query(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname LIKE $1",
            &[&pattern],
        )
        .await
    else {
        return;
    };
    let host = hostname();
    for row in rows {
        let name: String = row.get(0);
        let Some(comment): Option<String> = row.get(1) else {
            continue;
        };
        let fields: std::collections::HashMap<&str, &str> = comment
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let (Some(h), Some(pid), Some(start)) = (
            fields.get("host"),
            fields.get("pid").and_then(|p| p.parse::<u32>().ok()),
            fields.get("start").and_then(|s| s.parse::<u64>().ok()),
        ) else {
            continue;
        };
        let owner_alive =
            crate::cluster::process_start_time(pid).is_some_and(|now| now == start || start == 0);
        if *h == host && !owner_alive {
            let _ = drop_database(client, &name).await;
        }
    }
}
