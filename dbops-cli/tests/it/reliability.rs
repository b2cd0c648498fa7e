//! Crashes, races and hostile names: the `dbops` binary SIGKILLed during `restore`, `wal push` and
//! `db reset`; retention racing an in-flight backup; the same WAL segment pushed twice at once; two
//! restores into one new database name; database names with quotes, spaces and unicode end to end.
//! Afterwards the state is fully old or fully new, a rerun works, and nothing was injected.

use crate::support;
use dbops::BackupCatalog;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::faults::{FaultStore, Faults};
use crate::support::output_text as text;
use dbops::backup::{Backup, BackupOptions, BackupStore, RetentionPolicy};
use dbops::pitr::PitrOptions;
use dbops::{DatabaseUrl, ObjectBackupStore, Profile, TempCluster, TestDatabase};

fn migrations_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

async fn seeded() -> TestDatabase {
    support::seeded_database("rl", Profile::Light).await
}

fn cli(url: &DatabaseUrl, store: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbops"));
    command
        .env("DATABASE_URL", url.expose())
        .env("DBOPS_STORE", store)
        .env("DBOPS_MIGRATIONS", migrations_dir())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run(url: &DatabaseUrl, store: &str, args: &[&str]) -> Output {
    cli(url, store, args).output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}", text(&out));
    text(&out)
}

