//! `dbops.seed`, `dbops.seed_file`, `dbops.reset` (each with an `_async` form).

use dbops::db::{ResetOptions, reset as reset_db};
use dbops::seed::{Existing, Profile, ReferenceSeed, SeedOptions, Seeder as _, run_sql_file};
use dbops::{DatabaseUrl, MigrationSource};
use pyo3::prelude::*;

use crate::convert::{attached_as, to_py_attached as json};
use crate::errors::to_py as err;
use crate::runtime::operation;

fn options(scale: u64, seed: u64, existing: &str, analyze: bool) -> PyResult<SeedOptions> {
    Ok(SeedOptions::default()
        .with_scale(scale)
        .with_seed(seed)
        .with_existing(existing.parse::<Existing>().map_err(err)?)
        .with_analyze(analyze))
}

operation! {
    /// Seeds a profile of the reference ride-hailing data into the migrated database at ``url``.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     profile: ``light``, ``medium`` or ``heavy``.
    ///     scale: multiplies the profile's row counts.
    ///     seed: the random seed (the same seed gives the same data).
    ///     existing: ``refuse`` (default), ``append`` or ``truncate`` when data exists.
    ///     analyze: ANALYZE the seeded tables.
    ///     progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
    ///         unknown).
    ///
    /// Returns:
    ///     SeedReport: rows per table and the time taken.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     RefusedError: the database already has data and ``existing`` is ``refuse``.
    ///     KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
    #[pyo3(signature = (url, profile, *, scale=1, seed=42, existing="refuse", analyze=true, progress=None))]
    fn seed / seed_async(
        py,
        url: &str,
        profile: &str,
        scale: u64,
        seed: u64,
        existing: &str,
        analyze: bool,
        progress: Option<Py<PyAny>>,
    ) -> Py<PyAny> {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let profile: Profile = profile.parse().map_err(err)?;
        let seeder = ReferenceSeed {
            profile,
            options: options(scale, seed, existing, analyze)?
                .with_progress(crate::convert::progress(progress)),
        };
        async move { json(&seeder.seed(&url).await?) }
    }
}

operation! {
    /// Runs a seed SQL file in one transaction (nothing is kept when a statement fails).
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     path: the SQL file (the error of a failing statement names its line).
    ///
    /// Returns:
    ///     SeedFileReport: statements run and the time taken.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     DbopsIOError: a local file or directory could not be read or written.
    #[pyo3(signature = (url, path))]
    fn seed_file / seed_file_async(py, url: &str, path: std::path::PathBuf) -> Py<PyAny> {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        async move { attached_as(&run_sql_file(&url, &path).await?, "SeedFileReport") }
    }
}

operation! {
    /// Drops and recreates the database at ``url`` (terminating its sessions), migrates it from
    /// ``source`` and optionally seeds it, like the old ``make db-reset``.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     source: the migrations directory.
    ///     seed: a profile to seed afterwards (``light``, ``medium``, ``heavy``).
    ///     force: reset even a database that looks like production.
    ///
    /// Returns:
    ///     ResetReport: what was dropped, the migrations applied and the seed's report.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     MigrationError: a migration failed (file, line and statement in the message; nothing of it
    ///         applied unless it runs outside a transaction).
    ///     RefusedError: the database looks like production (its name or host, or the server says so)
    ///         and ``force`` is not set.
    #[pyo3(signature = (url, source, *, seed=None, force=false))]
    fn reset / reset_async(
        py,
        url: &str,
        source: &str,
        seed: Option<String>,
        force: bool,
    ) -> Py<PyAny> {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let source = MigrationSource::from_dir(source).map_err(err)?;
        let options = ResetOptions::default()
            .with_force(force)
            .with_seed(seed.as_deref().map(str::parse).transpose().map_err(err)?);
        async move { json(&reset_db(&url, source, &options).await?) }
    }
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(seed, m)?)?;
    m.add_function(wrap_pyfunction!(seed_async, m)?)?;
    m.add_function(wrap_pyfunction!(seed_file, m)?)?;
    m.add_function(wrap_pyfunction!(seed_file_async, m)?)?;
    m.add_function(wrap_pyfunction!(reset, m)?)?;
    m.add_function(wrap_pyfunction!(reset_async, m)?)
}
