//! Migrations that never take production down, against real PostgreSQL: the lock plan of pending
//! migrations on a live database (sizes, sessions in the way, verdicts), the startup risk guard,
//! and a workload of readers and writers that a migration needing an exclusive lock never holds
//! up for longer than its lock_timeout, while a long transaction holds a conflicting lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dbops::migrate::lint::{Blocks, LockMode, Work};
use dbops::migrate::plan::{PlanOptions, RiskGuard, Verdict};
use dbops::{Error, MigrateOptions, MigrationSource, Migrator, PgMigrator, TestDatabase};

use crate::support::empty_databases;

fn files(list: &[(&str, &str)]) -> MigrationSource {
    MigrationSource::from_files(
        "test",
        list.iter().map(|(n, s)| (n.to_string(), s.to_string())),
    )
    .unwrap()
}

/// A database with a `rides` table of `rows` rows (migration 1 applied) and `pending` as
/// migration 2.
async fn rides_with_pending(rows: i64, pending: &str) -> (TestDatabase, MigrationSource) {
    let db = empty_databases().await.create().await.unwrap();
    let create = format!(
        "CREATE TABLE IF NOT EXISTS rides (id bigint PRIMARY KEY, driver_id bigint, fare numeric, note text);\n\
         -- dbops:allow data-change\n\
         INSERT INTO rides SELECT g, g % 100, g * 1.5, 'ride ' || g FROM generate_series(1, {rows}) g;\n\
         ANALYZE rides;"
    );
    let source = files(&[
        ("000001_rides.up.sql", &create),
        ("000001_rides.down.sql", "DROP TABLE IF EXISTS rides;"),
        ("000002_change.up.sql", pending),
        ("000002_change.down.sql", "SELECT 1;"),
    ]);
    PgMigrator::new(db.url().clone(), source.clone())
        .up(Some(1))
        .await
        .unwrap();
    (db, source)
}

#[tokio::test]
async fn the_plan_knows_locks_sizes_and_the_sessions_in_the_way() {
    let (db, source) = rides_with_pending(
        50_000,
        "ALTER TABLE rides ADD CONSTRAINT rides_driver_fk FOREIGN KEY (driver_id) REFERENCES drivers (id);\n\
         ALTER TABLE rides ALTER COLUMN fare TYPE numeric(14,2);\n\
         CREATE TABLE IF NOT EXISTS drivers (id bigint PRIMARY KEY);\n\
         CREATE INDEX CONCURRENTLY IF NOT EXISTS rides_note ON rides (note);",
    )
    .await;
    let migrator = PgMigrator::new(db.url().clone(), source);
    // A session reading the table in an open transaction: it holds ACCESS SHARE until it ends.
    let reader = db.connect().await.unwrap();
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM rides;")
        .await
        .unwrap();
    let reader_pid: i32 = reader
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);

    let plan = migrator
        .plan_locks(None, &PlanOptions::default())
        .await
        .unwrap();
    assert_eq!((plan.current, plan.target), (Some(1), Some(2)));
    assert_eq!(plan.statements.len(), 4, "{plan:#?}");

    let fk = &plan.statements[0];
    assert_eq!(fk.line, 1);
    let rides = &fk.tables[0];
    assert_eq!(
        (rides.lock, rides.work),
        (LockMode::ShareRowExclusive, Work::Scan)
    );
    assert_eq!(rides.blocks, Blocks::Writes);
    assert!(
        rides.exists && rides.rows > 40_000 && rides.size_bytes > 1_000_000,
        "{rides:#?}"
    );
    // The reader's ACCESS SHARE does not conflict with SHARE ROW EXCLUSIVE.
    assert!(rides.conflicting.is_empty(), "{rides:#?}");
    assert!(
        fk.findings
            .iter()
            .any(|f| f.rule == "foreign-key-not-valid"),
        "{fk:#?}"
    );

    let rewrite = &plan.statements[1];
    assert_eq!(
        (rewrite.tables[0].lock, rewrite.tables[0].work),
        (LockMode::AccessExclusive, Work::Rewrite)
    );
    let holder = &rewrite.tables[0].conflicting;
    assert_eq!(holder.len(), 1, "{rewrite:#?}");
    assert_eq!(holder[0].pid, reader_pid);
    assert_eq!(holder[0].lock.as_deref(), Some("AccessShareLock"));
    assert!(
        holder[0].state.contains("idle in transaction"),
        "{holder:#?}"
    );
    match &rewrite.verdict {
        Verdict::Risky { reason } => assert!(reason.contains(&reader_pid.to_string()), "{reason}"),
        other => panic!("expected a wait behind pid {reader_pid}: {other:?}"),
    }
    assert!(plan.long_transactions.iter().any(|s| s.pid == reader_pid));

    // The table the migration creates before using it does not exist yet; CONCURRENTLY is safe.
    assert!(!plan.statements[2].tables.is_empty() || plan.statements[2].verdict.is_safe());
    assert!(
        plan.statements[3].verdict.is_safe(),
        "{:#?}",
        plan.statements[3]
    );
    assert_ne!(plan.verdict, Verdict::Safe);

    // At a size where the rewrite takes longer than allowed, it blocks reads and writes.
    reader.batch_execute("COMMIT").await.unwrap();
    let strict = PlanOptions::default().with_max_blocking(Duration::from_micros(1));
    let plan = migrator.plan_locks(None, &strict).await.unwrap();
    match &plan.statements[1].verdict {
        Verdict::Blocks { traffic, secs } => {
            assert_eq!(*traffic, Blocks::ReadsAndWrites);
            assert!(*secs > 0.0);
        }
        other => panic!("expected a blocking rewrite: {other:?}"),
    }
}

