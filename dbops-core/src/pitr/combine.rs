//! Combining a chain of base backups (a full one and the incrementals taken on it) into a data
//! directory straight from their tar streams, newest first, so that every block is written once.
//!
//! The newest backup gives the directory its files: whole files are written as they come; an
//! incremental file (`INCREMENTAL.<relation file>`, PostgreSQL 17's format: a header naming the
//! blocks it holds and the relation's length, then those blocks) becomes its relation file, with its
//! blocks written in place and the rest left to find. Each older backup then supplies the blocks
//! still missing from its own incremental files, and the full backup the remainder; a block no
//! backup has stays zero. This is the reconstruction `pg_combinebackup` does, without unpacking
//! every backup first and writing the changed files a second time. The chain's links are checked as
//! the labels go by (each backup starts where the newer one's `INCREMENTAL FROM` says, all of one
//! system), and each backup's files against its own `backup_manifest`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::basebackup::{label_field, parse_lsn};
use super::delta::{make_dir, member_path, read_full};
use crate::error::{Error, Result};

/// PostgreSQL's block size (the default build's, which incremental files are written in).
const BLCKSZ: usize = 8192;
const INCREMENTAL_MAGIC: u32 = 0xd3ae_1f0d;
const INCREMENTAL_PREFIX: &str = "INCREMENTAL.";
/// Blocks in a relation segment file (1 GB of 8 kB blocks).
const SEGMENT_BLOCKS: u32 = 131_072;
/// Blocks read and written at a time.
const RUN_BLOCKS: usize = 128;

/// Where a backup stands in the chain being combined.
#[derive(Debug, Clone, Copy)]
pub(super) struct Position {
    /// The newest backup: it decides which files the directory has.
    pub newest: bool,
    /// The full backup the chain starts from.
    pub oldest: bool,
}

/// One backup of the chain, as the combiner names and checks it.
#[derive(Debug, Clone)]
pub(super) struct Member {
    /// The base backup's id.
    pub id: String,
    /// Its object key (named in errors).
    pub key: String,
    /// Whether its stream carries a `backup_manifest` to check its files against.
    pub has_manifest: bool,
    /// Where it stands in the chain.
    pub position: Position,
}

/// What combining wrote, for the log.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Written {
    /// Files written whole (from the newest backup).
    pub whole_files: u64,
    /// Relation files rebuilt from incremental files.
    pub rebuilt_files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The combination in progress: feed it the chain's tar streams newest first ([`Combiner::apply`]),
/// then [`Combiner::finish`].
pub(super) struct Combiner {
    dir: PathBuf,
    verify: bool,
    /// Rebuilt relation files (by path in the directory) still missing blocks.
    missing: HashMap<PathBuf, Missing>,
    /// Where the next older backup must start: the newer one's `INCREMENTAL FROM` LSN and timeline.
    next_start: Option<(u64, u32)>,
    system_identifier: Option<u64>,
    written: Written,
    buffer: Vec<u8>,
    syncer: Syncer,
}

/// A thread that syncs each finished file to disk while the next ones are written: as a restore
/// ends, its files are on disk (the restored server's own sync at start-up then finds nothing left
/// to write).
struct Syncer {
    files: std::sync::mpsc::Sender<(PathBuf, File)>,
    thread: std::thread::JoinHandle<std::result::Result<(), (PathBuf, std::io::Error)>>,
}

impl Syncer {
    fn start() -> Self {
        let (files, queue) = std::sync::mpsc::channel::<(PathBuf, File)>();
        let thread = std::thread::spawn(move || {
            let mut outcome = Ok(());
            for (path, file) in queue {
                if let (Err(e), Ok(())) = (file.sync_data(), &outcome) {
                    outcome = Err((path, e));
                }
            }
            outcome
        });
        Self { files, thread }
    }

