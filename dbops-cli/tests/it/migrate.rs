//! `dbops migrate ...` through the real binary.

use std::process::{Command, Output};

use crate::support::empty_databases;

fn dbops(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbops"))
        .env("DATABASE_URL", url)
        .env_remove("DBOPS_MIGRATIONS")
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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
        text(&out).contains("000002_risky.up.sql:1: error[not-null-without-default]"),
        "{}",
        text(&out)
    );

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
