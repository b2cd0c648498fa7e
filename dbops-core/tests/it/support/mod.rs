//! Shared helpers for integration tests: one embedded cluster per test binary, and re-running the
//! test binary as a helper process.

pub mod faults;
pub mod servers;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use dbops::{TempCluster, TestDatabases};
use tokio::sync::OnceCell;

/// The embedded cluster shared by the tests of one test binary (stopped at process exit), in memory
/// as the test harnesses start theirs.
pub async fn cluster() -> &'static TempCluster {
    static CLUSTER: OnceCell<TempCluster> = OnceCell::const_new();
    CLUSTER
        .get_or_init(|| async {
            TempCluster::builder()
                .in_memory(true)
                .start()
                .await
                .expect("start the shared embedded cluster")
        })
        .await
}

/// Empty test databases on the shared cluster.
pub async fn empty_databases() -> &'static TestDatabases {
    static DBS: OnceCell<TestDatabases> = OnceCell::const_new();
    DBS.get_or_init(|| async {
        TestDatabases::on_cluster(cluster().await)
            .build()
            .await
            .expect("build the empty template")
    })
    .await
}

/// The repository's reference migrations.
pub fn reference_migrations() -> dbops::MigrationSource {
    dbops::MigrationSource::from_dir(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations"),
    )
    .expect("the reference migrations")
}

/// A fresh database with the reference schema seeded with `profile`. One template per `(prefix,
/// profile)` is built per test binary, the first time it is asked for.
pub async fn seeded_database(prefix: &str, profile: dbops::Profile) -> dbops::TestDatabase {
    type Templates = HashMap<(String, dbops::Profile), Arc<TestDatabases>>;
    static TEMPLATES: OnceLock<tokio::sync::Mutex<Templates>> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(Default::default);
    let dbs = {
        let mut built = templates.lock().await;
        match built.get(&(prefix.to_string(), profile)) {
            Some(dbs) => dbs.clone(),
            None => {
                let dbs = Arc::new(
                    TestDatabases::on_cluster(cluster().await)
                        .prefix(prefix)
                        .setup(reference_migrations())
                        .setup(dbops::testing::SeedStep::new(profile))
                        .build()
                        .await
                        .expect("build the seeded template"),
                );
                built.insert((prefix.to_string(), profile), dbs.clone());
                dbs
            }
        }
    };
    dbs.create().await.expect("clone the seeded template")
}

/// The user tables of the connected database, quoted `schema.table`, in name order.
pub async fn user_tables(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
            &[],
        )
        .await
        .expect("list the user tables")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// A copy in `dir` of the first WAL segment of the shared cluster.
#[cfg_attr(not(feature = "failpoints"), allow(dead_code))] // failpoints and the CLI tests
pub async fn wal_segment_copy(dir: &std::path::Path) -> std::path::PathBuf {
    let cluster = cluster().await;
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(cluster.data_dir().join("pg_wal"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.len() == 24))
        .collect();
    names.sort();
    let source = names.first().expect("a WAL segment");
    let copy = dir.join(source.file_name().unwrap());
    std::fs::copy(source, &copy).unwrap();
    copy
}

/// Whether this process was started by [`helper`] to play `role`.
pub fn is_helper(role: &str) -> bool {
    std::env::var("DBOPS_TEST_HELPER").is_ok_and(|r| r == role)
}

/// Re-runs this test binary's test `test_name` (its full path, `module::test`) as a helper process
/// playing `role`.
pub fn helper(test_name: &str, role: &str, envs: &[(&str, String)]) -> Command {
    assert!(
        test_name.contains("::"),
        "helper needs the test's full path (module::test), got `{test_name}`: an unknown name runs \
         no test and the helper would silently do nothing"
    );
    let exe = std::env::current_exe().expect("current test binary");
    let mut command = Command::new(exe);
    command
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env("DBOPS_TEST_HELPER", role)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        command.env(k, v);
    }
    command
}

/// Whether a process exists (and is not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|s| s != "Z" && s != "X"),
        Err(_) => false,
    }
}

/// Runs one query returning a single `i64`.
pub async fn scalar_i64(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

/// Whether the cluster of `url` has a database called `name`.
pub async fn database_exists(url: &dbops::DatabaseUrl, name: &str) -> bool {
    let admin = url.with_database("postgres").connect().await.unwrap();
    admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

/// Exact row counts of every user table, as `schema.table=N ` pairs in name order.
#[cfg_attr(not(feature = "failpoints"), allow(dead_code))] // failpoints and the CLI tests
pub async fn row_counts(url: &dbops::DatabaseUrl) -> String {
    let client = url.connect().await.unwrap();
    let mut out = String::new();
    for table in user_tables(&client).await {
        let count = scalar_i64(&client, &format!("SELECT count(*) FROM {table}")).await;
        out.push_str(&format!("{table}={count} "));
    }
    out
}

/// A temporary directory the server's OS account (postgres, when tests run as root) can use.
#[allow(dead_code)] // the CLI tests
pub fn shared_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    open_to_all(dir.path());
    dir
}

/// `parent/name`, created and usable by the server's OS account (a WAL archive, a store).
#[allow(dead_code)] // the CLI tests
pub fn shared_subdir(parent: &std::path::Path, name: &str) -> std::path::PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir(&dir).unwrap();
    open_to_all(&dir);
    dir
}

/// Mode 0777 on `dir`.
#[allow(dead_code)] // the CLI tests
pub fn open_to_all(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// `prefix_` and ten random hex digits: a database name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Drops database `name` of the cluster of `url` (if it exists), ending its sessions.
pub async fn drop_database(url: &dbops::DatabaseUrl, name: &str) {
    let admin = url.with_database("postgres").connect().await.unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
}

/// md5 of every row of every user table, keyed by table: equal maps mean equal data.
pub async fn table_checksums(
    url: &dbops::DatabaseUrl,
) -> std::collections::BTreeMap<String, String> {
    let client = url.connect().await.unwrap();
    let mut out = std::collections::BTreeMap::new();
    for table in user_tables(&client).await {
        let sum: Option<String> = client
            .query_one(
                &format!("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        out.insert(table, sum.unwrap_or_default());
    }
    out
}

/// The item named `name` of a `--json` list (`pitr setup`'s settings, `backup health`'s checks);
/// fails naming the list when there is none.
#[allow(dead_code)] // the CLI tests
pub fn json_item<'a>(items: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("no item named `{name}` in {items}"))
}

/// A finished command's stdout and stderr, one after the other.
#[allow(dead_code)] // the CLI tests
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh database holding `every_type` (every column type a backup stores in COPY binary, with edge
/// values: `fixtures/every_binary_type.sql`), and a `--copy-format binary` backup of it in a file store
/// (kept while the returned directory lives).
pub async fn every_binary_type_backup() -> (
    dbops::TestDatabase,
    tempfile::TempDir,
    dbops::ObjectBackupStore,
    dbops::backup::BackupReport,
) {
    use dbops::backup::{Backup, BackupOptions, CopyFormat};
    let db = empty_databases().await.create().await.unwrap();
    db.connect()
        .await
        .unwrap()
        .batch_execute(include_str!("../fixtures/every_binary_type.sql"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store =
        dbops::ObjectBackupStore::open(&format!("file://{}", dir.path().display())).unwrap();
    let options = BackupOptions::default().with_copy_format(CopyFormat::Binary);
    let report = Backup::new(db.url().clone(), store.clone(), options)
        .run()
        .await
        .unwrap();
    (db, dir, store, report)
}
