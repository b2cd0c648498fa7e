//! Results go to Python as the typed classes of `dbops.results` (through JSON and `from_dict`), results
//! come back from Python the same way, progress comes back as a callable.

use pyo3::prelude::*;

/// A core result and the type expression of its class in `dbops.results` (`Name`, `List[Name]`,
/// `Optional[Name]`). The classes mirror the serialized fields; nothing else is mapped here.
pub trait Typed: serde::Serialize {
    /// The class (or `List[...]`/`Optional[...]` of it) this value becomes in Python.
    fn type_expr() -> String;
}

macro_rules! typed {
    ($($rust:ty => $class:literal,)*) => {
        $(impl Typed for $rust {
            fn type_expr() -> String {
                $class.to_string()
            }
        })*
    };
}

typed! {
    dbops::MigrateReport => "MigrateReport",
    dbops::pre_migration::GuardedMigrateReport => "GuardedMigrateReport",
    dbops::migrate::VersionState => "VersionState",
    dbops::migrate::MigrationStatus => "MigrationStatus",
    dbops::migrate::PlannedStep => "PlannedStep",
    dbops::migrate::lint::LintFinding => "LintFinding",
    dbops::migrate::plan::LockPlan => "LockPlan",
    crate::migrate::Verified => "VerifyReport",
    dbops::seed::SeedReport => "SeedReport",
    dbops::db::ResetReport => "ResetReport",
    dbops::health::HealthReport => "HealthReport",
    dbops::monitor::DbStatus => "DbStatus",
    dbops::backup::BackupReport => "BackupReport",
    dbops::backup::Catalog => "Catalog",
    dbops::backup::RetentionPlan => "RetentionPlan",
    dbops::restore::RestoreReport => "RestoreReport",
    dbops::restore::ValidationReport => "ValidationReport",
    dbops::restore::RestoreTestReport => "RestoreTestReport",
    dbops::backup::BackupHealthReport => "BackupHealthReport",
    dbops::alert::AlertOutcome => "AlertOutcome",
    dbops::pitr::PushReport => "PushReport",
    dbops::pitr::FetchReport => "FetchReport",
    dbops::pitr::BaseBackup => "BaseBackup",
    dbops::pitr::VerifiedBaseBackup => "VerifiedBaseBackup",
    dbops::pitr::RecoveryReport => "RecoveryReport",
    dbops::pitr::PitrStatus => "PitrStatus",
    dbops::pitr::SetupItem => "SetupItem",
    dbops::pitr::PitrRetentionPlan => "PitrRetentionPlan",
}

impl<T: Typed> Typed for Vec<T> {
    fn type_expr() -> String {
        format!("List[{}]", T::type_expr())
    }
}

impl<T: Typed> Typed for Option<T> {
    fn type_expr() -> String {
        format!("Optional[{}]", T::type_expr())
    }
}

fn results(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("dbops.results")
}

/// Converts a core result into its `dbops.results` class.
pub fn to_py<T: Typed>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    to_py_as(py, value, &T::type_expr())
}

/// Converts a serializable result into the `dbops.results` class named by `type_expr` (for core types
/// the binding cannot name).
pub fn to_py_as(
    py: Python<'_>,
    value: &impl serde::Serialize,
    type_expr: &str,
) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| {
        pyo3::exceptions::PyValueError::new_err(format!("cannot convert the result: {e}"))
    })?;
    Ok(results(py)?
        .call_method1("_from_json", (type_expr, text))?
        .unbind())
}

/// Converts a result inside a core future (re-taking the GIL briefly), as a core error on failure.
pub fn to_py_attached<T: Typed>(value: &T) -> dbops::Result<Py<PyAny>> {
    attached_as(value, &T::type_expr())
}

/// `to_py_as` inside a core future.
pub fn attached_as(value: &impl serde::Serialize, type_expr: &str) -> dbops::Result<Py<PyAny>> {
    Python::attach(|py| to_py_as(py, value, type_expr))
        .map_err(|e| dbops::Error::config("result", e.to_string()))
}

/// Plain JSON data (dicts, lists, numbers, strings) as Python objects, through the `json` module.
pub fn json_to_py(py: Python<'_>, value: &serde_json::Value) -> PyResult<Py<PyAny>> {
    Ok(py
        .import("json")?
        .call_method1("loads", (value.to_string(),))?
        .unbind())
}

/// Reads back a result given to a binding (its `dbops.results` class, or the same data as a dict).
pub fn from_py<T: serde::de::DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<T> {
    let text: String = results(value.py())?
        .call_method1("_to_json", (value,))?
        .extract()?;
    serde_json::from_str(&text)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("not a {what}: {e}")))
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
