//! Session settings a loading connection gives each statement of a parallel restore: how many
//! parallel workers it may use, and how a foreign key is validated.

use super::post_data::ForeignKey;
use crate::error::{Error, Result};

/// The server's own limits on the parallel workers of one statement. A restore on `jobs`
/// connections keeps at most `jobs` server processes busy: while every connection works, index
/// builds and foreign-key checks run without parallel workers (on a server whose cores the
/// connections already use, workers only add their start-up, a sort split into runs and merged, and a
/// hash table built once per worker); a statement started while connections are idle may use as many
/// workers as there are idle connections, within the server's own settings.
pub(super) struct ParallelWorkers {
    /// `max_parallel_maintenance_workers` (index builds).
    maintenance: usize,
    /// `max_parallel_workers_per_gather` (queries, such as a foreign key's validation).
    per_gather: usize,
}

impl ParallelWorkers {
    /// The limits `client`'s session has from the server's configuration.
    pub(super) async fn of_server(client: &tokio_postgres::Client) -> Result<Self> {
        let row = client
            .query_one(
                "SELECT current_setting('max_parallel_maintenance_workers')::int, \
                 current_setting('max_parallel_workers_per_gather')::int",
                &[],
            )
            .await
            .map_err(|e| Error::postgres("reading the server's parallel worker limits", e))?;
        let limit = |i: usize| usize::try_from(row.get::<_, i32>(i)).unwrap_or(0);
        Ok(Self {
            maintenance: limit(0),
            per_gather: limit(1),
        })
    }

    /// `sql` preceded by the session settings that give it at most `spare` parallel workers.
    pub(super) fn capped(&self, spare: usize, sql: &str) -> String {
        format!(
            "SET max_parallel_maintenance_workers = {}; SET max_parallel_workers_per_gather = {};\n{sql}",
            self.maintenance.min(spare),
            self.per_gather.min(spare)
        )
    }
}

/// Whether `key`'s validation merges two index scans instead of hashing. The check behind
/// `ADD FOREIGN KEY` is an anti-join of the whole table with the referenced one; the planner hashes
/// the referenced keys and reads the table. When a plain btree index of the table leads with the
/// key's (single) column, reading that index in order beside the referenced table's unique index is
/// two to four times cheaper: a freshly restored table's pages are all-visible (loaded frozen), so
/// both are index-only scans and nothing is hashed. `table` is the table's quoted name.
pub(super) async fn merge_validates(
    client: &tokio_postgres::Client,
    table: &str,
    key: &ForeignKey,
) -> Result<bool> {
    let [column] = key.columns.as_slice() else {
        return Ok(false);
    };
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_index i \
             JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             WHERE i.indrelid = to_regclass($1) AND a.attname = $2 AND am.amname = 'btree' \
               AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL)",
            &[&table, column],
        )
        .await
        .map_err(|e| {
            Error::postgres(
                format!("looking for an index to validate {} with", key.name),
                e,
            )
        })?;
    Ok(row.get(0))
}

/// `sql` (a foreign key's) run without hash joins when `merge`, the setting reset after it.
pub(super) fn validated_by_merge(merge: bool, sql: &str) -> String {
    if merge {
        format!("SET enable_hashjoin = off;\n{sql}\nRESET enable_hashjoin;")
    } else {
        sql.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_gets_no_parallel_workers_while_every_connection_works() {
        let workers = ParallelWorkers {
            maintenance: 2,
            per_gather: 2,
        };
        let sql = workers.capped(0, "CREATE INDEX i ON t (a);");
        assert_eq!(
            sql,
            "SET max_parallel_maintenance_workers = 0; SET max_parallel_workers_per_gather = 0;\n\
             CREATE INDEX i ON t (a);"
        );
    }

    #[test]
    fn idle_connections_lend_workers_within_the_server_limits() {
        let workers = ParallelWorkers {
            maintenance: 4,
            per_gather: 1,
        };
        let sql = workers.capped(3, "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES u;");
        assert!(sql.starts_with(
            "SET max_parallel_maintenance_workers = 3; SET max_parallel_workers_per_gather = 1;\n"
        ));
        let none = ParallelWorkers {
            maintenance: 0,
            per_gather: 0,
        };
        assert!(none.capped(3, "SELECT 1").starts_with(
            "SET max_parallel_maintenance_workers = 0; SET max_parallel_workers_per_gather = 0;"
        ));
    }

    #[test]
    fn a_merge_validated_key_runs_without_hash_joins_and_resets_the_setting() {
        let sql = "ALTER TABLE ONLY public.rides ADD CONSTRAINT r FOREIGN KEY (rider_id) REFERENCES public.users(id);";
        assert_eq!(
            validated_by_merge(true, sql),
            format!("SET enable_hashjoin = off;\n{sql}\nRESET enable_hashjoin;")
        );
        assert_eq!(validated_by_merge(false, sql), sql);
    }
}
