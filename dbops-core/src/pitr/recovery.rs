//! `dbops pitr restore`: a base backup unpacked into a new data directory, set up to replay the WAL
//! archive to a target (time, restore point, xid, LSN or the end) and promote.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::PitrOptions;
use super::basebackup::{BaseBackup, chain_of, list_base_backups, parse_lsn};
use super::command::WalCommands;
use crate::cluster::last_lines;
use crate::codec::{ChannelSource, Compression, EncryptionMode};
use crate::config::quote_literal;
use crate::error::{Error, Result};
use crate::storage::BackupStore;

/// Where replay stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RecoveryTarget {
    /// The end of the archive.
    Latest,
    /// A point in time (replay stops before the first commit after it).
    Time(DateTime<Utc>),
    /// A restore point made with `dbops pitr restore-point NAME`.
    RestorePoint(String),
    /// A transaction id (replay includes it).
    Xid(String),
    /// A WAL location.
    Lsn(String),
}

impl std::fmt::Display for RecoveryTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecoveryTarget::Latest => f.write_str("the end of the archive"),
            RecoveryTarget::Time(t) => write!(f, "time {}", t.to_rfc3339()),
            RecoveryTarget::RestorePoint(n) => write!(f, "restore point `{n}`"),
            RecoveryTarget::Xid(x) => write!(f, "transaction {x}"),
            RecoveryTarget::Lsn(l) => write!(f, "WAL location {l}"),
        }
    }
}

impl RecoveryTarget {
    /// The target from at most one of a time (RFC 3339 or `YYYY-mm-dd HH:MM:SS`, UTC), a restore
    /// point, a transaction id or a WAL location; none is [`RecoveryTarget::Latest`].
    pub fn choose(
        time: Option<&str>,
        restore_point: Option<String>,
        xid: Option<String>,
        lsn: Option<String>,
    ) -> Result<Self> {
        match (time, restore_point, xid, lsn) {
            (Some(t), None, None, None) => Ok(RecoveryTarget::Time(crate::backup::parse_time(t)?)),
            (None, Some(n), None, None) => Ok(RecoveryTarget::RestorePoint(n)),
            (None, None, Some(x), None) => Ok(RecoveryTarget::Xid(x)),
            (None, None, None, Some(l)) => Ok(RecoveryTarget::Lsn(l)),
            (None, None, None, None) => Ok(RecoveryTarget::Latest),
            _ => Err(Error::config(
                "recovery target",
                "give at most one of a target time, a restore point, a transaction id and a WAL location",
            )),
        }
    }
}

/// Starts a prepared data directory (see [`prepare`]) as a detached embedded cluster named `name`,
/// listening on a free TCP port, and waits until it has replayed to its target and promoted. The
/// cluster outlives this process: `TempCluster`'s `DetachedCluster::stop(name)` (`dbops cluster stop
/// --name NAME`) stops it. Returns its description and URL.
pub async fn start_restored(
    data_dir: &Path,
    name: &str,
    timeout: std::time::Duration,
) -> Result<(
    crate::cluster::DetachedClusterInfo,
    crate::config::DatabaseUrl,
)> {
    let builder = crate::cluster::TempCluster::builder()
        .data_dir(data_dir)
        .listen(crate::cluster::Listen::Tcp)
        .start_timeout(timeout);
    let info = crate::cluster::DetachedCluster::start(name, builder).await?;
    let url = crate::config::DatabaseUrl::parse(info.tcp_url.as_deref().unwrap_or(&info.url))?;
    wait_for_promotion(&url, timeout).await?;
    Ok((info, url))
}

