//! `#[dbops::test]` and `dbops::migrations!` as a user writes them: a fresh database per test from a
//! template built once per setup, the argument by its type, dropped afterwards and kept on failure
//! with `DBOPS_KEEP_TEST_DBS=1`.

use std::process::Stdio;

use dbops::deadpool_postgres::Pool;
use dbops::{DatabaseUrl, TestDatabase};
use tokio_postgres::Client;

use crate::support::{self, helper, is_helper, scalar_i64};

#[dbops::test(migrations = "../migrations")]
async fn a_client_on_a_migrated_database(client: Client) {
    let version = scalar_i64(&client, "SELECT version FROM schema_migrations").await;
    assert_eq!(version, 8);
    assert_eq!(scalar_i64(&client, "SELECT count(*) FROM users").await, 0);
}

// The harness's own embedded cluster keeps its files in memory (when /dev/shm has room), so clones
// do not wait for the disk.
#[dbops::test(migrations = "../migrations")]
async fn the_embedded_cluster_of_the_harness_is_in_memory(client: Client) {
    if let Some(given) = DatabaseUrl::from_env().unwrap() {
        // A given server is used as it is: the test database lives there.
        let port: String = client.query_one("SHOW port", &[]).await.unwrap().get(0);
        assert_eq!(port, given.port().to_string());
        return;
    }
    let data: String = client
        .query_one("SHOW data_directory", &[])
        .await
        .unwrap()
        .get(0);
    let shm = nix::sys::statvfs::statvfs("/dev/shm")
        .is_ok_and(|s| s.blocks_available() * s.fragment_size() >= 1 << 30);
    let expected = match std::env::var("DBOPS_TMPDIR") {
        Ok(dir) if !dir.is_empty() => dir,
        _ if shm => "/dev/shm".into(),
        _ => "/tmp".into(),
    };
    assert!(data.starts_with(&format!("{expected}/dbops-")), "{data}");
}

#[dbops::test(
    migrations = "../migrations",
    seed = "light",
    fixtures("tests/it/fixtures/extra_rider.sql")
)]
async fn seeded_with_fixtures(db: TestDatabase) -> Result<(), dbops::Error> {
    let client = db.connect().await?;
    assert!(scalar_i64(&client, "SELECT count(*) FROM users").await > 10);
    let fixture = "SELECT count(*) FROM users WHERE email = 'fixture.rider@dbops.invalid'";
    assert_eq!(scalar_i64(&client, fixture).await, 1);
    Ok(())
}