#[tokio::test]
async fn the_risk_guard_refuses_a_blocking_step_and_applies_nothing() {
    let (db, source) = rides_with_pending(
        20_000,
        "ALTER TABLE rides ALTER COLUMN fare TYPE numeric(14,2);",
    )
    .await;
    let guard = RiskGuard::default().with_max_blocking(Duration::from_micros(1));
    let options = MigrateOptions::default().with_risk_guard(guard);
    let error = PgMigrator::new(db.url().clone(), source.clone())
        .options(options)
        .up(None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Refused { .. }), "{text}");
    assert!(
        text.contains("000002_change.up.sql:1") && text.contains("would block reads and writes"),
        "{text}"
    );
    let version = PgMigrator::new(db.url().clone(), source.clone())
        .version()
        .await
        .unwrap();
    assert_eq!(version.map(|v| v.version), Some(1));
    // A guard that allows the step lets it run.
    let options = MigrateOptions::default().with_risk_guard(RiskGuard::default());
    let report = PgMigrator::new(db.url().clone(), source)
        .options(options)
        .up(None)
        .await
        .unwrap();
    assert_eq!(report.to, Some(2));
}

/// Readers and writers on `rides` until `stop`; returns the worst latency seen, in milliseconds.
fn workload(db: &TestDatabase, stop: Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<u64>> {
    (0..4)
        .map(|worker| {
            let url = db.url().clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let client = url.connect().await.unwrap();
                let worst = AtomicU64::new(0);
                let mut id: i64 = worker * 1000 + 1;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    if id % 2 == 0 {
                        client
                            .execute("UPDATE rides SET fare = fare + 1 WHERE id = $1", &[&id])
                            .await
                            .unwrap();
                    } else {
                        client
                            .query_one("SELECT fare FROM rides WHERE id = $1", &[&id])
                            .await
                            .unwrap();
                    }
                    worst.fetch_max(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                    id = id % 20_000 + 7;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                worst.load(Ordering::Relaxed)
            })
        })
        .collect()
}

/// Runs the pending `ALTER TABLE` while a transaction holds ACCESS SHARE on `rides` for
/// `hold`, under a workload; returns the migration's outcome and the workload's worst latency.
async fn migrate_behind_a_long_transaction(
    lock_timeout: Option<Duration>,
    retries: u32,
    hold: Duration,
) -> (dbops::Result<dbops::MigrateReport>, Duration) {
    let (db, source) =
        rides_with_pending(20_000, "ALTER TABLE rides ADD COLUMN tip numeric;").await;
    let long = db.connect().await.unwrap();
    long.batch_execute("BEGIN; SELECT count(*) FROM rides;")
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = workload(&db, stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let options = MigrateOptions::default()
        .with_lock_timeout(lock_timeout)
        .with_lock_retries(retries);
    let migrator = PgMigrator::new(db.url().clone(), source).options(options);
    let migration = tokio::spawn(async move { migrator.up(None).await });
    tokio::time::sleep(hold).await;
    long.batch_execute("COMMIT").await.unwrap();
    let outcome = migration.await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut worst = 0;
    for worker in workers {
        worst = worst.max(worker.await.unwrap());
    }
    (outcome, Duration::from_millis(worst))
}

#[tokio::test]
async fn a_migration_never_queues_traffic_longer_than_its_lock_timeout() {
    let hold = Duration::from_secs(4);
    // dbops: waits at most 200 ms per attempt, retries with backoff, applies once the reader ends.
    let (outcome, worst) =
        migrate_behind_a_long_transaction(Some(Duration::from_millis(200)), 5, hold).await;
    let report = outcome.unwrap();
    assert_eq!(report.to, Some(2));
    assert!(
        worst < Duration::from_millis(1500),
        "the workload waited {worst:?} behind a migration with a 200 ms lock_timeout"
    );
    // Without a lock_timeout (as psql -f), every query queues behind the waiting ALTER for as long
    // as the long transaction lasts.
    let (outcome, worst) = migrate_behind_a_long_transaction(None, 0, hold).await;
    outcome.unwrap();
    assert!(
        worst > Duration::from_secs(2),
        "without a lock_timeout the workload should have queued behind the ALTER, worst {worst:?}"
    );
}

#[tokio::test]
async fn a_migration_that_cannot_get_its_lock_gives_up_and_names_the_holder() {
    let (db, source) = rides_with_pending(1_000, "ALTER TABLE rides ADD COLUMN tip numeric;").await;
    let long = db.connect().await.unwrap();
    long.batch_execute("BEGIN; SELECT count(*) FROM rides;")
        .await
        .unwrap();
    let pid: i32 = long
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let options = MigrateOptions::default()
        .with_lock_timeout(Duration::from_millis(100))
        .with_lock_retries(1);
    let error = PgMigrator::new(db.url().clone(), source.clone())
        .options(options)
        .up(None)
        .await
        .unwrap_err();
    let text = dbops::error::report(&error);
    assert!(text.contains("lock timeout"), "{text}");
    assert!(
        text.contains("2 attempts") && text.contains(&format!("pid {pid}")),
        "{text}"
    );
    assert!(text.contains("nothing was changed"), "{text}");
    long.batch_execute("COMMIT").await.unwrap();
    let version = PgMigrator::new(db.url().clone(), source)
        .version()
        .await
        .unwrap();
    assert_eq!(version.map(|v| v.version), Some(1));
}
