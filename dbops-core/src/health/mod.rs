//! Health probes for services that link dbops: liveness never touches the database; readiness checks
//! the pool, a round trip and the migration state, cached briefly so a probe storm costs one query.

#[cfg(feature = "http")]
mod http;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(all(feature = "http", feature = "alert"))]
pub use http::{BackupMetrics, router_with_backups};
#[cfg(feature = "http")]
pub use http::{MetricsSource, router, router_with_metrics};

use crate::config::{DatabaseUrl, PoolOptions, quote_ident};
use crate::error::Result;

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Healthy.
    Up,
    /// Unhealthy.
    Down,
}

/// The result of one check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    /// Check name (`pool`, `round_trip`, `migrations`, ...).
    pub name: String,
    /// Its status.
    pub status: HealthStatus,
    /// How long it took, in milliseconds.
    pub latency_ms: f64,
    /// What was found (the reason when down).
    pub message: String,
}

/// A probe's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// Down if any check is down.
    pub status: HealthStatus,
    /// Every check, in order.
    pub checks: Vec<CheckResult>,
    /// When the checks ran (a cached report keeps its time).
    pub checked_at: DateTime<Utc>,
    /// The recorded migration version and dirty flag, when the migrations check ran.
    pub migration: Option<crate::migrate::VersionState>,
}

impl HealthReport {
    /// A report of these checks: down if any is down, stamped now.
    pub fn from_checks(
        checks: Vec<CheckResult>,
        migration: Option<crate::migrate::VersionState>,
    ) -> Self {
        let status = if checks.iter().all(|c| c.status == HealthStatus::Up) {
            HealthStatus::Up
        } else {
            HealthStatus::Down
        };
        Self {
            status,
            checks,
            checked_at: Utc::now(),
            migration,
        }
    }

    /// Whether every check passed.
    pub fn is_up(&self) -> bool {
        self.status == HealthStatus::Up
    }
}

/// An extra readiness check (replica lag, backup freshness, ...).
///
/// ```
/// use std::sync::Arc;
/// use dbops::deadpool_postgres::tokio_postgres::Client;
/// use dbops::health::HealthCheck;
///
/// /// Down while this replica replays more than 30 s behind its primary.
/// struct ReplicaLag;
///
/// /// Seconds since the last transaction replayed (NULL on a primary).
/// const LAG: &str = "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8";
///
/// #[async_trait::async_trait]
/// impl HealthCheck for ReplicaLag {
///     fn name(&self) -> &str {
///         "replica_lag"
///     }
///     async fn check(&self, client: &Client) -> Result<String, String> {
///         let row = client.query_one(LAG, &[]).await.map_err(|e| e.to_string())?;
///         match row.get::<_, Option<f64>>(0) {
///             Some(lag) if lag > 30.0 => Err(format!("{lag:.0} s behind")), // why it is down
///             Some(lag) => Ok(format!("{lag:.0} s behind")),
///             None => Ok("not a replica".into()),
///         }
///     }
/// }
/// # fn wire(pool: dbops::deadpool_postgres::Pool) {
/// let options = dbops::HealthOptions::default();
/// let probe = dbops::PgHealthProbe::with_checks(pool, options, vec![Arc::new(ReplicaLag)]);
/// # let _ = probe; }
/// ```
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Its name in reports.
    fn name(&self) -> &str;
    /// Runs it with a connection from the probe's pool; `Err` text is the reason it is down.
    async fn check(&self, client: &tokio_postgres::Client) -> std::result::Result<String, String>;
}

/// Liveness and readiness probes (object-safe). [`PgHealthProbe`] checks the pool, a round trip and
/// the migrations; implement it to serve probes of your own through [`router`] (feature `http`).
///
/// ```
/// use dbops::health::{CheckResult, HealthProbe, HealthReport, HealthStatus};
///
/// /// Ready while the service's queue consumer runs.
/// struct ConsumerProbe(std::sync::Arc<std::sync::atomic::AtomicBool>);
///
/// #[async_trait::async_trait]
/// impl HealthProbe for ConsumerProbe {
///     async fn live(&self) -> HealthReport {
///         HealthReport::from_checks(Vec::new(), None)
///     }
///     async fn ready(&self) -> HealthReport {
///         let running = self.0.load(std::sync::atomic::Ordering::Relaxed);
///         let check = CheckResult {
///             name: "consumer".into(),
///             status: if running { HealthStatus::Up } else { HealthStatus::Down },
///             latency_ms: 0.0,
///             message: if running { "running" } else { "stopped" }.into(),
///         };
///         HealthReport::from_checks(vec![check], None)
///     }
/// }
/// ```
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// Whether the process is alive; never touches the database.
    async fn live(&self) -> HealthReport;
    /// Whether the service can serve: database reachable, migrations applied, extra checks pass.
    async fn ready(&self) -> HealthReport;
    /// The connection pool's state, for the `dbops_pool_*` gauges of `/metrics`. Default: none.
    fn pool_status(&self) -> Option<deadpool_postgres::Status> {
        None
    }
}

