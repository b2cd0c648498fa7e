//! How every binding runs core futures: sync (GIL released, Ctrl-C interrupts) or as a Python awaitable.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use futures::FutureExt;

use crate::errors::{from_panic, to_py};

/// Runs a binding's synchronous body; a panic in it raises `dbops.InternalError` instead of pyo3's
/// `PanicException`.
pub fn guard<T>(action: &str, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(from_panic(action, payload.as_ref())))
}

/// The shared tokio runtime (the one pyo3-async-runtimes also uses for awaitables).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `future` to completion with the GIL released. Every 50 ms it checks for signals, so Ctrl-C
/// raises `KeyboardInterrupt` and drops (cancels) the operation.
pub fn block_on<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = dbops::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut handle = runtime().spawn(future);
    loop {
        let waited = py.detach(|| {
            runtime().block_on(async {
                tokio::time::timeout(Duration::from_millis(50), &mut handle).await
            })
        });
        match waited {
            Ok(Ok(result)) => return result.map_err(to_py),
            Ok(Err(join_error)) if join_error.is_panic() => {
                return Err(from_panic(
                    "running a dbops operation",
                    join_error.into_panic().as_ref(),
                ));
            }
            Ok(Err(join_error)) => {
                return Err(crate::errors::InternalError::new_err(format!(
                    "dbops operation ended unexpectedly: {join_error}"
                )));
            }
            Err(_still_running) => {
                if let Err(interrupt) = py.check_signals() {
                    handle.abort();
                    finish_cleanups(py, handle);
                    return Err(interrupt);
                }
            }
        }
    }
}

/// After Ctrl-C cancelled an operation (`handle`, aborted): waits until it is dropped and for the
/// clean-ups that started (a staging database dropped, an upload aborted, a lock released), at most
/// a minute, so the script does not exit leaving them half done. A second Ctrl-C stops waiting.
fn finish_cleanups<T: Send + 'static>(py: Python<'_>, handle: tokio::task::JoinHandle<T>) {
    let waiting = runtime().spawn(async move {
        let _ = handle.await;
        dbops::cleanup::finish(Duration::from_secs(60)).await
    });
    loop {
        if waiting.is_finished() || py.check_signals().is_err() {
            return;
        }
        py.detach(|| std::thread::sleep(Duration::from_millis(20)));
    }
}

/// Wraps `future` as a Python awaitable (cancelling the awaitable drops the operation, which starts
/// its clean-ups; [`wait_for_cleanups`] waits for the drop and for them).
pub fn into_awaitable<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = dbops::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let tracked = Arc::new(Tracked::default());
    let dropped = DropMark(tracked.clone());
    let awaitable = pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let _dropped = dropped;
        match std::panic::AssertUnwindSafe(future).catch_unwind().await {
            Ok(result) => result.map_err(to_py),
            Err(payload) => Err(from_panic("running a dbops operation", payload.as_ref())),
        }
    })?;
    // Runs on the event loop when the awaitable is cancelled, before the awaiting task resumes: from
    // then on `wait_for_cleanups` waits for the operation to be dropped.
    let on_done = pyo3::types::PyCFunction::new_closure(
        py,
        None,
        None,
        move |args: &Bound<'_, pyo3::types::PyTuple>, _kwargs| -> PyResult<()> {
            let cancelled = args.get_item(0)?.call_method0("cancelled")?.is_truthy()?;
            if cancelled {
                tracked.cancelled();
            }
            Ok(())
        },
    )?;
    awaitable.call_method1("add_done_callback", (on_done,))?;
    Ok(awaitable)
}

/// Cancelled awaitables whose operation is not dropped yet.
static CANCELLING: AtomicUsize = AtomicUsize::new(0);

/// Whether an awaitable's operation was cancelled and whether it was dropped (in either order).
#[derive(Default)]
struct Tracked(Mutex<(bool, bool)>);

impl Tracked {
    fn cancelled(&self) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !state.0 && !state.1 {
            CANCELLING.fetch_add(1, Ordering::SeqCst);
        }
        state.0 = true;
    }

    fn dropped(&self) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 && !state.1 {
            CANCELLING.fetch_sub(1, Ordering::SeqCst);
        }
        state.1 = true;
    }
}

/// Marks the operation dropped when the awaitable's future goes (finished or cancelled).
struct DropMark(Arc<Tracked>);

impl Drop for DropMark {
    fn drop(&mut self) {
        self.0.dropped();
    }
}

/// Defines a blocking pyfunction `$name` (GIL released, Ctrl-C interrupts it) and its awaitable twin
/// `$async_name` from one body. The body checks and converts the arguments (raising right away, in both
/// forms) and ends with the operation's future, which the two forms then drive differently.
macro_rules! operation {
    (
        $(#[doc = $doc:literal])*
        #[pyo3(signature = $sig:tt)]
        fn $name:ident / $async_name:ident ($py:ident $(, $arg:ident : $ty:ty)* $(,)?) -> $out:ty $body:block
    ) => {
        $(#[doc = $doc])*
        #[pyfunction]
        #[pyo3(signature = $sig)]
        #[allow(clippy::too_many_arguments)]
        fn $name($py: Python<'_> $(, $arg: $ty)*) -> PyResult<$out> {
            let future = $body;
            $crate::runtime::block_on($py, future)
        }

        #[doc = concat!("The awaitable form of `", stringify!($name), "`: the same arguments, result and errors.")]
        #[pyfunction]
        #[pyo3(signature = $sig)]
        #[allow(clippy::too_many_arguments)]
        fn $async_name<'py>($py: Python<'py> $(, $arg: $ty)*) -> PyResult<Bound<'py, PyAny>> {
            let future = $body;
            $crate::runtime::into_awaitable($py, future)
        }
    };
}

pub(crate) use operation;

/// Waits (the GIL released) for the clean-ups of cancelled operations: a cancelled awaitable's
/// staging database, upload or lock.
///
/// Args:
///     timeout_secs: seconds to wait at most.
///
/// Returns:
///     int: how many clean-ups are still running (0: all done).
///
/// Raises:
///     ConfigError: a negative or non-finite timeout.
#[pyfunction]
#[pyo3(signature = (timeout_secs=60.0))]
pub fn wait_for_cleanups(py: Python<'_>, timeout_secs: f64) -> PyResult<usize> {
    let deadline = dbops::config::duration_from(
        "timeout_secs",
        timeout_secs,
        dbops::config::TimeUnit::Seconds,
    )
    .map_err(to_py)?;
    let until = std::time::Instant::now() + deadline;
    py.detach(|| {
        // Cancelled awaitables' operations start their clean-ups when they are dropped.
        while CANCELLING.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        let unfinished = runtime().block_on(dbops::cleanup::finish(left));
        Ok(unfinished + CANCELLING.load(Ordering::SeqCst))
    })
}
