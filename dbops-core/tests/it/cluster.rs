//! TempCluster against the real local PostgreSQL binaries.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::{helper, is_helper, process_alive};
use dbops::{Error, Listen, TempCluster};

#[tokio::test]
async fn starts_answers_and_stops_leaving_nothing() {
    let cluster = TempCluster::start().await.unwrap();
    let pid = cluster.pid().unwrap();
    let dir = cluster.dir().to_path_buf();
    let client = cluster.url().connect().await.unwrap();
    let row = client
        .query_one("SELECT current_user::text, version()", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "postgres");
    assert!(row.get::<_, String>(1).starts_with("PostgreSQL"));
    let fsync: String = client.query_one("SHOW fsync", &[]).await.unwrap().get(0);
    assert_eq!(fsync, "off", "test clusters use fast settings");

    // As root the server must run as an unprivileged account.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let server_uid: u32 = uid_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    if nix::unistd::geteuid().is_root() {
        assert_ne!(server_uid, 0, "the server must not run as root");
    } else {
        assert_eq!(server_uid, nix::unistd::geteuid().as_raw());
    }

    drop(client);
    cluster.stop().await.unwrap();
    assert!(
        !process_alive(pid),
        "postmaster {pid} still running after stop"
    );
    assert!(
        !dir.exists(),
        "cluster directory {} left behind",
        dir.display()
    );
}

#[tokio::test]
async fn drop_stops_the_server_and_removes_the_directory() {
    let cluster = TempCluster::start().await.unwrap();
    let pid = cluster.pid().unwrap();
    let dir = cluster.dir().to_path_buf();
    drop(cluster);
    assert!(!process_alive(pid));
    assert!(!dir.exists());
}

#[tokio::test]
async fn two_clusters_run_at_once_one_over_tcp() {
    let (a, b) = tokio::join!(
        TempCluster::start(),
        TempCluster::builder().listen(Listen::Tcp).start()
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.dir(), b.dir());
    let tcp = b.tcp_url().expect("tcp url");
    assert_eq!(tcp.host(), "127.0.0.1");
    assert!(tcp.password().is_some(), "TCP access needs a password");
    assert!(
        !tcp.to_string().contains(tcp.password().unwrap()),
        "Display must redact"
    );
    let ca = a.url().connect().await.unwrap();
    let cb = tcp.connect().await.unwrap();
    ca.batch_execute("CREATE TABLE only_in_a (id int)")
        .await
        .unwrap();
    let in_b: i64 = cb
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_b, 0);
    // Wrong password over TCP is refused: the TCP listener is not open to anyone.
    let wrong = tcp.with_user("postgres", Some("not-the-password"));
    assert!(wrong.connect().await.is_err());
}

#[tokio::test]
async fn restart_keeps_data_and_port() {
    let cluster = TempCluster::builder()
        .listen(Listen::Tcp)
        .start()
        .await
        .unwrap();
    let port = cluster.port();
    cluster
        .url()
        .connect()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE survives (id int); INSERT INTO survives VALUES (7)")
        .await
        .unwrap();
    cluster.stop_server(dbops::Shutdown::Fast).await.unwrap();
    assert!(!cluster.is_running());
    assert!(cluster.url().connect().await.is_err());
    cluster.start_server().await.unwrap();
    assert_eq!(cluster.port(), port);
    let v: i32 = cluster
        .tcp_url()
        .unwrap()
        .connect()
        .await
        .unwrap()
        .query_one("SELECT id FROM survives", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 7);
}

#[tokio::test]
async fn bad_binary_path_is_a_clear_error() {
    let err = TempCluster::builder()
        .bin_dir("/nonexistent/pg/bin")
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BinariesNotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("/nonexistent/pg/bin"), "{text}");
    assert!(text.contains("apt-get install postgresql"), "{text}");
    assert!(text.contains("DBOPS_PG_BIN"), "{text}");
}

#[tokio::test]
async fn settings_and_archive_mode_reach_the_server() {
    let cluster = TempCluster::builder()
        .durability(dbops::Durability::Durable)
        .archive_command("/bin/true %p")
        .setting("work_mem", "7MB")
        .setting("application_name", "it's quoted")
        .start()
        .await
        .unwrap();
    let client = cluster.url().connect().await.unwrap();
    let show = |name: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(&format!("SHOW {name}"), &[])
                .await
                .unwrap()
                .get::<_, String>(0)
        }
    };
    assert_eq!(show("archive_mode").await, "on");
    assert_eq!(show("archive_command").await, "/bin/true %p");
    assert_eq!(show("work_mem").await, "7MB");
    assert_eq!(show("fsync").await, "on");
}

