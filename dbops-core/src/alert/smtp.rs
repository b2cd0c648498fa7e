//! Email alerts over SMTP (lettre): STARTTLS, implicit TLS or plain (for a local relay), with optional
//! authentication. The password never appears in errors.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Secret;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpSecurity {
    /// Upgrade with STARTTLS (port 587). Default.
    #[default]
    StartTls,
    /// Implicit TLS (port 465).
    Tls,
    /// No encryption: only for a relay on localhost or a trusted network.
    None,
}

/// Email settings.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// SMTP host.
    pub host: String,
    /// Port. Default by security: 587 (STARTTLS), 465 (TLS), 25 (none).
    pub port: Option<u16>,
    /// Connection security.
    pub security: SmtpSecurity,
    /// Login user, if the server needs one.
    pub username: Option<String>,
    /// Login password.
    pub password: Option<Secret>,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
}

pub(super) async fn send(
    config: &EmailConfig,
    subject: &str,
    body: &str,
    timeout: Duration,
) -> Result<(), String> {
    let parse = |addr: &str| -> Result<Mailbox, String> {
        addr.parse()
            .map_err(|e| format!("invalid email address `{addr}`: {e}"))
    };
    let mut message = Message::builder()
        .from(parse(&config.from)?)
        .subject(subject);
    if config.to.is_empty() {
        return Err("no recipients: give at least one --smtp-to".into());
    }
    for to in &config.to {
        message = message.to(parse(to)?);
    }
    let message = message
        .body(body.to_string())
        .map_err(|e| format!("could not build the email: {e}"))?;
    let builder = match config.security {
        SmtpSecurity::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| format!("SMTP host `{}`: {e}", config.host))?
                .port(config.port.unwrap_or(587))
        }
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
            .map_err(|e| format!("SMTP host `{}`: {e}", config.host))?
            .port(config.port.unwrap_or(465)),
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port.unwrap_or(25)),
    };
    let mut builder = builder.timeout(Some(timeout));
    if let Some(user) = &config.username {
        let password = config
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    let transport = builder.build();
    let password = config.password.as_ref().map(|p| p.expose().to_string());
    transport.send(message).await.map(|_| ()).map_err(|e| {
        let mut text = format!(
            "sending email through {}:{} failed: {}",
            config.host,
            config.port.unwrap_or(0),
            crate::error::report(&e)
        );
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            text = text.replace(&p, "***");
        }
        text
    })
}
