//! Delta restores: a base backup written into an existing data directory (a stale copy, the old
//! primary after a failover) by rewriting only the files whose contents differ from the backup's and
//! removing the files the backup does not have, so the directory ends as a restore into an empty one
//! would leave it. Files are compared byte for byte with the backup as it streams by; a file that
//! differs is rewritten from the first differing megabyte on.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// What a delta restore changed in the data directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeltaReport {
    /// Files whose contents already matched the backup: left as they were.
    pub unchanged: u64,
    /// Files written (new, or different from the backup's).
    pub written: u64,
    /// Bytes written into them.
    pub bytes_written: u64,
    /// Files and directories the backup does not have: removed.
    pub removed: u64,
}

const CHUNK: usize = 1 << 20;

/// Refuses a directory a delta restore must not touch: one that is not a PostgreSQL data directory
/// (no `PG_VERSION`) while not empty, or one a running server uses.
pub(crate) fn check_target(dir: &Path) -> Result<()> {
    let refuse = |reason: String| Error::Refused {
        action: format!("delta restore into `{}`", dir.display()),
        reason,
    };
    if !dir.exists() {
        return Ok(());
    }
    let empty = std::fs::read_dir(dir)
        .map_err(|e| Error::io("reading the target directory", dir, e))?
        .next()
        .is_none();
    if !empty && !dir.join("PG_VERSION").exists() {
        return Err(refuse(
            "it is not empty and not a PostgreSQL data directory (no PG_VERSION); a delta restore \
             removes every file the backup does not have, so give a data directory or an empty one"
                .into(),
        ));
    }
    if let Some(pid) = running_postmaster(dir) {
        return Err(refuse(format!(
            "a server (pid {pid}) runs on it; stop it first (pg_ctl stop -D {})",
            dir.display()
        )));
    }
    Ok(())
}

/// The pid in `postmaster.pid` when that process is alive.
fn running_postmaster(dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
}

/// The relative path of a tar member, refusing absolute paths and `..`.
pub(super) fn member_path(path: &Path) -> std::io::Result<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("unsafe path in the backup: {}", path.display()),
                ));
            }
        }
    }
    Ok(out)
}

/// Unpacks the tar stream `reader` into `dir` as a delta: see the module.
pub(crate) fn unpack_tar(reader: impl Read, dir: &Path) -> std::io::Result<DeltaReport> {
    let mut report = DeltaReport::default();
    let mut keep = BTreeSet::new();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let rel = member_path(&entry.path()?)?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = dir.join(&rel);
        let mode = entry.header().mode().unwrap_or(0o600);
        keep_with_parents(&mut keep, &rel);
        match entry.header().entry_type() {
            tar::EntryType::Directory => make_dir(&target, mode)?,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                write_if_changed(&mut entry, &target, size, mode, &mut report)?;
            }
            _ => {
                remove_any(&target)?;
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                entry.unpack_in(dir)?;
                report.written += 1;
            }
        }
    }
    remove_extra(dir, Path::new(""), &keep, &mut report)?;
    Ok(report)
}

/// Makes `dir` (a fully restored tree, e.g. combined from a chain) the contents of `target`:
/// identical files stay, others are moved over, extra ones removed.
pub(crate) fn sync_dir(from: &Path, target: &Path) -> std::io::Result<DeltaReport> {
    let mut report = DeltaReport::default();
    let mut keep = BTreeSet::new();
    sync_level(from, target, Path::new(""), &mut keep, &mut report)?;
    remove_extra(target, Path::new(""), &keep, &mut report)?;
    Ok(report)
}

fn sync_level(
    from: &Path,
    target: &Path,
    rel: &Path,
    keep: &mut BTreeSet<PathBuf>,
    report: &mut DeltaReport,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from.join(rel))? {
        let entry = entry?;
        let child = rel.join(entry.file_name());
        keep.insert(child.clone());
        let source = from.join(&child);
        let dest = target.join(&child);
        let meta = std::fs::symlink_metadata(&source)?;
        let mode = meta.permissions().mode();
        if meta.is_dir() {
            make_dir(&dest, mode)?;
            sync_level(from, target, &child, keep, report)?;
        } else if meta.is_file() && same_contents(&source, &dest)? {
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode))?;
            report.unchanged += 1;
        } else {
            remove_any(&dest)?;
            std::fs::rename(&source, &dest)?;
            report.written += 1;
            report.bytes_written += meta.len();
        }
    }
    Ok(())
}