    /// Queues a finished file.
    fn sync(&self, path: PathBuf, file: File) {
        // The thread ends only once this sender is dropped: the send cannot fail before.
        let _ = self.files.send((path, file));
    }

    /// Waits until every queued file is synced.
    fn finish(self) -> Result<()> {
        drop(self.files);
        match self.thread.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err((path, e))) => Err(Error::io("syncing the restored file", path, e)),
            Err(_) => Err(Error::Cancelled {
                action: "syncing the restored files (the thread panicked)".into(),
            }),
        }
    }
}

/// The blocks a rebuilt relation file still needs from older backups.
struct Missing {
    /// The newest backup's truncation length: blocks from this on come from it alone.
    limit: u32,
    /// One bit per block below `limit`: written already.
    done: Vec<u64>,
    /// Blocks below `limit` not written yet.
    left: u32,
}

impl Missing {
    fn new(limit: u32) -> Self {
        Self {
            limit,
            done: vec![0; (limit as usize).div_ceil(64)],
            left: limit,
        }
    }

    /// Whether block `block` is still needed.
    fn wants(&self, block: u32) -> bool {
        block < self.limit && self.done[(block / 64) as usize] & (1 << (block % 64)) == 0
    }

    /// Counts block `block` as written (a block past `limit` needs no mark).
    fn mark(&mut self, block: u32) {
        if self.wants(block) {
            self.done[(block / 64) as usize] |= 1 << (block % 64);
            self.left -= 1;
        }
    }
}

/// The header of an incremental file: the blocks it holds, in order, and the relation's length.
struct IncrementalHeader {
    blocks: Vec<u32>,
    truncation_length: u32,
}

/// A reader that keeps the CRC-32C and length of what passed through it.
struct Crc<R> {
    inner: R,
    crc: u32,
    size: u64,
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

impl Combiner {
    /// A combination into `dir` (existing and empty); `verify` checks each backup's files against
    /// its `backup_manifest`.
    pub(super) fn new(dir: &Path, verify: bool) -> Self {
        Self {
            dir: dir.to_path_buf(),
            verify,
            missing: HashMap::new(),
            next_start: None,
            system_identifier: None,
            written: Written::default(),
            buffer: vec![0; RUN_BLOCKS * BLCKSZ],
            syncer: Syncer::start(),
        }
    }

