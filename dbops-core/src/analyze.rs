//! ANALYZE after a restore or a bulk load: planner statistics for every table, on `jobs` connections,
//! so the first queries do not run on guesses.

use std::time::Instant;

use crate::config::{DatabaseUrl, quote_ident};
use crate::error::{Error, Result};

/// This machine's CPU count, at most 4: the default number of connections a dump, a restore or an
/// ANALYZE uses.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// ANALYZEs every user table and materialized view of the database at `url` on `jobs` connections
/// (largest first); returns the seconds it took.
pub async fn analyze_database(url: &DatabaseUrl, jobs: usize) -> Result<f64> {
    analyze_database_except(url, jobs, &[]).await
}

/// [`analyze_database`] but for the tables in `done` (`schema.name`, unquoted), analyzed already.
pub(crate) async fn analyze_database_except(
    url: &DatabaseUrl,
    jobs: usize,
    done: &[String],
) -> Result<f64> {
    let started = Instant::now();
    let client = url.connect_for_work().await?;
    let rows = client
        .query(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'm', 'p') AND c.relpersistence <> 't' \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
             ORDER BY pg_total_relation_size(c.oid) DESC",
            &[],
        )
        .await
        .map_err(|e| Error::postgres("listing the tables to analyze", e))?;
    let done: std::collections::HashSet<&str> = done.iter().map(String::as_str).collect();
    let names: Vec<String> = rows
        .iter()
        .filter(|r| {
            let qualified = format!("{}.{}", r.get::<_, &str>(0), r.get::<_, &str>(1));
            !done.contains(qualified.as_str())
        })
        .map(|r| {
            format!(
                "{}.{}",
                quote_ident(r.get::<_, &str>(0)),
                quote_ident(r.get::<_, &str>(1))
            )
        })
        .collect();
    // One connection per table at most: nothing left to analyze opens none.
    let workers = jobs.max(1).min(names.len());
    let queue = std::sync::Mutex::new(names);
    let worker = || async {
        let client = url.connect_for_work().await?;
        loop {
            let next = queue
                .lock()
                .ok()
                .and_then(|mut q| (!q.is_empty()).then(|| q.remove(0)));
            let Some(table) = next else { break };
            client
                .batch_execute(&format!("ANALYZE {table}"))
                .await
                .map_err(|e| Error::postgres(format!("analyzing {table}"), e))?;
        }
        Ok::<(), Error>(())
    };
    let results = futures::future::join_all((0..workers).map(|_| worker())).await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(started.elapsed().as_secs_f64())
}
