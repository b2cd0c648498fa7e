//! The axum router: `/healthz` and `/health/ready` (readiness), `/health/live`, `/metrics`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{HealthProbe, HealthReport, PgHealthProbe};
use crate::backup::BackupHealth;

/// Routes to mount in a service (`app.merge(dbops::health::router(probe))`): 200 with a JSON report when
/// up, 503 when down.
pub fn router(probe: PgHealthProbe) -> Router {
    router_with_backups(probe, Vec::new())
}

/// Like [`router`], and `/metrics` also carries the backup health metrics of `backups` (checked at
/// most once a minute, however often Prometheus scrapes).
pub fn router_with_backups(probe: PgHealthProbe, backups: Vec<BackupHealth>) -> Router {
    Router::new()
        .route("/healthz", get(ready))
        .route("/health/ready", get(ready))
        .route("/health/live", get(live))
        .route("/metrics", get(metrics))
        .with_state(AppState {
            probe,
            backups: Arc::new(backups),
            cache: Arc::new(tokio::sync::Mutex::new(None)),
        })
}

type BackupCache = Arc<tokio::sync::Mutex<Option<(Instant, String)>>>;

#[derive(Clone)]
struct AppState {
    probe: PgHealthProbe,
    backups: Arc<Vec<BackupHealth>>,
    cache: BackupCache,
}

async fn backup_metrics(state: &AppState) -> String {
    if state.backups.is_empty() {
        return String::new();
    }
    let mut cache = state.cache.lock().await;
    if let Some((at, text)) = cache.as_ref()
        && at.elapsed() < Duration::from_secs(60)
    {
        return text.clone();
    }
    let mut reports = Vec::new();
    for health in state.backups.iter() {
        reports.push(health.run().await);
    }
    let text = crate::alert::metrics::render(&reports);
    *cache = Some((Instant::now(), text.clone()));
    text
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
    let probe = &state.probe;
    let report = probe.ready().await;
    let pool = probe.pool().status();
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
    gauge(
        "dbops_pool_size",
        "connections open in the pool",
        &[(String::new(), pool.size as f64)],
    );
    gauge(
        "dbops_pool_available",
        "idle connections in the pool",
        &[(String::new(), pool.available as f64)],
    );
    gauge(
        "dbops_pool_waiting",
        "callers waiting for a connection",
        &[(String::new(), pool.waiting as f64)],
    );
    gauge(
        "dbops_pool_max_size",
        "largest pool size",
        &[(String::new(), pool.max_size as f64)],
    );
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
    out.push_str(&backup_metrics(&state).await);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
