//! `dbops.backup_health`, `dbops.send_alerts` (each with an `_async` form), `dbops.backup_metrics`.

use std::collections::BTreeMap;

use dbops::DatabaseUrl;
use dbops::alert::{AlertConfig, EmailConfig, Secret, SmtpSecurity, metrics, notify};
use dbops::backup::{BackupHealth, BackupHealthOptions, BackupHealthReport};
use dbops::config::{TimeUnit, duration_from};
use pyo3::prelude::*;

use crate::convert::from_py;
use crate::convert::to_py_attached as json;
use crate::errors::to_py as err;
use crate::runtime::operation;

operation! {
/// Checks the backups of `database` in `store`; returns the `BackupHealthReport` (`status`: ok, warn
/// or critical).
#[pyo3(signature = (store, database, *, max_age_hours=26.0, critical_age_hours=None, size_drop_ratio=0.5, size_jump_ratio=2.0, min_backups=1, max_restore_test_age_days=8.0, full=false, server=None, max_wal_age_minutes=60.0, store_options=None))]
fn backup_health / backup_health_async(
    py,
    store: &str,
    database: String,
    max_age_hours: f64,
    critical_age_hours: Option<f64>,
    size_drop_ratio: f64,
    size_jump_ratio: f64,
    min_backups: usize,
    max_restore_test_age_days: f64,
    full: bool,
    server: Option<String>,
    max_wal_age_minutes: f64,
    store_options: Option<BTreeMap<String, String>>,
) -> Py<PyAny> {
    let store = crate::backup::open_store(store, store_options)?;
    let hours = |what: &str, h: f64| duration_from(what, h, TimeUnit::Hours).map_err(err);
    let options = BackupHealthOptions {
        max_age: hours("max_age_hours", max_age_hours)?,
        critical_age: critical_age_hours
            .map(|h| hours("critical_age_hours", h))
            .transpose()?,
        size_drop_ratio,
        size_jump_ratio,
        min_backups,
        max_restore_test_age: (max_restore_test_age_days > 0.0)
            .then(|| hours("max_restore_test_age_days", max_restore_test_age_days * 24.0))
            .transpose()?,
        full_verify: full,
        max_wal_age: duration_from("max_wal_age_minutes", max_wal_age_minutes, TimeUnit::Minutes)
            .map_err(err)?,
        ..BackupHealthOptions::default()
    };
    let mut checker = BackupHealth::new(store, database, options);
    if let Some(url) = server {
        checker = checker.with_server(DatabaseUrl::parse(&url).map_err(err)?);
    }
    async move { json(&checker.run().await) }
}
}

operation! {
/// Sends alerts for a `backup_health` report if its state changed since the last notification (or a
/// reminder is due). `smtp` keys: host, port, security ('starttls', 'tls', 'none'), username, password,
/// from, to (list). Returns the `AlertOutcome`: what was sent and each channel's delivery.
#[pyo3(signature = (report, store, *, slack_webhook=None, webhook=None, smtp=None, remind_hours=24.0, store_options=None))]
fn send_alerts / send_alerts_async(
    py,
    report: &Bound<'_, PyAny>,
    store: &str,
    slack_webhook: Option<String>,
    webhook: Option<String>,
    smtp: Option<BTreeMap<String, Py<PyAny>>>,
    remind_hours: f64,
    store_options: Option<BTreeMap<String, String>>,
) -> Py<PyAny> {
    let report: BackupHealthReport = from_py(report, "backup health report")?;
    let store = crate::backup::open_store(store, store_options)?;
    let email = match smtp {
        None => None,
        Some(map) => {
            let get = |k: &str| -> PyResult<Option<String>> {
                map.get(k)
                    .map(|v| v.bind(py).str().map(|s| s.to_string()))
                    .transpose()
            };
            let to: Vec<String> = match map.get("to") {
                Some(v) => v.bind(py).extract()?,
                None => Vec::new(),
            };
            Some(EmailConfig {
                host: get("host")?
                    .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("smtp needs 'host'"))?,
                port: get("port")?.map(|p| p.parse()).transpose().map_err(|e| {
                    pyo3::exceptions::PyValueError::new_err(format!("smtp port: {e}"))
                })?,
                security: match get("security")?.as_deref() {
                    None | Some("starttls") => SmtpSecurity::StartTls,
                    Some("tls") => SmtpSecurity::Tls,
                    Some("none") => SmtpSecurity::None,
                    Some(other) => {
                        return Err(pyo3::exceptions::PyValueError::new_err(format!(
                            "smtp security {other:?}: expected starttls, tls or none"
                        )));
                    }
                },
                username: get("username")?,
                password: get("password")?.map(Secret::new),
                from: get("from")?.unwrap_or_else(|| "dbops@localhost".into()),
                to,
            })
        }
    };
    let config = AlertConfig {
        slack_webhook: slack_webhook.map(Secret::new),
        webhook: webhook.map(Secret::new),
        email,
        reminder: (remind_hours > 0.0)
            .then(|| duration_from("remind_hours", remind_hours, TimeUnit::Hours))
            .transpose()
            .map_err(err)?,
        ..AlertConfig::default()
    };
    async move { json(&notify(&report, &store, &config).await?) }
}
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
