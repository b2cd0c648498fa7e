//! How every binding runs core futures: sync (GIL released, Ctrl-C interrupts) or as a Python awaitable.

use std::future::Future;
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
                    return Err(interrupt);
                }
            }
        }
    }
}

/// Wraps `future` as a Python awaitable (cancelling the awaitable drops the operation).
pub fn into_awaitable<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = dbops::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        match std::panic::AssertUnwindSafe(future).catch_unwind().await {
            Ok(result) => result.map_err(to_py),
            Err(payload) => Err(from_panic("running a dbops operation", payload.as_ref())),
        }
    })
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

        #[doc = concat!("Like `", stringify!($name), "`; awaitable.")]
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
