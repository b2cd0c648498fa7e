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
#[non_exhaustive]
pub struct PoolOptions {
    /// Largest number of open connections. Default: 16.
    pub max_size: Option<usize>,
    /// How long a caller waits for a free connection. Default: 30 s.
    pub wait_timeout: Option<Duration>,
    /// How long opening one connection may take. Default: 10 s.
    pub create_timeout: Option<Duration>,
}

crate::setters::with_setters!(PoolOptions {
    with_max_size => max_size: opt usize,
    with_wait_timeout => wait_timeout: opt Duration,
    with_create_timeout => create_timeout: opt Duration,
});

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
        self.connect_with(self.pg_config()?).await
    }

    /// Opens one connection with `config` (this URL's, adjusted) and this URL's TLS settings.
    async fn connect_with(&self, mut config: tokio_postgres::Config) -> Result<Client> {
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

    /// Opens a session for dbops' own long work (dumping, loading, seeding, checking): the statement,
    /// lock, idle-in-transaction and transaction timeouts that the role or the database set (common on
    /// production roles) are off for it, as `pg_dump` and `pg_restore` turn them off for their own
    /// sessions. The first three go with the connection request (they override role and database
    /// settings from its first statement on); `transaction_timeout` exists only from PostgreSQL 17 on,
    /// so it is turned off where the server knows it.
    #[cfg_attr(
        not(any(feature = "backup", feature = "seed", feature = "testing")),
        allow(dead_code)
    )]
    pub(crate) async fn connect_for_work(&self) -> Result<Client> {
        let mut config = self.pg_config()?;
        let own = config.get_options().unwrap_or_default();
        config.options(format!("{own} {WORK_SESSION_OPTIONS}").trim());
        let client = self.connect_with(config).await?;
        client
            .batch_execute(
                "SELECT pg_catalog.set_config(name, '0', false) FROM pg_catalog.pg_settings \
                 WHERE name = 'transaction_timeout'",
            )
            .await
            .map_err(|e| Error::postgres("turning off the role's transaction timeout", e))?;
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

/// The settings of a session for dbops' own long work ([`DatabaseUrl::connect_for_work`]), as
/// connection options.
const WORK_SESSION_OPTIONS: &str =
    "-c statement_timeout=0 -c lock_timeout=0 -c idle_in_transaction_session_timeout=0";

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
