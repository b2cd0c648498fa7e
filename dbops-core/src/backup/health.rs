//! Backup health: is there a recent, intact, plausibly sized backup in a reachable store, has it been
//! proven restorable lately, and is WAL archiving keeping up? Each check is ok, warn or critical with a
//! reason; the overall status is the worst, and its exit code (0/1/2) suits cron and Kubernetes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::BackupCatalog;
use crate::catalog::StoredObject;
use crate::catalog::failures;
use crate::catalog::{BackupEntry, Catalog};
use crate::config::DatabaseUrl;
use crate::error::Result;
use crate::storage::BackupStore;
use std::sync::Arc;

/// The state of one check, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupStatus {
    /// Nothing to do.
    Ok,
    /// Look at it soon.
    Warn,
    /// Act now: backups are missing, broken or unreachable.
    Critical,
}

impl BackupStatus {
    /// 0, 1 or 2: the exit code for cron and Kubernetes.
    pub fn exit_code(self) -> i32 {
        match self {
            BackupStatus::Ok => 0,
            BackupStatus::Warn => 1,
            BackupStatus::Critical => 2,
        }
    }
}

impl std::fmt::Display for BackupStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackupStatus::Ok => "ok",
            BackupStatus::Warn => "warn",
            BackupStatus::Critical => "critical",
        })
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupCheck {
    /// Stable name: `store_reachable`, `last_backup_age`, `backup_size`, `latest_integrity`,
    /// `backup_count`, `catalog`, `restore_test_age`, `wal_archive`.
    pub name: String,
    /// The state.
    pub status: BackupStatus,
    /// Why, in one sentence, with the numbers.
    pub reason: String,
    /// The measured value (seconds, ratio, count), for metrics.
    pub value: Option<f64>,
}

/// Thresholds of the checks. Every field has a documented default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BackupHealthOptions {
    /// Warn when the newest backup is older than this. Default: 26 h.
    pub max_age: Duration,
    /// Critical when the newest backup is older than this. Default: twice `max_age`.
    pub critical_age: Option<Duration>,
    /// Critical when the newest backup is smaller than this fraction of the recent median. Default: 0.5.
    pub size_drop_ratio: f64,
    /// Warn when the newest backup is larger than this multiple of the recent median. Default: 2.0.
    pub size_jump_ratio: f64,
    /// How many earlier backups make the median. Default: 7.
    pub size_history: usize,
    /// Warn when fewer backups than this are kept. Default: 1.
    pub min_backups: usize,
    /// Warn when the last restore test is older than this (or there is none). Default: 8 days.
    /// `None` skips the check.
    pub max_restore_test_age: Option<Duration>,
    /// Download the newest backup and check its stored sha256 (no key needed). Default: false (only
    /// its size is compared with the manifest).
    pub full_verify: bool,
    /// Warn when the last archived WAL segment is older than this (PITR set up only). Default: 1 h.
    pub max_wal_age: Duration,
}

crate::setters::with_setters!(BackupHealthOptions {
    with_max_age => max_age: Duration,
    with_critical_age => critical_age: opt Duration,
    with_size_drop_ratio => size_drop_ratio: f64,
    with_size_jump_ratio => size_jump_ratio: f64,
    with_size_history => size_history: usize,
    with_min_backups => min_backups: usize,
    with_max_restore_test_age => max_restore_test_age: opt Duration,
    with_full_verify => full_verify: bool,
    with_max_wal_age => max_wal_age: Duration,
});

impl Default for BackupHealthOptions {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(26 * 3600),
            critical_age: None,
            size_drop_ratio: 0.5,
            size_jump_ratio: 2.0,
            size_history: 7,
            min_backups: 1,
            max_restore_test_age: Some(Duration::from_secs(8 * 24 * 3600)),
            full_verify: false,
            max_wal_age: Duration::from_secs(3600),
        }
    }
}

