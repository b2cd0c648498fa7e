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
    /// Archives one WAL file into ``store`` (what ``archive_command`` runs); idempotent: an identical
    /// copy already stored is success.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     path: the WAL file (``%p``).
    ///     recipients: age recipients (``age1...``) to encrypt to.
    ///     passphrase: the passphrase of passphrase-encrypted data.
    ///     identity: an identity to compare an encrypted existing copy with.
    ///     deadline: seconds before giving up (the archiver retries).
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     PushReport: the key, sizes and whether it was already stored.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     DbopsIOError: a local file or directory could not be read or written.
    ///     OperationTimeout: it did not finish in time.
    ///     IntegrityError: a different file is already stored under that name.
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
    /// Restores one WAL file from ``store`` into ``dest`` (what ``restore_command`` runs).
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     name: the WAL file's name (``%f``).
    ///     dest: where to write it (``%p``).
    ///     identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
    ///     passphrase: the passphrase of passphrase-encrypted data.
    ///     deadline: seconds before giving up.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     FetchReport: ``found`` (False at the end of the archive, which ends recovery) and the sizes.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     DbopsIOError: a local file or directory could not be read or written.
    ///     OperationTimeout: it did not finish in time.
    ///     IntegrityError: stored data does not match its manifest or checksums.
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
    /// Takes a base backup of the cluster at ``url`` into ``store``.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     recipients: age recipients (``age1...``) to encrypt to.
    ///     passphrase: the passphrase of passphrase-encrypted data.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///     incremental: only the blocks changed since the newest base backup of this cluster
    ///         (PostgreSQL 17 and later).
    ///     full_if_unsupported: take a full backup on servers before 17 instead of raising.
    ///
    /// Returns:
    ///     BaseBackup: its manifest (id, start and end LSN, timeline, size, ``parent`` for an
    ///         incremental).
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
    ///         ...) failed; its message has the program's last lines.
    ///     RefusedError: an incremental on a server before 17, or with ``summarize_wal`` off.
    ///     KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
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
    /// Restores the base backup (or chain of incrementals) that fits the target into ``data_dir`` and
    /// configures replay to the target; every WAL segment needed is checked to be archived first.
    ///
    /// None of ``target_time``, ``restore_point``, ``xid`` and ``lsn`` means the end of the archive.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     data_dir: an empty or absent directory; with ``delta``, an existing stopped data directory.
    ///     target_time: replay to this time.
    ///     restore_point: replay to this named restore point.
    ///     xid: replay to this transaction id.
    ///     lsn: replay to this WAL position.
    ///     base_backup: use this base backup (default: the newest usable before the target).
    ///     dbops_program: the dbops binary the server's ``restore_command`` runs (default: this one).
    ///     identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
    ///     passphrase: the passphrase of passphrase-encrypted data.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///     delta: rewrite only the files whose contents differ from the backup and remove extra ones.
    ///
    /// Returns:
    ///     RecoveryReport: the backups used, the target, how the files were verified and the next step
    ///         (start the server, or ``start_restored``).
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     IntegrityError: stored data does not match its manifest or checksums.
    ///     ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
    ///         ...) failed; its message has the program's last lines.
    ///     DbopsIOError: a local file or directory could not be read or written.
    ///     RefusedError: ``data_dir`` is not empty (without ``delta``) or a server runs in it.
    ///     BackupNotFoundError: no base backup precedes the target.
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
    /// Reads a base backup and every backup it is incremental on back from ``store`` and checks each
    /// object's sha256.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     base_backup: the base backup's id (default: the newest).
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     list[VerifiedBaseBackup]: one per member of the chain, the full backup first.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     IntegrityError: a member is missing or corrupt (the message names it).
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
    /// Reports the archive: segments per timeline, gaps, base backups and chains, the recovery window;
    /// with ``url``, the server's archiver too.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     url: a server whose archiver state is added (optional).
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     PitrStatus: the timelines, base backups, problems and the window a restore can reach.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
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
    /// Creates a named restore point on the server and switches WAL, so the point is archived at once.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     name: the restore point's name (``--restore-point`` of a later restore).
    ///
    /// Returns:
    ///     str: the restore point's LSN.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
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

