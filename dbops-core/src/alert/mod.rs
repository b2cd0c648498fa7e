//! Alerts on backup health: a Slack-compatible webhook, email over SMTP and a generic JSON webhook,
//! sent only when the state changes (and as a reminder while it stays bad), plus Prometheus metrics.
//!
//! The last notified state lives in the store (`<database>/health/alert-state.json`), so a CronJob with
//! no persistent disk still alerts once per change. Delivery failures are returned, never swallowed,
//! and never change the health result. Webhook URLs and SMTP passwords never appear in errors or logs.

pub mod metrics;
mod settings;
mod smtp;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use settings::{AlertSettings, DEFAULT_SMTP_FROM, SMTP_PASSWORD_ENV, SmtpSettings};
pub use smtp::{EmailConfig, SmtpSecurity};

use crate::backup::{BackupHealthReport, BackupStatus, manifest_folder};
use crate::error::{Error, Result};
use crate::storage::BackupStore;

/// A secret string (webhook URL, password): `Debug` and `Display` never show it.
#[derive(Clone, Default)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::from(value.into()))
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where and when to send alerts. Every field has a documented default.
#[derive(Debug, Clone)]
pub struct AlertConfig {
    /// Slack (or compatible: Mattermost, Rocket.Chat) incoming-webhook URL. Default: none.
    pub slack_webhook: Option<Secret>,
    /// Generic webhook: receives the whole report as JSON. Default: none.
    pub webhook: Option<Secret>,
    /// Email over SMTP. Default: none.
    pub email: Option<EmailConfig>,
    /// While the state stays warn or critical, send a reminder this often. Default: 24 h; `None` never.
    pub reminder: Option<Duration>,
    /// Deadline of each delivery. Default: 10 s.
    pub timeout: Duration,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            slack_webhook: None,
            webhook: None,
            email: None,
            reminder: Some(Duration::from_secs(24 * 3600)),
            timeout: Duration::from_secs(10),
        }
    }
}

impl AlertConfig {
    /// Whether any channel is configured.
    pub fn has_channels(&self) -> bool {
        self.slack_webhook.is_some() || self.webhook.is_some() || self.email.is_some()
    }
}

/// One channel's delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `slack`, `webhook` or `email`.
    pub channel: String,
    /// Whether the channel accepted the alert.
    pub delivered: bool,
    /// Why not (secrets removed).
    pub error: Option<String>,
}

/// What the alerting step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertOutcome {
    /// Whether an alert was sent (to at least one channel).
    pub sent: bool,
    /// Why it was or was not: `state changed from ok to critical`, `reminder`, `unchanged`.
    pub reason: String,
    /// Per-channel results.
    pub deliveries: Vec<Delivery>,
}

impl AlertOutcome {
    /// Whether some channel failed.
    pub fn failed(&self) -> bool {
        self.deliveries.iter().any(|d| !d.delivered)
    }
}

/// The last notified state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AlertState {
    status: BackupStatus,
    failing: Vec<String>,
    notified_at: DateTime<Utc>,
}

fn state_key(database: &str) -> String {
    format!("{}/health/alert-state.json", manifest_folder(database))
}

fn failing_checks(report: &BackupHealthReport) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| c.status > BackupStatus::Ok)
        .map(|c| format!("{}={}", c.name, c.status))
        .collect()
}

