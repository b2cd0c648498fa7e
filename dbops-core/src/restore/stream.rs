//! Download -> verify -> decrypt -> decompress, streaming into any writer on a blocking thread.
//!
//! The stored sha256 and size are checked as bytes arrive; a mismatch reaches the writer's thread as an
//! error *before* end of input, so a consumer that commits only at end of input (`pg_restore
//! --single-transaction`, `psql --single-transaction`) never commits bad data. The plaintext sha256 is
//! checked before the writer is told the input is complete.

use std::io::{Read, Write};
use std::time::Instant;

use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::backup::BackupEntry;
use crate::codec::{CHUNK, ChannelSource, Compression, Decryption, EncryptionMode};
use crate::error::{Error, Result};
use crate::progress::{self, Progress, ProgressUnit};
use crate::storage::BackupStore;

/// What streaming a backup's data produced.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoded {
    pub stored_bytes: u64,
    pub plaintext_bytes: u64,
}

/// How a backup's bytes are encoded.
pub(crate) fn encoding_of(entry: &BackupEntry) -> (Compression, bool) {
    match &entry.manifest {
        Some(m) => (m.compression, m.encryption.mode != EncryptionMode::None),
        None if entry.key.ends_with(".gz") => (Compression::Gzip, false),
        None => (Compression::None, false),
    }
}

/// One stored object and what its manifest promises about it.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub key: String,
    pub compression: Compression,
    pub encrypted: bool,
    /// Stored size and sha256 (none for legacy files).
    pub stored: Option<(u64, String)>,
    /// Decoded size and sha256 (none for legacy files).
    pub plain: Option<(u64, String)>,
    /// The backup's sealed identity (passphrase backups that have one).
    pub sealed_identity: Option<String>,
}

impl Source {
    /// The data object of a backup.
    pub(crate) fn of_entry(entry: &BackupEntry) -> Self {
        let (compression, encrypted) = encoding_of(entry);
        Self {
            key: entry.key.clone(),
            compression,
            encrypted,
            stored: entry
                .manifest
                .as_ref()
                .map(|m| (m.data.size, m.data.sha256.clone())),
            plain: entry
                .manifest
                .as_ref()
                .map(|m| (m.data.plaintext_size, m.data.plaintext_sha256.clone())),
            sealed_identity: entry
                .manifest
                .as_ref()
                .and_then(|m| m.encryption.sealed_identity.clone()),
        }
    }

    /// Another object of a backup encoded like its data (a table's part, the globals).
    pub(crate) fn of_object(
        object: &crate::backup::StoredObject,
        manifest: &crate::backup::Manifest,
    ) -> Self {
        Self {
            key: object.key.clone(),
            compression: manifest.compression,
            encrypted: manifest.encryption.mode != EncryptionMode::None,
            stored: Some((object.size, object.sha256.clone())),
            plain: Some((object.plaintext_size, object.plaintext_sha256.clone())),
            sealed_identity: manifest.encryption.sealed_identity.clone(),
        }
    }
}

/// Streams the decoded data of `entry` into the writer made by `make_sink` (called on the blocking
/// thread). Returns after the writer has received every byte and the hashes matched; the writer is
/// dropped (closing a child's stdin) only on success.
pub(crate) async fn decode_into<W, F>(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    decryption: &Decryption,
    progress: Option<&Progress>,
    make_sink: F,
) -> Result<(Decoded, W)>
where
    W: Write + Send + 'static,
    F: FnOnce() -> std::io::Result<W> + Send + 'static,
{
    decode_source_into(
        store,
        &Source::of_entry(entry),
        decryption,
        progress,
        make_sink,
    )
    .await
}

/// [`decode_into`] a new private (0600) file at `path`, which must not exist; `what` names the file
/// in errors. Returns the file, every byte written.
pub(crate) async fn decode_into_private_file(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    decryption: &Decryption,
    progress: Option<&Progress>,
    path: &std::path::Path,
    what: &str,
) -> Result<(Decoded, std::fs::File)> {
    let file_path = path.to_path_buf();
    let (decoded, file) = decode_into(store, entry, decryption, progress, move || {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file_path)
            .map(std::io::BufWriter::new)
    })
    .await?;
    let file = file
        .into_inner()
        .map_err(|e| Error::io(format!("writing {what}"), path, e.into_error()))?;
    Ok((decoded, file))
}

