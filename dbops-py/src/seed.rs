//! `dbops.seed`, `dbops.seed_file`, `dbops.reset`.

use dbops::db::{ResetOptions, reset as reset_db};
use dbops::seed::{Existing, PgSeeder, Profile, SeedOptions, Seeder as _, run_sql_file};
use dbops::{DatabaseUrl, MigrationSource};
use pyo3::prelude::*;

use crate::convert::to_py_attached as json;
use crate::errors::to_py as err;
use crate::runtime::{block_on, into_awaitable};

fn options(scale: u64, seed: u64, existing: &str) -> PyResult<SeedOptions> {
    let existing = match existing {
        "refuse" => Existing::Refuse,
        "append" => Existing::Append,
        "truncate" => Existing::Truncate,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "existing={other:?}: expected 'refuse', 'append' or 'truncate'"
            )));
        }
    };
    Ok(SeedOptions {
        scale,
        seed,
        existing,
    })
}

/// Seeds `profile` ('light', 'medium', 'heavy') into the migrated database at `url`; returns the report.
#[pyfunction]
#[pyo3(signature = (url, profile, *, scale=1, seed=42, existing="refuse", progress=None))]
fn seed(
    py: Python<'_>,
    url: &str,
    profile: &str,
    scale: u64,
    seed: u64,
    existing: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let url = DatabaseUrl::parse(url).map_err(err)?;
    let profile: Profile = profile.parse().map_err(err)?;
    let options = options(scale, seed, existing)?;
    let mut seeder = PgSeeder::new(url);
    if let Some(p) = crate::convert::progress(progress) {
        seeder = seeder.progress(p);
    }
    block_on(
        py,
        async move { json(&seeder.seed(profile, &options).await?) },
    )
}

/// Like `seed`; awaitable.
#[pyfunction]
#[pyo3(signature = (url, profile, *, scale=1, seed=42, existing="refuse"))]
fn seed_async<'py>(
    py: Python<'py>,
    url: &str,
    profile: &str,
    scale: u64,
    seed: u64,
    existing: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let url = DatabaseUrl::parse(url).map_err(err)?;
    let profile: Profile = profile.parse().map_err(err)?;
    let options = options(scale, seed, existing)?;
    into_awaitable(py, async move {
        json(&PgSeeder::new(url).seed(profile, &options).await?)
    })
}

/// Runs a seed SQL file in one transaction.
#[pyfunction]
fn seed_file(py: Python<'_>, url: &str, path: std::path::PathBuf) -> PyResult<Py<PyAny>> {
    let url = DatabaseUrl::parse(url).map_err(err)?;
    block_on(py, async move { json(&run_sql_file(&url, &path).await?) })
}

/// Drops, recreates, migrates (from `source`) and optionally seeds the database at `url`.
#[pyfunction]
#[pyo3(signature = (url, source, *, seed=None, force=false))]
fn reset(
    py: Python<'_>,
    url: &str,
    source: &str,
    seed: Option<String>,
    force: bool,
) -> PyResult<Py<PyAny>> {
    let url = DatabaseUrl::parse(url).map_err(err)?;
    let source = MigrationSource::from_dir(source).map_err(err)?;
    let options = ResetOptions {
        force,
        seed: seed.as_deref().map(str::parse).transpose().map_err(err)?,
        ..ResetOptions::default()
    };
    block_on(
        py,
        async move { json(&reset_db(&url, source, &options).await?) },
    )
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(seed, m)?)?;
    m.add_function(wrap_pyfunction!(seed_async, m)?)?;
    m.add_function(wrap_pyfunction!(seed_file, m)?)?;
    m.add_function(wrap_pyfunction!(reset, m)?)
}
