//! The migrator's connection: its own, or one from a pool that is discarded (never returned) if an
//! operation fails or is cancelled, so a held advisory lock or open transaction cannot leak.

use std::ops::Deref;

use deadpool_postgres::{Object, Pool};
use tokio_postgres::Client;

use crate::config::DatabaseUrl;
use crate::config::tls::PgTls;
use crate::error::{Error, Result};

/// Where the migrator gets its connection.
#[derive(Clone)]
pub(crate) enum Connector {
    /// A fresh connection per operation.
    Url(DatabaseUrl),
    /// A fresh connection per operation without the role's timeouts (a scratch database).
    #[cfg(feature = "testing")]
    Scratch(DatabaseUrl),
    /// A connection taken from the service's pool.
    Pool(Pool),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Url(url) => write!(f, "Url({url})"),
            #[cfg(feature = "testing")]
            Connector::Scratch(url) => write!(f, "Scratch({url})"),
            Connector::Pool(_) => f.write_str("Pool(..)"),
        }
    }
}

enum Inner {
    Owned(Client),
    Pooled(Object),
}

/// A connection that is returned to its pool only by [`Conn::release`].
pub(crate) struct Conn {
    inner: Option<Inner>,
    /// What a cancel request to its server connects with.
    tls: Option<PgTls>,
}

impl Connector {
    pub(crate) async fn get(&self) -> Result<Conn> {
        let (inner, tls) = match self {
            Connector::Url(url) => (
                Inner::Owned(url.connect().await?),
                crate::config::tls::cancel_connector(Some(url)),
            ),
            #[cfg(feature = "testing")]
            Connector::Scratch(url) => (
                Inner::Owned(url.connect_for_work().await?),
                crate::config::tls::cancel_connector(Some(url)),
            ),
            Connector::Pool(pool) => (
                Inner::Pooled(
                    pool.get()
                        .await
                        .map_err(|e| Error::pool("getting a connection for migrations", e))?,
                ),
                crate::config::tls::cancel_connector(None),
            ),
        };
        Ok(Conn {
            inner: Some(inner),
            tls,
        })
    }
}

impl Conn {
    /// Hands a healthy connection back to its pool (an owned one is closed).
    pub(crate) fn release(mut self) {
        self.inner = None;
    }
}

impl Deref for Conn {
    type Target = Client;

    fn deref(&self) -> &Client {
        match self.inner.as_ref() {
            Some(Inner::Owned(client)) => client,
            Some(Inner::Pooled(object)) => object,
            None => unreachable_client(),
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_client() -> &'static Client {
    panic!("migration connection used after release")
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Not released: failed or cancelled. A statement the server may still be running (a
        // cancelled migration's `CREATE INDEX`, holding its locks) is cancelled: a server notices a
        // closed connection only when it next talks to its client. Then the session ends (a pooled
        // connection is detached first), releasing the advisory lock and rolling back.
        let Some(inner) = self.inner.take() else {
            return;
        };
        let token = match &inner {
            Inner::Owned(client) => client.cancel_token(),
            Inner::Pooled(object) => object.cancel_token(),
        };
        if let Some(tls) = self.tls.clone() {
            cancel_statement(token, tls);
        }
        if let Inner::Pooled(object) = inner {
            drop(Object::take(object));
        }
    }
}

/// Asks the server to cancel what the session of `token` runs (in the background, tracked by
/// [`crate::cleanup`]).
fn cancel_statement(token: tokio_postgres::CancelToken, tls: PgTls) {
    crate::cleanup::spawn(
        "cancelling the statement of an unfinished migration",
        Box::pin(async move {
            if let Err(error) = token.cancel_query(tls).await {
                tracing::debug!(%error, "could not send a cancel request");
            }
        }),
    );
}
