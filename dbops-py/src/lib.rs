//! Python binding of dbops: one file per capability, no logic (everything calls `dbops` core).

use pyo3::prelude::*;

mod alert;
mod backup;
mod cli;
mod cluster;
mod convert;
mod errors;
mod health;
mod mask;
mod migrate;
mod pitr;
mod runtime;
mod seed;
mod testing;

#[pymodule(gil_used = false)]
fn _dbops(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    alert::register(m)?;
    backup::register(m)?;
    cli::register(m)?;
    cluster::register(m)?;
    migrate::register(m)?;
    pitr::register(m)?;
    health::register(m)?;
    mask::register(m)?;
    seed::register(m)?;
    testing::register(m)?;
    m.add_function(wrap_pyfunction!(runtime::wait_for_cleanups, m)?)?;
    Ok(())
}
