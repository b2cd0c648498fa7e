//! `dbops.pitr`: WAL push/fetch, base backups, restores to a target, status, restore points, setup,
//! retention, each with an `_async` form. Exposed as `_dbops.pitr_*` and re-exported with short names
//! by `dbops/pitr.py`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dbops::DatabaseUrl;
use dbops::backup::{Decryption, Encryption};
use dbops::config::{TimeUnit, duration_from};
use dbops::pitr::{self, PitrOptions, RecoveryOptions, RecoveryTarget};
use pyo3::prelude::*;

use crate::backup::open_store;
use crate::convert::to_py_attached as json;
use crate::errors::to_py as err;
use crate::runtime::operation;

fn options(
    recipients: Option<Vec<String>>,
    passphrase: Option<String>,
    identity: Option<String>,
    deadline: f64,
) -> PyResult<PitrOptions> {
    let mut decryption = Decryption::none();
    if let Some(text) = identity {
        decryption = decryption.with_identity_text(&text).map_err(err)?;
    }
    if let Some(p) = &passphrase {
        decryption = decryption.with_passphrase(p.clone());
    }
    Ok(PitrOptions::default()
        .with_encryption(
            Encryption::choose(recipients.unwrap_or_default(), passphrase).map_err(err)?,
        )
        .with_decryption(decryption)
        .with_deadline(duration_from("deadline", deadline, TimeUnit::Seconds).map_err(err)?))
}

