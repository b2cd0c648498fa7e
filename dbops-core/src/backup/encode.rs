//! The encoding stage every stored object goes through: a stream of plaintext chunks is hashed and
//! counted on the async side, compressed and encrypted on a blocking thread, and uploaded (multipart)
//! as it is produced. Memory stays bounded by a few chunks per stream.

use std::io::{Read, Write};
use std::time::Instant;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use crate::catalog::StoredObject;
use crate::codec::Encryption;
use crate::codec::{CHUNK, ChannelSink, ChannelSource, Compression};
use crate::error::{Error, Result};
use crate::progress::{self, Progress, ProgressUnit};
use crate::storage::{BackupStore, Upload};

/// How objects are encoded.
#[derive(Debug, Clone)]
pub(crate) struct Encoding {
    pub compression: Compression,
    pub level: i32,
    pub threads: u32,
    pub encryption: Encryption,
}

/// An encoded, uploaded (but not yet finished) object.
pub(crate) struct Encoded {
    /// The upload: finish it to publish the object, or abort it.
    pub upload: Box<dyn Upload>,
    /// What was stored, with both hashes.
    pub object: StoredObject,
    /// Newline bytes in the plaintext (rows, for COPY text data).
    pub newlines: u64,
}

/// Progress reporting of one encoded stream.
pub(crate) struct Reporting<'a> {
    pub progress: Option<&'a Progress>,
    pub stage: &'static str,
    pub estimate: Option<u64>,
}

/// Streams `source` through compression and encryption into a multipart upload to `key`.
pub(crate) async fn encode_stream<S>(
    store: &dyn BackupStore,
    key: &str,
    encoding: &Encoding,
    source: S,
    reporting: Reporting<'_>,
) -> Result<Encoded>
where
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    let (plain_tx, plain_rx) = tokio::sync::mpsc::channel::<std::result::Result<Bytes, String>>(4);
    let (stored_tx, stored_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let encoder = spawn_encoder(encoding, plain_rx, stored_tx)?;
    let forwarding = forward(source, plain_tx, reporting);
    // A failed upload closes its receiver: the encoder's next send fails, the encoder drops its
    // input, and the forwarding stops sending: no stage waits on another that is gone.
    let uploading = crate::storage::upload_chunks(store, key, stored_rx);
    let (forwarded, uploaded) = tokio::join!(forwarding, uploading);
    let encoded = encoder.await;
    let plain = forwarded?;
    let (upload, stored_size, stored_sha) = uploaded?;
    match encoded {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            upload.abort().await.ok();
            return Err(Error::io(
                "compressing and encrypting",
                key,
                std::io::Error::new(e.kind(), e.to_string()),
            ));
        }
        Err(e) => {
            upload.abort().await.ok();
            return Err(Error::Cancelled {
                action: format!("the encoding thread of `{key}` ({e})"),
            });
        }
    }
    Ok(Encoded {
        upload,
        object: StoredObject {
            key: key.to_string(),
            size: stored_size,
            sha256: stored_sha,
            plaintext_size: plain.size,
            plaintext_sha256: plain.sha256,
        },
        newlines: plain.newlines,
    })
}

/// The plaintext as it went by.
struct Plaintext {
    size: u64,
    sha256: String,
    newlines: u64,
}

/// Hashes, counts and hands every chunk of `source` to the encoder. A source error reaches the
/// encoder as an error (so nothing is finished) and is returned.
async fn forward<S>(
    mut source: S,
    sender: tokio::sync::mpsc::Sender<std::result::Result<Bytes, String>>,
    reporting: Reporting<'_>,
) -> Result<Plaintext>
where
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    let mut hasher = Sha256::new();
    let (mut size, mut newlines) = (0u64, 0u64);
    let mut last_report = Instant::now();
    while let Some(chunk) = source.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                let _ = sender.send(Err(error.to_string())).await;
                return Err(error);
            }
        };
        hasher.update(&chunk);
        size += chunk.len() as u64;
        newlines += bytecount(&chunk);
        if last_report.elapsed().as_millis() >= 200 {
            last_report = Instant::now();
            progress::report(
                reporting.progress,
                reporting.stage,
                size,
                reporting.estimate,
                ProgressUnit::Bytes,
            );
        }
        if sender.send(Ok(chunk)).await.is_err() {
            break; // the encoder stopped; its error explains why
        }
    }
    Ok(Plaintext {
        size,
        sha256: hex::encode(hasher.finalize()),
        newlines,
    })
}

