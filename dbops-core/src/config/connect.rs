//! Turning a [`DatabaseUrl`] into connections and pools.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use super::url::DatabaseUrl;
use crate::error::{Error, Result};

/// Options for [`DatabaseUrl::pool`]. Every field is optional; `None` means the documented default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolOptions {
    /// Largest number of open connections. Default: 16.
    pub max_size: Option<usize>,
    /// How long a caller waits for a free connection. Default: 30 s.
    pub wait_timeout: Option<Duration>,
    /// How long opening one connection may take. Default: 10 s.
    pub create_timeout: Option<Duration>,
}

impl DatabaseUrl {
    /// The driver configuration for this URL.
    pub fn pg_config(&self) -> Result<tokio_postgres::Config> {
        let mut config = tokio_postgres::Config::new();
        for host in self.hosts() {
            config.host(host);
        }
        for &port in self.port_list() {
            config.port(port);
        }
        config.user(self.effective_user());
        if let Some(password) = self.password() {
            config.password(password);
        }
        config.dbname(self.database());
        config.application_name(self.param("application_name").unwrap_or("dbops"));
        if let Some(options) = self.param("options") {
            config.options(options);
        }
        if let Some(timeout) = self.param("connect_timeout") {
            let secs: u64 = timeout.parse().map_err(|_| {
                Error::config(
                    "connect_timeout",
                    format!("`{timeout}` is not a number of seconds"),
                )
            })?;
            config.connect_timeout(Duration::from_secs(secs.max(1)));
        } else {
            config.connect_timeout(Duration::from_secs(10));
        }
        Ok(config)
    }

    /// Opens one connection; its background task runs on the current tokio runtime.
    pub async fn connect(&self) -> Result<Client> {
        let mut config = self.pg_config()?;
        let (ssl_mode, tls) = super::tls::connector(self)?;
        config.ssl_mode(ssl_mode);
        let (client, connection) = config
            .connect(tls)
            .await
            .map_err(|e| Error::postgres(format!("connecting to {self}"), e))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "postgres connection ended");
            }
        });
        Ok(client)
    }

    /// Builds a deadpool-postgres pool. Connections are opened lazily, on first use.
    pub fn pool(&self, options: &PoolOptions) -> Result<Pool> {
        let mut config = self.pg_config()?;
        let (ssl_mode, tls) = super::tls::connector(self)?;
        config.ssl_mode(ssl_mode);
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(options.max_size.unwrap_or(16))
            .wait_timeout(Some(
                options.wait_timeout.unwrap_or(Duration::from_secs(30)),
            ))
            .create_timeout(Some(
                options.create_timeout.unwrap_or(Duration::from_secs(10)),
            ))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| Error::config("pool", format!("cannot build a pool for {self}: {e}")))
    }
}

/// Quotes an SQL identifier (`"my ""db"""`), for names that reach SQL text.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes an SQL string literal (`'it''s'`), for values that reach SQL text.
pub fn quote_literal(value: &str) -> String {
    if value.contains('\\') {
        format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}