/// How to set up a restore. Every field has a documented default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecoveryOptions {
    /// Where replay stops. Default: latest.
    pub target: RecoveryTarget,
    /// Use this base backup instead of the newest one that precedes the target.
    pub base_backup: Option<String>,
    /// The `dbops` program `restore_command` runs. Default: this program when it is `dbops`, else
    /// `dbops` from `PATH`.
    pub dbops_program: Option<PathBuf>,
    /// The store URL `restore_command` passes to `dbops wal fetch`. Default: the store's own URL.
    pub store_url: Option<String>,
    /// Non-secret store options for `restore_command` (endpoint, region...). Keys that look secret are
    /// refused: credentials must come from the server's environment.
    pub store_options: Vec<(String, String)>,
    /// The age identity file `restore_command` decrypts encrypted WAL with (a path on the restored
    /// server). Default: none (`wal fetch` then reads `DBOPS_AGE_IDENTITY_FILE` from its environment).
    pub identity_file: Option<PathBuf>,
    /// The environment variable of the restored server holding the archive's passphrase. Default:
    /// none (`wal fetch` then reads `DBOPS_BACKUP_PASSPHRASE`).
    pub passphrase_env: Option<String>,
    /// Run `pg_verifybackup` on the unpacked directory when the backup has a manifest. Default: true.
    pub verify: bool,
    /// Restore into an existing data directory (stopped), rewriting only the files that differ
    /// from the backup and removing those it does not have ([`super::DeltaReport`]). Default:
    /// false (the directory must be empty or absent).
    pub delta: bool,
}

crate::setters::with_setters!(RecoveryOptions {
    with_target => target: RecoveryTarget,
    with_base_backup => base_backup: opt String,
    with_dbops_program => dbops_program: opt PathBuf,
    with_store_url => store_url: opt String,
    with_store_options => store_options: Vec<(String, String)>,
    with_identity_file => identity_file: opt PathBuf,
    with_passphrase_env => passphrase_env: opt String,
    with_verify => verify: bool,
    with_delta => delta: bool,
});

impl Default for RecoveryOptions {
    fn default() -> Self {
        Self {
            target: RecoveryTarget::Latest,
            base_backup: None,
            dbops_program: None,
            store_url: None,
            store_options: Vec::new(),
            identity_file: None,
            passphrase_env: None,
            verify: true,
            delta: false,
        }
    }
}

/// What `pitr restore` prepared.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// The base backup used.
    pub base_backup: String,
    /// The chain restored, full backup first (one id for a full backup).
    pub chain: Vec<String>,
    /// The data directory, ready to start.
    pub data_dir: PathBuf,
    /// The target.
    pub target: RecoveryTarget,
    /// The check of the unpacked files against the backup's `backup_manifest`: `ok`, or why it was
    /// skipped.
    pub verified: String,
    /// What checked them: the `pg_verifybackup` of the backup's major version, or `dbops` (its own
    /// reading of the manifest: when that program is not installed, and for a chain, whose backups
    /// are each checked against their own manifest as they are combined); empty when skipped.
    pub verified_by: String,
    /// The `restore_command` written.
    pub restore_command: String,
    /// What a delta restore changed in the directory (`None`: not a delta restore).
    pub delta: Option<super::delta::DeltaReport>,
}

/// Picks the base backup for `target`: the newest finished before a time or at/before an LSN,
/// otherwise the newest.
pub fn choose_base_backup<'a>(
    backups: &'a [BaseBackup],
    target: &RecoveryTarget,
) -> Option<&'a BaseBackup> {
    match target {
        RecoveryTarget::Time(t) => backups.iter().rfind(|b| b.finished_at <= *t),
        RecoveryTarget::Lsn(l) => {
            let want = parse_lsn(l)?;
            backups
                .iter()
                .rfind(|b| parse_lsn(&b.stop_lsn).is_some_and(|s| s <= want))
        }
        _ => backups.last(),
    }
}

