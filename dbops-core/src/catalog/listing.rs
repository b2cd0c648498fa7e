//! What a store holds: backups with a manifest, legacy `backup_<db>_<YYYYmmdd_HHMMSS>.sql.gz` files of
//! the replaced script, unreadable manifests and orphaned data objects.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;
use serde::Serialize;

use super::manifest::{self, MANIFEST_SUFFIX, Manifest};
use crate::error::{Error, Result};
use crate::storage::{BackupStore, ObjectInfo};

/// Which backup to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupSelector {
    /// The newest valid backup.
    Latest,
    /// The backup with this id.
    Id(String),
    /// The newest backup started at or before this time.
    Before(DateTime<Utc>),
    /// The backup stored under this key (legacy files are found this way too).
    Key(String),
}

impl std::fmt::Display for BackupSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackupSelector::Latest => f.write_str("(latest)"),
            BackupSelector::Id(id) => write!(f, "with id {id}"),
            BackupSelector::Before(t) => write!(f, "started at or before {}", t.to_rfc3339()),
            BackupSelector::Key(k) => write!(f, "stored as `{k}`"),
        }
    }
}

impl BackupSelector {
    /// The selector from at most one of a backup id, a time (backups taken at or before it; RFC 3339
    /// or `YYYY-mm-dd HH:MM:SS`, UTC) and a key; none is [`BackupSelector::Latest`].
    pub fn choose(id: Option<String>, before: Option<&str>, key: Option<String>) -> Result<Self> {
        match (id, before, key) {
            (Some(id), None, None) => Ok(BackupSelector::Id(id)),
            (None, Some(t), None) => Ok(BackupSelector::Before(parse_time(t)?)),
            (None, None, Some(key)) => Ok(BackupSelector::Key(key)),
            (None, None, None) => Ok(BackupSelector::Latest),
            _ => Err(Error::config(
                "backup selection",
                "give at most one of a backup id, a time (before) and a key",
            )),
        }
    }

    /// A local file (a dump of the replaced script, or a data object) as the store of its directory
    /// and the selector of its name, so it restores like any backup (`dbops restore --file`).
    pub fn for_file(path: &std::path::Path) -> Result<(crate::storage::ObjectBackupStore, Self)> {
        let name = path
            .file_name()
            .ok_or_else(|| Error::config("file", format!("`{}` names no file", path.display())))?
            .to_string_lossy()
            .to_string();
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let dir = std::path::absolute(dir).map_err(|e| Error::io("resolving", dir, e))?;
        let store = crate::storage::ObjectBackupStore::open(&dir.display().to_string())?;
        Ok((store, BackupSelector::Key(name)))
    }
}

/// One restorable backup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupEntry {
    /// The backup id (for legacy files: their file name).
    pub id: String,
    /// The database it holds.
    pub database: String,
    /// When it was taken.
    pub started_at: DateTime<Utc>,
    /// Stored size of the data object.
    pub size: u64,
    /// Key of the data object.
    pub key: String,
    /// The manifest (absent for legacy files, which carry no checksums).
    pub manifest: Option<Manifest>,
}

impl BackupEntry {
    /// Whether this is a file written by the replaced backup script.
    pub fn is_legacy(&self) -> bool {
        self.manifest.is_none()
    }
}

/// Everything found in a store.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    /// Restorable backups, oldest first.
    pub backups: Vec<BackupEntry>,
    /// Manifests that could not be read or parsed (key and reason); their backups are not listed.
    pub problems: Vec<(String, String)>,
    /// Data objects without a manifest (interrupted backups, or a retention run that crashed
    /// half-way); retention deletes them once older than its grace period.
    pub orphans: Vec<ObjectInfo>,
}

impl Catalog {
    /// The backups of one database, oldest first.
    pub fn of_database<'a>(
        &'a self,
        database: &'a str,
    ) -> impl DoubleEndedIterator<Item = &'a BackupEntry> {
        self.backups.iter().filter(move |b| b.database == database)
    }

    /// Picks a backup of `database` (or of any database for [`BackupSelector::Key`]).
    pub fn select<'a>(
        &'a self,
        database: &'a str,
        selector: &'a BackupSelector,
    ) -> Option<&'a BackupEntry> {
        match selector {
            BackupSelector::Key(key) => self.backups.iter().find(|b| &b.key == key),
            BackupSelector::Id(id) => self.of_database(database).find(|b| &b.id == id),
            BackupSelector::Latest => self.of_database(database).next_back(),
            // Backup ids (and what people copy from them) name the second: a backup started within
            // the second `t` names counts as taken at `t`.
            BackupSelector::Before(t) => self
                .of_database(database)
                .rfind(|b| b.started_at.trunc_subsecs(0) <= *t),
        }
    }
}

