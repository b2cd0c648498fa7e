//! Checking an unpacked base backup against its `backup_manifest` (what `pg_verifybackup
//! --no-parse-wal` checks), for backups of a PostgreSQL major whose own `pg_verifybackup` is not
//! installed: another major's reads its control file wrongly.
//!
//! The manifest's own checksum (SHA-256 of its text up to `"Manifest-Checksum"`) is checked first;
//! then every file it lists must be there with its size and checksum (CRC-32C or SHA-2), and no file
//! may be there that it does not list (besides those a restore adds or the server rewrites).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::Digest;

use crate::error::{Error, Result};

/// Files the manifest may lack (pg_verifybackup ignores them too).
const NOT_LISTED: [&str; 5] = [
    "backup_manifest",
    "pg_wal",
    "postgresql.auto.conf",
    "recovery.signal",
    "standby.signal",
];

/// What the check looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestCheck {
    /// Files checked.
    pub files: usize,
    /// The checksum algorithms met (e.g. `CRC32C`).
    pub algorithms: BTreeSet<String>,
}

#[derive(Deserialize)]
struct Manifest {
    /// From version 2 (PostgreSQL 17) on.
    #[serde(rename = "System-Identifier", default)]
    system_identifier: Option<u64>,
    #[serde(rename = "Files")]
    files: Vec<FileEntry>,
    #[serde(rename = "Manifest-Checksum")]
    manifest_checksum: String,
}

#[derive(Deserialize)]
struct FileEntry {
    #[serde(rename = "Path")]
    path: Option<String>,
    /// The path's bytes in hex, for a path that is not UTF-8.
    #[serde(rename = "Encoded-Path")]
    encoded_path: Option<String>,
    #[serde(rename = "Size")]
    size: u64,
    #[serde(rename = "Checksum-Algorithm", default)]
    algorithm: Option<String>,
    #[serde(rename = "Checksum", default)]
    checksum: Option<String>,
}

/// Checks `data_dir` against its `backup_manifest`.
pub(crate) fn check(data_dir: &Path) -> Result<ManifestCheck> {
    let manifest_path = data_dir.join("backup_manifest");
    let text = std::fs::read(&manifest_path)
        .map_err(|e| Error::io("reading the backup manifest", &manifest_path, e))?;
    let manifest = parse(&text, &manifest_path)?;
    let mut listed = BTreeSet::new();
    let mut algorithms = BTreeSet::new();
    for entry in &manifest.files {
        let relative = entry_path(entry, &manifest_path)?;
        check_file(data_dir, &relative, entry)?;
        if let Some(algorithm) = &entry.algorithm {
            algorithms.insert(algorithm.clone());
        }
        listed.insert(relative);
    }
    let mut present = Vec::new();
    files_under(data_dir, Path::new(""), &mut present)?;
    if let Some(extra) = present.iter().find(|p| !listed.contains(*p)) {
        return Err(problem(
            data_dir,
            format!(
                "`{}` is in the unpacked backup but not in its backup_manifest",
                extra.display()
            ),
        ));
    }
    Ok(ManifestCheck {
        files: listed.len(),
        algorithms,
    })
}

/// Checks the regular files of a backup's tar stream as they went by (`seen`: each one's size and
/// CRC-32C by path) against the stream's `backup_manifest` (`text`), as [`check`] does an unpacked
/// one: every listed file there with its size and checksum (of a CRC-32C manifest; another
/// algorithm's by size), none there unlisted. `at` names the backup in errors. Returns the
/// manifest's system identifier (from PostgreSQL 17 on).
pub(crate) fn check_stream(
    text: &[u8],
    seen: &std::collections::BTreeMap<PathBuf, (u64, u32)>,
    at: &Path,
) -> Result<Option<u64>> {
    let manifest = parse(text, at)?;
    let mut listed = BTreeSet::new();
    for entry in &manifest.files {
        let relative = entry_path(entry, at)?;
        let Some(&(size, crc)) = seen.get(&relative) else {
            return Err(problem(
                at,
                format!(
                    "`{}` is in the backup_manifest but not in the backup",
                    relative.display()
                ),
            ));
        };
        compare(at, &relative, size, entry, |algorithm| {
            Ok((algorithm == "CRC32C").then(|| hex::encode(crc.to_le_bytes())))
        })?;
        listed.insert(relative);
    }
    let unlisted = seen.keys().find(|path| {
        !listed.contains(*path)
            && *path != Path::new("backup_manifest")
            && !path.starts_with("pg_wal")
    });
    if let Some(extra) = unlisted {
        return Err(problem(
            at,
            format!(
                "`{}` is in the backup but not in its backup_manifest",
                extra.display()
            ),
        ));
    }
    Ok(manifest.system_identifier)
}

