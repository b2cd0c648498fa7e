//! `python -m dbops ...` runs the same CLI as the `dbops` binary.

use pyo3::prelude::*;

/// Runs the dbops command line with ``argv`` (without the program name), as ``python -m dbops``
/// does.
///
/// Args:
///     argv: the arguments, e.g. ``['migrate', 'up']``.
///
/// Returns:
///     int: the exit code (0 success, 1 failure, 2 bad usage, 70 internal error).
///
/// Raises:
///     SystemExit: never: errors are printed and become the exit code.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    let args = std::iter::once("dbops".to_string()).chain(argv);
    py.detach(|| dbops_cli::run_from_args(args))
}

/// The library's defaults of the settings Python passes as plain numbers and words, by function:
/// a keyword left at None takes these; tests compare every keyword's default with them.
#[pyfunction]
fn defaults(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let seed = dbops::SeedOptions::default();
    let alert = dbops::alert::AlertConfig::default();
    let value = serde_json::json!({
        "backup_health": dbops::backup::BackupHealthLimits::default(),
        "migrate": dbops::migrate::MigrateSettings::default(),
        "seed": { "scale": seed.scale, "seed": seed.seed, "existing": seed.existing },
        "send_alerts": {
            "remind_hours": alert.reminder.map(|d| d.as_secs_f64() / 3600.0),
            "smtp_from": dbops::alert::DEFAULT_SMTP_FROM,
        },
    });
    crate::convert::json_to_py(py, &value)
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)
}