/// What readiness expects of the migrations.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MigrationExpectation {
    /// Schema of golang-migrate's table (default `public`).
    pub schema: String,
    /// The table (default `schema_migrations`).
    pub table: String,
    /// The version the service needs at least (`None`: any, as long as not dirty and not empty).
    pub min_version: Option<i64>,
}

crate::setters::with_setters!(MigrationExpectation {
    with_schema => schema: into String,
    with_table => table: into String,
    with_min_version => min_version: opt i64,
});

impl Default for MigrationExpectation {
    fn default() -> Self {
        Self {
            schema: "public".into(),
            table: "schema_migrations".into(),
            min_version: None,
        }
    }
}

/// Options of a [`PgHealthProbe`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HealthOptions {
    /// Time allowed for the whole readiness check. Default: 2 s.
    pub timeout: Duration,
    /// How long a readiness report is reused. Default: 1 s (0 disables the cache).
    pub cache_ttl: Duration,
    /// Migration state to require; `None` skips the check. Default: required, any version.
    pub migrations: Option<MigrationExpectation>,
}

crate::setters::with_setters!(HealthOptions {
    with_timeout => timeout: Duration,
    with_cache_ttl => cache_ttl: Duration,
    with_migrations => migrations: opt MigrationExpectation,
});

impl Default for HealthOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            cache_ttl: Duration::from_secs(1),
            migrations: Some(MigrationExpectation::default()),
        }
    }
}

struct Inner {
    pool: deadpool_postgres::Pool,
    options: HealthOptions,
    extra: Vec<Arc<dyn HealthCheck>>,
    cached: tokio::sync::Mutex<Option<(Instant, HealthReport)>>,
    started: Instant,
}

/// The PostgreSQL probe; a cheap `Clone` handle.
///
/// ```no_run
/// # async fn demo(pool: dbops::deadpool_postgres::Pool) {
/// use std::time::Duration;
/// use dbops::health::MigrationExpectation;
/// use dbops::{HealthOptions, HealthProbe, PgHealthProbe};
///
/// // Ready only once the schema is at version 12 (this build's) or later.
/// let options = HealthOptions::default()
///     .with_timeout(Duration::from_millis(500))
///     .with_migrations(MigrationExpectation::default().with_min_version(12));
/// let probe = PgHealthProbe::new(pool, options);
/// let report = probe.ready().await; // cached for `cache_ttl`: a probe storm costs one query
/// println!("ready: {}", report.is_up());
/// # }
/// ```
#[derive(Clone)]
pub struct PgHealthProbe {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PgHealthProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHealthProbe")
            .field("options", &self.inner.options)
            .finish()
    }
}

impl PgHealthProbe {
    /// A probe over a service's pool.
    pub fn new(pool: deadpool_postgres::Pool, options: HealthOptions) -> Self {
        Self::with_checks(pool, options, Vec::new())
    }