operation! {
    /// Archives one WAL file (what archive_command does); returns the `PushReport`.
    #[pyo3(signature = (store, path, *, recipients=None, passphrase=None, identity=None, deadline=60.0, store_options=None))]
    fn pitr_push / pitr_push_async(
        py,
        store: &str,
        path: PathBuf,
        recipients: Option<Vec<String>>,
        passphrase: Option<String>,
        identity: Option<String>,
        deadline: f64,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Py<PyAny> {
        let store = open_store(store, store_options)?;
        let options = options(recipients, passphrase, identity, deadline)?;
        async move { json(&pitr::push(&store, &path, &options).await?) }
    }
}

operation! {
    /// Restores one WAL file into `dest` (what restore_command does); returns the `FetchReport`
    /// (`found` is False at the end of the archive).
    #[pyo3(signature = (store, name, dest, *, identity=None, passphrase=None, deadline=60.0, store_options=None))]
    fn pitr_fetch / pitr_fetch_async(
        py,
        store: &str,
        name: String,
        dest: PathBuf,
        identity: Option<String>,
        passphrase: Option<String>,
        deadline: f64,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Py<PyAny> {
        let store = open_store(store, store_options)?;
        let options = options(None, passphrase, identity, deadline)?;
        async move { json(&pitr::fetch(&store, &name, &dest, &options).await?) }
    }
}

operation! {
    /// Takes a base backup of the cluster at `url` into `store`; returns its manifest (`BaseBackup`).
    /// `incremental`: only the blocks changed since the newest base backup of this cluster
    /// (PostgreSQL 17+); `full_if_unsupported`: a full one on older servers instead of an error.
    #[pyo3(signature = (url, store, *, recipients=None, passphrase=None, store_options=None, incremental=false, full_if_unsupported=false))]
    fn pitr_base_backup / pitr_base_backup_async(
        py,
        url: &str,
        store: &str,
        recipients: Option<Vec<String>>,
        passphrase: Option<String>,
        store_options: Option<BTreeMap<String, String>>,
        incremental: bool,
        full_if_unsupported: bool,
    ) -> Py<PyAny> {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let store = open_store(store, store_options)?;
        let options = options(recipients, passphrase, None, 60.0)?;
        let kind = pitr::BaseBackupOptions::default()
            .with_incremental(incremental)
            .with_full_if_unsupported(full_if_unsupported);
        async move { json(&pitr::base_backup_with(&url, &store, &options, &kind).await?) }
    }
}

operation! {
    /// Restores the right base backup into `data_dir` (empty or absent; with `delta`, an existing
    /// stopped data directory, of which only what differs is rewritten) and configures replay to one
    /// target (`target_time`, `restore_point`, `xid`, `lsn`; none means the end of the archive);
    /// returns the `RecoveryReport`.
    #[pyo3(signature = (store, data_dir, *, target_time=None, restore_point=None, xid=None, lsn=None, base_backup=None, dbops_program=None, identity=None, passphrase=None, store_options=None, delta=false))]
    fn pitr_restore / pitr_restore_async(
        py,
        store: &str,
        data_dir: PathBuf,
        target_time: Option<String>,
        restore_point: Option<String>,
        xid: Option<String>,
        lsn: Option<String>,
        base_backup: Option<String>,
        dbops_program: Option<PathBuf>,
        identity: Option<String>,
        passphrase: Option<String>,
        store_options: Option<BTreeMap<String, String>>,
        delta: bool,
    ) -> Py<PyAny> {
        let target =
            RecoveryTarget::choose(target_time.as_deref(), restore_point, xid, lsn).map_err(err)?;
        let non_secret: Vec<(String, String)> = store_options
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let recovery = RecoveryOptions::default()
            .with_target(target)
            .with_base_backup(base_backup)
            .with_delta(delta)
            .with_dbops_program(dbops_program)
            .with_store_url(store.to_string())
            .with_store_options(non_secret);
        let store = open_store(store, store_options)?;
        let options = options(None, passphrase, identity, 60.0)?;
        async move { json(&pitr::prepare(&store, &data_dir, &recovery, &options).await?) }
    }
}

operation! {
    /// Reads the base backup `base_backup` (default: the newest) and every backup it is incremental
    /// on back from `store` and checks each object's sha256; returns a `VerifiedBaseBackup` per
    /// member, full backup first. Raises `IntegrityError` naming a corrupt or missing member.
    #[pyo3(signature = (store, *, base_backup=None, store_options=None))]
    fn pitr_verify / pitr_verify_async(
        py,
        store: &str,
        base_backup: Option<String>,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Py<PyAny> {
        let store = open_store(store, store_options)?;
        async move { json(&pitr::verify_chain(&store, base_backup.as_deref()).await?) }
    }
}

operation! {
    /// Archive contents per timeline, gaps, base backups, recovery window; with `url`, the archiver
    /// too. Returns the `PitrStatus`.
    #[pyo3(signature = (store, url=None, *, store_options=None))]
    fn pitr_status / pitr_status_async(
        py,
        store: &str,
        url: Option<String>,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Py<PyAny> {
        let store = open_store(store, store_options)?;
        let url = url
            .as_deref()
            .map(DatabaseUrl::parse)
            .transpose()
            .map_err(err)?;
        async move { json(&pitr::status(&store, url.as_ref()).await?) }
    }
}

operation! {
    /// Creates a named restore point and switches WAL; returns its LSN.
    #[pyo3(signature = (url, name))]
    fn pitr_restore_point / pitr_restore_point_async(py, url: &str, name: String) -> String {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        async move { pitr::create_restore_point(&url, &name).await }
    }
}

/// The `archive_command` / `restore_command` builder of the core from Python's keyword arguments.
#[allow(clippy::too_many_arguments)]
fn wal_commands(
    store: &str,
    store_options: Option<BTreeMap<String, String>>,
    recipients: Option<Vec<String>>,
    passphrase_env: Option<String>,
    identity_file: Option<PathBuf>,
    level: Option<i32>,
    deadline: Option<f64>,
    dbops_program: Option<PathBuf>,
) -> PyResult<pitr::WalCommands> {
    let mut commands = pitr::WalCommands::new(store)
        .store_options(store_options.unwrap_or_default())
        .recipients(recipients.unwrap_or_default());
    if let Some(var) = passphrase_env {
        commands = commands.passphrase_env(var);
    }
    if let Some(path) = identity_file {
        commands = commands.identity_file(path);
    }
    if let Some(level) = level {
        commands = commands.level(level);
    }
    if let Some(seconds) = deadline {
        commands =
            commands.deadline(duration_from("deadline", seconds, TimeUnit::Seconds).map_err(err)?);
    }
    if let Some(program) = dbops_program {
        commands = commands.program(program);
    }
    Ok(commands)
}

/// The `archive_command` that archives into `store` with `dbops wal push`: every argument quoted for
/// `/bin/sh`, `%` doubled, credentials refused, encryption (`recipients` or the name of the server's
/// `passphrase_env` variable) included.
#[pyfunction]
#[pyo3(signature = (store, *, store_options=None, recipients=None, passphrase_env=None, level=None, deadline=None, dbops_program=None))]
#[allow(clippy::too_many_arguments)]
fn pitr_archive_command(
    store: &str,
    store_options: Option<BTreeMap<String, String>>,
    recipients: Option<Vec<String>>,
    passphrase_env: Option<String>,
    level: Option<i32>,
    deadline: Option<f64>,
    dbops_program: Option<PathBuf>,
) -> PyResult<String> {
    crate::runtime::guard("building archive_command", || {
        wal_commands(
            store,
            store_options,
            recipients,
            passphrase_env,
            None,
            level,
            deadline,
            dbops_program,
        )?
        .archive_command()
        .map_err(err)
    })
}

/// The `restore_command` that fetches from `store` with `dbops wal fetch` (decrypting with the server's
/// `identity_file` or `passphrase_env` variable), quoted like `pitr_archive_command`.
#[pyfunction]
#[pyo3(signature = (store, *, store_options=None, identity_file=None, passphrase_env=None, deadline=None, dbops_program=None))]
fn pitr_restore_command(
    store: &str,
    store_options: Option<BTreeMap<String, String>>,
    identity_file: Option<PathBuf>,
    passphrase_env: Option<String>,
    deadline: Option<f64>,
    dbops_program: Option<PathBuf>,
) -> PyResult<String> {
    crate::runtime::guard("building restore_command", || {
        wal_commands(
            store,
            store_options,
            None,
            passphrase_env,
            identity_file,
            None,
            deadline,
            dbops_program,
        )?
        .restore_command()
        .map_err(err)
    })
}

operation! {
    /// Compares (and with `apply=True` sets) the archiving settings for archiving into `store`; the
    /// archive_command is built like `pitr_archive_command`. Returns one `SetupItem` each (plus the
    /// server's environment variable when `passphrase_env` is given).
    #[pyo3(signature = (url, store, *, store_options=None, recipients=None, passphrase_env=None, level=None, deadline=None, dbops_program=None, archive_timeout="60s", apply=false))]
    fn pitr_setup / pitr_setup_async(
        py,
        url: &str,
        store: &str,
        store_options: Option<BTreeMap<String, String>>,
        recipients: Option<Vec<String>>,
        passphrase_env: Option<String>,
        level: Option<i32>,
        deadline: Option<f64>,
        dbops_program: Option<PathBuf>,
        archive_timeout: &str,
        apply: bool,
    ) -> Py<PyAny> {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let commands = wal_commands(
            store, store_options, recipients, passphrase_env, None, level, deadline, dbops_program,
        )?;
        let timeout = archive_timeout.to_string();
        async move { json(&pitr::setup(&url, &commands, &timeout, apply).await?) }
    }
}

operation! {
    /// Keeps the newest `keep` base backups and the WAL they need; deletes only with `apply=True`.
    /// Returns the `PitrRetentionPlan`.
    #[pyo3(signature = (store, keep, *, apply=false, store_options=None))]
    fn pitr_prune / pitr_prune_async(
        py,
        store: &str,
        keep: usize,
        apply: bool,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Py<PyAny> {
        let store = open_store(store, store_options)?;
        async move { json(&pitr::retention(&store, keep, apply).await?) }
    }
}

operation! {
    /// Waits until the server at `url` has been promoted after recovery.
    #[pyo3(signature = (url, timeout=600.0))]
    fn pitr_wait_for_promotion / pitr_wait_for_promotion_async(py, url: &str, timeout: f64) -> () {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let timeout = duration_from("timeout", timeout, TimeUnit::Seconds).map_err(err)?;
        async move { pitr::wait_for_promotion(&url, timeout).await }
    }
}

operation! {
    /// Downloads the `count` segments after `after` into the prefetch directory next to `dest` (what
    /// `dbops wal fetch` starts in the background), unless another prefetch runs for that directory.
    /// Returns how many were fetched, or None when another prefetch holds the lock.
    #[pyo3(signature = (store, after, dest, *, count=8, parallel=4, identity=None, passphrase=None, store_options=None))]
    fn pitr_prefetch / pitr_prefetch_async(
        py,
        store: &str,
        after: String,
        dest: PathBuf,
        count: u32,
        parallel: usize,
        identity: Option<String>,
        passphrase: Option<String>,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Option<usize> {
        let store = open_store(store, store_options)?;
        let options = options(None, passphrase, identity, 60.0)?;
        async move { pitr::prefetch_once(&store, &after, &dest, count, parallel, &options).await }
    }
}

operation! {
    /// Starts a restored data directory (from `restore`) as a detached embedded cluster named `name`
    /// on a free TCP port, waits until it has replayed to its target and promoted, and returns its URL.
    /// It outlives this process: `dbops cluster stop --name NAME` stops it.
    #[pyo3(signature = (data_dir, *, name="pitr", timeout=600.0))]
    fn pitr_start_restored / pitr_start_restored_async(
        py,
        data_dir: PathBuf,
        name: &str,
        timeout: f64,
    ) -> String {
        let timeout = duration_from("timeout", timeout, TimeUnit::Seconds).map_err(err)?;
        let name = name.to_string();
        async move {
            let (_, url) = pitr::start_restored(&data_dir, &name, timeout).await?;
            Ok(url.expose())
        }
    }
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(pitr_prefetch, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_prefetch_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_start_restored, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_start_restored_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_push, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_push_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_fetch, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_fetch_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_base_backup, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_base_backup_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_restore, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_restore_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_verify, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_verify_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_status, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_status_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_restore_point, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_restore_point_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_setup, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_archive_command, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_restore_command, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_setup_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_prune, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_prune_async, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_wait_for_promotion, m)?)?;
    m.add_function(wrap_pyfunction!(pitr_wait_for_promotion_async, m)?)
}
