//! Results go to Python as plain dicts/lists (through JSON), progress comes back as a callable.

use pyo3::prelude::*;

/// Converts any serializable result into Python objects (dicts, lists, numbers, strings).
pub fn to_py<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| {
        pyo3::exceptions::PyValueError::new_err(format!("cannot convert the result: {e}"))
    })?;
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// Converts a result inside a core future (re-taking the GIL briefly), as a core error on failure.
pub fn to_py_attached(value: &impl serde::Serialize) -> dbops::Result<Py<PyAny>> {
    Python::attach(|py| to_py(py, value)).map_err(|e| dbops::Error::config("result", e.to_string()))
}

/// Wraps a Python callable `(stage: str, done: int, total: int | None) -> None` as a progress callback.
pub fn progress(callback: Option<Py<PyAny>>) -> Option<dbops::Progress> {
    callback.map(|callback| {
        dbops::Progress::new(move |event| {
            Python::attach(|py| {
                if let Err(error) =
                    callback.call1(py, (event.stage.clone(), event.done, event.total))
                {
                    error.print(py);
                }
            });
        })
    })
}
