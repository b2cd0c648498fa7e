//! Prometheus text exposition of backup health: for the node-exporter textfile collector
//! (`--metrics-file`) and the `/metrics` route of `dbops health serve --store`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::backup::{BackupHealthReport, BackupStatus};
use crate::error::{Error, Result};

/// Escapes a label value (`\`, `"`, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn status_value(status: BackupStatus) -> f64 {
    f64::from(status.exit_code())
}

/// The metrics of one or more health reports, in Prometheus text format 0.0.4.
pub fn render(reports: &[BackupHealthReport]) -> String {
    let mut out = String::new();
    render_status(&mut out, reports);
    render_latest_backup(&mut out, reports);
    render_store_counts(&mut out, reports);
    out
}

/// Writes one metric family (its help, type and samples) to `out`; nothing when it has no samples.
fn write_family(out: &mut String, name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>) {
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// The `database` label of a report's samples.
fn database_label(r: &BackupHealthReport) -> String {
    format!("database=\"{}\"", label(&r.database))
}

/// The overall status and the status of each check.
fn render_status(out: &mut String, reports: &[BackupHealthReport]) {
    write_family(
        out,
        "dbops_backup_health_status",
        "gauge",
        "worst backup health check: 0 ok, 1 warn, 2 critical",
        reports
            .iter()
            .map(|r| (database_label(r), status_value(r.status)))
            .collect(),
    );
    write_family(
        out,
        "dbops_backup_check_status",
        "gauge",
        "state of each backup health check: 0 ok, 1 warn, 2 critical",
        reports
            .iter()
            .flat_map(|r| {
                r.checks.iter().map(move |c| {
                    (
                        format!("{},check=\"{}\"", database_label(r), label(&c.name)),
                        status_value(c.status),
                    )
                })
            })
            .collect(),
    );
}

/// When the newest valid backup finished, its size and how long it took.
fn render_latest_backup(out: &mut String, reports: &[BackupHealthReport]) {
    write_family(
        out,
        "dbops_backup_last_success_timestamp_seconds",
        "gauge",
        "unix time the newest valid backup finished",
        reports
            .iter()
            .filter_map(|r| {
                r.latest.as_ref().map(|l| {
                    (
                        database_label(r),
                        l.finished_at.timestamp_millis() as f64 / 1000.0,
                    )
                })
            })
            .collect(),
    );
    write_family(
        out,
        "dbops_backup_last_size_bytes",
        "gauge",
        "stored size of the newest valid backup",
        reports
            .iter()
            .filter_map(|r| {
                r.latest
                    .as_ref()
                    .map(|l| (database_label(r), l.size as f64))
            })
            .collect(),
    );
    write_family(
        out,
        "dbops_backup_last_duration_seconds",
        "gauge",
        "how long the newest valid backup took",
        reports
            .iter()
            .filter_map(|r| {
                r.latest
                    .as_ref()
                    .map(|l| (database_label(r), l.duration_secs))
            })
            .collect(),
    );
}

/// Backups kept, failed attempts recorded and the age of the last archived WAL segment.
fn render_store_counts(out: &mut String, reports: &[BackupHealthReport]) {
    write_family(
        out,
        "dbops_backups",
        "gauge",
        "valid backups kept in the store",
        reports
            .iter()
            .map(|r| (database_label(r), r.backups as f64))
            .collect(),
    );
    write_family(
        out,
        "dbops_backup_failures_total",
        "counter",
        "failed backup attempts recorded in the store",
        reports
            .iter()
            .map(|r| (database_label(r), r.failures as f64))
            .collect(),
    );
    write_family(
        out,
        "dbops_wal_archive_age_seconds",
        "gauge",
        "seconds since the last WAL segment was archived",
        reports
            .iter()
            .filter_map(|r| {
                r.check("wal_archive")
                    .and_then(|c| c.value)
                    .map(|v| (database_label(r), v))
            })
            .collect(),
    );
}

/// Writes `text` to `path` atomically (a temporary file in the same directory, then a rename), as the
/// node-exporter textfile collector requires.
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::io("creating the metrics file", dir, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io("writing the metrics file", path, e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    file.persist(path)
        .map_err(|e| Error::io("replacing the metrics file", path, e.error))?;
    Ok(())
}