/// Whether `a` and `b` are regular files with the same bytes.
fn same_contents(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (Ok(meta_a), Ok(meta_b)) = (std::fs::metadata(a), std::fs::symlink_metadata(b)) else {
        return Ok(false);
    };
    if !meta_b.is_file() || meta_a.len() != meta_b.len() {
        return Ok(false);
    }
    let (mut fa, mut fb) = (File::open(a)?, File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    loop {
        let n = read_full(&mut fa, &mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        if read_full(&mut fb, &mut bb[..n])? != n || ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// Writes the `size` bytes of `entry` to `target` unless the file there already has them: compared
/// a megabyte at a time, written from the first chunk that differs.
fn write_if_changed(
    entry: &mut impl Read,
    target: &Path,
    size: u64,
    mode: u32,
    report: &mut DeltaReport,
) -> std::io::Result<()> {
    let existing = std::fs::symlink_metadata(target).ok();
    let same_size = existing
        .as_ref()
        .is_some_and(|m| m.is_file() && m.len() == size);
    if !same_size {
        remove_any(target)?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = File::create(target)?;
        let written = std::io::copy(entry, &mut file)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        report.written += 1;
        report.bytes_written += written;
        return Ok(());
    }
    let mut file = OpenOptions::new().read(true).write(true).open(target)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    let (mut wanted, mut have) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut offset = 0u64;
    loop {
        let n = read_full(entry, &mut wanted)?;
        if n == 0 {
            report.unchanged += 1;
            return Ok(());
        }
        let m = read_full(&mut file, &mut have[..n])?;
        if m != n || wanted[..n] != have[..n] {
            file.seek(SeekFrom::Start(offset))?;
            file.write_all(&wanted[..n])?;
            let rest = std::io::copy(entry, &mut file)?;
            file.set_len(size)?;
            report.written += 1;
            report.bytes_written += n as u64 + rest;
            return Ok(());
        }
        offset += n as u64;
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(super) fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Creates `path` (and its parents) with `mode`, replacing a file of that name.
pub(super) fn make_dir(path: &Path, mode: u32) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir()) {
        std::fs::remove_file(path)?;
    }
    std::fs::create_dir_all(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777))
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => Ok(()),
    }
}

fn keep_with_parents(keep: &mut BTreeSet<PathBuf>, rel: &Path) {
    let mut path = Some(rel);
    while let Some(p) = path.filter(|p| !p.as_os_str().is_empty()) {
        if !keep.insert(p.to_path_buf()) {
            break;
        }
        path = p.parent();
    }
}

/// Removes what lies under `dir/rel` and is not in `keep`.
fn remove_extra(
    dir: &Path,
    rel: &Path,
    keep: &BTreeSet<PathBuf>,
    report: &mut DeltaReport,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir.join(rel))? {
        let entry = entry?;
        let child = rel.join(entry.file_name());
        let is_dir = entry.file_type()?.is_dir();
        if !keep.contains(&child) {
            remove_any(&dir.join(&child))?;
            report.removed += 1;
        } else if is_dir {
            remove_extra(dir, &child, keep, report)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pitr::test_tar::tar_of;

    #[test]
    fn only_what_differs_is_written_and_extra_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..3 * CHUNK).map(|i| (i % 251) as u8).collect();
        let mut changed = big.clone();
        changed[2 * CHUNK + 5] ^= 0xff;
        std::fs::create_dir_all(dir.path().join("base/1")).unwrap();
        std::fs::write(dir.path().join("PG_VERSION"), "18\n").unwrap();
        std::fs::write(dir.path().join("base/1/100"), &changed).unwrap();
        std::fs::write(dir.path().join("base/1/stale"), b"junk").unwrap();
        std::fs::create_dir_all(dir.path().join("old_dir/x")).unwrap();
        let tar = tar_of(&[
            ("PG_VERSION", b"18\n"),
            ("base/1/100", &big),
            ("global/pg_control", b"control"),
        ]);
        let report = unpack_tar(&tar[..], dir.path()).unwrap();
        assert_eq!(std::fs::read(dir.path().join("base/1/100")).unwrap(), big);
        assert_eq!(
            std::fs::read(dir.path().join("global/pg_control")).unwrap(),
            b"control"
        );
        assert!(!dir.path().join("base/1/stale").exists());
        assert!(!dir.path().join("old_dir").exists());
        assert_eq!(
            (report.unchanged, report.written, report.removed),
            (1, 2, 2)
        );
        // Only the last megabyte of the changed file was rewritten.
        assert_eq!(report.bytes_written, CHUNK as u64 + 7);
        let again = unpack_tar(&tar[..], dir.path()).unwrap();
        assert_eq!((again.unchanged, again.written, again.removed), (3, 0, 0));
    }

    #[test]
    fn unsafe_paths_and_foreign_directories_are_refused() {
        assert!(member_path(Path::new("../etc/passwd")).is_err());
        assert!(member_path(Path::new("/etc/passwd")).is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let error = check_target(dir.path()).unwrap_err().to_string();
        assert!(error.contains("not a PostgreSQL data directory"), "{error}");
    }
}
