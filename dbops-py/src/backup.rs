//! `dbops.backup`, `dbops.restore`, `dbops.validate_backup`, `dbops.restore_test`, `dbops.list_backups`,
//! `dbops.apply_retention`, `dbops.generate_key_pair` (each with an `_async` form where it does I/O).

use dbops::BackupCatalog;
use std::collections::BTreeMap;

use dbops::backup::{
    Backup, BackupOptions, BackupSelector, Compression, Decryption, DumpFormat, Encryption,
    RetentionPolicy, apply_retention as retention, generate_key_pair as keygen,
};
use dbops::restore::{
    PgRestorer, RestoreOptions, RestoreTarget, Restorer as _, restore_test as drill,
};
use dbops::{DatabaseUrl, ObjectBackupStore, StoreOptions};
use pyo3::prelude::*;

use crate::convert::to_py_attached as json;
use crate::errors::to_py as err;
use crate::runtime::operation;

pub(crate) fn open_store(
    url: &str,
    options: Option<BTreeMap<String, String>>,
) -> PyResult<ObjectBackupStore> {
    let options = StoreOptions::default().with_options(options.unwrap_or_default());
    ObjectBackupStore::open_with(url, &options).map_err(err)
}

pub(crate) fn decryption(
    identity: Option<String>,
    identity_file: Option<std::path::PathBuf>,
    passphrase: Option<String>,
) -> PyResult<Decryption> {
    let mut keys = Decryption::none();
    if let Some(text) = identity {
        keys = keys.with_identity_text(&text).map_err(err)?;
    }
    if let Some(path) = identity_file {
        keys = keys.with_identity_file(&path).map_err(err)?;
    }
    if let Some(p) = passphrase {
        keys = keys.with_passphrase(p);
    }
    Ok(keys)
}

fn selector(
    backup_id: Option<String>,
    before: Option<String>,
    key: Option<String>,
) -> PyResult<BackupSelector> {
    BackupSelector::choose(backup_id, before.as_deref(), key).map_err(err)
}

/// Everything `backup` and `backup_async` take.
#[allow(clippy::too_many_arguments)]
fn backup_job(
    url: &str,
    store: &str,
    format: Option<&str>,
    jobs: Option<usize>,
    compression: &str,
    level: Option<i32>,
    threads: u32,
    copy_format: &str,
    statistics: bool,
    recipients: Option<Vec<String>>,
    passphrase: Option<String>,
    globals: bool,
    row_counts: bool,
    labels: Option<BTreeMap<String, String>>,
    store_options: Option<BTreeMap<String, String>>,
    progress: Option<Py<PyAny>>,
    mask: crate::mask::MaskArgs,
) -> PyResult<Backup> {
    let url = DatabaseUrl::parse(url).map_err(err)?;
    let store = open_store(store, store_options)?;
    let encryption = Encryption::choose(recipients.unwrap_or_default(), passphrase).map_err(err)?;
    let options = BackupOptions::default()
        .with_format(
            format
                .map(str::parse::<DumpFormat>)
                .transpose()
                .map_err(err)?
                .unwrap_or_default(),
        )
        .with_jobs(jobs)
        .with_compression(compression.parse::<Compression>().map_err(err)?)
        .with_compression_level(level)
        .with_compression_threads(threads)
        .with_copy_format(copy_format.parse().map_err(err)?)
        .with_statistics(statistics)
        .with_encryption(encryption)
        .with_globals(globals)
        .with_row_counts(row_counts)
        .with_labels(labels.unwrap_or_default())
        .with_progress(crate::convert::progress(progress))
        .with_mask(mask.masking()?);
    Ok(Backup::new(url, store, options))
}