/// Sends alerts for `report` if its state differs from the last notified one (or a reminder is due),
/// through every configured channel, and records the new state in `store`.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use dbops::ObjectBackupStore;
/// use dbops::alert::{AlertConfig, Secret, notify};
/// use dbops::backup::{BackupHealth, BackupHealthOptions};
///
/// let store = ObjectBackupStore::open("s3://backups/prod")?;
/// let health = BackupHealth::new(store.clone(), "orders", BackupHealthOptions::default());
/// let report = health.run().await;
/// let mut config = AlertConfig::default();
/// // The whole report, as JSON, to this URL (a `Secret`: never printed).
/// config.webhook = Some(Secret::new("https://alerts.example.com/hooks/backups"));
/// // Run it on a schedule: it sends only when the state changed (or a reminder is due).
/// let outcome = notify(&report, &store, &config).await?;
/// println!("sent: {} ({})", outcome.sent, outcome.reason);
/// # Ok(()) }
/// ```
pub async fn notify(
    report: &BackupHealthReport,
    store: &dyn BackupStore,
    config: &AlertConfig,
) -> Result<AlertOutcome> {
    let key = state_key(&report.database);
    let previous: Option<AlertState> = match store.head(&key).await? {
        Some(_) => serde_json::from_slice(&store.get(&key).await?).ok(),
        None => None,
    };
    let failing = failing_checks(report);
    let now = Utc::now();
    let reason = match &previous {
        None if report.status == BackupStatus::Ok => None,
        None => Some(format!("state is {}", report.status)),
        Some(prev) if prev.status != report.status => Some(format!(
            "state changed from {} to {}",
            prev.status, report.status
        )),
        Some(prev) if prev.failing != failing => {
            Some(format!("failing checks changed ({})", failing.join(", ")))
        }
        Some(prev) => match config.reminder {
            Some(every)
                if report.status > BackupStatus::Ok
                    && (now - prev.notified_at).to_std().unwrap_or_default() >= every =>
            {
                Some(format!(
                    "reminder: still {} since {}",
                    report.status,
                    prev.notified_at.to_rfc3339()
                ))
            }
            _ => None,
        },
    };
    let Some(reason) = reason else {
        return Ok(AlertOutcome {
            sent: false,
            reason: "unchanged".into(),
            deliveries: Vec::new(),
        });
    };
    let deliveries = deliver(report, &reason, config).await;
    let sent = deliveries.iter().any(|d| d.delivered);
    // Record the state only when someone was told, so a failed delivery is retried next run.
    if sent || !config.has_channels() {
        let state = AlertState {
            status: report.status,
            failing,
            notified_at: now,
        };
        let body =
            serde_json::to_vec(&state).map_err(|e| Error::config("alert state", e.to_string()))?;
        store.put(&key, Bytes::from(body)).await?;
    }
    Ok(AlertOutcome {
        sent,
        reason,
        deliveries,
    })
}

/// The subject line and the text body of an alert.
pub fn render(report: &BackupHealthReport, reason: &str) -> (String, String) {
    let subject = format!(
        "[dbops] backup health of {}: {}",
        report.database,
        report.status.to_string().to_uppercase()
    );
    let mut body = format!(
        "{}\nstore: {}\nchecked at: {}\nwhy you get this: {reason}\n\n",
        report.summary(),
        report.store,
        report.checked_at.to_rfc3339()
    );
    for c in &report.checks {
        body.push_str(&format!(
            "[{}] {}: {}\n",
            c.status.to_string().to_uppercase(),
            c.name,
            c.reason
        ));
    }
    body.push_str(
        "\nRunbook: see \"A backup health alert\" in the dbops guide (Runbooks) for each check.\n",
    );
    (subject, body)
}

async fn deliver(report: &BackupHealthReport, reason: &str, config: &AlertConfig) -> Vec<Delivery> {
    let (subject, body) = render(report, reason);
    let mut out = Vec::new();
    crate::config::tls::ensure_default_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(config.timeout)
        .build()
        .map_err(|e| e.without_url().to_string());
    if let Some(url) = &config.slack_webhook {
        let payload = serde_json::json!({
            "text": format!("*{subject}*\n```{body}```"),
        });
        out.push(post("slack", &client, url, &payload).await);
    }
    if let Some(url) = &config.webhook {
        let payload = serde_json::json!({
            "event": "dbops.backup_health",
            "subject": subject,
            "reason": reason,
            "report": report,
        });
        out.push(post("webhook", &client, url, &payload).await);
    }
    if let Some(email) = &config.email {
        out.push(
            match smtp::send(email, &subject, &body, config.timeout).await {
                Ok(()) => Delivery {
                    channel: "email".into(),
                    delivered: true,
                    error: None,
                },
                Err(e) => Delivery {
                    channel: "email".into(),
                    delivered: false,
                    error: Some(e),
                },
            },
        );
    }
    out
}

/// `https://hooks.slack.com/***`: enough to know where, nothing secret.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!("{}://{}/***", u.scheme(), u.host_str().unwrap_or("?")),
        Err(_) => "<invalid url>".into(),
    }
}

async fn post(
    channel: &str,
    client: &Result<reqwest::Client, String>,
    url: &Secret,
    payload: &serde_json::Value,
) -> Delivery {
    let shown = redact_url(url.expose());
    let result = match client {
        Ok(client) => client.post(url.expose()).json(payload).send().await,
        Err(e) => {
            return Delivery {
                channel: channel.into(),
                delivered: false,
                error: Some(format!("could not build the HTTP client: {e}")),
            };
        }
    };
    let error = match result {
        Ok(response) if response.status().is_success() => None,
        Ok(response) => Some(format!("{shown} answered {}", response.status())),
        Err(e) => Some(format!(
            "posting to {shown} failed: {}",
            crate::error::report(&e.without_url())
        )),
    };
    Delivery {
        channel: channel.into(),
        delivered: error.is_none(),
        error,
    }
}
