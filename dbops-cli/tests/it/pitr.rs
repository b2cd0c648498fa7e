//! Point-in-time recovery end to end on a real cluster with archive_mode=on whose archive_command is
//! `dbops wal push`: base backup, then rows at T1, a restore point, more rows at T2, everything deleted
//! at T3; restores to T1, the restore point, T2 and latest are checked by row counts. Plus gaps,
//! corruption, a dead store, encryption, idempotent pushes and a timeline switch archived again.

use dbops::BackupStore;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{self, scalar_i64, servers};
use chrono::{DateTime, Utc};
use dbops::backup::{Decryption, Encryption, generate_key_pair};
use dbops::pitr::{self, PitrOptions, RecoveryOptions, RecoveryTarget};
use dbops::{DatabaseUrl, Error, ObjectBackupStore, TempCluster};

const DBOPS: &str = env!("CARGO_BIN_EXE_dbops");

fn archive_command(store: &str) -> String {
    format!("{DBOPS} -q wal push --store {store} %p")
}

async fn server_time(url: &DatabaseUrl) -> DateTime<Utc> {
    let client = url.connect().await.unwrap();
    client
        .query_one("SELECT clock_timestamp()", &[])
        .await
        .unwrap()
        .get(0)
}

/// Switches WAL and waits until the segment holding everything so far is archived.
async fn archive_now(url: &DatabaseUrl) {
    let client = url.connect().await.unwrap();
    let row = client
        .query_one(
            "SELECT pg_walfile_name(pg_current_wal_lsn()), pg_switch_wal()::text",
            &[],
        )
        .await
        .unwrap();
    let segment: String = row.get(0);
    for _ in 0..300 {
        let last: Option<String> = client
            .query_one("SELECT last_archived_wal FROM pg_stat_archiver", &[])
            .await
            .unwrap()
            .get(0);
        if last.as_deref().is_some_and(|l| l >= segment.as_str()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed: i64 = client
        .query_one("SELECT failed_count FROM pg_stat_archiver", &[])
        .await
        .unwrap()
        .get(0);
    panic!("segment {segment} was not archived in 15 s ({failed} failures)");
}

/// Restores into a new directory, starts it, waits for promotion and returns the cluster.
async fn restore_to(
    store: &ObjectBackupStore,
    url: &str,
    target: RecoveryTarget,
    scratch: &Path,
    archive: Option<&str>,
) -> TempCluster {
    let dir = scratch.join(format!("restore-{}", uuid::Uuid::new_v4().simple()));
    let options = RecoveryOptions::default()
        .with_target(target.clone())
        .with_dbops_program(PathBuf::from(DBOPS))
        .with_store_url(url.to_string());
    let report = pitr::prepare(store, &dir, &options, &PitrOptions::default())
        .await
        .unwrap();
    assert_eq!(report.verified, "ok", "{report:?}");
    let mut builder = TempCluster::builder()
        .data_dir(&dir)
        .start_timeout(Duration::from_secs(120));
    if let Some(store) = archive {
        builder = builder.archive_command(archive_command(store));
    }
    let cluster = builder
        .start()
        .await
        .unwrap_or_else(|e| panic!("{target}: {}", dbops::error::report(&e)));
    pitr::wait_for_promotion(&cluster.url(), Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{target}: {}\n{}",
                dbops::error::report(&e),
                cluster.log_tail(30)
            )
        });
    cluster
}

async fn rows(cluster: &TempCluster) -> i64 {
    scalar_i64(
        &cluster.url().connect().await.unwrap(),
        "SELECT count(*) FROM rides_log",
    )
    .await
}

