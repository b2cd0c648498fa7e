//! `dbops wal push` (archive_command) and `dbops wal fetch` (restore_command).
//!
//! Objects are `wal/<timeline>/<file name>`, zstd-compressed and optionally age-encrypted; both layers
//! identify themselves by their magic bytes, so fetching needs no listing and no metadata. A push is
//! idempotent (the same content already archived is success; different content is a loud failure,
//! never an overwrite) and every network call has a deadline, so Postgres is never hung by the store.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::PitrOptions;
use crate::codec::{Compression, Decryption, Encryption, VecSink};
use crate::error::{Error, Result};
use crate::storage::BackupStore;

/// The kinds of files the archiver hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WalFileKind {
    /// A WAL segment (`000000010000000000000002`).
    Segment,
    /// A partial segment left at a timeline switch (`...partial`).
    Partial,
    /// A timeline history file (`00000002.history`).
    History,
    /// A backup history file (`...00000028.backup`).
    Backup,
}

/// A parsed WAL file name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalName {
    /// The file name.
    pub name: String,
    /// What it is.
    pub kind: WalFileKind,
    /// Its timeline.
    pub timeline: u32,
    /// For segments: the 64-bit "log" and "seg" halves of the name.
    pub log_seg: Option<(u32, u32)>,
}

impl WalName {
    /// Parses a file name given to archive_command or restore_command.
    pub fn parse(name: &str) -> Result<Self> {
        let invalid = || {
            Error::config(
                "WAL file name",
                format!(
                    "`{}` is not a WAL segment, history or backup file name (24 hex digits, \
                     TTTTTTTT.history, or <segment>.XXXXXXXX.backup)",
                    name.escape_debug()
                ),
            )
        };
        let hex = |s: &str| {
            s.len() == 8
                && s.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
        };
        let parse = |s: &str| u32::from_str_radix(s, 16).map_err(|_| invalid());
        if let Some(tli) = name.strip_suffix(".history") {
            if !hex(tli) {
                return Err(invalid());
            }
            return Ok(Self {
                name: name.into(),
                kind: WalFileKind::History,
                timeline: parse(tli)?,
                log_seg: None,
            });
        }
        let (segment, kind) = if let Some(s) = name.strip_suffix(".partial") {
            (s, WalFileKind::Partial)
        } else if let Some(s) = name.strip_suffix(".backup") {
            let (seg, offset) = s.rsplit_once('.').ok_or_else(invalid)?;
            if !hex(offset) {
                return Err(invalid());
            }
            (seg, WalFileKind::Backup)
        } else {
            (name, WalFileKind::Segment)
        };
        // Checked as ASCII first: the fixed offsets below are then character boundaries.
        if segment.len() != 24
            || !segment.is_ascii()
            || !(hex(&segment[..8]) && hex(&segment[8..16]) && hex(&segment[16..]))
        {
            return Err(invalid());
        }
        Ok(Self {
            name: name.into(),
            kind,
            timeline: parse(&segment[..8])?,
            log_seg: Some((parse(&segment[8..16])?, parse(&segment[16..])?)),
        })
    }

    /// The object key: `wal/<timeline>/<name>`.
    pub fn key(&self) -> String {
        format!("wal/{:08X}/{}", self.timeline, self.name)
    }

    /// The segment number for a segment size, for segments.
    pub fn segno(&self, segment_size: u64) -> Option<u64> {
        let (log, seg) = self.log_seg?;
        Some(u64::from(log) * (0x1_0000_0000 / segment_size) + u64::from(seg))
    }
}

/// The name of segment `segno` on `timeline`.
pub fn segment_name(timeline: u32, segno: u64, segment_size: u64) -> String {
    let per_log = 0x1_0000_0000 / segment_size;
    format!(
        "{timeline:08X}{:08X}{:08X}",
        segno / per_log,
        segno % per_log
    )
}

