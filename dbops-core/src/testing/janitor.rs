//! The background thread of test databases, with its own runtime: drops clones whose
//! [`super::TestDatabase`] was dropped (`Drop` cannot await), prepares spare clones, and at process exit
//! drops whatever is still queued or waiting. Drops run on a connection of their own, beside the
//! spares' clones, so the next test's clone never waits behind the last test's drop.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use super::spares::{self, Spares};
use crate::config::{DatabaseUrl, quote_ident};

enum Request {
    /// Drop one clone; answer on `done` when finished.
    Drop {
        admin: DatabaseUrl,
        name: String,
        done: Option<mpsc::Sender<()>>,
    },
    /// Prepare spare clones for a pool.
    Refill(Arc<Spares>),
    /// Drop every spare, then answer: everything queued before is done.
    Flush(mpsc::Sender<()>),
}

/// Work of the drop task.
enum DropJob {
    /// Drop one clone; answer on `done` when finished.
    Drop {
        admin: DatabaseUrl,
        name: String,
        done: Option<mpsc::Sender<()>>,
    },
    /// Answer: every drop queued before is done.
    Flush(mpsc::Sender<()>),
}

type Clients = Vec<(DatabaseUrl, tokio_postgres::Client)>;

type Sender = tokio::sync::mpsc::UnboundedSender<Request>;

fn sender() -> Option<Sender> {
    static JANITOR: OnceLock<Option<Mutex<Sender>>> = OnceLock::new();
    JANITOR
        .get_or_init(|| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Request>();
            let started = std::thread::Builder::new()
                .name("dbops-test-db-janitor".into())
                .spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async move {
                        let (drops, drop_rx) = tokio::sync::mpsc::unbounded_channel();
                        tokio::spawn(run_drops(drop_rx));
                        let mut clients: Clients = Vec::new();
                        while let Some(request) = rx.recv().await {
                            handle(&mut clients, &drops, request).await;
                        }
                    });
                });
            let started = started.ok().map(|_| Mutex::new(tx));
            if started.is_some() {
                // SAFETY: registering a plain extern "C" function with the C runtime.
                unsafe {
                    libc::atexit(flush_at_exit);
                }
            }
            started
        })
        .as_ref()
        .and_then(|m| m.lock().ok().map(|s| s.clone()))
}

/// Handles one request; drops (and a flush's wait for them) go to the drop task, in order.
async fn handle(
    clients: &mut Clients,
    drops: &tokio::sync::mpsc::UnboundedSender<DropJob>,
    request: Request,
) {
    match request {
        Request::Refill(pool) => match client_for(clients, &pool.admin).await {
            Some(client) => pool.fill(client).await,
            None => {
                pool.close();
            }
        },
        Request::Flush(done) => {
            for (admin, name) in spares::close_all() {
                let _ = drops.send(DropJob::Drop {
                    admin,
                    name,
                    done: None,
                });
            }
            let _ = drops.send(DropJob::Flush(done));
        }
        Request::Drop { admin, name, done } => {
            let _ = drops.send(DropJob::Drop { admin, name, done });
        }
    }
}

/// The drop task: drops clones in the order queued on its own connection; answers a flush once
/// every drop queued before it is done.
async fn run_drops(mut jobs: tokio::sync::mpsc::UnboundedReceiver<DropJob>) {
    let mut clients: Clients = Vec::new();
    while let Some(job) = jobs.recv().await {
        match job {
            DropJob::Drop { admin, name, done } => {
                drop_database(&mut clients, &admin, &name).await;
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }
            DropJob::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

async fn client_for<'a>(
    clients: &'a mut Clients,
    admin: &DatabaseUrl,
) -> Option<&'a tokio_postgres::Client> {
    clients.retain(|(_, c)| !c.is_closed());
    if !clients.iter().any(|(u, _)| u == admin) {
        match admin.connect_for_work().await {
            Ok(client) => clients.push((admin.clone(), client)),
            Err(error) => {
                tracing::warn!(error = %crate::error::report(&error), "cannot reach the server of the test databases");
                return None;
            }
        }
    }
    clients.iter().find(|(u, _)| u == admin).map(|(_, c)| c)
}

async fn drop_database(clients: &mut Clients, admin: &DatabaseUrl, name: &str) {
    if let Some(client) = client_for(clients, admin).await {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
        if let Err(error) = client.batch_execute(&sql).await {
            tracing::warn!(%error, database = name, "cannot drop test database");
        }
    }
}

/// Queues a clone for dropping; returns immediately.
pub(crate) fn drop_later(admin: DatabaseUrl, name: String) {
    if let Some(tx) = sender() {
        let _ = tx.send(Request::Drop {
            admin,
            name,
            done: None,
        });
    }
}

/// Drops a clone and waits for it (blocking the calling thread, not a runtime).
pub(crate) fn drop_and_wait(admin: DatabaseUrl, name: String) {
    if let Some(tx) = sender() {
        let (done_tx, done_rx) = mpsc::channel();
        if tx
            .send(Request::Drop {
                admin,
                name,
                done: Some(done_tx),
            })
            .is_ok()
        {
            let _ = done_rx.recv();
        }
    }
}

/// Queues a spare refill.
pub(crate) fn refill_later(pool: Arc<Spares>) {
    if let Some(tx) = sender() {
        let _ = tx.send(Request::Refill(pool));
    }
}

/// At process exit, waits (up to 10 s) for the queued drops and drops the spares, so a test binary
/// that exits right after its last test leaves no databases behind.
extern "C" fn flush_at_exit() {
    let Some(tx) = sender() else { return };
    let (done_tx, done_rx) = mpsc::channel();
    if tx.send(Request::Flush(done_tx)).is_ok() {
        let _ = done_rx.recv_timeout(std::time::Duration::from_secs(10));
    }
}
