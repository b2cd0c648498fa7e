//! What a store holds, read as backups: manifests (the commit marker of each backup, with the objects
//! and checksums it vouches for), the listing of backups, legacy files, orphans and problems, and the
//! records of failed attempts and restore tests. It sits above storage, which knows objects only:
//! [`BackupCatalog`] adds the backup-level reads to any [`BackupStore`].

mod listing;
mod manifest;
mod parts;
mod records;

use async_trait::async_trait;

pub use listing::{BackupEntry, BackupSelector, Catalog, parse_legacy_name, parse_time};
pub(crate) use listing::{delete_backup, find_backup, read_catalog};
pub use manifest::{
    DumpFormat, MANIFEST_VERSION, Manifest, StoredObject, database_folder, id_time,
};
pub(crate) use manifest::{data_key, globals_key, new_id, part_key};
pub use parts::{CopyFormat, TableObject};
pub use records::{RestoreTestReport, failures, last_restore_test};
pub(crate) use records::{record_failure, record_restore_test};

use crate::error::Result;
use crate::storage::BackupStore;

/// The backups of a store: listing, finding and deleting them, for every [`BackupStore`] (a blanket
/// implementation, as `object_store`'s extension traits do): `use dbops::BackupCatalog` and call them
/// on any store.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use dbops::backup::BackupSelector;
/// use dbops::{BackupCatalog, ObjectBackupStore};
///
/// let store = ObjectBackupStore::open("s3://backups/prod")?;
/// for backup in &store.catalog(Some("orders")).await?.backups {
///     println!("{} taken {} ({} bytes)", backup.id, backup.started_at, backup.size);
/// }
/// // Or `BackupSelector::Id(..)`, or `BackupSelector::Before(time)`.
/// let latest = store.find("orders", &BackupSelector::Latest).await?;
/// println!("latest: {}", latest.key);
/// # Ok(()) }
/// ```
#[async_trait]
pub trait BackupCatalog: BackupStore {
    /// Lists the backups of `database` (or of every database), with the problems and orphans found.
    async fn catalog(&self, database: Option<&str>) -> Result<Catalog>;

    /// Finds one backup of `database`.
    async fn find(&self, database: &str, selector: &BackupSelector) -> Result<BackupEntry>;

    /// Deletes a backup: its manifest first, then its data, so a crash never leaves a manifest
    /// without data.
    async fn delete_backup(&self, entry: &BackupEntry) -> Result<()>;
}

#[async_trait]
impl<S: BackupStore + ?Sized> BackupCatalog for S {
    async fn catalog(&self, database: Option<&str>) -> Result<Catalog> {
        read_catalog(self, database).await
    }

    async fn find(&self, database: &str, selector: &BackupSelector) -> Result<BackupEntry> {
        find_backup(self, database, selector).await
    }

    async fn delete_backup(&self, entry: &BackupEntry) -> Result<()> {
        delete_backup(self, entry).await
    }
}
