//! The backup, restore, retention and WAL paths under injected store faults: nothing half-done is ever
//! published, errors say what failed, and a retry after the fault works.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::faults::{FaultStore, Faults};
use dbops::backup::{
    Backup, BackupOptions, BackupSelector, BackupStore, RetentionPolicy, apply_retention,
};
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
        .restore(&RestoreOptions {
            target: RestoreTarget::Database {
                name: target.clone(),
                create: true,
            },
            ..RestoreOptions::default()
        })
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
    let policy = RetentionPolicy {
        keep_last: Some(1),
        ..RetentionPolicy::default()
    };
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
    let options = dbops::pitr::PitrOptions {
        deadline: Duration::from_millis(500),
        ..Default::default()
    };
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
