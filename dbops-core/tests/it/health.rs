//! Health probes and monitoring against real PostgreSQL (and a real HTTP server).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::empty_databases;
use dbops::health::{HealthOptions, HealthProbe, HealthStatus, PgHealthProbe};
use dbops::monitor::{StatusOptions, status};
use dbops::{Listen, MigrationSource, Migrator, PgMigrator, Shutdown, TempCluster, TestDatabases};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn reference() -> MigrationSource {
    MigrationSource::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
        .unwrap()
}

fn fast() -> HealthOptions {
    HealthOptions::default()
        .with_timeout(Duration::from_millis(700))
        .with_cache_ttl(Duration::ZERO)
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let code = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (code, body)
}

#[tokio::test]
async fn readiness_follows_migrations_and_dirty_state() {
    let db = empty_databases().await.create().await.unwrap();
    let probe = PgHealthProbe::for_url(db.url(), fast()).unwrap();
    let report = probe.ready().await;
    assert_eq!(report.status, HealthStatus::Down);
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.name == "migrations" && c.message.contains("schema_migrations")),
        "{report:?}"
    );

    PgMigrator::new(db.url().clone(), reference())
        .up(None)
        .await
        .unwrap();
    let report = probe.ready().await;
    assert!(report.is_up(), "{report:?}");
    assert_eq!(report.migration.unwrap().version, 8);

    let client = db.connect().await.unwrap();
    client
        .batch_execute("UPDATE schema_migrations SET dirty = true")
        .await
        .unwrap();
    let report = probe.ready().await;
    let migrations = report
        .checks
        .iter()
        .find(|c| c.name == "migrations")
        .unwrap();
    assert_eq!(migrations.status, HealthStatus::Down);
    assert!(
        migrations.message.contains("dirty at migration 8"),
        "{}",
        migrations.message
    );
    assert!(probe.live().await.is_up());
}

#[tokio::test]
async fn readiness_fails_fast_when_the_server_stops_and_recovers() {
    let cluster = TempCluster::builder()
        .listen(Listen::Tcp)
        .start()
        .await
        .unwrap();
    let dbs = TestDatabases::on_cluster(&cluster)
        .setup(reference())
        .spares(0)
        .build()
        .await
        .unwrap();
    let db = dbs.create().await.unwrap();
    let url = cluster.tcp_url().unwrap().with_database(db.name());
    let probe = PgHealthProbe::for_url(&url, fast()).unwrap();
    assert!(probe.ready().await.is_up());

    let app = dbops::health::router(probe.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let (code, body) = get(addr, "/health/ready").await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"status\":\"up\""), "{body}");
    let (code, metrics) = get(addr, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("dbops_ready 1") && metrics.contains("dbops_migration_version 8"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dbops_probe_latency_seconds{check=\"round_trip\"}"),
        "{metrics}"
    );

    cluster.stop_server(Shutdown::Immediate).await.unwrap();
    let started = Instant::now();
    let report = probe.ready().await;
    assert_eq!(report.status, HealthStatus::Down);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "readiness took {:?}",
        started.elapsed()
    );
    assert!(
        probe.live().await.is_up(),
        "liveness must not depend on the database"
    );
    let (code, _) = get(addr, "/healthz").await;
    assert_eq!(code, 503);
    let (code, _) = get(addr, "/health/live").await;
    assert_eq!(code, 200);

    cluster.start_server().await.unwrap();
    let mut up = false;
    for _ in 0..100 {
        if probe.ready().await.is_up() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "readiness did not recover after the server came back");
    server.abort();
}

#[tokio::test]
async fn probe_storms_share_one_check() {
    let db = empty_databases().await.create().await.unwrap();
    PgMigrator::new(db.url().clone(), reference())
        .up(None)
        .await
        .unwrap();
    let probe = PgHealthProbe::for_url(db.url(), HealthOptions::default()).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let probe = probe.clone();
        tasks.push(tokio::spawn(async move { probe.ready().await }));
    }
    let mut times = std::collections::HashSet::new();
    for t in tasks {
        let report = t.await.unwrap();
        assert!(report.is_up());
        times.insert(report.checked_at);
    }
    assert_eq!(
        times.len(),
        1,
        "200 concurrent probes within the cache ttl must share one check"
    );
}

#[tokio::test]
async fn status_shows_long_queries_locks_unused_indexes_and_dead_tuples() {
    let db = empty_databases().await.create().await.unwrap();
    let setup = db.connect().await.unwrap();
    setup
        .batch_execute(
            "CREATE TABLE trips (id int PRIMARY KEY, note text);
             CREATE INDEX trips_note ON trips (note);
             CREATE INDEX trips_note_again ON trips (note);
             INSERT INTO trips SELECT g, 'n' || g FROM generate_series(1, 2000) g;
             DELETE FROM trips WHERE id <= 1500;",
        )
        .await
        .unwrap();
    drop(setup); // a backend flushes its statistics when it exits
    let holder = db.connect().await.unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE trips IN ACCESS EXCLUSIVE MODE;")
        .await
        .unwrap();
    let waiter = db.connect().await.unwrap();
    let blocked =
        tokio::spawn(async move { waiter.batch_execute("SELECT count(*) FROM trips").await });
    let sleeper = db.connect().await.unwrap();
    let sleeping = tokio::spawn(async move { sleeper.batch_execute("SELECT pg_sleep(3)").await });
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let report = status(
        db.url(),
        &StatusOptions::default()
            .with_long_running_secs(1.0)
            .with_limit(10),
    )
    .await
    .unwrap();
    assert!(
        report
            .long_running
            .iter()
            .any(|s| s.query.contains("pg_sleep(3)")),
        "{:?}",
        report.long_running
    );
    let waiting = report
        .blocked
        .iter()
        .find(|s| s.query.contains("count(*) FROM trips"))
        .expect("blocked session");
    assert_eq!(waiting.blocked_by.len(), 1);
    assert!(
        report
            .unused_indexes
            .iter()
            .any(|i| i.index == "public.trips_note"),
        "{:?}",
        report.unused_indexes
    );
    assert!(
        report
            .duplicate_indexes
            .iter()
            .any(|i| i.index == "public.trips_note_again"
                && i.duplicate_of.as_deref() == Some("public.trips_note")),
        "{:?}",
        report.duplicate_indexes
    );
    let trips = report
        .vacuum
        .iter()
        .find(|v| v.table == "public.trips")
        .expect("trips in vacuum stats");
    assert!(trips.dead_tuples >= 1500, "{trips:?}");
    assert!(
        report
            .largest_tables
            .iter()
            .any(|t| t.table == "public.trips" && t.index_bytes > 0)
    );
    assert!(report.connections.iter().map(|c| c.count).sum::<i64>() >= 4);
    assert_eq!(report.archiver.archive_mode, "off");

    assert!(
        dbops::monitor::terminate(db.url(), waiting.blocked_by[0])
            .await
            .unwrap()
    );
    blocked.await.unwrap().unwrap();
    sleeping.await.unwrap().unwrap();
}
