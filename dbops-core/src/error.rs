//! The one error type of dbops.
//!
//! Every variant carries the context a reader needs: what was being done, where (file, line, version,
//! object key) and, where there is one, what to do about it. `Display` never repeats the source error;
//! walk [`std::error::Error::source`] (the CLI does) to print the whole chain.

use std::path::PathBuf;
use std::time::Duration;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in dbops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A connection string could not be parsed. `url` is already redacted.
    #[error("invalid database url `{url}`: {reason}")]
    InvalidUrl {
        /// The offending connection string, password redacted.
        url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A configuration value is invalid.
    #[error("invalid {field}: {reason}")]
    Config {
        /// The option or setting at fault.
        field: String,
        /// Why it was rejected and what is accepted.
        reason: String,
    },

    /// A PostgreSQL connection or statement failed.
    #[error("{context}")]
    Postgres {
        /// What dbops was doing, e.g. `connecting to postgres://app@db:5432/app`.
        context: String,
        /// The driver error (carries SQLSTATE, message, detail and hint).
        #[source]
        source: tokio_postgres::Error,
    },

    /// No connection could be taken from a pool.
    #[error("{context}")]
    Pool {
        /// What dbops was doing.
        context: String,
        /// The pool error.
        #[source]
        source: deadpool_postgres::PoolError,
    },

    /// A file system operation failed.
    #[error("{context}{}", path_suffix(path))]
    Io {
        /// What dbops was doing, e.g. `reading migration file`.
        context: String,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The PostgreSQL server binaries could not be found.
    #[error(
        "postgresql server binaries (`postgres`, `initdb`) not found; looked in: {}; install the server \
         (Debian/Ubuntu: `apt-get install postgresql`, Fedora: `dnf install postgresql-server`, macOS: \
         `brew install postgresql`) or set DBOPS_PG_BIN to the directory holding them",
        searched.join(", ")
    )]
    BinariesNotFound {
        /// Every place that was searched, in order.
        searched: Vec<String>,
    },

    /// No installed PostgreSQL program fits the server or data directory it would work with.
    #[error(
        "no `{program}` fits PostgreSQL {major} ({purpose}); found: {}; {advice}",
        if found.is_empty() { "none".to_string() } else { found.join(", ") }
    )]
    NoFittingProgram {
        /// The program needed.
        program: String,
        /// The major version of the server or data directory.
        major: u32,
        /// What it was needed for.
        purpose: String,
        /// The versions of it that were found, and where.
        found: Vec<String>,
        /// What to install or set.
        advice: String,
    },

    /// An external program (initdb, pg_dump, ...) failed.
    #[error(
        "`{program}` failed while {action} ({status}){}",
        stderr_suffix(stderr)
    )]
    Command {
        /// The program that failed.
        program: String,
        /// What it was asked to do.
        action: String,
        /// Its exit status or the reason it could not run.
        status: String,
        /// The last lines it wrote to stderr (secrets are never passed on its command line).
        stderr: String,
    },

    /// The embedded cluster could not be started, reached or stopped.
    #[error("embedded cluster in `{}`: {reason}{}", dir.display(), log_suffix(log_tail))]
    Cluster {
        /// The cluster's directory.
        dir: PathBuf,
        /// What went wrong and what to do.
        reason: String,
        /// The last lines of the server log, if any.
        log_tail: String,
    },

    /// An operation did not finish in time.
    #[error("timed out after {:.1}s while {action}", elapsed.as_secs_f64())]
    Timeout {
        /// What was being waited for.
        action: String,
        /// How long dbops waited.
        elapsed: Duration,
    },

    /// A safety guard refused a destructive action.
    #[error("refusing to {action}: {reason}")]
    Refused {
        /// The action that was refused.
        action: String,
        /// Why, and how to proceed deliberately (usually a `--force`-style option).
        reason: String,
    },

    /// A migration source is invalid: bad file name, duplicate version, empty or unreadable file.
    #[error("invalid migration source `{path}`: {reason}")]
    MigrationSource {
        /// The file or directory at fault.
        path: String,
        /// Why, and how to fix it.
        reason: String,
    },

    /// A statement of a migration failed. Transactional migrations leave nothing behind.
    #[error(
        "migration {version} ({file}) failed at line {line}: {message}\n  statement: {statement}{after}"
    )]
    MigrationFailed {
        /// The migration's version.
        version: i64,
        /// The file that failed.
        file: String,
        /// Line of the failing statement in the file (1-based).
        line: usize,
        /// The failing statement (shortened).
        statement: String,
        /// PostgreSQL's message with detail, hint and position.
        message: String,
        /// What state the database was left in and what to do.
        after: String,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// A migration failed after the backup taken before migrating: the backup and how to restore it.
    #[error(
        "{source}\n  a backup was taken before migrating: {backup_id} in {store}\n  to get that state back: {restore_command}"
    )]
    MigrationAfterBackup {
        /// The backup taken first.
        backup_id: String,
        /// Its store, credentials removed.
        store: String,
        /// The `dbops restore` command that restores it into a new database.
        restore_command: String,
        /// The migration's error.
        source: Box<Error>,
    },

    /// A restore into a server older than the backup's failed: why, and what to restore into.
    #[error(
        "{source}\n  the backup is of PostgreSQL {backup_major} and the target runs {target_major}: a \
         dump loads into an older server only when it uses nothing the older one lacks; restore it into \
         a server of PostgreSQL {backup_major} or newer"
    )]
    RestoreIntoOlderServer {
        /// The major version of the backup's server.
        backup_major: u32,
        /// The major version of the target server.
        target_major: u32,
        /// The restore's error.
        source: Box<Error>,
    },

    /// The database is marked dirty: a migration failed half-way outside a transaction.
    #[error("database is dirty at migration version {version}: {reason}")]
    Dirty {
        /// The version the failed migration was moving to.
        version: i64,
        /// What happened and how to repair it (`dbops migrate force`).
        reason: String,
    },

    /// An applied migration's file changed since it was applied.
    #[error("migration {version} ({file}) changed after it was applied: {reason}")]
    ChecksumMismatch {
        /// The version.
        version: i64,
        /// The file.
        file: String,
        /// Recorded vs current checksum and what to do.
        reason: String,
    },

    /// An object store (file, S3, GCS, Azure, memory, or a store of one's own) operation failed.
    #[cfg(feature = "backup")]
    #[error("{action} `{key}` in {store}{}", storage_hint(*kind, source.as_ref()))]
    Storage {
        /// What dbops was doing, e.g. `uploading backup`.
        action: String,
        /// The store, credentials redacted.
        store: String,
        /// The object key involved.
        key: String,
        /// What kind of failure it is: operations branch on it (a missing object is not a broken
        /// store).
        kind: StorageErrorKind,
        /// The store's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// No backup matches what was asked for.
    #[error("no {wanted} in {store}; {}", listing_hint(wanted))]
    BackupNotFound {
        /// The store searched, credentials redacted.
        store: String,
        /// What was asked for, e.g. `backup (latest) for database app` or `base backup with id
        /// 2024-01-15T120000Z-ab12cd34`.
        wanted: String,
    },

    /// Stored data does not match what its manifest or its own checksums promise.
    #[error("integrity check failed for `{key}`: {reason}")]
    Integrity {
        /// The object (or database table) that failed.
        key: String,
        /// What differed, and what to do.
        reason: String,
    },

    /// Encryption or decryption failed (wrong key, bad recipient, tampered data).
    #[error("{action}: {reason}")]
    Crypto {
        /// What dbops was doing.
        action: String,
        /// Why it failed and what to do.
        reason: String,
    },

    /// The operation was cancelled by the caller (for example Ctrl-C).
    #[error("{action} was cancelled")]
    Cancelled {
        /// What was cancelled.
        action: String,
    },
}