/// Lists the backups of `database` (or of every database) in `store` ([`BackupStore::catalog`]).
pub(crate) async fn read_catalog<S: BackupStore + ?Sized>(
    store: &S,
    database: Option<&str>,
) -> Result<Catalog> {
    let folder = database.map(manifest::database_folder).unwrap_or_default();
    let listing = store.list_all(&folder).await?;
    let objects = listing.objects;
    let fetched = fetch_manifests(store, &objects).await;
    let mut catalog = Catalog::default();
    let vouched = add_manifest_backups(&mut catalog, fetched, &objects, database);
    for name in listing.unaddressable {
        catalog.problems.push((
            name,
            "an object name dbops cannot address (written by another tool with characters \
                 such as a raw `%`, `~` or `#`); not read, not deleted; rename it if it is a backup"
                .to_string(),
        ));
    }
    add_unreferenced(&mut catalog, &objects, &folder, database, &vouched);
    catalog
        .backups
        .sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
    Ok(catalog)
}

/// Reads and parses every manifest among `objects` (8 at a time), each with its key.
/// A manifest deleted between the listing and the read (a concurrent prune) is left out: it is gone,
/// not damaged.
async fn fetch_manifests<S: BackupStore + ?Sized>(
    store: &S,
    objects: &[ObjectInfo],
) -> Vec<(String, Result<Manifest>)> {
    let manifest_keys: Vec<String> = objects
        .iter()
        .filter(|o| o.key.ends_with(MANIFEST_SUFFIX))
        .map(|o| o.key.clone())
        .collect();
    futures::stream::iter(manifest_keys)
        .map(|key| async move {
            let parsed = match store.get(&key).await {
                Ok(bytes) => Manifest::parse(&bytes, &key),
                Err(e) => Err(e),
            };
            (key, parsed)
        })
        .buffer_unordered(8)
        .filter(|(_, parsed)| {
            futures::future::ready(!parsed.as_ref().is_err_and(Error::is_not_found))
        })
        .collect()
        .await
}

/// The objects and backup ids the manifests vouch for.
struct Vouched {
    /// Keys of the data (and globals) objects named by a manifest.
    referenced: BTreeSet<String>,
    /// `<folder>/<id>` of every manifest at its own key.
    claimed_ids: BTreeSet<String>,
}

/// Lists the backups of the `fetched` manifests (of `database`, or all) whose data object is among
/// `objects`; unreadable, moved or incomplete ones are problems.
fn add_manifest_backups(
    catalog: &mut Catalog,
    fetched: Vec<(String, Result<Manifest>)>,
    objects: &[ObjectInfo],
    database: Option<&str>,
) -> Vouched {
    let mut referenced = BTreeSet::new();
    let sizes: BTreeMap<&str, &ObjectInfo> = objects.iter().map(|o| (o.key.as_str(), o)).collect();
    let mut claimed_ids = BTreeSet::new();
    for (key, parsed) in fetched {
        match parsed {
            Ok(manifest) if database.is_none_or(|d| d == manifest.database) => {
                if manifest.key() != key {
                    catalog.problems.push((
                        key,
                        format!(
                            "the manifest names backup `{}`; it was moved or copied",
                            manifest.key()
                        ),
                    ));
                    continue;
                }
                referenced.extend(manifest.object_keys().into_iter().map(str::to_string));
                claimed_ids.insert(key.trim_end_matches(MANIFEST_SUFFIX).to_string());
                let missing = manifest
                    .object_keys()
                    .into_iter()
                    .find(|k| !sizes.contains_key(k))
                    .map(str::to_string);
                if let Some(missing) = missing {
                    catalog
                        .problems
                        .push((key, format!("its object `{missing}` is missing")));
                    continue;
                }
                catalog.backups.push(BackupEntry {
                    id: manifest.id.clone(),
                    database: manifest.database.clone(),
                    started_at: manifest.started_at,
                    size: manifest.stored_size(),
                    key: manifest.data.key.clone(),
                    manifest: Some(manifest),
                });
            }
            Ok(_) => {}
            Err(e) => {
                // The manifest exists: whatever it names is a backup someone may still recover (from
                // a copy of the manifest, a replica of the store), never an orphan to prune.
                let id = key.trim_end_matches(MANIFEST_SUFFIX).to_string();
                let kept = objects
                    .iter()
                    .filter(|o| {
                        o.key != key && o.key.strip_prefix(&id).is_some_and(|r| r.starts_with('.'))
                    })
                    .count();
                claimed_ids.insert(id);
                catalog.problems.push((
                    key,
                    format!(
                        "{}; the backup's {kept} other object(s) are kept (`dbops backup prune` never \
                         deletes the data of a backup whose manifest exists): put back the manifest \
                         from a copy, or delete the backup's objects by hand",
                        crate::error::report(&e)
                    ),
                ));
            }
        }
    }
    Vouched {
        referenced,
        claimed_ids,
    }
}

