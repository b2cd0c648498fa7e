//! [`TempCluster`]: a throwaway PostgreSQL cluster started from the locally installed server binaries.
//!
//! This is dbops's embedded default: every operation can run against one when no `DATABASE_URL` is
//! given, and test harnesses start one per process. The server listens on a unix socket in a short
//! private directory (`/tmp/dbops-XXXXXX`) and optionally on a free TCP port of 127.0.0.1. It is
//! stopped when the last handle is dropped, at normal process exit, and, through a parent-death signal,
//! when the process is killed; directories left by killed processes are swept at the next start.
//! As root, the server runs as the `postgres` account (or [`TempClusterBuilder::os_user`]).

mod binaries;
mod cleanup;
mod detached;
mod initdb;
mod process;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

pub use binaries::{PgBinaries, PgInstallations, ServerPrograms, data_dir_major, server_major};
pub use detached::{DetachedCluster, DetachedClusterInfo};
pub use initdb::cache_root;
pub(crate) use process::OsAccount;
#[cfg(feature = "testing")]
pub(crate) use process::start_time as process_start_time;
#[cfg(feature = "backup")]
pub(crate) use process::{output_of, spawn_error};

use crate::config::{DatabaseUrl, quote_literal};
use crate::error::{Error, Result};
#[cfg(feature = "backup")]
pub(crate) use cleanup::owned_temp_dir;
pub(crate) use initdb::last_lines;
use initdb::{INCLUDE_LINE, InitOptions};

/// How much the cluster trades durability for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// `fsync=off`, `synchronous_commit=off`, `full_page_writes=off`: for tests and throwaway work.
    #[default]
    Fast,
    /// PostgreSQL's durable defaults.
    Durable,
}

/// Where the server accepts connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Listen {
    /// Only the private unix socket (trust authentication; the directory is mode 0700).
    #[default]
    UnixSocket,
    /// The unix socket plus 127.0.0.1 on a free port (SCRAM with a random password).
    Tcp,
}

/// How to stop the server (PostgreSQL's shutdown modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shutdown {
    /// Wait for sessions to end (SIGTERM).
    Smart,
    /// Roll back sessions and shut down cleanly (SIGINT).
    Fast,
    /// Stop at once; crash recovery runs at the next start (SIGQUIT).
    Immediate,
}

impl Shutdown {
    fn signal(self) -> Signal {
        match self {
            Shutdown::Smart => Signal::SIGTERM,
            Shutdown::Fast => Signal::SIGINT,
            Shutdown::Immediate => Signal::SIGQUIT,
        }
    }
}

/// Options of a [`TempCluster`]; see each method for its default.
#[derive(Debug, Clone)]
pub struct TempClusterBuilder {
    binaries: Option<PgBinaries>,
    bin_dir: Option<PathBuf>,
    major: Option<u32>,
    os_user: Option<String>,
    superuser: String,
    durability: Durability,
    listen: Listen,
    port: Option<u16>,
    settings: BTreeMap<String, String>,
    environment: BTreeMap<String, String>,
    data_dir: Option<PathBuf>,
    base_dir: Option<PathBuf>,
    in_memory: bool,
    start_timeout: Duration,
    initdb_cache: bool,
    locale: String,
    encoding: String,
    lifetime: Lifetime,
}

/// Whether the server is tied to this process or outlives it (`dbops cluster start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    Attached,
    Detached,
}

impl Default for TempClusterBuilder {
    fn default() -> Self {
        TempClusterBuilder {
            binaries: None,
            bin_dir: None,
            major: None,
            os_user: None,
            superuser: "postgres".into(),
            durability: Durability::Fast,
            listen: Listen::UnixSocket,
            port: None,
            settings: BTreeMap::new(),
            environment: BTreeMap::new(),
            data_dir: None,
            base_dir: None,
            in_memory: false,
            start_timeout: Duration::from_secs(60),
            initdb_cache: std::env::var("DBOPS_INITDB_CACHE").map_or(true, |v| v != "0"),
            locale: "C".into(),
            encoding: "UTF8".into(),
            lifetime: Lifetime::Attached,
        }
    }
}

