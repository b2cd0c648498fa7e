//! Backups: `pg_dump` streamed through compression and encryption into any object store, with a
//! manifest as the commit marker, listing, retention and verification.
//!
//! ```no_run
//! # async fn example() -> dbops::Result<()> {
//! use dbops::backup::{Backup, BackupOptions, Encryption};
//! use dbops::{DatabaseUrl, ObjectBackupStore};
//!
//! let url = DatabaseUrl::parse("postgres://app@db/app")?;
//! let store = ObjectBackupStore::open("s3://backups/prod")?;
//! let options =
//!     BackupOptions::default().with_encryption(Encryption::Recipients(vec!["age1...".into()]));
//! let report = Backup::new(url, store, options).run().await?;
//! println!("backup {} ({} bytes)", report.manifest.id, report.manifest.data.size);
//! # Ok(()) }
//! ```

pub(crate) mod copy_binary;
mod encode;
mod health;
mod lock;
mod pipeline;
mod retention;
mod tables;

use std::collections::BTreeMap;

use serde::Serialize;

/// What a store holds, read as backups (defined in [`crate::catalog`]).
pub use crate::catalog::{
    BackupCatalog, BackupEntry, BackupSelector, Catalog, CopyFormat, DumpFormat, MANIFEST_VERSION,
    Manifest, StoredObject, TableObject, database_folder as manifest_folder, failures, id_time,
    parse_legacy_name, parse_time,
};
/// How stored objects are encoded (defined in [`crate::codec`]).
pub use crate::codec::{
    Compression, Decryption, Encryption, EncryptionInfo, EncryptionMode, KeyPair, fingerprint,
    generate_key_pair,
};
/// The storage seam every backup operation goes through (defined in [`crate::storage`]).
pub use crate::storage::BackupStore;
pub use health::{
    BackupCheck, BackupHealth, BackupHealthLimits, BackupHealthOptions, BackupHealthReport,
    BackupStatus, LatestBackup, human as human_duration,
};
pub use retention::{
    Kept, RetentionPlan, RetentionPolicy, apply_retention, plan as plan_retention,
};

pub(crate) use pipeline::count_rows;

use crate::config::DatabaseUrl;
use crate::error::Result;
use crate::progress::Progress;
use std::sync::Arc;

/// How to take a backup. Every field has a documented default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BackupOptions {
    /// Dump format. Default: [`DumpFormat::Tables`] (parallel dump and restore).
    pub format: DumpFormat,
    /// Compression. Default: zstd.
    pub compression: Compression,
    /// Compression level. Default: [`Compression::default_level`] (zstd 1, gzip 6, lz4 1).
    pub compression_level: Option<i32>,
    /// zstd worker threads; 0 or 1 compresses on the pipeline's own thread. Default: 0.
    pub compression_threads: u32,
    /// Encryption. Default: none.
    pub encryption: Encryption,
    /// Also store `pg_dumpall --globals-only --no-role-passwords`. Default: false.
    pub globals: bool,
    /// Record exact row counts per table (from the dump's own snapshot) for restore checks.
    /// Default: true.
    pub row_counts: bool,
    /// Give up when a table lock cannot be had within this time (`pg_dump --lock-wait-timeout`, and the
    /// same for counting rows). Default: wait, as `pg_dump` does.
    pub lock_wait_timeout: Option<std::time::Duration>,
    /// Extra `pg_dump` arguments (e.g. `--exclude-table-data=audit_log`). Default: none.
    pub pg_dump_args: Vec<String>,
    /// Connections dumping tables at once (the `tables` format): each copies one table at a time in
    /// the same snapshot, so the dump uses that many of the server's cores. Default: this machine's
    /// CPU count, at most 4.
    pub jobs: Option<usize>,
    /// Labels recorded in the manifest. Default: none.
    pub labels: BTreeMap<String, String>,
    /// Progress callback (bytes dumped). Default: none.
    pub progress: Option<Progress>,
    /// Take the database's lock in the store first, so two backups never interleave; a second backup
    /// is refused with the holder's details. Default: true.
    pub lock: bool,
    /// A lock older than this is considered abandoned (its holder died) and taken over. Default: 12 h.
    pub lock_ttl: std::time::Duration,
    /// Mask personal data while the rows stream into the store (the `tables` format only; large
    /// objects are left out): a backup to share with staging. Default: none.
    #[cfg(feature = "mask")]
    pub(crate) mask: Option<std::sync::Arc<crate::mask::Masking>>,
    /// How the `tables` format stores rows. Default: [`CopyFormat::Binary`] (tables with other column
    /// types, and masked tables, stay text).
    pub copy_format: CopyFormat,
    /// Carry the planner statistics in the backup when the server and `pg_dump` are PostgreSQL 18 or
    /// newer (`pg_dump --statistics`; the `tables` and `custom` formats), so a restore into 18 or
    /// newer needs no ANALYZE. Default: true.
    pub statistics: bool,
}

