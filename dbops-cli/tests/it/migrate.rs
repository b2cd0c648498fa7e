//! `dbops migrate ...` through the real binary.

use std::process::{Command, Output};

use crate::support::empty_databases;
use crate::support::output_text as text;

fn dbops(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbops"))
        .env("DATABASE_URL", url)
        .env_remove("DBOPS_MIGRATIONS")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn create_up_status_down_and_lint() {
    let db = empty_databases().await.create().await.unwrap();
    let url = db.url().expose();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().to_str().unwrap();

    let out = dbops(&url, &["migrate", "-s", src, "create", "add riders"]);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(
        dir.path().join("000001_add_riders.up.sql"),
        "CREATE TABLE IF NOT EXISTS riders (id int);",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("000001_add_riders.down.sql"),
        "DROP TABLE IF EXISTS riders;",
    )
    .unwrap();

    let out = dbops(&url, &["migrate", "-s", src, "up"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("add_riders"));

    let out = dbops(&url, &["--json", "migrate", "-s", src, "status"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status[0]["state"], "applied");

    let out = dbops(&url, &["--json", "migrate", "-s", src, "version"]);
    let version: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(version["version"], 1);
    assert_eq!(version["dirty"], false);

    let out = dbops(&url, &["migrate", "-s", src, "down"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = dbops(&url, &["migrate", "-s", src, "verify"]);
    assert!(out.status.success(), "{}", text(&out));

    std::fs::write(
        dir.path().join("000002_risky.up.sql"),
        "ALTER TABLE riders ADD COLUMN n int NOT NULL;",
    )
    .unwrap();
    let out = dbops(&url, &["migrate", "-s", src, "lint"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("000002_risky.up.sql:1:20: error[not-null-without-default]"),
        "{}",
        text(&out)
    );
    // The directory as an argument (as a CI step may write it) checks every file in it.
    let out = dbops(&url, &["migrate", "lint", src]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("000002_risky.up.sql:1:20: error[not-null-without-default]"),
        "{}",
        text(&out)
    );
    // A path that does not exist, or a directory without migrations, is an error, not a pass.
    let empty = tempfile::tempdir().unwrap();
    for path in ["/nonexistent/migrations", empty.path().to_str().unwrap()] {
        let out = dbops(&url, &["migrate", "lint", path]);
        assert_eq!(out.status.code(), Some(1), "{path}: {}", text(&out));
        assert!(text(&out).contains("invalid-source"), "{}", text(&out));
    }

    let out = dbops(
        &url,
        &["migrate", "-s", src, "drop", "--confirm", "not-this-one"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("does not name the connected database"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn plan_shows_locks_and_the_guard_refuses_what_blocks() {
    let db = empty_databases().await.create().await.unwrap();
    let url = db.url().expose();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().to_str().unwrap();
    let write = |name: &str, sql: &str| std::fs::write(dir.path().join(name), sql).unwrap();
    write(
        "000001_rides.up.sql",
        "CREATE TABLE IF NOT EXISTS rides (id bigint PRIMARY KEY, fare numeric);\n\
         -- dbops:allow data-change\n\
         INSERT INTO rides SELECT g, g FROM generate_series(1, 20000) g;\nANALYZE rides;",
    );
    write("000001_rides.down.sql", "DROP TABLE IF EXISTS rides;");
    write(
        "000002_fare.up.sql",
        "ALTER TABLE rides ALTER COLUMN fare TYPE numeric(14,2);",
    );
    write("000002_fare.down.sql", "SELECT 1;");
    let out = dbops(&url, &["migrate", "-s", src, "up", "1"]);
    assert!(out.status.success(), "{}", text(&out));

    // The plan: the lock, the work, the size, and a verdict; --fail-on-risk makes CI fail.
    let out = dbops(
        &url,
        &["migrate", "-s", src, "plan", "--max-blocking", "0.000001"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let plan = text(&out);
    assert!(plan.contains("000002_fare.up.sql:1"), "{plan}");
    assert!(
        plan.contains("ACCESS EXCLUSIVE") && plan.contains("rewrite"),
        "{plan}"
    );
    assert!(plan.contains("would block reads and writes"), "{plan}");
    let out = dbops(
        &url,
        &[
            "migrate",
            "-s",
            src,
            "plan",
            "--max-blocking",
            "0.000001",
            "--fail-on-risk",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = dbops(&url, &["--json", "migrate", "-s", src, "plan"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["statements"][0]["tables"][0]["lock"],
        "access_exclusive"
    );
    assert_eq!(json["statements"][0]["tables"][0]["work"], "rewrite");
    assert!(json["statements"][0]["tables"][0]["rows"].as_i64().unwrap() > 10_000);

    // The guard refuses the step and nothing is applied; without it the step runs.
    let out = dbops(
        &url,
        &["migrate", "-s", src, "--max-blocking", "0.000001", "up"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("risk guard"), "{}", text(&out));
    let out = dbops(&url, &["--json", "migrate", "-s", src, "version"]);
    let version: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(version["version"], 1);
    let out = dbops(&url, &["migrate", "-s", src, "up"]);
    assert!(out.status.success(), "{}", text(&out));

    // lint names the rule with file, line and column; the rewrite is an error.
    let out = dbops(&url, &["migrate", "-s", src, "lint"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("000002_fare.up.sql:1:")
            && text(&out).contains("error[column-type-change]"),
        "{}",
        text(&out)
    );
    let out = dbops(&url, &["migrate", "-s", src, "lint", "--fail-on", "fatal"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_missing_source_directory_is_a_clear_error() {
    let out = dbops(
        "postgres://u@127.0.0.1:1/db",
        &["migrate", "-s", "/nonexistent/migrations", "up"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("/nonexistent/migrations"),
        "{}",
        text(&out)
    );
}

/// `migrate up --backup-to STORE`: a verified backup only when something is pending, named with the
/// exact restore command in the report and in the error of a failed migration; that command works.
#[tokio::test]
async fn up_takes_a_verified_backup_first_only_when_migrations_are_pending() {
    let db = empty_databases().await.create().await.unwrap();
    let url = db.url().expose();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("migrations");
    std::fs::create_dir_all(&src).unwrap();
    let src = src.to_str().unwrap();
    let store = format!("file://{}", dir.path().join("store").display());
    let write = |file: &str, sql: &str| {
        std::fs::write(dir.path().join("migrations").join(file), sql).unwrap()
    };
    write(
        "000001_riders.up.sql",
        "CREATE TABLE riders (id int PRIMARY KEY, name text); INSERT INTO riders VALUES (1, 'Ada');",
    );
    write("000001_riders.down.sql", "DROP TABLE riders;");
    let out = dbops(&url, &["migrate", "-s", src, "up"]);
    assert!(out.status.success(), "{}", text(&out));

    write(
        "000002_ratings.up.sql",
        "CREATE TABLE ratings (ride_id int, stars int);",
    );
    write("000002_ratings.down.sql", "DROP TABLE ratings;");
    let up_with_backup = |url: &str| {
        dbops(
            url,
            &["--json", "migrate", "-s", src, "up", "--backup-to", &store],
        )
    };
    let out = up_with_backup(&url);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let backup = &report["backup"];
    assert_eq!(
        backup["version"], 1,
        "the backup holds the state before: {report}"
    );
    assert_eq!(backup["database"], db.name());
    assert_eq!(report["migrate"]["to"], 2);
    let id = backup["id"].as_str().unwrap().to_string();
    assert!(
        backup["restore_command"]
            .as_str()
            .unwrap()
            .contains(&format!("--id {id}")),
        "{report}"
    );

    // Nothing pending: no backup.
    let out = up_with_backup(&url);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["backup"].is_null(), "{report}");
    let out = dbops(&url, &["--json", "backup", "list", "--store", &store]);
    let catalog: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(catalog["backups"].as_array().unwrap().len(), 1, "{catalog}");

    // A failing migration: the error names the new backup and the command that restores it.
    write(
        "000003_broken.up.sql",
        "ALTER TABLE no_such_table ADD COLUMN x int;",
    );
    write("000003_broken.down.sql", "SELECT 1;");
    let out = dbops(&url, &["migrate", "-s", src, "up", "--backup-to", &store]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("migration 3 (000003_broken.up.sql) failed"),
        "{err}"
    );
    assert!(
        err.contains("a backup was taken before migrating: "),
        "{err}"
    );
    let command = err
        .lines()
        .find_map(|l| {
            l.split_once("to get that state back: ")
                .map(|(_, c)| c.to_string())
        })
        .unwrap_or_else(|| panic!("no restore command in: {err}"));
    assert!(command.starts_with("dbops restore --store "), "{command}");

    // The printed command, run as printed, restores the state before migration 3 beside the database.
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_dbops"))
        .parent()
        .unwrap();
    let out = Command::new("sh")
        .args(["-c", &command])
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let restored = db
        .url()
        .with_database(&format!("{}_before_migration", db.name()));
    let client = restored.connect().await.unwrap();
    let version: i64 = client
        .query_one("SELECT version FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 2);
    let name: String = client
        .query_one("SELECT name FROM riders WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "Ada");
    drop(client);
    let admin = db.connect().await.unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE \"{}_before_migration\"", db.name()))
        .await
        .unwrap();
}