/// The health thresholds in the units people type (hours, days, minutes), as the CLI's flags and
/// Python's arguments take them; [`Self::options`] checks and converts them. The defaults are
/// [`BackupHealthOptions::default`]'s, so every front-end shares them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BackupHealthLimits {
    /// Warn when the newest backup is older than this many hours. Default: 26.
    pub max_age_hours: f64,
    /// Critical when older than this many hours. Default: none (twice `max_age_hours`).
    pub critical_age_hours: Option<f64>,
    /// Critical when the newest backup is smaller than this fraction of the recent median. Default: 0.5.
    pub size_drop_ratio: f64,
    /// Warn when it is larger than this multiple of the recent median. Default: 2.0.
    pub size_jump_ratio: f64,
    /// Warn when fewer backups than this are kept. Default: 1.
    pub min_backups: usize,
    /// Warn when the last restore test is older than this many days; 0 skips the check. Default: 8.
    pub max_restore_test_age_days: f64,
    /// Download the newest backup and check its stored sha256. Default: false.
    pub full: bool,
    /// Warn when the last archived WAL segment is older than this many minutes. Default: 60.
    pub max_wal_age_minutes: f64,
}

crate::setters::with_setters!(BackupHealthLimits {
    with_max_age_hours => max_age_hours: f64,
    with_critical_age_hours => critical_age_hours: opt f64,
    with_size_drop_ratio => size_drop_ratio: f64,
    with_size_jump_ratio => size_jump_ratio: f64,
    with_min_backups => min_backups: usize,
    with_max_restore_test_age_days => max_restore_test_age_days: f64,
    with_full => full: bool,
    with_max_wal_age_minutes => max_wal_age_minutes: f64,
});

impl Default for BackupHealthLimits {
    fn default() -> Self {
        let options = BackupHealthOptions::default();
        Self {
            max_age_hours: options.max_age.as_secs_f64() / 3600.0,
            critical_age_hours: options.critical_age.map(|d| d.as_secs_f64() / 3600.0),
            size_drop_ratio: options.size_drop_ratio,
            size_jump_ratio: options.size_jump_ratio,
            min_backups: options.min_backups,
            max_restore_test_age_days: options
                .max_restore_test_age
                .map_or(0.0, |d| d.as_secs_f64() / 86400.0),
            full: options.full_verify,
            max_wal_age_minutes: options.max_wal_age.as_secs_f64() / 60.0,
        }
    }
}

impl BackupHealthLimits {
    /// The checked thresholds; an error names the first value that is not a usable number.
    pub fn options(&self) -> Result<BackupHealthOptions> {
        use crate::config::{TimeUnit, duration_from};
        let hours = |what: &str, value: f64| duration_from(what, value, TimeUnit::Hours);
        Ok(BackupHealthOptions {
            max_age: hours("max_age_hours", self.max_age_hours)?,
            critical_age: self
                .critical_age_hours
                .map(|h| hours("critical_age_hours", h))
                .transpose()?,
            size_drop_ratio: self.size_drop_ratio,
            size_jump_ratio: self.size_jump_ratio,
            min_backups: self.min_backups,
            max_restore_test_age: (self.max_restore_test_age_days > 0.0)
                .then(|| {
                    hours(
                        "max_restore_test_age_days",
                        self.max_restore_test_age_days * 24.0,
                    )
                })
                .transpose()?,
            full_verify: self.full,
            max_wal_age: duration_from(
                "max_wal_age_minutes",
                self.max_wal_age_minutes,
                TimeUnit::Minutes,
            )?,
            ..BackupHealthOptions::default()
        })
    }
}

/// The outcome of a health run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BackupHealthReport {
    /// The database checked.
    pub database: String,
    /// The store, credentials removed.
    pub store: String,
    /// The worst status of all checks.
    pub status: BackupStatus,
    /// Every check.
    pub checks: Vec<BackupCheck>,
    /// When the checks ran.
    pub checked_at: DateTime<Utc>,
    /// The newest valid backup, if any.
    pub latest: Option<LatestBackup>,
    /// Backups kept.
    pub backups: usize,
    /// Backup attempts that failed and were recorded in the store (`failures/`).
    pub failures: usize,
}

/// Facts about the newest backup, for metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestBackup {
    /// Its id.
    pub id: String,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Stored size in bytes.
    pub size: u64,
    /// Seconds it took (0 for legacy files).
    pub duration_secs: f64,
}