/// Sorts the objects no manifest vouches for into legacy backups (of `database`, or all), orphans
/// and problems; other tools' objects are left out. `folder`: the listed folder (empty: the top).
fn add_unreferenced(
    catalog: &mut Catalog,
    objects: &[ObjectInfo],
    folder: &str,
    database: Option<&str>,
    vouched: &Vouched,
) {
    let backup_folders: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o.key.ends_with(MANIFEST_SUFFIX))
        .filter_map(|o| o.key.rsplit_once('/').map(|(folder, _)| folder))
        .chain((!folder.is_empty()).then_some(folder))
        .collect();
    for object in objects {
        if object.key.ends_with(MANIFEST_SUFFIX) || vouched.referenced.contains(&object.key) {
            continue;
        }
        match classify_unreferenced(&object.key, &backup_folders, &vouched.claimed_ids) {
            Unreferenced::Legacy(db, at) => {
                if database.is_none_or(|d| d == db) {
                    catalog.backups.push(BackupEntry {
                        id: object
                            .key
                            .rsplit('/')
                            .next()
                            .unwrap_or(&object.key)
                            .to_string(),
                        database: db,
                        started_at: at,
                        size: object.size,
                        key: object.key.clone(),
                        manifest: None,
                    });
                }
            }
            Unreferenced::Orphan => catalog.orphans.push(object.clone()),
            Unreferenced::NotABackup(reason) => catalog
                .problems
                .push((object.key.clone(), reason.to_string())),
            Unreferenced::Foreign => {}
        }
    }
}

/// Finds one backup of `database` ([`BackupStore::find`]).
pub(crate) async fn find_backup<S: BackupStore + ?Sized>(
    store: &S,
    database: &str,
    selector: &BackupSelector,
) -> Result<BackupEntry> {
    let scope = match selector {
        BackupSelector::Key(_) => None,
        _ => Some(database),
    };
    let mut catalog = read_catalog(store, scope).await?;
    if scope.is_some() {
        // Legacy files of the replaced script live at the top of the store, not in a folder.
        let top = read_catalog(store, None).await?;
        for entry in top.backups {
            if entry.is_legacy() && entry.database == database && !catalog.backups.contains(&entry)
            {
                catalog.backups.push(entry);
            }
        }
        catalog
            .backups
            .sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
    }
    catalog
        .select(database, selector)
        .cloned()
        .ok_or_else(|| Error::BackupNotFound {
            store: store.describe(),
            wanted: match selector {
                BackupSelector::Key(_) => format!("backup {selector}"),
                _ => format!("backup {selector} for database `{database}`"),
            },
        })
}

/// Deletes a backup, manifest first ([`BackupStore::delete_backup`]).
pub(crate) async fn delete_backup<S: BackupStore + ?Sized>(
    store: &S,
    entry: &BackupEntry,
) -> Result<()> {
    if let Some(manifest) = &entry.manifest {
        store.delete(&manifest.key()).await?;
        crate::failpoint::failpoint("retention::between_manifest_and_data")?;
        for key in manifest.object_keys() {
            if key != entry.key {
                store.delete(key).await?;
            }
        }
    }
    store.delete(&entry.key).await
}

/// What an object that no manifest vouches for is.
enum Unreferenced {
    /// A dump of the replaced script: restorable without checksums.
    Legacy(String, DateTime<Utc>),
    /// A data object of a dbops backup whose manifest is missing.
    Orphan,
    /// Something in a backup folder, or named like a backup, that is not one (the reason).
    NotABackup(&'static str),
    /// Something else sharing the store (the WAL archive, other tools' files): not listed.
    Foreign,
}

/// Classifies an unreferenced object by its key alone; any key, whatever its bytes, gets an answer.
fn classify_unreferenced(
    key: &str,
    backup_folders: &BTreeSet<&str>,
    claimed_ids: &BTreeSet<String>,
) -> Unreferenced {
    let name = key.rsplit('/').next().unwrap_or(key);
    if let Some((db, at)) = parse_legacy_name(name) {
        return Unreferenced::Legacy(db, at);
    }
    let Some((folder, file)) = key.rsplit_once('/') else {
        let looks_like_backup = key.starts_with("backup_") || key.ends_with(".sql.gz");
        return if looks_like_backup {
            Unreferenced::NotABackup(
                "named like a backup of the replaced script, but not \
                 `backup_<database>_<YYYYmmdd_HHMMSS>.sql.gz`; not listed as a backup \
                 (rename it to that form to restore it, or remove it)",
            )
        } else {
            Unreferenced::Foreign
        };
    };
    if folder.contains('/') {
        return Unreferenced::Foreign;
    }
    let id = file.split_once('.').map_or(file, |(id, _)| id);
    if manifest::id_time(id).is_some() {
        return if claimed_ids.contains(&format!("{folder}/{id}")) {
            Unreferenced::Foreign
        } else {
            Unreferenced::Orphan
        };
    }
    if backup_folders.contains(folder) {
        Unreferenced::NotABackup(
            "an object in a backup folder that no manifest names and whose name is not a backup \
             id (`YYYY-mm-ddTHHMMSSZ-<hex>.<ext>`); not a backup, left alone (remove it if it \
             does not belong there)",
        )
    } else {
        Unreferenced::Foreign
    }
}

/// Parses RFC 3339, `YYYY-mm-dd HH:MM:SS` (UTC) or the time of a backup id (`2024-01-15T120000Z`).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.to_utc());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H%M%SZ", // as in a backup id
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(text, format)
            && let Some(t) = d.and_hms_opt(23, 59, 59)
        {
            return Ok(t.and_utc());
        }
    }
    Err(Error::config(
        "time",
        format!("`{text}` is not RFC 3339 (2024-01-15T12:00:00Z) or `YYYY-mm-dd HH:MM:SS` (UTC)"),
    ))
}

