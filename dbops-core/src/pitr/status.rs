//! `dbops pitr status`, `restore-point`, `setup` and retention of base backups and WAL.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::basebackup::{BaseBackup, list_base_backups};
use super::command::WalCommands;
use super::wal::{WalFileKind, WalName, segment_name};
use crate::config::{DatabaseUrl, quote_literal};
use crate::error::{Error, Result};
use crate::storage::{BackupStore, ObjectInfo};

/// The archive of one timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineStatus {
    /// The timeline.
    pub timeline: u32,
    /// Segments archived.
    pub segments: usize,
    /// First and last segment.
    pub first: Option<String>,
    /// Last segment.
    pub last: Option<String>,
    /// When the last segment was stored.
    pub last_archived_at: Option<DateTime<Utc>>,
    /// Missing ranges `(first missing, last missing)` between the first and last segment.
    pub gaps: Vec<(String, String)>,
    /// Whether its history file is archived (every timeline after 1 needs one).
    pub history: bool,
}

/// The server's archiver statistics (`pg_stat_archiver`).
#[derive(Debug, Clone, Serialize)]
pub struct ArchiverStatus {
    /// `archive_mode`.
    pub archive_mode: String,
    /// `archive_command`.
    pub archive_command: String,
    /// Segments archived since the statistics reset.
    pub archived_count: i64,
    /// Last archived file.
    pub last_archived_wal: Option<String>,
    /// Seconds since then.
    pub last_archived_age_secs: Option<f64>,
    /// Failures since the statistics reset.
    pub failed_count: i64,
    /// Last file that failed.
    pub last_failed_wal: Option<String>,
    /// The current WAL file.
    pub current_wal: String,
}

/// Everything `pitr status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct PitrStatus {
    /// The store.
    pub store: String,
    /// The server's archiver, when a server was given.
    pub archiver: Option<ArchiverStatus>,
    /// Per-timeline archive contents.
    pub timelines: Vec<TimelineStatus>,
    /// Base backups, oldest first.
    pub base_backups: Vec<BaseBackup>,
    /// Earliest and latest time a restore can reach (oldest base backup's end, newest archived segment).
    pub recovery_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Problems found (gaps, missing history files, missing WAL for a base backup).
    pub problems: Vec<String>,
}

/// Lists `wal/` grouped by timeline.
/// The archive's WAL files by timeline.
type Archive = BTreeMap<u32, Vec<(WalName, ObjectInfo)>>;

async fn archive_by_timeline(store: &dyn BackupStore) -> Result<Archive> {
    let mut out: BTreeMap<u32, Vec<(WalName, ObjectInfo)>> = BTreeMap::new();
    for object in store.list("wal").await? {
        let name = object.key.rsplit('/').next().unwrap_or_default();
        if let Ok(wal) = WalName::parse(name) {
            out.entry(wal.timeline).or_default().push((wal, object));
        }
    }
    Ok(out)
}

