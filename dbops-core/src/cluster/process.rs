//! Child processes that must not outlive dbops: the OS account a server runs as, a long-lived spawner
//! thread (a parent-death signal fires when the *thread* that forked the child ends, so children are
//! forked from one thread that lives as long as the process), signals and waiting.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User};

use crate::error::{Error, Result};

/// The OS account the server runs as: the current user, or (when dbops runs as root, which
/// PostgreSQL refuses) an unprivileged account such as `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OsAccount {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
    /// Whether children must switch to this account (we are root and it is not us).
    pub switch: bool,
}

impl OsAccount {
    /// Resolves the account: `requested`, else `postgres` when root, else the current user.
    pub fn resolve(requested: Option<&str>) -> Result<Self> {
        let euid = nix::unistd::geteuid();
        if euid.is_root() {
            let name = requested.unwrap_or("postgres");
            let user = User::from_name(name)
                .ok()
                .flatten()
                .ok_or_else(|| {
                    Error::config(
                        "os_user",
                        format!(
                            "dbops runs as root and PostgreSQL refuses to run as root, so the server must run \
                             as another account, but there is no user `{name}`; create it (`useradd --system \
                             {name}`) or choose an existing one with TempClusterBuilder::os_user / --os-user"
                        ),
                    )
                })?;
            if user.uid.is_root() {
                return Err(Error::config(
                    "os_user",
                    format!(
                        "`{name}` is root; PostgreSQL refuses to run as root, choose an unprivileged account"
                    ),
                ));
            }
            Ok(OsAccount {
                name: user.name,
                uid: user.uid,
                gid: user.gid,
                switch: true,
            })
        } else {
            let me = User::from_uid(euid).ok().flatten();
            let name = me
                .as_ref()
                .map(|u| u.name.clone())
                .unwrap_or_else(|| euid.to_string());
            if let Some(requested) = requested
                && requested != name
            {
                return Err(Error::config(
                    "os_user",
                    format!(
                        "running the server as `{requested}` needs root; dbops runs as `{name}`"
                    ),
                ));
            }
            Ok(OsAccount {
                name,
                uid: euid,
                gid: nix::unistd::getegid(),
                switch: false,
            })
        }
    }

    /// Makes `command` run as this account.
    pub fn apply(&self, command: &mut Command) {
        if self.switch {
            command.uid(self.uid.as_raw()).gid(self.gid.as_raw());
        }
    }

    /// Hands `path` to this account (no-op unless switching).
    pub fn chown(&self, path: &std::path::Path) -> Result<()> {
        if self.switch {
            nix::unistd::chown(path, Some(self.uid), Some(self.gid)).map_err(|e| {
                Error::io(
                    format!("handing ownership to `{}` of", self.name),
                    path,
                    e.into(),
                )
            })?;
        }
        Ok(())
    }
}

type SpawnReply = mpsc::Sender<io::Result<Child>>;

fn spawner() -> &'static Mutex<mpsc::Sender<(Command, SpawnReply)>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<(Command, SpawnReply)>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<(Command, SpawnReply)>();
        std::thread::Builder::new()
            .name("dbops-spawner".into())
            .spawn(move || {
                // Lives as long as the process: the parent-death signal of every child is tied to it.
                while let Ok((mut command, reply)) = rx.recv() {
                    let _ = reply.send(command.spawn());
                }
            })
            .map(|_| ())
            .unwrap_or_else(
                |e| tracing::error!(error = %e, "cannot start the dbops spawner thread"),
            );
        Mutex::new(tx)
    })
}

/// Runs `command` to completion (stdin closed, killed if the future is dropped) and returns its
/// stdout. A program that cannot start or exits unsuccessfully is an [`Error::Command`] naming
/// `program` and `action`, with the last ten lines of its stderr.
#[cfg(feature = "backup")]
pub(crate) async fn output_of(
    mut command: tokio::process::Command,
    program: &std::path::Path,
    action: &str,
) -> Result<Vec<u8>> {
    let output = command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| spawn_error(program, action, e))?;
    if !output.status.success() {
        return Err(Error::Command {
            program: program.display().to_string(),
            action: action.to_string(),
            status: output.status.to_string(),
            stderr: super::last_lines(&String::from_utf8_lossy(&output.stderr), 10),
        });
    }
    Ok(output.stdout)
}