    /// A probe with extra readiness checks.
    pub fn with_checks(
        pool: deadpool_postgres::Pool,
        options: HealthOptions,
        extra: Vec<Arc<dyn HealthCheck>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                options,
                extra,
                cached: tokio::sync::Mutex::new(None),
                started: Instant::now(),
            }),
        }
    }

    /// A probe with its own small pool (4 connections) to `url`.
    pub fn for_url(url: &DatabaseUrl, options: HealthOptions) -> Result<Self> {
        let pool = url.pool(&PoolOptions {
            max_size: Some(4),
            wait_timeout: Some(options.timeout),
            create_timeout: Some(options.timeout),
        })?;
        Ok(Self::new(pool, options))
    }

    /// The pool it checks.
    pub fn pool(&self) -> &deadpool_postgres::Pool {
        &self.inner.pool
    }

    /// Seconds since the probe was created.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    async fn run_checks(&self) -> (Vec<CheckResult>, Option<crate::migrate::VersionState>) {
        let mut checks = Vec::new();
        let Some(client) = self.pool_check(&mut checks).await else {
            return (checks, None);
        };
        let Some(client) = self.round_trip_check(client, &mut checks).await else {
            return (checks, None);
        };
        let mut migration = None;
        if let Some(expect) = &self.inner.options.migrations {
            let (check, state) = migrations_check(&client, expect).await;
            checks.push(check);
            migration = state;
        }
        self.extra_checks(&client, &mut checks).await;
        (checks, migration)
    }

    /// The `pool` check: a connection from the pool within the timeout (`None`: none came).
    async fn pool_check(&self, checks: &mut Vec<CheckResult>) -> Option<deadpool_postgres::Object> {
        let inner = &self.inner;
        let started = Instant::now();
        match tokio::time::timeout(inner.options.timeout, inner.pool.get()).await {
            Ok(Ok(client)) => {
                checks.push(up(
                    "pool",
                    started,
                    format!(
                        "connection acquired ({} idle)",
                        inner.pool.status().available
                    ),
                ));
                Some(client)
            }
            Ok(Err(e)) => {
                checks.push(down(
                    "pool",
                    started,
                    format!("no connection: {}", crate::error::report(&e)),
                ));
                None
            }
            Err(_) => {
                checks.push(down(
                    "pool",
                    started,
                    format!("no connection within {:?}", inner.options.timeout),
                ));
                None
            }
        }
    }

    /// The `round_trip` check: `SELECT 1` answered in time. Gives the connection back when it
    /// answered; otherwise takes it out of the pool (`None`).
    async fn round_trip_check(
        &self,
        client: deadpool_postgres::Object,
        checks: &mut Vec<CheckResult>,
    ) -> Option<deadpool_postgres::Object> {
        let started = Instant::now();
        let remaining = self.inner.options.timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, client.simple_query("SELECT 1")).await {
            Ok(Ok(_)) => {
                checks.push(up("round_trip", started, "SELECT 1 answered".into()));
                Some(client)
            }
            Ok(Err(e)) => {
                checks.push(down("round_trip", started, format!("query failed: {e}")));
                // A broken connection must not go back to the pool.
                drop(deadpool_postgres::Object::take(client));
                None
            }
            Err(_) => {
                checks.push(down(
                    "round_trip",
                    started,
                    format!("no answer within {remaining:?}"),
                ));
                drop(deadpool_postgres::Object::take(client));
                None
            }
        }
    }

    /// The extra checks, in the order they were given.
    async fn extra_checks(&self, client: &tokio_postgres::Client, checks: &mut Vec<CheckResult>) {
        for check in &self.inner.extra {
            let started = Instant::now();
            checks.push(match check.check(client).await {
                Ok(message) => up(check.name(), started, message),
                Err(message) => down(check.name(), started, message),
            });
        }
    }
}

/// The `migrations` check: golang-migrate's table holds a clean version, at least the expected one;
/// with the state read, if any.
async fn migrations_check(
    client: &tokio_postgres::Client,
    expect: &MigrationExpectation,
) -> (CheckResult, Option<crate::migrate::VersionState>) {
    let mut migration = None;
    let started = Instant::now();
    let sql = format!(
        "SELECT version, dirty FROM {}.{} LIMIT 1",
        quote_ident(&expect.schema),
        quote_ident(&expect.table)
    );
    let result = match client.query_opt(&sql, &[]).await {
        Ok(Some(row)) => {
            let (version, dirty): (i64, bool) = (row.get(0), row.get(1));
            migration = Some(crate::migrate::VersionState { version, dirty });
            if dirty {
                Err(format!(
                    "database is dirty at migration {version}: a migration failed part-way; see `dbops migrate status`"
                ))
            } else if expect.min_version.is_some_and(|min| version < min) {
                Err(format!(
                    "migration version {version} is below the required {:?}",
                    expect.min_version
                ))
            } else {
                Ok(format!("migration version {version}"))
            }
        }
        Ok(None) => Err("no migration applied yet".into()),
        Err(e) => Err(format!(
            "cannot read {}.{}: {e}",
            expect.schema, expect.table
        )),
    };
    let check = match result {
        Ok(message) => up("migrations", started, message),
        Err(message) => down("migrations", started, message),
    };
    (check, migration)
}

fn up(name: &str, started: Instant, message: String) -> CheckResult {
    CheckResult {
        name: name.into(),
        status: HealthStatus::Up,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        message,
    }
}

fn down(name: &str, started: Instant, message: String) -> CheckResult {
    CheckResult {
        name: name.into(),
        status: HealthStatus::Down,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        message,
    }
}

#[async_trait]
impl HealthProbe for PgHealthProbe {
    async fn live(&self) -> HealthReport {
        HealthReport::from_checks(
            vec![CheckResult {
                name: "process".into(),
                status: HealthStatus::Up,
                latency_ms: 0.0,
                message: format!("up for {} s", self.uptime().as_secs()),
            }],
            None,
        )
    }

    async fn ready(&self) -> HealthReport {
        // One probe runs at a time; the others wait and reuse its fresh report.
        let mut cached = self.inner.cached.lock().await;
        if let Some((at, report)) = cached.as_ref()
            && at.elapsed() < self.inner.options.cache_ttl
        {
            return report.clone();
        }
        let (checks, migration) = self.run_checks().await;
        let report = HealthReport::from_checks(checks, migration);
        *cached = Some((Instant::now(), report.clone()));
        report
    }

    fn pool_status(&self) -> Option<deadpool_postgres::Status> {
        Some(self.pool().status())
    }
}
