//! The migrator's connection: its own, or one from a pool that is discarded (never returned) if an
//! operation fails or is cancelled, so a held advisory lock or open transaction cannot leak.

use std::ops::Deref;

use deadpool_postgres::{Object, Pool};
use tokio_postgres::Client;

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};

/// Where the migrator gets its connection.
#[derive(Clone)]
pub(crate) enum Connector {
    /// A fresh connection per operation.
    Url(DatabaseUrl),
    /// A connection taken from the service's pool.
    Pool(Pool),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Url(url) => write!(f, "Url({url})"),
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
}

impl Connector {
    pub(crate) async fn get(&self) -> Result<Conn> {
        let inner = match self {
            Connector::Url(url) => Inner::Owned(url.connect().await?),
            Connector::Pool(pool) => Inner::Pooled(
                pool.get()
                    .await
                    .map_err(|e| Error::pool("getting a connection for migrations", e))?,
            ),
        };
        Ok(Conn { inner: Some(inner) })
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
        // Not released: failed or cancelled. Detach a pooled connection so closing it ends the
        // session (releasing the advisory lock and rolling back any open transaction).
        if let Some(Inner::Pooled(object)) = self.inner.take() {
            drop(Object::take(object));
        }
    }
}