/// The manifest, after its own checksum is checked.
fn parse(text: &[u8], path: &Path) -> Result<Manifest> {
    let manifest: Manifest = serde_json::from_slice(text)
        .map_err(|e| problem(path, format!("the backup_manifest is not valid: {e}")))?;
    let covered = find_last(text, b"\"Manifest-Checksum\"")
        .ok_or_else(|| problem(path, "the backup_manifest has no Manifest-Checksum".into()))?;
    let actual = hex::encode(sha2::Sha256::digest(&text[..covered]));
    if !actual.eq_ignore_ascii_case(&manifest.manifest_checksum) {
        return Err(problem(
            path,
            format!(
                "the backup_manifest's own checksum is {actual}, it says {}: the manifest was changed",
                manifest.manifest_checksum
            ),
        ));
    }
    Ok(manifest)
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The relative path of a manifest entry (`Path`, or the hex bytes of `Encoded-Path`).
fn entry_path(entry: &FileEntry, manifest: &Path) -> Result<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    match (&entry.path, &entry.encoded_path) {
        (Some(path), _) => Ok(PathBuf::from(path)),
        (None, Some(encoded)) => hex::decode(encoded)
            .map(|bytes| PathBuf::from(std::ffi::OsString::from_vec(bytes)))
            .map_err(|e| problem(manifest, format!("an Encoded-Path is not hex: {e}"))),
        (None, None) => Err(problem(manifest, "a file entry has no path".into())),
    }
}

/// Checks one listed file's presence, size and checksum.
fn check_file(data_dir: &Path, relative: &Path, entry: &FileEntry) -> Result<()> {
    let path = data_dir.join(relative);
    let size = std::fs::metadata(&path)
        .map_err(|_| {
            problem(
                data_dir,
                format!(
                    "`{}` is in the backup_manifest but not in the unpacked backup",
                    relative.display()
                ),
            )
        })?
        .len();
    compare(data_dir, relative, size, entry, |algorithm| {
        checksum(&path, algorithm)
    })
}

