//! `dbops basebackup`: `pg_basebackup` as a tar stream through the backup pipeline (zstd, age, multipart
//! upload), with a manifest recording the WAL range it needs, written last.

use std::io::Write;
use std::process::Stdio;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PitrOptions;
use super::archive_wait::{WalHold, wait_until_archived};
use super::delta::read_full;
use super::tar_tap::TarTap;
use super::wal::segment_name;
use crate::catalog::{StoredObject, new_id};
use crate::cluster::{ServerPrograms, last_lines};
use crate::codec::{CHUNK, ChannelSink, Compression, EncryptionInfo};
use crate::config::{ChildEnv, DatabaseUrl, EnvChild, collect_stderr};
use crate::error::{Error, Result};
use crate::storage::BackupStore;

/// The manifest of a base backup (`base/<id>.json`), written after the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseBackup {
    /// Backup id (`YYYY-mm-ddTHHMMSSZ-<8 hex>`).
    pub id: String,
    /// The cluster's system identifier (restores refuse to mix clusters).
    pub system_identifier: String,
    /// `server_version`.
    pub server_version: String,
    /// Timeline the backup started on.
    pub timeline: u32,
    /// WAL location where replay must start.
    pub start_lsn: String,
    /// WAL location where the backup becomes consistent.
    pub stop_lsn: String,
    /// First WAL segment needed.
    pub start_wal: String,
    /// Last WAL segment needed.
    pub stop_wal: String,
    /// WAL segment size in bytes.
    pub wal_segment_size: u64,
    /// When the backup started.
    pub started_at: DateTime<Utc>,
    /// When it finished (a restore target time must be later).
    pub finished_at: DateTime<Utc>,
    /// Compression of the tar.
    pub compression: Compression,
    /// Encryption of the tar.
    pub encryption: EncryptionInfo,
    /// The tar object.
    pub data: StoredObject,
    /// Whether the tar holds PostgreSQL's `backup_manifest` (checked by `pg_verifybackup` on restore).
    pub has_backup_manifest: bool,
    /// The backup this one is incremental on (`None`: a full backup). A restore needs every backup
    /// of the chain, from its full backup on.
    #[serde(default)]
    pub parent: Option<String>,
    /// PostgreSQL's `backup_manifest`, stored beside the data (zstd, not encrypted: file names,
    /// sizes and checksums, no data) so that an incremental on this backup needs no key to read it.
    #[serde(default)]
    pub manifest: Option<StoredObject>,
}

impl BaseBackup {
    /// Key of this manifest.
    pub fn key(&self) -> String {
        format!("base/{}.json", self.id)
    }

    /// Whether it is incremental (it needs its parent to be restored).
    pub fn is_incremental(&self) -> bool {
        self.parent.is_some()
    }

    /// The PostgreSQL major it was taken from.
    pub fn major(&self) -> u32 {
        self.server_version
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|major| major.parse().ok())
            .unwrap_or(0)
    }
}

/// What kind of base backup to take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BaseBackupOptions {
    /// Copy only the blocks changed since the newest base backup of this cluster in the store
    /// (PostgreSQL 17 and later, `summarize_wal = on`). Without an earlier backup to build on, a
    /// full one is taken to start the chain. Default: false (a full backup).
    pub incremental: bool,
    /// With `incremental` on a server older than 17: take a full backup instead of refusing.
    /// Default: false.
    pub full_if_unsupported: bool,
}

crate::setters::with_setters!(BaseBackupOptions {
    with_incremental => incremental: bool,
    with_full_if_unsupported => full_if_unsupported: bool,
});

/// One base backup checked by [`verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerifiedBaseBackup {
    /// Its id.
    pub id: String,
    /// The backup it is incremental on.
    pub parent: Option<String>,
    /// Bytes read and checked.
    pub bytes: u64,
}