// Two tests of the same setup each get their own database: both insert the same unique row.
#[dbops::test(
    migrations = "../migrations",
    fixtures("tests/it/fixtures/extra_rider.sql")
)]
async fn isolated_one(pool: Pool) {
    let client = pool.get().await.unwrap();
    client
        .execute(
            "INSERT INTO users (email, full_name, role) VALUES ('same@dbops.invalid', 'One', 'rider')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(scalar_i64(&client, "SELECT count(*) FROM users").await, 2);
}

#[dbops::test(
    migrations = "../migrations",
    fixtures("tests/it/fixtures/extra_rider.sql")
)]
async fn isolated_two(url: DatabaseUrl) {
    let client = url.connect().await.unwrap();
    client
        .execute(
            "INSERT INTO users (email, full_name, role) VALUES ('same@dbops.invalid', 'Two', 'rider')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(scalar_i64(&client, "SELECT count(*) FROM users").await, 2);
}

#[dbops::test]
async fn an_empty_database_without_a_setup(client: Client) {
    let tables = scalar_i64(
        &client,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
    )
    .await;
    assert_eq!(tables, 0);
}

#[test]
fn embedded_migrations_are_the_directorys() {
    let embedded = dbops::migrations!("../migrations").unwrap();
    let on_disk = support::reference_migrations();
    assert_eq!(embedded.fingerprint(), on_disk.fingerprint());
    assert_eq!(embedded.latest(), Some(8));
}

/// The test the helper processes run: it records its database's name, then fails or passes as
/// told.
#[dbops::test(migrations = "../migrations")]
async fn helper_records_its_database_then_fails_or_passes(db: TestDatabase) {
    if let Ok(path) = std::env::var("DBOPS_TEST_DB_NAME_FILE") {
        std::fs::write(path, db.name()).unwrap();
    }
    assert!(!is_helper("fail"), "failing on purpose (helper process)");
}

/// Runs the helper test in a child process on the shared cluster; returns (passed, database name,
/// stderr).
async fn run_helper(role: &str, keep: bool) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("name");
    let mut envs = vec![
        ("DATABASE_URL", support::cluster().await.url().expose()),
        ("DBOPS_TEST_DB_NAME_FILE", file.display().to_string()),
    ];
    if keep {
        envs.push(("DBOPS_KEEP_TEST_DBS", "1".into()));
    }
    let mut command = helper(
        "macros::helper_records_its_database_then_fails_or_passes",
        role,
        &envs,
    );
    if !keep {
        command.env_remove("DBOPS_KEEP_TEST_DBS");
    }
    let out = command.stderr(Stdio::piped()).output().unwrap();
    let name = std::fs::read_to_string(&file).unwrap();
    (
        out.status.success(),
        name,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_failing_tests_database_is_kept_with_dbops_keep_test_dbs() {
    if std::env::var_os("DBOPS_TEST_HELPER").is_some() {
        return;
    }
    let admin = support::cluster().await.url();
    let (passed, kept, stderr) = run_helper("fail", true).await;
    assert!(!passed, "{stderr}");
    assert!(
        stderr.contains(&format!("its database `{kept}` is kept: ")),
        "{stderr}"
    );
    assert!(stderr.contains("failing on purpose"), "{stderr}");
    assert!(support::database_exists(&admin, &kept).await);
    let client = admin.with_database(&kept).connect().await.unwrap();
    assert_eq!(
        scalar_i64(&client, "SELECT version FROM schema_migrations").await,
        8
    );
    drop(client);
    admin
        .connect()
        .await
        .unwrap()
        .batch_execute(&format!("DROP DATABASE \"{kept}\" WITH (FORCE)"))
        .await
        .unwrap();

    // Without the variable a failing test's database is dropped; with it a passing test's is too.
    let (passed, dropped, _) = run_helper("fail", false).await;
    assert!(!passed);
    assert!(!support::database_exists(&admin, &dropped).await);
    let (passed, dropped, stderr) = run_helper("pass", true).await;
    assert!(passed, "{stderr}");
    assert!(!support::database_exists(&admin, &dropped).await);
}

// Run as a helper with `DBOPS_PG_MAJOR`: the harness's own embedded cluster is of that major.
#[dbops::test(migrations = "../migrations")]
async fn helper_reports_the_major_of_its_server(client: Client) {
    let Ok(wanted) = std::env::var("DBOPS_PG_MAJOR") else {
        return; // the helper's half of `dbops_pg_major_chooses_the_harness_cluster`
    };
    let number: String = client
        .query_one("SHOW server_version_num", &[])
        .await
        .unwrap()
        .get(0);
    let major = number.parse::<u32>().unwrap() / 10_000;
    println!("server major {major}");
    assert_eq!(major.to_string(), wanted);
}

/// `DBOPS_PG_MAJOR` chooses the major version of `#[dbops::test]`'s embedded cluster.
#[test]
fn dbops_pg_major_chooses_the_harness_cluster() {
    for major in ["14", "17"] {
        let out = helper(
            "macros::helper_reports_the_major_of_its_server",
            "major",
            &[("DBOPS_PG_MAJOR", major.to_string())],
        )
        .env_remove("DATABASE_URL")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
        let text = support::output_text(&out);
        assert!(out.status.success(), "{major}: {text}");
        assert!(text.contains(&format!("server major {major}")), "{text}");
    }
}