/// Compares a listed file's size and then its checksum with its manifest entry; `checksum` gives
/// the file's checksum in the entry's algorithm (`None`: not known, the size alone is compared).
/// `at` names the backup in errors.
fn compare(
    at: &Path,
    relative: &Path,
    size: u64,
    entry: &FileEntry,
    checksum: impl FnOnce(&str) -> Result<Option<String>>,
) -> Result<()> {
    if size != entry.size {
        return Err(problem(
            at,
            format!(
                "`{}` has {size} bytes, the backup_manifest says {}",
                relative.display(),
                entry.size
            ),
        ));
    }
    let (Some(algorithm), Some(expected)) = (&entry.algorithm, &entry.checksum) else {
        return Ok(());
    };
    match checksum(algorithm)? {
        Some(actual) if !actual.eq_ignore_ascii_case(expected) => Err(problem(
            at,
            format!(
                "`{}` has the {algorithm} checksum {actual}, the backup_manifest says {expected}",
                relative.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// The checksum of `path` as a manifest writes it (CRC-32C: its four bytes little-endian, in hex),
/// or `None` for `NONE`.
fn checksum(path: &Path, algorithm: &str) -> Result<Option<String>> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("reading", path, e))?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut crc = 0u32;
    let mut sha: Option<Box<dyn sha2::digest::DynDigest>> = match algorithm {
        "CRC32C" => None,
        "SHA224" => Some(Box::new(sha2::Sha224::new())),
        "SHA256" => Some(Box::new(sha2::Sha256::new())),
        "SHA384" => Some(Box::new(sha2::Sha384::new())),
        "SHA512" => Some(Box::new(sha2::Sha512::new())),
        "NONE" => return Ok(None),
        other => {
            return Err(problem(
                path,
                format!("the backup_manifest uses the unknown checksum algorithm {other}"),
            ));
        }
    };
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| Error::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        match sha.as_mut() {
            Some(sha) => sha.update(&buffer[..n]),
            None => crc = crc32c::crc32c_append(crc, &buffer[..n]),
        }
    }
    Ok(Some(match sha {
        Some(sha) => hex::encode(sha.finalize()),
        None => hex::encode(crc.to_le_bytes()),
    }))
}

/// Every file under `dir` (relative to the data directory), skipping what a manifest does not list.
fn files_under(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(relative);
    for entry in std::fs::read_dir(&dir).map_err(|e| Error::io("reading", &dir, e))? {
        let entry = entry.map_err(|e| Error::io("reading", &dir, e))?;
        let path = relative.join(entry.file_name());
        if relative.as_os_str().is_empty() && NOT_LISTED.iter().any(|n| entry.file_name() == *n) {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("reading", entry.path(), e))?;
        if kind.is_dir() {
            files_under(root, &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn problem(at: &Path, reason: String) -> Error {
    Error::Integrity {
        key: at.display().to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory of two files and a manifest of them (checksums as PostgreSQL writes them).
    fn backup() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("PG_VERSION"), "15\n").unwrap();
        std::fs::create_dir(dir.path().join("global")).unwrap();
        std::fs::write(dir.path().join("global/1261"), vec![7u8; 8192]).unwrap();
        let crc = hex::encode(crc32c::crc32c(&[7u8; 8192]).to_le_bytes());
        let body = format!(
            "{{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n\
             {{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": \"x\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"8a744722\" }},\n\
             {{ \"Path\": \"global/1261\", \"Size\": 8192, \"Last-Modified\": \"x\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"{crc}\" }}\n],\n"
        );
        let sum = hex::encode(sha2::Sha256::digest(body.as_bytes()));
        std::fs::write(
            dir.path().join("backup_manifest"),
            format!("{body}\"Manifest-Checksum\": \"{sum}\"}}\n"),
        )
        .unwrap();
        dir
    }

    #[test]
    fn an_intact_backup_passes() {
        let dir = backup();
        std::fs::write(
            dir.path().join("postgresql.auto.conf"),
            "restore_command = 'x'",
        )
        .unwrap();
        let checked = check(dir.path()).unwrap();
        assert_eq!(checked.files, 2);
        assert!(checked.algorithms.contains("CRC32C"));
    }

    #[test]
    fn a_changed_missing_or_extra_file_or_manifest_fails() {
        type Damage = fn(&Path);
        let cases: [(&str, Damage); 4] = [
            ("checksum", |d| {
                std::fs::write(d.join("global/1261"), vec![8u8; 8192]).unwrap()
            }),
            ("not in the unpacked backup", |d| {
                std::fs::remove_file(d.join("PG_VERSION")).unwrap()
            }),
            ("not in its backup_manifest", |d| {
                std::fs::write(d.join("global/9999"), "x").unwrap()
            }),
            ("own checksum", |d| {
                let text = std::fs::read_to_string(d.join("backup_manifest")).unwrap();
                std::fs::write(d.join("backup_manifest"), text.replace("8192", "8193")).unwrap()
            }),
        ];
        for (expected, damage) in cases {
            let dir = backup();
            damage(dir.path());
            let error = crate::error::report(&check(dir.path()).unwrap_err());
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}
