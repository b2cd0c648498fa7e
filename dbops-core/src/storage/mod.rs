//! Object storage for backups and WAL: one abstraction over `file://`, `s3://`, `gs://`, `az://` and
//! `memory://`, built on `object_store`.
//!
//! A store is a URL plus options. Credentials come from the standard environment variables of each cloud
//! (`AWS_*`, `GOOGLE_*`, `AZURE_*`) or from options (`aws_endpoint`, `aws_access_key_id`, ...: every key
//! the `object_store` builders accept). Self-hosted S3 (SeaweedFS, MinIO) needs `aws_endpoint` and, for
//! plain HTTP, `aws_allow_http=true`. Every network call has a deadline and a bounded number of retries,
//! so nothing hangs.

mod file_read;
mod store;
mod url;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use serde::Serialize;

pub(crate) use self::store::upload_chunks;
pub use self::store::{BackupStore, Upload};
pub use self::url::{StoreKind, StoreUrl};
use crate::error::{Error, Result};

/// How to reach a store beyond its URL. Every field has a documented default.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Builder options passed to `object_store` (e.g. `aws_endpoint`, `aws_allow_http`,
    /// `aws_access_key_id`, `azure_storage_account_name`, `google_service_account`). Default: none; the
    /// cloud's environment variables apply.
    pub options: BTreeMap<String, String>,
    /// Deadline of one HTTP request. Default: 60 s.
    pub request_timeout: Option<Duration>,
    /// Deadline of establishing a connection. Default: 5 s.
    pub connect_timeout: Option<Duration>,
    /// Retries of a failed request. Default: 3.
    pub max_retries: Option<usize>,
    /// Give up retrying after this long. Default: 30 s.
    pub retry_timeout: Option<Duration>,
}

crate::setters::with_setters!(StoreOptions {
    with_options => options: BTreeMap<String, String>,
    with_request_timeout => request_timeout: opt Duration,
    with_connect_timeout => connect_timeout: opt Duration,
    with_max_retries => max_retries: opt usize,
    with_retry_timeout => retry_timeout: opt Duration,
});

impl StoreOptions {
    /// Sets one builder option.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// Parses one `KEY=VALUE` option (the form of the CLI's `--store-option`); key and value are
    /// trimmed.
    pub fn parse_pair(pair: &str) -> Result<(String, String)> {
        match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_string(), value.trim().to_string()))
            }
            _ => Err(Error::config(
                "store option",
                format!(
                    "`{}` is not KEY=VALUE (e.g. aws_endpoint=http://127.0.0.1:9000)",
                    pair.split('=').next().unwrap_or_default()
                ),
            )),
        }
    }

    /// Options from `KEY=VALUE` pairs.
    pub fn from_pairs<S: AsRef<str>>(pairs: impl IntoIterator<Item = S>) -> Result<Self> {
        let mut options = Self::default();
        for pair in pairs {
            let (key, value) = Self::parse_pair(pair.as_ref())?;
            options.options.insert(key, value);
        }
        Ok(options)
    }
}

/// One object in a store, with its key relative to the store's prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectInfo {
    /// Key relative to the store's URL prefix, `/`-separated.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// When the store last saw it written.
    pub last_modified: DateTime<Utc>,
}

/// What a listing found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// Objects by key, sorted.
    pub objects: Vec<ObjectInfo>,
    /// Raw names (as the store spells them) of objects that another tool wrote with characters no
    /// dbops key maps to (a raw `%41`, `~`, `#`, ...); they can be neither read nor deleted by key.
    pub unaddressable: Vec<String>,
}

/// A store of backups: an `object_store` backend plus the key prefix of the URL. A cheap `Clone` handle.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use dbops::{BackupStore, ObjectBackupStore, StoreOptions};
///
/// // An S3-compatible store of your own, over plain HTTP (credentials from the environment).
/// let options = StoreOptions::default()
///     .with("aws_endpoint", "http://127.0.0.1:9000")
///     .with("aws_allow_http", "true")
///     .with_max_retries(5);
/// let store = ObjectBackupStore::open_with("s3://backups/prod", &options)?;
/// let took = store.probe().await?; // writes, reads back and deletes a small object
/// println!("{} reachable in {took:?}", store.describe());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ObjectBackupStore {
    inner: Arc<dyn ObjectStore>,
    prefix: Path,
    display: String,
}

