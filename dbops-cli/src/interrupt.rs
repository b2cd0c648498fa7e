//! SIGINT and SIGTERM (Ctrl-C, a scheduler stopping a job): the running command is cancelled, what it
//! started is cleaned up (staging databases dropped, uploads aborted, unpublished objects deleted,
//! store locks released, temporary directories removed), then dbops exits with 130 (SIGINT) or 143
//! (SIGTERM). A second signal while cleaning up exits at once.

use std::future::Future;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// How long the clean-up of an interrupted command may take before dbops exits anyway.
const CLEANUP_DEADLINE: Duration = Duration::from_secs(60);

/// The signal that interrupted a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM (`kill`, systemd, Kubernetes).
    Term,
}

impl Interrupted {
    /// The conventional exit code: 128 plus the signal's number (2, 15).
    pub fn exit_code(self) -> i32 {
        match self {
            Interrupted::Int => 130,
            Interrupted::Term => 143,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Interrupted::Int => "SIGINT",
            Interrupted::Term => "SIGTERM",
        }
    }
}

/// Both signals, listened to from the start of a command (so neither kills the process outright).
struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> Interrupted {
        tokio::select! {
            _ = self.int.recv() => Interrupted::Int,
            _ = self.term.recv() => Interrupted::Term,
        }
    }
}

/// Runs `command` (`what`, for messages) until it ends or a signal interrupts it. On a signal the
/// command's future is dropped, which starts its clean-ups, and they are waited for (up to a minute);
/// a second signal exits the process at once with the first one's code.
pub async fn run<F: Future>(what: &str, command: F) -> Result<F::Output, Interrupted> {
    let mut signals = match Signals::listen() {
        Ok(signals) => signals,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGINT and SIGTERM; they stop dbops at once");
            return Ok(command.await);
        }
    };
    let interrupted = tokio::select! {
        outcome = command => {
            // A failed operation may have left clean-ups running (an upload's abort, a staging
            // database dropped once its server is back): they finish before dbops exits.
            finish_cleanups(&mut signals, None).await;
            return Ok(outcome);
        }
        interrupted = signals.next() => interrupted,
    };
    eprintln!(
        "error: `{what}` was interrupted by {}; cleaning up what it started ({} clean-up(s); \
         another signal exits at once, leaving them)",
        interrupted.name(),
        dbops::cleanup::pending()
    );
    finish_cleanups(&mut signals, Some(interrupted)).await;
    Err(interrupted)
}

/// Waits (up to a minute) for the clean-ups that operations started. A signal meanwhile exits at once,
/// with the code of the signal that interrupted the command (`interrupted`), else its own.
async fn finish_cleanups(signals: &mut Signals, interrupted: Option<Interrupted>) {
    if dbops::cleanup::pending() == 0 {
        return;
    }
    tokio::select! {
        left = dbops::cleanup::finish(CLEANUP_DEADLINE) => {
            if left > 0 {
                eprintln!(
                    "warning: {left} clean-up(s) did not finish within {} s; `dbops backup list` and \
                     `dbops backup prune` show and remove what a backup left",
                    CLEANUP_DEADLINE.as_secs()
                );
            }
        }
        again = signals.next() => {
            eprintln!("error: {} while cleaning up: exiting without cleaning up", again.name());
            std::process::exit(interrupted.unwrap_or(again).exit_code());
        }
    }
}