/// Reports the archive, its gaps, the base backups and (with `server`) the archiver.
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::ObjectBackupStore;
/// use dbops::pitr;
///
/// let store = ObjectBackupStore::open("s3://backups/prod-pitr")?;
/// let status = pitr::status(&store, Some(&url)).await?; // with a server: its archiver too
/// if let Some((from, to)) = status.recovery_window {
///     println!("restorable to any time from {from} to {to}");
/// }
/// for problem in &status.problems {
///     println!("problem: {problem}"); // gaps, missing history files, WAL a base backup needs
/// }
/// # Ok(()) }
/// ```
pub async fn status(store: &dyn BackupStore, server: Option<&DatabaseUrl>) -> Result<PitrStatus> {
    let archive = archive_by_timeline(store).await?;
    let base_backups = list_base_backups(store).await?;
    let segment_size = base_backups.last().map_or(16 << 20, |b| b.wal_segment_size);
    let mut timelines = Vec::new();
    let mut problems = Vec::new();
    for (tli, files) in &archive {
        let mut segnos: Vec<(u64, &ObjectInfo)> = files
            .iter()
            .filter(|(w, _)| w.kind == WalFileKind::Segment)
            .filter_map(|(w, o)| w.segno(segment_size).map(|n| (n, o)))
            .collect();
        segnos.sort_by_key(|(n, _)| *n);
        let mut gaps = Vec::new();
        for pair in segnos.windows(2) {
            let (a, b) = (pair[0].0, pair[1].0);
            if b > a + 1 {
                gaps.push((
                    segment_name(*tli, a + 1, segment_size),
                    segment_name(*tli, b - 1, segment_size),
                ));
            }
        }
        for (from, to) in &gaps {
            problems.push(format!(
                "timeline {tli}: segments {from} to {to} are missing from the archive"
            ));
        }
        let history = files.iter().any(|(w, _)| w.kind == WalFileKind::History);
        if *tli > 1 && !history {
            problems.push(format!(
                "timeline {tli}: its history file {tli:08X}.history is not archived"
            ));
        }
        timelines.push(TimelineStatus {
            timeline: *tli,
            segments: segnos.len(),
            first: segnos
                .first()
                .map(|(n, _)| segment_name(*tli, *n, segment_size)),
            last: segnos
                .last()
                .map(|(n, _)| segment_name(*tli, *n, segment_size)),
            last_archived_at: segnos.iter().map(|(_, o)| o.last_modified).max(),
            gaps,
            history,
        });
    }
    for base in &base_backups {
        problems.extend(missing_for_base(&archive, base));
        if base.parent.is_some()
            && let Err(e) = super::basebackup::chain_of(&base_backups, &base.id)
        {
            problems.push(format!("incremental base backup {}: {e}", base.id));
        }
    }
    let newest_segment = timelines.iter().filter_map(|t| t.last_archived_at).max();
    let recovery_window = match (base_backups.first(), newest_segment) {
        (Some(oldest), Some(newest)) => Some((oldest.finished_at, newest.max(oldest.finished_at))),
        _ => None,
    };
    let archiver = match server {
        Some(url) => Some(archiver_status(url).await?),
        None => None,
    };
    Ok(PitrStatus {
        store: store.describe().to_string(),
        archiver,
        timelines,
        base_backups,
        recovery_window,
        problems,
    })
}

/// The segments base backup `base` needs (start to stop WAL) that the archive lacks.
fn missing_for_base(archive: &Archive, base: &BaseBackup) -> Vec<String> {
    let have: BTreeSet<&str> = archive
        .get(&base.timeline)
        .map(|files| files.iter().map(|(w, _)| w.name.as_str()).collect())
        .unwrap_or_default();
    let segno = |name: &str| {
        WalName::parse(name)
            .ok()
            .and_then(|w| w.segno(base.wal_segment_size))
    };
    let (Some(start), Some(stop)) = (segno(&base.start_wal), segno(&base.stop_wal)) else {
        return Vec::new();
    };
    (start..=stop)
        .map(|n| segment_name(base.timeline, n, base.wal_segment_size))
        .filter(|name| !have.contains(name.as_str()))
        .map(|name| {
            format!(
                "base backup {} needs {name}, which is not archived (yet)",
                base.id
            )
        })
        .collect()
}

async fn archiver_status(url: &DatabaseUrl) -> Result<ArchiverStatus> {
    let client = url.connect().await?;
    let row = client
        .query_one(
            "SELECT current_setting('archive_mode'), current_setting('archive_command'), archived_count, \
             last_archived_wal, extract(epoch FROM now() - last_archived_time)::float8, failed_count, last_failed_wal, \
             CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_walfile_name(pg_current_wal_lsn()) END \
             FROM pg_stat_archiver",
            &[],
        )
        .await
        .map_err(|e| Error::postgres("reading pg_stat_archiver", e))?;
    Ok(ArchiverStatus {
        archive_mode: row.get(0),
        archive_command: row.get(1),
        archived_count: row.get(2),
        last_archived_wal: row.get(3),
        last_archived_age_secs: row.get(4),
        failed_count: row.get(5),
        last_failed_wal: row.get(6),
        current_wal: row.get(7),
    })
}

/// Creates a named restore point (`pg_create_restore_point`) and switches WAL so it gets archived;
/// returns its LSN.
pub async fn create_restore_point(url: &DatabaseUrl, name: &str) -> Result<String> {
    // The names a restore to a restore point accepts (refused before anything is created).
    super::recovery::check_target(&super::RecoveryTarget::RestorePoint(name.to_string()))?;
    let client = url.connect().await?;
    let lsn: String = client
        .query_one("SELECT pg_create_restore_point($1)::text", &[&name])
        .await
        .map_err(|e| Error::postgres(format!("creating restore point `{name}`"), e))?
        .get(0);
    client
        .batch_execute("SELECT pg_switch_wal()")
        .await
        .map_err(|e| Error::postgres("switching WAL after the restore point", e))?;
    Ok(lsn)
}

/// One setting `pitr setup` wants.
#[derive(Debug, Clone, Serialize)]
pub struct SetupItem {
    /// The setting.
    pub name: String,
    /// Its value now.
    pub current: String,
    /// The value PITR needs.
    pub wanted: String,
    /// Whether a restart is needed for it to take effect.
    pub needs_restart: bool,
}

