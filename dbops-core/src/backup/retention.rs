//! Retention: which backups to keep (last N, within a period, grandfather-father-son) and deleting the
//! rest safely. The newest valid backup is never deleted.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::BackupCatalog;
use crate::catalog::BackupEntry;
use crate::error::{Error, Result};
use crate::storage::{BackupStore, ObjectInfo};

/// What to keep. A backup is kept when any rule keeps it. Every field defaults to "rule not used".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Keep the newest N backups.
    pub keep_last: Option<usize>,
    /// Keep every backup younger than this many days.
    pub keep_within_days: Option<u32>,
    /// Keep the newest backup of each of the last N days that have one.
    pub keep_daily: Option<usize>,
    /// Keep the newest backup of each of the last N ISO weeks that have one.
    pub keep_weekly: Option<usize>,
    /// Keep the newest backup of each of the last N months that have one.
    pub keep_monthly: Option<usize>,
    /// Keep the newest backup of each of the last N years that have one.
    pub keep_yearly: Option<usize>,
    /// Delete orphaned data objects (no manifest) older than this many hours. Default: 24.
    pub orphan_grace_hours: Option<u32>,
}

crate::setters::with_setters!(RetentionPolicy {
    with_keep_last => keep_last: opt usize,
    with_keep_within_days => keep_within_days: opt u32,
    with_keep_daily => keep_daily: opt usize,
    with_keep_weekly => keep_weekly: opt usize,
    with_keep_monthly => keep_monthly: opt usize,
    with_keep_yearly => keep_yearly: opt usize,
    with_orphan_grace_hours => orphan_grace_hours: opt u32,
});

impl RetentionPolicy {
    fn has_rule(&self) -> bool {
        self.keep_last.is_some()
            || self.keep_within_days.is_some()
            || self.keep_daily.is_some()
            || self.keep_weekly.is_some()
            || self.keep_monthly.is_some()
            || self.keep_yearly.is_some()
    }
}

/// One backup the plan keeps, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    /// The backup.
    pub backup: BackupEntry,
    /// The rules that keep it, e.g. `last 7`, `daily 3`, `newest`.
    pub reasons: Vec<String>,
}

/// What retention will do (or did) for one database.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionPlan {
    /// The database.
    pub database: String,
    /// Backups kept, newest first.
    pub keep: Vec<Kept>,
    /// Backups to delete, newest first.
    pub delete: Vec<BackupEntry>,
    /// Orphaned objects to delete.
    pub orphans: Vec<ObjectInfo>,
    /// Objects the catalog could not read or does not understand (key and reason): never deleted.
    pub problems: Vec<(String, String)>,
    /// Whether the deletions were carried out.
    pub applied: bool,
}