/// The command that lists what a store holds, for a missing backup (`wanted`).
fn listing_hint(wanted: &str) -> &'static str {
    if wanted.starts_with("base backup") {
        "`dbops pitr status` lists the base backups"
    } else {
        "`dbops backup list` shows what is there"
    }
}

/// `` `path` `` after a message, or nothing when there is no path (a pipe, a stream).
fn path_suffix(path: &std::path::Path) -> String {
    if path.as_os_str().is_empty() {
        String::new()
    } else {
        format!(" `{}`", path.display())
    }
}

fn stderr_suffix(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(": {trimmed}")
    }
}

/// What kind of failure a storage error is: what the operations branch on, whatever the store.
#[cfg(feature = "backup")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// No object has the key.
    NotFound,
    /// An object with the key exists (a write that must not replace one).
    AlreadyExists,
    /// A condition of the request did not hold (the object changed meanwhile).
    Precondition,
    /// The store refused the credentials or the access.
    PermissionDenied,
    /// The store did not answer, or answered with a failure worth retrying.
    Transient,
    /// Anything else (a bad configuration, an unsupported request).
    Other,
}

#[cfg(feature = "backup")]
impl StorageErrorKind {
    /// The kind of an `object_store` error.
    pub(crate) fn of(error: &object_store::Error) -> Self {
        use object_store::Error as E;
        match error {
            E::NotFound { .. } => Self::NotFound,
            E::AlreadyExists { .. } => Self::AlreadyExists,
            E::Precondition { .. } | E::NotModified { .. } => Self::Precondition,
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => Self::PermissionDenied,
            E::Generic { .. } | E::JoinError { .. } => Self::Transient,
            _ => Self::Other,
        }
    }
}