impl ObjectBackupStore {
    /// Opens the store at `url` (`file:///path`, `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix`, `memory://name`) with credentials from the environment.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, &StoreOptions::default())
    }

    /// Opens the store at `url` with explicit options.
    pub fn open_with(url: &str, options: &StoreOptions) -> Result<Self> {
        let parsed = StoreUrl::parse(url)?;
        let inner = build(&parsed, options)?;
        Ok(Self {
            inner,
            prefix: Path::from(parsed.prefix()),
            display: parsed.redacted(),
        })
    }

    /// Wraps an existing `object_store` backend (for example a fault-injecting wrapper in tests).
    pub fn from_object_store(
        inner: Arc<dyn ObjectStore>,
        prefix: &str,
        display: impl Into<String>,
    ) -> Self {
        Self {
            inner,
            prefix: Path::from(prefix),
            display: display.into(),
        }
    }

    /// The store's URL for messages, credentials removed.
    pub fn describe(&self) -> &str {
        &self.display
    }

    fn path(&self, key: &str) -> Result<Path> {
        validate_key(key)?;
        let mut path = self.prefix.clone();
        for part in key.split('/') {
            path = path.join(part);
        }
        Ok(path)
    }

    /// The key of a listed object: the inverse of [`Self::path`]. Path parts are percent-encoded
    /// (a `%` in a key is stored as `%25`), so each part is decoded again; keys with `%` (every
    /// database name outside `[A-Za-z0-9_.-]`) would otherwise never be readable from a listing.
    ///
    /// `None` when the name was not written through [`Self::path`] and cannot be addressed by a key
    /// (another tool wrote a raw `%41`, `~` or `#`, or bytes that are not UTF-8): such an object must be
    /// reported, never read or deleted under a key that names a different object.
    fn relative(&self, path: &Path) -> Option<String> {
        let decode = |part: object_store::path::PathPart<'_>| {
            let decoded = percent_encoding::percent_decode_str(part.as_ref())
                .decode_utf8()
                .ok()?;
            let reencoded = object_store::path::PathPart::from(decoded.as_ref());
            (reencoded.as_ref() == part.as_ref()).then(|| decoded.into_owned())
        };
        let parts: Option<Vec<String>> = match path.prefix_match(&self.prefix) {
            Some(rest) => rest.map(decode).collect(),
            None => path.parts().map(decode).collect(),
        };
        parts.map(|parts| parts.join("/"))
    }

    fn error(&self, action: &str, key: &str, source: object_store::Error) -> Error {
        Error::storage(
            crate::error::StorageErrorKind::of(&source),
            action,
            self.display.clone(),
            key,
            source,
        )
    }
}

#[async_trait]
impl BackupStore for ObjectBackupStore {
    fn describe(&self) -> String {
        self.display.clone()
    }

    /// Writes a small object in one request, replacing any existing one.
    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        let path = self.path(key)?;
        self.inner
            .put(&path, PutPayload::from(data))
            .await
            .map_err(|e| self.error("writing", key, e))?;
        Ok(())
    }

    /// Writes a small object only if no object has that key. Returns `false` when one already exists.
    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool> {
        let path = self.path(key)?;
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .inner
            .put_opts(&path, PutPayload::from(data), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(self.error("creating", key, e)),
        }
    }

    /// Reads a whole (small) object.
    async fn get(&self, key: &str) -> Result<Bytes> {
        let path = self.path(key)?;
        let result = self
            .inner
            .get(&path)
            .await
            .map_err(|e| self.error("reading", key, e))?;
        result
            .bytes()
            .await
            .map_err(|e| self.error("reading", key, e))
    }

    /// Streams an object: its size and its bytes in chunks.
    async fn get_stream(&self, key: &str) -> Result<(u64, BoxStream<'static, Result<Bytes>>)> {
        let path = self.path(key)?;
        let result = self
            .inner
            .get(&path)
            .await
            .map_err(|e| self.error("reading", key, e))?;
        let size = result.meta.size;
        let store = self.display.clone();
        let owned_key = key.to_string();
        let stream = match result.payload {
            object_store::GetResultPayload::File(file, path) => {
                file_read::chunks(file, path, result.range)
                    .map(|chunk| {
                        chunk.map_err(|e| object_store::Error::Generic {
                            store: "LocalFileSystem",
                            source: Box::new(e),
                        })
                    })
                    .boxed()
            }
            object_store::GetResultPayload::Stream(stream) => stream,
        };
        let stream = stream
            .map(move |chunk| {
                chunk.map_err(|source| {
                    Error::storage(
                        crate::error::StorageErrorKind::of(&source),
                        "downloading",
                        store.clone(),
                        owned_key.clone(),
                        source,
                    )
                })
            })
            .boxed();
        Ok((size, stream))
    }

    /// Size and time of an object, or `None` when it does not exist.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let path = self.path(key)?;
        match self.inner.head(&path).await {
            Ok(meta) => Ok(Some(ObjectInfo {
                key: key.to_string(),
                size: meta.size,
                last_modified: meta.last_modified,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("inspecting", key, e)),
        }
    }

    /// Every object under `prefix`, plus the raw names of objects that no key can address.
    async fn list_all(&self, prefix: &str) -> Result<Listing> {
        let path = if prefix.is_empty() {
            self.prefix.clone()
        } else {
            self.path(prefix.trim_end_matches('/'))?
        };
        let listing_prefix = (!path.as_ref().is_empty()).then_some(&path);
        let mut stream = self.inner.list(listing_prefix);
        let mut listing = Listing::default();
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| self.error("listing", prefix, e))?;
            match self.relative(&meta.location) {
                Some(key) => listing.objects.push(ObjectInfo {
                    key,
                    size: meta.size,
                    last_modified: meta.last_modified,
                }),
                None => listing.unaddressable.push(meta.location.to_string()),
            }
        }
        listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
        listing.unaddressable.sort();
        Ok(listing)
    }

    /// Deletes an object; deleting one that does not exist succeeds.
    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("deleting", key, e)),
        }
    }

    /// Starts a multipart upload to `key`. Nothing is visible under `key` until [`Upload::finish`];
    /// [`Upload::abort`] (or dropping it unfinished) discards the parts.
    async fn upload(&self, key: &str) -> Result<Box<dyn Upload>> {
        let path = self.path(key)?;
        let multipart = self
            .inner
            .put_multipart(&path)
            .await
            .map_err(|e| self.error("starting the upload of", key, e))?;
        Ok(Box::new(ObjectUpload {
            writer: Some(WriteMultipart::new_with_chunk_size(
                multipart,
                UPLOAD_PART_SIZE,
            )),
            store: self.clone(),
            key: key.to_string(),
        }))
    }
}

