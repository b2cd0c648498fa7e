//! Streaming a local file's object in large reads. object_store's own stream of a local file reads
//! 8 KiB per blocking task: a 100 MB table object becomes 12,000 thread hand-offs, each waking the
//! decoder, which cost a restore about a fifth of its client CPU. Here each blocking task reads a
//! megabyte.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

/// Bytes per read (and per chunk handed on).
const READ_SIZE: u64 = crate::codec::CHUNK as u64;

/// The bytes of `range` of `file` (at `path`, named in errors), a megabyte per chunk, each read on
/// tokio's blocking pool.
pub(super) fn chunks(
    file: std::fs::File,
    path: PathBuf,
    range: Range<u64>,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    let state = Some((file, range.start, range.end));
    futures::stream::try_unfold(state, move |state| {
        let path = path.clone();
        async move {
            let Some((file, at, end)) = state else {
                return Ok(None);
            };
            if at >= end {
                return Ok(None);
            }
            let (file, chunk) = tokio::task::spawn_blocking(move || read_at(file, at, end))
                .await
                .map_err(std::io::Error::other)?
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("reading {}: {e}", path.display()))
                })?;
            if chunk.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "{} ended at byte {at}, before the {end} bytes it had when opened",
                        path.display()
                    ),
                ));
            }
            let next = at + chunk.len() as u64;
            Ok(Some((chunk, Some((file, next, end)))))
        }
    })
    .boxed()
}

/// Reads up to [`READ_SIZE`] bytes of `file` from `at`, stopping at `end`.
fn read_at(mut file: std::fs::File, at: u64, end: u64) -> std::io::Result<(std::fs::File, Bytes)> {
    file.seek(SeekFrom::Start(at))?;
    let want = READ_SIZE.min(end - at);
    let mut buffer = Vec::with_capacity(want as usize);
    (&mut file).take(want).read_to_end(&mut buffer)?;
    Ok((file, Bytes::from(buffer)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    /// A file of `len` bytes whose byte i is `i % 251`.
    fn numbered_file(len: usize) -> (tempfile::NamedTempFile, Vec<u8>) {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, &data).expect("write");
        (file, data)
    }

    #[tokio::test]
    async fn streams_a_range_in_megabyte_chunks() {
        let len = 2 * READ_SIZE as usize + 12_345;
        let (file, data) = numbered_file(len);
        let handle = std::fs::File::open(file.path()).expect("open");
        let parts: Vec<Bytes> = chunks(handle, file.path().into(), 7..len as u64)
            .try_collect()
            .await
            .expect("read");
        let sizes: Vec<usize> = parts.iter().map(Bytes::len).collect();
        assert_eq!(sizes, [READ_SIZE as usize, READ_SIZE as usize, 12_345 - 7]);
        assert_eq!(parts.concat(), data[7..]);
    }

    #[tokio::test]
    async fn a_file_shorter_than_its_range_is_an_error_naming_it() {
        let (file, _) = numbered_file(100);
        let handle = std::fs::File::open(file.path()).expect("open");
        let error = chunks(handle, file.path().into(), 0..200)
            .try_collect::<Vec<Bytes>>()
            .await
            .expect_err("short file");
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(
            error
                .to_string()
                .contains(&file.path().display().to_string()),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_empty_range_is_an_empty_stream() {
        let (file, _) = numbered_file(10);
        let handle = std::fs::File::open(file.path()).expect("open");
        let parts: Vec<Bytes> = chunks(handle, file.path().into(), 10..10)
            .try_collect()
            .await
            .expect("read");
        assert!(parts.is_empty());
    }
}
