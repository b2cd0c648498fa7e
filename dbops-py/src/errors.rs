//! The exception hierarchy under `dbops.DbopsError` and the mapping from `dbops::Error`.

use pyo3::create_exception;
use pyo3::prelude::*;

create_exception!(
    dbops,
    DbopsError,
    pyo3::exceptions::PyException,
    "Base class of every dbops error. The message is the whole cause chain (what failed, where, what to do); the attributes carry the same context as fields (``retryable`` and ``sqlstate`` on every error)."
);
create_exception!(
    dbops,
    ConfigError,
    DbopsError,
    "Invalid URL, option or configuration."
);
create_exception!(
    dbops,
    DatabaseError,
    DbopsError,
    "PostgreSQL or the connection pool reported an error."
);
create_exception!(
    dbops,
    ClusterError,
    DbopsError,
    "The embedded cluster or a PostgreSQL tool failed."
);
create_exception!(
    dbops,
    DbopsIOError,
    DbopsError,
    "A file or directory operation failed."
);
create_exception!(
    dbops,
    OperationTimeout,
    DbopsError,
    "An operation did not finish in time."
);
create_exception!(
    dbops,
    RefusedError,
    DbopsError,
    "dbops refused an operation that would lose data or is unsafe."
);
create_exception!(
    dbops,
    CancelledError,
    DbopsError,
    "The operation was cancelled."
);

create_exception!(
    dbops,
    MigrationError,
    DbopsError,
    "A migration failed; the message says what state it left."
);
create_exception!(
    dbops,
    MigrationSourceError,
    MigrationError,
    "A migration file or directory is invalid (naming, duplicates, missing files); ``path`` names it."
);
create_exception!(
    dbops,
    DirtyDatabaseError,
    MigrationError,
    "The database is dirty after a failed non-transactional migration: repair it, then ``force`` the version."
);
create_exception!(
    dbops,
    ChecksumMismatchError,
    MigrationError,
    "An applied migration's file changed."
);
create_exception!(
    dbops,
    StorageError,
    DbopsError,
    "An object store (file, S3, GCS, Azure, memory) operation failed; ``store``, ``key`` and ``kind`` (not_found, already_exists, precondition, permission_denied, transient, other) say which and how."
);
create_exception!(
    dbops,
    BackupNotFoundError,
    DbopsError,
    "No backup matches what was asked for; ``store`` names the store."
);
create_exception!(
    dbops,
    IntegrityError,
    DbopsError,
    "Stored data does not match its manifest or checksums; nothing was committed."
);
create_exception!(
    dbops,
    InternalError,
    DbopsError,
    "A bug in dbops (a panic in the Rust core); the message says where. Please report it."
);
create_exception!(
    dbops,
    EncryptionError,
    IntegrityError,
    "Encryption or decryption failed: wrong key or passphrase, bad recipient, tampered data."
);

/// Converts a core error into the matching Python exception. The message is the full cause chain;
/// attributes carry the same context as fields: `retryable`, `sqlstate` (or None) on every error, and
/// per kind `version`/`file`/`line`/`statement` (migrations), `store`/`key` (storage, integrity),
/// `program`/`status` (external tools), `path` (files).
pub fn to_py(err: dbops::Error) -> PyErr {
    let message = dbops::error::report(&err);
    let mut fields = error_fields(&err);
    let exception = exception_of(&err, message);
    Python::attach(|py| {
        let value = exception.value(py);
        for (name, field) in fields.drain(..) {
            let set = match field {
                Field::Bool(b) => value.setattr(name, b),
                Field::Int(i) => value.setattr(name, i),
                Field::Text(t) => value.setattr(name, t),
            };
            // Attributes are extras: a failure to set one must not replace the error itself.
            if let Err(e) = set {
                e.print(py);
            }
        }
    });
    exception
}

/// The exception class of `err` with `message`; a migration that failed after the backup taken
/// first raises the migration's own class.
fn exception_of(err: &dbops::Error, message: String) -> PyErr {
    use dbops::Error as E;
    match err {
        E::MigrationAfterBackup { source, .. } | E::RestoreIntoOlderServer { source, .. } => {
            exception_of(source, message)
        }
        E::InvalidUrl { .. } | E::Config { .. } => ConfigError::new_err(message),
        E::Postgres { .. } | E::Pool { .. } => DatabaseError::new_err(message),
        E::BinariesNotFound { .. }
        | E::NoFittingProgram { .. }
        | E::Command { .. }
        | E::Cluster { .. } => ClusterError::new_err(message),
        E::Io { .. } => DbopsIOError::new_err(message),
        E::Timeout { .. } => OperationTimeout::new_err(message),
        E::Refused { .. } => RefusedError::new_err(message),
        E::Cancelled { .. } => CancelledError::new_err(message),
        E::MigrationFailed { .. } => MigrationError::new_err(message),
        E::MigrationSource { .. } => MigrationSourceError::new_err(message),
        E::Dirty { .. } => DirtyDatabaseError::new_err(message),
        E::ChecksumMismatch { .. } => ChecksumMismatchError::new_err(message),
        E::Storage { .. } => StorageError::new_err(message),
        E::BackupNotFound { .. } => BackupNotFoundError::new_err(message),
        E::Integrity { .. } => IntegrityError::new_err(message),
        E::Crypto { .. } => EncryptionError::new_err(message),
        _ => DbopsError::new_err(message),
    }
}