/// Checks a segment's size and long page header (page address, segment size) against its name.
pub fn validate_segment(name: &WalName, data: &[u8]) -> Result<()> {
    let size = data.len() as u64;
    let bad = |reason: String| Error::Integrity {
        key: name.name.clone(),
        reason,
    };
    if !(size.is_power_of_two() && (1 << 20..=1 << 30).contains(&size)) {
        return Err(bad(format!(
            "{size} bytes is not a WAL segment size (a power of two, 1 MB to 1 GB)"
        )));
    }
    let u16_at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
    let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
    let magic = u16_at(0);
    let info = u16_at(2);
    if magic & 0xD000 != 0xD000 {
        return Err(bad(format!(
            "page magic {magic:#06x} is not a WAL page magic (0xD0xx/0xD1xx)"
        )));
    }
    if info & 0x0002 == 0 {
        return Err(bad(
            "the first page has no long header (XLP_LONG_HEADER)".into()
        ));
    }
    let seg_size = u64::from(u32_at(32));
    if seg_size != size {
        return Err(bad(format!(
            "the header says segments are {seg_size} bytes, the file has {size}"
        )));
    }
    let expected = name.segno(size).map(|n| n * size);
    if expected != Some(u64_at(8)) {
        return Err(bad(format!(
            "the first page is at WAL address {:#x}, the name says {:#x}",
            u64_at(8),
            expected.unwrap_or_default()
        )));
    }
    Ok(())
}

/// What `wal push` did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PushReport {
    /// The file.
    pub name: String,
    /// The object key.
    pub key: String,
    /// Bytes read.
    pub size: u64,
    /// Bytes stored (0 when already archived).
    pub stored: u64,
    /// `archived`, or `already archived` (same content).
    pub outcome: String,
    /// Milliseconds taken.
    pub elapsed_ms: f64,
}

/// Compresses (zstd) and optionally encrypts a WAL file in memory.
pub(crate) fn encode(data: &[u8], encryption: &Encryption, level: i32) -> Result<Vec<u8>> {
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::with_capacity(data.len() / 4)));
    let sink = encryption.wrap(Box::new(VecSink(out.clone())))?;
    // Two zstd workers: a 16 MB segment compresses in about half the time on two cores.
    let mut writer = Compression::Zstd.wrap(sink, level, 2)?;
    writer
        .write_all(data)
        .map_err(|e| Error::io("compressing", "", e))?;
    writer
        .finish_all()
        .map_err(|e| Error::io("compressing", "", e))?;
    let bytes = std::mem::take(
        &mut *out
            .lock()
            .map_err(|_| Error::config("wal", "poisoned buffer"))?,
    );
    Ok(bytes)
}

/// Decodes an archived WAL object (age and zstd layers recognised by their magic bytes; a plain file
/// passes through). Malformed input is an error, never a panic.
pub fn decode(stored: &[u8], decryption: &Decryption, key: &str) -> Result<Vec<u8>> {
    let mut reader: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(stored.to_vec()));
    if stored.starts_with(b"age-encryption.org/") {
        reader = decryption.wrap(reader, key, None)?;
    }
    let mut head = [0u8; 4];
    let mut first = Vec::new();
    let n = reader.read(&mut head).map_err(|e| integrity(key, e))?;
    first.extend_from_slice(&head[..n]);
    let chained: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(first.clone()).chain(reader));
    let mut plain = Vec::new();
    if first.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Compression::Zstd
            .unwrap_reader(chained)?
            .read_to_end(&mut plain)
            .map_err(|e| integrity(key, e))?;
    } else {
        let mut chained = chained;
        chained
            .read_to_end(&mut plain)
            .map_err(|e| integrity(key, e))?;
    }
    Ok(plain)
}

fn integrity(key: &str, e: std::io::Error) -> Error {
    Error::Integrity {
        key: key.to_string(),
        reason: format!("cannot decode the archived file: {e}; it is corrupt or was tampered with"),
    }
}