/// Size of each uploaded part (S3 needs at least 5 MiB except for the last).
pub const UPLOAD_PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once; with [`UPLOAD_PART_SIZE`] this bounds upload buffers to about 32 MiB.
pub const UPLOAD_CONCURRENCY: usize = 4;

/// A multipart upload to an [`ObjectBackupStore`]. Dropping it unfinished aborts it in the background
/// (tracked by [`crate::cleanup`]).
#[derive(Debug)]
pub struct ObjectUpload {
    writer: Option<WriteMultipart>,
    store: ObjectBackupStore,
    key: String,
}

#[async_trait]
impl Upload for ObjectUpload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        // A part that already failed (a full disk, a refused request) ends the upload now, not only
        // once as many parts as the upload runs at once are in flight.
        let finished = std::future::poll_fn(|cx| writer.poll_for_capacity(cx, 1));
        if let std::task::Poll::Ready(Err(e)) = futures::poll!(finished) {
            return Err(self.store.error("uploading", &self.key, e));
        }
        writer
            .wait_for_capacity(UPLOAD_CONCURRENCY)
            .await
            .map_err(|e| self.store.error("uploading", &self.key, e))?;
        writer.put(data);
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<()> {
        if let Some(writer) = self.writer.take() {
            writer
                .finish()
                .await
                .map_err(|e| self.store.error("completing the upload of", &self.key, e))?;
        }
        Ok(())
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        if let Some(writer) = self.writer.take() {
            writer
                .abort()
                .await
                .map_err(|e| self.store.error("aborting the upload of", &self.key, e))?;
        }
        Ok(())
    }
}

impl Drop for ObjectUpload {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            let key = self.key.clone();
            crate::cleanup::spawn(
                format!("aborting the unfinished upload of `{key}`"),
                Box::pin(async move {
                    if let Err(error) = writer.abort().await {
                        tracing::warn!(%key, %error, "could not abort an unfinished upload");
                    }
                }),
            );
        }
    }
}