/// Reads every backup of the chain ending at `id` (default: the newest base backup) back from
/// `store` and checks each stored object (data and manifest) against the sha256 its manifest
/// records, without unpacking anything. An error names the first member missing or corrupt.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use dbops::ObjectBackupStore;
/// use dbops::pitr;
///
/// let store = ObjectBackupStore::open("s3://backups/prod-pitr")?;
/// // `None`: the chain of the newest base backup, its full backup first.
/// for member in pitr::verify_chain(&store, None).await? {
///     println!("{}: {} bytes intact", member.id, member.bytes);
/// }
/// # Ok(()) }
/// ```
pub async fn verify_chain(
    store: &dyn BackupStore,
    id: Option<&str>,
) -> Result<Vec<VerifiedBaseBackup>> {
    let backups = list_base_backups(store).await?;
    let newest = match id {
        Some(id) => id.to_string(),
        None => backups
            .last()
            .map(|b| b.id.clone())
            .ok_or_else(|| Error::BackupNotFound {
                store: store.describe().to_string(),
                wanted: "a base backup to verify".into(),
            })?,
    };
    let mut verified = Vec::new();
    for member in chain_of(&backups, &newest)? {
        let mut bytes = check_object(store, &member.data, &member.id).await?;
        if let Some(manifest) = &member.manifest {
            bytes += check_object(store, manifest, &member.id).await?;
        }
        verified.push(VerifiedBaseBackup {
            id: member.id.clone(),
            parent: member.parent.clone(),
            bytes,
        });
    }
    Ok(verified)
}

/// Streams `object` and compares its size and sha256 with what the manifest of `id` records.
async fn check_object(store: &dyn BackupStore, object: &StoredObject, id: &str) -> Result<u64> {
    use futures::StreamExt;
    let (_, mut stream) = store.get_stream(&object.key).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    let sha = hex::encode(hasher.finalize());
    if size != object.size || sha != object.sha256 {
        return Err(Error::Integrity {
            key: object.key.clone(),
            reason: format!(
                "base backup {id}: the stored object has {size} bytes with sha256 {sha}, its manifest \
                 says {} bytes with {}; restore another chain (--base-backup ID) and take a new full base backup",
                object.size, object.sha256
            ),
        });
    }
    Ok(size)
}

/// The chain `id` belongs to, full backup first, from `backups` (a store's listing). An error names
/// the member that is missing.
pub fn chain_of(backups: &[BaseBackup], id: &str) -> Result<Vec<BaseBackup>> {
    let mut chain = Vec::new();
    let mut wanted = Some(id.to_string());
    while let Some(next) = wanted {
        let Some(member) = backups.iter().find(|b| b.id == next) else {
            let child = chain.last().map_or(String::new(), |c: &BaseBackup| {
                format!(" (the parent of incremental base backup {})", c.id)
            });
            return Err(Error::Integrity {
                key: format!("base/{next}.json"),
                reason: format!(
                    "base backup {next}{child} is not in the store, so the chain cannot be restored; \
                     restore an older chain (--base-backup ID) and take a new full base backup"
                ),
            });
        };
        if chain.len() > backups.len() {
            return Err(Error::Integrity {
                key: member.key(),
                reason: "the chain of parents loops".into(),
            });
        }
        wanted = member.parent.clone();
        chain.push(member.clone());
    }
    chain.reverse();
    Ok(chain)
}

pub(super) fn label_field<'a>(label: &'a str, field: &str) -> Option<&'a str> {
    label
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .map(str::trim)
}

/// Takes a full base backup of the cluster at `url` into `store`.
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::ObjectBackupStore;
/// use dbops::pitr::{self, PitrOptions};
///
/// // The store (and prefix) the cluster archives its WAL into; `url`: a role with REPLICATION.
/// let store = ObjectBackupStore::open("s3://backups/prod-pitr")?;
/// let backup = pitr::base_backup(&url, &store, &PitrOptions::default()).await?;
/// println!("base backup {}: replay starts at {}", backup.id, backup.start_wal);
/// # Ok(()) }
/// ```
pub async fn base_backup(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &PitrOptions,
) -> Result<BaseBackup> {
    base_backup_with(url, store, options, &BaseBackupOptions::default()).await
}

