//! Never leave a cluster behind: an exit hook stops the servers of clusters that are still alive when
//! the process exits normally (statics are never dropped), and a sweep removes what killed processes
//! left in the temporary directory.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::process::{is_alive, signal, start_time};

/// File in a cluster directory naming the process that owns it: `<pid> <start time>`.
pub(crate) const OWNER_FILE: &str = "dbops-owner";
/// File in a cluster directory holding the path of a data directory kept outside it.
pub(crate) const DATA_DIR_FILE: &str = "dbops-data-dir";
/// Prefix of every temporary cluster directory.
pub(crate) const DIR_PREFIX: &str = "dbops-";

struct Live {
    postmaster: Option<u32>,
    dir: PathBuf,
    remove_dir: bool,
}

static LIVE: Mutex<Vec<Live>> = Mutex::new(Vec::new());

/// Registers a cluster directory so the exit hook can clean it up.
pub(crate) fn register(dir: &Path, remove_dir: bool) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: registering a plain extern "C" function with the C runtime.
        unsafe {
            libc::atexit(stop_all_at_exit);
        }
    });
    if let Ok(mut live) = LIVE.lock() {
        live.push(Live {
            postmaster: None,
            dir: dir.to_path_buf(),
            remove_dir,
        });
    }
}

/// Records (or clears) the running postmaster of a registered directory.
pub(crate) fn set_postmaster(dir: &Path, pid: Option<u32>) {
    if let Ok(mut live) = LIVE.lock()
        && let Some(entry) = live.iter_mut().find(|l| l.dir == dir)
    {
        entry.postmaster = pid;
    }
}

/// Forgets a directory whose cluster was cleaned up normally.
pub(crate) fn unregister(dir: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|l| l.dir != dir);
    }
}

extern "C" fn stop_all_at_exit() {
    let entries = match LIVE.lock() {
        Ok(mut live) => std::mem::take(&mut *live),
        Err(_) => return,
    };
    for entry in &entries {
        if let Some(pid) = entry.postmaster {
            stop_pid(pid, Duration::from_secs(5));
        }
    }
    for entry in entries {
        if entry.remove_dir {
            let _ = std::fs::remove_dir_all(&entry.dir);
        }
    }
}

/// Stops a postmaster that is not (or no longer) our child: immediate shutdown, then SIGKILL.
pub(crate) fn stop_pid(pid: u32, grace: Duration) {
    for sig in [Signal::SIGQUIT, Signal::SIGKILL] {
        if !is_alive(pid) {
            return;
        }
        signal(pid, sig);
        let deadline = std::time::Instant::now() + grace;
        while is_alive(pid) && std::time::Instant::now() < deadline {
            // Reap it if it is our child; otherwise just watch /proc.
            let _ = nix::sys::wait::waitpid(
                nix::unistd::Pid::from_raw(pid as i32),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Writes the owner file of a new cluster directory. It is written under another name and renamed
/// into place, so a sweep in another process finds no owner file (not ours yet) or a whole one, never
/// the empty file of a write under way, which it would take for a dead owner's and remove the
/// directory of a live process.
pub(crate) fn write_owner(dir: &Path) -> std::io::Result<()> {
    let pid = std::process::id();
    let started = start_time(pid).unwrap_or(0);
    let partial = dir.join(format!("{OWNER_FILE}.partial"));
    std::fs::write(&partial, format!("{pid} {started}\n"))?;
    std::fs::rename(&partial, dir.join(OWNER_FILE))
}

/// A private directory `<prefix>XXXXXX` in the system's temporary directory, owned by this process
/// (an owner file, so a later run, or a cluster start's sweep, removes it if this process is
/// killed), created after removing the directories of the same prefix whose owner is gone.
#[cfg(feature = "backup")]
pub(crate) fn owned_temp_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let base = std::env::temp_dir();
    for dir in orphaned_dirs(&base, prefix) {
        if std::fs::remove_dir_all(&dir).is_ok() {
            tracing::info!(dir = %dir.display(), "removed a directory left behind by a killed process");
        }
    }
    let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(&base)?;
    write_owner(dir.path())?;
    Ok(dir)
}

/// The directories `<prefix>...` under `base` whose owner file names a process that is gone.
/// Directories without an owner file are not ours, detached, or still being created.
fn orphaned_dirs(base: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .map(|entry| entry.path())
        .filter(|dir| {
            std::fs::read_to_string(dir.join(OWNER_FILE)).is_ok_and(|owner| !owner_alive(&owner))
        })
        .collect()
}

/// Whether the process named in an owner file is still the one that wrote it.
fn owner_alive(text: &str) -> bool {
    let mut parts = text.split_whitespace();
    let (Some(pid), Some(started)) = (
        parts.next().and_then(|p| p.parse::<u32>().ok()),
        parts.next().and_then(|s| s.parse::<u64>().ok()),
    ) else {
        return false;
    };
    is_alive(pid) && start_time(pid).is_none_or(|now| now == started || started == 0)
}

/// The pid in a data directory's `postmaster.pid`, if the file exists.
pub(crate) fn postmaster_pid(data_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Removes cluster directories under `base` whose owning process is gone, stopping their servers.
/// Returns the directories removed. Errors are skipped: a sweep never fails a start.
pub(crate) fn sweep_stale(base: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for dir in orphaned_dirs(base, DIR_PREFIX) {
        let data_dir = std::fs::read_to_string(dir.join(DATA_DIR_FILE))
            .map(|p| PathBuf::from(p.trim()))
            .unwrap_or_else(|_| dir.join("data"));
        if let Some(pid) = postmaster_pid(&data_dir)
            && is_alive(pid)
            && is_postgres(pid)
        {
            stop_pid(pid, Duration::from_secs(5));
        }
        if std::fs::remove_dir_all(&dir).is_ok() {
            tracing::info!(dir = %dir.display(), "removed a cluster left behind by a killed process");
            removed.push(dir);
        }
    }
    removed
}

fn is_postgres(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|comm| comm.trim().starts_with("postgres") || comm.trim().starts_with("postmaster"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_file_names_this_live_process_and_nothing_partial_is_left() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_owner(dir.path()).expect("owner file");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [OWNER_FILE]);
        let owner = std::fs::read_to_string(dir.path().join(OWNER_FILE)).expect("read");
        assert!(
            owner.starts_with(&format!("{} ", std::process::id())),
            "{owner}"
        );
        assert!(owner_alive(&owner), "{owner}");
        assert!(orphaned_dirs(dir.path().parent().expect("parent"), "no-such-prefix-").is_empty());
    }

    #[test]
    fn a_directory_whose_owner_is_gone_is_orphaned_and_one_being_created_is_not() {
        let base = tempfile::tempdir().expect("base");
        let gone = base.path().join("swept-gone");
        let creating = base.path().join("swept-creating");
        std::fs::create_dir(&gone).expect("dir");
        std::fs::create_dir(&creating).expect("dir");
        // Above any pid_max: no such process.
        std::fs::write(gone.join(OWNER_FILE), "2147483646 1\n").expect("owner");
        std::fs::write(creating.join(format!("{OWNER_FILE}.partial")), "").expect("partial");
        assert_eq!(orphaned_dirs(base.path(), "swept-"), [gone]);
    }
}