/// The settings of the guide's PITR setup, compared with the server's: `wal_level`, `archive_mode`
/// (`always` on a standby, so that it archives what it receives), `summarize_wal` on 17 and later,
/// `archive_command` (built by `commands`: quoted, credentials refused, encryption kept) and
/// `archive_timeout`, plus the passphrase variable the archiver needs in its environment when one is
/// used (checked in the server's process environment when the server runs on this machine and dbops may
/// read it; `SHOW` cannot see environment variables). `apply` runs `ALTER SYSTEM` and reloads
/// (`archive_mode` and `wal_level` still need a restart, which is said); it refuses, writing nothing,
/// when the command cannot be built or the variable is known to be missing.
pub async fn setup(
    url: &DatabaseUrl,
    commands: &WalCommands,
    archive_timeout: &str,
    apply: bool,
) -> Result<Vec<SetupItem>> {
    let archive_command = commands.archive_command()?;
    let client = url.connect().await?;
    // A standby archives only with `always` (then both what it receives and what it restores).
    let in_recovery: bool = client
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .map_err(|e| Error::postgres("checking whether the server is a standby", e))?
        .get(0);
    let wanted = [
        ("wal_level", "replica"),
        ("archive_mode", if in_recovery { "always" } else { "on" }),
        ("archive_command", archive_command.as_str()),
        ("archive_timeout", archive_timeout),
    ];
    let mut items = Vec::new();
    for (name, value) in wanted {
        items.push(compare_setting(&client, name, value).await?);
    }
    // 17 and later: WAL summaries, which incremental base backups need.
    if crate::cluster::server_major(&client).await? >= 17 {
        items.push(compare_setting(&client, "summarize_wal", "on").await?);
    }
    if let Some(var) = commands.required_environment() {
        let item = environment_item(&client, var).await;
        if apply && item.current == ENV_MISSING {
            return Err(Error::Refused {
                action: "pitr setup --apply".into(),
                reason: format!(
                    "the server's environment has no `{var}`, so every archive_command would fail and \
                     WAL would pile up in pg_wal; set it in the server's environment (a systemd drop-in \
                     `Environment=` line, the container's env), restart the server, then run setup again; \
                     nothing was written"
                ),
            });
        }
        items.push(item);
    }
    if apply {
        apply_settings(&client, &items).await?;
    }
    Ok(items)
}

/// `current` of the environment item when the variable is known to be missing.
const ENV_MISSING: &str = "not set";

async fn compare_setting(
    client: &tokio_postgres::Client,
    name: &str,
    value: &str,
) -> Result<SetupItem> {
    let row = client
        .query_one(
            "SELECT setting, context FROM pg_settings WHERE name = $1",
            &[&name],
        )
        .await
        .map_err(|e| Error::postgres(format!("reading {name}"), e))?;
    let current: String = row.get(0);
    let context: String = row.get(1);
    let satisfied = current == value
        || (name == "wal_level" && current == "logical")
        || (name == "archive_mode" && current == "always");
    Ok(SetupItem {
        name: name.into(),
        // A value that already satisfies PITR (`logical`, `always`) is what is wanted: nothing to set.
        wanted: if satisfied {
            current.clone()
        } else {
            value.into()
        },
        current,
        needs_restart: !satisfied && context == "postmaster",
    })
}

async fn apply_settings(client: &tokio_postgres::Client, items: &[SetupItem]) -> Result<()> {
    for item in items.iter().filter(|i| i.current != i.wanted) {
        if item.name.starts_with("environment ") {
            continue;
        }
        client
            .batch_execute(&format!(
                "ALTER SYSTEM SET {} = {}",
                item.name,
                quote_literal(&item.wanted)
            ))
            .await
            .map_err(|e| Error::postgres(format!("ALTER SYSTEM SET {}", item.name), e))?;
    }
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .map_err(|e| Error::postgres("reloading the configuration", e))?;
    Ok(())
}

/// Whether the server's postmaster has `var` in its environment: `set`, `not set`, or `unknown: why`.
async fn environment_item(client: &tokio_postgres::Client, var: &str) -> SetupItem {
    let current = match server_environment_has(client, var).await {
        Ok(true) => "set".to_string(),
        Ok(false) => ENV_MISSING.to_string(),
        Err(why) => format!(
            "unknown: {why}; SHOW cannot see environment variables, so make sure the server's \
             environment has it"
        ),
    };
    SetupItem {
        name: format!("environment {var}"),
        needs_restart: current != "set",
        current,
        wanted: "set".into(),
    }
}

