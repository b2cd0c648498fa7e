//! Named failpoints (`fail` crate, cargo feature `failpoints`) at every pipeline stage, each made to
//! return an error and to panic (a crash at that point): afterwards the state is fully old or fully
//! new, and the error and the state say how to recover. Run with
//! `cargo test -p dbops-core --features failpoints --test it failpoints::`.
#![cfg(feature = "failpoints")]

use crate::support;
use dbops::BackupCatalog;

use std::path::Path;
use std::time::Duration;

use dbops::backup::{
    Backup, BackupOptions, BackupSelector, BackupStore, Decryption, RetentionPolicy,
    apply_retention,
};
use dbops::pitr::PitrOptions;
use dbops::restore::{PgRestorer, RestoreOptions, RestoreTarget, Restorer};
use dbops::{
    Error, MigrationSource, Migrator, ObjectBackupStore, PgMigrator, Profile, TestDatabase,
};
use fail::FailScenario;

async fn seeded() -> TestDatabase {
    support::seeded_database("fp", Profile::Light).await
}

/// The two actions tried at every failpoint.
const ACTIONS: [&str; 2] = ["return", "panic"];

/// Runs `work` with failpoint `point` set to `action` on its own task, so a panic is a crash of that
/// task (its futures are dropped: children killed, connections closed). Returns the error, or
/// `None` when it panicked.
async fn fail_at<T, F>(point: &str, action: &str, work: F) -> Option<Error>
where
    T: std::fmt::Debug + Send + 'static,
    F: std::future::Future<Output = dbops::Result<T>> + Send + 'static,
{
    fail::cfg(point, action).unwrap();
    let outcome = tokio::spawn(work).await;
    fail::remove(point);
    match outcome {
        Ok(Ok(value)) => panic!("{point}={action}: the operation succeeded: {value:?}"),
        Ok(Err(error)) => {
            let text = dbops::error::report(&error);
            if action == "return" {
                assert!(text.contains(point), "{point}: {text}");
            }
            Some(error)
        }
        Err(join) => {
            assert!(join.is_panic(), "{point}: {join}");
            None
        }
    }
}

fn file_store(dir: &Path) -> ObjectBackupStore {
    ObjectBackupStore::open(&format!("file://{}", dir.display())).unwrap()
}

/// Every listed backup validates, nothing is unreadable, and there are `backups` of them.
async fn assert_whole(store: &ObjectBackupStore, backups: usize, context: &str) {
    let catalog = store.catalog(None).await.unwrap();
    assert!(catalog.problems.is_empty(), "{context}: {catalog:?}");
    assert_eq!(catalog.backups.len(), backups, "{context}: {catalog:?}");
    for b in &catalog.backups {
        dbops::restore::BackupValidator::new(store.clone())
            .validate_entry(b, &Default::default())
            .await
            .unwrap_or_else(|e| panic!("{context}: listed backup {} is not whole: {e}", b.id));
    }
}

/// A backup with the store lock; retried while the lock of a crashed (panicked) run is still being
/// released by its drop guard.
async fn backup_retrying(db: &TestDatabase, store: &ObjectBackupStore) -> dbops::BackupReport {
    for _ in 0..50 {
        match Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
            .run()
            .await
        {
            Ok(report) => return report,
            Err(Error::Refused { .. }) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("backup after the fault: {e}"),
        }
    }
    panic!("the crashed backup's lock was never released")
}

#[tokio::test]
async fn backup_failpoints_publish_nothing_and_the_next_backup_works() {
    let scenario = FailScenario::setup();
    let db = seeded().await;
    let mut runs = 0;
    for point in [
        "backup::after_pg_dump_start",
        "backup::mid_stream",
        "backup::before_upload_finish",
        "backup::before_manifest",
    ] {
        for action in ACTIONS {
            let dir = tempfile::tempdir().unwrap();
            let store = file_store(dir.path());
            let (url, s) = (db.url().clone(), store.clone());
            fail_at(point, action, async move {
                Backup::new(url, s, BackupOptions::default()).run().await
            })
            .await;
            let context = format!("{point}={action}");
            // Nothing half-done is listed: no manifest without its data, no backup at all.
            assert_whole(&store, 0, &context).await;
            let catalog = store.catalog(None).await.unwrap();
            if action == "return" {
                // The error path cleaned up: not even an orphaned data object is left.
                assert!(catalog.orphans.is_empty(), "{context}: {catalog:?}");
            }
            // Recovery: run the backup again.
            let report = backup_retrying(&db, &store).await;
            assert_whole(&store, 1, &context).await;
            assert_eq!(
                store.catalog(None).await.unwrap().backups[0].id,
                report.manifest.id
            );
            runs += 1;
        }
    }
    assert_eq!(runs, 8);
    scenario.teardown();
}