impl BackupHealthReport {
    /// The check with this name.
    pub fn check(&self, name: &str) -> Option<&BackupCheck> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// One line: `backup health of app: critical (last_backup_age: ...)`.
    pub fn summary(&self) -> String {
        let bad: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.status > BackupStatus::Ok)
            .map(|c| format!("{}: {}", c.name, c.reason))
            .collect();
        if bad.is_empty() {
            format!("backup health of `{}`: ok", self.database)
        } else {
            format!(
                "backup health of `{}`: {} ({})",
                self.database,
                self.status,
                bad.join("; ")
            )
        }
    }
}

/// Checks the backups of one database in one store.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use std::time::Duration;
/// use dbops::ObjectBackupStore;
/// use dbops::backup::{BackupHealth, BackupHealthOptions};
///
/// let store = ObjectBackupStore::open("s3://backups/prod")?;
/// // Backups run nightly: warn when the newest is more than 26 hours old.
/// let options = BackupHealthOptions::default().with_max_age(Duration::from_secs(26 * 3600));
/// let report = BackupHealth::new(store, "orders", options).run().await;
/// println!("{}", report.summary());
/// let exit_code = report.status.exit_code(); // 0 ok, 1 warn, 2 critical
/// # let _ = exit_code; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BackupHealth {
    store: Arc<dyn BackupStore>,
    database: String,
    options: BackupHealthOptions,
    server: Option<DatabaseUrl>,
}

impl BackupHealth {
    /// Health of `database`'s backups in `store`.
    pub fn new(
        store: impl BackupStore + 'static,
        database: impl Into<String>,
        options: BackupHealthOptions,
    ) -> Self {
        Self {
            store: Arc::new(store),
            database: database.into(),
            options,
            server: None,
        }
    }

    /// Also checks WAL archiving (`pg_stat_archiver`) on this server when `archive_mode` is on.
    pub fn with_server(mut self, url: DatabaseUrl) -> Self {
        self.server = Some(url);
        self
    }

    /// Runs every check. Never fails: an unreachable store or server is a critical check.
    #[tracing::instrument(name = "backup.health", skip_all, fields(database = %self.database))]
    pub async fn run(&self) -> BackupHealthReport {
        let now = Utc::now();
        let mut checks = vec![self.reachable_check().await];
        let found = self.catalog_checks(now, &mut checks).await;
        if let Some(max) = self.options.max_restore_test_age {
            checks.push(self.restore_test_check(max, now).await);
        }
        if let Some(url) = &self.server
            && let Some(wal) = self.wal_check(url).await
        {
            checks.push(wal);
        }
        let status = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(BackupStatus::Ok);
        BackupHealthReport {
            database: self.database.clone(),
            store: self.store.describe().to_string(),
            status,
            checks,
            checked_at: now,
            latest: found.latest,
            backups: found.backups,
            failures: found.failures,
        }
    }

    /// `store_reachable`: a write/read/delete probe of the store.
    async fn reachable_check(&self) -> BackupCheck {
        match self.store.probe().await {
            Ok(took) => check(
                "store_reachable",
                BackupStatus::Ok,
                format!("write/read/delete probe took {} ms", took.as_millis()),
                Some(took.as_secs_f64()),
            ),
            Err(e) => check(
                "store_reachable",
                BackupStatus::Critical,
                format!(
                    "the store cannot be written and read back: {}",
                    crate::error::report(&e)
                ),
                None,
            ),
        }
    }

