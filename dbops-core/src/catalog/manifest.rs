//! The manifest: a backup's commit marker, written last, and the object naming scheme.
//!
//! For a database `app` and a backup started 2024-01-15 12:00:00 UTC, objects are named
//! `app/2024-01-15T120000Z-<8 hex>.dump.zst.age` (data; `.sql` for plain dumps, the compression and
//! `.age` extensions only when used), `app/<id>.globals.sql.zst` (roles and tablespaces, optional) and
//! `app/<id>.manifest.json`. A backup exists only once its manifest does.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::codec::Compression;
use crate::codec::EncryptionInfo;
use crate::error::{Error, Result};
use crate::storage::key_component;

/// The newest manifest format version this dbops reads. Version 1 describes one data object (custom or
/// plain dumps), version 2 adds the per-table objects of the `tables` format, version 3 table objects
/// in COPY binary (written only when a backup has one, so older dbops refuse what they cannot load),
/// version 4 a passphrase backup's sealed identity (`encryption.sealed_identity`).
pub const MANIFEST_VERSION: u32 = 4;
/// Suffix of manifest objects.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

/// How the database was dumped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DumpFormat {
    /// `pg_dump -Fc -Z0`: restored with `pg_restore` (selective restore possible).
    Custom,
    /// Plain SQL: restored with `psql`.
    Plain,
    /// The schema as a small custom archive plus one COPY object per table, dumped and restored in
    /// parallel (`jobs` connections), straight from and to the store. The default.
    #[default]
    Tables,
}

impl std::str::FromStr for DumpFormat {
    type Err = Error;

    /// `tables`, `custom` or `plain`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tables" => Ok(DumpFormat::Tables),
            "custom" => Ok(DumpFormat::Custom),
            "plain" => Ok(DumpFormat::Plain),
            other => Err(Error::config(
                "dump format",
                format!("`{other}` is not tables, custom or plain"),
            )),
        }
    }
}

impl DumpFormat {
    fn extension(self) -> &'static str {
        match self {
            DumpFormat::Custom => "dump",
            DumpFormat::Plain => "sql",
            DumpFormat::Tables => "schema.dump",
        }
    }
}

/// An object the manifest vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    /// Key relative to the store.
    pub key: String,
    /// Size as stored (compressed, encrypted).
    pub size: u64,
    /// sha256 of the stored bytes, hex.
    pub sha256: String,
    /// Size before compression and encryption.
    pub plaintext_size: u64,
    /// sha256 of the bytes before compression and encryption, hex.
    pub plaintext_sha256: String,
}

/// Everything known about one completed backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version of this manifest.
    pub manifest_version: u32,
    /// The backup id: `YYYY-mm-ddTHHMMSSZ-<8 hex>`.
    pub id: String,
    /// The database dumped.
    pub database: String,
    /// `server_version` of the PostgreSQL server.
    pub server_version: String,
    /// `pg_dump --version` output.
    pub pg_dump_version: String,
    /// The dbops version that wrote the backup.
    pub dbops_version: String,
    /// When the dump started.
    pub started_at: DateTime<Utc>,
    /// When the upload completed.
    pub finished_at: DateTime<Utc>,
    /// Dump format.
    pub format: DumpFormat,
    /// Compression algorithm.
    pub compression: Compression,
    /// Compression level used.
    pub compression_level: i32,
    /// Encryption mode and recipients' fingerprints.
    pub encryption: EncryptionInfo,
    /// The dump.
    pub data: StoredObject,
    /// `pg_dumpall --globals-only` output, when asked for.
    pub globals: Option<StoredObject>,
    /// Exact row count of every table at the dump's snapshot (`schema.table`), for restore checks.
    pub tables: BTreeMap<String, i64>,
    /// Free-form labels given at backup time.
    pub labels: BTreeMap<String, String>,
    /// The `tables` format's per-table objects (empty for the other formats).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<super::TableObject>,
    /// Whether the archive carries the planner statistics (`pg_dump --statistics`, servers of
    /// PostgreSQL 18 and newer): a restore into 18 or newer restores them instead of running
    /// ANALYZE.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub statistics: bool,
}

impl Manifest {
    /// The tables whose rows are stored as COPY binary.
    pub(crate) fn binary_parts(&self) -> impl Iterator<Item = &super::TableObject> {
        self.parts
            .iter()
            .filter(|p| p.format == super::CopyFormat::Binary)
    }

    /// The manifest's own key.
    pub fn key(&self) -> String {
        manifest_key(&self.database, &self.id)
    }

