//! The per-database backup lock in the store, so two backups never interleave.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::database_folder;
use crate::error::{Error, Result};
use crate::storage::BackupStore;
use std::sync::Arc;

/// What the lock object holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LockBody {
    backup_id: String,
    host: String,
    pid: u32,
    acquired_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// A held lock; released by [`StoreLock::release`], or in the background when dropped (a cancelled
/// backup), tracked by [`crate::cleanup`].
#[derive(Debug)]
pub(crate) struct StoreLock {
    store: Arc<dyn BackupStore>,
    key: String,
    held: bool,
}

fn lock_key(database: &str) -> String {
    format!("{}/.lock", database_folder(database))
}

/// Takes the backup lock of `database`, or explains who holds it. A lock past its expiry (its holder
/// died) is taken over.
pub(crate) async fn acquire(
    store: &Arc<dyn BackupStore>,
    database: &str,
    backup_id: &str,
    ttl: std::time::Duration,
) -> Result<StoreLock> {
    let key = lock_key(database);
    let now = Utc::now();
    let body = LockBody {
        backup_id: backup_id.to_string(),
        host: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().to_string())
            .unwrap_or_default(),
        pid: std::process::id(),
        acquired_at: now,
        expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(6)),
    };
    let bytes =
        Bytes::from(serde_json::to_vec(&body).map_err(|e| Error::config("lock", e.to_string()))?);
    for _ in 0..2 {
        if store.put_if_absent(&key, bytes.clone()).await? {
            return Ok(StoreLock {
                store: store.clone(),
                key,
                held: true,
            });
        }
        let existing = store.get(&key).await.ok();
        let holder: Option<LockBody> = existing.and_then(|b| serde_json::from_slice(&b).ok());
        let my_host = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().to_string())
            .unwrap_or_default();
        // A holder on this host whose process is gone died without releasing the lock (e.g. SIGKILL).
        let dead_here =
            |h: &LockBody| h.host == my_host && h.pid != std::process::id() && !pid_alive(h.pid);
        match holder {
            Some(holder) if holder.expires_at > Utc::now() && !dead_here(&holder) => {
                return Err(Error::Refused {
                    action: format!("start a backup of `{database}`"),
                    reason: format!(
                        "backup {} started at {} on host `{}` (pid {}) holds the lock `{key}` in {} until {}; \
                         wait for it to finish, or delete that object if the backup is known to be dead",
                        holder.backup_id,
                        holder.acquired_at.to_rfc3339(),
                        holder.host,
                        holder.pid,
                        store.describe(),
                        holder.expires_at.to_rfc3339()
                    ),
                });
            }
            _ => {
                tracing::warn!(%key, "taking over an expired, abandoned or unreadable backup lock");
                store.delete(&key).await?;
            }
        }
    }
    Err(Error::Refused {
        action: format!("start a backup of `{database}`"),
        reason: format!("another backup took the lock `{key}` at the same moment; try again"),
    })
}

impl StoreLock {
    /// Releases the lock.
    pub(crate) async fn release(mut self) -> Result<()> {
        self.held = false;
        self.store.delete(&self.key).await
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        if self.held {
            let store = self.store.clone();
            let key = self.key.clone();
            crate::cleanup::spawn(
                format!("releasing the backup lock `{key}`"),
                Box::pin(async move {
                    if let Err(error) = store.delete(&key).await {
                        tracing::warn!(%error, "could not release the backup lock");
                    }
                }),
            );
        }
    }
}

/// Whether a process with this pid exists on this host.
fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}
