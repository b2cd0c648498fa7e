//! Ready-made clones: after each `create()`, the janitor thread clones the template in the background
//! until `wanted` spares wait, so the next `create()` only hands one out.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio_postgres::Client;

use super::clone_sql;
use crate::config::DatabaseUrl;

/// The spare clones of one [`super::TestDatabases`].
pub(crate) struct Spares {
    pub(crate) admin: DatabaseUrl,
    pub(crate) template: String,
    pub(crate) name_prefix: String,
    pub(crate) file_copy: bool,
    pub(crate) counter: Arc<AtomicU64>,
    pub(crate) wanted: usize,
    ready: Mutex<VecDeque<String>>,
    refilling: AtomicBool,
    closed: AtomicBool,
}

fn registry() -> &'static Mutex<Vec<Weak<Spares>>> {
    static REGISTRY: Mutex<Vec<Weak<Spares>>> = Mutex::new(Vec::new());
    &REGISTRY
}

impl Spares {
    /// A spare pool (registered so process exit drops what it holds).
    pub(crate) fn new(
        admin: DatabaseUrl,
        template: String,
        name_prefix: String,
        file_copy: bool,
        counter: Arc<AtomicU64>,
        wanted: usize,
    ) -> Arc<Self> {
        let spares = Arc::new(Self {
            admin,
            template,
            name_prefix,
            file_copy,
            counter,
            wanted,
            ready: Mutex::new(VecDeque::new()),
            refilling: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        });
        if let Ok(mut all) = registry().lock() {
            all.retain(|w| w.strong_count() > 0);
            all.push(Arc::downgrade(&spares));
        }
        spares
    }

    /// Takes a ready clone, if any.
    pub(crate) fn take(&self) -> Option<String> {
        self.ready.lock().ok()?.pop_front()
    }

    /// Asks the janitor to top the pool up (once at a time).
    pub(crate) fn refill(self: &Arc<Self>) {
        if self.wanted > 0
            && !self.closed.load(Ordering::Relaxed)
            && !self.refilling.swap(true, Ordering::AcqRel)
        {
            super::janitor::refill_later(self.clone());
        }
    }

    /// Runs on the janitor thread: clones until `wanted` are ready.
    pub(crate) async fn fill(&self, client: &Client) {
        while !self.closed.load(Ordering::Relaxed)
            && self.ready.lock().map(|r| r.len()).unwrap_or(usize::MAX) < self.wanted
        {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let (name, statements) =
                clone_sql(&self.name_prefix, n, &self.template, self.file_copy);
            let mut failed = false;
            for sql in &statements {
                if let Err(error) = client.batch_execute(sql).await {
                    tracing::debug!(%error, template = %self.template, "could not prepare a spare test database");
                    failed = true;
                    break;
                }
            }
            if failed {
                break;
            }
            let kept = match self.ready.lock() {
                // `close()` empties the queue under this lock, so a clone finished after it is dropped here.
                Ok(mut ready) if !self.closed.load(Ordering::Relaxed) => {
                    ready.push_back(name.clone());
                    true
                }
                _ => false,
            };
            if !kept {
                let sql = format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    crate::config::quote_ident(&name)
                );
                let _ = client.batch_execute(&sql).await;
                break;
            }
        }
        self.refilling.store(false, Ordering::Release);
    }

    /// Stops refilling and returns the clones still waiting (for dropping).
    pub(crate) fn close(&self) -> Vec<String> {
        self.closed.store(true, Ordering::Relaxed);
        self.ready
            .lock()
            .map(|mut r| r.drain(..).collect())
            .unwrap_or_default()
    }
}

/// Every live pool's waiting clones (called at process exit), with their admin URLs.
pub(crate) fn close_all() -> Vec<(DatabaseUrl, String)> {
    let pools: Vec<Arc<Spares>> = registry()
        .lock()
        .map(|all| all.iter().filter_map(Weak::upgrade).collect())
        .unwrap_or_default();
    pools
        .iter()
        .flat_map(|pool| {
            pool.close()
                .into_iter()
                .map(|name| (pool.admin.clone(), name))
        })
        .collect()
}