/// What to do about a store error, from its kind (and, for transport errors, its causes).
#[cfg(feature = "backup")]
fn storage_hint(kind: StorageErrorKind, error: &(dyn std::error::Error + 'static)) -> &'static str {
    match kind {
        StorageErrorKind::PermissionDenied => {
            " (the store refused the credentials: check the access key and secret, or the cloud's \
             environment variables, and the bucket's policy)"
        }
        StorageErrorKind::AlreadyExists => {
            " (an object with this key already exists; dbops never overwrites one)"
        }
        StorageErrorKind::NotFound => " (no object has this key)",
        _ if matches!(
            error.downcast_ref::<object_store::Error>(),
            Some(object_store::Error::UnknownConfigurationKey { .. })
        ) =>
        {
            " (check the names of the --store-option settings)"
        }
        _ => {
            let mut cause: Option<&dyn std::error::Error> = Some(error);
            while let Some(e) = cause {
                let text = e.to_string().to_ascii_lowercase();
                if [
                    "connect",
                    "dns",
                    "timed out",
                    "timeout",
                    "error sending request",
                ]
                .iter()
                .any(|needle| text.contains(needle))
                {
                    return " (the store did not answer: check its URL or endpoint and the network, then retry)";
                }
                cause = e.source();
            }
            ""
        }
    }
}

fn log_suffix(log_tail: &str) -> String {
    let trimmed = log_tail.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("\nserver log (last lines):\n{trimmed}")
    }
}

impl Error {
    /// Wraps a driver error with what dbops was doing.
    pub fn postgres(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        Error::Postgres {
            context: context.into(),
            source,
        }
    }

    /// Wraps a pool error with what dbops was doing.
    pub fn pool(context: impl Into<String>, source: deadpool_postgres::PoolError) -> Self {
        Error::Pool {
            context: context.into(),
            source,
        }
    }

    /// Wraps an I/O error with what dbops was doing and the path involved.
    pub fn io(
        context: impl Into<String>,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            context: context.into(),
            path: path.into(),
            source,
        }
    }

    /// An invalid configuration value.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A storage error: `action` on `key` of `store` failed as `kind`, with the store's own `source`
    /// (for a `BackupStore` of one's own).
    #[cfg(feature = "backup")]
    pub fn storage(
        kind: StorageErrorKind,
        action: impl Into<String>,
        store: impl Into<String>,
        key: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Storage {
            action: action.into(),
            store: store.into(),
            key: key.into(),
            kind,
            source: source.into(),
        }
    }

    /// The storage error of a read of `key` in `store` that finds no object: what a
    /// `BackupStore` of one's own returns for a missing key.
    #[cfg(feature = "backup")]
    pub fn object_not_found(store: impl Into<String>, key: impl Into<String>) -> Self {
        Self::storage(
            StorageErrorKind::NotFound,
            "reading",
            store,
            key,
            "no object has this key",
        )
    }

    /// The kind of a storage error (none for other errors).
    #[cfg(feature = "backup")]
    pub fn storage_kind(&self) -> Option<StorageErrorKind> {
        match self {
            Error::Storage { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether this is a storage error saying that no object has the key.
    #[cfg(feature = "backup")]
    pub fn is_not_found(&self) -> bool {
        self.storage_kind() == Some(StorageErrorKind::NotFound)
    }

    /// The PostgreSQL server error behind this error, if there is one.
    pub fn db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(err) = current {
            if let Some(db) = err.downcast_ref::<tokio_postgres::error::DbError>() {
                return Some(db);
            }
            if let Some(pg) = err.downcast_ref::<tokio_postgres::Error>()
                && let Some(db) = pg.as_db_error()
            {
                return Some(db);
            }
            current = err.source();
        }
        None
    }

    /// The SQLSTATE code of the server error behind this error, if there is one.
    pub fn code(&self) -> Option<&tokio_postgres::error::SqlState> {
        self.db_error().map(|db| db.code())
    }

    /// Whether retrying the same operation may succeed (connection loss, serialization failure,
    /// deadlock, lock timeout, timeouts).
    pub fn is_retryable(&self) -> bool {
        use tokio_postgres::error::SqlState;
        if let Some(code) = self.code() {
            return [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::LOCK_NOT_AVAILABLE,
                SqlState::QUERY_CANCELED,
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
            ]
            .contains(code);
        }
        match self {
            Error::Postgres { source, .. } => source.is_closed() || source.as_db_error().is_none(),
            Error::Pool { .. } | Error::Timeout { .. } => true,
            #[cfg(feature = "backup")]
            Error::Storage { kind, .. } => *kind == StorageErrorKind::Transient,
            _ => false,
        }
    }
}

/// Renders an error and its whole `source()` chain, one cause per line, for people to read.
pub fn report(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut current = err.source();
    while let Some(cause) = current {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str("\n  caused by: ");
            out.push_str(&text.replace('\n', "\n    "));
        }
        current = cause.source();
    }
    out
}
