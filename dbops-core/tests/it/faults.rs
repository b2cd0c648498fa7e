//! The backup, restore, retention and WAL paths under injected store faults: nothing half-done is ever
//! published, errors say what failed, and a retry after the fault works.

use crate::support;
use dbops::BackupCatalog;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::faults::{FaultStore, Faults};
use dbops::backup::{Backup, BackupOptions, BackupSelector, RetentionPolicy, apply_retention};
use dbops::restore::{PgRestorer, RestoreOptions, RestoreTarget, Restorer};
use dbops::{Error, ObjectBackupStore, Profile, TestDatabase};

async fn seeded() -> TestDatabase {
    support::seeded_database("ft", Profile::Light).await
}

fn faulty() -> (Arc<Faults>, ObjectBackupStore) {
    let faults = Faults::new();
    let store = ObjectBackupStore::from_object_store(
        Arc::new(FaultStore::new(faults.clone())),
        "",
        "fault://test",
    );
    (faults, store)
}

#[tokio::test]
async fn failed_multipart_completion_or_part_upload_publishes_nothing() {
    let db = seeded().await;
    let (faults, store) = faulty();
    faults.fail_complete.store(true, Ordering::SeqCst);
    let err = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
    assert!(
        dbops::error::report(&err).contains("injected fault: multipart completion"),
        "{err}"
    );
    let catalog = store.catalog(None).await.unwrap();
    assert!(
        catalog.backups.is_empty() && catalog.orphans.is_empty(),
        "{catalog:?}"
    );
    faults.fail_complete.store(false, Ordering::SeqCst);

    faults.fail_parts_after.store(0, Ordering::SeqCst);
    let err = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap_err();
    assert!(
        dbops::error::report(&err).contains("part upload"),
        "{}",
        dbops::error::report(&err)
    );
    assert!(
        faults.aborted.load(Ordering::SeqCst) >= 1,
        "the failed upload was not aborted"
    );
    assert!(store.catalog(None).await.unwrap().backups.is_empty());
    faults.fail_parts_after.store(usize::MAX, Ordering::SeqCst);

    // Retry after the fault: works, and the failures were recorded for health checks.
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    assert_eq!(store.catalog(None).await.unwrap().backups.len(), 1);
    assert_eq!(
        dbops::backup::failures(&store, db.name())
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_dropped_connection_during_restore_commits_nothing() {
    let db = seeded().await;
    let (faults, store) = faulty();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    faults.fail_get.store(true, Ordering::SeqCst);
    let target = format!(
        "ft_restore_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let err = PgRestorer::new(db.url().clone(), store.clone())
        .restore(
            &RestoreOptions::default().with_target(RestoreTarget::Database {
                name: target.clone(),
                create: true,
            }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
    let admin = db.url().with_database("postgres").connect().await.unwrap();
    let exists: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&target],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!exists, "the half-restored database was left behind");
    faults.fail_get.store(false, Ordering::SeqCst);
    PgRestorer::new(db.url().clone(), store)
        .validate(&dbops::restore::ValidateOptions::new(
            db.name(),
            BackupSelector::Latest,
            dbops::backup::Decryption::none().clone(),
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn retention_under_listing_lag_never_deletes_a_backup_it_cannot_see() {
    let db = seeded().await;
    let (faults, store) = faulty();
    let first = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let second = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    // The listing lags: manifests are invisible. The data objects look like fresh orphans.
    faults.hide_manifests.store(true, Ordering::SeqCst);
    let policy = RetentionPolicy::default().with_keep_last(1);
    let plan = apply_retention(&store, db.name(), &policy, true)
        .await
        .unwrap();
    assert!(
        plan.delete.is_empty() && plan.orphans.is_empty(),
        "{plan:?}"
    );
    faults.hide_manifests.store(false, Ordering::SeqCst);
    let ids: Vec<String> = store
        .catalog(Some(db.name()))
        .await
        .unwrap()
        .backups
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, vec![first.manifest.id, second.manifest.id]);
}

#[tokio::test]
async fn a_stalled_store_cannot_hang_wal_push() {
    let (faults, store) = faulty();
    faults.stall_put_ms.store(30_000, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("00000001.history");
    std::fs::write(&path, "1\t0/3000000\tno recovery target specified\n").unwrap();
    let options = dbops::pitr::PitrOptions::default().with_deadline(Duration::from_millis(500));
    let started = std::time::Instant::now();
    let err = dbops::pitr::push(&store, &path, &options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    faults.stall_put_ms.store(0, Ordering::SeqCst);
    assert_eq!(
        dbops::pitr::push(&store, &path, &options)
            .await
            .unwrap()
            .outcome,
        "archived"
    );
}

/// A database with one table whose dump is far larger than the pipeline's buffers (channels of a few
/// megabytes): ~40 MB of rows that compress poorly.
async fn large_database() -> TestDatabase {
    let db = support::empty_databases().await.create().await.unwrap();
    fill_large_tables(&db.url().clone()).await;
    db
}

/// Creates and fills the tables of [`large_database`] in the database of `url`.
async fn fill_large_tables(url: &dbops::DatabaseUrl) {
    let client = url.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE big (id int PRIMARY KEY, a text, b text); \
             INSERT INTO big SELECT i, md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text), \
                    md5((i * 31)::text) || md5((i * 37)::text) \
             FROM generate_series(1, 200000) i; \
             CREATE TABLE small (id int); INSERT INTO small VALUES (1);",
        )
        .await
        .unwrap();
}

/// The server restarts while a restore into a new database loads rows: the restore fails with the
/// lost connection, the staging database is dropped once the server is back, the target does not
/// exist, and the rerun restores it completely.
#[tokio::test]
async fn a_server_restart_mid_restore_fails_it_cleanly_and_the_rerun_works() {
    let cluster = dbops::TempCluster::builder()
        .in_memory(true)
        .start()
        .await
        .unwrap();
    let url = cluster.url();
    fill_large_tables(&url).await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = ObjectBackupStore::open(&format!("file://{}", store_dir.path().display())).unwrap();
    Backup::new(url.clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let options = RestoreOptions::default().with_target(RestoreTarget::Database {
        name: "copy".into(),
        create: true,
    });
    let restorer = PgRestorer::new(url.clone(), store.clone());
    let restoring = tokio::spawn({
        let (restorer, options) = (restorer.clone(), options.clone());
        async move { restorer.restore(&options).await }
    });
    let admin = url.with_database("postgres").connect().await.unwrap();
    for _ in 0..3000 {
        let copying: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
                 AND starts_with(datname, 'dbops_restoring_') AND query LIKE 'COPY%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if copying > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cluster.stop_server(dbops::Shutdown::Fast).await.unwrap();
    cluster.start_server().await.unwrap();
    let err = restoring.await.unwrap().unwrap_err();
    let report = dbops::error::report(&err);
    assert_eq!(dbops::cleanup::finish(Duration::from_secs(60)).await, 0);
    let admin = url.with_database("postgres").connect().await.unwrap();
    let left: Vec<String> = admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname = 'copy' \
             OR starts_with(datname, 'dbops_restoring_')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(left.is_empty(), "{left:?} after: {report}");
    restorer.restore(&options).await.unwrap();
    assert_eq!(
        support::row_counts(&url.with_database("copy")).await,
        support::row_counts(&url).await
    );
}

/// Sessions of dbops on `db` that still hold a lock on one of its tables.
async fn locks_held_by_dbops(db: &TestDatabase) -> i64 {
    let admin = db.url().with_database("postgres").connect().await.unwrap();
    admin
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE a.datname = $1 AND a.application_name = 'dbops' AND l.locktype = 'relation' \
             AND a.pid <> pg_backend_pid()",
            &[&db.name()],
        )
        .await
        .unwrap()
        .get(0)
}

/// A store whose writes start failing in the middle of an object larger than every buffer of the
/// pipeline (the state of a store that fills up): the backup ends with the store's error within
/// seconds in every format, no session keeps a table locked, and nothing is published.
#[tokio::test]
async fn a_store_failing_mid_object_ends_the_backup_and_releases_every_lock() {
    let db = large_database().await;
    for format in [
        dbops::backup::DumpFormat::Tables,
        dbops::backup::DumpFormat::Custom,
    ] {
        for jobs in [1, 2] {
            let (faults, store) = faulty();
            faults.fail_parts_after.store(1, Ordering::SeqCst);
            let options = BackupOptions::default()
                .with_format(format)
                .with_jobs(jobs)
                .with_compression(dbops::backup::Compression::None);
            let backup = Backup::new(db.url().clone(), store.clone(), options);
            let err = tokio::time::timeout(Duration::from_secs(60), backup.run())
                .await
                .unwrap_or_else(|_| panic!("{format:?} -j {jobs}: the backup hung"))
                .unwrap_err();
            let report = dbops::error::report(&err);
            assert!(report.contains("injected fault: part upload"), "{report}");
            let catalog = store.catalog(None).await.unwrap();
            assert!(
                catalog.backups.is_empty() && catalog.orphans.is_empty(),
                "{format:?}: {catalog:?}"
            );
            // The sessions end with the backup: the tables are free again for DDL.
            for _ in 0..100 {
                if locks_held_by_dbops(&db).await == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(locks_held_by_dbops(&db).await, 0, "{format:?}: locks left");
        }
    }
}

/// A role whose sessions time out fast (statements after 20 ms, lock waits after 20 ms, idle
/// transactions after 50 ms), as production roles often are; the shared cluster's superuser otherwise.
async fn role_with_tiny_timeouts(db: &TestDatabase) -> dbops::DatabaseUrl {
    let role = support::unique_name("tiny");
    let admin = db.connect().await.unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN SUPERUSER; \
             ALTER ROLE {role} SET statement_timeout = '20ms'; \
             ALTER ROLE {role} SET lock_timeout = '20ms'; \
             ALTER ROLE {role} SET idle_in_transaction_session_timeout = '50ms';"
        ))
        .await
        .unwrap();
    db.url().with_user(&role, None)
}

/// Backups, restores, seeds and migration checks of a role with tiny timeouts work: dbops turns them
/// off for its own sessions, as pg_dump and pg_restore do for theirs (the same statements through a
/// plain session of the role time out).
#[tokio::test]
async fn role_timeouts_do_not_break_backup_restore_seed_or_verify() {
    let db = large_database().await;
    let url = role_with_tiny_timeouts(&db).await;
    let plain = url.connect().await.unwrap();
    let err = plain
        .batch_execute("SELECT count(*) FROM big, generate_series(1, 5)")
        .await
        .unwrap_err();
    let message = err.as_db_error().unwrap().message();
    assert!(message.contains("statement timeout"), "{message}");

    let (_, store) = faulty();
    for format in [
        dbops::backup::DumpFormat::Tables,
        dbops::backup::DumpFormat::Custom,
    ] {
        let options = BackupOptions::default().with_format(format);
        Backup::new(url.clone(), store.clone(), options)
            .run()
            .await
            .unwrap_or_else(|e| panic!("{format:?}: {}", dbops::error::report(&e)));
        let target = support::unique_name("tiny_restore");
        PgRestorer::new(url.clone(), store.clone())
            .restore(
                &RestoreOptions::default().with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                }),
            )
            .await
            .unwrap_or_else(|e| panic!("{format:?}: {}", dbops::error::report(&e)));
        assert_eq!(
            support::row_counts(&db.url().with_database(&target)).await,
            support::row_counts(db.url()).await
        );
    }

    let migrated = support::seeded_database("ft", Profile::Light).await;
    let tiny = role_with_tiny_timeouts(&migrated).await;
    dbops::PgSeeder::new(tiny.clone())
        .seed(
            Profile::Medium,
            &dbops::SeedOptions::default().with_existing(dbops::seed::Existing::Truncate),
        )
        .await
        .unwrap_or_else(|e| panic!("seed: {}", dbops::error::report(&e)));
    let slow = tempfile::tempdir().unwrap();
    std::fs::write(
        slow.path().join("1_slow.up.sql"),
        "CREATE TABLE t (id int); SELECT pg_sleep(0.1);",
    )
    .unwrap();
    std::fs::write(slow.path().join("1_slow.down.sql"), "DROP TABLE t;").unwrap();
    let source = dbops::MigrationSource::from_dir(slow.path()).unwrap();
    let report = dbops::migrate::verify(&tiny, &source, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("verify: {}", dbops::error::report(&e)));
    assert_eq!(report.migrations.len(), 1);
}