    /// The checks of the store's catalog (`last_backup_age`, `backup_size`, `latest_integrity`,
    /// `backup_count`, `catalog`), added to `checks`; what it holds, for the report.
    async fn catalog_checks(
        &self,
        now: DateTime<Utc>,
        checks: &mut Vec<BackupCheck>,
    ) -> CatalogSummary {
        let catalog = match self.store.catalog(Some(&self.database)).await {
            Err(e) => {
                checks.push(check(
                    "last_backup_age",
                    BackupStatus::Critical,
                    format!("cannot list backups: {}", crate::error::report(&e)),
                    None,
                ));
                return CatalogSummary::default();
            }
            Ok(catalog) => catalog,
        };
        let entries: Vec<&BackupEntry> = catalog.of_database(&self.database).collect();
        let backups = entries.len();
        let recorded_failures = failures(&self.store, &self.database)
            .await
            .unwrap_or_default();
        checks.push(self.age_check(entries.last().copied(), &recorded_failures, now));
        checks.push(self.size_check(&entries));
        let mut latest = None;
        if let Some(entry) = entries.last() {
            checks.push(self.integrity_check(entry).await);
            latest = Some(latest_backup_facts(entry));
        }
        checks.push(self.count_check(backups));
        checks.push(catalog_check(&catalog, now));
        CatalogSummary {
            latest,
            backups,
            failures: recorded_failures.len(),
        }
    }

    /// `backup_count`: at least the policy's minimum of backups kept.
    fn count_check(&self, backups: usize) -> BackupCheck {
        if backups < self.options.min_backups {
            check(
                "backup_count",
                BackupStatus::Warn,
                format!(
                    "{backups} backups kept, the policy expects at least {}",
                    self.options.min_backups
                ),
                Some(backups as f64),
            )
        } else {
            check(
                "backup_count",
                BackupStatus::Ok,
                format!("{backups} backups kept"),
                Some(backups as f64),
            )
        }
    }

    fn age_check(
        &self,
        latest: Option<&BackupEntry>,
        failures: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> BackupCheck {
        let warn = self.options.max_age;
        let critical = self.options.critical_age.unwrap_or(warn * 2);
        let Some(latest) = latest else {
            return check(
                "last_backup_age",
                BackupStatus::Critical,
                format!(
                    "no backup of `{}` in {}",
                    self.database,
                    self.store.describe()
                ),
                None,
            );
        };
        let finished = latest
            .manifest
            .as_ref()
            .map_or(latest.started_at, |m| m.finished_at);
        let age = (now - finished).to_std().unwrap_or_default();
        let failed_since = failures.iter().filter(|t| **t > finished).count();
        let failed_note = if failed_since > 0 {
            format!(
                "; {failed_since} backup attempt(s) failed since (see `failures/` in the store)"
            )
        } else {
            String::new()
        };
        let status = if age > critical {
            BackupStatus::Critical
        } else if age > warn || failed_since > 0 {
            BackupStatus::Warn
        } else {
            BackupStatus::Ok
        };
        check(
            "last_backup_age",
            status,
            format!(
                "newest backup {} is {} old (warn after {}, critical after {}){failed_note}",
                latest.id,
                human(age),
                human(warn),
                human(critical)
            ),
            Some(age.as_secs_f64()),
        )
    }

    fn size_check(&self, entries: &[&BackupEntry]) -> BackupCheck {
        let sized: Vec<u64> = entries
            .iter()
            .map(|e| e.manifest.as_ref().map_or(e.size, |m| m.plaintext_size()))
            .collect();
        let Some((&latest, earlier)) = sized.split_last() else {
            return check(
                "backup_size",
                BackupStatus::Ok,
                "no backup to compare".to_string(),
                None,
            );
        };
        let history: Vec<u64> = earlier
            .iter()
            .rev()
            .take(self.options.size_history)
            .copied()
            .collect();
        if history.is_empty() {
            return check(
                "backup_size",
                BackupStatus::Ok,
                "only one backup: nothing to compare with yet".to_string(),
                None,
            );
        }
        let mut sorted = history.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2].max(1);
        let ratio = latest as f64 / median as f64;
        let status = if ratio < self.options.size_drop_ratio {
            BackupStatus::Critical
        } else if ratio > self.options.size_jump_ratio {
            BackupStatus::Warn
        } else {
            BackupStatus::Ok
        };
        let advice = match status {
            BackupStatus::Critical => {
                ": a much smaller dump usually means missing data or a dump of the wrong database"
            }
            BackupStatus::Warn => {
                ": check for runaway growth (logs, audit tables) or duplicated data"
            }
            BackupStatus::Ok => "",
        };
        check(
            "backup_size",
            status,
            format!(
                "newest dump is {latest} bytes, {ratio:.2}x the median {median} of the previous {}{advice}",
                history.len()
            ),
            Some(ratio),
        )
    }