/// The [`Error::Command`] of `program`, which could not be run for `action`.
#[cfg(feature = "backup")]
pub(crate) fn spawn_error(program: &std::path::Path, action: &str, e: io::Error) -> Error {
    Error::Command {
        program: program.display().to_string(),
        action: action.into(),
        status: format!("could not run: {e}"),
        stderr: String::new(),
    }
}

/// Spawns `command` so that it receives SIGQUIT when this process dies, however it dies.
///
/// The signal is armed in the child after it switched user (switching credentials clears it), and a
/// child whose parent died before the signal was armed exits at once.
pub(crate) fn spawn_tied_to_process(mut command: Command) -> io::Result<Child> {
    // Its own process group: a Ctrl-C meant for the caller's terminal must not stop the server.
    command.process_group(0);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe functions.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (reply_tx, reply_rx) = mpsc::channel();
    let sender = spawner()
        .lock()
        .map_err(|_| io::Error::other("dbops spawner lock poisoned"))?
        .clone();
    sender
        .send((command, reply_tx))
        .map_err(|_| io::Error::other("dbops spawner thread is not running"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("dbops spawner thread did not answer"))?
}

/// Spawns a server that outlives this process: its own session, no parent-death signal.
pub(crate) fn spawn_detached(mut command: Command) -> io::Result<Child> {
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Sends a signal, ignoring "no such process".
pub(crate) fn signal(pid: u32, sig: Signal) {
    let _ = kill(Pid::from_raw(pid as i32), sig);
}

/// Whether a process with this pid exists (and is not a zombie).
pub(crate) fn is_alive(pid: u32) -> bool {
    if kill(Pid::from_raw(pid as i32), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => true,
    }
}

/// The start time of a process (clock ticks since boot), to tell a pid apart from a reused one.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Waits (blocking) until `child` exits or `timeout` passes. Returns whether it exited.
pub(crate) fn wait_blocking(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Stops a server child: `first` signal, then SIGQUIT, then SIGKILL, each after `grace`.
pub(crate) fn stop_child_blocking(child: &mut Child, first: Signal, grace: Duration) {
    let pid = child.id();
    for sig in [first, Signal::SIGQUIT, Signal::SIGKILL] {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        signal(pid, sig);
        if wait_blocking(child, grace) {
            return;
        }
    }
}

#[cfg(all(test, feature = "backup"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_program_run_to_completion_returns_its_output_or_says_how_it_failed() {
        let sh = std::path::Path::new("/bin/sh");
        let mut command = tokio::process::Command::new(sh);
        command.args(["-c", "echo rows"]);
        assert_eq!(output_of(command, sh, "counting").await.unwrap(), b"rows\n");

        let mut command = tokio::process::Command::new(sh);
        command.args(["-c", "echo first >&2; echo 'no such table' >&2; exit 3"]);
        match output_of(command, sh, "counting rows").await {
            Err(Error::Command {
                program,
                action,
                status,
                stderr,
            }) => {
                assert_eq!(
                    (program.as_str(), action.as_str()),
                    ("/bin/sh", "counting rows")
                );
                assert!(status.contains('3'), "{status}");
                assert_eq!(stderr, "first\nno such table");
            }
            other => panic!("expected a command error, got {other:?}"),
        }

        let missing = std::path::Path::new("/nonexistent/pg_restore");
        let command = tokio::process::Command::new(missing);
        match output_of(command, missing, "rendering").await {
            Err(Error::Command { status, .. }) => assert!(status.starts_with("could not run: ")),
            other => panic!("expected a command error, got {other:?}"),
        }
    }
}