/// Unpacks a base backup into `data_dir` (which must be empty or absent) and writes the recovery
/// settings. On failure the directory is emptied again.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use std::path::Path;
/// use dbops::ObjectBackupStore;
/// use dbops::pitr::{self, PitrOptions, RecoveryOptions, RecoveryTarget};
///
/// let store = ObjectBackupStore::open("s3://backups/prod-pitr")?;
/// // Just before the bad deploy (UTC); the newest base backup finished before it is used.
/// let target = RecoveryTarget::choose(Some("2025-06-01 14:30:00"), None, None, None)?;
/// let options = RecoveryOptions::default().with_target(target);
/// let data_dir = Path::new("/var/lib/postgresql/restored");
/// let report = pitr::prepare(&store, data_dir, &options, &PitrOptions::default()).await?;
/// // A server started on it replays the archive to the target and promotes (see `start_restored`).
/// println!("base backup {} unpacked into {}", report.base_backup, report.data_dir.display());
/// # Ok(()) }
/// ```
pub async fn prepare(
    store: &dyn BackupStore,
    data_dir: &Path,
    options: &RecoveryOptions,
    pitr: &PitrOptions,
) -> Result<RecoveryReport> {
    if options.delta {
        super::delta::check_target(data_dir)?;
    } else if data_dir.exists() {
        let mut entries = std::fs::read_dir(data_dir)
            .map_err(|e| Error::io("reading the target directory", data_dir, e))?;
        if entries.next().is_some() {
            return Err(Error::Refused {
                action: format!("restore into `{}`", data_dir.display()),
                reason: "the directory is not empty; give a new or empty directory".into(),
            });
        }
    }
    // Checked before any work: a refused option or target writes nothing.
    restore_command(store, options)?;
    check_target(&options.target)?;
    let backups = list_base_backups(store).await?;
    let base = match &options.base_backup {
        Some(id) => backups.iter().find(|b| &b.id == id),
        None => choose_base_backup(&backups, &options.target),
    }
    .cloned()
    .ok_or_else(|| Error::BackupNotFound {
        store: store.describe().to_string(),
        wanted: match &options.base_backup {
            Some(id) => format!("base backup with id {id}"),
            None => format!("base backup that finished before {}", options.target),
        },
    })?;
    let chain = chain_of(&backups, &base.id)?;
    check_chain_objects(store, &chain).await?;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::io("creating the data directory", data_dir, e))?;
    let result = unpack_and_configure(store, &chain, data_dir, options, pitr).await;
    match &result {
        // A delta restore's directory held a copy before: say what state it is in.
        Err(error) if options.delta => {
            return Err(Error::Refused {
                action: format!("delta restore into `{}`", data_dir.display()),
                reason: format!(
                    "{}; the directory is partly restored and must not be started: run the restore again",
                    crate::error::report(error)
                ),
            });
        }
        Err(_) => clear_dir(data_dir),
        Ok(_) => {}
    }
    result
}

fn clear_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// Every member of `chain` has its data in the store, of the size its manifest records: checked
/// before anything is downloaded.
async fn check_chain_objects(store: &dyn BackupStore, chain: &[BaseBackup]) -> Result<()> {
    for member in chain {
        match store.head(&member.data.key).await? {
            Some(info) if info.size == member.data.size => {}
            found => {
                return Err(Error::Integrity {
                    key: member.data.key.clone(),
                    reason: format!(
                        "base backup {} of the chain to restore {}; restore another chain \
                         (--base-backup ID) and take a new full base backup",
                        member.id,
                        match found {
                            None => "has no data in the store".to_string(),
                            Some(info) => format!(
                                "has {} bytes of data, its manifest says {}",
                                info.size, member.data.size
                            ),
                        }
                    ),
                });
            }
        }
    }
    Ok(())
}

async fn unpack_and_configure(
    store: &dyn BackupStore,
    chain: &[BaseBackup],
    data_dir: &Path,
    options: &RecoveryOptions,
    pitr: &PitrOptions,
) -> Result<RecoveryReport> {
    let base = chain
        .last()
        .ok_or_else(|| Error::config("base backup", "empty chain"))?;
    let delta = match chain {
        [full] => unpack(store, full, data_dir, pitr, options.delta).await?,
        _ => unpack_chain(store, chain, data_dir, pitr, options).await?,
    };
    // pg_basebackup leaves these out or they must not survive into a restore.
    for stale in [
        "postmaster.pid",
        "postmaster.opts",
        "recovery.signal",
        "standby.signal",
    ] {
        let _ = std::fs::remove_file(data_dir.join(stale));
    }
    for dir in ["pg_wal", "pg_wal/archive_status"] {
        std::fs::create_dir_all(data_dir.join(dir))
            .map_err(|e| Error::io("creating", data_dir.join(dir), e))?;
    }
    let (verified, verified_by) = if options.verify && chain.len() > 1 {
        // Each backup's files were checked against its own manifest as the chain was combined.
        ("ok".to_string(), "dbops".to_string())
    } else if options.verify && base.has_backup_manifest {
        let started = std::time::Instant::now();
        let by = verify(data_dir).await?;
        tracing::info!(elapsed = ?started.elapsed(), "checked the restored files against the backup's manifest");
        ("ok".to_string(), by)
    } else if !options.verify {
        ("skipped: not asked for".into(), String::new())
    } else {
        (
            "skipped: the backup has no backup_manifest".into(),
            String::new(),
        )
    };
    let restore_command = restore_command(store, options)?;
    write_recovery_settings(data_dir, base, options, &restore_command)?;
    secure_and_hand_over(data_dir)?;
    Ok(RecoveryReport {
        base_backup: base.id.clone(),
        chain: chain.iter().map(|b| b.id.clone()).collect(),
        data_dir: data_dir.to_path_buf(),
        target: options.target.clone(),
        verified,
        verified_by,
        restore_command,
        delta,
    })
}

