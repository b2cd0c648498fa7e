//! Backup health checks on synthetic store states, WAL archiving on a real cluster, alerts received by
//! a local HTTP server and a local SMTP sink (aiosmtpd), state-change suppression, metrics parsed back.

use crate::support;
use dbops::BackupStore;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::servers;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use dbops::alert::{AlertConfig, EmailConfig, Secret, SmtpSecurity, metrics, notify};
use dbops::backup::{
    BackupHealth, BackupHealthOptions, BackupHealthReport, BackupStatus, Compression, DumpFormat,
    EncryptionInfo, EncryptionMode, MANIFEST_VERSION, Manifest, StoredObject,
};
use dbops::{ObjectBackupStore, TempCluster};
use sha2::{Digest, Sha256};

const DB: &str = "ridehailing";

/// Writes a consistent synthetic backup (data object + manifest) finished at `at`, `size` bytes.
async fn fake_backup(store: &ObjectBackupStore, at: DateTime<Utc>, size: usize) -> Manifest {
    let id = format!(
        "{}-{}",
        at.format("%Y-%m-%dT%H%M%SZ"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let key = format!("{DB}/{id}.dump.zst");
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let sha = hex::encode(Sha256::digest(&data));
    store.put(&key, Bytes::from(data)).await.unwrap();
    let manifest = Manifest {
        manifest_version: MANIFEST_VERSION,
        id,
        database: DB.into(),
        server_version: "15".into(),
        pg_dump_version: "pg_dump 15".into(),
        dbops_version: "test".into(),
        started_at: at - chrono::Duration::seconds(30),
        finished_at: at,
        format: DumpFormat::Custom,
        compression: Compression::Zstd,
        compression_level: 1,
        encryption: EncryptionInfo {
            mode: EncryptionMode::None,
            recipient_fingerprints: vec![],
            sealed_identity: None,
        },
        data: StoredObject {
            key,
            size: size as u64,
            sha256: sha.clone(),
            plaintext_size: size as u64 * 3,
            plaintext_sha256: sha,
        },
        globals: None,
        tables: BTreeMap::new(),
        labels: BTreeMap::new(),
        statistics: false,
        parts: Vec::new(),
    };
    store
        .put(
            &manifest.key(),
            Bytes::from(serde_json::to_vec(&manifest).unwrap()),
        )
        .await
        .unwrap();
    manifest
}

fn memory() -> ObjectBackupStore {
    ObjectBackupStore::open(&format!("memory://{}", uuid::Uuid::new_v4().simple())).unwrap()
}

fn options() -> BackupHealthOptions {
    BackupHealthOptions::default().with_max_restore_test_age(None)
}

async fn run(store: &ObjectBackupStore, options: BackupHealthOptions) -> BackupHealthReport {
    BackupHealth::new(store.clone(), DB, options).run().await
}

fn status_of(report: &BackupHealthReport, name: &str) -> BackupStatus {
    report
        .check(name)
        .unwrap_or_else(|| panic!("no check {name}: {report:?}"))
        .status
}

fn hours_ago(h: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::hours(h)
}

#[tokio::test]
async fn fresh_backups_are_ok_and_exit_zero() {
    let store = memory();
    for h in [72, 48, 24, 1] {
        fake_backup(&store, hours_ago(h), 10_000).await;
    }
    let report = run(&store, options()).await;
    assert_eq!(report.status, BackupStatus::Ok, "{report:#?}");
    assert_eq!(report.status.exit_code(), 0);
    assert_eq!(report.backups, 4);
    assert!(
        report
            .check("store_reachable")
            .unwrap()
            .reason
            .contains("probe")
    );
}

#[tokio::test]
async fn no_backup_is_critical() {
    let report = run(&memory(), options()).await;
    assert_eq!(
        status_of(&report, "last_backup_age"),
        BackupStatus::Critical
    );
    assert_eq!(report.status.exit_code(), 2);
    assert!(
        report.summary().contains("no backup of `ridehailing`"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn an_old_backup_warns_then_turns_critical() {
    let store = memory();
    fake_backup(&store, hours_ago(30), 10_000).await;
    let report = run(&store, options()).await;
    assert_eq!(
        status_of(&report, "last_backup_age"),
        BackupStatus::Warn,
        "{report:#?}"
    );
    assert!(
        report
            .check("last_backup_age")
            .unwrap()
            .reason
            .contains("warn after 26h"),
        "{report:#?}"
    );
    let report = run(
        &store,
        options().with_max_age(Duration::from_secs(10 * 3600)),
    )
    .await;
    assert_eq!(
        status_of(&report, "last_backup_age"),
        BackupStatus::Critical
    );
}

#[tokio::test]
async fn a_shrunken_backup_is_critical_and_a_jump_warns() {
    let store = memory();
    for h in [96, 72, 48, 24] {
        fake_backup(&store, hours_ago(h), 10_000).await;
    }
    fake_backup(&store, hours_ago(1), 4_000).await;
    let report = run(&store, options()).await;
    assert_eq!(
        status_of(&report, "backup_size"),
        BackupStatus::Critical,
        "{report:#?}"
    );
    assert!(
        report
            .check("backup_size")
            .unwrap()
            .reason
            .contains("missing data")
    );
    fake_backup(&store, hours_ago(0), 35_000).await;
    let report = run(&store, options()).await;
    assert_eq!(
        status_of(&report, "backup_size"),
        BackupStatus::Warn,
        "{report:#?}"
    );
}

#[tokio::test]
async fn a_corrupted_latest_backup_is_critical() {
    let store = memory();
    fake_backup(&store, hours_ago(25), 10_000).await;
    let latest = fake_backup(&store, hours_ago(1), 10_000).await;
    // Same size, one byte changed: only the full check sees it.
    let mut data = store.get(&latest.data.key).await.unwrap().to_vec();
    data[5000] ^= 1;
    store
        .put(&latest.data.key, Bytes::from(data.clone()))
        .await
        .unwrap();
    assert_eq!(
        status_of(&run(&store, options()).await, "latest_integrity"),
        BackupStatus::Ok
    );
    let report = run(&store, options().with_full_verify(true)).await;
    assert_eq!(
        status_of(&report, "latest_integrity"),
        BackupStatus::Critical,
        "{report:#?}"
    );
    // Truncated: the cheap size check sees it.
    store
        .put(&latest.data.key, Bytes::from(data[..100].to_vec()))
        .await
        .unwrap();
    let report = run(&store, options()).await;
    assert_eq!(
        status_of(&report, "latest_integrity"),
        BackupStatus::Critical
    );
    assert!(
        report
            .check("latest_integrity")
            .unwrap()
            .reason
            .contains("manifest says 10000")
    );
}

#[tokio::test]
async fn every_object_of_a_tables_backup_is_checked() {
    let db = support::seeded_database("bh", dbops::Profile::Light).await;
    let store = memory();
    let report = dbops::Backup::new(db.url().clone(), store.clone(), Default::default())
        .run()
        .await
        .unwrap();
    let manifest = report.manifest;
    assert!(manifest.parts.len() > 10, "{manifest:?}");
    let health = |full_verify| {
        let health = BackupHealth::new(
            store.clone(),
            db.name(),
            options().with_full_verify(full_verify),
        );
        async move { health.run().await }
    };
    let report = health(true).await;
    assert_eq!(
        status_of(&report, "latest_integrity"),
        BackupStatus::Ok,
        "{report:#?}"
    );
    // The sizes compared across backups are the whole backup's, not the schema archive's.
    let part = &manifest.parts[3].object;
    let data = store.get(&part.key).await.unwrap().to_vec();
    let mut flipped = data.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    store.put(&part.key, Bytes::from(flipped)).await.unwrap();
    assert_eq!(
        status_of(&health(false).await, "latest_integrity"),
        BackupStatus::Ok
    );
    let report = health(true).await;
    let check = report.check("latest_integrity").unwrap();
    assert_eq!(check.status, BackupStatus::Critical, "{report:#?}");
    assert!(check.reason.contains(&part.key), "{check:?}");
    // Truncated: the cheap size check sees it.
    store
        .put(&part.key, Bytes::from(data[..data.len() / 2].to_vec()))
        .await
        .unwrap();
    let report = health(false).await;
    let check = report.check("latest_integrity").unwrap();
    assert_eq!(check.status, BackupStatus::Critical, "{report:#?}");
    assert!(check.reason.contains(&part.key), "{check:?}");
    // Missing: the backup is no longer listed, the catalog names the object, the run is critical.
    store.delete(&part.key).await.unwrap();
    let report = health(false).await;
    assert_eq!(report.status, BackupStatus::Critical, "{report:#?}");
    let check = report.check("catalog").unwrap();
    assert!(
        check.reason.contains(&part.key) && check.reason.contains("missing"),
        "{check:?}"
    );
}

#[tokio::test]
async fn an_unreachable_store_is_critical_quickly() {
    let port = servers::free_port();
    let mut options = servers::s3_options_for(&format!("http://127.0.0.1:{port}"));
    options.max_retries = Some(0);
    options.connect_timeout = Some(Duration::from_secs(1));
    let store = ObjectBackupStore::open_with("s3://nowhere/x", &options).unwrap();
    let started = std::time::Instant::now();
    let report = run(&store, BackupHealthOptions::default()).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        status_of(&report, "store_reachable"),
        BackupStatus::Critical,
        "{report:#?}"
    );
    assert_eq!(report.status, BackupStatus::Critical);
    assert!(
        !report
            .check("store_reachable")
            .unwrap()
            .reason
            .contains("dbops-test-secret")
    );
}

#[tokio::test]
async fn restore_tests_and_recorded_failures_are_checked() {
    let store = memory();
    fake_backup(&store, hours_ago(2), 10_000).await;
    let with_drills = BackupHealthOptions::default();
    let report = run(&store, with_drills.clone()).await;
    assert_eq!(status_of(&report, "restore_test_age"), BackupStatus::Warn);
    assert!(
        report
            .check("restore_test_age")
            .unwrap()
            .reason
            .contains("--restore-test")
    );
    let record = serde_json::json!({
        "backup_id": "x", "database": DB, "server": "embedded", "tables_checked": 3, "amcheck": "ok",
        "tested_at": Utc::now(), "elapsed_secs": 1.0
    });
    store
        .put(
            &format!(
                "{DB}/restore-tests/{}.json",
                Utc::now().format("%Y-%m-%dT%H%M%S%.3fZ")
            ),
            Bytes::from(record.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(
        status_of(&run(&store, with_drills).await, "restore_test_age"),
        BackupStatus::Ok
    );
    // A failed attempt after the newest backup warns even though that backup is recent.
    store
        .put(
            &format!(
                "{DB}/failures/{}.json",
                Utc::now().format("%Y-%m-%dT%H%M%S%.3fZ")
            ),
            Bytes::from("{}"),
        )
        .await
        .unwrap();
    let report = run(&store, options()).await;
    assert_eq!(
        status_of(&report, "last_backup_age"),
        BackupStatus::Warn,
        "{report:#?}"
    );
    assert_eq!(report.failures, 1);
}

#[tokio::test]
async fn wal_archiving_is_checked_when_pitr_is_set_up() {
    let store = memory();
    fake_backup(&store, hours_ago(1), 10_000).await;
    for (command, expected) in [
        ("false", BackupStatus::Critical),
        ("true", BackupStatus::Ok),
    ] {
        let cluster = TempCluster::builder()
            .archive_command(command)
            .start()
            .await
            .unwrap();
        let client = cluster.url().connect().await.unwrap();
        client
            .batch_execute("CREATE TABLE t AS SELECT 1 AS x; SELECT pg_switch_wal();")
            .await
            .unwrap();
        let mut report = None;
        for _ in 0..100 {
            let r = BackupHealth::new(store.clone(), DB, options())
                .with_server(cluster.url())
                .run()
                .await;
            if r.check("wal_archive").is_some_and(|c| c.status == expected) {
                report = Some(r);
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let report =
            report.unwrap_or_else(|| panic!("archive_command={command}: never {expected}"));
        if expected == BackupStatus::Critical {
            assert!(
                report
                    .check("wal_archive")
                    .unwrap()
                    .reason
                    .contains("failing")
            );
        }
        cluster.stop().await.unwrap();
    }
}

/// A local HTTP server recording every POST body.
async fn http_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::routing::post;
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let recorded = bodies.clone();
    let app = axum::Router::new()
        .route(
            "/hook/{token}",
            post(move |body: String| {
                let recorded = recorded.clone();
                async move {
                    recorded.lock().unwrap().push(body);
                    "ok"
                }
            }),
        )
        .route(
            "/fail",
            post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), bodies)
}

/// aiosmtpd writing every message into a Maildir.
fn smtp_sink() -> (servers::Server, std::path::PathBuf) {
    let port = servers::free_port();
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    let mut command = std::process::Command::new(servers::tool("python"));
    command
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir);
    (servers::spawn("aiosmtpd", command, port, dir), maildir)
}

fn mails(maildir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
            for e in entries.flatten() {
                out.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn alerts_go_out_on_state_changes_only_and_reach_http_and_smtp() {
    let store = memory();
    let (base, bodies) = http_sink().await;
    let (_smtp, maildir) = smtp_sink();
    let config = AlertConfig {
        slack_webhook: Some(Secret::new(format!("{base}/hook/T000-slack-secret"))),
        webhook: Some(Secret::new(format!("{base}/hook/generic-secret"))),
        email: Some(EmailConfig {
            host: "127.0.0.1".into(),
            port: Some(_smtp.port),
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "dbops@example.com".into(),
            to: vec!["oncall@example.com".into()],
        }),
        reminder: None,
        ..AlertConfig::default()
    };
    // First run: no backup -> critical -> alert on every channel.
    let report = run(&store, options()).await;
    let outcome = notify(&report, &store, &config).await.unwrap();
    assert!(outcome.sent && !outcome.failed(), "{outcome:?}");
    assert_eq!(outcome.deliveries.len(), 3);
    let posted = bodies.lock().unwrap().clone();
    assert_eq!(posted.len(), 2);
    let slack: serde_json::Value = serde_json::from_str(&posted[0]).unwrap();
    assert!(
        slack["text"].as_str().unwrap().contains("CRITICAL"),
        "{slack}"
    );
    assert!(slack["text"].as_str().unwrap().contains("last_backup_age"));
    let generic: serde_json::Value = serde_json::from_str(&posted[1]).unwrap();
    assert_eq!(generic["report"]["status"], "critical");
    assert_eq!(generic["event"], "dbops.backup_health");
    let received = mails(&maildir);
    assert_eq!(received.len(), 1);
    assert!(
        received[0].contains("Subject: [dbops] backup health of ridehailing: CRITICAL"),
        "{}",
        received[0]
    );
    assert!(received[0].contains("To: oncall@example.com"));

    // Same state again: suppressed.
    let outcome = notify(&run(&store, options()).await, &store, &config)
        .await
        .unwrap();
    assert!(
        !outcome.sent && outcome.reason == "unchanged",
        "{outcome:?}"
    );
    assert_eq!(bodies.lock().unwrap().len(), 2);

    // Recovery: a fresh backup -> ok -> one "resolved" alert.
    fake_backup(&store, hours_ago(0), 1000).await;
    let outcome = notify(&run(&store, options()).await, &store, &config)
        .await
        .unwrap();
    assert!(
        outcome.sent && outcome.reason.contains("from critical to ok"),
        "{outcome:?}"
    );
    assert_eq!(mails(&maildir).len(), 2);

    // Reminders while bad: with a zero interval, every run reminds.
    let bad = memory();
    let reminding = AlertConfig {
        reminder: Some(Duration::ZERO),
        ..config.clone()
    };
    assert!(
        notify(&run(&bad, options()).await, &bad, &reminding)
            .await
            .unwrap()
            .sent
    );
    let again = notify(&run(&bad, options()).await, &bad, &reminding)
        .await
        .unwrap();
    assert!(
        again.sent && again.reason.starts_with("reminder"),
        "{again:?}"
    );
}

#[tokio::test]
async fn delivery_failures_are_reported_without_secrets_and_retried() {
    let store = memory();
    let (base, _) = http_sink().await;
    let dead = servers::free_port();
    let config = AlertConfig {
        slack_webhook: Some(Secret::new(format!(
            "http://127.0.0.1:{dead}/services/T000/B000/very-secret-token"
        ))),
        webhook: Some(Secret::new(format!("{base}/fail"))),
        reminder: None,
        ..AlertConfig::default()
    };
    let report = run(&store, options()).await;
    let outcome = notify(&report, &store, &config).await.unwrap();
    assert!(outcome.failed() && !outcome.sent, "{outcome:?}");
    let text = format!("{outcome:?}");
    assert!(!text.contains("very-secret-token"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    assert!(text.contains("500"), "{text}");
    // Nobody was told, so the next run tries again instead of suppressing.
    let outcome = notify(&report, &store, &config).await.unwrap();
    assert_ne!(outcome.reason, "unchanged");
    // The health result itself is untouched by delivery.
    assert_eq!(report.status, BackupStatus::Critical);
}

/// Parses Prometheus text into `name{labels}` -> value.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn metrics_are_parseable_and_true() {
    let store = memory();
    let latest = fake_backup(&store, hours_ago(1), 12_345).await;
    fake_backup(&store, hours_ago(25), 12_000).await;
    let report = run(&store, options()).await;
    let text = metrics::render(std::slice::from_ref(&report));
    let parsed = parse_metrics(&text);
    let db = "database=\"ridehailing\"";
    assert_eq!(
        parsed[&format!("dbops_backup_health_status{{{db}}}")],
        0.0,
        "{text}"
    );
    assert_eq!(parsed[&format!("dbops_backups{{{db}}}")], 2.0);
    assert_eq!(
        parsed[&format!("dbops_backup_last_size_bytes{{{db}}}")],
        12_345.0
    );
    assert_eq!(
        parsed[&format!("dbops_backup_last_success_timestamp_seconds{{{db}}}")],
        latest.finished_at.timestamp_millis() as f64 / 1000.0
    );
    assert_eq!(
        parsed[&format!("dbops_backup_check_status{{{db},check=\"last_backup_age\"}}")],
        0.0
    );
    assert!(text.contains("# TYPE dbops_backup_failures_total counter"));
    // Written atomically for the textfile collector.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dbops.prom");
    metrics::write_file(&path, &text).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[tokio::test]
async fn the_health_server_exposes_backup_metrics() {
    let store = memory();
    fake_backup(&store, hours_ago(1), 4321).await;
    let cluster = support::cluster().await;
    let probe =
        dbops::PgHealthProbe::for_url(&cluster.url(), dbops::HealthOptions::default()).unwrap();
    let app =
        dbops::health::router_with_backups(probe, vec![BackupHealth::new(store, DB, options())]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (status, body) =
        tokio::task::spawn_blocking(move || servers::http("GET", port, "/metrics", &[], b""))
            .await
            .unwrap();
    assert_eq!(status, 200, "{body}");
    let text = body.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or(&body);
    assert!(text.contains("dbops_ready"), "{text}");
    assert!(
        text.contains("dbops_backup_last_size_bytes{database=\"ridehailing\"} 4321"),
        "{text}"
    );
}