/// Rejects keys that could escape the store's prefix or that object stores mangle.
fn validate_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        || key.chars().any(|c| c.is_control() || c == '\\');
    if bad {
        return Err(Error::config(
            "object key",
            format!(
                "`{}` is not a safe key: keys are `/`-separated names without empty, `.` or `..` parts, \
                 backslashes or control characters",
                key.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// A key as it can be shown in a terminal or a log line: control characters (newlines, escape
/// sequences) are escaped, everything else is kept as it is.
pub fn printable_key(key: &str) -> std::borrow::Cow<'_, str> {
    if key.chars().any(char::is_control) {
        key.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        key.into()
    }
}

/// A name (a database name, a label) as one safe key component: letters, digits, `-`, `_` and `.` stay,
/// everything else becomes `%XX`, and a leading dot is escaped so no component is `.` or `..`.
pub fn key_component(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        let keep =
            byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') || (byte == b'.' && i > 0);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

#[cfg_attr(
    not(any(feature = "s3", feature = "gcs", feature = "azure")),
    allow(unused_variables)
)]
fn build(url: &StoreUrl, options: &StoreOptions) -> Result<Arc<dyn ObjectStore>> {
    let build_error = |e: object_store::Error| {
        Error::config(
            format!("store `{}`", url.redacted()),
            format!("{e}; check the URL, the credentials in the environment and the options"),
        )
    };
    #[cfg(feature = "cloud-http")]
    crate::config::tls::ensure_default_crypto_provider();
    let store: Arc<dyn ObjectStore> = match url.kind() {
        StoreKind::File => {
            let dir = url.local_path();
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io("creating the backup directory", &dir, e))?;
            Arc::new(
                object_store::local::LocalFileSystem::new_with_prefix(&dir)
                    .map_err(build_error)?
                    .with_automatic_cleanup(true),
            )
        }
        StoreKind::Memory => memory_store(url.bucket()),
        #[cfg(feature = "s3")]
        StoreKind::S3 => {
            let (client, retry) = client_settings(options);
            let builder = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url.as_str())
                .with_client_options(client)
                .with_retry(retry);
            let builder = with_options(builder, &options.options, |b, k, v| b.with_config(k, v))?;
            Arc::new(builder.build().map_err(build_error)?)
        }
        #[cfg(feature = "gcs")]
        StoreKind::Gcs => {
            let (client, retry) = client_settings(options);
            let builder = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .with_client_options(client)
                .with_retry(retry);
            let builder = with_options(builder, &options.options, |b, k, v| b.with_config(k, v))?;
            Arc::new(builder.build().map_err(build_error)?)
        }
        #[cfg(feature = "azure")]
        StoreKind::Azure => {
            let (client, retry) = client_settings(options);
            let builder = object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .with_client_options(client)
                .with_retry(retry);
            let builder = with_options(builder, &options.options, |b, k, v| b.with_config(k, v))?;
            Arc::new(builder.build().map_err(build_error)?)
        }
        #[allow(unreachable_patterns)]
        other => return Err(missing_cloud_feature(url, other)),
    };
    Ok(store)
}

/// The error for a cloud URL whose backend this build was made without.
fn missing_cloud_feature(url: &StoreUrl, kind: StoreKind) -> Error {
    let feature = match kind {
        StoreKind::S3 => "s3",
        StoreKind::Gcs => "gcs",
        StoreKind::Azure => "azure",
        StoreKind::File | StoreKind::Memory => "backup",
    };
    Error::config(
        format!("store `{}`", url.redacted()),
        format!(
            "this build of dbops has no `{feature}` support; enable the cargo feature `{feature}` of \
             dbops-core (the `dbops` CLI and the Python package have every backend)"
        ),
    )
}

/// Request deadlines and retries of the cloud clients, from the options' documented defaults.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn client_settings(
    options: &StoreOptions,
) -> (object_store::ClientOptions, object_store::RetryConfig) {
    let client = object_store::ClientOptions::new()
        .with_timeout(options.request_timeout.unwrap_or(Duration::from_secs(60)))
        .with_connect_timeout(options.connect_timeout.unwrap_or(Duration::from_secs(5)));
    let retry = object_store::RetryConfig {
        max_retries: options.max_retries.unwrap_or(3),
        retry_timeout: options.retry_timeout.unwrap_or(Duration::from_secs(30)),
        ..object_store::RetryConfig::default()
    };
    (client, retry)
}

/// Applies `--store-option key=value` settings to a cloud store builder (`set` is its `with_config`).
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn with_options<B, K>(
    mut builder: B,
    options: &BTreeMap<String, String>,
    set: impl Fn(B, K, &str) -> B,
) -> Result<B>
where
    K: std::str::FromStr<Err = object_store::Error>,
{
    for (key, value) in options {
        let parsed = key.parse().map_err(|e: object_store::Error| {
            Error::config(
                format!("store option `{key}`"),
                format!("{e}; see the object_store builder documentation for accepted keys"),
            )
        })?;
        builder = set(builder, parsed, value);
    }
    Ok(builder)
}

/// `memory://name` stores live as long as the process and are shared by name, so one process can back up
/// and restore through the same in-memory store.
fn memory_store(name: &str) -> Arc<dyn ObjectStore> {
    static STORES: OnceLock<Mutex<BTreeMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    let stores = STORES.get_or_init(|| Mutex::new(BTreeMap::new()));
    let mut stores = stores
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    stores
        .entry(name.to_string())
        .or_insert_with(|| Arc::new(object_store::memory::InMemory::new()))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_components_are_safe_and_reversible_enough() {
        assert_eq!(key_component("ridehailing"), "ridehailing");
        assert_eq!(key_component(".."), "%2E.");
        assert_eq!(key_component("a/b c"), "a%2Fb%20c");
        assert_eq!(key_component("é"), "%C3%A9");
        assert_eq!(key_component(""), "%00");
    }

    #[test]
    fn unsafe_keys_are_rejected() {
        for key in ["", "/abs", "a/../b", "a//b", "./a", "a\\b", "a\nb"] {
            assert!(validate_key(key).is_err(), "{key:?} accepted");
        }
        validate_key("db/2024-01-15T120000Z-ab.dump.zst").unwrap();
    }
}
