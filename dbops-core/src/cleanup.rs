//! What a cancelled operation leaves to finish: dropping an operation's future (Ctrl-C, SIGTERM, a
//! timeout around it) starts its clean-up in the background: a staging database is dropped, an
//! unfinished upload aborted, a store lock released, unpublished objects deleted. Those tasks are
//! tracked here, so a process that is about to exit can wait for them with [`finish`] (the `dbops`
//! CLI and the Python binding do) instead of leaving debris behind.
//!
//! ```no_run
//! # async fn demo(backup: dbops::backup::Backup) {
//! use std::time::Duration;
//!
//! tokio::select! {
//!     outcome = backup.run() => { outcome.ok(); }
//!     _ = tokio::signal::ctrl_c() => {
//!         // The backup's future was dropped: its upload is aborted and its lock released in the
//!         // background. Wait for that before the process exits.
//!         let unfinished = dbops::cleanup::finish(Duration::from_secs(30)).await;
//!         assert_eq!(unfinished, 0);
//!     }
//! }
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use tokio::task::JoinHandle;

/// A clean-up started in the background, with what it does (for the log).
struct Pending {
    what: String,
    task: JoinHandle<()>,
}

static PENDING: Mutex<Vec<Pending>> = Mutex::new(Vec::new());

/// A clean-up action, started when its guard is dropped.
pub(crate) type Action = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Starts `action` in the background on the current tokio runtime and tracks it until it ends. Outside
/// a runtime (a guard dropped by a plain thread), it runs to completion on a thread of its own first.
pub(crate) fn spawn(what: impl Into<String>, action: Action) {
    let what = what.into();
    tracing::debug!(%what, "cleaning up after a cancelled operation");
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            let task = handle.spawn(async move {
                // A slow clean-up, for the tests of a second signal (a failpoint's sleep blocks its
                // thread: not one of the runtime's).
                let _ =
                    tokio::task::spawn_blocking(|| crate::failpoint::failpoint("cleanup::start"))
                        .await;
                action.await
            });
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending.retain(|p| !p.task.is_finished());
            pending.push(Pending { what, task });
        }
        Err(_) => {
            let ran = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|runtime| runtime.block_on(action))
            })
            .join();
            if !matches!(ran, Ok(Ok(()))) {
                tracing::warn!(%what, "could not run a clean-up outside a runtime");
            }
        }
    }
}

/// Waits up to `deadline` for every clean-up that cancelled operations started (on any runtime of
/// this process) to end. Returns how many are still running when it gives up (0: all done); those are
/// named in a warning. Call it before a process exits after cancelling an operation.
pub async fn finish(deadline: Duration) -> usize {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let next = {
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending.retain(|p| !p.task.is_finished());
            pending.pop()
        };
        let Some(mut next) = next else { return 0 };
        if tokio::time::timeout_at(until, &mut next.task)
            .await
            .is_err()
        {
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending.push(next);
            for left in pending.iter() {
                tracing::warn!(what = %left.what, "a clean-up did not finish in time");
            }
            return pending.len();
        }
    }
}

/// Clean-ups still running (for tests and progress messages).
pub fn pending() -> usize {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    pending.retain(|p| !p.task.is_finished());
    pending.len()
}

/// Runs a clean-up when dropped, unless [`OnDrop::disarm`]ed first: the guard of something an
/// operation must undo if it is cancelled half-way.
#[cfg_attr(
    not(any(feature = "backup", all(feature = "migrate", feature = "testing"))),
    allow(dead_code)
)]
pub(crate) struct OnDrop {
    what: String,
    action: Option<Box<dyn FnOnce() -> Action + Send + Sync>>,
}

#[cfg_attr(
    not(any(feature = "backup", all(feature = "migrate", feature = "testing"))),
    allow(dead_code)
)]
impl OnDrop {
    /// A guard that runs `action()` in the background (see [`spawn`]) when dropped armed.
    pub(crate) fn new(
        what: impl Into<String>,
        action: impl FnOnce() -> Action + Send + Sync + 'static,
    ) -> Self {
        Self {
            what: what.into(),
            action: Some(Box::new(action)),
        }
    }

    /// The operation got past the point where the clean-up was needed (or did it itself).
    pub(crate) fn disarm(mut self) {
        self.action = None;
    }
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(action) = self.action.take() {
            spawn(std::mem::take(&mut self.what), action());
        }
    }
}

impl std::fmt::Debug for OnDrop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnDrop")
            .field("what", &self.what)
            .field("armed", &self.action.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn a_dropped_guard_runs_its_action_and_finish_waits_for_it() {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let guard = OnDrop::new("setting a flag", move || {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                flag.store(true, Ordering::SeqCst);
            })
        });
        drop(guard);
        assert!(!done.load(Ordering::SeqCst));
        assert_eq!(finish(Duration::from_secs(10)).await, 0);
        assert!(done.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_disarmed_guard_does_nothing() {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let guard = OnDrop::new("setting a flag", move || {
            Box::pin(async move { flag.store(true, Ordering::SeqCst) })
        });
        guard.disarm();
        finish(Duration::from_secs(10)).await;
        assert!(!done.load(Ordering::SeqCst));
    }

    #[test]
    fn a_guard_dropped_outside_a_runtime_runs_at_once() {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        drop(OnDrop::new("setting a flag", move || {
            Box::pin(async move { flag.store(true, Ordering::SeqCst) })
        }));
        assert!(done.load(Ordering::SeqCst));
    }
}
