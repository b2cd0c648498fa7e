//! Alert channels as people give them (CLI flags, environment variables, Python arguments), checked
//! and turned into an [`AlertConfig`] in one place.

use std::path::PathBuf;

use super::{AlertConfig, EmailConfig, Secret, SmtpSecurity};
use crate::config::{TimeUnit, duration_from};
use crate::error::{Error, Result};

/// The sender address when none is given.
pub const DEFAULT_SMTP_FROM: &str = "dbops@localhost";
/// Environment variable read for the SMTP password when no password or password file is given.
pub const SMTP_PASSWORD_ENV: &str = "DBOPS_SMTP_PASSWORD";

impl std::str::FromStr for SmtpSecurity {
    type Err = Error;

    /// `starttls`, `tls` or `none`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "starttls" => Ok(SmtpSecurity::StartTls),
            "tls" => Ok(SmtpSecurity::Tls),
            "none" => Ok(SmtpSecurity::None),
            other => Err(Error::config(
                "smtp security",
                format!("`{other}` is not starttls, tls or none"),
            )),
        }
    }
}

/// Email settings as given; every field but `host` and `to` is optional.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SmtpSettings {
    /// SMTP host.
    pub host: String,
    /// Port. Default by security: 587, 465, 25.
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    pub security: Option<String>,
    /// Login user.
    pub username: Option<String>,
    /// Login password. Default: the contents of `password_file`, else `DBOPS_SMTP_PASSWORD`.
    pub password: Option<String>,
    /// A file holding the password (trailing newline removed).
    pub password_file: Option<PathBuf>,
    /// Sender address. Default: `dbops@localhost`.
    pub from: Option<String>,
    /// Recipients (at least one).
    pub to: Vec<String>,
}

crate::setters::with_setters!(SmtpSettings {
    with_host => host: into String,
    with_port => port: opt u16,
    with_security => security: opt String,
    with_username => username: opt String,
    with_password => password: opt String,
    with_password_file => password_file: opt PathBuf,
    with_from => from: opt String,
    with_to => to: Vec<String>,
});

/// Alert channels as given. Empty strings count as not given.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AlertSettings {
    /// Slack-compatible incoming webhook URL.
    pub slack_webhook: Option<String>,
    /// Generic webhook URL.
    pub webhook: Option<String>,
    /// Email.
    pub smtp: Option<SmtpSettings>,
    /// Hours between reminders while the state stays bad; 0 never. Default: [`AlertConfig`]'s (24).
    pub remind_hours: Option<f64>,
}

crate::setters::with_setters!(AlertSettings {
    with_slack_webhook => slack_webhook: opt String,
    with_webhook => webhook: opt String,
    with_smtp => smtp: opt SmtpSettings,
    with_remind_hours => remind_hours: opt f64,
});

impl AlertSettings {
    /// The checked configuration: URLs become secrets, the password is read, numbers are checked.
    pub fn config(&self) -> Result<AlertConfig> {
        let secret = |url: &Option<String>| {
            url.clone()
                .filter(|u| !u.trim().is_empty())
                .map(Secret::new)
        };
        let defaults = AlertConfig::default();
        let reminder = match self.remind_hours {
            None => defaults.reminder,
            Some(hours) if hours <= 0.0 => None,
            Some(hours) => Some(duration_from("remind hours", hours, TimeUnit::Hours)?),
        };
        Ok(AlertConfig {
            slack_webhook: secret(&self.slack_webhook),
            webhook: secret(&self.webhook),
            email: self.smtp.as_ref().map(SmtpSettings::config).transpose()?,
            reminder,
            ..defaults
        })
    }
}

impl SmtpSettings {
    /// The checked email configuration.
    pub fn config(&self) -> Result<EmailConfig> {
        if self.host.trim().is_empty() {
            return Err(Error::config("smtp", "no host given"));
        }
        if self.to.iter().all(|t| t.trim().is_empty()) {
            return Err(Error::config(
                "smtp",
                "no recipient given (to: one or more addresses)",
            ));
        }
        Ok(EmailConfig {
            host: self.host.clone(),
            port: self.port,
            security: self
                .security
                .as_deref()
                .map(str::parse)
                .transpose()?
                .unwrap_or_default(),
            username: self.username.clone(),
            password: self.password()?.map(Secret::new),
            from: self
                .from
                .clone()
                .unwrap_or_else(|| DEFAULT_SMTP_FROM.to_string()),
            to: self.to.iter().map(|t| t.trim().to_string()).collect(),
        })
    }

    fn password(&self) -> Result<Option<String>> {
        if let Some(password) = &self.password {
            return Ok(Some(password.clone()));
        }
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io("reading the SMTP password file", path, e))?;
            return Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()));
        }
        Ok(std::env::var(SMTP_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty()))
    }
}
