//! Prefetching during recovery: after `wal fetch` hands PostgreSQL one segment, a background
//! `dbops wal prefetch` downloads the next ones into `pg_wal/.dbops-prefetch`, one such process at a
//! time (a lock file; a lock older than two minutes belongs to a dead process and is taken over).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{PitrOptions, WalCommands, WalFileKind, WalName, prefetch, prefetch_dir};
use crate::error::Result;
use crate::storage::BackupStore;

/// A lock older than this was left by a prefetch that died; it is taken over.
pub const PREFETCH_LOCK_STALE_AFTER: Duration = Duration::from_secs(120);
/// Size assumed for a segment whose file cannot be read (PostgreSQL's default).
const DEFAULT_SEGMENT_SIZE: u64 = 16 << 20;

/// The prefetch lock of one `pg_wal` directory, released when dropped.
#[derive(Debug)]
pub struct PrefetchLock {
    path: PathBuf,
}

impl PrefetchLock {
    /// Takes the lock next to `dest` (the `%p` of `restore_command`), or `None` when another prefetch
    /// holds it. A stale lock is removed first.
    pub fn try_acquire(dest: &Path) -> Option<Self> {
        let dir = prefetch_dir(dest);
        let path = dir.join(".lock");
        let _ = std::fs::create_dir_all(&dir);
        let stale = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > PREFETCH_LOCK_STALE_AFTER);
        if stale {
            let _ = std::fs::remove_file(&path);
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .ok()
            .map(|_| Self { path })
    }
}

impl Drop for PrefetchLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Prefetches the `count` segments after `after` unless another prefetch runs for the same
/// directory: `None` then, else how many segments were fetched. The segment size is that of `dest`.
pub async fn prefetch_once(
    store: &dyn BackupStore,
    after: &str,
    dest: &Path,
    count: u32,
    parallel: usize,
    options: &PitrOptions,
) -> Result<Option<usize>> {
    let segment_size = std::fs::metadata(dest)
        .map(|m| m.len())
        .unwrap_or(DEFAULT_SEGMENT_SIZE);
    let Some(_lock) = PrefetchLock::try_acquire(dest) else {
        return Ok(None);
    };
    prefetch(store, after, dest, count, parallel, segment_size, options)
        .await
        .map(Some)
}

impl WalCommands {
    /// The background `dbops wal prefetch` that `wal fetch` starts after handing over `name` at
    /// `dest`: same program, store, options and keys; output discarded. Spawn it and let it run.
    pub fn prefetch_process(
        &self,
        name: &str,
        dest: &Path,
        count: u32,
    ) -> Result<std::process::Command> {
        let mut command = std::process::Command::new(self.program_path());
        command.args(["-q", "wal", "prefetch"]);
        // Not a server setting: options pass as `wal fetch` got them (its own argv held them already).
        command.args(self.store_arguments(None)?);
        command.args(self.key_arguments()?);
        command
            .args(["--count", &count.to_string(), name])
            .arg(dest)
            .env_remove("DBOPS_AGE_RECIPIENTS")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        Ok(command)
    }
}

/// After `wal fetch` handed PostgreSQL the segment `name` at `dest`: starts the background prefetch of
/// the next `count` segments (`commands` names the program, store and keys) without waiting for it.
/// Does nothing for `count` 0 or a file that is not a segment. Returns whether a process started.
pub fn start_prefetch(commands: &WalCommands, name: &str, dest: &Path, count: u32) -> Result<bool> {
    let segment = WalName::parse(name).is_ok_and(|w| w.kind == WalFileKind::Segment);
    if count == 0 || !segment {
        return Ok(false);
    }
    let mut command = commands.prefetch_process(name, dest, count)?;
    match command.spawn() {
        Ok(child) => {
            // Reaped by init once this short-lived process exits.
            std::mem::forget(child);
            Ok(true)
        }
        Err(error) => Err(crate::error::Error::io(
            "starting the background WAL prefetch",
            command.get_program(),
            error,
        )),
    }
}
