//! The axum router: `/healthz` and `/health/ready` (readiness), `/health/live`, `/metrics`.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{HealthProbe, HealthReport, PgHealthProbe};

/// Routes to mount in a service (`app.merge(dbops::health::router(probe))`): 200 with a JSON report when
/// up, 503 when down.
pub fn router(probe: PgHealthProbe) -> Router {
    Router::new()
        .route("/healthz", get(ready))
        .route("/health/ready", get(ready))
        .route("/health/live", get(live))
        .route("/metrics", get(metrics))
        .with_state(probe)
}

fn respond(report: HealthReport) -> Response {
    let code = if report.is_up() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(report)).into_response()
}

async fn ready(State(probe): State<PgHealthProbe>) -> Response {
    respond(probe.ready().await)
}

async fn live(State(probe): State<PgHealthProbe>) -> Response {
    respond(probe.live().await)
}

async fn metrics(State(probe): State<PgHealthProbe>) -> Response {
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
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
