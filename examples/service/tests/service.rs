//! The example service as a process on an embedded cluster: readiness follows the migrations, SIGTERM
//! stops it promptly, and 20 replicas started at once migrate the schema exactly once.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dbops::{DatabaseUrl, TempCluster};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The reference schema's latest version (the service's migrations).
const LATEST: i64 = 8;

/// One running copy of the service, killed if a test fails before stopping it.
struct Service {
    child: Child,
    addr: SocketAddr,
    output: Arc<Mutex<Vec<String>>>,
}

impl Service {
    fn start(url: &DatabaseUrl) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rides-service"))
            .env("DATABASE_URL", url.expose())
            .env("BIND", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the service starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let lines = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.parse::<SocketAddr>().unwrap());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the service prints `listening on ADDR`");
        Self {
            child,
            addr,
            output,
        }
    }

    /// GET `path`: the status code and the body.
    async fn get(&self, path: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: service\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    async fn wait_ready(&self, within: Duration) {
        let started = Instant::now();
        while self.get("/health/ready").await.0 != 200 {
            assert!(
                started.elapsed() < within,
                "not ready within {within:?}: {:?}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the service printed a line starting with one of the two texts.
    async fn wait_for_line(&self, one: &str, other: &str) {
        let started = Instant::now();
        while !self
            .output()
            .iter()
            .any(|l| l.starts_with(one) || l.starts_with(other))
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no `{one}` or `{other}` line: {:?}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    /// Sends SIGTERM; returns how long the process took to exit and whether it exited cleanly.
    fn terminate(&mut self) -> (Duration, bool) {
        let sent = Instant::now();
        // SAFETY: kill(2) with our own child's pid; no memory is involved.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        (sent.elapsed(), status.success())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn cluster() -> TempCluster {
    TempCluster::builder()
        .setting("max_connections", "300")
        .start()
        .await
        .unwrap()
}

async fn create_database(cluster: &TempCluster, name: &str) -> DatabaseUrl {
    let admin = cluster.url().connect().await.unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    cluster.url().with_database(name)
}

/// golang-migrate's advisory lock id of `schema_migrations` in `public` of `database`.
fn migration_lock_id(database: &str) -> i64 {
    const SALT: u32 = 1_486_364_155;
    let key = format!("public\0schema_migrations\0{database}");
    i64::from(crc32fast::hash(key.as_bytes()).wrapping_mul(SALT))
}

#[tokio::test]
async fn ready_follows_the_migrations_and_sigterm_stops_it() {
    let cluster = cluster().await;
    let url = create_database(&cluster, "rides_one").await;
    // Another replica is migrating: it holds the migration lock.
    let other = url.connect().await.unwrap();
    let lock = migration_lock_id("rides_one");
    other
        .execute("SELECT pg_advisory_lock($1)", &[&lock])
        .await
        .unwrap();

    let mut service = Service::start(&url);
    assert_eq!(service.get("/health/live").await.0, 200);
    for _ in 0..5 {
        let (status, body) = service.get("/health/ready").await;
        assert_eq!(status, 503, "not ready before its migrations: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(service.get("/healthz").await.0, 503);

    other
        .execute("SELECT pg_advisory_unlock($1)", &[&lock])
        .await
        .unwrap();
    service.wait_ready(Duration::from_secs(60)).await;
    let (status, body) = service.get("/health/ready").await;
    assert_eq!(status, 200);
    assert!(body.contains(&format!("\"version\":{LATEST}")), "{body}");
    assert_eq!(service.get("/rides/count").await, (200, "0".to_string()));
    let (status, metrics) = service.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("dbops_"), "{metrics}");
    let output = service.output();
    assert!(
        output.iter().any(|l| l.starts_with("applied 8 migrations")),
        "{output:?}"
    );

    let (took, clean) = service.terminate();
    assert!(clean, "exits 0 on SIGTERM: {:?}", service.output());
    assert!(took < Duration::from_secs(1), "SIGTERM took {took:?}");
    assert_eq!(service.output().last().map(String::as_str), Some("stopped"));
    cluster.stop().await.unwrap();
}

#[tokio::test]
async fn twenty_replicas_at_once_migrate_the_schema_once() {
    let cluster = cluster().await;
    let url = create_database(&cluster, "rides_many").await;
    let mut services: Vec<Service> = (0..20).map(|_| Service::start(&url)).collect();
    for service in &services {
        service.wait_ready(Duration::from_secs(120)).await;
        // Ready as soon as the schema is there, which may be before this replica's own startup
        // migration has returned from finding it up to date.
        service.wait_for_line("schema up to date", "applied ").await;
    }
    let lines: Vec<String> = services.iter().flat_map(Service::output).collect();
    let applied = lines.iter().filter(|l| l.starts_with("applied ")).count();
    let up_to_date = lines
        .iter()
        .filter(|l| l.starts_with("schema up to date at version Some(8)"))
        .count();
    assert_eq!((applied, up_to_date), (1, 19), "{lines:?}");
    let client = url.connect().await.unwrap();
    let row = client
        .query_one("SELECT version, dirty FROM schema_migrations", &[])
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, bool>(1)),
        (LATEST, false)
    );
    let ups: i64 = client
        .query_one(
            "SELECT count(*) FROM dbops_migration_history WHERE direction = 'up'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ups, LATEST, "each migration ran once");
    for service in &mut services {
        let (_, clean) = service.terminate();
        assert!(clean);
    }
    drop(client);
    cluster.stop().await.unwrap();
}