/// Archives the WAL file at `path` (archive_command `%p`).
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use std::path::Path;
/// use dbops::ObjectBackupStore;
/// use dbops::pitr::{self, PitrOptions};
///
/// let store = ObjectBackupStore::open("s3://backups/prod-pitr")?;
/// // archive_command's `%p`: the WAL file, relative to the data directory.
/// let wal = Path::new("pg_wal/000000010000000000000003");
/// let report = pitr::push(&store, wal, &PitrOptions::default()).await?;
/// println!("{}: {}", report.key, report.outcome); // `archived`, or `already archived` on a retry
/// # Ok(()) }
/// ```
pub async fn push(
    store: &dyn BackupStore,
    path: &Path,
    options: &PitrOptions,
) -> Result<PushReport> {
    let started = Instant::now();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| Error::config("WAL path", format!("`{}` names no file", path.display())))?;
    let name = WalName::parse(&file_name)?;
    let data = tokio::fs::read(path)
        .await
        .map_err(|e| Error::io("reading the WAL file to archive", path, e))?;
    if name.kind == WalFileKind::Segment {
        validate_segment(&name, &data)?;
    }
    let key = name.key();
    crate::failpoint::failpoint("wal::before_upload")?;
    let encryption = options.encryption.clone();
    let level = options.compression_level;
    let plain = data.clone();
    let encoded = tokio::task::spawn_blocking(move || encode(&plain, &encryption, level))
        .await
        .map_err(|e| Error::Cancelled {
            action: format!("compressing ({e})"),
        })??;
    let stored = encoded.len() as u64;
    let work = async {
        crate::failpoint::failpoint("wal::before_put")?;
        let created = store.put_if_absent(&key, Bytes::from(encoded)).await?;
        crate::failpoint::failpoint("wal::after_put")?;
        if created {
            return Ok("archived".to_string());
        }
        // Something is there: the same file archived before (a retry after a lost reply), or a conflict.
        let existing = store.get(&key).await?;
        let existing_plain = decode(&existing, &options.decryption, &key);
        match existing_plain {
            Ok(p) if Sha256::digest(&p) == Sha256::digest(&data) => {
                Ok("already archived".to_string())
            }
            Ok(_) => Err(Error::Refused {
                action: format!("archive `{file_name}`"),
                reason: format!(
                    "`{key}` in {} already holds different content; refusing to overwrite it. Two clusters \
                     may be archiving into the same store (give each its own prefix), or a restored cluster \
                     reused a timeline",
                    store.describe()
                ),
            }),
            Err(e) if options.encryption_is_set() && matches!(e, Error::Crypto { .. }) => {
                Err(Error::Refused {
                    action: format!("archive `{file_name}`"),
                    reason: format!(
                        "`{key}` already exists and cannot be decrypted to compare it ({e}); refusing to overwrite"
                    ),
                })
            }
            Err(e) => Err(e),
        }
    };
    let outcome = tokio::time::timeout(options.deadline, work)
        .await
        .map_err(|_| Error::Timeout {
            action: format!("archiving `{file_name}` to {}", store.describe()),
            elapsed: started.elapsed(),
        })??;
    Ok(PushReport {
        name: file_name,
        key,
        size: data.len() as u64,
        stored: if outcome == "archived" { stored } else { 0 },
        outcome,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// What `wal fetch` did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FetchReport {
    /// The file.
    pub name: String,
    /// Whether it was in the archive (false: end of archive, exit code 1 for restore_command).
    pub found: bool,
    /// Whether it came from the local prefetch directory.
    pub prefetched: bool,
    /// Milliseconds taken.
    pub elapsed_ms: f64,
}

/// Downloads, verifies, decrypts and decompresses `name` into `dest` atomically (restore_command
/// `%f %p`). Returns `found: false` when the archive has no such file.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use std::path::Path;
/// use dbops::ObjectBackupStore;
/// use dbops::backup::Decryption;
/// use dbops::pitr::{self, PitrOptions};
///
/// let store = ObjectBackupStore::open("s3://backups/prod-pitr")?;
/// let keys = Decryption::none().with_identity_file(Path::new("/etc/backup/identity.txt"))?;
/// let options = PitrOptions::default().with_decryption(keys);
/// // restore_command's `%f` (the file wanted) and `%p` (where to write it).
/// let dest = Path::new("pg_wal/RECOVERYXLOG");
/// let report = pitr::fetch(&store, "000000010000000000000003", dest, &options).await?;
/// let exit_code = if report.found { 0 } else { 1 }; // 1: the end of the archive
/// # let _ = exit_code; Ok(()) }
/// ```
pub async fn fetch(
    store: &dyn BackupStore,
    name: &str,
    dest: &Path,
    options: &PitrOptions,
) -> Result<FetchReport> {
    let started = Instant::now();
    let wal = WalName::parse(name)?;
    let prefetch_dir = prefetch_dir(dest);
    let prefetched_path = prefetch_dir.join(name);
    if tokio::fs::metadata(&prefetched_path).await.is_ok() {
        install(&prefetched_path, dest, true).await?;
        return Ok(FetchReport {
            name: name.into(),
            found: true,
            prefetched: true,
            elapsed_ms: ms(started),
        });
    }
    let found = tokio::time::timeout(options.deadline, fetch_one(store, &wal, dest, options))
        .await
        .map_err(|_| Error::Timeout {
            action: format!("fetching `{name}` from {}", store.describe()),
            elapsed: started.elapsed(),
        })??;
    Ok(FetchReport {
        name: name.into(),
        found,
        prefetched: false,
        elapsed_ms: ms(started),
    })
}

fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

/// Where prefetched segments wait: `<dir of %p>/.dbops-prefetch` (inside `pg_wal`).
pub fn prefetch_dir(dest: &Path) -> PathBuf {
    dest.parent()
        .unwrap_or(Path::new("."))
        .join(".dbops-prefetch")
}

async fn fetch_one(
    store: &dyn BackupStore,
    wal: &WalName,
    dest: &Path,
    options: &PitrOptions,
) -> Result<bool> {
    let key = wal.key();
    // One request: a missing segment is the store's "not found", whatever the store.
    let stored = match store.get(&key).await {
        Ok(stored) => stored,
        Err(error) if error.is_not_found() => return Ok(false),
        Err(error) => return Err(error),
    };
    let decryption = options.decryption.clone();
    let wal_owned = wal.clone();
    let plain = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
        let plain = decode(&stored, &decryption, &key)?;
        if wal_owned.kind == WalFileKind::Segment {
            validate_segment(&wal_owned, &plain)?;
        }
        Ok(plain)
    })
    .await
    .map_err(|e| Error::Cancelled {
        action: format!("decoding ({e})"),
    })??;
    let tmp = dest.with_file_name(format!(".{}.dbops-tmp", wal.name));
    let written = match write_synced(&tmp, &plain).await {
        Ok(()) => install(&tmp, dest, false).await,
        Err(error) => Err(error),
    };
    if written.is_err() {
        // A full pg_wal (or any failed write) leaves no partial file behind.
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    written.map(|()| true)
}

