//! The axum router: `/healthz` and `/health/ready` (readiness), `/health/live`, `/metrics`.

use std::fmt::Write as _;
use std::sync::Arc;
#[cfg(feature = "alert")]
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use async_trait::async_trait;

use super::{HealthProbe, HealthReport};

/// Prometheus text appended to `/metrics` after the probe's own gauges (backup health, or your own).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use dbops::health::MetricsSource;
///
/// /// The jobs the service has finished, as a counter.
/// struct JobsDone(Arc<AtomicU64>);
///
/// #[async_trait::async_trait]
/// impl MetricsSource for JobsDone {
///     async fn render(&self) -> String {
///         let (name, done) = ("app_jobs_done_total", self.0.load(Ordering::Relaxed));
///         format!("# HELP {name} Jobs finished.\n# TYPE {name} counter\n{name} {done}\n")
///     }
/// }
/// # fn wire(probe: dbops::PgHealthProbe, jobs: Arc<AtomicU64>) {
/// let routes = dbops::health::router_with_metrics(probe, vec![Arc::new(JobsDone(jobs))]);
/// # let _ = routes; }
/// ```
#[async_trait]
pub trait MetricsSource: Send + Sync {
    /// The samples, in Prometheus text format (with their `# HELP`/`# TYPE` lines).
    async fn render(&self) -> String;
}

/// Routes to mount in a service (`app.merge(dbops::health::router(probe))`) for any [`HealthProbe`]:
/// `/healthz` and `/health/ready` (readiness), `/health/live`, `/metrics`; 200 with a JSON report when
/// up, 503 when down.
///
/// ```no_run
/// # fn demo(pool: dbops::deadpool_postgres::Pool, app: axum::Router) {
/// use dbops::{HealthOptions, PgHealthProbe};
///
/// // `app`: the service's own router; the probes are served beside its routes.
/// let probe = PgHealthProbe::new(pool, HealthOptions::default());
/// let app = app.merge(dbops::health::router(probe));
/// # let _ = app; }
/// ```
pub fn router(probe: impl HealthProbe + 'static) -> Router {
    router_with_metrics(probe, Vec::new())
}

/// Like [`router`], and `/metrics` also carries the samples of `sources`.
pub fn router_with_metrics(
    probe: impl HealthProbe + 'static,
    sources: Vec<Arc<dyn MetricsSource>>,
) -> Router {
    Router::new()
        .route("/healthz", get(ready))
        .route("/health/ready", get(ready))
        .route("/health/live", get(live))
        .route("/metrics", get(metrics))
        .with_state(AppState {
            probe: Arc::new(probe),
            sources: Arc::new(sources),
        })
}

/// Like [`router`], and `/metrics` also carries the backup health metrics of `backups` (checked at
/// most once a minute, however often Prometheus scrapes).
#[cfg(feature = "alert")]
pub fn router_with_backups(
    probe: impl HealthProbe + 'static,
    backups: Vec<crate::backup::BackupHealth>,
) -> Router {
    router_with_metrics(probe, vec![Arc::new(BackupMetrics::new(backups))])
}

/// Backup health as a [`MetricsSource`]: the checks run at most once a minute.
#[cfg(feature = "alert")]
pub struct BackupMetrics {
    backups: Vec<crate::backup::BackupHealth>,
    cache: tokio::sync::Mutex<Option<(Instant, String)>>,
}

#[cfg(feature = "alert")]
impl BackupMetrics {
    /// Metrics of these backup health checks.
    pub fn new(backups: Vec<crate::backup::BackupHealth>) -> Self {
        Self {
            backups,
            cache: tokio::sync::Mutex::new(None),
        }
    }
}

#[cfg(feature = "alert")]
#[async_trait]
impl MetricsSource for BackupMetrics {
    async fn render(&self) -> String {
        if self.backups.is_empty() {
            return String::new();
        }
        let mut cache = self.cache.lock().await;
        if let Some((at, text)) = cache.as_ref()
            && at.elapsed() < Duration::from_secs(60)
        {
            return text.clone();
        }
        let mut reports = Vec::new();
        for health in &self.backups {
            reports.push(health.run().await);
        }
        let text = crate::alert::metrics::render(&reports);
        *cache = Some((Instant::now(), text.clone()));
        text
    }
}

#[derive(Clone)]
struct AppState {
    probe: Arc<dyn HealthProbe>,
    sources: Arc<Vec<Arc<dyn MetricsSource>>>,
}

fn respond(report: HealthReport) -> Response {
    let code = if report.is_up() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(report)).into_response()
}

async fn ready(State(state): State<AppState>) -> Response {
    respond(state.probe.ready().await)
}

async fn live(State(state): State<AppState>) -> Response {
    respond(state.probe.live().await)
}

async fn metrics(State(state): State<AppState>) -> Response {
    let report = state.probe.ready().await;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    gauge(
        "dbops_ready",
        "1 when the readiness probe passes",
        &[(String::new(), f64::from(u8::from(report.is_up())))],
    );
    if let Some(pool) = state.probe.pool_status() {
        for (name, help, value) in [
            ("dbops_pool_size", "connections open in the pool", pool.size),
            (
                "dbops_pool_available",
                "idle connections in the pool",
                pool.available,
            ),
            (
                "dbops_pool_waiting",
                "callers waiting for a connection",
                pool.waiting,
            ),
            ("dbops_pool_max_size", "largest pool size", pool.max_size),
        ] {
            gauge(name, help, &[(String::new(), value as f64)]);
        }
    }
    let checks: Vec<(String, f64)> = report
        .checks
        .iter()
        .map(|c| (format!("{{check=\"{}\"}}", c.name), c.latency_ms / 1000.0))
        .collect();
    gauge(
        "dbops_probe_latency_seconds",
        "latency of each readiness check",
        &checks,
    );
    let up: Vec<(String, f64)> = report
        .checks
        .iter()
        .map(|c| {
            (
                format!("{{check=\"{}\"}}", c.name),
                f64::from(u8::from(c.status == super::HealthStatus::Up)),
            )
        })
        .collect();
    gauge("dbops_probe_up", "1 when the check passes", &up);
    if let Some(m) = report.migration {
        gauge(
            "dbops_migration_version",
            "recorded migration version",
            &[(String::new(), m.version as f64)],
        );
        gauge(
            "dbops_migration_dirty",
            "1 when the database is dirty",
            &[(String::new(), f64::from(u8::from(m.dirty)))],
        );
    }
    for source in state.sources.iter() {
        out.push_str(&source.render().await);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
