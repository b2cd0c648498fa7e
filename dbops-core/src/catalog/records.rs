//! What a store records besides backups: failed backup attempts (for health checks and failure
//! counters) and the results of restore tests (how long ago a backup was last proven restorable).

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::manifest::database_folder;
use crate::error::{Error, Result};
use crate::storage::BackupStore;

/// Records a failed backup attempt as `<database>/failures/<time>.json` (best effort).
pub(crate) async fn record_failure(store: &dyn BackupStore, database: &str, error: &str) {
    let at = Utc::now();
    let key = format!(
        "{}/failures/{}.json",
        database_folder(database),
        at.format("%Y-%m-%dT%H%M%S%.3fZ")
    );
    let body = serde_json::json!({ "failed_at": at, "error": error });
    if let Err(e) = store.put(&key, Bytes::from(body.to_string())).await {
        tracing::warn!(error = %e, "could not record the failed backup attempt");
    }
}

/// Times of the recorded failed attempts of `database`, oldest first.
pub async fn failures(store: &dyn BackupStore, database: &str) -> Result<Vec<DateTime<Utc>>> {
    let folder = format!("{}/failures", database_folder(database));
    let mut times: Vec<DateTime<Utc>> = store
        .list(&folder)
        .await?
        .iter()
        .filter_map(|o| {
            let name = o.key.rsplit('/').next()?.strip_suffix(".json")?;
            chrono::NaiveDateTime::parse_from_str(name, "%Y-%m-%dT%H%M%S%.3fZ")
                .ok()
                .map(|t| t.and_utc())
        })
        .collect();
    times.sort();
    Ok(times)
}

/// The outcome of a restore test, also stored as `<database>/restore-tests/<time>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RestoreTestReport {
    /// The backup restored.
    pub backup_id: String,
    /// The database the backup was taken of.
    pub database: String,
    /// Where it was restored: `embedded` or the server's redacted URL.
    pub server: String,
    /// Tables whose row counts matched the manifest.
    pub tables_checked: usize,
    /// `pg_amcheck` result: `ok`, or why it did not run.
    pub amcheck: String,
    /// When the test finished.
    pub tested_at: DateTime<Utc>,
    /// Wall time in seconds.
    pub elapsed_secs: f64,
}

/// Records `report` as `<database>/restore-tests/<time>.json`.
pub(crate) async fn record_restore_test(
    store: &dyn BackupStore,
    report: &RestoreTestReport,
) -> Result<()> {
    let key = format!(
        "{}/restore-tests/{}.json",
        database_folder(&report.database),
        report.tested_at.format("%Y-%m-%dT%H%M%S%.3fZ")
    );
    let body = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::config("restore test report", e.to_string()))?;
    store.put(&key, Bytes::from(body)).await
}

/// The newest recorded restore test of `database`, if any.
pub async fn last_restore_test(
    store: &dyn BackupStore,
    database: &str,
) -> Result<Option<RestoreTestReport>> {
    let folder = format!("{}/restore-tests", database_folder(database));
    let objects = store.list(&folder).await?;
    let Some(newest) = objects
        .iter()
        .filter(|o| o.key.ends_with(".json"))
        .max_by(|a, b| a.key.cmp(&b.key))
    else {
        return Ok(None);
    };
    let bytes = store.get(&newest.key).await?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Integrity {
            key: newest.key.clone(),
            reason: format!("the restore test record is not valid: {e}"),
        })
}
