//! Traffic queued behind a migration: a workload of point reads and writes on `rides` while a
//! migration needs ACCESS EXCLUSIVE and a long transaction holds a conflicting ACCESS SHARE for
//! HOLD seconds. `psql -1 -f` (no lock_timeout, as shell scripts and golang-migrate run migrations)
//! waits for the lock with every later query of the table queued behind it; dbops waits at most its
//! lock_timeout per attempt, steps aside, and retries. Prints the workload's worst and p99 latency
//! and how long the migration took, each way.
//!
//! Run: `cargo run --release -p dbops-benches --bin lock_queue -- [ROWS] [HOLD_SECS] [ROUNDS]`
//! (defaults: 1000000 rows, 5 s, 3 rounds)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dbops::config::ChildEnv;
use dbops::{DatabaseUrl, MigrateOptions, MigrationSource, Migrator, PgMigrator, TempCluster};

const WORKERS: i64 = 8;
const MIGRATION: &str = "ALTER TABLE rides ADD COLUMN tip numeric;";

/// How the migration is run.
#[derive(Clone, Copy)]
enum Runner {
    Psql,
    Dbops(Option<Duration>),
}

impl Runner {
    fn label(self) -> String {
        match self {
            Runner::Psql => "psql -1 -f (no lock_timeout)".into(),
            Runner::Dbops(Some(t)) => format!("dbops up, lock_timeout {} ms", t.as_millis()),
            Runner::Dbops(None) => "dbops up, lock_timeout off".into(),
        }
    }
}

/// Latencies of the workload's queries, in microseconds.
fn workload(
    url: &DatabaseUrl,
    rows: i64,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<u64>>> {
    (0..WORKERS)
        .map(|worker| {
            let (url, stop) = (url.clone(), stop.clone());
            tokio::spawn(async move {
                let client = url.connect().await.expect("workload connection");
                let mut latencies = Vec::new();
                let mut id = worker * 7919 % rows + 1;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    if id % 2 == 0 {
                        client
                            .execute("UPDATE rides SET fare = fare + 1 WHERE id = $1", &[&id])
                            .await
                            .expect("update");
                    } else {
                        client
                            .query_one("SELECT fare FROM rides WHERE id = $1", &[&id])
                            .await
                            .expect("select");
                    }
                    latencies.push(started.elapsed().as_micros() as u64);
                    id = (id + 104_729) % rows + 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                latencies
            })
        })
        .collect()
}

async fn migrate(
    runner: Runner,
    cluster: &TempCluster,
    url: &DatabaseUrl,
    dir: &std::path::Path,
) -> bool {
    match runner {
        Runner::Psql => {
            let env = ChildEnv::for_url(url).expect("child env");
            let mut cmd = tokio::process::Command::new(cluster.binaries().program("psql"));
            cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f"])
                .arg(dir.join("000002_tip.up.sql"));
            env.apply(&mut cmd);
            cmd.status().await.expect("psql").success()
        }
        Runner::Dbops(lock_timeout) => {
            let source = MigrationSource::from_files(
                "bench",
                [
                    ("000001_rides.up.sql".to_string(), "SELECT 1;".to_string()),
                    ("000002_tip.up.sql".to_string(), MIGRATION.to_string()),
                ],
            )
            .expect("source");
            let options = MigrateOptions::default().with_lock_timeout(lock_timeout);
            let migrator = PgMigrator::new(url.clone(), source).options(options);
            migrator.force(Some(1)).await.expect("force");
            migrator.up(None).await.is_ok()
        }
    }
}

/// One round: (worst, p99, queries, migration time, applied).
async fn round(
    runner: Runner,
    cluster: &TempCluster,
    url: &DatabaseUrl,
    rows: i64,
    hold: Duration,
    dir: &std::path::Path,
) -> (Duration, Duration, usize, Duration, bool) {
    let admin = url.connect().await.expect("connect");
    admin
        .batch_execute("ALTER TABLE rides DROP COLUMN IF EXISTS tip; DROP TABLE IF EXISTS schema_migrations, dbops_migration_history")
        .await
        .expect("reset");
    let long = url.connect().await.expect("connect");
    long.batch_execute("BEGIN; SELECT count(*) FROM rides WHERE id < 10;")
        .await
        .expect("long transaction");
    let stop = Arc::new(AtomicBool::new(false));
    let workers = workload(url, rows, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let migration = async {
        let applied = migrate(runner, cluster, url, dir).await;
        (applied, Instant::now())
    };
    let release = async {
        tokio::time::sleep(hold).await;
        long.batch_execute("COMMIT").await.expect("commit");
    };
    let ((applied, finished), ()) = tokio::join!(migration, release);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    latencies.sort_unstable();
    let at = |q: f64| Duration::from_micros(latencies[((latencies.len() - 1) as f64 * q) as usize]);
    (
        at(1.0),
        at(0.99),
        latencies.len(),
        finished - started,
        applied,
    )
}

#[tokio::main]
async fn main() -> dbops::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: i64 = args.first().map_or(1_000_000, |a| a.parse().expect("ROWS"));
    let hold = Duration::from_secs(args.get(1).map_or(5, |a| a.parse().expect("HOLD_SECS")));
    let rounds: usize = args.get(2).map_or(3, |a| a.parse().expect("ROUNDS"));
    let cluster = TempCluster::builder()
        .listen(dbops::Listen::Tcp)
        .start()
        .await?;
    let url = cluster.url();
    let client = url.connect().await?;
    client
        .batch_execute(&format!(
            "CREATE TABLE rides (id bigint PRIMARY KEY, driver_id bigint, fare numeric, note text);
             INSERT INTO rides SELECT g, g % 1000, g * 1.5, 'ride ' || g FROM generate_series(1, {rows}) g;
"
        ))
        .await
        .map_err(|e| dbops::Error::postgres("creating rides", e))?;
    client
        .batch_execute("VACUUM ANALYZE rides")
        .await
        .map_err(|e| dbops::Error::postgres("vacuuming rides", e))?;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("000002_tip.up.sql"), MIGRATION).expect("write");
    println!(
        "{rows} rows, {WORKERS} workers (point SELECT/UPDATE every 2 ms each), a transaction holding ACCESS SHARE for {} s, `{MIGRATION}`",
        hold.as_secs()
    );
    println!("| migration run by | worst query | p99 query | queries | migration took | applied |");
    println!("|---|---|---|---|---|---|");
    let runners = [
        Runner::Psql,
        Runner::Dbops(Some(dbops::migrate::DEFAULT_LOCK_TIMEOUT)),
        Runner::Dbops(Some(Duration::from_millis(200))),
    ];
    for runner in runners {
        for _ in 0..rounds {
            let (worst, p99, n, took, applied) =
                round(runner, &cluster, &url, rows, hold, dir.path()).await;
            println!(
                "| {} | {:.0} ms | {:.1} ms | {n} | {:.2} s | {applied} |",
                runner.label(),
                worst.as_secs_f64() * 1000.0,
                p99.as_secs_f64() * 1000.0,
                took.as_secs_f64()
            );
        }
    }
    cluster.stop().await
}