/// Like [`decode_into`] for any object of a backup.
pub(crate) async fn decode_source_into<W, F>(
    store: &dyn BackupStore,
    source: &Source,
    decryption: &Decryption,
    progress: Option<&Progress>,
    make_sink: F,
) -> Result<(Decoded, W)>
where
    W: Write + Send + 'static,
    F: FnOnce() -> std::io::Result<W> + Send + 'static,
{
    let (compression, encrypted) = (source.compression, source.encrypted);
    let expected_plain = source.plain.clone();
    let (size, stream) = store.get_stream(&source.key).await?;
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<std::result::Result<bytes::Bytes, String>>(8);
    let decryption = decryption.clone();
    let thread_key = source.key.clone();
    let sealed = source.sealed_identity.clone();
    let decoder = tokio::task::spawn_blocking(move || -> Result<(u64, W)> {
        let input: Box<dyn Read + Send> = Box::new(ChannelSource::new(receiver));
        let input = if encrypted {
            decryption.wrap(input, &thread_key, sealed.as_deref())?
        } else {
            input
        };
        let reader = compression.unwrap_reader(input)?;
        let sink = make_sink().map_err(|e| Error::io("starting the restore consumer", "", e))?;
        decode_blocking(reader, sink, &thread_key, expected_plain)
    });
    let started = Instant::now();
    let downloaded = download(source, stream, &sender, size, progress).await;
    drop(sender);
    let decoded = decoder.await.map_err(|e| Error::Cancelled {
        action: format!("decoding `{}` ({e})", source.key),
    })?;
    let received = downloaded?;
    let (plain, sink) = decoded?;
    progress::report(
        progress,
        "restored",
        received,
        Some(size),
        ProgressUnit::Bytes,
    );
    tracing::debug!(elapsed = ?started.elapsed(), received, plain, "decoded");
    Ok((
        Decoded {
            stored_bytes: received,
            plaintext_bytes: plain,
        },
        sink,
    ))
}

/// The decoding thread's loop: reads the decrypted, decompressed plaintext into `sink`, hashing it,
/// and checks it against the manifest's size and sha256 (`expected`).
fn decode_blocking<W: Write>(
    mut reader: impl Read,
    mut sink: W,
    key: &str,
    expected: Option<(u64, String)>,
) -> Result<(u64, W)> {
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::Integrity {
                    key: key.to_string(),
                    reason: format!(
                        "reading failed after {total} decoded bytes: {e}; the object is corrupt, \
                         truncated or not decryptable with the given key; nothing was committed"
                    ),
                });
            }
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        sink.write_all(&buf[..n])
            .map_err(|e| Error::io("feeding the restore consumer", "", e))?;
        crate::failpoint::failpoint("restore::mid_stream")?;
    }
    if let Some((size, sha)) = expected {
        let actual = hex::encode(hasher.finalize());
        if total != size || actual != sha {
            return Err(Error::Integrity {
                key: key.to_string(),
                reason: format!(
                    "decoded data has {total} bytes with sha256 {actual}, the manifest says {size} \
                     bytes with sha256 {sha}; nothing was committed"
                ),
            });
        }
    }
    sink.flush()
        .map_err(|e| Error::io("feeding the restore consumer", "", e))?;
    Ok((total, sink))
}

/// Hands the stored object's chunks to the decoder, hashing them; a download error or a stored
/// size or sha256 other than the manifest's reaches the decoder as an error (so nothing commits).
async fn download(
    source: &Source,
    mut stream: futures::stream::BoxStream<'static, Result<bytes::Bytes>>,
    sender: &tokio::sync::mpsc::Sender<std::result::Result<bytes::Bytes, String>>,
    size: u64,
    progress: Option<&Progress>,
) -> Result<u64> {
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let mut last = Instant::now();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                let _ = sender.send(Err(format!("download failed: {e}"))).await;
                return Err(e);
            }
        };
        hasher.update(&chunk);
        received += chunk.len() as u64;
        if last.elapsed().as_millis() >= 200 {
            last = Instant::now();
            progress::report(
                progress,
                "restoring",
                received,
                Some(size),
                ProgressUnit::Bytes,
            );
        }
        if sender.send(Ok(chunk)).await.is_err() {
            // The decoder stopped; its error explains why.
            return Ok(received);
        }
    }
    if let Some((size, sha)) = &source.stored {
        let actual = hex::encode(hasher.finalize());
        if received != *size || &actual != sha {
            let reason = format!(
                "the stored object has {received} bytes with sha256 {actual}, the manifest says \
                 {size} bytes with sha256 {sha}; the object was altered or truncated"
            );
            let _ = sender.send(Err(reason.clone())).await;
            return Err(Error::Integrity {
                key: source.key.clone(),
                reason,
            });
        }
    }
    Ok(received)
}

/// A writer into a child's stdin that, once the child closes it (`pg_restore --list` reads only the
/// table of contents), discards the rest so the whole object is still read and verified.
/// The input of a consumer that commits at the end of its input (`psql --single-transaction`, a
/// `pg_restore --single-transaction`): a restore that fails or is cancelled half-way must never look
/// complete to it. Dropped before [`ConsumerInput::finish`], it kills the consumer first and only
/// then closes the input.
pub(crate) struct ConsumerInput {
    file: Option<std::fs::File>,
    pid: Option<u32>,
}

impl ConsumerInput {
    /// The input `file` of the consumer process `pid`.
    pub(crate) fn new(file: std::fs::File, pid: Option<u32>) -> Self {
        Self {
            file: Some(file),
            pid,
        }
    }

    /// Everything was written and checked: the input may end (and the consumer commit).
    pub(crate) fn finish(mut self) {
        drop(self.file.take());
    }
}

impl Write for ConsumerInput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.as_mut() {
            Some(file) => file.write(buf),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for ConsumerInput {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            if let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            drop(file);
        }
    }
}

pub(crate) struct TolerantPipe {
    inner: Option<std::fs::File>,
}

impl TolerantPipe {
    pub(crate) fn new(inner: std::fs::File) -> Self {
        Self { inner: Some(inner) }
    }
}

impl Write for TolerantPipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(inner) = self.inner.as_mut() {
            match inner.write_all(buf) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => self.inner = None,
                Err(e) => return Err(e),
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