/// Downloads the base backup into `data_dir`: see [`read_member`].
async fn unpack(
    store: &dyn BackupStore,
    base: &BaseBackup,
    data_dir: &Path,
    pitr: &PitrOptions,
    delta: bool,
) -> Result<Option<super::delta::DeltaReport>> {
    let (key, dir) = (base.data.key.clone(), data_dir.to_path_buf());
    read_member(store, base, pitr, move |reader| {
        let failed = |e: std::io::Error| Error::Integrity {
            key: key.clone(),
            reason: format!(
                "unpacking the base backup failed: {e}; the object is corrupt, truncated or the key is wrong"
            ),
        };
        if delta {
            return super::delta::unpack_tar(reader, &dir).map(Some).map_err(failed);
        }
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_permissions(true);
        archive.unpack(&dir).map_err(failed)?;
        Ok(None)
    })
    .await
}

/// Streams the base backup's tar to `consume` on a blocking thread: the stored bytes hashed as
/// they arrive, decrypted and decompressed, and the plaintext's size and hash checked once
/// `consume` is done (what it left unread is read to the end first).
async fn read_member<T: Send + 'static>(
    store: &dyn BackupStore,
    base: &BaseBackup,
    pitr: &PitrOptions,
    consume: impl FnOnce(&mut dyn Read) -> Result<T> + Send + 'static,
) -> Result<T> {
    use futures::StreamExt;
    use sha2::{Digest, Sha256};
    let (_, mut stream) = store.get_stream(&base.data.key).await?;
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<std::result::Result<bytes::Bytes, String>>(8);
    let decryption = pitr.decryption.clone();
    let encrypted = base.encryption.mode != EncryptionMode::None;
    let key = base.data.key.clone();
    let expected_plain = (base.data.plaintext_size, base.data.plaintext_sha256.clone());
    let reader = tokio::task::spawn_blocking(move || -> Result<T> {
        let source: Box<dyn Read + Send> = Box::new(ChannelSource::new(receiver));
        let source = if encrypted {
            decryption.wrap(source, &key, None)?
        } else {
            source
        };
        let reader = Compression::Zstd.unwrap_reader(source)?;
        check_plaintext(reader, &key, expected_plain, consume)
    });
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let mut download_error = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                hasher.update(&chunk);
                received += chunk.len() as u64;
                if sender.send(Ok(chunk)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                let _ = sender.send(Err(e.to_string())).await;
                download_error = Some(e);
                break;
            }
        }
    }
    if download_error.is_none() {
        let sha = hex::encode(hasher.finalize());
        if received != base.data.size || sha != base.data.sha256 {
            let _ = sender
                .send(Err("stored object does not match its manifest".into()))
                .await;
            drop(sender);
            let _ = reader.await;
            return Err(Error::Integrity {
                key: base.data.key.clone(),
                reason: format!(
                    "stored object has {received} bytes with sha256 {sha}; the manifest says {} with {}",
                    base.data.size, base.data.sha256
                ),
            });
        }
    }
    drop(sender);
    let read = reader.await.map_err(|e| Error::Cancelled {
        action: format!("unpacking ({e})"),
    })?;
    if let Some(e) = download_error {
        return Err(e);
    }
    read
}