/// Kills (SIGKILL) a process that runs a cluster and checks the server goes too, then that the next
/// start sweeps the directory it left.
#[tokio::test]
async fn killed_owner_takes_its_server_along_and_the_next_start_sweeps() {
    if is_helper("crash-owner") {
        let cluster = TempCluster::start().await.unwrap();
        println!(
            "READY {} {}",
            cluster.pid().unwrap(),
            cluster.dir().display()
        );
        tokio::time::sleep(Duration::from_secs(600)).await;
        return;
    }
    let mut child = helper(
        "cluster::killed_owner_takes_its_server_along_and_the_next_start_sweeps",
        "crash-owner",
        &[],
    )
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split_once("READY ").map(|(_, rest)| rest.to_owned()))
        .expect("helper reports its cluster");
    let mut parts = line.split_whitespace();
    let pid: u32 = parts.next().unwrap().parse().unwrap();
    let dir = std::path::PathBuf::from(parts.next().unwrap());
    assert!(process_alive(pid));

    child.kill().unwrap(); // SIGKILL: no destructor, no exit hook runs
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !process_alive(pid),
        "postmaster {pid} outlived its killed owner"
    );
    assert!(
        dir.exists(),
        "the killed owner could not clean its directory"
    );

    let next = TempCluster::start().await.unwrap();
    assert!(!dir.exists(), "stale directory {} not swept", dir.display());
    drop(next);
}

/// A normal exit with a cluster still alive in a static (never dropped) stops it via the exit hook.
#[tokio::test]
async fn process_exit_stops_clusters_held_in_statics() {
    if is_helper("static-owner") {
        static KEEP: std::sync::OnceLock<TempCluster> = std::sync::OnceLock::new();
        let cluster = TempCluster::start().await.unwrap();
        println!(
            "READY {} {}",
            cluster.pid().unwrap(),
            cluster.dir().display()
        );
        let _ = KEEP.set(cluster);
        std::process::exit(0);
    }
    let output = helper(
        "cluster::process_exit_stops_clusters_held_in_statics",
        "static-owner",
        &[],
    )
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.split_once("READY ").map(|(_, rest)| rest.to_owned()))
        .expect("helper output");
    let mut parts = line.split_whitespace();
    let pid: u32 = parts.next().unwrap().parse().unwrap();
    let dir = std::path::PathBuf::from(parts.next().unwrap());
    assert!(
        !process_alive(pid),
        "postmaster {pid} survived process exit"
    );
    assert!(
        !dir.exists(),
        "directory {} survived process exit",
        dir.display()
    );
}

/// Where an in-memory cluster should land here: `DBOPS_TMPDIR` when set, else `/dev/shm` when it is
/// a writable directory with 1 GiB free, else `/tmp`.
fn expected_in_memory_base() -> PathBuf {
    if let Some(dir) = std::env::var_os("DBOPS_TMPDIR").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    let shm = std::path::Path::new("/dev/shm");
    let room = nix::sys::statvfs::statvfs(shm)
        .is_ok_and(|s| s.blocks_available() * s.fragment_size() >= 1 << 30);
    let writable = nix::unistd::access(shm, nix::unistd::AccessFlags::W_OK).is_ok();
    if shm.is_dir() && room && writable {
        shm.into()
    } else {
        "/tmp".into()
    }
}

#[tokio::test]
async fn an_in_memory_cluster_keeps_its_files_on_dev_shm_and_removes_them() {
    let cluster = TempCluster::builder()
        .in_memory(true)
        .start()
        .await
        .unwrap();
    let dir = cluster.dir().to_path_buf();
    assert_eq!(dir.parent(), Some(expected_in_memory_base().as_path()));
    let client = cluster.url().connect().await.unwrap();
    let data: String = client
        .query_one("SHOW data_directory", &[])
        .await
        .unwrap()
        .get(0);
    assert!(data.starts_with(&*dir.to_string_lossy()), "{data}");
    client
        .batch_execute("CREATE DATABASE cloned TEMPLATE template1 STRATEGY FILE_COPY")
        .await
        .unwrap();
    drop(client);
    cluster.stop().await.unwrap();
    assert!(!dir.exists(), "{} left behind", dir.display());
}