/// Takes a base backup of the cluster at `url` into `store`: full, or incremental on the newest
/// base backup of the same cluster (see [`BaseBackupOptions`]).
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::ObjectBackupStore;
/// use dbops::pitr::{self, BaseBackupOptions, PitrOptions};
///
/// let store = ObjectBackupStore::open("s3://backups/prod-pitr")?;
/// // Only the blocks changed since the newest base backup (PostgreSQL 17+, `summarize_wal = on`).
/// let kind = BaseBackupOptions::default().with_incremental(true);
/// let backup = pitr::base_backup_with(&url, &store, &PitrOptions::default(), &kind).await?;
/// match &backup.parent {
///     Some(parent) => println!("{} is incremental on {parent}", backup.id),
///     None => println!("{} is a full backup (a new chain)", backup.id),
/// }
/// # Ok(()) }
/// ```
pub async fn base_backup_with(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &PitrOptions,
    kind: &BaseBackupOptions,
) -> Result<BaseBackup> {
    let started = Instant::now();
    let started_at = Utc::now();
    let identity = ClusterIdentity::read(url).await?;
    if identity.in_recovery {
        tracing::warn!(
            "taking the base backup on a standby: it ends only once the WAL segment holding its end \
             is archived, that is once the primary switches to a new segment (its archive_timeout, or \
             `SELECT pg_switch_wal()` on the primary); on an idle primary without archive_timeout it \
             waits until then"
        );
    }
    let parent = match kind.incremental {
        true => incremental_parent(store, &identity, kind).await?,
        false => None,
    };
    let id = new_id(started_at);
    let encrypted = options.encryption_is_set();
    let data_key = format!("base/{id}.tar.zst{}", if encrypted { ".age" } else { "" });

    let programs = ServerPrograms::for_major(identity.major)?;
    let parent_manifest = parent.as_ref().map(|(_, file)| file.path());
    // An incremental ends as soon as its WAL is archived, watched by dbops (see archive_wait).
    let wal_hold = match parent {
        Some(_) => WalHold::acquire(url).await,
        None => None,
    };
    let streamed = stream_backup(
        url,
        store,
        options,
        (&programs, parent_manifest, wal_hold.is_some()),
        &data_key,
        identity.wal_segment_size,
    )
    .await;
    let fetched_wal = wal_hold.is_some();
    if let Some(hold) = wal_hold {
        hold.release().await;
    }
    let (data, tap, range) = streamed?;
    if fetched_wal {
        wait_until_archived(url, &range.stop_wal).await?;
    }
    let manifest = store_manifest(store, &id, &tap).await?;
    let base = BaseBackup {
        id,
        system_identifier: identity.system_identifier,
        server_version: identity.server_version,
        timeline: range.timeline,
        start_lsn: range.start_lsn,
        stop_lsn: range.stop_lsn,
        start_wal: range.start_wal,
        stop_wal: range.stop_wal,
        wal_segment_size: identity.wal_segment_size,
        started_at,
        finished_at: Utc::now(),
        compression: Compression::Zstd,
        encryption: options.encryption.info(),
        data,
        has_backup_manifest: range.has_backup_manifest,
        parent: parent.map(|(p, _)| p.id),
        manifest,
    };
    let body = serde_json::to_vec_pretty(&base)
        .map_err(|e| Error::config("base backup manifest", e.to_string()))?;
    store.put(&base.key(), Bytes::from(body)).await?;
    tracing::info!(elapsed = ?started.elapsed(), id = %base.id, "base backup stored");
    Ok(base)
}

/// Streams `pg_basebackup`'s tar through zstd (and age) into `data_key`: the stored object, the tar's
/// captured members and the WAL range it needs. Nothing is published on failure.
async fn stream_backup(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &PitrOptions,
    (programs, parent_manifest, fetch_wal): (&ServerPrograms, Option<&std::path::Path>, bool),
    data_key: &str,
    wal_segment_size: u64,
) -> Result<(StoredObject, TarTap, WalRange)> {
    let (program, mut process, stdout) =
        spawn_pg_basebackup(url, programs, parent_manifest, fetch_wal)?;
    let child = &mut process.child;
    let stderr_task = collect_stderr(child);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
    let sink = options
        .encryption
        .wrap(Box::new(ChannelSink::new(sender)))?;
    let writer = Compression::Zstd.wrap(sink, options.compression_level, 0)?;
    let tap = match fetch_wal {
        true => TarTap::without_wal(),
        false => TarTap::new(),
    };
    let encoder = tokio::task::spawn_blocking(move || encode_tar(stdout, tap, writer));
    let uploaded = crate::storage::upload_chunks(store, data_key, receiver).await;
    if uploaded.is_err() {
        let _ = child.start_kill();
    }
    let encoded = encoder.await;
    let status = child.wait().await;
    let stderr_text = stderr_task.await.unwrap_or_default();
    let (upload, stored_size, stored_sha) = uploaded?;
    let (plain_size, plain_sha, tap) =
        match encoding_outcome(&program, status, encoded, &stderr_text, data_key) {
            Ok(outcome) => outcome,
            Err(error) => {
                upload.abort().await.ok();
                return Err(error);
            }
        };
    let range = match WalRange::from_tap(&tap, wal_segment_size) {
        Some(range) => range,
        None => {
            upload.abort().await.ok();
            return Err(Error::Integrity {
                key: data_key.to_string(),
                reason:
                    "the base backup stream has no backup_label; is this pg_basebackup's tar output?"
                        .into(),
            });
        }
    };
    upload.finish().await?;
    let data = StoredObject {
        key: data_key.to_string(),
        size: stored_size,
        sha256: stored_sha,
        plaintext_size: plain_size,
        plaintext_sha256: plain_sha,
    };
    Ok((data, tap, range))
}