#[tokio::test]
async fn restore_to_time_restore_point_and_latest_then_archive_a_new_timeline() {
    let scratch = support::shared_dir();
    let archive_dir = support::shared_subdir(scratch.path(), "archive");
    let store_url = format!("file://{}", archive_dir.display());
    let store = ObjectBackupStore::open(&store_url).unwrap();
    // Over TCP with a password: scram-sha-256 on every host line, the replication one included.
    let cluster = TempCluster::builder()
        .listen(dbops::Listen::Tcp)
        .archive_command(archive_command(&store_url))
        .start()
        .await
        .unwrap();
    let url = cluster.tcp_url().unwrap();
    assert!(url.password().is_some());
    let client = url.connect().await.unwrap();
    client
        .batch_execute("CREATE TABLE rides_log (id serial PRIMARY KEY, note text); INSERT INTO rides_log (note) SELECT 'before' FROM generate_series(1, 100)")
        .await
        .unwrap();
    let base = pitr::base_backup(&url, &store, &PitrOptions::default())
        .await
        .unwrap();
    assert!(base.has_backup_manifest, "{base:?}");
    assert_eq!(base.timeline, 1);
    // The same through the CLI, the password in DATABASE_URL.
    let out = std::process::Command::new(DBOPS)
        .env("DATABASE_URL", url.expose())
        .args(["-q", "basebackup", "--store", &store_url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;

    client
        .batch_execute("INSERT INTO rides_log (note) SELECT 'a' FROM generate_series(1, 10)")
        .await
        .unwrap();
    let t1 = server_time(&url).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    pitr::create_restore_point(&url, "before_b").await.unwrap();
    client
        .batch_execute("INSERT INTO rides_log (note) SELECT 'b' FROM generate_series(1, 20)")
        .await
        .unwrap();
    let t2 = server_time(&url).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.batch_execute("DELETE FROM rides_log").await.unwrap(); // the accidental deletion at T3
    archive_now(&url).await;

    let status = pitr::status(&store, Some(&url)).await.unwrap();
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    assert_eq!(status.base_backups.len(), 2);
    assert_eq!(status.archiver.as_ref().unwrap().failed_count, 0);
    assert!(status.recovery_window.is_some());

    for (target, expected) in [
        (RecoveryTarget::Time(t1), 110),
        (RecoveryTarget::RestorePoint("before_b".into()), 110),
        (RecoveryTarget::Time(t2), 130),
        (RecoveryTarget::Latest, 0),
    ] {
        let restored = restore_to(&store, &store_url, target.clone(), scratch.path(), None).await;
        assert_eq!(rows(&restored).await, expected, "{target}");
        restored.stop().await.unwrap();
    }

    // The same through the CLI: restore to the restore point, start it, read it, stop it.
    let name = format!("pitr-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let data_dir = scratch.path().join(format!("cli-{name}"));
    let out = std::process::Command::new(DBOPS)
        .args([
            "--json",
            "pitr",
            "restore",
            "--store",
            &store_url,
            "--restore-point",
            "before_b",
            "--start",
            "--name",
            &name,
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cli_url = DatabaseUrl::parse(started["url"].as_str().unwrap()).unwrap();
    assert_eq!(
        scalar_i64(
            &cli_url.connect().await.unwrap(),
            "SELECT count(*) FROM rides_log"
        )
        .await,
        110
    );
    // The restored server fetches WAL with this very binary, by its absolute path (not whatever
    // `dbops` the server's PATH would find).
    let auto_conf = std::fs::read_to_string(data_dir.join("postgresql.auto.conf")).unwrap();
    assert!(
        auto_conf.contains(&format!("restore_command = '{DBOPS} wal fetch ")),
        "{auto_conf}"
    );
    let out = std::process::Command::new(DBOPS)
        .args(["cluster", "stop", "--name", &name])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `pitr setup` compares the server's settings with what archiving needs (dry run).
    let out = std::process::Command::new(DBOPS)
        .env("DATABASE_URL", url.expose())
        .args(["--json", "pitr", "setup", "--store", &store_url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let archive_mode = support::json_item(&items, "archive_mode");
    assert_eq!(archive_mode["current"], "on");
    let timeout = support::json_item(&items, "archive_timeout");
    assert_eq!(timeout["wanted"], "60s");

    // Restore to T2, promote (timeline 2), keep archiving into the same store, write more.
    let restored = restore_to(
        &store,
        &store_url,
        RecoveryTarget::Time(t2),
        scratch.path(),
        Some(&store_url),
    )
    .await;
    let restored_url = restored.url();
    restored_url
        .connect()
        .await
        .unwrap()
        .batch_execute("INSERT INTO rides_log (note) SELECT 'c' FROM generate_series(1, 5)")
        .await
        .unwrap();
    archive_now(&restored_url).await;
    assert!(
        store
            .head("wal/00000002/00000002.history")
            .await
            .unwrap()
            .is_some()
    );
    restored.stop().await.unwrap();
    let status = pitr::status(&store, None).await.unwrap();
    assert!(
        status
            .timelines
            .iter()
            .any(|t| t.timeline == 2 && t.history && t.segments > 0),
        "{status:?}"
    );
    // Latest now follows the new timeline.
    let again = restore_to(
        &store,
        &store_url,
        RecoveryTarget::Latest,
        scratch.path(),
        None,
    )
    .await;
    assert_eq!(rows(&again).await, 135);
    again.stop().await.unwrap();

    // Idempotent push of an archived segment; a different file under the same name is refused.
    let name = status.timelines[0].first.clone().unwrap();
    let copy = scratch.path().join(&name);
    assert!(
        pitr::fetch(&store, &name, &copy, &PitrOptions::default())
            .await
            .unwrap()
            .found
    );
    let pushed = pitr::push(&store, &copy, &PitrOptions::default())
        .await
        .unwrap();
    assert_eq!(pushed.outcome, "already archived");
    let mut altered = std::fs::read(&copy).unwrap();
    altered[100_000] ^= 0xFF;
    std::fs::write(&copy, &altered).unwrap();
    let err = pitr::push(&store, &copy, &PitrOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Refused { .. }) && err.to_string().contains("refusing to overwrite"),
        "{err}"
    );

    // A corrupted archived segment is refused by fetch; a missing one shows as a gap.
    let key = format!("wal/00000001/{name}");
    let mut stored = store.get(&key).await.unwrap().to_vec();
    let middle = stored.len() / 2;
    stored[middle] ^= 0x01;
    store.put(&key, bytes::Bytes::from(stored)).await.unwrap();
    let err = pitr::fetch(
        &store,
        &name,
        &scratch.path().join("x"),
        &PitrOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Integrity { .. }), "{err:?}");
    let segments: Vec<String> = store
        .list("wal/00000001")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .filter(|k| !k.contains(".history") && !k.contains(".backup") && !k.contains(".partial"))
        .collect();
    assert!(segments.len() >= 3, "{segments:?}");
    store.delete(&segments[1]).await.unwrap();
    let status = pitr::status(&store, None).await.unwrap();
    assert!(
        status
            .problems
            .iter()
            .any(|p| p.contains("missing from the archive")),
        "{:?}",
        status.problems
    );

    // The CLI exits 1 for a file the archive does not have (end of archive for restore_command).
    let out = std::process::Command::new(DBOPS)
        .args([
            "-q",
            "wal",
            "fetch",
            "--store",
            &store_url,
            "000000010000000000000099",
        ])
        .arg(scratch.path().join("nothing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    cluster.stop().await.unwrap();
}

#[tokio::test]
async fn encrypted_archive_round_trip_and_dead_store_deadline() {
    let scratch = support::shared_dir();
    let keys = generate_key_pair();
    let store =
        ObjectBackupStore::open(&format!("memory://{}", uuid::Uuid::new_v4().simple())).unwrap();
    let options = PitrOptions::default()
        .with_encryption(Encryption::Recipients(vec![keys.recipient.clone()]))
        .with_decryption(
            Decryption::none()
                .with_identity_text(&keys.identity)
                .unwrap(),
        );
    // A real segment: make one on a throwaway cluster archiving into a directory.
    let archive_dir = support::shared_subdir(scratch.path(), "plain");
    let plain_url = format!("file://{}", archive_dir.display());
    let cluster = TempCluster::builder()
        .archive_command(archive_command(&plain_url))
        .start()
        .await
        .unwrap();
    cluster
        .url()
        .connect()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g")
        .await
        .unwrap();
    archive_now(&cluster.url()).await;
    cluster.stop().await.unwrap();
    let plain_store = ObjectBackupStore::open(&plain_url).unwrap();
    let first = plain_store.list("wal/00000001").await.unwrap()[0]
        .key
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let segment = scratch.path().join(&first);
    pitr::fetch(&plain_store, &first, &segment, &PitrOptions::default())
        .await
        .unwrap();

    let pushed = pitr::push(&store, &segment, &options).await.unwrap();
    assert_eq!(pushed.outcome, "archived");
    assert!(
        store
            .get(&pushed.key)
            .await
            .unwrap()
            .starts_with(b"age-encryption.org/")
    );
    let back = scratch.path().join("back");
    assert!(
        pitr::fetch(&store, &first, &back, &options)
            .await
            .unwrap()
            .found
    );
    assert_eq!(
        std::fs::read(&back).unwrap(),
        std::fs::read(&segment).unwrap()
    );
    let err = pitr::fetch(
        &store,
        &first,
        &scratch.path().join("nokey"),
        &PitrOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Crypto { .. }), "{err:?}");

    // A dead store: the push fails within its deadline instead of hanging the archiver.
    let mut dead_options =
        servers::s3_options_for(&format!("http://127.0.0.1:{}", servers::free_port()));
    dead_options.max_retries = Some(10);
    dead_options.retry_timeout = Some(Duration::from_secs(120));
    let dead = ObjectBackupStore::open_with("s3://gone/wal", &dead_options).unwrap();
    let started = std::time::Instant::now();
    let err = pitr::push(
        &dead,
        &segment,
        &PitrOptions::default().with_deadline(Duration::from_secs(3)),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, Error::Timeout { .. } | Error::Storage { .. }),
        "{err:?}"
    );
    // And the CLI exits non-zero so PostgreSQL retries.
    let out = std::process::Command::new(DBOPS)
        .args([
            "-q",
            "wal",
            "push",
            "--deadline",
            "2",
            "--store",
            "s3://gone/wal",
        ])
        .args([
            "--store-option",
            &format!("aws_endpoint=http://127.0.0.1:{}", servers::free_port()),
        ])
        .args([
            "--store-option",
            "aws_allow_http=true",
            "--store-option",
            "aws_region=us-east-1",
        ])
        .env("AWS_ACCESS_KEY_ID", "k")
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .arg(&segment)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Bad input: not a WAL file.
    let junk = scratch.path().join("000000010000000000000007");
    std::fs::write(&junk, vec![0u8; 16 << 20]).unwrap();
    assert!(matches!(
        pitr::push(&store, &junk, &options).await.unwrap_err(),
        Error::Integrity { .. }
    ));
}

#[tokio::test]
async fn retention_keeps_what_retained_base_backups_need() {
    let scratch = support::shared_dir();
    let archive_dir = support::shared_subdir(scratch.path(), "archive");
    let store_url = format!("file://{}", archive_dir.display());
    let store = ObjectBackupStore::open(&store_url).unwrap();
    let cluster = TempCluster::builder()
        .archive_command(archive_command(&store_url))
        .start()
        .await
        .unwrap();
    let url = cluster.url();
    let client = url.connect().await.unwrap();
    client
        .batch_execute("CREATE TABLE rides_log (id serial, note text)")
        .await
        .unwrap();
    let first = pitr::base_backup(&url, &store, &PitrOptions::default())
        .await
        .unwrap();
    for _ in 0..3 {
        client
            .batch_execute("INSERT INTO rides_log (note) SELECT 'x' FROM generate_series(1, 100)")
            .await
            .unwrap();
        archive_now(&url).await;
    }
    let second = pitr::base_backup(&url, &store, &PitrOptions::default())
        .await
        .unwrap();
    client
        .batch_execute("INSERT INTO rides_log (note) VALUES ('after')")
        .await
        .unwrap();
    archive_now(&url).await;
    let dry = pitr::retention(&store, 1, false).await.unwrap();
    assert_eq!(dry.delete, vec![first.id.clone()]);
    assert!(!dry.wal_delete.is_empty());
    assert!(
        dry.wal_delete
            .iter()
            .all(|k| k.rsplit('/').next().unwrap() < second.start_wal.as_str()),
        "{dry:?}"
    );
    let applied = pitr::retention(&store, 1, true).await.unwrap();
    assert!(applied.applied);
    assert_eq!(pitr::list_base_backups(&store).await.unwrap().len(), 1);
    assert!(
        pitr::status(&store, None)
            .await
            .unwrap()
            .problems
            .is_empty()
    );
    // The kept backup still restores to the end.
    let restored = restore_to(
        &store,
        &store_url,
        RecoveryTarget::Latest,
        scratch.path(),
        None,
    )
    .await;
    assert_eq!(rows(&restored).await, 301);
    restored.stop().await.unwrap();
    assert!(pitr::retention(&store, 0, true).await.is_err());
    cluster.stop().await.unwrap();
}