/// Builds the ``archive_command`` that archives into ``store`` with ``dbops wal push``: every
/// argument quoted for ``/bin/sh``, ``%`` doubled, encryption included.
///
/// Args:
///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
///     store_options: the store client's settings (keys of the object store builders, e.g.
///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
///         variables, never from here.
///     recipients: age recipients (``age1...``) to encrypt to.
///     passphrase_env: the name of the server's environment variable holding a passphrase.
///     level: the compression level.
///     deadline: seconds each push may take.
///     dbops_program: the dbops binary the server runs (default: this one).
///
/// Returns:
///     str: the command for ``postgresql.conf``.
///
/// Raises:
///     ConfigError: credentials in the store URL or options (they belong in the server's
///         environment), or an invalid option.
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

/// Builds the ``restore_command`` that fetches from ``store`` with ``dbops wal fetch``, quoted like
/// ``pitr_archive_command``.
///
/// Args:
///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
///     store_options: the store client's settings (keys of the object store builders, e.g.
///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
///         variables, never from here.
///     identity_file: the server's file of age identities.
///     passphrase_env: the name of the server's environment variable holding a passphrase.
///     deadline: seconds each fetch may take.
///     dbops_program: the dbops binary the server runs (default: this one).
///
/// Returns:
///     str: the command for the restored server's configuration.
///
/// Raises:
///     ConfigError: credentials in the store URL or options, or an invalid option.
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
    /// Compares, and with ``apply=True`` sets (``ALTER SYSTEM`` and a reload), the server's settings
    /// for archiving into ``store``: ``wal_level``, ``archive_mode``, ``archive_command``,
    /// ``archive_timeout`` (and ``summarize_wal`` on 17 and later).
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///     recipients: age recipients (``age1...``) to encrypt to.
    ///     passphrase_env: the name of the server's environment variable holding a passphrase.
    ///     level: the compression level.
    ///     deadline: seconds each push may take.
    ///     dbops_program: the dbops binary the server runs (default: this one).
    ///     archive_timeout: the longest time before a segment is archived.
    ///     apply: change the settings; without it, only compare.
    ///
    /// Returns:
    ///     list[SetupItem]: each setting, its current and wanted value and whether a restart is needed.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     RefusedError: ``apply`` with a passphrase variable the server does not have.
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
    /// Keeps the newest ``keep`` base backups (with every backup they are built on) and the WAL they
    /// need; deletes the rest only with ``apply=True``.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     keep: base backups to keep (at least 1).
    ///     apply: delete; without it, only the plan.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     PitrRetentionPlan: what is kept and deleted.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
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
    /// Waits until the server at ``url`` has finished recovery and been promoted.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     timeout: seconds to wait at most.
    ///
    /// Returns:
    ///     None.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     OperationTimeout: it did not finish in time.
    #[pyo3(signature = (url, timeout=600.0))]
    fn pitr_wait_for_promotion / pitr_wait_for_promotion_async(py, url: &str, timeout: f64) -> () {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let timeout = duration_from("timeout", timeout, TimeUnit::Seconds).map_err(err)?;
        async move { pitr::wait_for_promotion(&url, timeout).await }
    }
}

operation! {
    /// Downloads the ``count`` segments after ``after`` into the prefetch directory next to ``dest``
    /// (what ``dbops wal fetch`` starts in the background), unless another prefetch runs for that
    /// directory.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     after: the segment name after which to start.
    ///     dest: the server's ``%p`` of that segment.
    ///     count: segments to fetch.
    ///     parallel: downloads at once.
    ///     identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
    ///     passphrase: the passphrase of passphrase-encrypted data.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     int | None: how many were fetched, or None when another prefetch holds the lock.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     DbopsIOError: a local file or directory could not be read or written.
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
    /// Starts a restored data directory (from ``restore``) as a detached embedded cluster on a free TCP
    /// port, waits until it has replayed to its target and promoted, and returns its URL. It outlives
    /// this process: ``dbops cluster stop --name NAME`` stops it.
    ///
    /// Args:
    ///     data_dir: the restored data directory.
    ///     name: the cluster's name for ``dbops cluster``.
    ///     timeout: seconds to wait for promotion.
    ///
    /// Returns:
    ///     str: the promoted server's URL.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
    ///         ...) failed; its message has the program's last lines.
    ///     OperationTimeout: it did not finish in time.
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