/// Combines `chain` into `data_dir` (see [`super::combine`]); for a delta restore beside it first,
/// then moved over what differs. Returns what a delta restore changed.
async fn unpack_chain(
    store: &dyn BackupStore,
    chain: &[BaseBackup],
    data_dir: &Path,
    pitr: &PitrOptions,
    options: &RecoveryOptions,
) -> Result<Option<super::delta::DeltaReport>> {
    if !options.delta {
        return combine(store, chain, data_dir, pitr, options.verify)
            .await
            .map(|()| None);
    }
    let name = data_dir
        .file_name()
        .map_or("data".into(), |n| n.to_string_lossy().into_owned());
    let combined = data_dir.with_file_name(format!(".{name}.dbops-chain"));
    let _ = std::fs::remove_dir_all(&combined);
    let result = async {
        std::fs::create_dir_all(&combined)
            .map_err(|e| Error::io("creating a directory to combine the chain in", &combined, e))?;
        combine(store, chain, &combined, pitr, options.verify).await?;
        let (from, to) = (combined.clone(), data_dir.to_path_buf());
        let report = tokio::task::spawn_blocking(move || super::delta::sync_dir(&from, &to))
            .await
            .map_err(|e| Error::Cancelled {
                action: format!("the delta restore ({e})"),
            })?
            .map_err(|e| {
                Error::io(
                    "updating the data directory from the combined chain",
                    data_dir,
                    e,
                )
            })?;
        Ok(Some(report))
    }
    .await;
    let _ = std::fs::remove_dir_all(&combined);
    result
}

/// Combines the chain's tar streams into `data_dir`, newest first, each block written once.
async fn combine(
    store: &dyn BackupStore,
    chain: &[BaseBackup],
    data_dir: &Path,
    pitr: &PitrOptions,
    verify: bool,
) -> Result<()> {
    use super::combine::{Combiner, Member, Position};
    let started = std::time::Instant::now();
    let mut combiner = Combiner::new(data_dir, verify);
    for (n, base) in chain.iter().enumerate().rev() {
        let member = Member {
            id: base.id.clone(),
            key: base.data.key.clone(),
            has_manifest: base.has_backup_manifest,
            position: Position {
                newest: n + 1 == chain.len(),
                oldest: n == 0,
            },
        };
        let read_started = std::time::Instant::now();
        combiner = read_member(store, base, pitr, move |reader| {
            combiner.apply(reader, &member)?;
            Ok(combiner)
        })
        .await?;
        tracing::info!(member = %base.id, elapsed = ?read_started.elapsed(), "combined a backup of the chain ({} of {}, newest first)", chain.len() - n, chain.len());
    }
    let written = combiner.finish()?;
    tracing::info!(
        elapsed = ?started.elapsed(),
        files = written.whole_files,
        rebuilt = written.rebuilt_files,
        bytes = written.bytes,
        "combined the chain"
    );
    Ok(())
}

/// Runs `consume` on the plaintext `reader` yields, read and hashed on a thread of its own (so
/// decompressing overlaps unpacking); then reads what `consume` left to the end and checks the
/// plaintext's size and sha256 (`expected`).
fn check_plaintext<T>(
    reader: impl Read + Send,
    key: &str,
    expected: (u64, String),
    consume: impl FnOnce(&mut dyn Read) -> Result<T>,
) -> Result<T> {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    std::thread::scope(|scope| {
        let decoder = scope.spawn(move || read_and_hash(reader, sender));
        let mut plain = ChannelSource::new(receiver);
        let consumed = consume(&mut plain);
        let drained = match consumed {
            Ok(_) => std::io::copy(&mut plain, &mut std::io::sink()).map(|_| ()),
            Err(_) => Ok(()),
        };
        // A decoder still sending stops at its next chunk.
        drop(plain);
        let (size, sha) = decoder.join().map_err(|_| Error::Cancelled {
            action: format!("decompressing {key} (its thread panicked)"),
        })?;
        let consumed = consumed?;
        drained.map_err(|e| Error::io("reading the base backup", key, e))?;
        if size != expected.0 || sha != expected.1 {
            return Err(Error::Integrity {
                key: key.to_string(),
                reason: format!(
                    "unpacked {size} bytes with sha256 {sha}; the manifest says {} bytes with {}",
                    expected.0, expected.1
                ),
            });
        }
        Ok(consumed)
    })
}