#[tokio::test]
async fn restore_failpoints_leave_the_target_unchanged_or_absent() {
    let scenario = FailScenario::setup();
    let db = seeded().await;
    let store =
        ObjectBackupStore::open(&format!("memory://{}", uuid::Uuid::new_v4().simple())).unwrap();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    // After the backup the live database moves on: a restore over it would change it.
    db.connect()
        .await
        .unwrap()
        .batch_execute(
            "CREATE TABLE fp_marker (id int); INSERT INTO fp_marker VALUES (1); \
             DELETE FROM ratings WHERE id IN (SELECT id FROM ratings LIMIT 3)",
        )
        .await
        .unwrap();
    let before = support::row_counts(db.url()).await;
    let mut runs = 0;
    for point in [
        "restore::before_pg_restore_start",
        "restore::mid_stream",
        "restore::before_post_data",
    ] {
        for action in ACTIONS {
            let context = format!("{point}={action}");
            // Over the original, with --clean: the single transaction never commits.
            let restorer = PgRestorer::new(db.url().clone(), store.clone());
            let options = RestoreOptions::default().with_clean(true);
            fail_at(
                point,
                action,
                async move { restorer.restore(&options).await },
            )
            .await;
            assert_eq!(
                support::row_counts(db.url()).await,
                before,
                "{context}: target changed"
            );

            // Into a new database: it does not exist afterwards.
            let target = format!("fp_new_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let restorer = PgRestorer::new(db.url().clone(), store.clone());
            let options = RestoreOptions::default().with_target(RestoreTarget::Database {
                name: target.clone(),
                create: true,
            });
            let retry = options.clone();
            fail_at(
                point,
                action,
                async move { restorer.restore(&options).await },
            )
            .await;
            assert!(
                !support::database_exists(db.url(), &target).await,
                "{context}: a half-restored `{target}` exists"
            );
            // Recovery: run it again; the database is complete (row counts checked against the
            // manifest by the restore itself).
            let report = PgRestorer::new(db.url().clone(), store.clone())
                .restore(&retry)
                .await
                .unwrap();
            assert!(report.tables_checked > 10, "{context}: {report:?}");
            assert!(support::database_exists(db.url(), &target).await);
            runs += 2;
        }
    }
    assert_eq!(runs, 12);
    scenario.teardown();
}

#[tokio::test]
async fn wal_push_failpoints_leave_no_segment_or_a_whole_one_and_a_retry_works() {
    let scenario = FailScenario::setup();
    let scratch = tempfile::tempdir().unwrap();
    let wal = support::wal_segment_copy(scratch.path()).await;
    let name = wal.file_name().unwrap().to_string_lossy().to_string();
    let original = std::fs::read(&wal).unwrap();
    let mut runs = 0;
    for point in ["wal::before_upload", "wal::before_put", "wal::after_put"] {
        for action in ACTIONS {
            let context = format!("{point}={action}");
            let dir = tempfile::tempdir().unwrap();
            let store = file_store(dir.path());
            let (s, path) = (store.clone(), wal.clone());
            fail_at(point, action, async move {
                dbops::pitr::push(&s, &path, &PitrOptions::default()).await
            })
            .await;
            let archived = store.list("wal/").await.unwrap();
            if point == "wal::after_put" {
                assert_eq!(archived.len(), 1, "{context}: {archived:?}");
            } else {
                assert!(archived.is_empty(), "{context}: {archived:?}");
            }
            // PostgreSQL retries archive_command: the retry succeeds, idempotently.
            let retry = dbops::pitr::push(&store, &wal, &PitrOptions::default())
                .await
                .unwrap();
            let expected = if point == "wal::after_put" {
                "already archived"
            } else {
                "archived"
            };
            assert_eq!(retry.outcome, expected, "{context}");
            let fetched = scratch.path().join(format!("fetched-{runs}"));
            let report = dbops::pitr::fetch(&store, &name, &fetched, &PitrOptions::default())
                .await
                .unwrap();
            assert!(report.found);
            assert!(
                std::fs::read(&fetched).unwrap() == original,
                "{context}: the archived segment differs"
            );
            runs += 1;
        }
    }
    assert_eq!(runs, 6);
    scenario.teardown();
}

fn files(list: &[(&str, &str)]) -> MigrationSource {
    MigrationSource::from_files(
        "test",
        list.iter().map(|(n, s)| (n.to_string(), s.to_string())),
    )
    .unwrap()
}

async fn table_exists(db: &TestDatabase, name: &str) -> bool {
    let client = db.connect().await.unwrap();
    support::scalar_i64(
        &client,
        &format!("SELECT count(*) FROM pg_class WHERE relname = '{name}'"),
    )
    .await
        == 1
}

#[tokio::test]
async fn migrate_failpoints_never_advance_the_version_silently() {
    let scenario = FailScenario::setup();
    let source = || {
        files(&[
            ("1_a.up.sql", "CREATE TABLE a (id int);"),
            ("1_a.down.sql", "DROP TABLE a;"),
            (
                "2_b.up.sql",
                "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);",
            ),
            ("2_b.down.sql", "DROP TABLE b;"),
            (
                "3_c.up.sql",
                "-- dbops:no-transaction\nCREATE TABLE c (id int);\nCREATE INDEX CONCURRENTLY c_id ON c (id);",
            ),
            ("3_c.down.sql", "DROP TABLE c;"),
        ])
    };
    for action in ACTIONS {
        // Transactional migration, before its bookkeeping commits: nothing of it is left.
        let db = support::empty_databases().await.create().await.unwrap();
        let migrator = PgMigrator::new(db.url().clone(), source());
        migrator.up(Some(1)).await.unwrap();
        let m = migrator.clone();
        let error = fail_at("migrate::before_commit", action, async move {
            m.up(Some(2)).await
        })
        .await;
        if let Some(error) = error {
            let text = dbops::error::report(&error);
            assert!(
                text.contains("injected fault")
                    && text.contains("rolled back: nothing was changed")
                    && text.contains("run the migrations again"),
                "{text}"
            );
        }
        let state = migrator.version().await.unwrap().unwrap();
        assert_eq!((state.version, state.dirty), (1, false), "{action}");
        assert!(!table_exists(&db, "b").await, "{action}: b was left behind");
        assert_eq!(migrator.up(None).await.unwrap().to, Some(3), "{action}");

        // Outside a transaction, between statements: dirty, and the error names `force`.
        let db = support::empty_databases().await.create().await.unwrap();
        let migrator = PgMigrator::new(db.url().clone(), source());
        migrator.up(Some(2)).await.unwrap();
        let m = migrator.clone();
        let error = fail_at("migrate::between_statements", action, async move {
            m.up(None).await
        })
        .await;
        if let Some(error) = error {
            let text = dbops::error::report(&error);
            assert!(
                matches!(error, Error::MigrationFailed { version: 3, .. })
                    && text.contains("marked dirty at version 3")
                    && text.contains("dbops migrate force 3"),
                "{text}"
            );
        }
        let state = migrator.version().await.unwrap().unwrap();
        assert_eq!((state.version, state.dirty), (3, true), "{action}");
        let error = migrator.up(None).await.unwrap_err();
        let text = dbops::error::report(&error);
        assert!(
            matches!(error, Error::Dirty { version: 3, .. })
                && text.contains("dbops migrate force"),
            "{action}: {text}"
        );
        // Recovery as advised: the first statement ran, undo it, force back, migrate again.
        db.connect()
            .await
            .unwrap()
            .batch_execute("DROP TABLE c")
            .await
            .unwrap();
        migrator.force(Some(2)).await.unwrap();
        assert_eq!(migrator.up(None).await.unwrap().to, Some(3), "{action}");
        assert!(table_exists(&db, "c_id").await);
    }
    scenario.teardown();
}

#[tokio::test]
async fn retention_failpoint_between_manifest_and_data_lists_no_half_backup() {
    let scenario = FailScenario::setup();
    let db = seeded().await;
    for action in ACTIONS {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path());
        let first = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
            .run()
            .await
            .unwrap();
        let second = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
            .run()
            .await
            .unwrap();
        let policy = RetentionPolicy::default().with_keep_last(1);
        let (s, name, p) = (store.clone(), db.name().to_string(), policy.clone());
        fail_at("retention::between_manifest_and_data", action, async move {
            apply_retention(&s, &name, &p, true).await
        })
        .await;
        // The manifest went first: the old backup is no longer listed, its objects (schema archive
        // and one per table) are orphans, the kept one is whole.
        assert_whole(&store, 1, action).await;
        let catalog = store.catalog(None).await.unwrap();
        assert_eq!(catalog.backups[0].id, second.manifest.id);
        let mut orphaned: Vec<String> = catalog.orphans.iter().map(|o| o.key.clone()).collect();
        let mut expected: Vec<String> = first
            .manifest
            .object_keys()
            .into_iter()
            .map(String::from)
            .collect();
        orphaned.sort();
        expected.sort();
        assert!(expected.len() > 10, "{expected:?}");
        assert_eq!(orphaned, expected);
        // Recovery: the next run (past the grace period) removes the orphan.
        let policy = policy.with_orphan_grace_hours(0);
        let plan = apply_retention(&store, db.name(), &policy, true)
            .await
            .unwrap();
        assert_eq!(plan.orphans.len(), expected.len());
        let catalog = store.catalog(None).await.unwrap();
        assert!(catalog.orphans.is_empty() && catalog.backups.len() == 1);
        PgRestorer::new(db.url().clone(), store.clone())
            .validate(&dbops::restore::ValidateOptions::new(
                db.name(),
                BackupSelector::Latest,
                Decryption::none().clone(),
            ))
            .await
            .unwrap();
    }
    scenario.teardown();
}