impl TempClusterBuilder {
    /// Use the binaries in this directory instead of discovering them (see [`PgBinaries::discover`]).
    pub fn bin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bin_dir = Some(dir.into());
        self
    }

    /// Run PostgreSQL of this major version (an installation found by [`PgInstallations::discover`]).
    /// Default: `DBOPS_PG_MAJOR` when set, else the first server installation found; for an existing
    /// data directory, always the major version it was made by.
    pub fn major(mut self, major: u32) -> Self {
        self.major = Some(major);
        self
    }

    /// Use already discovered binaries.
    pub fn binaries(mut self, binaries: PgBinaries) -> Self {
        self.binaries = Some(binaries);
        self
    }

    /// The OS account the server runs as when dbops runs as root. Default: `postgres`.
    pub fn os_user(mut self, name: impl Into<String>) -> Self {
        self.os_user = Some(name.into());
        self
    }

    /// The database superuser created by initdb. Default: `postgres`.
    pub fn superuser(mut self, name: impl Into<String>) -> Self {
        self.superuser = name.into();
        self
    }

    /// Fast (default) or durable settings.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Unix socket only (default) or also TCP on 127.0.0.1.
    pub fn listen(mut self, listen: Listen) -> Self {
        self.listen = listen;
        self
    }

    /// A fixed TCP port (implies [`Listen::Tcp`]). Default: a free port, retried on collision.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self.listen = Listen::Tcp;
        self
    }

    /// Any server setting (GUC), written to the cluster's `dbops.conf`.
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(name.into(), value.into());
        self
    }

    /// Sets an environment variable of the server process (its `archive_command` and
    /// `restore_command` inherit it: store credentials, a WAL passphrase). Default: the server
    /// inherits this process's environment and nothing more.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment.insert(name.into(), value.into());
        self
    }

    /// Turns on WAL archiving with this `archive_command` (`wal_level=replica`, `archive_mode=on`).
    pub fn archive_command(self, command: impl Into<String>) -> Self {
        self.setting("wal_level", "replica")
            .setting("archive_mode", "on")
            .setting("archive_command", command)
    }

    /// Use (or create) this data directory and keep it afterwards. A directory holding `PG_VERSION`
    /// is started as it is (for example one restored by PITR); otherwise initdb creates it.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Where the private `dbops-XXXXXX` directory is created. Default: `DBOPS_TMPDIR` or `/tmp`
    /// (kept short: unix socket paths are limited to 107 bytes).
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Keeps the cluster's files in memory (a `dbops-XXXXXX` directory on the `/dev/shm` tmpfs) when
    /// no base directory is given (neither [`Self::base_dir`] nor `DBOPS_TMPDIR`) and `/dev/shm` is
    /// writable with at least 1 GiB free; else the usual base directory. For throwaway test
    /// clusters: creating a database's files no longer waits for the disk, so a clone of a template
    /// takes the same few milliseconds on any machine. The data lives in RAM until the cluster stops.
    /// Default: off (the test harnesses turn it on).
    pub fn in_memory(mut self, enabled: bool) -> Self {
        self.in_memory = enabled;
        self
    }

    /// The directory the cluster's private directory is created in (see [`Self::base_dir`] and
    /// [`Self::in_memory`]).
    fn chosen_base_dir(&self) -> PathBuf {
        let configured = self.base_dir.clone().or_else(|| {
            std::env::var_os("DBOPS_TMPDIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        });
        let memory = Path::new(MEMORY_DIR);
        choose_base_dir(
            configured,
            self.in_memory && memory_dir_usable(memory),
            memory,
        )
    }

    /// How long to wait for the server to accept connections. Default: 60 s.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Whether new data directories are copied from a cached initdb result (default: on, unless
    /// `DBOPS_INITDB_CACHE=0`). The cache lives in [`cache_root`]`/initdb`.
    pub fn initdb_cache(mut self, enabled: bool) -> Self {
        self.initdb_cache = enabled;
        self
    }

    /// initdb `--locale`. Default: `C`.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = locale.into();
        self
    }

    /// Starts the cluster and waits until it accepts connections.
    #[tracing::instrument(name = "cluster.start", skip_all)]
    pub async fn start(self) -> Result<TempCluster> {
        let base = self.chosen_base_dir();
        let swept_base = base.clone();
        let _ = tokio::task::spawn_blocking(move || cleanup::sweep_stale(&swept_base)).await;

        let binaries = self.chosen_binaries().await?;
        let account = OsAccount::resolve(self.os_user.as_deref())?;

        let dir = tempfile::Builder::new()
            .prefix(cleanup::DIR_PREFIX)
            .tempdir_in(&base)
            .map_err(|e| Error::io("creating the cluster directory in", &base, e))?
            .keep();
        if self.lifetime == Lifetime::Attached {
            cleanup::register(&dir, true);
        }
        let cluster = self.start_in(dir.clone(), binaries, account).await;
        if cluster.is_err() {
            cleanup::unregister(&dir);
            let _ = std::fs::remove_dir_all(&dir);
        }
        cluster
    }

    /// The server programs to run: given, in a given directory, of the existing data directory's
    /// major version, of the asked major version, or the default installation.
    async fn chosen_binaries(&self) -> Result<PgBinaries> {
        if let Some(binaries) = &self.binaries {
            return Ok(binaries.clone());
        }
        if let Some(dir) = &self.bin_dir {
            return PgBinaries::at(dir);
        }
        let existing = self.data_dir.as_deref().and_then(data_dir_major);
        match existing.or(self.major) {
            Some(major) => {
                let installations = tokio::task::spawn_blocking(PgInstallations::discover)
                    .await
                    .map_err(|e| {
                        Error::config("postgres binaries", format!("discovery task failed: {e}"))
                    })??;
                installations.server(Some(major))
            }
            None => PgBinaries::discover_async().await,
        }
    }

    async fn start_in(
        self,
        dir: PathBuf,
        binaries: PgBinaries,
        account: OsAccount,
    ) -> Result<TempCluster> {
        let socket_len = dir.join(".s.PGSQL.65535").as_os_str().len();
        if socket_len > 100 {
            return Err(Error::config(
                "base_dir",
                format!(
                    "`{}` is too long for a unix socket path ({socket_len} bytes, limit 107); use a shorter \
                     base directory (DBOPS_TMPDIR)",
                    dir.display()
                ),
            ));
        }
        if self.lifetime == Lifetime::Attached {
            // Detached clusters have no owner file: the sweep leaves them to `dbops cluster stop`.
            cleanup::write_owner(&dir)
                .map_err(|e| Error::io("writing the owner file in", &dir, e))?;
        }
        let (data_dir, keep_data) = match &self.data_dir {
            Some(existing) => {
                std::fs::write(
                    dir.join(cleanup::DATA_DIR_FILE),
                    existing.display().to_string(),
                )
                .map_err(|e| Error::io("recording the data directory in", &dir, e))?;
                (existing.clone(), true)
            }
            None => (dir.join("data"), false),
        };
        if !data_dir.join("PG_VERSION").is_file() {
            let options = InitOptions {
                superuser: self.superuser.clone(),
                encoding: self.encoding.clone(),
                locale: self.locale.clone(),
                use_cache: self.initdb_cache,
            };
            initdb::create_data_dir(&binaries, &account, &data_dir, &options).await?;
        }
        account.chown(&dir)?;
        let password =
            (self.listen == Listen::Tcp).then(|| uuid::Uuid::new_v4().simple().to_string());
        let inner = Inner {
            dir: dir.clone(),
            data_dir,
            keep_data,
            superuser: self.superuser.clone(),
            password,
            listen: self.listen,
            fixed_port: self.port,
            port: Mutex::new(match (self.port, self.listen) {
                (Some(port), _) => port,
                (None, Listen::Tcp) => free_port()?,
                (None, Listen::UnixSocket) => 5432,
            }),
            started_once: AtomicBool::new(false),
            lifetime: self.lifetime,
            settings: self.final_settings(),
            environment: self.environment.clone(),
            start_timeout: self.start_timeout,
            binaries,
            account,
            child: Mutex::new(None),
        };
        let cluster = TempCluster {
            inner: Arc::new(inner),
        };
        cluster.start_server().await?;
        Ok(cluster)
    }

    fn final_settings(&self) -> BTreeMap<String, String> {
        let mut settings = BTreeMap::new();
        let mut set = |k: &str, v: &str| settings.insert(k.to_string(), v.to_string());
        set("max_connections", "200");
        set("logging_collector", "off");
        set("log_min_messages", "warning");
        set("log_min_error_statement", "panic");
        if self.durability == Durability::Fast {
            set("fsync", "off");
            set("synchronous_commit", "off");
            set("full_page_writes", "off");
        }
        for (k, v) in &self.settings {
            settings.insert(k.clone(), v.clone());
        }
        settings
    }
}

struct Inner {
    dir: PathBuf,
    data_dir: PathBuf,
    keep_data: bool,
    superuser: String,
    password: Option<String>,
    listen: Listen,
    fixed_port: Option<u16>,
    port: Mutex<u16>,
    started_once: AtomicBool,
    lifetime: Lifetime,
    settings: BTreeMap<String, String>,
    environment: BTreeMap<String, String>,
    start_timeout: Duration,
    binaries: PgBinaries,
    account: OsAccount,
    child: Mutex<Option<Child>>,
}

/// A running throwaway cluster. Cheap to clone; the server stops when the last clone is dropped.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use dbops::{Listen, TempCluster};
///
/// // PostgreSQL 16 from the local installations, also listening on 127.0.0.1 (a free port).
/// let cluster = TempCluster::builder().major(16).listen(Listen::Tcp).start().await?;
/// let client = cluster.url().connect().await?; // the superuser, over the private unix socket
/// println!("for other clients: {:?}", cluster.tcp_url()); // its password is never printed
/// cluster.stop().await?; // dropping the last handle stops it too
/// # drop(client); Ok(()) }
/// ```
#[derive(Clone)]
pub struct TempCluster {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TempCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempCluster")
            .field("dir", &self.inner.dir)
            .field("port", &self.port())
            .field("version", &self.inner.binaries.version())
            .finish()
    }
}

