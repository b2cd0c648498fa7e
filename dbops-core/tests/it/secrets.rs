//! Credentials handed to child tools never show in their argv or environment, and the passfile is
//! private and removed.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use dbops::config::ChildEnv;
use dbops::{Listen, TempCluster};

#[tokio::test]
async fn child_tools_get_the_password_through_a_private_passfile() {
    let cluster = TempCluster::builder()
        .listen(Listen::Tcp)
        .start()
        .await
        .unwrap();
    let url = cluster.tcp_url().unwrap();
    let password = url.password().unwrap().to_string();
    let env = ChildEnv::for_url(&url).unwrap();

    let passfile = env
        .vars()
        .iter()
        .find(|(k, _)| k == "PGPASSFILE")
        .map(|(_, v)| PathBuf::from(v))
        .expect("PGPASSFILE set");
    let mode = std::fs::metadata(&passfile).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "passfile mode {mode:o}");

    let psql = cluster.binaries().program("psql");
    let mut command = tokio::process::Command::new(psql);
    command
        .args(["-XAtc", "SELECT pg_sleep(1.5); SELECT 'connected'"])
        .env("PGPASSWORD", "leaked-if-seen")
        .stdout(std::process::Stdio::piped());
    env.apply(&mut command);
    let child = command.spawn().unwrap();
    let pid = child.id().unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    for (what, bytes) in [("argv", &cmdline), ("environment", &environ)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(&password),
            "password visible in the child's {what}"
        );
        assert!(
            !text.contains("leaked-if-seen"),
            "PGPASSWORD was passed through in {what}"
        );
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("connected"));

    drop(env);
    assert!(
        !passfile.exists(),
        "passfile {} left behind",
        passfile.display()
    );
}
