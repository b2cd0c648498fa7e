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
    /// Backs up the database at `url` into `store`; returns the `BackupReport` with the manifest.
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
    /// Restores a backup from `store` into the server at `url`; returns the `RestoreReport`.
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
    /// Downloads, decrypts, decompresses and checks a backup of `database` without touching any
    /// database; returns the `ValidationReport`.
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
    /// Restores a backup of `database` into a throwaway database (on `server`, else an embedded
    /// cluster), checks it and records the result in the store; returns the `RestoreTestReport`.
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
    /// Lists the backups in `store` (of `database`, or all): the `Catalog` of backups, problems and
    /// orphans.
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
    /// Plans (and with `apply=True` carries out) retention for `database`'s backups in `store`;
    /// returns the `RetentionPlan`.
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

/// A new age key pair (`KeyPair`: recipient `age1...`, identity `AGE-SECRET-KEY-1...`).
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
