//! A panic in the CLI (a failpoint set to panic through `FAILPOINTS`; cargo feature `failpoints`).
#![cfg(feature = "failpoints")]

use crate::support;

async fn seeded() -> dbops::TestDatabase {
    support::seeded_database("cli", dbops::Profile::Light).await
}

/// A panic in the CLI (here a failpoint set to panic through `FAILPOINTS`) is two short lines naming
/// the command, the message and the location, "this is a bug", exit code 70, and no backtrace unless
/// `RUST_BACKTRACE` asks for one.
#[tokio::test]
async fn a_panic_in_the_cli_is_a_short_internal_error_with_exit_code_70() {
    let db = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |backtrace: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbops"))
            .env("DATABASE_URL", db.url().expose())
            .env("FAILPOINTS", "backup::after_pg_dump_start=panic")
            .env("RUST_BACKTRACE", backtrace)
            .args(["backup", "--store"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = run("0");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{stderr}");
    assert!(
        stderr.contains("internal error while running `dbops backup`"),
        "{stderr}"
    );
    assert!(stderr.contains("backup::after_pg_dump_start"), "{stderr}");
    assert!(stderr.contains("this is a bug in dbops"), "{stderr}");
    assert!(stderr.contains(".rs:"), "no location: {stderr}");
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
    assert!(!stderr.contains("panicked at"), "{stderr}");
    let out = run("1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{stderr}");
    assert!(stderr.contains("panic_guard"), "no backtrace: {stderr}");
}