/// Parses `backup_<db>_<YYYYmmdd_HHMMSS>.sql.gz` (or `.sql`), the replaced script's naming.
///
/// Any other name, whatever its bytes, is `None`: the name is split at its last two `_` (never at a
/// byte offset, which could fall inside a multi-byte character).
pub fn parse_legacy_name(name: &str) -> Option<(String, DateTime<Utc>)> {
    let rest = name.strip_prefix("backup_")?;
    let rest = rest
        .strip_suffix(".sql.gz")
        .or_else(|| rest.strip_suffix(".sql"))?;
    let (head, time) = rest.rsplit_once('_')?;
    let (db, date) = head.rsplit_once('_')?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if db.is_empty() || !digits(date, 8) || !digits(time, 6) {
        return None;
    }
    let at =
        chrono::NaiveDateTime::parse_from_str(&format!("{date}_{time}"), "%Y%m%d_%H%M%S").ok()?;
    Some((db.to_string(), at.and_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_copied_from_a_backup_id_selects_that_backup() {
        let started_at = parse_time("2024-01-15T12:00:00.734Z").unwrap();
        let catalog = Catalog {
            backups: vec![BackupEntry {
                id: "2024-01-15T120000Z-ab12cd34".into(),
                database: "app".into(),
                started_at,
                size: 1,
                key: "app/2024-01-15T120000Z-ab12cd34.dump.zst".into(),
                manifest: None,
            }],
            ..Catalog::default()
        };
        for text in [
            "2024-01-15T12:00:00Z",
            "2024-01-15 12:00:00",
            "2024-01-15T120000Z",
        ] {
            let selector = BackupSelector::Before(parse_time(text).unwrap());
            assert!(catalog.select("app", &selector).is_some(), "{text}");
        }
        let earlier = BackupSelector::Before(parse_time("2024-01-15T11:59:59Z").unwrap());
        assert!(catalog.select("app", &earlier).is_none());
    }

    #[test]
    fn legacy_names_parse() {
        let (db, at) = parse_legacy_name("backup_ride_hailing_20240115_120000.sql.gz").unwrap();
        assert_eq!(db, "ride_hailing");
        assert_eq!(at.to_rfc3339(), "2024-01-15T12:00:00+00:00");
        assert!(parse_legacy_name("backup_20240115_120000.sql.gz").is_none());
        assert!(parse_legacy_name("backup_x_2024011_120000.sql.gz").is_none());
        assert!(parse_legacy_name("dump.sql.gz").is_none());
    }

    /// The fuzzer's crash input and its relatives: a multi-byte character where the old parser cut
    /// the name at a fixed byte offset.
    #[test]
    fn legacy_names_with_multibyte_characters_never_panic() {
        assert!(parse_legacy_name("backup_é20240115_120000.sql.gz").is_none());
        assert!(parse_legacy_name("backup_\u{e9}_20240115_12000\u{e9}.sql.gz").is_none());
        assert!(parse_legacy_name("backup_ab\u{1F600}0240115_120000.sql").is_none());
        assert!(
            parse_legacy_name("backup_\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}.sql").is_none()
        );
        let (db, _) = parse_legacy_name("backup_caf\u{e9}_20240115_120000.sql.gz").unwrap();
        assert_eq!(db, "caf\u{e9}");
        let (db, _) = parse_legacy_name("backup_cafe\u{301}_20240115_120000.sql.gz").unwrap();
        assert_eq!(db, "cafe\u{301}");
        for len in 0..40 {
            let name = format!("backup_{}.sql.gz", "\u{e9}".repeat(len));
            assert!(parse_legacy_name(&name).is_none(), "{name}");
        }
    }
}