operation! {
    /// Backs up the database at ``url`` into ``store``.
    ///
    /// Nothing is published unless the whole backup is stored: a failed or interrupted backup leaves no
    /// manifest and removes its objects.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     format: ``tables`` (default: the tables dumped and restored in parallel), ``custom`` (one
    ///         ``pg_dump -Fc`` archive) or ``plain`` (SQL).
    ///     jobs: connections dumping tables at once (default: the library's, 4).
    ///     compression: ``zstd`` (default), ``gzip``, ``lz4`` or ``none``.
    ///     level: the compression level (default: the codec's).
    ///     threads: compression threads (0: the codec's default).
    ///     copy_format: ``binary`` (default: faster restores; columns of other types stay text) or
    ///         ``text``.
    ///     statistics: carry the planner statistics of a PostgreSQL 18 or newer server, so a restore
    ///         into 18 or newer needs no ANALYZE.
    ///     recipients: age recipients (``age1...``) to encrypt to.
    ///     passphrase: encrypt with this passphrase instead of recipients.
    ///     globals: also store roles and tablespaces (``pg_dumpall --globals-only``).
    ///     row_counts: record every table's row count in the manifest (a restore compares them).
    ///     labels: free key/value labels stored in the manifest.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///     progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
    ///         unknown).
    ///     mask: a masking rules file (TOML): personal data is masked on the way.
    ///     mask_key_env: the environment variable holding the masking key (default: the rules'
    ///         ``key_env``, else ``DBOPS_MASK_KEY``).
    ///     mask_key: the masking key itself (instead of an environment variable).
    ///     allow_unmasked: ``table.column`` names that may stay unmasked although they look personal.
    ///
    /// Returns:
    ///     BackupReport: the published manifest (``manifest.id``, sizes, tables), the store and the
    ///         time taken.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
    ///         ...) failed; its message has the program's last lines.
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     RefusedError: another backup of the database holds the store lock, or masking rules do not
    ///         cover a personal column.
    ///     KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
    #[pyo3(signature = (url, store, *, format=None, jobs=None, compression="zstd", level=None, threads=0, copy_format="binary", statistics=true, recipients=None, passphrase=None, globals=false, row_counts=true, labels=None, store_options=None, progress=None, mask=None, mask_key_env=None, mask_key=None, allow_unmasked=None))]
    fn backup / backup_async(
        py,
        url: &str,
        store: &str,
        format: Option<&str>,
        jobs: Option<usize>,
        compression: &str,
        level: Option<i32>,
        threads: u32,
        copy_format: &str,
        statistics: bool,
        recipients: Option<Vec<String>>,
        passphrase: Option<String>,
        globals: bool,
        row_counts: bool,
        labels: Option<BTreeMap<String, String>>,
        store_options: Option<BTreeMap<String, String>>,
        progress: Option<Py<PyAny>>,
        mask: Option<std::path::PathBuf>,
        mask_key_env: Option<String>,
        mask_key: Option<String>,
        allow_unmasked: Option<Vec<String>>,
    ) -> Py<PyAny> {
        let job = backup_job(
            url,
            store,
            format,
            jobs,
            compression,
            level,
            threads,
            copy_format,
            statistics,
            recipients,
            passphrase,
            globals,
            row_counts,
            labels,
            store_options,
            progress,
            crate::mask::MaskArgs {
                rules: mask,
                key_env: mask_key_env,
                key: mask_key,
                allow_unmasked,
            },
        )?;
        async move { json(&job.run().await?) }
    }
}

#[allow(clippy::too_many_arguments)]
fn restore_job(
    url: &str,
    store: &str,
    backup_id: Option<String>,
    before: Option<String>,
    key: Option<String>,
    from_database: Option<String>,
    into: Option<String>,
    create: bool,
    clean: bool,
    no_owner: bool,
    no_acl: bool,
    jobs: Option<u32>,
    analyze: bool,
    identity: Option<String>,
    identity_file: Option<std::path::PathBuf>,
    passphrase: Option<String>,
    check_row_counts: bool,
    store_options: Option<BTreeMap<String, String>>,
    progress: Option<Py<PyAny>>,
    mask: crate::mask::MaskArgs,
    subset: Option<Vec<String>>,
) -> PyResult<(PgRestorer, RestoreOptions)> {
    let url = DatabaseUrl::parse(url).map_err(err)?;
    let store = open_store(store, store_options)?;
    let target = RestoreTarget::choose(into, create).map_err(err)?;
    let options = RestoreOptions::default()
        .with_selector(selector(backup_id, before, key)?)
        .with_source_database(from_database)
        .with_target(target)
        .with_clean(clean)
        .with_no_owner(no_owner)
        .with_no_acl(no_acl)
        .with_jobs(jobs)
        .with_analyze(analyze)
        .with_decryption(decryption(identity, identity_file, passphrase)?)
        .with_check_row_counts(check_row_counts)
        .with_progress(crate::convert::progress(progress))
        .with_mask(mask.masking()?)
        .with_subset(crate::mask::subset_rules(subset)?);
    Ok((PgRestorer::new(url, store), options))
}