    /// Applies one backup's tar stream (the chain's newest first, its full backup last).
    pub(super) fn apply(&mut self, reader: &mut dyn Read, member: &Member) -> Result<()> {
        let unreadable = |e: std::io::Error| corrupt(member, e.to_string());
        let mut archive = tar::Archive::new(reader);
        let mut files = BTreeMap::new();
        let (mut manifest, mut label_seen) = (None, false);
        let mut present = HashSet::new();
        for entry in archive.entries().map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let rel = member_path(&entry.path().map_err(unreadable)?).map_err(unreadable)?;
            if rel.as_os_str().is_empty() {
                continue;
            }
            let kind = entry.header().entry_type();
            let mode = entry.header().mode().unwrap_or(0o600) & 0o7777;
            if !matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous) {
                if member.position.newest {
                    self.unpack_other(entry, &rel, kind, mode, member)?;
                }
                continue;
            }
            let size = entry.size();
            let mut entry = Crc {
                inner: entry,
                crc: 0,
                size: 0,
            };
            if rel == Path::new("backup_manifest") {
                let mut text = Vec::new();
                entry.read_to_end(&mut text).map_err(unreadable)?;
                manifest = Some(text);
            } else if rel == Path::new("backup_label") {
                let mut text = String::new();
                entry.read_to_string(&mut text).map_err(unreadable)?;
                self.check_label(&text, member)?;
                if member.position.newest {
                    self.write_label(&text, mode)?;
                }
                label_seen = true;
            } else {
                let rebuilt = rebuilt_path(&rel);
                match (&rebuilt, member.position.newest) {
                    (Some(out), true) => self.start_rebuild(&mut entry, out, size, mode, member)?,
                    (None, true) => self.write_whole(&mut entry, &rel, mode, member)?,
                    (_, false) => {
                        let out = rebuilt.as_ref().unwrap_or(&rel);
                        if self.missing.contains_key(out) {
                            present.insert(out.clone());
                            self.fill_from(&mut entry, out, rebuilt.is_some(), size, member)?;
                        }
                    }
                }
            }
            std::io::copy(&mut entry, &mut std::io::sink()).map_err(unreadable)?;
            files.insert(rel, (entry.size, entry.crc));
        }
        if !label_seen {
            return Err(corrupt(member, "its stream has no backup_label".into()));
        }
        self.check_manifest(manifest.as_deref(), &files, member)?;
        self.check_nothing_lost(&present, member)
    }

    /// Ends the combination: every rebuilt file has all its blocks, every file is synced to disk.
    /// Returns what was written.
    pub(super) fn finish(self) -> Result<Written> {
        if let Some(path) = self.missing.keys().next() {
            return Err(Error::Integrity {
                key: self.dir.display().to_string(),
                reason: format!(
                    "`{}` still lacks blocks after the full backup of the chain; the chain is \
                     broken: restore another chain (--base-backup ID) or take a new full base backup",
                    path.display()
                ),
            });
        }
        self.syncer.finish()?;
        Ok(self.written)
    }

    /// Directories (from the newest backup) and anything but regular files, unpacked as they are.
    fn unpack_other<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
        rel: &Path,
        kind: tar::EntryType,
        mode: u32,
        member: &Member,
    ) -> Result<()> {
        let target = self.dir.join(rel);
        let done = if kind == tar::EntryType::Directory {
            make_dir(&target, mode)
        } else {
            entry.unpack_in(&self.dir).map(|_| ())
        };
        done.map_err(|e| Error::io(format!("unpacking base backup {}", member.id), target, e))
    }

    /// The newest backup's label without its `INCREMENTAL FROM` lines: the directory is a full
    /// backup now (a server refuses to start from an incremental one).
    fn write_label(&mut self, text: &str, mode: u32) -> Result<()> {
        let label: String = text
            .split_inclusive('\n')
            .filter(|line| !line.starts_with("INCREMENTAL FROM "))
            .collect();
        let path = self.dir.join("backup_label");
        let mut file = create(&path, mode)?;
        std::io::Write::write_all(&mut file, label.as_bytes())
            .map_err(|e| Error::io("writing", &path, e))?;
        self.written.whole_files += 1;
        self.written.bytes += label.len() as u64;
        Ok(())
    }

    /// Checks that `member` is the link the chain expects, from its backup_label.
    fn check_label(&mut self, text: &str, member: &Member) -> Result<()> {
        let start = label_field(text, "START WAL LOCATION:")
            .and_then(|s| s.split_whitespace().next())
            .and_then(parse_lsn);
        let timeline = label_field(text, "START TIMELINE:").and_then(|s| s.parse::<u32>().ok());
        let (Some(start), Some(timeline)) = (start, timeline) else {
            return Err(corrupt(
                member,
                "its backup_label has no start location".into(),
            ));
        };
        let from = label_field(text, "INCREMENTAL FROM LSN:")
            .and_then(parse_lsn)
            .zip(label_field(text, "INCREMENTAL FROM TLI:").and_then(|s| s.parse::<u32>().ok()));
        if let Some(expected) = self.next_start
            && expected != (start, timeline)
        {
            return Err(broken(
                member,
                format!(
                    "it starts at {} on timeline {timeline}, but the newer backup was taken on one \
                     that starts at {} on timeline {}",
                    lsn_text(start),
                    lsn_text(expected.0),
                    expected.1
                ),
            ));
        }
        match (from, member.position.oldest) {
            (Some(_), true) => {
                return Err(broken(
                    member,
                    "it is incremental but the chain ends at it".into(),
                ));
            }
            (None, false) => {
                return Err(broken(
                    member,
                    "it is a full backup but newer backups of the chain are incremental on an \
                     older one"
                        .into(),
                ));
            }
            _ => {}
        }
        self.next_start = from;
        Ok(())
    }

    /// A file of the newest backup that is not incremental: written as it is.
    fn write_whole(
        &mut self,
        entry: &mut impl Read,
        rel: &Path,
        mode: u32,
        member: &Member,
    ) -> Result<()> {
        let path = self.dir.join(rel);
        let file = create(&path, mode)?;
        let mut offset = 0u64;
        loop {
            let n =
                read_full(entry, &mut self.buffer).map_err(|e| corrupt(member, e.to_string()))?;
            if n == 0 {
                break;
            }
            file.write_all_at(&self.buffer[..n], offset)
                .map_err(|e| Error::io("writing", &path, e))?;
            offset += n as u64;
        }
        self.syncer.sync(path, file);
        self.written.whole_files += 1;
        self.written.bytes += offset;
        Ok(())
    }

    /// An incremental file of the newest backup: its relation file is created at its full length,
    /// its blocks written, and the blocks below its truncation length it lacks are looked for in the
    /// older backups.
    fn start_rebuild(
        &mut self,
        entry: &mut impl Read,
        out: &Path,
        size: u64,
        mode: u32,
        member: &Member,
    ) -> Result<()> {
        let header = read_header(entry, size, out, member)?;
        let length = header
            .blocks
            .iter()
            .map(|b| b + 1)
            .fold(header.truncation_length, u32::max);
        let path = self.dir.join(out);
        let file = create(&path, mode)?;
        file.set_len(u64::from(length) * BLCKSZ as u64)
            .map_err(|e| Error::io("sizing", &path, e))?;
        let mut missing = Missing::new(header.truncation_length);
        let bytes = self.copy_blocks(
            entry,
            (&file, &path),
            &header.blocks,
            member,
            &mut missing,
            true,
        )?;
        self.written.rebuilt_files += 1;
        self.written.bytes += bytes;
        let complete = missing.left == 0;
        self.park_or_finish(out, (missing, complete), path, file);
        Ok(())
    }

    /// An older backup's version of a file being rebuilt (`incremental` or whole): the blocks still
    /// missing are taken from it.
    fn fill_from(
        &mut self,
        entry: &mut impl Read,
        out: &Path,
        incremental: bool,
        size: u64,
        member: &Member,
    ) -> Result<()> {
        let blocks: Vec<u32> = if incremental {
            read_header(entry, size, out, member)?.blocks
        } else {
            (0..u32::try_from(size / BLCKSZ as u64).unwrap_or(u32::MAX)).collect()
        };
        let Some(mut missing) = self.missing.remove(out) else {
            return Ok(());
        };
        let path = self.dir.join(out);
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("opening", &path, e))?;
        let bytes =
            self.copy_blocks(entry, (&file, &path), &blocks, member, &mut missing, false)?;
        self.written.bytes += bytes;
        // After the full backup, the blocks it lacks stay zero: nothing older is looked at.
        let complete = !incremental || missing.left == 0;
        self.park_or_finish(out, (missing, complete), path, file);
        Ok(())
    }

    /// A rebuilt file not yet `complete` waits, with the blocks it is `missing`, for the older
    /// backups; a complete one is synced.
    fn park_or_finish(
        &mut self,
        out: &Path,
        (missing, complete): (Missing, bool),
        path: PathBuf,
        file: File,
    ) {
        if complete {
            self.syncer.sync(path, file);
        } else {
            self.missing.insert(out.to_path_buf(), missing);
        }
    }

    /// Reads the blocks `blocks` (in the order the entry holds them) and writes those still
    /// `missing` (or `all` of them) at their places in the file, runs of consecutive blocks at a
    /// time; the blocks written are marked in `missing`. Returns the bytes written.
    fn copy_blocks(
        &mut self,
        entry: &mut impl Read,
        (file, path): (&File, &Path),
        blocks: &[u32],
        member: &Member,
        missing: &mut Missing,
        all: bool,
    ) -> Result<u64> {
        let mut written = 0u64;
        let mut at = 0;
        while at < blocks.len() {
            let wanted = all || missing.wants(blocks[at]);
            let mut end = at + 1;
            while end < blocks.len()
                && end - at < RUN_BLOCKS
                && blocks[end] == blocks[end - 1] + 1
                && (all || missing.wants(blocks[end])) == wanted
            {
                end += 1;
            }
            let run = &mut self.buffer[..(end - at) * BLCKSZ];
            let n = read_full(entry, run).map_err(|e| corrupt(member, e.to_string()))?;
            if n != run.len() {
                return Err(corrupt(
                    member,
                    format!("`{}` ends inside block {}", path.display(), blocks[at]),
                ));
            }
            if wanted {
                file.write_all_at(run, u64::from(blocks[at]) * BLCKSZ as u64)
                    .map_err(|e| Error::io("writing", path, e))?;
                written += run.len() as u64;
                blocks[at..end].iter().for_each(|&b| missing.mark(b));
            }
            at = end;
        }
        Ok(written)
    }

    fn check_manifest(
        &mut self,
        manifest: Option<&[u8]>,
        files: &BTreeMap<PathBuf, (u64, u32)>,
        member: &Member,
    ) -> Result<()> {
        if !self.verify || !member.has_manifest {
            return Ok(());
        }
        let Some(text) = manifest else {
            return Err(corrupt(member, "its stream has no backup_manifest".into()));
        };
        let system = super::manifest_check::check_stream(text, files, Path::new(&member.key))?;
        match (self.system_identifier, system) {
            (Some(expected), Some(found)) if expected != found => Err(broken(
                member,
                format!("it is of system {found}, the newer backups of system {expected}"),
            )),
            _ => {
                self.system_identifier = self.system_identifier.or(system);
                Ok(())
            }
        }
    }

    /// After an older backup: every file still missing blocks was in it, whole or incremental.
    fn check_nothing_lost(&self, present: &HashSet<PathBuf>, member: &Member) -> Result<()> {
        if member.position.newest {
            return Ok(());
        }
        match self.missing.keys().find(|path| !present.contains(*path)) {
            Some(path) => Err(broken(
                member,
                format!(
                    "it has neither `{}` nor an incremental file of it, which the newer backups \
                     build on",
                    path.display()
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The relation file an incremental file rebuilds: `INCREMENTAL.<name>` in a database's directory,
/// `global` or a tablespace's (elsewhere such a name is an ordinary file).
fn rebuilt_path(rel: &Path) -> Option<PathBuf> {
    let name = rel
        .file_name()?
        .to_str()?
        .strip_prefix(INCREMENTAL_PREFIX)?;
    let dir = rel.parent()?;
    let relation_dir = dir == Path::new("global")
        || (dir.starts_with("base") && dir != Path::new("base"))
        || (dir.starts_with("pg_tblspc") && dir != Path::new("pg_tblspc"));
    relation_dir.then(|| dir.join(name))
}

/// Reads an incremental file's header (`size`: the whole file's), leaving `entry` at its first block.
fn read_header(
    entry: &mut impl Read,
    size: u64,
    out: &Path,
    member: &Member,
) -> Result<IncrementalHeader> {
    let bad = |reason: String| {
        corrupt(
            member,
            format!("the incremental file of `{}` {reason}", out.display()),
        )
    };
    let mut fixed = [0u8; 12];
    entry
        .read_exact(&mut fixed)
        .map_err(|e| bad(format!("has no header ({e})")))?;
    let word =
        |at: usize| u32::from_ne_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]]);
    let (magic, count, truncation_length) = (word(0), word(4), word(8));
    if magic != INCREMENTAL_MAGIC {
        return Err(bad(format!(
            "has the magic number {magic:#x}, not {INCREMENTAL_MAGIC:#x}"
        )));
    }
    if count > SEGMENT_BLOCKS || truncation_length > SEGMENT_BLOCKS {
        return Err(bad(format!(
            "names {count} blocks and a length of {truncation_length}, more than a segment's \
             {SEGMENT_BLOCKS}"
        )));
    }
    let mut raw = vec![0u8; count as usize * 4];
    entry
        .read_exact(&mut raw)
        .map_err(|e| bad(format!("ends inside its header ({e})")))?;
    let blocks: Vec<u32> = raw
        .chunks_exact(4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(&block) = blocks.iter().find(|&&b| b >= SEGMENT_BLOCKS) {
        return Err(bad(format!("names block {block}, past a segment's end")));
    }
    // The blocks start at a multiple of the block size when there are any.
    let mut header_length = 12 + raw.len();
    if count > 0 && !header_length.is_multiple_of(BLCKSZ) {
        let padding = BLCKSZ - header_length % BLCKSZ;
        std::io::copy(&mut entry.take(padding as u64), &mut std::io::sink())
            .map_err(|e| bad(format!("ends inside its header ({e})")))?;
        header_length += padding;
    }
    let expected = header_length as u64 + u64::from(count) * BLCKSZ as u64;
    if size != expected {
        return Err(bad(format!(
            "has {size} bytes, its header ({count} blocks of {BLCKSZ} bytes) says {expected}; \
             dbops reads backups of servers built with 8 kB blocks"
        )));
    }
    Ok(IncrementalHeader {
        blocks,
        truncation_length,
    })
}

/// Creates the file `path` with `mode` (and its directory, when the stream had none for it).
fn create(path: &Path, mode: u32) -> Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
            }
            open()
        }
        other => other,
    }
    .map_err(|e| Error::io("creating", path, e))
}

