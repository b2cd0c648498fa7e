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
/// Checks the backups of ``database`` in ``store``: reachability, the newest backup's age and
/// integrity, size changes, count, catalog problems, the last restore test and (with ``server``)
/// WAL archiving. A threshold left at None is the library's default (``BackupHealthLimits``).
///
/// A store that cannot be reached is a critical check in the report, not an exception.
///
/// Args:
///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
///     database: the database name the backups are of.
///     max_age_hours: warn when the newest backup is older (default 26).
///     critical_age_hours: critical when older (default 52).
///     size_drop_ratio: critical when the newest backup is smaller than this share of the previous
///         one.
///     size_jump_ratio: warn when it is larger than this multiple.
///     min_backups: warn with fewer backups.
///     max_restore_test_age_days: warn when the last restore test is older.
///     full: also read the newest backup whole and check every hash.
///     server: a server URL whose WAL archiving is checked too.
///     max_wal_age_minutes: warn when nothing was archived for longer.
///     store_options: the store client's settings (keys of the object store builders, e.g.
///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
///         variables, never from here.
///
/// Returns:
///     BackupHealthReport: ``status`` (``ok``, ``warn`` or ``critical``) and one ``HealthCheck``
///         per check with its reason.
///
/// Raises:
///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
///     DatabaseError: ``server`` was given and cannot be queried.
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
/// Sends alerts for a ``backup_health`` report when its state changed since the last notification
/// (or a reminder is due); the notification state is kept in the store.
///
/// Args:
///     report: the ``BackupHealthReport`` of ``backup_health``.
///     store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
///         ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
///     slack_webhook: a Slack incoming-webhook URL.
///     webhook: a URL that receives the report as JSON.
///     smtp: e-mail settings: ``host``, ``port``, ``security`` (``starttls``, ``tls``, ``none``),
///         ``username``, ``password`` (or ``password_file``; else ``DBOPS_SMTP_PASSWORD``),
///         ``from``, ``to`` (a list).
///     remind_hours: repeat an unchanged non-ok state after this many hours (None: 24, 0: never).
///     store_options: the store client's settings (keys of the object store builders, e.g.
///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
///         variables, never from here.
///
/// Returns:
///     AlertOutcome: whether the state changed, what was sent and each channel's ``Delivery`` (a
///         failed delivery is reported there, not raised).
///
/// Raises:
///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
///         transient, ...).
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

/// Renders ``backup_health`` reports as Prometheus text (for a node exporter's textfile collector).
///
/// Args:
///     reports: one ``BackupHealthReport`` or a list of them.
///
/// Returns:
///     str: the exposition text, one set of gauges per report.
///
/// Raises:
///     ConfigError: a report is not a ``BackupHealthReport``.
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