operation! {
    /// Restores a backup from ``store`` into the server at ``url``: by default the newest backup of the
    /// database ``url`` names, over that database.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     backup_id: the backup's id (default: the newest).
    ///     before: the newest backup taken before this time (``YYYY-MM-DD HH:MM:SS``, UTC, or RFC
    ///         3339).
    ///     key: a backup by its object key (also the old scripts' ``backup_*.sql.gz`` files).
    ///     from_database: the database whose backups to choose from (default: the one ``url`` names).
    ///     into: restore into this database instead of the one ``url`` names.
    ///     create: create ``into`` first (it must not exist); on failure it is dropped again.
    ///     clean: drop the target's existing objects first.
    ///     no_owner: do not restore object ownership.
    ///     no_acl: do not restore privileges.
    ///     jobs: tables loaded at once (default: the library's).
    ///     analyze: run ANALYZE afterwards when the backup carries no statistics.
    ///     identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
    ///     identity_file: a file holding the age identities that decrypt.
    ///     passphrase: the passphrase of passphrase-encrypted data.
    ///     check_row_counts: compare every table's row count with the manifest and fail on a
    ///         difference.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///     progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
    ///         unknown).
    ///     mask: a masking rules file (TOML): personal data is masked on the way.
    ///     mask_key_env: the environment variable holding the masking key (default: the rules'
    ///         ``key_env``, else ``DBOPS_MASK_KEY``).
    ///     mask_key: the masking key itself (instead of an environment variable).
    ///     allow_unmasked: ``table.column`` names that may stay unmasked although they look personal.
    ///     subset: subset rules (``"rides: requested_at > now() - interval '30 days'"``): only those
    ///         rows and what they reference.
    ///
    /// Returns:
    ///     RestoreReport: the backup restored, into which database, the stages and their times, what
    ///         was masked.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     BackupNotFoundError: no backup matches what was asked for.
    ///     IntegrityError: stored data does not match its manifest or checksums.
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
    ///         ...) failed; its message has the program's last lines.
    ///     RefusedError: the target database exists and neither ``clean`` nor a new ``into`` was given,
    ///         or masking rules do not fit.
    ///     KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
    #[pyo3(signature = (url, store, *, backup_id=None, before=None, key=None, from_database=None, into=None, create=false, clean=false, no_owner=false, no_acl=false, jobs=None, analyze=true, identity=None, identity_file=None, passphrase=None, check_row_counts=true, store_options=None, progress=None, mask=None, mask_key_env=None, mask_key=None, allow_unmasked=None, subset=None))]
    fn restore / restore_async(
        py,
        url: &str,
        store: &str,
        backup_id: Option<String>,
        before: Option<String>,
        key: Option<String>,
        from_database: Option<String>,
        into: Option<String>,
        create: bool,
        clean: bool,
        no_owner: bool,
        no_acl: bool,
        jobs: Option<u32>,
        analyze: bool,
        identity: Option<String>,
        identity_file: Option<std::path::PathBuf>,
        passphrase: Option<String>,
        check_row_counts: bool,
        store_options: Option<BTreeMap<String, String>>,
        progress: Option<Py<PyAny>>,
        mask: Option<std::path::PathBuf>,
        mask_key_env: Option<String>,
        mask_key: Option<String>,
        allow_unmasked: Option<Vec<String>>,
        subset: Option<Vec<String>>,
    ) -> Py<PyAny> {
        let (restorer, options) = restore_job(
            url,
            store,
            backup_id,
            before,
            key,
            from_database,
            into,
            create,
            clean,
            no_owner,
            no_acl,
            jobs,
            analyze,
            identity,
            identity_file,
            passphrase,
            check_row_counts,
            store_options,
            progress,
            crate::mask::MaskArgs {
                rules: mask,
                key_env: mask_key_env,
                key: mask_key,
                allow_unmasked,
            },
            subset,
        )?;
        async move { json(&restorer.restore(&options).await?) }
    }
}