fn corrupt(member: &Member, reason: String) -> Error {
    Error::Integrity {
        key: member.key.clone(),
        reason: format!(
            "base backup {} of the chain cannot be read: {reason}; check the chain (dbops pitr \
             verify), then restore another chain (--base-backup ID) or take a new full base backup",
            member.id
        ),
    }
}

fn broken(member: &Member, reason: String) -> Error {
    Error::Integrity {
        key: member.key.clone(),
        reason: format!(
            "base backup {} does not continue the chain: {reason}; restore another chain \
             (--base-backup ID) or take a new full base backup",
            member.id
        ),
    }
}

fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pitr::test_tar::tar_of;

    fn label(start: &str, from: Option<&str>) -> Vec<u8> {
        let mut text = format!(
            "START WAL LOCATION: {start} (file 000000010000000000000002)\n\
             CHECKPOINT LOCATION: {start}\nSTART TIMELINE: 1\n"
        );
        if let Some(from) = from {
            text += &format!("INCREMENTAL FROM LSN: {from}\nINCREMENTAL FROM TLI: 1\n");
        }
        text.into_bytes()
    }

    /// An incremental file of `blocks` (block number, the byte it is filled with).
    fn incremental(blocks: &[(u32, u8)], truncation_length: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [INCREMENTAL_MAGIC, blocks.len() as u32, truncation_length] {
            out.extend(word.to_ne_bytes());
        }
        blocks.iter().for_each(|(b, _)| out.extend(b.to_ne_bytes()));
        if !blocks.is_empty() {
            out.resize(out.len().div_ceil(BLCKSZ) * BLCKSZ, 0);
        }
        blocks
            .iter()
            .for_each(|(_, fill)| out.extend([*fill; BLCKSZ]));
        out
    }

    /// Combines the tar streams `chain` (newest first) into a new directory.
    fn combine(chain: &[Vec<u8>]) -> Result<tempfile::TempDir> {
        let dir = tempfile::tempdir().unwrap();
        let mut combiner = Combiner::new(dir.path(), true);
        for (n, stream) in chain.iter().enumerate() {
            let member = Member {
                id: format!("b{n}"),
                key: format!("base/b{n}.tar.zst"),
                has_manifest: false,
                position: Position {
                    newest: n == 0,
                    oldest: n + 1 == chain.len(),
                },
            };
            combiner.apply(&mut stream.as_slice(), &member)?;
        }
        combiner.finish()?;
        Ok(dir)
    }

    fn full() -> Vec<u8> {
        let relation: Vec<u8> = (1..=4u8).flat_map(|fill| [fill; BLCKSZ]).collect();
        tar_of(&[
            ("backup_label", &label("0/1000028", None)),
            ("base/1/100", &relation),
            ("base/1/200", &vec![9; BLCKSZ]),
        ])
    }

    fn first_incremental() -> Vec<u8> {
        tar_of(&[
            ("backup_label", &label("0/3000028", Some("0/1000028"))),
            ("base/1/INCREMENTAL.100", &incremental(&[(1, 11)], 4)),
            ("base/1/INCREMENTAL.200", &incremental(&[], 1)),
        ])
    }

    fn newest(from: &str) -> Vec<u8> {
        tar_of(&[
            ("backup_label", &label("0/5000028", Some(from))),
            ("PG_VERSION", b"18\n"),
            (
                "base/1/INCREMENTAL.100",
                &incremental(&[(2, 22), (5, 25)], 3),
            ),
        ])
    }

    #[test]
    fn blocks_come_from_the_newest_backup_that_has_them() {
        let dir = combine(&[newest("0/3000028"), first_incremental(), full()]).unwrap();
        let relation = std::fs::read(dir.path().join("base/1/100")).unwrap();
        let blocks: Vec<u8> = relation.chunks(BLCKSZ).map(|b| b[0]).collect();
        // Block 0 from the full backup, 1 from the first incremental, 2 and 5 from the newest;
        // 3 and 4 lie past the newest's truncation length and in none of its blocks: zero.
        assert_eq!(blocks, [1, 11, 22, 0, 0, 25]);
        assert!(
            relation
                .chunks(BLCKSZ)
                .all(|b| b.iter().all(|x| *x == b[0]))
        );
        // A file the newest backup does not have is not restored; its own files are.
        assert!(!dir.path().join("base/1/200").exists());
        assert_eq!(
            std::fs::read(dir.path().join("PG_VERSION")).unwrap(),
            b"18\n"
        );
        let label = std::fs::read_to_string(dir.path().join("backup_label")).unwrap();
        assert!(label.starts_with("START WAL LOCATION: 0/5000028"));
        assert!(!label.contains("INCREMENTAL"), "{label}");
    }

    #[test]
    fn a_broken_chain_is_named() {
        let cases = [
            // The newest was taken on a backup that started elsewhere.
            (
                vec![newest("0/4000028"), first_incremental(), full()],
                "b1 does not continue the chain: it starts at 0/3000028",
            ),
            // The chain ends at an incremental.
            (
                vec![newest("0/3000028"), first_incremental()],
                "b1 does not continue the chain: it is incremental",
            ),
            // An older backup lacks a file the newer ones build on.
            (
                vec![
                    newest("0/3000028"),
                    tar_of(&[("backup_label", &label("0/3000028", Some("0/1000028")))]),
                    full(),
                ],
                "neither `base/1/100`",
            ),
            // An incremental file that is not one.
            (
                vec![
                    tar_of(&[
                        ("backup_label", &label("0/5000028", Some("0/3000028"))),
                        ("base/1/INCREMENTAL.100", &[0; 12]),
                    ]),
                    first_incremental(),
                    full(),
                ],
                "magic number 0x0",
            ),
        ];
        for (chain, expected) in cases {
            let error = crate::error::report(&combine(&chain).unwrap_err());
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}