/// The newest base backup of this cluster to build an incremental on, with its `backup_manifest`
/// in a temporary file for `pg_basebackup --incremental`; `None` when a full backup must be taken.
async fn incremental_parent(
    store: &dyn BackupStore,
    identity: &ClusterIdentity,
    kind: &BaseBackupOptions,
) -> Result<Option<(BaseBackup, tempfile::NamedTempFile)>> {
    if identity.major < 17 {
        if kind.full_if_unsupported {
            tracing::warn!(server = %identity.server_version, "incremental base backups need PostgreSQL 17 or later; taking a full one");
            return Ok(None);
        }
        return Err(Error::Refused {
            action: "an incremental base backup".into(),
            reason: format!(
                "incremental base backups need PostgreSQL 17 or later (its WAL summaries find the changed \
                 blocks); the server runs {}: take a full base backup (without --incremental), or pass \
                 --full-if-unsupported to take a full one on older servers",
                identity.server_version
            ),
        });
    }
    if !identity.summarize_wal {
        return Err(Error::Refused {
            action: "an incremental base backup".into(),
            reason: "summarize_wal is off on the server, so it keeps no WAL summaries to find the changed \
                     blocks: run `dbops pitr setup --apply` (it turns summarize_wal on, no restart needed), \
                     then take a full base backup to start the chain"
                .into(),
        });
    }
    let backups = list_base_backups(store).await?;
    let Some(parent) = backups
        .iter()
        .rev()
        .find(|b| b.system_identifier == identity.system_identifier)
    else {
        tracing::warn!(
            "no earlier base backup of this cluster in the store: taking a full one to start the chain"
        );
        return Ok(None);
    };
    let Some(manifest) = &parent.manifest else {
        tracing::warn!(parent = %parent.id, "the newest base backup has no stored backup_manifest (taken by an older dbops): taking a full one to start a chain");
        return Ok(None);
    };
    let stored = store.get(&manifest.key).await?;
    let sha = hex::encode(Sha256::digest(&stored));
    if sha != manifest.sha256 {
        return Err(Error::Integrity {
            key: manifest.key.clone(),
            reason: format!(
                "the stored backup_manifest has sha256 {sha}, base/{}.json says {}; take a full base backup",
                parent.id, manifest.sha256
            ),
        });
    }
    let plain = super::wal::decode(&stored, &crate::codec::Decryption::none(), &manifest.key)?;
    let mut file = tempfile::Builder::new()
        .prefix("dbops-parent-manifest")
        .tempfile()
        .map_err(|e| Error::io("writing the parent's backup_manifest", "temporary file", e))?;
    file.write_all(&plain)
        .map_err(|e| Error::io("writing the parent's backup_manifest", file.path(), e))?;
    Ok(Some((parent.clone(), file)))
}

/// Stores PostgreSQL's `backup_manifest` from the tar stream as `base/<id>.backup_manifest.zst`.
async fn store_manifest(
    store: &dyn BackupStore,
    id: &str,
    tap: &TarTap,
) -> Result<Option<StoredObject>> {
    let Some(plain) = tap.captured.get("backup_manifest") else {
        return Ok(None);
    };
    let key = format!("base/{id}.backup_manifest.zst");
    let stored = super::wal::encode(plain, &crate::codec::Encryption::None, 3)?;
    let object = StoredObject {
        key: key.clone(),
        size: stored.len() as u64,
        sha256: hex::encode(Sha256::digest(&stored)),
        plaintext_size: plain.len() as u64,
        plaintext_sha256: hex::encode(Sha256::digest(plain)),
    };
    store.put(&key, Bytes::from(stored)).await?;
    Ok(Some(object))
}

