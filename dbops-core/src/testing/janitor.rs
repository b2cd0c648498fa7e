//! Dropping clones in the background: `Drop` cannot await, so dropped [`super::TestDatabase`]s are
//! handed to one thread with its own runtime that runs `DROP DATABASE ... WITH (FORCE)`.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use crate::config::{DatabaseUrl, quote_ident};

struct DropRequest {
    admin: DatabaseUrl,
    /// `None` only marks a flush: everything queued before it is done when it is answered.
    name: Option<String>,
    done: Option<mpsc::Sender<()>>,
}

fn sender() -> Option<mpsc::Sender<DropRequest>> {
    static JANITOR: OnceLock<Option<Mutex<mpsc::Sender<DropRequest>>>> = OnceLock::new();
    JANITOR
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<DropRequest>();
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
                        let mut clients: Vec<(DatabaseUrl, tokio_postgres::Client)> = Vec::new();
                        while let Ok(request) = rx.recv() {
                            if let Some(name) = &request.name {
                                drop_database(&mut clients, &request.admin, name).await;
                            }
                            if let Some(done) = request.done {
                                let _ = done.send(());
                            }
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

async fn drop_database(
    clients: &mut Vec<(DatabaseUrl, tokio_postgres::Client)>,
    admin: &DatabaseUrl,
    name: &str,
) {
    clients.retain(|(_, c)| !c.is_closed());
    if !clients.iter().any(|(u, _)| u == admin) {
        match admin.connect().await {
            Ok(client) => clients.push((admin.clone(), client)),
            Err(error) => {
                tracing::warn!(error = %crate::error::report(&error), database = name, "cannot drop test database");
                return;
            }
        }
    }
    if let Some((_, client)) = clients.iter().find(|(u, _)| u == admin) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
        if let Err(error) = client.batch_execute(&sql).await {
            tracing::warn!(%error, database = name, "cannot drop test database");
        }
    }
}

/// Queues a clone for dropping; returns immediately.
pub(crate) fn drop_later(admin: DatabaseUrl, name: String) {
    if let Some(tx) = sender() {
        let _ = tx.send(DropRequest {
            admin,
            name: Some(name),
            done: None,
        });
    }
}

/// Drops a clone and waits for it (blocking the calling thread, not a runtime).
pub(crate) fn drop_and_wait(admin: DatabaseUrl, name: String) {
    if let Some(tx) = sender() {
        let (done_tx, done_rx) = mpsc::channel();
        if tx
            .send(DropRequest {
                admin,
                name: Some(name),
                done: Some(done_tx),
            })
            .is_ok()
        {
            let _ = done_rx.recv();
        }
    }
}

/// At process exit, waits (up to 10 s) for the clones still queued, so a test binary that exits right
/// after its last test leaves no databases behind.
extern "C" fn flush_at_exit() {
    let Some(tx) = sender() else { return };
    let (done_tx, done_rx) = mpsc::channel();
    let flush = DropRequest {
        admin: DatabaseUrl::unix_socket("/", 0, "", ""),
        name: None,
        done: Some(done_tx),
    };
    if tx.send(flush).is_ok() {
        let _ = done_rx.recv_timeout(std::time::Duration::from_secs(10));
    }
}