/// Computes the plan for `backups` (one database, any order) at time `now`.
pub fn plan(
    database: &str,
    backups: &[BackupEntry],
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<RetentionPlan> {
    if !policy.has_rule() {
        return Err(Error::config(
            "retention policy",
            "no rule given (keep-last, keep-within, keep-daily/weekly/monthly/yearly); refusing to plan \
             the deletion of every backup",
        ));
    }
    let mut newest_first: Vec<&BackupEntry> = backups.iter().collect();
    newest_first.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    let mut reasons: Vec<Vec<String>> = vec![Vec::new(); newest_first.len()];
    if let Some(newest_valid) = newest_first
        .iter()
        .position(|b| !b.is_legacy())
        .or((!newest_first.is_empty()).then_some(0))
    {
        reasons[newest_valid].push("newest".into());
    }
    if let Some(n) = policy.keep_last {
        for r in reasons.iter_mut().take(n) {
            r.push(format!("last {n}"));
        }
    }
    if let Some(days) = policy.keep_within_days {
        let cutoff = now - chrono::Duration::days(i64::from(days));
        for (b, r) in newest_first.iter().zip(reasons.iter_mut()) {
            if b.started_at >= cutoff {
                r.push(format!("within {days}d"));
            }
        }
    }
    let mut bucketed =
        |count: Option<usize>, label: &str, bucket: &dyn Fn(DateTime<Utc>) -> (i32, u32)| {
            let Some(n) = count else { return };
            let mut seen = BTreeSet::new();
            for (b, r) in newest_first.iter().zip(reasons.iter_mut()) {
                if seen.len() >= n {
                    break;
                }
                if seen.insert(bucket(b.started_at)) {
                    r.push(format!("{label} {n}"));
                }
            }
        };
    bucketed(policy.keep_daily, "daily", &|t| (t.year(), t.ordinal()));
    bucketed(policy.keep_weekly, "weekly", &|t| {
        let w = t.iso_week();
        (w.year(), w.week())
    });
    bucketed(policy.keep_monthly, "monthly", &|t| (t.year(), t.month()));
    bucketed(policy.keep_yearly, "yearly", &|t| (t.year(), 0));
    let mut keep = Vec::new();
    let mut delete = Vec::new();
    for (b, r) in newest_first.into_iter().zip(reasons) {
        if r.is_empty() {
            delete.push(b.clone());
        } else {
            keep.push(Kept {
                backup: b.clone(),
                reasons: r,
            });
        }
    }
    Ok(RetentionPlan {
        database: database.to_string(),
        keep,
        delete,
        orphans: Vec::new(),
        problems: Vec::new(),
        applied: false,
    })
}

/// Plans retention for `database` in `store` and, when `apply` is true, deletes what the plan says:
/// each backup's manifest before its data, then orphaned objects older than the grace period.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use dbops::ObjectBackupStore;
/// use dbops::backup::{RetentionPolicy, apply_retention};
///
/// let store = ObjectBackupStore::open("s3://backups/prod")?;
/// // A week of daily backups and a month of weekly ones; the newest valid one is always kept.
/// let policy = RetentionPolicy::default().with_keep_daily(7).with_keep_weekly(4);
/// let plan = apply_retention(&store, "orders", &policy, false).await?; // `false`: a dry run
/// for backup in &plan.delete {
///     println!("would delete {}", backup.id);
/// }
/// apply_retention(&store, "orders", &policy, true).await?;
/// # Ok(()) }
/// ```
pub async fn apply_retention(
    store: &dyn BackupStore,
    database: &str,
    policy: &RetentionPolicy,
    apply: bool,
) -> Result<RetentionPlan> {
    let catalog = store.catalog(Some(database)).await?;
    let backups: Vec<BackupEntry> = catalog.of_database(database).cloned().collect();
    let now = Utc::now();
    let mut plan = plan(database, &backups, policy, now)?;
    let grace = chrono::Duration::hours(i64::from(policy.orphan_grace_hours.unwrap_or(24)));
    plan.orphans = catalog
        .orphans
        .into_iter()
        .filter(|o| now - o.last_modified >= grace)
        .collect();
    plan.problems = catalog.problems;
    if apply {
        for backup in &plan.delete {
            store.delete_backup(backup).await?;
        }
        for orphan in &plan.orphans {
            store.delete(&orphan.key).await?;
        }
        plan.applied = true;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: &str) -> BackupEntry {
        BackupEntry {
            id: at.into(),
            database: "app".into(),
            started_at: DateTime::parse_from_rfc3339(at).unwrap().to_utc(),
            size: 1,
            key: format!("app/{at}"),
            manifest: None,
        }
    }

    fn kept(plan: &RetentionPlan) -> Vec<&str> {
        plan.keep.iter().map(|k| k.backup.id.as_str()).collect()
    }

    #[test]
    fn keep_last_keeps_the_newest() {
        let backups: Vec<_> = (1..=5)
            .map(|d| entry(&format!("2024-01-0{d}T00:00:00Z")))
            .collect();
        let policy = RetentionPolicy {
            keep_last: Some(2),
            ..Default::default()
        };
        let p = plan("app", &backups, &policy, Utc::now()).unwrap();
        assert_eq!(kept(&p), ["2024-01-05T00:00:00Z", "2024-01-04T00:00:00Z"]);
        assert_eq!(p.delete.len(), 3);
    }

    #[test]
    fn no_rule_is_refused() {
        assert!(plan("app", &[], &RetentionPolicy::default(), Utc::now()).is_err());
    }

    #[test]
    fn newest_is_kept_even_when_every_rule_misses_it() {
        let backups = vec![entry("2020-01-01T00:00:00Z"), entry("2020-02-01T00:00:00Z")];
        let policy = RetentionPolicy {
            keep_within_days: Some(1),
            ..Default::default()
        };
        let p = plan("app", &backups, &policy, Utc::now()).unwrap();
        assert_eq!(kept(&p), ["2020-02-01T00:00:00Z"]);
        assert_eq!(p.keep[0].reasons, ["newest"]);
    }

    #[test]
    fn gfs_keeps_one_per_period_across_year_and_week_edges() {
        // Two a day over 2023-12-25 .. 2024-01-10.
        let mut backups = Vec::new();
        let start = DateTime::parse_from_rfc3339("2023-12-25T01:00:00Z")
            .unwrap()
            .to_utc();
        for i in 0..34 {
            let at = start + chrono::Duration::hours(12 * i);
            backups.push(entry(
                &at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ));
        }
        let policy = RetentionPolicy {
            keep_daily: Some(3),
            keep_weekly: Some(2),
            keep_monthly: Some(2),
            keep_yearly: Some(2),
            ..Default::default()
        };
        let p = plan("app", &backups, &policy, Utc::now()).unwrap();
        let ids = kept(&p);
        // Daily: the newest of 01-10, 01-09, 01-08.
        assert!(ids.contains(&"2024-01-10T13:00:00Z") && ids.contains(&"2024-01-09T13:00:00Z"));
        assert!(ids.contains(&"2024-01-08T13:00:00Z"));
        // Weekly: ISO week 2024-W01 ends Sunday 01-07; its newest is 01-07T13.
        assert!(ids.contains(&"2024-01-07T13:00:00Z"));
        // Monthly/yearly: December 2023's newest is 12-31T13.
        assert!(ids.contains(&"2023-12-31T13:00:00Z"));
        assert_eq!(ids.len(), 5, "{ids:?}");
        assert_eq!(p.keep.len() + p.delete.len(), backups.len());
    }
}