/// Reads `reader` to its end in chunks sent to `sender` (an error as its message); returns the
/// size and sha256 of what it sent.
fn read_and_hash(
    mut reader: impl Read,
    sender: tokio::sync::mpsc::Sender<std::result::Result<bytes::Bytes, String>>,
) -> (u64, String) {
    use sha2::{Digest, Sha256};
    let (mut hasher, mut size) = (Sha256::new(), 0u64);
    loop {
        let mut chunk = vec![0u8; crate::codec::CHUNK];
        let sent = match super::delta::read_full(&mut reader, &mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                chunk.truncate(n);
                hasher.update(&chunk);
                size += n as u64;
                sender.blocking_send(Ok(bytes::Bytes::from(chunk)))
            }
            Err(e) => {
                let _ = sender.blocking_send(Err(e.to_string()));
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
    (size, hex::encode(hasher.finalize()))
}

/// Appends the recovery settings (restore_command, target, promote) to postgresql.auto.conf and
/// writes recovery.signal.
fn write_recovery_settings(
    data_dir: &Path,
    base: &BaseBackup,
    options: &RecoveryOptions,
    restore_command: &str,
) -> Result<()> {
    let mut settings = vec![
        ("restore_command".to_string(), restore_command.to_string()),
        ("recovery_target_action".to_string(), "promote".to_string()),
        ("recovery_target_timeline".to_string(), "latest".to_string()),
    ];
    match &options.target {
        RecoveryTarget::Latest => {}
        RecoveryTarget::Time(t) => settings.push((
            "recovery_target_time".into(),
            t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string(),
        )),
        RecoveryTarget::RestorePoint(n) => {
            settings.push(("recovery_target_name".into(), n.clone()))
        }
        RecoveryTarget::Xid(x) => settings.push(("recovery_target_xid".into(), x.clone())),
        RecoveryTarget::Lsn(l) => settings.push(("recovery_target_lsn".into(), l.clone())),
    }
    let auto = data_dir.join("postgresql.auto.conf");
    let mut text = std::fs::read_to_string(&auto).unwrap_or_default();
    text.push_str(&format!(
        "\n# Written by dbops pitr restore of base backup {} to {}\n",
        base.id, options.target
    ));
    for (k, v) in &settings {
        text.push_str(&format!(
            "{k} = {}\n",
            quote_literal(v).trim_start_matches('E')
        ));
    }
    std::fs::write(&auto, text).map_err(|e| Error::io("writing recovery settings", &auto, e))?;
    std::fs::write(data_dir.join("recovery.signal"), "")
        .map_err(|e| Error::io("writing recovery.signal in", data_dir, e))
}

/// A recovery target written into `postgresql.auto.conf` must be what its setting accepts: a name
/// of at most 63 characters without control characters (a newline would end the quoted value), a
/// transaction id of digits, an LSN `X/X`.
pub(crate) fn check_target(target: &RecoveryTarget) -> Result<()> {
    let (what, ok) = match target {
        RecoveryTarget::RestorePoint(name) => (
            "restore point name",
            !name.is_empty() && name.len() <= 63 && !name.chars().any(char::is_control),
        ),
        RecoveryTarget::Xid(xid) => (
            "transaction id",
            !xid.is_empty() && xid.bytes().all(|b| b.is_ascii_digit()),
        ),
        RecoveryTarget::Lsn(lsn) => ("WAL location", parse_lsn(lsn).is_some()),
        RecoveryTarget::Latest | RecoveryTarget::Time(_) => return Ok(()),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!(
                "`{}` is not a valid {what} (a name: 1 to 63 characters, no control characters; an \
                 xid: digits; an LSN: like 0/16B3740); nothing was written",
                target_text(target).escape_debug()
            ),
        ))
    }
}

fn target_text(target: &RecoveryTarget) -> &str {
    match target {
        RecoveryTarget::RestorePoint(s) | RecoveryTarget::Xid(s) | RecoveryTarget::Lsn(s) => s,
        RecoveryTarget::Latest | RecoveryTarget::Time(_) => "",
    }
}