    /// Every object the backup consists of: data, globals, per-table parts.
    pub fn objects(&self) -> Vec<&StoredObject> {
        let mut objects = vec![&self.data];
        objects.extend(self.globals.as_ref());
        objects.extend(self.parts.iter().map(|p| &p.object));
        objects
    }

    /// The keys of [`Manifest::objects`].
    pub fn object_keys(&self) -> Vec<&str> {
        self.objects().into_iter().map(|o| o.key.as_str()).collect()
    }

    /// Bytes stored, all objects together.
    pub fn stored_size(&self) -> u64 {
        self.objects().iter().map(|o| o.size).sum()
    }

    /// Plaintext bytes, all data objects together.
    pub fn plaintext_size(&self) -> u64 {
        self.data.plaintext_size
            + self
                .parts
                .iter()
                .map(|p| p.object.plaintext_size)
                .sum::<u64>()
    }

    /// Seconds the backup took.
    pub fn duration_secs(&self) -> f64 {
        (self.finished_at - self.started_at).num_milliseconds() as f64 / 1000.0
    }

    /// Parses a manifest, with a clear error naming `key` when it is malformed.
    pub fn parse(bytes: &[u8], key: &str) -> Result<Self> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| Error::Integrity {
            key: key.to_string(),
            reason: format!("the manifest is not valid: {e}; the backup cannot be trusted"),
        })?;
        if manifest.manifest_version > MANIFEST_VERSION {
            return Err(Error::Integrity {
                key: key.to_string(),
                reason: format!(
                    "manifest version {} is newer than this dbops understands ({MANIFEST_VERSION}); \
                     upgrade dbops",
                    manifest.manifest_version
                ),
            });
        }
        let expected_prefix = format!("{}/", key_component(&manifest.database));
        let safe = |k: &str| k.starts_with(&expected_prefix) && !k.split('/').any(|p| p == "..");
        if !manifest.object_keys().into_iter().all(safe) {
            return Err(Error::Integrity {
                key: key.to_string(),
                reason: format!(
                    "the manifest points outside its database's folder (`{}`); refusing to use it",
                    manifest.data.key
                ),
            });
        }
        Ok(manifest)
    }
}

/// A new backup id for a backup starting at `at`.
pub fn new_id(at: DateTime<Utc>) -> String {
    format!(
        "{}-{}",
        at.format("%Y-%m-%dT%H%M%SZ"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// The time encoded in a backup id, if it has one.
pub fn id_time(id: &str) -> Option<DateTime<Utc>> {
    let stamp = id.get(..18)?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// The folder (key prefix) of a database's backups.
pub fn database_folder(database: &str) -> String {
    key_component(database)
}

/// The manifest key of backup `id` of `database`.
pub fn manifest_key(database: &str, id: &str) -> String {
    format!("{}/{id}{MANIFEST_SUFFIX}", database_folder(database))
}

/// The data key of backup `id`.
pub fn data_key(
    database: &str,
    id: &str,
    format: DumpFormat,
    compression: Compression,
    encrypted: bool,
) -> String {
    let mut key = format!("{}/{id}.{}", database_folder(database), format.extension());
    if let Some(ext) = compression.extension() {
        key.push('.');
        key.push_str(ext);
    }
    if encrypted {
        key.push_str(".age");
    }
    key
}

/// The key of part `index` (a table's rows) of backup `id`.
pub fn part_key(
    database: &str,
    id: &str,
    index: usize,
    compression: Compression,
    encrypted: bool,
) -> String {
    let mut key = format!("{}/{id}.t{index:05}.copy", database_folder(database));
    if let Some(ext) = compression.extension() {
        key.push('.');
        key.push_str(ext);
    }
    if encrypted {
        key.push_str(".age");
    }
    key
}

/// The globals key of backup `id`.
pub fn globals_key(database: &str, id: &str, compression: Compression, encrypted: bool) -> String {
    let mut key = format!("{}/{id}.globals.sql", database_folder(database));
    if let Some(ext) = compression.extension() {
        key.push('.');
        key.push_str(ext);
    }
    if encrypted {
        key.push_str(".age");
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_parse_back() {
        let t = DateTime::parse_from_rfc3339("2024-01-15T12:00:00Z")
            .unwrap()
            .to_utc();
        let id = new_id(t);
        assert!(id.starts_with("2024-01-15T120000Z-"), "{id}");
        assert_eq!(id_time(&id), Some(t));
        assert_eq!(
            data_key(
                "ridehailing",
                &id,
                DumpFormat::Custom,
                Compression::Zstd,
                true
            ),
            format!("ridehailing/{id}.dump.zst.age")
        );
    }
}