/// The exception's attributes: `retryable` and `sqlstate` on all, the error's context fields on each.
fn error_fields(err: &dbops::Error) -> Vec<(&'static str, Field)> {
    use dbops::Error as E;
    let mut fields: Vec<(&str, Field)> = vec![
        ("retryable", Field::Bool(err.is_retryable())),
        (
            "sqlstate",
            Field::Text(err.code().map(|c| c.code().to_string())),
        ),
    ];
    let text = |s: &str| Field::Text(Some(s.to_string()));
    if let E::MigrationAfterBackup {
        backup_id,
        restore_command,
        source,
        ..
    } = err
    {
        fields.push(("backup_id", text(backup_id)));
        fields.push(("restore_command", text(restore_command)));
        fields.extend(error_fields(source).into_iter().skip(2));
        return fields;
    }
    match err {
        E::MigrationFailed {
            version,
            file,
            line,
            statement,
            ..
        } => {
            fields.push(("version", Field::Int(*version)));
            fields.push(("file", text(file)));
            fields.push(("line", Field::Int(*line as i64)));
            fields.push(("statement", text(statement)));
        }
        E::Dirty { version, .. } => fields.push(("version", Field::Int(*version))),
        E::ChecksumMismatch { version, file, .. } => {
            fields.push(("version", Field::Int(*version)));
            fields.push(("file", text(file)));
        }
        E::MigrationSource { path, .. } => fields.push(("path", text(path))),
        E::Storage {
            store, key, kind, ..
        } => {
            fields.push(("store", text(store)));
            fields.push(("key", text(key)));
            let kind = serde_json::to_value(kind).ok();
            fields.push((
                "kind",
                Field::Text(kind.and_then(|k| k.as_str().map(str::to_string))),
            ));
        }
        E::BackupNotFound { store, .. } => fields.push(("store", text(store))),
        E::Integrity { key, .. } => fields.push(("key", text(key))),
        E::Command {
            program, status, ..
        } => {
            fields.push(("program", text(program)));
            fields.push(("status", text(status)));
        }
        E::Io { path, .. } => fields.push(("path", text(&path.display().to_string()))),
        _ => {}
    }
    fields
}

/// The `InternalError` for a panic payload: what was being done and the panic's message.
pub fn from_panic(action: &str, payload: &(dyn std::any::Any + Send)) -> PyErr {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    InternalError::new_err(format!(
        "internal error while {action}: {message}; this is a bug in dbops, please report it"
    ))
}

/// One attribute value of an exception.
enum Field {
    Bool(bool),
    Int(i64),
    Text(Option<String>),
}

/// Panics inside the binding on purpose, so tests can prove a panic surfaces as `InternalError`:
/// `mode` is `"sync"` (a synchronous body), `"blocking"` (an operation run with the GIL released)
/// or `"async"` (returns an awaitable that panics when awaited). Not part of the public API.
#[pyfunction]
fn _panic_for_tests<'py>(py: Python<'py>, mode: &str) -> PyResult<Bound<'py, PyAny>> {
    let boom = || -> dbops::Result<()> { panic!("deliberate panic for the binding's tests") };
    match mode {
        "sync" => crate::runtime::guard("testing the panic guard", || boom().map_err(to_py))
            .map(|()| py.None().into_bound(py)),
        "blocking" => {
            crate::runtime::block_on(py, async move { boom() }).map(|()| py.None().into_bound(py))
        }
        _ => crate::runtime::into_awaitable(py, async move { boom() }),
    }
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add("DbopsError", py.get_type::<DbopsError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("DatabaseError", py.get_type::<DatabaseError>())?;
    m.add("ClusterError", py.get_type::<ClusterError>())?;
    m.add("DbopsIOError", py.get_type::<DbopsIOError>())?;
    m.add("OperationTimeout", py.get_type::<OperationTimeout>())?;
    m.add("RefusedError", py.get_type::<RefusedError>())?;
    m.add("CancelledError", py.get_type::<CancelledError>())?;
    m.add("MigrationError", py.get_type::<MigrationError>())?;
    m.add(
        "MigrationSourceError",
        py.get_type::<MigrationSourceError>(),
    )?;
    m.add("DirtyDatabaseError", py.get_type::<DirtyDatabaseError>())?;
    m.add(
        "ChecksumMismatchError",
        py.get_type::<ChecksumMismatchError>(),
    )?;
    m.add("StorageError", py.get_type::<StorageError>())?;
    m.add("BackupNotFoundError", py.get_type::<BackupNotFoundError>())?;
    m.add("IntegrityError", py.get_type::<IntegrityError>())?;
    m.add("EncryptionError", py.get_type::<EncryptionError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    // Class-level defaults, so every attribute documented on a class reads (as None) even on an
    // instance whose error kind has no such field.
    let defaults: [(&Bound<'_, pyo3::types::PyType>, &[&str]); 7] = [
        (&py.get_type::<DbopsError>(), &["sqlstate"]),
        (
            &py.get_type::<MigrationError>(),
            &[
                "version",
                "file",
                "line",
                "statement",
                "path",
                "backup_id",
                "restore_command",
            ],
        ),
        (&py.get_type::<StorageError>(), &["store", "key"]),
        (&py.get_type::<BackupNotFoundError>(), &["store"]),
        (&py.get_type::<IntegrityError>(), &["key"]),
        (&py.get_type::<ClusterError>(), &["program", "status"]),
        (&py.get_type::<DbopsIOError>(), &["path"]),
    ];
    for (class, names) in defaults {
        for name in names {
            class.setattr(*name, py.None())?;
        }
    }
    py.get_type::<DbopsError>().setattr("retryable", false)?;
    Ok(())
}