operation! {
    /// Downloads, decrypts, decompresses and checks a backup of ``database`` without touching any
    /// database: every object's hash against the manifest and the archive's table of contents.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     database: the database name the backups are of.
    ///     backup_id: the backup's id (default: the newest).
    ///     before: the newest backup taken before this time (``YYYY-MM-DD HH:MM:SS``, UTC, or RFC
    ///         3339).
    ///     key: a backup by its object key (also the old scripts' ``backup_*.sql.gz`` files).
    ///     identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
    ///     identity_file: a file holding the age identities that decrypt.
    ///     passphrase: the passphrase of passphrase-encrypted data.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///     progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
    ///         unknown).
    ///
    /// Returns:
    ///     ValidationReport: what was checked and the backup's manifest.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     BackupNotFoundError: no backup matches what was asked for.
    ///     IntegrityError: stored data does not match its manifest or checksums.
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
    ///         ...) failed; its message has the program's last lines.
    #[pyo3(signature = (store, database, *, backup_id=None, before=None, key=None, identity=None, identity_file=None, passphrase=None, store_options=None, progress=None))]
    fn validate_backup / validate_backup_async(
        py,
        store: &str,
        database: String,
        backup_id: Option<String>,
        before: Option<String>,
        key: Option<String>,
        identity: Option<String>,
        identity_file: Option<std::path::PathBuf>,
        passphrase: Option<String>,
        store_options: Option<BTreeMap<String, String>>,
        progress: Option<Py<PyAny>>,
    ) -> Py<PyAny> {
        let store = open_store(store, store_options)?;
        let which = selector(backup_id, before, key)?;
        let keys = decryption(identity, identity_file, passphrase)?;
        let options = dbops::restore::ValidateOptions::new(database, which, keys)
            .with_progress(crate::convert::progress(progress));
        async move {
            json(&dbops::restore::BackupValidator::new(store).validate(&options).await?)
        }
    }
}

