//! A fault-injecting `ObjectStore` wrapper: failed part uploads, failed multipart completion, stalls,
//! failing reads (dropped connections) and listing lag, switchable at run time.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

/// Switches shared by a store and its uploads.
#[derive(Debug, Default)]
pub struct Faults {
    /// Fail `complete()` of multipart uploads.
    pub fail_complete: AtomicBool,
    /// Fail every part upload after this many succeeded (usize::MAX: never).
    pub fail_parts_after: AtomicUsize,
    parts: AtomicUsize,
    /// Sleep this many ms in every put (small objects).
    pub stall_put_ms: AtomicU64,
    /// Fail reads of object data.
    pub fail_get: AtomicBool,
    /// Hide manifests from listings (a store whose listing lags behind writes).
    pub hide_manifests: AtomicBool,
    /// Sleep this many ms before writing a backup manifest (holds a backup in flight, its data
    /// uploaded but not yet published).
    pub stall_manifest_ms: AtomicU64,
    /// Manifest writes that started (and are stalled or done).
    pub manifest_puts: AtomicUsize,
    /// Multipart uploads aborted.
    pub aborted: AtomicUsize,
}

impl Faults {
    pub fn new() -> Arc<Self> {
        let faults = Self::default();
        faults.fail_parts_after.store(usize::MAX, Ordering::SeqCst);
        Arc::new(faults)
    }
}

fn injected(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "faults",
        source: format!("injected fault: {what}").into(),
    }
}

#[derive(Debug)]
pub struct FaultStore {
    inner: Arc<dyn ObjectStore>,
    pub faults: Arc<Faults>,
}

impl FaultStore {
    pub fn new(faults: Arc<Faults>) -> Self {
        Self {
            inner: Arc::new(object_store::memory::InMemory::new()),
            faults,
        }
    }
}

impl fmt::Display for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultStore({})", self.inner)
    }
}

#[derive(Debug)]
struct FaultUpload {
    inner: Box<dyn MultipartUpload>,
    faults: Arc<Faults>,
}

#[async_trait]
impl MultipartUpload for FaultUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let n = self.faults.parts.fetch_add(1, Ordering::SeqCst);
        if n >= self.faults.fail_parts_after.load(Ordering::SeqCst) {
            return Box::pin(async { Err(injected("part upload")) });
        }
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        if self.faults.fail_complete.load(Ordering::SeqCst) {
            return Err(injected("multipart completion"));
        }
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.faults.aborted.fetch_add(1, Ordering::SeqCst);
        self.inner.abort().await
    }
}

#[async_trait]
impl ObjectStore for FaultStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let stall = self.faults.stall_put_ms.load(Ordering::SeqCst);
        if stall > 0 {
            tokio::time::sleep(Duration::from_millis(stall)).await;
        }
        if location.as_ref().ends_with(".manifest.json") {
            self.faults.manifest_puts.fetch_add(1, Ordering::SeqCst);
            let stall = self.faults.stall_manifest_ms.load(Ordering::SeqCst);
            if stall > 0 {
                tokio::time::sleep(Duration::from_millis(stall)).await;
            }
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(FaultUpload {
            inner,
            faults: self.faults.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if self.faults.fail_get.load(Ordering::SeqCst) && !location.as_ref().ends_with(".json") {
            return Err(injected("connection dropped while reading"));
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let hide = self.faults.hide_manifests.load(Ordering::SeqCst);
        self.inner
            .list(prefix)
            .filter(move |m| {
                let keep = !(hide
                    && m.as_ref()
                        .is_ok_and(|m| m.location.as_ref().ends_with(".manifest.json")));
                futures::future::ready(keep)
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