crate::setters::with_setters!(BackupOptions {
    with_format => format: DumpFormat,
    with_compression => compression: Compression,
    with_compression_level => compression_level: opt i32,
    with_compression_threads => compression_threads: u32,
    with_encryption => encryption: Encryption,
    with_globals => globals: bool,
    with_row_counts => row_counts: bool,
    with_lock_wait_timeout => lock_wait_timeout: opt std::time::Duration,
    with_pg_dump_args => pg_dump_args: Vec<String>,
    with_jobs => jobs: opt usize,
    with_labels => labels: BTreeMap<String, String>,
    with_progress => progress: opt Progress,
    with_lock => lock: bool,
    with_lock_ttl => lock_ttl: std::time::Duration,
    with_copy_format => copy_format: CopyFormat,
    with_statistics => statistics: bool,
});

impl Default for BackupOptions {
    fn default() -> Self {
        Self {
            format: DumpFormat::Tables,
            compression: Compression::Zstd,
            compression_level: None,
            compression_threads: 0,
            encryption: Encryption::None,
            globals: false,
            row_counts: true,
            lock_wait_timeout: None,
            pg_dump_args: Vec::new(),
            jobs: None,
            labels: BTreeMap::new(),
            progress: None,
            lock: true,
            lock_ttl: std::time::Duration::from_secs(12 * 3600),
            #[cfg(feature = "mask")]
            mask: None,
            copy_format: CopyFormat::Binary,
            statistics: true,
        }
    }
}

#[cfg(feature = "mask")]
#[cfg_attr(docsrs, doc(cfg(feature = "mask")))]
impl BackupOptions {
    /// Masks personal data while the rows stream into the store (the `tables` format only; large
    /// objects are left out): a backup to share with staging. Default: none.
    #[must_use]
    pub fn with_mask(
        mut self,
        masking: impl Into<Option<std::sync::Arc<crate::mask::Masking>>>,
    ) -> Self {
        self.mask = masking.into();
        self
    }

    /// The masking rules, when the backup is masked.
    pub fn mask(&self) -> Option<&std::sync::Arc<crate::mask::Masking>> {
        self.mask.as_ref()
    }
}

impl BackupOptions {
    /// The table dump connections: `jobs`, or this machine's CPU count (at most 4).
    pub fn jobs(&self) -> usize {
        self.jobs.unwrap_or_else(default_jobs).max(1)
    }
}

pub use crate::analyze::default_jobs;

/// The outcome of a backup.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BackupReport {
    /// The manifest written.
    pub manifest: Manifest,
    /// The store, credentials removed.
    pub store: String,
    /// Wall time in seconds.
    pub elapsed_secs: f64,
}

/// One backup of one database into one store.
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::{Backup, BackupOptions, ObjectBackupStore};
///
/// let store = ObjectBackupStore::open("file:///var/backups/app")?;
/// let options = BackupOptions::default()
///     .with_jobs(8) // tables dumped at once, in one snapshot
///     .with_pg_dump_args(vec!["--exclude-table-data=audit_log".into()]);
/// let report = Backup::new(url, store, options).run().await?;
/// println!("backup {} in {:.1} s", report.manifest.id, report.elapsed_secs);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Backup {
    url: DatabaseUrl,
    store: Arc<dyn BackupStore>,
    options: BackupOptions,
}

impl Backup {
    /// Prepares a backup of the database at `url` into `store` (any [`BackupStore`], e.g. an
    /// [`ObjectBackupStore`](crate::storage::ObjectBackupStore) or an `Arc<dyn BackupStore>`).
    pub fn new(
        url: DatabaseUrl,
        store: impl BackupStore + 'static,
        options: BackupOptions,
    ) -> Self {
        Self {
            url,
            store: Arc::new(store),
            options,
        }
    }

    /// The store it backs up into.
    #[cfg_attr(not(feature = "migrate"), allow(dead_code))]
    pub(crate) fn store(&self) -> &Arc<dyn BackupStore> {
        &self.store
    }

    /// Its options.
    #[cfg_attr(not(feature = "migrate"), allow(dead_code))]
    pub(crate) fn options(&self) -> &BackupOptions {
        &self.options
    }

    /// Dumps, compresses, encrypts and uploads, then writes the manifest. On failure nothing is
    /// published and the error says which stage failed. Dropping the future aborts the upload and kills
    /// `pg_dump`.
    #[tracing::instrument(name = "backup", skip_all, fields(database = %self.url.database(), store = %self.store.describe()))]
    pub async fn run(&self) -> Result<BackupReport> {
        let database = self.url.database();
        let lock = if self.options.lock {
            let owner = crate::catalog::new_id(chrono::Utc::now());
            Some(lock::acquire(&self.store, &database, &owner, self.options.lock_ttl).await?)
        } else {
            None
        };
        let outcome = pipeline::run(&self.url, &self.store, &self.options).await;
        if let Err(error) = &outcome {
            crate::catalog::record_failure(&self.store, &database, &crate::error::report(error))
                .await;
        }
        if let Some(lock) = lock {
            lock.release().await?;
        }
        outcome
    }
}