impl TempCluster {
    /// Options for a new cluster.
    pub fn builder() -> TempClusterBuilder {
        TempClusterBuilder::default()
    }

    /// Starts a cluster with the default options (fast settings, unix socket only).
    pub async fn start() -> Result<Self> {
        Self::builder().start().await
    }

    /// Superuser URL of the `postgres` database over the unix socket.
    pub fn url(&self) -> DatabaseUrl {
        DatabaseUrl::unix_socket(
            &self.inner.dir.display().to_string(),
            self.port(),
            &self.inner.superuser,
            "postgres",
        )
    }

    /// Superuser URL over TCP (with its password), when the cluster listens on TCP.
    pub fn tcp_url(&self) -> Option<DatabaseUrl> {
        (self.inner.listen == Listen::Tcp).then(|| {
            DatabaseUrl::tcp(
                "127.0.0.1",
                self.port(),
                &self.inner.superuser,
                self.inner.password.as_deref(),
                "postgres",
            )
        })
    }

    /// The private directory holding the socket, the log and (unless given) the data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The port (the socket file's name uses it too).
    pub fn port(&self) -> u16 {
        self.inner.port.lock().map(|p| *p).unwrap_or(5432)
    }

    /// The server binaries this cluster runs.
    pub fn binaries(&self) -> &PgBinaries {
        &self.inner.binaries
    }