/// Starts the command, SIGKILLs it after `delay` unless it has finished, reaps it. Returns whether it
/// was killed. Its temporary files (a killed restore's spool) go to a directory removed afterwards.
fn kill_after(mut command: Command, delay: Duration) -> bool {
    let scratch = tempfile::tempdir().unwrap();
    command
        .env("TMPDIR", scratch.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    while started.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let killed = child.try_wait().unwrap().is_none();
    if killed {
        child.kill().unwrap();
    }
    child.wait().unwrap();
    killed
}

/// Kill points spread over a full run of `elapsed`: fixed fractions (deterministic, no RNG).
fn kill_points(elapsed: Duration) -> Vec<Duration> {
    kill_points_at(elapsed, &[0.02, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95])
}

fn kill_points_at(elapsed: Duration, fractions: &[f64]) -> Vec<Duration> {
    fractions.iter().map(|f| elapsed.mul_f64(*f)).collect()
}

/// Waits until the server has finished the statements a killed client sent about `name` (a backend
/// runs its current statement to the end before it notices that its client is gone).
async fn settle(url: &DatabaseUrl, name: &str) {
    let admin = url.with_database("postgres").connect().await.unwrap();
    for _ in 0..200 {
        let busy: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
                 AND state <> 'idle' AND strpos(query, $1) > 0",
                &[&name],
            )
            .await
            .unwrap()
            .get(0);
        if busy == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("statements about `{name}` still running after 5 s");
}

/// Staging databases of restores into `prefix...` that are still there.
async fn staging_left(url: &DatabaseUrl, prefix: &str) -> Vec<String> {
    let admin = url.with_database("postgres").connect().await.unwrap();
    admin
        .query(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'dbops_restoring_') \
             AND shobj_description(oid, 'pg_database') LIKE $1",
            &[&format!("%\"{prefix}%")],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn a_killed_restore_into_a_new_database_leaves_it_absent_or_complete() {
    let db = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().display());
    ok(run(db.url(), &store, &["-q", "backup"]), "backup");
    let expected = support::row_counts(db.url()).await;
    let started = Instant::now();
    ok(
        run(
            db.url(),
            &store,
            &["-q", "restore", "--into", "rl_kill_full", "--create"],
        ),
        "restore",
    );
    let elapsed = started.elapsed();
    assert_eq!(
        support::row_counts(&db.url().with_database("rl_kill_full")).await,
        expected
    );
    let (mut killed, mut absent) = (0, 0);
    for (i, delay) in kill_points(elapsed).into_iter().enumerate() {
        let target = format!("rl_killed_{i}");
        let args = ["-q", "restore", "--into", target.as_str(), "--create"];
        killed += usize::from(kill_after(cli(db.url(), &store, &args), delay));
        settle(db.url(), &target).await;
        if support::database_exists(db.url(), &target).await {
            // Renamed into place only when complete.
            assert_eq!(
                support::row_counts(&db.url().with_database(&target)).await,
                expected,
                "{target} after a kill at {delay:?} exists but is not complete"
            );
        } else {
            absent += 1;
            ok(run(db.url(), &store, &args), "restore after the kill");
            assert_eq!(
                support::row_counts(&db.url().with_database(&target)).await,
                expected
            );
        }
    }
    eprintln!(
        "restore: full run {elapsed:?}; {killed} of 8 killed; {absent} left no target (rerun \
         restored it), the rest were complete"
    );
    assert!(killed >= 4, "only {killed} restores were killed mid-way");
    assert!(absent >= 2, "every killed restore had finished");
    // The killed restores' staging databases were dropped by the reruns.
    assert_eq!(
        staging_left(db.url(), "rl_killed_").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_killed_wal_push_leaves_no_segment_or_a_whole_one_and_the_rerun_succeeds() {
    let scratch = tempfile::tempdir().unwrap();
    let wal = support::wal_segment_copy(scratch.path()).await;
    let name = wal.file_name().unwrap().to_string_lossy().to_string();
    let original = std::fs::read(&wal).unwrap();
    let url = support::cluster().await.url();
    let push = |store: &str| {
        cli(
            &url,
            store,
            &["-q", "wal", "push", "--store", store, wal.to_str().unwrap()],
        )
    };
    // The quickest of three full runs (the first one reads a cold file).
    let mut elapsed = Duration::MAX;
    for _ in 0..3 {
        let full = tempfile::tempdir().unwrap();
        let full_store = format!("file://{}", full.path().display());
        let started = Instant::now();
        assert!(push(&full_store).status().unwrap().success());
        elapsed = elapsed.min(started.elapsed());
    }
    let (mut killed, mut empty) = (0, 0);
    // Dense near the end too, where the one conditional put happens.
    let fractions = [
        0.02, 0.1, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.94, 0.97, 0.99, 1.0,
    ];
    let points = kill_points_at(elapsed, &fractions);
    let attempts = points.len();
    for (i, delay) in points.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let store_url = format!("file://{}", dir.path().display());
        killed += usize::from(kill_after(push(&store_url), delay));
        let store = ObjectBackupStore::open(&store_url).unwrap();
        let archived = store.list("").await.unwrap();
        match archived.len() {
            0 => empty += 1,
            1 => {
                let fetched = scratch.path().join(format!("killed-{i}"));
                dbops::pitr::fetch(&store, &name, &fetched, &PitrOptions::default())
                    .await
                    .unwrap();
                assert!(std::fs::read(&fetched).unwrap() == original);
            }
            _ => panic!("more than the segment after a kill at {delay:?}: {archived:?}"),
        }
        // The rerun (PostgreSQL retries archive_command) succeeds, idempotently.
        let out = push(&store_url).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let fetched = scratch.path().join(format!("rerun-{i}"));
        dbops::pitr::fetch(&store, &name, &fetched, &PitrOptions::default())
            .await
            .unwrap();
        assert!(std::fs::read(&fetched).unwrap() == original);
    }
    eprintln!(
        "wal push: full run {elapsed:?}; {killed} of {attempts} killed; {empty} left no segment, the \
         rest a whole one"
    );
    assert!(killed >= 3, "only {killed} pushes were killed mid-way");
    assert!(empty >= 1, "no kill came before the upload");
}

#[tokio::test]
async fn a_killed_reset_is_repaired_by_the_next_reset() {
    let cluster = support::cluster().await;
    let url = cluster.url().with_database("rl_reset_target");
    let started = Instant::now();
    ok(
        run(
            &url,
            "memory://x",
            &["-q", "db", "reset", "--seed", "light"],
        ),
        "reset",
    );
    let elapsed = started.elapsed();
    let expected = support::row_counts(&url).await;
    let mut killed = 0;
    for delay in kill_points(elapsed) {
        killed += usize::from(kill_after(
            cli(
                &url,
                "memory://x",
                &["-q", "db", "reset", "--seed", "light"],
            ),
            delay,
        ));
        ok(
            run(
                &url,
                "memory://x",
                &["-q", "db", "reset", "--seed", "light"],
            ),
            "reset after a kill",
        );
        assert_eq!(
            support::row_counts(&url).await,
            expected,
            "kill at {delay:?}"
        );
        let out = ok(run(&url, "memory://x", &["migrate", "version"]), "version");
        assert!(out.contains('8') && !out.contains("dirty"), "{out}");
    }
    eprintln!("db reset: full run {elapsed:?}; {killed} of 8 killed; every rerun repaired it");
    assert!(killed >= 4, "only {killed} resets were killed mid-way");
}

#[tokio::test]
async fn retention_never_touches_an_in_flight_backup() {
    let db = seeded().await;
    let faults = Faults::new();
    let store = ObjectBackupStore::from_object_store(
        Arc::new(FaultStore::new(faults.clone())),
        "",
        "fault://retention",
    );
    let backup = || Backup::new(db.url().clone(), store.clone(), BackupOptions::default());
    let first = backup().run().await.unwrap();
    let second = backup().run().await.unwrap();
    // The third backup's data is uploaded, its manifest write held back: in flight.
    faults.stall_manifest_ms.store(1500, Ordering::SeqCst);
    let puts = faults.manifest_puts.load(Ordering::SeqCst);
    let third = backup();
    let in_flight = tokio::spawn(async move { third.run().await });
    while faults.manifest_puts.load(Ordering::SeqCst) == puts {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    faults.stall_manifest_ms.store(0, Ordering::SeqCst);
    let policy = RetentionPolicy::default().with_keep_last(1);
    let plan = dbops::backup::apply_retention(&store, db.name(), &policy, true)
        .await
        .unwrap();
    assert!(plan.applied);
    let deleted: Vec<&str> = plan.delete.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(deleted, vec![first.manifest.id.as_str()]);
    assert!(plan.orphans.is_empty(), "{plan:?}");
    let third = in_flight.await.unwrap().unwrap();
    let catalog = store.catalog(None).await.unwrap();
    let ids: Vec<&str> = catalog.backups.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, vec![&second.manifest.id, &third.manifest.id]);
    for b in &catalog.backups {
        dbops::restore::BackupValidator::new(store.clone())
            .validate_entry(b, &Default::default())
            .await
            .unwrap();
    }

    // The same race on a real file store, unstaged: retention applied over and over while a
    // backup runs.
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBackupStore::open(&format!("file://{}", dir.path().display())).unwrap();
    let old = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let running_backup = Backup::new(db.url().clone(), store.clone(), BackupOptions::default());
    let running = tokio::spawn(async move { running_backup.run().await });
    let mut rounds = 0;
    while !running.is_finished() {
        dbops::backup::apply_retention(&store, db.name(), &policy, true)
            .await
            .unwrap();
        rounds += 1;
    }
    let new = running.await.unwrap().unwrap();
    assert!(rounds >= 2, "the backup finished before retention ran");
    let catalog = store.catalog(None).await.unwrap();
    assert!(
        catalog.problems.is_empty() && catalog.orphans.is_empty(),
        "{catalog:?}"
    );
    assert!(
        catalog
            .backups
            .iter()
            .all(|b| b.id == old.manifest.id || b.id == new.manifest.id),
        "{catalog:?}"
    );
    let latest = catalog.backups.last().unwrap();
    assert_eq!(latest.id, new.manifest.id);
    dbops::restore::BackupValidator::new(store.clone())
        .validate_entry(latest, &Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_same_wal_segment_pushed_twice_at_once_is_archived_once() {
    let scratch = tempfile::tempdir().unwrap();
    let wal = support::wal_segment_copy(scratch.path()).await;
    let name = wal.file_name().unwrap().to_string_lossy().to_string();
    let original = std::fs::read(&wal).unwrap();
    let url = support::cluster().await.url();
    for round in 0..4 {
        // Two archive_command processes at once.
        let dir = tempfile::tempdir().unwrap();
        let store_url = format!("file://{}", dir.path().display());
        let args = [
            "--json",
            "wal",
            "push",
            "--store",
            &store_url,
            wal.to_str().unwrap(),
        ];
        let a = cli(&url, &store_url, &args).spawn().unwrap();
        let b = cli(&url, &store_url, &args).spawn().unwrap();
        let mut outcomes: Vec<String> = [a, b]
            .into_iter()
            .map(|child| {
                let out = child.wait_with_output().unwrap();
                assert!(out.status.success(), "round {round}: {}", text(&out));
                let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                report["outcome"].as_str().unwrap().to_string()
            })
            .collect();
        outcomes.sort();
        assert_eq!(outcomes, ["already archived", "archived"], "round {round}");
        let store = ObjectBackupStore::open(&store_url).unwrap();
        assert_eq!(store.list("").await.unwrap().len(), 1);
        let fetched = scratch.path().join(format!("fetched-{round}"));
        dbops::pitr::fetch(&store, &name, &fetched, &PitrOptions::default())
            .await
            .unwrap();
        assert!(std::fs::read(&fetched).unwrap() == original);

        // Two pushes in one process, on an in-memory store.
        let store = ObjectBackupStore::open(&format!("memory://{}", uuid::Uuid::new_v4().simple()))
            .unwrap();
        let options = PitrOptions::default();
        let (x, y) = tokio::join!(
            dbops::pitr::push(&store, &wal, &options),
            dbops::pitr::push(&store, &wal, &options)
        );
        let mut outcomes = [x.unwrap().outcome, y.unwrap().outcome];
        outcomes.sort();
        assert_eq!(outcomes, ["already archived", "archived"]);
    }
}

#[tokio::test]
async fn two_restores_into_one_new_database_name_one_wins() {
    let db = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().display());
    ok(run(db.url(), &store, &["-q", "backup"]), "backup");
    let expected = support::row_counts(db.url()).await;
    for round in 0..3 {
        let target = format!("rl_race_{round}");
        let args = ["-q", "restore", "--into", target.as_str(), "--create"];
        let a = cli(db.url(), &store, &args).spawn().unwrap();
        let b = cli(db.url(), &store, &args).spawn().unwrap();
        let outs: Vec<Output> = [a, b]
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let winners = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(
            winners,
            1,
            "round {round}: {}",
            outs.iter().map(text).collect::<String>()
        );
        let loser = outs.iter().find(|o| !o.status.success()).unwrap();
        let message = text(loser);
        assert!(
            message.contains(&format!("create database `{target}`"))
                && (message.contains("already exists") || message.contains("another restore")),
            "{message}"
        );
        assert_eq!(
            support::row_counts(&db.url().with_database(&target)).await,
            expected
        );
        assert_eq!(staging_left(db.url(), &target).await, Vec::<String>::new());
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        out.push(entry.path().display().to_string());
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        }
    }
    out
}

/// Every database of the cluster.
async fn databases(url: &DatabaseUrl) -> Vec<String> {
    let admin = url.with_database("postgres").connect().await.unwrap();
    admin
        .query("SELECT datname FROM pg_database ORDER BY 1", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn hostile_database_names_work_end_to_end_and_inject_nothing() {
    let cluster = TempCluster::start().await.unwrap();
    let base = cluster.url();
    let admin = base.with_database("postgres").connect().await.unwrap();
    admin
        .batch_execute("CREATE DATABASE sentinel")
        .await
        .unwrap();
    base.with_database("sentinel")
        .connect()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE canary (id int); INSERT INTO canary VALUES (1)")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().display());
    let names = [
        "o'rder \"db\" ünï",
        "x\"; DROP DATABASE sentinel; --",
        "a'; DROP TABLE canary; SELECT '",
    ];
    let mut expected_dbs = databases(&base).await;
    for name in names {
        let url = base.with_database(name);
        let copy = format!("{name} copy");
        // reset (creates it) -> seed -> migrate -> status/health -> backup -> restore --into --create
        ok(run(&url, &store, &["-q", "db", "reset"]), name);
        ok(run(&url, &store, &["-q", "seed", "light"]), name);
        let out = ok(run(&url, &store, &["migrate", "up"]), name);
        assert!(!out.contains("error"), "{out}");
        let out = ok(run(&url, &store, &["migrate", "version"]), name);
        assert!(out.contains('8'), "{out}");
        let out = ok(run(&url, &store, &["--json", "db", "status"]), name);
        assert!(out.contains("connections") || out.contains('{'), "{out}");
        ok(run(&url, &store, &["health", "check"]), name);
        ok(run(&url, &store, &["-q", "backup", "create"]), name);
        let out = run(&url, &store, &["--json", "backup", "list"]);
        let catalog: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
        let listed: Vec<&str> = catalog["backups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["manifest"]["database"].as_str())
            .collect();
        assert!(
            listed.contains(&name),
            "{listed:?} {} / all: {} / files: {:?}",
            text(&out),
            text(&run(&url, &store, &["--json", "backup", "list", "--all"])),
            walk(dir.path())
        );
        ok(
            run(
                &url,
                &store,
                &["-q", "restore", "--into", &copy, "--create"],
            ),
            name,
        );
        assert_eq!(
            support::row_counts(&base.with_database(&copy)).await,
            support::row_counts(&url).await
        );
        ok(
            run(
                &url,
                &store,
                &["backup", "health", "--max-restore-test-age-days", "0"],
            ),
            name,
        );
        // Reset again (drops and recreates it) and seed again.
        ok(
            run(&url, &store, &["-q", "db", "reset", "--seed", "light"]),
            name,
        );
        assert_eq!(
            support::row_counts(&url).await,
            support::row_counts(&base.with_database(&copy)).await
        );
        expected_dbs.push(name.to_string());
        expected_dbs.push(copy);
    }
    expected_dbs.sort();
    let mut actual = databases(&base).await;
    actual.sort();
    assert_eq!(actual, expected_dbs, "a database appeared or vanished");
    let canary = base.with_database("sentinel").connect().await.unwrap();
    assert_eq!(
        support::scalar_i64(&canary, "SELECT count(*) FROM canary").await,
        1
    );
    cluster.stop().await.unwrap();
}

/// The object keys of hostile names on every store server: listed, read back, restored.
#[tokio::test]
async fn hostile_database_names_round_trip_on_s3_and_azure() {
    use dbops::restore::{PgRestorer, RestoreOptions, RestoreTarget, Restorer};
    use support::servers;
    let cluster = support::cluster().await;
    let name = format!(
        "o'rder \"db\" ünï %41 {}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let admin = cluster
        .url()
        .with_database("postgres")
        .connect()
        .await
        .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {}",
            dbops::config::quote_ident(&name)
        ))
        .await
        .unwrap();
    let url = cluster.url().with_database(&name);
    url.connect()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
        .await
        .unwrap();
    let bucket = format!(
        "hostile-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let moto = servers::moto();
    servers::moto_bucket(moto, &bucket);
    let azurite = servers::azurite();
    servers::azurite_container(azurite, &bucket);
    let stores = [
        ObjectBackupStore::open_with(
            &format!("s3://{bucket}/backups"),
            &servers::s3_options(moto),
        )
        .unwrap(),
        ObjectBackupStore::open_with(
            &format!("s3://dbops/{bucket}"),
            &servers::s3_options(servers::seaweed()),
        )
        .unwrap(),
        ObjectBackupStore::open_with(
            &format!("az://{bucket}/backups"),
            &servers::azure_options(azurite),
        )
        .unwrap(),
    ];
    for (i, store) in stores.into_iter().enumerate() {
        let report = Backup::new(url.clone(), store.clone(), BackupOptions::default())
            .run()
            .await
            .unwrap();
        let catalog = store.catalog(Some(&name)).await.unwrap();
        assert!(
            catalog.problems.is_empty() && catalog.orphans.is_empty(),
            "{}: {catalog:?}",
            store.describe()
        );
        assert_eq!(
            catalog.backups.len(),
            1,
            "{}: {catalog:?}",
            store.describe()
        );
        assert_eq!(catalog.backups[0].id, report.manifest.id);
        let copy = format!("{name} {i}");
        PgRestorer::new(url.clone(), store.clone())
            .restore(
                &RestoreOptions::default().with_target(RestoreTarget::Database {
                    name: copy.clone(),
                    create: true,
                }),
            )
            .await
            .unwrap();
        let restored = cluster.url().with_database(&copy).connect().await.unwrap();
        assert_eq!(
            support::scalar_i64(&restored, "SELECT count(*) FROM t").await,
            1000
        );
        // Retention sees it too, and deletes it cleanly.
        let backup = report.manifest.clone();
        let plan = dbops::backup::apply_retention(
            &store,
            &name,
            &RetentionPolicy::default().with_keep_last(1),
            true,
        )
        .await
        .unwrap();
        assert!(plan.delete.is_empty() && plan.keep.len() == 1, "{plan:?}");
        store
            .delete_backup(&store.catalog(Some(&name)).await.unwrap().backups[0])
            .await
            .unwrap();
        assert!(
            store
                .list("")
                .await
                .unwrap()
                .iter()
                .all(|o| !o.key.contains(&backup.id)),
            "{}",
            store.describe()
        );
    }
}