operation! {
    /// Restores a backup of ``database`` into a throwaway database (on ``server``, else an embedded
    /// cluster of the backup's PostgreSQL major), checks it (row counts, ``pg_amcheck``) and records
    /// the result in the store, where ``backup_health`` finds it.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     database: the database name the backups are of.
    ///     backup_id: the backup's id (default: the newest).
    ///     server: a server URL to restore on (default: an embedded cluster).
    ///     identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
    ///     identity_file: a file holding the age identities that decrypt.
    ///     passphrase: the passphrase of passphrase-encrypted data.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     RestoreTestReport: the backup, the checks and their times.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     BackupNotFoundError: no backup matches what was asked for.
    ///     IntegrityError: stored data does not match its manifest or checksums.
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    ///     ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
    ///         ...) failed; its message has the program's last lines.
    #[pyo3(signature = (store, database, *, backup_id=None, server=None, identity=None, identity_file=None, passphrase=None, store_options=None))]
    fn restore_test / restore_test_async(
        py,
        store: &str,
        database: String,
        backup_id: Option<String>,
        server: Option<String>,
        identity: Option<String>,
        identity_file: Option<std::path::PathBuf>,
        passphrase: Option<String>,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Py<PyAny> {
        let store = open_store(store, store_options)?;
        let which = selector(backup_id, None, None)?;
        let keys = decryption(identity, identity_file, passphrase)?;
        let server = server
            .as_deref()
            .map(DatabaseUrl::parse)
            .transpose()
            .map_err(err)?;
        async move { json(&drill(&store, &database, &which, &keys, server.as_ref()).await?) }
    }
}

operation! {
    /// Lists the backups in ``store``.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     database: only this database's backups (default: all).
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     Catalog: the backups (newest first), problems (unreadable manifests) and orphans (objects
    ///         without a manifest).
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    #[pyo3(signature = (store, database=None, *, store_options=None))]
    fn list_backups / list_backups_async(
        py,
        store: &str,
        database: Option<String>,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Py<PyAny> {
        let store = open_store(store, store_options)?;
        async move { json(&store.catalog(database.as_deref()).await?) }
    }
}

operation! {
    /// Plans, and with ``apply=True`` carries out, retention for ``database``'s backups in ``store``: a
    /// backup is kept when any rule keeps it; the newest is always kept.
    ///
    /// Args:
    ///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
    ///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
    ///     database: the database name the backups are of.
    ///     keep_last: keep the newest N.
    ///     keep_within_days: keep every backup of the last N days.
    ///     keep_daily: keep the newest of each of the last N days.
    ///     keep_weekly: the newest of each of the last N weeks.
    ///     keep_monthly: the newest of each of the last N months.
    ///     keep_yearly: the newest of each of the last N years.
    ///     orphan_grace_hours: objects without a manifest older than this are removed (younger ones may
    ///         be a running backup).
    ///     apply: delete; without it, only the plan.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     RetentionPlan: the backups kept (with the rules that keep each), deleted and the orphans
    ///         removed.
    ///
    /// Raises:
    ///     ConfigError: no rule was given (it would plan the deletion of every backup) or an invalid
    ///         store URL.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    #[pyo3(signature = (store, database, *, keep_last=None, keep_within_days=None, keep_daily=None, keep_weekly=None, keep_monthly=None, keep_yearly=None, orphan_grace_hours=24, apply=false, store_options=None))]
    fn apply_retention / apply_retention_async(
        py,
        store: &str,
        database: String,
        keep_last: Option<usize>,
        keep_within_days: Option<u32>,
        keep_daily: Option<usize>,
        keep_weekly: Option<usize>,
        keep_monthly: Option<usize>,
        keep_yearly: Option<usize>,
        orphan_grace_hours: u32,
        apply: bool,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Py<PyAny> {
        let store = open_store(store, store_options)?;
        let policy = RetentionPolicy::default()
            .with_keep_last(keep_last)
            .with_keep_within_days(keep_within_days)
            .with_keep_daily(keep_daily)
            .with_keep_weekly(keep_weekly)
            .with_keep_monthly(keep_monthly)
            .with_keep_yearly(keep_yearly)
            .with_orphan_grace_hours(orphan_grace_hours);
        async move { json(&retention(&store, &database, &policy, apply).await?) }
    }
}

/// Generates a new age key pair for encrypted backups.
///
/// Returns:
///     KeyPair: ``recipient`` (``age1...``: give it to backup hosts) and ``identity``
///         (``AGE-SECRET-KEY-1...``: keep it offline; its repr hides it).
///
/// Raises:
///     InternalError: only on a bug in dbops.
#[pyfunction]
fn generate_key_pair(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let keys = crate::runtime::guard("generating a key pair", || Ok(keygen()))?;
    py.import("dbops.results")?
        .getattr("KeyPair")?
        .call1((keys.recipient, keys.identity))
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(backup, m)?)?;
    m.add_function(wrap_pyfunction!(backup_async, m)?)?;
    m.add_function(wrap_pyfunction!(restore, m)?)?;
    m.add_function(wrap_pyfunction!(restore_async, m)?)?;
    m.add_function(wrap_pyfunction!(validate_backup, m)?)?;
    m.add_function(wrap_pyfunction!(validate_backup_async, m)?)?;
    m.add_function(wrap_pyfunction!(restore_test, m)?)?;
    m.add_function(wrap_pyfunction!(restore_test_async, m)?)?;
    m.add_function(wrap_pyfunction!(list_backups, m)?)?;
    m.add_function(wrap_pyfunction!(list_backups_async, m)?)?;
    m.add_function(wrap_pyfunction!(apply_retention, m)?)?;
    m.add_function(wrap_pyfunction!(apply_retention_async, m)?)?;
    m.add_function(wrap_pyfunction!(generate_key_pair, m)?)
}