    /// The server log file.
    pub fn log_path(&self) -> PathBuf {
        self.inner.dir.join("postgres.log")
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        std::fs::read(self.log_path())
            .map(|bytes| last_lines(&String::from_utf8_lossy(&bytes), lines))
            .unwrap_or_default()
    }

    /// The postmaster's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        let mut guard = self.inner.child.lock().ok()?;
        let child = guard.as_mut()?;
        match child.try_wait() {
            Ok(None) => Some(child.id()),
            _ => None,
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    /// Stops the server (keeping the directory) so it can be started again with
    /// [`TempCluster::start_server`]: for tests of outages and restarts.
    pub async fn stop_server(&self, mode: Shutdown) -> Result<()> {
        let child = self.inner.child.lock().ok().and_then(|mut c| c.take());
        cleanup::set_postmaster(&self.inner.dir, None);
        if let Some(mut child) = child {
            tokio::task::spawn_blocking(move || {
                process::stop_child_blocking(&mut child, mode.signal(), Duration::from_secs(30))
            })
            .await
            .map_err(|e| Error::config("cluster stop", format!("stop task failed: {e}")))?;
        }
        Ok(())
    }

    /// Starts the server again on the same directory and port after [`TempCluster::stop_server`].
    pub async fn start_server(&self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        // A free port can be taken between choosing it and binding it: retry on another one, but only
        // before the first successful start (a restart keeps its port so clients can reconnect).
        let may_move = self.inner.listen == Listen::Tcp
            && self.inner.fixed_port.is_none()
            && !self.inner.started_once.load(Ordering::SeqCst);
        let attempts = if may_move { 8 } else { 1 };
        let mut last_error = None;
        for attempt in 0..attempts {
            if may_move && attempt > 0 {
                self.set_port(free_port()?);
            }
            let log_offset = std::fs::metadata(self.log_path())
                .map(|m| m.len())
                .unwrap_or(0);
            match self.spawn_and_wait().await {
                Ok(()) => {
                    self.inner.started_once.store(true, Ordering::SeqCst);
                    self.after_start().await?;
                    return Ok(());
                }
                Err(error) if may_move && self.log_since(log_offset).contains("could not bind") => {
                    tracing::debug!(%error, port = self.port(), "port taken; retrying on another");
                    last_error = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or_else(|| self.cluster_error("could not start")))
    }

    fn log_since(&self, offset: u64) -> String {
        std::fs::read(self.log_path())
            .map(|bytes| {
                String::from_utf8_lossy(&bytes[(offset as usize).min(bytes.len())..]).into_owned()
            })
            .unwrap_or_default()
    }

    /// Stops the server gracefully and removes the cluster's directory (a data directory given to
    /// the builder is kept). Dropping the last handle does the same with an immediate shutdown.
    pub async fn stop(&self) -> Result<()> {
        self.stop_server(Shutdown::Fast).await?;
        cleanup::unregister(&self.inner.dir);
        let dir = self.inner.dir.clone();
        tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&dir))
            .await
            .map_err(|e| Error::config("cluster stop", format!("cleanup task failed: {e}")))?
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| Error::io("removing the cluster directory", &self.inner.dir, e))
    }