/// What the encoding thread produced, when both `pg_basebackup` and the thread succeeded.
fn encoding_outcome(
    program: &std::path::Path,
    status: std::io::Result<std::process::ExitStatus>,
    encoded: std::result::Result<std::io::Result<(u64, String, TarTap)>, tokio::task::JoinError>,
    stderr_text: &str,
    data_key: &str,
) -> Result<(u64, String, TarTap)> {
    let dump_ok = matches!(&status, Ok(s) if s.success());
    match (dump_ok, encoded) {
        (true, Ok(Ok(parts))) => Ok(parts),
        (false, _) => Err(Error::Command {
            program: program.display().to_string(),
            action: "taking a base backup (nothing was published)".into(),
            status: status
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string()),
            stderr: last_lines(stderr_text, 10),
        }),
        (true, Ok(Err(e))) => Err(Error::io(
            "compressing and encrypting the base backup",
            data_key,
            e,
        )),
        (true, Err(e)) => Err(Error::Cancelled {
            action: format!("the base backup ({e})"),
        }),
    }
}

/// What a base backup records of the cluster it copies.
struct ClusterIdentity {
    system_identifier: String,
    server_version: String,
    major: u32,
    wal_segment_size: u64,
    summarize_wal: bool,
    /// Whether the server is a standby (a backup taken there ends only once the primary switches WAL).
    in_recovery: bool,
}

impl ClusterIdentity {
    async fn read(url: &DatabaseUrl) -> Result<Self> {
        let client = url.connect().await?;
        let row = client
            .query_one(
                "SELECT (SELECT system_identifier::text FROM pg_control_system()), current_setting('server_version'), \
                 (SELECT setting::bigint * CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END \
                  FROM pg_settings WHERE name = 'wal_segment_size'), \
                 current_setting('server_version_num')::int, \
                 coalesce(current_setting('summarize_wal', true), 'off') = 'on', pg_is_in_recovery()",
                &[],
            )
            .await
            .map_err(|e| Error::postgres("reading the cluster's identity", e))?;
        Ok(Self {
            system_identifier: row.get(0),
            server_version: row.get(1),
            major: (row.get::<_, i32>(3) / 10000) as u32,
            wal_segment_size: u64::try_from(row.get::<_, i64>(2)).unwrap_or(16 << 20),
            summarize_wal: row.get(4),
            in_recovery: row.get(5),
        })
    }
}

