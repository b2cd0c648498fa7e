//! `dbops cluster ...` through the real binary.

use std::process::Command;

use crate::support::process_alive;

fn dbops(cache: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbops"));
    command
        .env("DBOPS_CACHE_DIR", cache)
        .env_remove("DATABASE_URL");
    command
}

#[tokio::test]
async fn start_print_url_status_and_stop() {
    let cache = tempfile::tempdir().unwrap();
    let out = dbops(cache.path())
        .args([
            "cluster",
            "start",
            "--tcp",
            "--print-url",
            "--name",
            "cli-test",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(url.starts_with("postgresql://postgres:"), "{url}");

    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);

    let out = dbops(cache.path())
        .args(["cluster", "status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = &status.as_array().unwrap()[0];
    assert_eq!(entry["name"], "cli-test");
    let pid = entry["pid"].as_u64().unwrap() as u32;
    let shown = entry["tcp_url"].as_str().unwrap();
    let password = url.split(':').nth(2).unwrap().split('@').next().unwrap();
    assert!(
        !shown.contains(password),
        "status printed the password: {shown}"
    );

    let again = dbops(cache.path())
        .args(["cluster", "start", "--name", "cli-test"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already running"));

    let out = dbops(cache.path())
        .args(["cluster", "stop", "--name", "cli-test"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!process_alive(pid), "server {pid} still running after stop");

    let out = dbops(cache.path())
        .args(["cluster", "stop", "--name", "cli-test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no cluster with this name is running"));
}

#[test]
fn bad_usage_exits_2_and_help_works_for_every_command() {
    let cache = tempfile::tempdir().unwrap();
    let out = dbops(cache.path())
        .args(["cluster", "frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    for args in [
        &["--help"][..],
        &["cluster", "--help"],
        &["cluster", "start", "--help"],
    ] {
        let out = dbops(cache.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"));
    }
}

#[test]
fn bad_setting_names_the_flag() {
    let cache = tempfile::tempdir().unwrap();
    let out = dbops(cache.path())
        .args(["cluster", "start", "--set", "work_mem"])
        .output()
        .unwrap();
    // Bad usage: exit code 2.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--set"));
}

#[test]
fn start_in_memory_keeps_the_cluster_on_dev_shm() {
    let cache = tempfile::tempdir().unwrap();
    let out = dbops(cache.path())
        .env_remove("DBOPS_TMPDIR")
        .args([
            "cluster",
            "start",
            "--in-memory",
            "--print-url",
            "--name",
            "cli-mem",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap();
    let dir = url
        .split("host=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap()
        .to_string();
    let room = nix::sys::statvfs::statvfs("/dev/shm")
        .is_ok_and(|s| s.blocks_available() * s.fragment_size() >= 1 << 30);
    let base = if room {
        "/dev/shm/dbops-"
    } else {
        "/tmp/dbops-"
    };
    let stop = dbops(cache.path())
        .args(["cluster", "stop", "--name", "cli-mem"])
        .output()
        .unwrap();
    assert!(dir.starts_with(base), "{url}");
    assert!(stop.status.success());
    assert!(!std::path::Path::new(&dir).exists(), "{dir} left behind");
}
