//! The exception hierarchy under `dbops.DbopsError` and the mapping from `dbops::Error`.

use pyo3::create_exception;
use pyo3::prelude::*;

create_exception!(
    dbops,
    DbopsError,
    pyo3::exceptions::PyException,
    "Base class of every dbops error."
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
    "A migration file or directory is invalid."
);
create_exception!(
    dbops,
    DirtyDatabaseError,
    MigrationError,
    "The database is dirty after a failed non-transactional migration."
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
    "An object store (file, S3, GCS, Azure, memory) operation failed."
);
create_exception!(
    dbops,
    BackupNotFoundError,
    DbopsError,
    "No backup matches what was asked for."
);
create_exception!(
    dbops,
    IntegrityError,
    DbopsError,
    "Stored data does not match its manifest or checksums; nothing was committed."
);
create_exception!(
    dbops,
    EncryptionError,
    IntegrityError,
    "Encryption or decryption failed: wrong key or passphrase, bad recipient, tampered data."
);

/// Converts a core error into the matching Python exception (message: the full cause chain).
pub fn to_py(err: dbops::Error) -> PyErr {
    use dbops::Error as E;
    let message = dbops::error::report(&err);
    match err {
        E::InvalidUrl { .. } | E::Config { .. } => ConfigError::new_err(message),
        E::Postgres { .. } | E::Pool { .. } => DatabaseError::new_err(message),
        E::BinariesNotFound { .. } | E::Command { .. } | E::Cluster { .. } => {
            ClusterError::new_err(message)
        }
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

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
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
    Ok(())
}