async fn write_synced(path: &Path, data: &[u8]) -> Result<()> {
    let path = path.to_path_buf();
    let data = data.to_vec();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut file = std::fs::File::create(&path)
            .map_err(|e| Error::io("writing the restored WAL file", &path, e))?;
        file.write_all(&data)
            .map_err(|e| Error::io("writing the restored WAL file", &path, e))?;
        file.sync_all()
            .map_err(|e| Error::io("syncing the restored WAL file", &path, e))
    })
    .await
    .map_err(|e| Error::Cancelled {
        action: format!("writing ({e})"),
    })?
}

async fn install(from: &Path, dest: &Path, copy: bool) -> Result<()> {
    if copy {
        // Prefetched files may live on another file system than pg_wal in theory; rename when possible.
        if tokio::fs::rename(from, dest).await.is_ok() {
            return Ok(());
        }
        let data = tokio::fs::read(from)
            .await
            .map_err(|e| Error::io("reading a prefetched WAL file", from, e))?;
        write_synced(dest, &data).await?;
        let _ = tokio::fs::remove_file(from).await;
        return Ok(());
    }
    tokio::fs::rename(from, dest)
        .await
        .map_err(|e| Error::io("moving the restored WAL file into place", dest, e))
}

/// Downloads the `count` segments after `after` (same timeline) into the prefetch directory next to
/// `dest`, `parallel` at a time; missing segments end the run early. Returns how many were fetched.
pub async fn prefetch(
    store: &dyn BackupStore,
    after: &str,
    dest: &Path,
    count: u32,
    parallel: usize,
    segment_size: u64,
    options: &PitrOptions,
) -> Result<usize> {
    use futures::StreamExt;
    let wal = WalName::parse(after)?;
    let Some(segno) = wal.segno(segment_size) else {
        return Ok(0);
    };
    let dir = prefetch_dir(dest);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| Error::io("creating the prefetch directory", &dir, e))?;
    let names: Vec<String> = (1..=u64::from(count))
        .map(|i| segment_name(wal.timeline, segno + i, segment_size))
        .collect();
    let results: Vec<Result<bool>> = futures::stream::iter(names)
        .map(|name| {
            let dir = dir.clone();
            async move {
                let target = dir.join(&name);
                if tokio::fs::metadata(&target).await.is_ok() {
                    return Ok(true);
                }
                let wal = WalName::parse(&name)?;
                fetch_one(store, &wal, &target, options).await
            }
        })
        .buffered(parallel.max(1))
        .collect()
        .await;
    Ok(results
        .into_iter()
        .take_while(|r| matches!(r, Ok(true)))
        .count())
}