/// The restored server's `restore_command`, built (and its options checked) before any work starts.
fn restore_command(store: &dyn BackupStore, options: &RecoveryOptions) -> Result<String> {
    let url = options
        .store_url
        .clone()
        .unwrap_or_else(|| store.describe().to_string());
    let mut commands = WalCommands::new(url).store_options(options.store_options.clone());
    if let Some(program) = &options.dbops_program {
        commands = commands.program(program);
    }
    if let Some(path) = &options.identity_file {
        commands = commands.identity_file(path);
    }
    if let Some(var) = &options.passphrase_env {
        commands = commands.passphrase_env(var);
    }
    commands.restore_command()
}

/// Checks the unpacked backup in `data_dir` against its `backup_manifest`: with `pg_verifybackup`
/// of the backup's major version when it is installed (another major's misreads its control file),
/// else with dbops' own reading of the manifest (the same checks but WAL parsing). Returns what
/// checked it.
async fn verify(data_dir: &Path) -> Result<String> {
    let major = crate::cluster::data_dir_major(data_dir).unwrap_or(0);
    let program = crate::cluster::PgInstallations::discover()
        .ok()
        .and_then(|all| all.optional_program_for("pg_verifybackup", major));
    let Some(program) = program else {
        let dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || super::manifest_check::check(&dir))
            .await
            .map_err(|e| Error::Cancelled {
                action: format!("checking the unpacked backup ({e})"),
            })??;
        return Ok("dbops".into());
    };
    let output = tokio::process::Command::new(&program)
        .arg("--no-parse-wal")
        .arg(data_dir)
        .output()
        .await
        .map_err(|e| Error::io("running pg_verifybackup", &program, e))?;
    if output.status.success() {
        Ok(program.display().to_string())
    } else {
        Err(Error::Integrity {
            key: data_dir.display().to_string(),
            reason: format!(
                "pg_verifybackup found problems in the unpacked backup: {}",
                last_lines(&String::from_utf8_lossy(&output.stderr), 10)
            ),
        })
    }
}

/// Mode 0700 on the data directory, and ownership for the server account when running as root.
fn secure_and_hand_over(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("securing the data directory", dir, e))?;
    let account = crate::cluster::OsAccount::resolve(None)?;
    fn walk(path: &Path, account: &crate::cluster::OsAccount) -> Result<()> {
        account.chown(path)?;
        if path.is_dir() && !path.is_symlink() {
            for entry in std::fs::read_dir(path)
                .map_err(|e| Error::io("reading", path, e))?
                .flatten()
            {
                walk(&entry.path(), account)?;
            }
        }
        Ok(())
    }
    walk(dir, &account)
}

/// Waits until the server at `url` has finished recovery and been promoted (accepts writes).
pub async fn wait_for_promotion(
    url: &crate::config::DatabaseUrl,
    timeout: std::time::Duration,
) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        if let Ok(client) = url.connect().await
            && let Ok(row) = client.query_one("SELECT pg_is_in_recovery()", &[]).await
            && !row.get::<_, bool>(0)
        {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(Error::Timeout {
                action: "waiting for the restored server to reach its target and promote (see its log: a \
                         target before the base backup's end, or WAL missing from the archive, stop recovery)"
                    .into(),
                elapsed: started.elapsed(),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_that_would_break_the_configuration_are_refused() {
        let bad = [
            RecoveryTarget::RestorePoint("x'\nrestore_command = 'touch /tmp/pwn".into()),
            RecoveryTarget::RestorePoint(String::new()),
            RecoveryTarget::RestorePoint("n".repeat(64)),
            RecoveryTarget::Xid("123; DROP".into()),
            RecoveryTarget::Lsn("0/16B3740\n".into()),
        ];
        for target in bad {
            assert!(check_target(&target).is_err(), "{target:?}");
        }
        for good in [
            RecoveryTarget::RestorePoint("before_migration_42".into()),
            RecoveryTarget::Xid("4711".into()),
            RecoveryTarget::Lsn("0/16B3740".into()),
            RecoveryTarget::Latest,
        ] {
            assert!(check_target(&good).is_ok(), "{good:?}");
        }
    }
}
