//! `dbops backup ...` and `dbops restore` through the real binary, against a password-protected TCP
//! cluster: the whole workflow of the replaced scripts, and no secret in output or in any argv.

use crate::support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::support::output_text as text;
use dbops::seed::PgSeeder;
use dbops::{Listen, MigrationSource, Migrator, PgMigrator, Profile, SeedOptions, TempCluster};

fn dbops(url: &str, store: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbops"))
        .env("DATABASE_URL", url)
        .env("DBOPS_STORE", store)
        .env("DBOPS_BACKUP_PASSPHRASE", "pass-phrase-that-must-not-leak")
        .args(args)
        .output()
        .unwrap()
}

/// Every process's argv, joined.
fn all_command_lines() -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            out.push_str(&String::from_utf8_lossy(&cmdline).replace('\0', " "));
            out.push('\n');
        }
    }
    out
}

#[tokio::test]
async fn backup_list_verify_restore_prune_without_leaking_secrets() {
    let cluster = TempCluster::builder()
        .listen(Listen::Tcp)
        .start()
        .await
        .unwrap();
    let url = cluster.tcp_url().unwrap();
    let password = url.password().unwrap().to_string();
    let source =
        MigrationSource::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
            .unwrap();
    PgMigrator::new(url.clone(), source).up(None).await.unwrap();
    PgSeeder::new(url.clone())
        .seed(Profile::Medium, &SeedOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().display());
    let raw = url.expose();

    // A backup, encrypted with a passphrase from the environment, while watching every argv.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbops"))
        .env("DATABASE_URL", &raw)
        .env("DBOPS_STORE", &store)
        .env("SECRET_PASS", "pass-phrase-that-must-not-leak")
        .args([
            "backup",
            "--passphrase-env",
            "SECRET_PASS",
            "--label",
            "env=test",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut leaked = false;
    while child.try_wait().unwrap().is_none() {
        let lines = all_command_lines();
        leaked |= lines.contains(&password) || lines.contains("pass-phrase-that-must-not-leak");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!leaked, "a secret appeared in a process's argv");
    assert!(
        !text(&out).contains(&password) && !text(&out).contains("pass-phrase"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("encrypted (passphrase)"),
        "{}",
        text(&out)
    );

    // A second, plain one; then list as JSON.
    let out = dbops(&raw, &store, &["backup", "create", "--compression", "gzip"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = dbops(&raw, &store, &["--json", "backup", "list"]);
    let catalog: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let backups = catalog["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 2, "{catalog}");
    let first_id = backups[0]["id"].as_str().unwrap().to_string();
    assert_eq!(backups[0]["manifest"]["labels"]["env"], "test");

    // Verify both (the first needs the passphrase, read from DBOPS_BACKUP_PASSPHRASE).
    let out = dbops(&raw, &store, &["backup", "verify", &first_id]);
    assert!(
        out.status.success() && text(&out).contains("is valid"),
        "{}",
        text(&out)
    );
    let out = dbops(&raw, &store, &["backup", "verify", "--restore-test"]);
    assert!(
        out.status.success() && text(&out).contains("pg_amcheck: ok"),
        "{}",
        text(&out)
    );

    // Restore into a new database by id; --validate-only touches nothing.
    let out = dbops(
        &raw,
        &store,
        &[
            "restore", "--id", &first_id, "--into", "restored", "--create",
        ],
    );
    assert!(
        out.status.success() && text(&out).contains("tables match"),
        "{}",
        text(&out)
    );
    let out = dbops(&raw, &store, &["restore", "--validate-only"]);
    assert!(
        out.status.success() && text(&out).contains("no database was touched"),
        "{}",
        text(&out)
    );
    // Into the original: refused while non-empty.
    let out = dbops(&raw, &store, &["restore"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("--clean"), "{}", text(&out));
    // A wrong passphrase is a clear error.
    let out = Command::new(env!("CARGO_BIN_EXE_dbops"))
        .env("DATABASE_URL", &raw)
        .env("DBOPS_STORE", &store)
        .env("DBOPS_BACKUP_PASSPHRASE", "wrong")
        .args(["restore", "--id", &first_id, "--validate-only"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("right key or passphrase"),
        "{}",
        text(&out)
    );

    // Prune: dry run by default, then applied.
    let out = dbops(&raw, &store, &["backup", "prune", "--keep-last", "1"]);
    assert!(text(&out).contains("dry run"), "{}", text(&out));
    let out = dbops(&raw, &store, &["--json", "backup", "list"]);
    let catalog: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(catalog["backups"].as_array().unwrap().len(), 2);
    let out = dbops(
        &raw,
        &store,
        &["backup", "prune", "--keep-last", "1", "--apply"],
    );
    assert!(
        out.status.success() && text(&out).contains("deleted"),
        "{}",
        text(&out)
    );
    let out = dbops(&raw, &store, &["--json", "backup", "list"]);
    let catalog: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(catalog["backups"].as_array().unwrap().len(), 1);

    // Health: exit code follows the worst check; metrics file written; an empty store is critical.
    let metrics = dir.path().join("metrics.prom");
    let out = dbops(
        &raw,
        &store,
        &[
            "backup",
            "health",
            "--max-restore-test-age-days",
            "0",
            "--metrics-file",
            metrics.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        std::fs::read_to_string(&metrics)
            .unwrap()
            .contains("dbops_backup_health_status{database=\"postgres\"} 0")
    );
    let empty = tempfile::tempdir().unwrap();
    let out = dbops(
        &raw,
        &format!("file://{}", empty.path().display()),
        &["--json", "backup", "health"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "critical");

    // Bad input: unknown compression, bad store URL, bad recipient.
    let out = dbops(&raw, &store, &["backup", "--compression", "brotli"]);
    assert!(
        text(&out).contains("zstd, gzip, lz4, none"),
        "{}",
        text(&out)
    );
    let out = dbops(&raw, "ftp://x", &["backup", "list"]);
    assert!(text(&out).contains("unknown scheme"), "{}", text(&out));
    let out = dbops(&raw, &store, &["backup", "--recipient", "age1notakey"]);
    assert!(
        text(&out).contains("not an age X25519 public key"),
        "{}",
        text(&out)
    );
    cluster.stop().await.unwrap();
}

#[tokio::test]
async fn restore_a_legacy_file_with_the_old_flags() {
    let cluster = TempCluster::start().await.unwrap();
    let url = cluster.url();
    let client = url.connect().await.unwrap();
    client
        .batch_execute("CREATE TABLE t (id int primary key, note text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 500) g")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup_postgres_20240115_120000.sql.gz");
    let env = dbops::config::ChildEnv::for_url(&url).unwrap();
    let mut command = Command::new("bash");
    command.arg("-c").arg(format!(
        "set -o pipefail; {} | gzip > {}",
        cluster.binaries().program("pg_dump").display(),
        file.display()
    ));
    env.apply_std(&mut command);
    assert!(command.status().unwrap().success());
    let raw = url.expose();
    let out = dbops(
        &raw,
        "memory://unused",
        &[
            "restore",
            "--file",
            file.to_str().unwrap(),
            "--validate-only",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = dbops(
        &raw,
        "memory://unused",
        &[
            "restore",
            "--file",
            file.to_str().unwrap(),
            "--new-database",
            "--target-database",
            "ridehailing_restored",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let restored = url
        .with_database("ridehailing_restored")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        support::scalar_i64(&restored, "SELECT count(*) FROM t").await,
        500
    );
    cluster.stop().await.unwrap();
}

/// `dbops backup --copy-format binary` stores the rows as COPY binary, says so in `backup list
/// --json`, and `dbops restore` loads them back; a bad format is refused by name.
#[tokio::test]
async fn a_binary_backup_restores_through_the_cli() {
    let cluster = TempCluster::start().await.unwrap();
    let url = cluster.url();
    let client = url.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE t (id int primary key, note text, at timestamptz, amount numeric); \
             INSERT INTO t SELECT g, 'row ' || g, now() - g * interval '1 minute', g / 3.0 \
             FROM generate_series(1, 700) g",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().display());
    let raw = url.expose();
    let out = dbops(&raw, &store, &["backup", "--copy-format", "hex"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("binary"), "{}", text(&out));
    let out = dbops(&raw, &store, &["backup", "--copy-format", "binary"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = dbops(&raw, &store, &["backup", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"format\": \"binary\""),
        "{}",
        text(&out)
    );
    let out = dbops(
        &raw,
        &store,
        &["restore", "--into", "from_binary", "--create"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let restored = url.with_database("from_binary").connect().await.unwrap();
    let sum = "SELECT count(*) FILTER (WHERE note = 'row ' || id AND amount = id / 3.0) FROM t";
    assert_eq!(support::scalar_i64(&restored, sum).await, 700);
    drop(restored);
    cluster.stop().await.unwrap();
}

/// SIGKILL at random points of a backup: never a manifest without data, never a half backup listed;
/// the dead holder's lock is taken over and the next backup works.
#[tokio::test]
async fn a_killed_backup_leaves_nothing_listed_and_the_next_one_works() {
    let cluster = TempCluster::start().await.unwrap();
    let url = cluster.url();
    let source =
        MigrationSource::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
            .unwrap();
    PgMigrator::new(url.clone(), source).up(None).await.unwrap();
    PgSeeder::new(url.clone())
        .seed(Profile::Heavy, &SeedOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("file://{}", dir.path().display());
    let store = dbops::ObjectBackupStore::open(&store_url).unwrap();
    let raw = url.expose();
    let mut killed = 0;
    for delay_ms in [5u64, 30, 80, 150, 250] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dbops"))
            .env("DATABASE_URL", &raw)
            .args(["-q", "backup", "--store", &store_url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        let catalog = dbops::BackupCatalog::catalog(&store, None).await.unwrap();
        assert!(catalog.problems.is_empty(), "{catalog:?}");
        for b in &catalog.backups {
            // Whatever is listed is whole.
            dbops::restore::BackupValidator::new(store.clone())
                .validate_entry(b, &Default::default())
                .await
                .unwrap();
        }
    }
    assert!(
        killed >= 3,
        "the backups finished before they could be killed; use a bigger database"
    );
    // The next backup takes over the dead process's lock and succeeds.
    let out = dbops(&raw, &store_url, &["backup"]);
    assert!(out.status.success(), "{}", text(&out));
    cluster.stop().await.unwrap();
}

/// The CLI holds passwords, identities and passphrases: it runs without core dumps (limit 0, not
/// dumpable), and the tools it starts inherit the zero limit.
#[test]
fn the_cli_writes_no_core_files() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Started with core dumps allowed (soft limit unlimited): dbops itself must turn them off.
    let mut child = Command::new("bash")
        .args(["-c", "ulimit -S -c unlimited && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_dbops"))
        .args(["health", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--database-url",
            "postgresql://app:hunter2secret@127.0.0.1:1/app",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let limits = format!("/proc/{}/limits", child.id());
    let started = std::time::Instant::now();
    let mut seen = String::new();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        seen = std::fs::read_to_string(&limits).unwrap_or_default();
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let seen_after_start = std::fs::read_to_string(&limits).unwrap_or(seen);
    child.kill().unwrap();
    child.wait().unwrap();
    let core = seen_after_start
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("no core limit line in {seen_after_start}"));
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
}
