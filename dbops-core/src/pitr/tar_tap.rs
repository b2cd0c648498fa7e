//! Watching `pg_basebackup`'s tar stream go by: the contents of a few small members are kept
//! (`backup_label`, `backup_manifest`), and the WAL files the server adds to an incremental's
//! stream (`--wal-method=fetch`) can be left out of what is stored (the archive has them; the
//! `archive_status` files that come with them are in the backup's manifest and stay). A member
//! is left out only when its header arrives in one read: reads of whole 512-byte blocks ensure it.

use std::collections::BTreeMap;
use std::ops::Range;

/// The tap on a tar stream; see the module.
#[derive(Default)]
pub(super) struct TarTap {
    /// Leave out the files directly in `pg_wal/`.
    drop_wal: bool,
    header: Vec<u8>,
    remaining: u64,
    padding: u64,
    /// The member being read is left out of the output.
    dropping: bool,
    capturing: Option<String>,
    /// The kept members' contents by name.
    pub captured: BTreeMap<String, Vec<u8>>,
    /// The end-of-archive block was read.
    pub done: bool,
    /// WAL bytes left out.
    pub dropped: u64,
}

impl TarTap {
    const WANTED: [&'static str; 2] = ["backup_label", "backup_manifest"];

    /// A tap that passes the whole stream on.
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// A tap that leaves the WAL files (`pg_wal/<file>`) out of the stream it passes on.
    pub(super) fn without_wal() -> Self {
        Self {
            drop_wal: true,
            ..Self::default()
        }
    }

    /// Reads `data`, the next bytes of the stream; returns the ranges of it that are kept.
    pub(super) fn feed(&mut self, data: &[u8]) -> Vec<Range<usize>> {
        let mut kept = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            let n = if self.done {
                rest.len()
            } else if self.remaining > 0 || self.padding > 0 {
                let body = (self.remaining as usize).min(rest.len());
                if let Some(name) = &self.capturing {
                    self.captured
                        .entry(name.clone())
                        .or_default()
                        .extend_from_slice(&rest[..body]);
                }
                self.remaining -= body as u64;
                if self.remaining > 0 {
                    body
                } else {
                    self.capturing = None;
                    let padding = (self.padding as usize).min(rest.len() - body);
                    self.padding -= padding as u64;
                    body + padding
                }
            } else {
                let n = (512 - self.header.len()).min(rest.len());
                let split = n < 512;
                self.header.extend_from_slice(&rest[..n]);
                if self.header.len() == 512 {
                    let header = std::mem::take(&mut self.header);
                    self.start_member(&header);
                }
                // A header split across reads was passed on in part: its member is kept whole.
                if split {
                    self.dropping = false;
                }
                n
            };
            self.keep(at, at + n, &mut kept);
            at += n;
        }
        kept
    }

    /// Keeps `start..end` of the data unless the current member is left out.
    fn keep(&mut self, start: usize, end: usize, kept: &mut Vec<Range<usize>>) {
        if self.dropping {
            self.dropped += (end - start) as u64;
            return;
        }
        match kept.last_mut() {
            Some(last) if last.end == start => last.end = end,
            _ => kept.push(start..end),
        }
    }

    /// Reads a member's header (or the end-of-archive block).
    fn start_member(&mut self, header: &[u8]) {
        if header.iter().all(|b| *b == 0) {
            self.done = true;
            self.dropping = false;
            return;
        }
        let name = String::from_utf8_lossy(&header[..100])
            .trim_end_matches('\0')
            .to_string();
        let size = member_size(&header[124..136]);
        let regular = matches!(header[156], b'0' | 0);
        self.remaining = size;
        self.padding = (512 - size % 512) % 512;
        let name = name.trim_start_matches("./").to_string();
        // The WAL files themselves; their archive_status files are in the backup's manifest.
        self.dropping = self.drop_wal
            && regular
            && name
                .strip_prefix("pg_wal/")
                .is_some_and(|file| !file.contains('/'));
        self.capturing =
            (regular && size > 0 && Self::WANTED.contains(&name.as_str())).then_some(name);
    }
}

/// A tar header's size field: octal digits, or big-endian base 256 when its first bit is set.
fn member_size(field: &[u8]) -> u64 {
    if field[0] & 0x80 != 0 {
        return field[1..]
            .iter()
            .fold(0u64, |size, byte| (size << 8) | u64::from(*byte));
    }
    let text = String::from_utf8_lossy(field);
    u64::from_str_radix(text.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pitr::test_tar::tar_of;

    fn feed(tap: &mut TarTap, chunk: &[u8], out: &mut Vec<u8>) {
        for range in tap.feed(chunk) {
            out.extend_from_slice(&chunk[range]);
        }
    }

    fn names(tar: &[u8]) -> Vec<String> {
        tar::Archive::new(tar)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn the_tap_captures_small_members_and_passes_the_stream_on() {
        let tar = tar_of(&[
            ("PG_VERSION", b"15\n"),
            ("backup_label", b"START TIMELINE: 1\n"),
        ]);
        let (mut tap, mut out) = (TarTap::new(), Vec::new());
        for chunk in tar.chunks(7) {
            feed(&mut tap, chunk, &mut out);
        }
        assert_eq!(tap.captured["backup_label"], b"START TIMELINE: 1\n");
        assert!(!tap.captured.contains_key("PG_VERSION"));
        assert!(tap.done);
        assert_eq!(out, tar);
    }

    #[test]
    fn wal_files_can_be_left_out() {
        let segment = vec![7u8; 3000];
        let tar = tar_of(&[
            ("backup_label", b"START TIMELINE: 1\n"),
            ("pg_wal/000000010000000000000003", &segment),
            ("./pg_wal/archive_status/000000010000000000000003.done", b""),
            ("backup_manifest", b"{}"),
        ]);
        for size in [512, 1024, 4096, tar.len()] {
            let (mut tap, mut out) = (TarTap::without_wal(), Vec::new());
            for chunk in tar.chunks(size) {
                feed(&mut tap, chunk, &mut out);
            }
            assert_eq!(
                names(&out),
                [
                    "backup_label",
                    "pg_wal/archive_status/000000010000000000000003.done",
                    "backup_manifest"
                ],
                "{size}"
            );
            assert_eq!(tap.captured["backup_manifest"], b"{}");
            assert_eq!(tap.dropped, 512 + 3072);
            assert_eq!(out.len() as u64 + tap.dropped, tar.len() as u64);
        }
        // Reads that split headers keep the stream whole and valid.
        for size in [1, 7, 511, 513] {
            let (mut tap, mut out) = (TarTap::without_wal(), Vec::new());
            for chunk in tar.chunks(size) {
                feed(&mut tap, chunk, &mut out);
            }
            let kept = names(&out);
            assert!(
                kept.contains(&"backup_manifest".to_string()),
                "{size}: {kept:?}"
            );
            assert_eq!(out.len() as u64 + tap.dropped, tar.len() as u64);
            assert_eq!(tap.captured["backup_label"], b"START TIMELINE: 1\n");
        }
    }
}