/// Reads the postmaster's environment through `/proc` (the parent of this session's backend), when
/// the server runs on this machine and this user may read it.
async fn server_environment_has(
    client: &tokio_postgres::Client,
    var: &str,
) -> std::result::Result<bool, String> {
    let row = client
        .query_one("SELECT pg_backend_pid(), current_database()", &[])
        .await
        .map_err(|e| format!("could not ask the server for its process ({e})"))?;
    let (pid, database): (i32, String) = (row.get(0), row.get(1));
    let not_here = || "the server does not run on this machine".to_string();
    let backend_title = std::fs::read(format!("/proc/{pid}/cmdline")).map_err(|_| not_here())?;
    if !String::from_utf8_lossy(&backend_title).contains(&database) {
        return Err(not_here());
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|_| not_here())?;
    let parent = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .ok_or_else(not_here)?;
    let environ = std::fs::read(format!("/proc/{parent}/environ"))
        .map_err(|e| format!("cannot read the server's environment ({e})"))?;
    let prefix = format!("{var}=");
    Ok(environ
        .split(|b| *b == 0)
        .any(|entry| entry.starts_with(prefix.as_bytes()) && entry.len() > prefix.len()))
}

/// What WAL and base backup retention will do (or did).
#[derive(Debug, Clone, Serialize)]
pub struct PitrRetentionPlan {
    /// Base backups kept, oldest first.
    pub keep: Vec<String>,
    /// Base backups deleted.
    pub delete: Vec<String>,
    /// WAL files deleted.
    pub wal_delete: Vec<String>,
    /// Whether it was carried out.
    pub applied: bool,
}

/// The newest `keep` base backups and every backup they depend on (kept, oldest first), and the
/// rest (deleted, oldest first).
fn keep_with_parents(backups: &[BaseBackup], keep: usize) -> (Vec<&BaseBackup>, Vec<&BaseBackup>) {
    let mut needed: BTreeSet<&str> = BTreeSet::new();
    for newest in backups.iter().rev().take(keep) {
        let mut next = Some(newest.id.as_str());
        while let Some(id) = next {
            if !needed.insert(id) {
                break;
            }
            next = backups
                .iter()
                .find(|b| b.id == id)
                .and_then(|b| b.parent.as_deref());
        }
    }
    backups.iter().partition(|b| needed.contains(b.id.as_str()))
}

/// Keeps the newest `keep_base` base backups (with every backup an incremental among them is built
/// on) and every WAL file a kept backup (or a later restore)
/// could need: on each kept backup's timeline everything from its start segment on, and every later
/// timeline whole. History files are always kept. Deletes base manifests before their data.
pub async fn retention(
    store: &dyn BackupStore,
    keep_base: usize,
    apply: bool,
) -> Result<PitrRetentionPlan> {
    if keep_base == 0 {
        return Err(Error::config(
            "keep",
            "keeping 0 base backups would make the archive useless; keep at least 1",
        ));
    }
    let backups = list_base_backups(store).await?;
    let (kept, old) = keep_with_parents(&backups, keep_base);
    let mut wal_delete = Vec::new();
    if let Some(oldest) = kept.first() {
        let min_start = WalName::parse(&oldest.start_wal)
            .ok()
            .and_then(|w| w.segno(oldest.wal_segment_size));
        let archive = archive_by_timeline(store).await?;
        for (tli, files) in &archive {
            for (wal, object) in files {
                if wal.kind == WalFileKind::History {
                    continue;
                }
                let needed = if *tli > oldest.timeline {
                    true
                } else if *tli < oldest.timeline {
                    false
                } else {
                    match (wal.segno(oldest.wal_segment_size), min_start) {
                        (Some(n), Some(min)) => n >= min,
                        _ => true,
                    }
                };
                if !needed {
                    wal_delete.push(object.key.clone());
                }
            }
        }
    }
    if apply {
        // Children before their parents: an interrupted prune never leaves an incremental whose
        // parent is gone while a later one still exists.
        for base in old.iter().rev() {
            store.delete(&base.key()).await?;
            store.delete(&base.data.key).await?;
            if let Some(manifest) = &base.manifest {
                store.delete(&manifest.key).await?;
            }
        }
        for key in &wal_delete {
            store.delete(key).await?;
        }
    }
    Ok(PitrRetentionPlan {
        keep: kept.iter().map(|b| b.id.clone()).collect(),
        delete: old.iter().map(|b| b.id.clone()).collect(),
        wal_delete,
        applied: apply,
    })
}