    async fn integrity_check(&self, latest: &BackupEntry) -> BackupCheck {
        let Some(manifest) = &latest.manifest else {
            return self.legacy_integrity_check(latest).await;
        };
        let objects = manifest.objects();
        for object in &objects {
            if let Err(problem) = self.object_problem(object).await {
                return check(
                    "latest_integrity",
                    BackupStatus::Critical,
                    format!("backup {}: {problem}", latest.id),
                    None,
                );
            }
        }
        let what = if self.options.full_verify {
            "size and sha256 match the manifest"
        } else {
            "present with the size the manifest records"
        };
        check(
            "latest_integrity",
            BackupStatus::Ok,
            format!("backup {}: {} object(s) {what}", latest.id, objects.len()),
            None,
        )
    }

    /// A file without a manifest: present, nothing to compare.
    async fn legacy_integrity_check(&self, latest: &BackupEntry) -> BackupCheck {
        match self.store.head(&latest.key).await {
            Ok(Some(head)) => check(
                "latest_integrity",
                BackupStatus::Ok,
                format!(
                    "legacy file `{}` present ({} bytes; no manifest to compare)",
                    latest.key, head.size
                ),
                None,
            ),
            Ok(None) => check(
                "latest_integrity",
                BackupStatus::Critical,
                format!(
                    "legacy file `{}` of backup {} is missing",
                    latest.key, latest.id
                ),
                None,
            ),
            Err(e) => check(
                "latest_integrity",
                BackupStatus::Critical,
                crate::error::report(&e),
                None,
            ),
        }
    }

    /// What is wrong with one stored object: missing, another size, or (full verify) another hash.
    async fn object_problem(&self, object: &StoredObject) -> std::result::Result<(), String> {
        let head = match self.store.head(&object.key).await {
            Ok(Some(head)) => head,
            Ok(None) => return Err(format!("object `{}` is missing", object.key)),
            Err(e) => return Err(crate::error::report(&e)),
        };
        if head.size != object.size {
            return Err(format!(
                "`{}` is {} bytes, its manifest says {}",
                object.key, head.size, object.size
            ));
        }
        if !self.options.full_verify {
            return Ok(());
        }
        match stored_sha256(&self.store, &object.key).await {
            Ok(sha) if sha == object.sha256 => Ok(()),
            Ok(sha) => Err(format!(
                "`{}` has sha256 {sha}, its manifest says {}",
                object.key, object.sha256
            )),
            Err(e) => Err(crate::error::report(&e)),
        }
    }

    async fn restore_test_check(&self, max: Duration, now: DateTime<Utc>) -> BackupCheck {
        match crate::catalog::last_restore_test(&self.store, &self.database).await {
            Ok(Some(test)) => {
                let age = (now - test.tested_at).to_std().unwrap_or_default();
                let status = if age > max {
                    BackupStatus::Warn
                } else {
                    BackupStatus::Ok
                };
                check(
                    "restore_test_age",
                    status,
                    format!(
                        "last restore test ({}) passed {} ago (warn after {})",
                        test.backup_id,
                        human(age),
                        human(max)
                    ),
                    Some(age.as_secs_f64()),
                )
            }
            Ok(None) => check(
                "restore_test_age",
                BackupStatus::Warn,
                "no restore test recorded: run `dbops backup verify --restore-test`".to_string(),
                None,
            ),
            Err(e) => check(
                "restore_test_age",
                BackupStatus::Warn,
                crate::error::report(&e),
                None,
            ),
        }
    }

