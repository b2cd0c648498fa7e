//! The storage seam: [`BackupStore`], what every backup, restore, retention, health and PITR operation
//! reaches storage through, and [`Upload`], a multipart upload in progress.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use futures::stream::BoxStream;

use super::{Listing, ObjectInfo};
use crate::error::{Error, Result};

/// A store of backups, WAL and their manifests: a flat space of immutable objects under
/// `/`-separated keys. Implement the nine required methods to plug in another storage (or a fake one
/// in tests); listing backups, finding one and deleting one come with
/// [`BackupCatalog`](crate::BackupCatalog), for every store.
/// [`ObjectBackupStore`](super::ObjectBackupStore) implements it over any `object_store` backend.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::sync::{Arc, Mutex};
/// use bytes::Bytes;
/// use futures::stream::BoxStream;
/// use dbops::backup::BackupStore;
/// use dbops::storage::{Listing, ObjectInfo, Upload};
///
/// type Map = Arc<Mutex<BTreeMap<String, Bytes>>>;
///
/// /// Objects in a map, e.g. for a test.
/// #[derive(Debug, Default)]
/// struct MapStore(Map);
///
/// fn info(key: &str, data: &Bytes) -> ObjectInfo {
///     ObjectInfo { key: key.into(), size: data.len() as u64, last_modified: chrono::Utc::now() }
/// }
///
/// #[async_trait::async_trait]
/// impl BackupStore for MapStore {
///     fn describe(&self) -> String { "map://".into() }
///     async fn put(&self, key: &str, data: Bytes) -> dbops::Result<()> {
///         self.0.lock().unwrap().insert(key.into(), data);
///         Ok(())
///     }
///     async fn put_if_absent(&self, key: &str, data: Bytes) -> dbops::Result<bool> {
///         let mut map = self.0.lock().unwrap();
///         Ok(!map.contains_key(key) && map.insert(key.into(), data).is_none())
///     }
///     async fn get(&self, key: &str) -> dbops::Result<Bytes> {
///         let found = self.0.lock().unwrap().get(key).cloned();
///         // A missing object is the store's "not found": operations branch on it.
///         found.ok_or_else(|| dbops::Error::object_not_found(self.describe(), key))
///     }
///     async fn get_stream(&self, key: &str) -> dbops::Result<(u64, BoxStream<'static, dbops::Result<Bytes>>)> {
///         let data = self.get(key).await?;
///         Ok((data.len() as u64, Box::pin(futures::stream::iter([Ok(data)]))))
///     }
///     async fn head(&self, key: &str) -> dbops::Result<Option<ObjectInfo>> {
///         Ok(self.0.lock().unwrap().get(key).map(|d| info(key, d)))
///     }
///     async fn list_all(&self, prefix: &str) -> dbops::Result<Listing> {
///         let map = self.0.lock().unwrap();
///         let objects = map.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(k, d)| info(k, d));
///         Ok(Listing { objects: objects.collect(), unaddressable: Vec::new() })
///     }
///     async fn delete(&self, key: &str) -> dbops::Result<()> {
///         self.0.lock().unwrap().remove(key);
///         Ok(())
///     }
///     async fn upload(&self, key: &str) -> dbops::Result<Box<dyn Upload>> {
///         Ok(Box::new(MapUpload { map: self.0.clone(), key: key.into(), data: Vec::new() }))
///     }
/// }
///
/// /// Buffers the parts; the object appears on `finish`.
/// struct MapUpload { map: Map, key: String, data: Vec<u8> }
///
/// #[async_trait::async_trait]
/// impl Upload for MapUpload {
///     async fn write(&mut self, data: Bytes) -> dbops::Result<()> {
///         self.data.extend_from_slice(&data);
///         Ok(())
///     }
///     async fn finish(self: Box<Self>) -> dbops::Result<()> {
///         self.map.lock().unwrap().insert(self.key, self.data.into());
///         Ok(())
///     }
///     async fn abort(self: Box<Self>) -> dbops::Result<()> { Ok(()) }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MapStore::default();
/// store.probe().await?;                               // provided: write, read back, delete
/// use dbops::BackupCatalog;
/// assert!(store.catalog(None).await?.backups.is_empty()); // the backup catalog, for any store
/// # Ok::<(), dbops::Error>(()) }).unwrap();
/// ```
#[async_trait]
pub trait BackupStore: Send + Sync + std::fmt::Debug {
    /// The store's URL (or name) for messages, credentials removed.
    fn describe(&self) -> String;
    /// Writes a small object in one request, replacing any existing one.
    async fn put(&self, key: &str, data: Bytes) -> Result<()>;
    /// Writes a small object only if no object has that key; `false` when one already exists.
    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool>;
    /// Reads a whole (small) object; a missing one is [`Error::object_not_found`] (a storage error
    /// of kind [`NotFound`](crate::StorageErrorKind::NotFound)), which operations tell from a
    /// broken store.
    async fn get(&self, key: &str) -> Result<Bytes>;
    /// Streams an object: its size and its bytes in chunks (a missing one: as for
    /// [`BackupStore::get`]).
    async fn get_stream(&self, key: &str) -> Result<(u64, BoxStream<'static, Result<Bytes>>)>;
    /// Size and time of an object, or `None` when it does not exist.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>>;
    /// Every object under `prefix` (empty for all), sorted by key, plus names no key addresses.
    async fn list_all(&self, prefix: &str) -> Result<Listing>;
    /// Deletes an object; deleting one that does not exist succeeds.
    async fn delete(&self, key: &str) -> Result<()>;
    /// Starts a multipart upload to `key`: nothing is visible under `key` until [`Upload::finish`];
    /// [`Upload::abort`] (or dropping it unfinished) discards it.
    async fn upload(&self, key: &str) -> Result<Box<dyn Upload>>;

    /// Every addressable object under `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        Ok(self.list_all(prefix).await?.objects)
    }