    fn set_port(&self, port: u16) {
        if let Ok(mut p) = self.inner.port.lock() {
            *p = port;
        }
    }

    fn cluster_error(&self, reason: impl Into<String>) -> Error {
        Error::Cluster {
            dir: self.inner.dir.clone(),
            reason: reason.into(),
            log_tail: self.log_tail(15),
        }
    }

    fn write_settings(&self) -> Result<()> {
        let inner = &self.inner;
        let mut text =
            String::from("# Written by dbops at every start of this embedded cluster.\n");
        let listen = match inner.listen {
            Listen::UnixSocket => "",
            Listen::Tcp => "127.0.0.1",
        };
        let mut settings = inner.settings.clone();
        settings.insert("listen_addresses".into(), listen.into());
        settings.insert("port".into(), self.port().to_string());
        settings.insert(
            "unix_socket_directories".into(),
            inner.dir.display().to_string(),
        );
        settings.insert("unix_socket_permissions".into(), "0700".into());
        for (key, value) in &settings {
            text.push_str(&format!(
                "{key} = {}\n",
                quote_literal(value).trim_start_matches('E')
            ));
        }
        let path = inner.data_dir.join("dbops.conf");
        std::fs::write(&path, text).map_err(|e| Error::io("writing cluster settings", &path, e))?;
        inner.account.chown(&path)?;
        let conf = inner.data_dir.join("postgresql.conf");
        let current = std::fs::read_to_string(&conf).map_err(|e| Error::io("reading", &conf, e))?;
        if !current.contains(INCLUDE_LINE) {
            std::fs::write(&conf, format!("{current}\n{INCLUDE_LINE}\n"))
                .map_err(|e| Error::io("writing", &conf, e))?;
        }
        Ok(())
    }