    async fn wal_check(&self, url: &DatabaseUrl) -> Option<BackupCheck> {
        let client = match url.connect().await {
            Ok(c) => c,
            Err(e) => {
                return Some(check(
                    "wal_archive",
                    BackupStatus::Critical,
                    format!("cannot reach the server: {}", crate::error::report(&e)),
                    None,
                ));
            }
        };
        let row = client
            .query_one(
                "SELECT current_setting('archive_mode'), archived_count, last_archived_wal, \
                 extract(epoch FROM now() - last_archived_time)::float8, failed_count, last_failed_wal, \
                 coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) FROM pg_stat_archiver",
                &[],
            )
            .await
            .ok()?;
        let mode: String = row.get(0);
        if mode == "off" {
            return None;
        }
        let last_wal: Option<String> = row.get(2);
        let age: Option<f64> = row.get(3);
        let failed: i64 = row.get(4);
        let failed_wal: Option<String> = row.get(5);
        let failing_now: bool = row.get(6);
        if failing_now {
            return Some(check(
                "wal_archive",
                BackupStatus::Critical,
                format!(
                    "archive_command is failing (last failure on {}, {failed} failures in all): WAL piles up in pg_wal; check `dbops wal push` logs and the store",
                    failed_wal.unwrap_or_default()
                ),
                age,
            ));
        }
        Some(match (last_wal, age) {
            (Some(wal), Some(age)) if age > self.options.max_wal_age.as_secs_f64() => check(
                "wal_archive",
                BackupStatus::Warn,
                format!(
                    "last archived segment {wal} is {} old (warn after {})",
                    human(crate::config::elapsed_secs(age)),
                    human(self.options.max_wal_age)
                ),
                Some(age),
            ),
            (Some(wal), Some(age)) => check(
                "wal_archive",
                BackupStatus::Ok,
                format!(
                    "last archived segment {wal}, {} ago",
                    human(crate::config::elapsed_secs(age))
                ),
                Some(age),
            ),
            _ => check(
                "wal_archive",
                BackupStatus::Warn,
                "archive_mode is on but nothing was archived yet".to_string(),
                None,
            ),
        })
    }
}

/// What a store's catalog holds for the report: the newest valid backup, backups kept and failed
/// attempts recorded (all empty when the catalog cannot be read).
#[derive(Default)]
struct CatalogSummary {
    latest: Option<LatestBackup>,
    backups: usize,
    failures: usize,
}

/// The facts of the newest backup, for metrics.
fn latest_backup_facts(latest: &BackupEntry) -> LatestBackup {
    LatestBackup {
        id: latest.id.clone(),
        finished_at: latest
            .manifest
            .as_ref()
            .map_or(latest.started_at, |m| m.finished_at),
        size: latest.size,
        duration_secs: latest
            .manifest
            .as_ref()
            .map_or(0.0, super::Manifest::duration_secs),
    }
}

/// `catalog`: every manifest readable with its data, and no orphaned data objects older than a day.
fn catalog_check(catalog: &Catalog, now: DateTime<Utc>) -> BackupCheck {
    let grace = chrono::Duration::hours(24);
    let old_orphans = catalog
        .orphans
        .iter()
        .filter(|o| now - o.last_modified > grace)
        .count();
    if !catalog.problems.is_empty() || old_orphans > 0 {
        let mut reasons: Vec<String> = catalog
            .problems
            .iter()
            .map(|(k, p)| format!("{}: {p}", crate::storage::printable_key(k)))
            .collect();
        if old_orphans > 0 {
            reasons.push(format!(
                "{old_orphans} orphaned data objects older than a day (run `dbops backup prune`)"
            ));
        }
        check(
            "catalog",
            BackupStatus::Warn,
            reasons.join("; "),
            Some((catalog.problems.len() + old_orphans) as f64),
        )
    } else {
        check(
            "catalog",
            BackupStatus::Ok,
            "every manifest is readable and has its data".to_string(),
            Some(0.0),
        )
    }
}

fn check(name: &str, status: BackupStatus, reason: String, value: Option<f64>) -> BackupCheck {
    BackupCheck {
        name: name.into(),
        status,
        reason,
        value,
    }
}

/// Downloads an object and returns its sha256 (hex).
pub(crate) async fn stored_sha256(store: &dyn BackupStore, key: &str) -> Result<String> {
    let (_, mut stream) = store.get_stream(key).await?;
    let mut hasher = Sha256::new();
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk?);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// `3d 4h`, `26h`, `5m 3s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..259_200 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}