fn bytecount(chunk: &[u8]) -> u64 {
    chunk.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The blocking thread that compresses and encrypts what arrives on `input` into `output`.
fn spawn_encoder(
    encoding: &Encoding,
    input: tokio::sync::mpsc::Receiver<std::result::Result<Bytes, String>>,
    output: tokio::sync::mpsc::Sender<Bytes>,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let sink = encoding
        .encryption
        .wrap(Box::new(ChannelSink::new(output)))?;
    let mut writer = encoding
        .compression
        .wrap(sink, encoding.level, encoding.threads)?;
    Ok(tokio::task::spawn_blocking(move || {
        let mut source = ChannelSource::new(input);
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            writer.write_all(&buf[..n])?;
            crate::failpoint::failpoint("backup::mid_stream")
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        writer.finish_all()
    }))
}

/// Joins the small chunks of `source` into chunks of about [`CHUNK`] bytes. `COPY TO STDOUT` sends
/// one message per row: hashing, channel hand-over and encoding per row cost three times the dump
/// itself, per megabyte they vanish.
pub(crate) fn coalesce<S>(source: S) -> impl Stream<Item = Result<Bytes>> + Unpin
where
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    Box::pin(futures::stream::unfold(Some(source), |state| async move {
        let mut source = state?;
        let mut buffer = bytes::BytesMut::new();
        loop {
            match source.next().await {
                Some(Ok(chunk)) if buffer.is_empty() && chunk.len() >= CHUNK => {
                    return Some((Ok(chunk), Some(source)));
                }
                Some(Ok(chunk)) => {
                    if buffer.capacity() == 0 {
                        buffer.reserve(CHUNK);
                    }
                    buffer.extend_from_slice(&chunk);
                    if buffer.len() >= CHUNK {
                        return Some((Ok(buffer.freeze()), Some(source)));
                    }
                }
                // What came before an error is never stored: the error is all that matters.
                Some(Err(error)) => return Some((Err(error), None)),
                None if buffer.is_empty() => return None,
                None => return Some((Ok(buffer.freeze()), None)),
            }
        }
    }))
}

/// A child's stdout as a stream of chunks.
pub(crate) fn read_stream<R>(
    reader: R,
    what: &'static str,
) -> impl Stream<Item = Result<Bytes>> + Unpin
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    use tokio::io::AsyncReadExt;
    Box::pin(futures::stream::unfold(
        Some(reader),
        move |state| async move {
            let mut reader = state?;
            let mut buf = bytes::BytesMut::with_capacity(CHUNK);
            match reader.read_buf(&mut buf).await {
                Ok(0) => None,
                Ok(_) => Some((Ok(buf.freeze()), Some(reader))),
                Err(e) => Some((Err(Error::io(what, "", e)), None)),
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn coalesce_joins_rows_into_chunks_and_keeps_every_byte() {
        let rows: Vec<Result<Bytes>> = (0..100_000)
            .map(|i| Ok(Bytes::from(format!("{i}\trow {i}\n"))))
            .collect();
        let expected: Vec<u8> = rows
            .iter()
            .flat_map(|r| r.as_ref().unwrap().to_vec())
            .collect();
        let chunks: Vec<Bytes> = coalesce(futures::stream::iter(rows))
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert!(chunks.len() > 1, "{}", chunks.len());
        assert!(chunks[..chunks.len() - 1].iter().all(|c| c.len() >= CHUNK));
        assert_eq!(chunks.concat(), expected);
    }

    #[tokio::test]
    async fn coalesce_passes_an_error_and_stops() {
        let items: Vec<Result<Bytes>> = vec![
            Ok(Bytes::from_static(b"a\n")),
            Err(Error::Cancelled {
                action: "copying".into(),
            }),
            Ok(Bytes::from_static(b"b\n")),
        ];
        let out: Vec<Result<Bytes>> = coalesce(futures::stream::iter(items)).collect().await;
        assert_eq!(out.len(), 1);
        assert!(out[0].is_err());
    }
}