    /// Checks that the store is reachable and writable: writes, reads back and deletes a probe object.
    /// Returns how long the round trip took.
    async fn probe(&self) -> Result<Duration> {
        let started = Instant::now();
        let key = format!(".dbops-probe-{}", uuid::Uuid::new_v4().simple());
        let payload = Bytes::from(format!("dbops probe {}", Utc::now().to_rfc3339()));
        self.put(&key, payload.clone()).await?;
        let read = self.get(&key).await;
        self.delete(&key).await?;
        if read? != payload {
            return Err(Error::Integrity {
                key,
                reason: format!(
                    "the probe object read back from {} differs from what was written",
                    self.describe()
                ),
            });
        }
        Ok(started.elapsed())
    }
}

/// A multipart upload in progress. Dropping it unfinished discards what was written.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use bytes::Bytes;
/// use dbops::{BackupStore, ObjectBackupStore};
///
/// // Any store hands one out; for a store of your own, see `BackupStore`'s example.
/// let store = ObjectBackupStore::open("memory://exports")?;
/// let mut upload = store.upload("rides.csv").await?;
/// upload.write(Bytes::from_static(b"id,city\n")).await?;
/// upload.write(Bytes::from_static(b"1,Lyon\n")).await?;
/// upload.finish().await?; // only now is the object visible under its key
/// assert_eq!(store.get("rides.csv").await?, "id,city\n1,Lyon\n");
/// # Ok::<(), dbops::Error>(()) }).unwrap();
/// ```
#[async_trait]
pub trait Upload: Send {
    /// Appends bytes (waiting while too many parts are in flight).
    async fn write(&mut self, data: Bytes) -> Result<()>;
    /// Completes the upload: the object becomes visible under its key.
    async fn finish(self: Box<Self>) -> Result<()>;
    /// Discards what was uploaded; nothing becomes visible.
    async fn abort(self: Box<Self>) -> Result<()>;
}

/// Shared stores are stores: an `Arc<dyn BackupStore>` (or an `Arc` of any store) can be passed
/// wherever a store is taken.
#[async_trait]
impl<T: BackupStore + ?Sized> BackupStore for Arc<T> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        (**self).put(key, data).await
    }
    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool> {
        (**self).put_if_absent(key, data).await
    }
    async fn get(&self, key: &str) -> Result<Bytes> {
        (**self).get(key).await
    }
    async fn get_stream(&self, key: &str) -> Result<(u64, BoxStream<'static, Result<Bytes>>)> {
        (**self).get_stream(key).await
    }
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        (**self).head(key).await
    }
    async fn list_all(&self, prefix: &str) -> Result<Listing> {
        (**self).list_all(prefix).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        (**self).delete(key).await
    }
    async fn upload(&self, key: &str) -> Result<Box<dyn Upload>> {
        (**self).upload(key).await
    }
    async fn probe(&self) -> Result<Duration> {
        (**self).probe().await
    }
}

/// Uploads every chunk `receiver` yields to `key` (multipart) until the sender is dropped, hashing as
/// it goes. Returns the unfinished upload (for the caller to finish or abort), the size and the
/// sha256 (hex) of what was stored.
///
/// The receiver is consumed: when the upload fails, it is closed on return, so a producer blocked on
/// a full channel (an encoding thread) gets an error at once instead of waiting forever.
pub(crate) async fn upload_chunks(
    store: &dyn BackupStore,
    key: &str,
    mut receiver: tokio::sync::mpsc::Receiver<Bytes>,
) -> Result<(Box<dyn Upload>, u64, String)> {
    use sha2::Digest;
    let mut upload = store.upload(key).await?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = receiver.recv().await {
        hasher.update(&chunk);
        size += chunk.len() as u64;
        upload.write(chunk).await?;
    }
    Ok((upload, size, hex::encode(hasher.finalize())))
}
