//! `dbops.backup_health`, `dbops.send_alerts` (each with an `_async` form), `dbops.backup_metrics`.

use std::collections::BTreeMap;

use dbops::DatabaseUrl;
use dbops::alert::{AlertSettings, SmtpSettings, metrics, notify};
use dbops::backup::{BackupHealth, BackupHealthLimits, BackupHealthReport};
use pyo3::prelude::*;

use crate::convert::from_py;
use crate::convert::to_py_attached as json;
use crate::errors::to_py as err;
use crate::runtime::operation;

operation! {
/// Checks the backups of `database` in `store`; returns the `BackupHealthReport` (`status`: ok, warn
/// or critical). A threshold left at None is the library's default (`BackupHealthLimits`).
#[pyo3(signature = (store, database, *, max_age_hours=None, critical_age_hours=None, size_drop_ratio=None, size_jump_ratio=None, min_backups=None, max_restore_test_age_days=None, full=false, server=None, max_wal_age_minutes=None, store_options=None))]
fn backup_health / backup_health_async(
    py,
    store: &str,
    database: String,
    max_age_hours: Option<f64>,
    critical_age_hours: Option<f64>,
    size_drop_ratio: Option<f64>,
    size_jump_ratio: Option<f64>,
    min_backups: Option<usize>,
    max_restore_test_age_days: Option<f64>,
    full: bool,
    server: Option<String>,
    max_wal_age_minutes: Option<f64>,
    store_options: Option<BTreeMap<String, String>>,
) -> Py<PyAny> {
    let store = crate::backup::open_store(store, store_options)?;
    let defaults = BackupHealthLimits::default();
    let limits = BackupHealthLimits::default()
        .with_max_age_hours(max_age_hours.unwrap_or(defaults.max_age_hours))
        .with_critical_age_hours(critical_age_hours.or(defaults.critical_age_hours))
        .with_size_drop_ratio(size_drop_ratio.unwrap_or(defaults.size_drop_ratio))
        .with_size_jump_ratio(size_jump_ratio.unwrap_or(defaults.size_jump_ratio))
        .with_min_backups(min_backups.unwrap_or(defaults.min_backups))
        .with_max_restore_test_age_days(max_restore_test_age_days
            .unwrap_or(defaults.max_restore_test_age_days))
        .with_full(full)
        .with_max_wal_age_minutes(max_wal_age_minutes.unwrap_or(defaults.max_wal_age_minutes));
    let mut checker = BackupHealth::new(store, database, limits.options().map_err(err)?);
    if let Some(url) = server {
        checker = checker.with_server(DatabaseUrl::parse(&url).map_err(err)?);
    }
    async move { json(&checker.run().await) }
}
}

operation! {
/// Sends alerts for a `backup_health` report if its state changed since the last notification (or a
/// reminder is due). `smtp` keys: host, port, security ('starttls', 'tls', 'none'), username, password
/// (or password_file; else DBOPS_SMTP_PASSWORD), from, to (list). `remind_hours`: None is the
/// library's default (24), 0 never. Returns the `AlertOutcome`: what was sent and each channel's
/// delivery.
#[pyo3(signature = (report, store, *, slack_webhook=None, webhook=None, smtp=None, remind_hours=None, store_options=None))]
fn send_alerts / send_alerts_async(
    py,
    report: &Bound<'_, PyAny>,
    store: &str,
    slack_webhook: Option<String>,
    webhook: Option<String>,
    smtp: Option<BTreeMap<String, Py<PyAny>>>,
    remind_hours: Option<f64>,
    store_options: Option<BTreeMap<String, String>>,
) -> Py<PyAny> {
    let report: BackupHealthReport = from_py(report, "backup health report")?;
    let store = crate::backup::open_store(store, store_options)?;
    let settings = AlertSettings::default()
        .with_slack_webhook(slack_webhook)
        .with_webhook(webhook)
        .with_smtp(smtp.map(|map| smtp_settings(py, &map)).transpose()?)
        .with_remind_hours(remind_hours);
    let config = settings.config().map_err(err)?;
    async move { json(&notify(&report, &store, &config).await?) }
}
}

/// The `smtp` dict of `send_alerts` as the library's `SmtpSettings`.
fn smtp_settings(py: Python<'_>, map: &BTreeMap<String, Py<PyAny>>) -> PyResult<SmtpSettings> {
    let text = |k: &str| -> PyResult<Option<String>> {
        map.get(k)
            .map(|v| v.bind(py).str().map(|s| s.to_string()))
            .transpose()
    };
    let port = match map.get("port") {
        Some(v) => Some(v.bind(py).extract::<u16>()?),
        None => None,
    };
    let to: Vec<String> = match map.get("to") {
        Some(v) => v.bind(py).extract()?,
        None => Vec::new(),
    };
    Ok(SmtpSettings::default()
        .with_host(text("host")?.unwrap_or_default())
        .with_port(port)
        .with_security(text("security")?)
        .with_username(text("username")?)
        .with_password(text("password")?)
        .with_password_file(text("password_file")?.map(Into::into))
        .with_from(text("from")?)
        .with_to(to))
}

/// Prometheus text exposition of one or more `backup_health` reports.
#[pyfunction]
fn backup_metrics(reports: Vec<Bound<'_, PyAny>>) -> PyResult<String> {
    crate::runtime::guard("rendering backup metrics", || {
        let parsed = reports
            .iter()
            .map(|r| from_py::<BackupHealthReport>(r, "backup health report"))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(metrics::render(&parsed))
    })
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(backup_health, m)?)?;
    m.add_function(wrap_pyfunction!(backup_health_async, m)?)?;
    m.add_function(wrap_pyfunction!(send_alerts, m)?)?;
    m.add_function(wrap_pyfunction!(send_alerts_async, m)?)?;
    m.add_function(wrap_pyfunction!(backup_metrics, m)?)
}
