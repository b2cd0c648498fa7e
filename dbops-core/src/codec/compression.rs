//! Compression of backup streams: zstd (default), gzip, lz4 or none, as layers over any writer or reader.

use std::io::{Read, Write};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::crypto::FinishWrite;
use crate::error::{Error, Result};

/// The compression algorithm of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Zstandard: fast and small; the default.
    #[default]
    Zstd,
    /// gzip, for tools that only read gzip.
    Gzip,
    /// LZ4 frames: fastest, larger.
    Lz4,
    /// Stored as is.
    None,
}

impl Compression {
    /// The file name extension (`zst`, `gz`, `lz4`), or `None`.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Compression::Zstd => Some("zst"),
            Compression::Gzip => Some("gz"),
            Compression::Lz4 => Some("lz4"),
            Compression::None => None,
        }
    }

    /// The default level: zstd 1 (on dumps of the reference schema both faster and smaller than zstd 3
    /// and than gzip 6, see BENCHMARKS.md), gzip 6, lz4 1.
    pub fn default_level(self) -> i32 {
        match self {
            Compression::Zstd => 1,
            Compression::Gzip => 6,
            Compression::Lz4 => 1,
            Compression::None => 0,
        }
    }

    fn level_range(self) -> (i32, i32) {
        match self {
            Compression::Zstd => (-7, 22),
            Compression::Gzip => (0, 9),
            Compression::Lz4 => (0, 16),
            Compression::None => (0, 0),
        }
    }

    /// Checks a level for this algorithm.
    pub fn validate_level(self, level: i32) -> Result<()> {
        let (low, high) = self.level_range();
        if level < low || level > high {
            return Err(Error::config(
                "compression level",
                format!("{level} is out of range for {self}: use {low}..={high}"),
            ));
        }
        Ok(())
    }

    /// Wraps `output` so what is written is compressed. `threads` > 1 uses zstd's worker threads.
    pub(crate) fn wrap(
        self,
        output: Box<dyn FinishWrite>,
        level: i32,
        threads: u32,
    ) -> Result<Box<dyn FinishWrite>> {
        self.validate_level(level)?;
        let io = |e: std::io::Error| Error::config("compression", e.to_string());
        Ok(match self {
            Compression::None => output,
            Compression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(output, level).map_err(io)?;
                encoder.include_checksum(true).map_err(io)?;
                if threads > 1 {
                    encoder.multithread(threads).map_err(io)?;
                }
                Box::new(encoder)
            }
            Compression::Gzip => Box::new(flate2::write::GzEncoder::new(
                output,
                flate2::Compression::new(level.unsigned_abs()),
            )),
            Compression::Lz4 => Box::new(
                lz4::EncoderBuilder::new()
                    .level(level.unsigned_abs())
                    .checksum(lz4::ContentChecksum::ChecksumEnabled)
                    .build(output)
                    .map_err(io)?,
            ),
        })
    }

    /// Wraps `input` so reads return the decompressed bytes.
    pub(crate) fn unwrap_reader(self, input: Box<dyn Read + Send>) -> Result<Box<dyn Read + Send>> {
        let io = |e: std::io::Error| Error::config("decompression", e.to_string());
        Ok(match self {
            Compression::None => input,
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(input).map_err(io)?),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
            Compression::Lz4 => Box::new(lz4::Decoder::new(input).map_err(io)?),
        })
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
            Compression::Lz4 => "lz4",
            Compression::None => "none",
        })
    }
}

impl FromStr for Compression {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "zstd" | "zst" => Ok(Compression::Zstd),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "lz4" => Ok(Compression::Lz4),
            "none" | "off" => Ok(Compression::None),
            other => Err(Error::config(
                "compression",
                format!("`{other}` is not one of zstd, gzip, lz4, none"),
            )),
        }
    }
}

impl FinishWrite for zstd::stream::write::Encoder<'static, Box<dyn FinishWrite>> {
    fn finish_all(self: Box<Self>) -> std::io::Result<()> {
        (*self).finish()?.finish_all()
    }
}

impl FinishWrite for flate2::write::GzEncoder<Box<dyn FinishWrite>> {
    fn finish_all(self: Box<Self>) -> std::io::Result<()> {
        (*self).finish()?.finish_all()
    }
}

impl FinishWrite for lz4::Encoder<Box<dyn FinishWrite>> {
    fn finish_all(self: Box<Self>) -> std::io::Result<()> {
        let (inner, result) = (*self).finish();
        result?;
        inner.finish_all()
    }
}

/// The end of a writer chain: hands full buffers to a channel (the uploader on the async side).
pub(crate) struct ChannelSink {
    sender: tokio::sync::mpsc::Sender<bytes::Bytes>,
    buffer: Vec<u8>,
}

/// Size of the chunks handed from the encoding thread to the uploader.
pub(crate) const CHUNK: usize = 1024 * 1024;

impl ChannelSink {
    pub(crate) fn new(sender: tokio::sync::mpsc::Sender<bytes::Bytes>) -> Self {
        Self {
            sender,
            buffer: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.sender
            .blocking_send(bytes::Bytes::from(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the upload stopped"))
    }
}

impl Write for ChannelSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let n = room.min(buf.len());
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl FinishWrite for ChannelSink {
    fn finish_all(mut self: Box<Self>) -> std::io::Result<()> {
        self.send()
    }
}

/// The start of a reader chain: reads chunks (or an error) sent by the downloader on the async side.
pub(crate) struct ChannelSource {
    receiver: tokio::sync::mpsc::Receiver<std::result::Result<bytes::Bytes, String>>,
    current: bytes::Bytes,
}

impl ChannelSource {
    pub(crate) fn new(
        receiver: tokio::sync::mpsc::Receiver<std::result::Result<bytes::Bytes, String>>,
    ) -> Self {
        Self {
            receiver,
            current: bytes::Bytes::new(),
        }
    }
}

impl Read for ChannelSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(message)) => return Err(std::io::Error::other(message)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

/// The end of an in-memory encoding: what is written lands in the shared buffer, which the caller
/// takes after `finish_all`.
#[cfg_attr(not(any(feature = "pitr", test)), allow(dead_code))] // WAL segments and tests
pub(crate) struct VecSink(pub(crate) std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for VecSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl FinishWrite for VecSink {
    fn finish_all(self: Box<Self>) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_round_trips() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for algo in [
            Compression::Zstd,
            Compression::Gzip,
            Compression::Lz4,
            Compression::None,
        ] {
            let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut writer = algo
                .wrap(Box::new(VecSink(out.clone())), algo.default_level(), 1)
                .unwrap();
            writer.write_all(&data).unwrap();
            writer.finish_all().unwrap();
            let compressed = out.lock().unwrap().clone();
            let mut reader = algo
                .unwrap_reader(Box::new(std::io::Cursor::new(compressed)))
                .unwrap();
            let mut back = Vec::new();
            reader.read_to_end(&mut back).unwrap();
            assert_eq!(back, data, "{algo}");
        }
    }

    #[test]
    fn levels_are_checked() {
        assert!(Compression::Gzip.validate_level(10).is_err());
        assert!(Compression::Zstd.validate_level(19).is_ok());
    }
}
