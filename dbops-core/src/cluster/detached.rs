//! Named clusters that outlive the command that started them (`dbops cluster start` / `stop`).
//!
//! The state of each lives in `<cache>/clusters/<name>.json` (mode 0600: it holds the TCP password).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::cleanup::{postmaster_pid, stop_pid};
use super::process::{is_alive, signal};
use super::{Lifetime, TempClusterBuilder, cache_root};
use crate::config::DatabaseUrl;
use crate::error::{Error, Result};

/// What `dbops cluster start` recorded about a named cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetachedClusterInfo {
    /// The cluster's name (`default` unless given).
    pub name: String,
    /// The private directory with the socket and log.
    pub dir: PathBuf,
    /// The data directory.
    pub data_dir: PathBuf,
    /// Whether the data directory is kept when the cluster stops.
    pub keep_data: bool,
    /// The postmaster's pid.
    pub pid: u32,
    /// The port.
    pub port: u16,
    /// Server version.
    pub version: String,
    /// When it was started.
    pub started_at: DateTime<Utc>,
    /// Superuser URL over the unix socket (no password needed).
    pub url: String,
    /// Superuser URL over TCP, password included (the state file is private to its owner).
    pub tcp_url: Option<String>,
}

impl DetachedClusterInfo {
    /// The unix-socket URL, parsed.
    pub fn database_url(&self) -> Result<DatabaseUrl> {
        DatabaseUrl::parse(&self.url)
    }

    /// Whether its server is still running.
    pub fn is_running(&self) -> bool {
        is_alive(self.pid) && postmaster_pid(&self.data_dir) == Some(self.pid)
    }
}

/// Start, find, list and stop named detached clusters.
#[derive(Debug, Clone, Copy)]
pub struct DetachedCluster;

impl DetachedCluster {
    fn state_dir() -> PathBuf {
        cache_root().join("clusters")
    }

    fn state_path(name: &str) -> Result<PathBuf> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::config(
                "cluster name",
                format!("`{name}` must be non-empty and use only letters, digits, `-` and `_`"),
            ));
        }
        Ok(Self::state_dir().join(format!("{name}.json")))
    }

    /// Starts a named cluster that keeps running after this process exits. Fails if one with this
    /// name is already running.
    pub async fn start(name: &str, builder: TempClusterBuilder) -> Result<DetachedClusterInfo> {
        let path = Self::state_path(name)?;
        if let Some(existing) = Self::find(name)? {
            return Err(Error::Refused {
                action: format!("start cluster `{name}`"),
                reason: format!(
                    "it is already running (pid {}, {}); stop it first with `dbops cluster stop --name {name}`",
                    existing.pid, existing.url
                ),
            });
        }
        let mut builder = builder;
        builder.lifetime = Lifetime::Detached;
        let keep_data = builder.data_dir.is_some();
        let cluster = builder.start().await?;
        let info = DetachedClusterInfo {
            name: name.to_string(),
            dir: cluster.dir().to_path_buf(),
            data_dir: cluster.data_dir().to_path_buf(),
            keep_data,
            pid: cluster.pid().unwrap_or(0),
            port: cluster.port(),
            version: cluster.binaries().version().to_string(),
            started_at: Utc::now(),
            url: cluster.url().expose(),
            tcp_url: cluster.tcp_url().map(|u| u.expose()),
        };
        write_private_json(&path, &info)?;
        Ok(info)
    }

    /// The running cluster with this name, if any. A state file whose server is gone is removed.
    pub fn find(name: &str) -> Result<Option<DetachedClusterInfo>> {
        let path = Self::state_path(name)?;
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        let info: DetachedClusterInfo = serde_json::from_str(&text).map_err(|e| {
            Error::config(
                "cluster state",
                format!("`{}` is not valid ({e}); delete it", path.display()),
            )
        })?;
        if info.is_running() {
            Ok(Some(info))
        } else {
            let _ = std::fs::remove_file(&path);
            if !info.keep_data {
                let _ = std::fs::remove_dir_all(&info.dir);
            }
            Ok(None)
        }
    }

    /// Every running named cluster.
    pub fn list() -> Result<Vec<DetachedClusterInfo>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(Self::state_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".json")
                && let Ok(Some(info)) = Self::find(name)
            {
                out.push(info);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Stops the named cluster (fast shutdown) and removes its directory (a `--data-dir` is kept).
    /// Returns the stopped cluster, or `None` if none was running.
    pub async fn stop(name: &str) -> Result<Option<DetachedClusterInfo>> {
        let path = Self::state_path(name)?;
        let Some(info) = Self::find(name)? else {
            return Ok(None);
        };
        let stopped = info.clone();
        tokio::task::spawn_blocking(move || {
            signal(info.pid, nix::sys::signal::Signal::SIGINT);
            let deadline = Instant::now() + Duration::from_secs(30);
            while is_alive(info.pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            stop_pid(info.pid, Duration::from_secs(5));
            // The private directory goes; a data directory given with --data-dir lives elsewhere.
            let _ = std::fs::remove_dir_all(&info.dir);
        })
        .await
        .map_err(|e| Error::config("cluster stop", format!("stop task failed: {e}")))?;
        let _ = std::fs::remove_file(&path);
        Ok(Some(stopped))
    }
}

fn write_private_json(path: &Path, info: &DetachedClusterInfo) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    }
    let text = serde_json::to_string_pretty(info)
        .map_err(|e| Error::config("cluster state", format!("cannot serialize: {e}")))?;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("writing cluster state", &tmp, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io("writing cluster state", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("writing cluster state", path, e))
}