    async fn spawn_and_wait(&self) -> Result<()> {
        let inner = &self.inner;
        self.write_settings()?;
        let log_path = self.log_path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io("opening the server log", &log_path, e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::io("opening the server log", &log_path, e))?;
        let program = inner.binaries.program("postgres");
        let mut command = std::process::Command::new(&program);
        command
            .arg("-D")
            .arg(&inner.data_dir)
            .env("LC_ALL", "C")
            .envs(&inner.environment)
            .env_remove("PGDATA")
            .current_dir(&inner.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        inner.account.apply(&mut command);
        let child = match inner.lifetime {
            Lifetime::Attached => process::spawn_tied_to_process(command),
            Lifetime::Detached => process::spawn_detached(command),
        }
        .map_err(|e| Error::io("starting the server", &program, e))?;
        let pid = child.id();
        if let Ok(mut slot) = inner.child.lock() {
            *slot = Some(child);
        }
        cleanup::set_postmaster(&inner.dir, Some(pid));
        let started = Instant::now();
        loop {
            if ready_status(&inner.data_dir, pid) {
                return Ok(());
            }
            let exited = {
                let mut guard = inner
                    .child
                    .lock()
                    .map_err(|_| self.cluster_error("state lock poisoned"))?;
                match guard.as_mut().map(|c| c.try_wait()) {
                    Some(Ok(Some(status))) => {
                        guard.take();
                        Some(status.to_string())
                    }
                    None => Some("stopped by another caller".to_string()),
                    _ => None,
                }
            };
            if let Some(status) = exited {
                cleanup::set_postmaster(&inner.dir, None);
                return Err(
                    self.cluster_error(format!("the server exited during startup ({status})"))
                );
            }
            if started.elapsed() > inner.start_timeout {
                let _ = self.stop_server(Shutdown::Immediate).await;
                return Err(Error::Timeout {
                    action: format!(
                        "waiting for the embedded cluster in {} to accept connections",
                        inner.dir.display()
                    ),
                    elapsed: started.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }

    async fn after_start(&self) -> Result<()> {
        if let Some(password) = &self.inner.password {
            let client = self.url().connect().await?;
            // A restored data directory may still be replaying WAL (read-only until promoted): the
            // password can only be set once it accepts writes.
            let started = Instant::now();
            loop {
                let recovering: bool = client
                    .query_one("SELECT pg_is_in_recovery()", &[])
                    .await
                    .map_err(|e| Error::postgres("checking whether the server is in recovery", e))?
                    .get(0);
                if !recovering {
                    break;
                }
                if started.elapsed() > self.inner.start_timeout {
                    return Err(self.cluster_error(
                        "the server is still in recovery, so the TCP password cannot be set; it has not \
                         reached its recovery target (see the server log)",
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let sql = format!(
                "ALTER ROLE {} PASSWORD {}",
                crate::config::quote_ident(&self.inner.superuser),
                quote_literal(password)
            );
            client.batch_execute(&sql).await.map_err(|e| {
                Error::postgres("setting the superuser password of the embedded cluster", e)
            })?;
        }
        Ok(())
    }
}

/// Whether `postmaster.pid` says the postmaster `pid` accepts connections.
fn ready_status(data_dir: &Path, pid: u32) -> bool {
    let Ok(text) = std::fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return false;
    };
    let lines: Vec<&str> = text.lines().collect();
    lines.first().and_then(|l| l.trim().parse::<u32>().ok()) == Some(pid)
        && lines
            .get(7)
            .is_some_and(|status| matches!(status.trim(), "ready" | "standby"))
}

/// The memory file system [`TempClusterBuilder::in_memory`] puts clusters on.
const MEMORY_DIR: &str = "/dev/shm";

/// The free space an in-memory cluster needs on [`MEMORY_DIR`]; less falls back to the disk.
const MEMORY_DIR_MIN_FREE: u64 = 1 << 30;

/// The base directory: a configured one, else memory when usable and asked for, else `/tmp`.
fn choose_base_dir(configured: Option<PathBuf>, use_memory: bool, memory: &Path) -> PathBuf {
    match configured {
        Some(dir) => dir,
        None if use_memory => memory.to_path_buf(),
        None => PathBuf::from("/tmp"),
    }
}

/// Whether `dir` is a writable directory with [`MEMORY_DIR_MIN_FREE`] bytes available.
fn memory_dir_usable(dir: &Path) -> bool {
    use nix::unistd::AccessFlags;
    dir.is_dir()
        && nix::unistd::access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_ok()
        && nix::sys::statvfs::statvfs(dir).is_ok_and(|stats| {
            stats
                .blocks_available()
                .saturating_mul(stats.fragment_size())
                >= MEMORY_DIR_MIN_FREE
        })
}

/// A TCP port of 127.0.0.1 that is free right now.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::io("finding a free TCP port on", "127.0.0.1", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("finding a free TCP port on", "127.0.0.1", e))
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.lifetime == Lifetime::Detached {
            return; // left running on purpose; `dbops cluster stop` ends it
        }
        let signal = if self.keep_data {
            Signal::SIGINT
        } else {
            Signal::SIGQUIT
        };
        if let Ok(mut guard) = self.child.lock()
            && let Some(mut child) = guard.take()
        {
            process::stop_child_blocking(&mut child, signal, Duration::from_secs(10));
        }
        cleanup::unregister(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_base_dir_wins_over_memory() {
        let memory = Path::new("/dev/shm");
        assert_eq!(
            choose_base_dir(Some("/data/tmp".into()), true, memory),
            PathBuf::from("/data/tmp")
        );
        assert_eq!(choose_base_dir(None, true, memory), memory);
        assert_eq!(choose_base_dir(None, false, memory), PathBuf::from("/tmp"));
    }

    #[test]
    fn a_missing_or_read_only_memory_dir_is_not_used() {
        assert!(!memory_dir_usable(Path::new("/nonexistent/dbops-shm")));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        assert!(!memory_dir_usable(&file));
    }
}
