//! `python -m dbops ...` runs the same CLI as the `dbops` binary.

use pyo3::prelude::*;

/// Runs the dbops CLI with `argv` (without the program name); returns the exit code.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    let args = std::iter::once("dbops".to_string()).chain(argv);
    py.detach(|| dbops_cli::run_from_args(args))
}

/// Adds the function to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cli_main, m)?)
}