/// Default deadline of one push or fetch.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_round_trip() {
        let seg = WalName::parse("0000000200000001000000FE").unwrap();
        assert_eq!(
            (seg.kind, seg.timeline, seg.log_seg),
            (WalFileKind::Segment, 2, Some((1, 0xFE)))
        );
        assert_eq!(seg.key(), "wal/00000002/0000000200000001000000FE");
        let size = 16 << 20;
        assert_eq!(segment_name(2, seg.segno(size).unwrap(), size), seg.name);
        assert_eq!(
            segment_name(2, seg.segno(size).unwrap() + 2, size),
            "000000020000000200000000"
        );
        assert_eq!(WalName::parse("00000003.history").unwrap().timeline, 3);
        assert_eq!(
            WalName::parse("000000010000000000000002.00000028.backup")
                .unwrap()
                .kind,
            WalFileKind::Backup
        );
        assert_eq!(
            WalName::parse("000000010000000000000002.partial")
                .unwrap()
                .kind,
            WalFileKind::Partial
        );
        for bad in [
            "",
            "RECOVERYXLOG",
            "../../etc/passwd",
            "0000000100000000000000zz",
            "00000001.history.x",
        ] {
            assert!(WalName::parse(bad).is_err(), "{bad}");
        }
    }

    /// 24 bytes whose 8th and 9th bytes are one character: refused, never a panic.
    #[test]
    fn multibyte_names_are_refused_not_sliced() {
        for name in [
            "0000000\u{e9}000000000000000",
            "0000000100000000\u{e9}000000",
            "0000000\u{e9}000000000000000.partial",
            "0000000\u{e9}000000000000000.00000028.backup",
            "0000000\u{e9}.history",
        ] {
            assert!(WalName::parse(name).is_err(), "{name}");
        }
    }

    #[test]
    fn segment_headers_are_checked() {
        let name = WalName::parse("000000010000000000000003").unwrap();
        let size = 16usize << 20;
        let mut data = vec![0u8; size];
        data[0..2].copy_from_slice(&0xD110u16.to_le_bytes());
        data[2..4].copy_from_slice(&2u16.to_le_bytes());
        data[8..16].copy_from_slice(&(3u64 * size as u64).to_le_bytes());
        data[32..36].copy_from_slice(&(size as u32).to_le_bytes());
        validate_segment(&name, &data).unwrap();
        let mut wrong_addr = data.clone();
        wrong_addr[8] = 1;
        assert!(validate_segment(&name, &wrong_addr).is_err());
        assert!(validate_segment(&name, &data[..size / 2]).is_err());
        let mut zeros = data.clone();
        zeros[0..4].fill(0);
        assert!(validate_segment(&name, &zeros).is_err());
    }
}
