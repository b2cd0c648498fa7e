//! A ride-hailing service as a team would write it with dbops: a connection pool, the migrations
//! embedded in the binary and applied at startup (safe with many replicas starting at once: one
//! migrates, the others wait and find the schema up to date), the health routes (`/healthz`,
//! `/health/live`, `/health/ready`, `/metrics`) and graceful shutdown on SIGTERM.
//!
//! The HTTP server starts before the migrations run: `/health/live` answers 200 at once, and
//! `/health/ready` answers 503 until the schema is at this build's version, so a load balancer
//! sends no traffic to a replica whose schema is not there yet.
//!
//! Run: `DATABASE_URL=postgres://... cargo run -p dbops-example-service` (`BIND`, default
//! `0.0.0.0:8080`). It prints `listening on ADDR` once the port is bound.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use dbops::deadpool_postgres::Pool;
use dbops::health::{HealthOptions, MigrationExpectation, PgHealthProbe};
use dbops::{DatabaseUrl, MigrationSource, PoolOptions};

/// The reference schema's migrations, compiled into the binary.
static MIGRATIONS: include_dir::Dir =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../../migrations");

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {}", dbops::error::report(error.as_ref()));
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = DatabaseUrl::from_env()?.ok_or("set DATABASE_URL to the service's database")?;
    let pool = url.pool(&PoolOptions::default())?;
    let migrations = MigrationSource::embedded(&MIGRATIONS)?;
    // Ready only at this build's schema version (and not dirty).
    let health = HealthOptions::default()
        .with_migrations(MigrationExpectation::default().with_min_version(migrations.latest()));
    let app = Router::new()
        .route("/rides/count", get(ride_count))
        .with_state(pool.clone())
        .merge(dbops::health::router(PgHealthProbe::new(
            pool.clone(),
            health,
        )));

    let bind = std::env::var("BIND").unwrap_or_else(|_| "0.0.0.0:8080".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("listening on {}", listener.local_addr()?);

    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
    });
    let report = dbops::migrate_on_startup(&pool, migrations).await?;
    match report.applied.len() {
        0 => println!("schema up to date at version {:?}", report.to),
        n => println!(
            "applied {n} migrations: version {:?} -> {:?} (waited {:?} for the lock)",
            report.from, report.to, report.lock_wait
        ),
    }
    server.await??;
    pool.close();
    println!("stopped");
    Ok(())
}

/// A route of the service itself, on the same pool.
async fn ride_count(State(pool): State<Pool>) -> Result<String, StatusCode> {
    let client = pool
        .get()
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let row = client
        .query_one("SELECT count(*) FROM rides", &[])
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(row.get::<_, i64>(0).to_string())
}

/// SIGTERM (Kubernetes, systemd) or Ctrl-C: stop accepting, finish the requests in flight.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            eprintln!("warning: no SIGTERM handler ({error}); stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    println!("shutting down");
    // Requests in flight get this long; a probe or a short query finishes well within it.
    tokio::spawn(async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        eprintln!("requests still running after 10 s: exiting anyway");
        std::process::exit(1);
    });
}