/// `pg_basebackup` writing the cluster as a tar stream to its stdout (returned as a file); with
/// `fetch_wal`, the server adds the backup's WAL to the stream instead of waiting for its archiving.
fn spawn_pg_basebackup(
    url: &DatabaseUrl,
    programs: &ServerPrograms,
    parent_manifest: Option<&std::path::Path>,
    fetch_wal: bool,
) -> Result<(std::path::PathBuf, EnvChild, std::os::fd::OwnedFd)> {
    let program = programs.program("pg_basebackup")?;
    let mut command = tokio::process::Command::new(&program);
    let wal_method = match fetch_wal {
        true => "--wal-method=fetch",
        false => "--wal-method=none",
    };
    command
        .args([
            "--pgdata=-",
            "--format=tar",
            wal_method,
            "--checkpoint=fast",
            "--no-password",
        ])
        .args(parent_manifest.map(|m| format!("--incremental={}", m.display())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut process = ChildEnv::for_url(url)?
        .spawn(&mut command)
        .map_err(|e| Error::Command {
            program: program.display().to_string(),
            action: "taking a base backup".into(),
            status: format!("could not start: {e}"),
            stderr: String::new(),
        })?;
    let stdout = process
        .child
        .stdout
        .take()
        .ok_or_else(|| Error::config("pg_basebackup", "no stdout pipe"))?
        .into_owned_fd()
        .map_err(|e| Error::io("reading pg_basebackup's output", &program, e))?;
    Ok((program, process, stdout))
}

/// The encoding thread: the tar stream tapped for backup_label and backup_manifest (and left
/// without its WAL when `tap` says so), hashed, and written through compression and encryption.
/// Returns its size, sha256 and the tap.
fn encode_tar(
    stdout: std::os::fd::OwnedFd,
    mut tap: TarTap,
    mut writer: Box<dyn crate::codec::FinishWrite>,
) -> std::io::Result<(u64, String, TarTap)> {
    let mut input = std::fs::File::from(stdout);
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        // Whole chunks (whole 512-byte blocks): the tap sees every header in one piece.
        let n = read_full(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        for range in tap.feed(&buf[..n]) {
            let kept = &buf[range];
            hasher.update(kept);
            writer.write_all(kept)?;
            total += kept.len() as u64;
        }
    }
    writer.finish_all()?;
    Ok((total, hex::encode(hasher.finalize()), tap))
}

/// The WAL a base backup needs, read from the backup_label and backup_manifest in its tar stream.
struct WalRange {
    timeline: u32,
    start_lsn: String,
    stop_lsn: String,
    start_wal: String,
    stop_wal: String,
    has_backup_manifest: bool,
}

impl WalRange {
    /// `None` when the stream has no backup_label.
    fn from_tap(tap: &TarTap, wal_segment_size: u64) -> Option<Self> {
        let label = String::from_utf8_lossy(tap.captured.get("backup_label")?).to_string();
        // "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)"
        let start_field = label_field(&label, "START WAL LOCATION:").unwrap_or_default();
        let start_lsn = start_field
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let start_wal = start_field
            .split("(file ")
            .nth(1)
            .map(|s| s.trim_end_matches(')').to_string())
            .unwrap_or_default();
        let timeline: u32 = label_field(&label, "START TIMELINE:")
            .and_then(|t| t.parse().ok())
            .unwrap_or(1);
        let manifest_json: Option<serde_json::Value> = tap
            .captured
            .get("backup_manifest")
            .and_then(|b| serde_json::from_slice(b).ok());
        let stop_lsn = manifest_json
            .as_ref()
            .and_then(|m| {
                m["WAL-Ranges"].as_array()?.last()?["End-LSN"]
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| start_lsn.clone());
        let stop_wal = lsn_to_segment(&stop_lsn, timeline, wal_segment_size)
            .unwrap_or_else(|| start_wal.clone());
        Some(Self {
            timeline,
            start_lsn,
            stop_lsn,
            start_wal,
            stop_wal,
            has_backup_manifest: manifest_json.is_some(),
        })
    }
}

/// `0/2000100` -> the name of the segment holding that LSN.
pub fn lsn_to_segment(lsn: &str, timeline: u32, segment_size: u64) -> Option<String> {
    let (hi, lo) = lsn.split_once('/')?;
    let value = (u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?;
    // The end LSN points just past the last record: the segment holding the byte before it.
    let segno = value.saturating_sub(1) / segment_size;
    Some(segment_name(timeline, segno, segment_size))
}

/// Parses an LSN to a number.
pub fn parse_lsn(lsn: &str) -> Option<u64> {
    let (hi, lo) = lsn.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// Every base backup in the store, oldest first (manifests that do not parse are skipped with a warning).
pub async fn list_base_backups(store: &dyn BackupStore) -> Result<Vec<BaseBackup>> {
    let mut out = Vec::new();
    for object in store.list("base").await? {
        if !object.key.ends_with(".json") {
            continue;
        }
        match store.get(&object.key).await.and_then(|b| {
            serde_json::from_slice::<BaseBackup>(&b).map_err(|e| Error::Integrity {
                key: object.key.clone(),
                reason: format!("not a base backup manifest: {e}"),
            })
        }) {
            Ok(base) if base.key() == object.key && base.data.key.starts_with("base/") => {
                out.push(base)
            }
            Ok(_) => {
                tracing::warn!(key = %object.key, "base backup manifest names another key; ignored")
            }
            Err(e) => tracing::warn!(error = %e, "unreadable base backup manifest; ignored"),
        }
    }
    out.sort_by_key(|b| b.finished_at);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_map_to_segments() {
        let size = 16 << 20;
        assert_eq!(
            lsn_to_segment("0/2000100", 1, size).unwrap(),
            "000000010000000000000002"
        );
        assert_eq!(
            lsn_to_segment("0/3000000", 1, size).unwrap(),
            "000000010000000000000002"
        );
        assert_eq!(
            lsn_to_segment("1/0", 2, size).unwrap(),
            "0000000200000000000000FF"
        );
        assert_eq!(parse_lsn("1/10"), Some((1 << 32) + 16));
    }
}
