//! `db status`: typed answers to the operations guide's monitoring queries.

use serde::Serialize;
use tokio_postgres::Client;

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};

/// Options of [`status`].
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StatusOptions {
    /// Queries running longer than this many seconds are listed. Default: 60.
    pub long_running_secs: f64,
    /// Rows per list (largest tables, dead tuples, top queries). Default: 10.
    pub limit: i64,
}

crate::setters::with_setters!(StatusOptions {
    with_long_running_secs => long_running_secs: f64,
    with_limit => limit: i64,
});

impl Default for StatusOptions {
    fn default() -> Self {
        Self {
            long_running_secs: 60.0,
            limit: 10,
        }
    }
}

/// Connections in one state.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionCount {
    /// `active`, `idle`, `idle in transaction`, ... (`background` for server processes).
    pub state: String,
    /// How many.
    pub count: i64,
}

/// A session worth looking at.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// Backend pid.
    pub pid: i32,
    /// Role.
    pub user: Option<String>,
    /// Database.
    pub database: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Seconds since the query (or transaction) started.
    pub seconds: f64,
    /// What it waits for, if anything.
    pub wait_event: Option<String>,
    /// Pids blocking it (empty when not blocked).
    pub blocked_by: Vec<i32>,
    /// The query (first 300 characters).
    pub query: String,
}

/// A table's sizes.
#[derive(Debug, Clone, Serialize)]
pub struct TableSize {
    /// `schema.table`.
    pub table: String,
    /// Total bytes (table + indexes + toast).
    pub total_bytes: i64,
    /// Heap bytes.
    pub table_bytes: i64,
    /// Index bytes.
    pub index_bytes: i64,
    /// TOAST bytes.
    pub toast_bytes: i64,
    /// Estimated rows.
    pub rows: i64,
}

/// An index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexInfo {
    /// `schema.index`.
    pub index: String,
    /// Its table.
    pub table: String,
    /// Bytes.
    pub bytes: i64,
    /// Scans since statistics were reset.
    pub scans: i64,
    /// For duplicates: the index it duplicates.
    pub duplicate_of: Option<String>,
}

/// Vacuum and analyze state of a table.
#[derive(Debug, Clone, Serialize)]
pub struct VacuumInfo {
    /// `schema.table`.
    pub table: String,
    /// Live tuples.
    pub live_tuples: i64,
    /// Dead tuples.
    pub dead_tuples: i64,
    /// Last (auto)vacuum.
    pub last_vacuum: Option<chrono::DateTime<chrono::Utc>>,
    /// Last (auto)analyze.
    pub last_analyze: Option<chrono::DateTime<chrono::Utc>>,
}

/// `pg_stat_archiver`.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiverInfo {
    /// `archive_mode`.
    pub archive_mode: String,
    /// Segments archived.
    pub archived_count: i64,
    /// Last archived WAL.
    pub last_archived_wal: Option<String>,
    /// When.
    pub last_archived_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Failures.
    pub failed_count: i64,
    /// Last failed WAL.
    pub last_failed_wal: Option<String>,
}

/// A replication slot or connected standby.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicationInfo {
    /// Slot or application name.
    pub name: String,
    /// `slot` or `standby`.
    pub kind: String,
    /// Whether active/streaming.
    pub active: bool,
    /// Bytes of WAL retained / behind.
    pub lag_bytes: Option<i64>,
}

/// A `pg_stat_statements` entry.
#[derive(Debug, Clone, Serialize)]
pub struct TopQuery {
    /// Normalized query (first 300 characters).
    pub query: String,
    /// Calls.
    pub calls: i64,
    /// Total execution time, ms.
    pub total_ms: f64,
    /// Mean, ms.
    pub mean_ms: f64,
}

/// Everything `dbops db status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct DbStatus {
    /// Server version.
    pub server_version: String,
    /// Current database.
    pub database: String,
    /// Its size in bytes.
    pub database_bytes: i64,
    /// Seconds since the server started.
    pub uptime_secs: f64,
    /// `max_connections`.
    pub max_connections: i64,
    /// Connections by state (whole server).
    pub connections: Vec<ConnectionCount>,
    /// Queries running longer than the threshold.
    pub long_running: Vec<Session>,
    /// Sessions waiting on a lock held by another.
    pub blocked: Vec<Session>,
    /// Largest tables.
    pub largest_tables: Vec<TableSize>,
    /// Whether table sizes are catalog estimates (a table was locked exclusively, so exact sizes
    /// could not be read without waiting).
    pub sizes_estimated: bool,
    /// Indexes never scanned (not unique or primary keys).
    pub unused_indexes: Vec<IndexInfo>,
    /// Indexes with the same table, columns, operator classes and predicate as another.
    pub duplicate_indexes: Vec<IndexInfo>,
    /// Tables with the most dead tuples.
    pub vacuum: Vec<VacuumInfo>,
    /// Buffer cache hit ratio of this database (0..1), if it has read anything.
    pub cache_hit_ratio: Option<f64>,
    /// WAL archiving.
    pub archiver: ArchiverInfo,
    /// Replication slots and standbys.
    pub replication: Vec<ReplicationInfo>,
    /// Top queries by total time, when `pg_stat_statements` is installed in this database.
    pub top_queries: Option<Vec<TopQuery>>,
}

async fn rows(
    client: &Client,
    what: &str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>> {
    client
        .query(sql, params)
        .await
        .map_err(|e| Error::postgres(format!("reading {what}"), e))
}

/// Collects the status of the database at `url`.
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::monitor::{self, StatusOptions};
///
/// // Queries running for more than 5 minutes are listed.
/// let options = StatusOptions::default().with_long_running_secs(300.0);
/// let status = monitor::status(&url, &options).await?;
/// println!("{} on {}: {} bytes", status.database, status.server_version, status.database_bytes);
/// for session in &status.long_running {
///     println!("pid {} for {:.0} s: {}", session.pid, session.seconds, session.query);
/// }
/// # Ok(()) }
/// ```
#[tracing::instrument(name = "monitor.status", skip_all)]
pub async fn status(url: &DatabaseUrl, options: &StatusOptions) -> Result<DbStatus> {
    let client = url.connect().await?;
    status_with(&client, options).await
}

/// Like [`status`] on an open connection.
pub async fn status_with(client: &Client, options: &StatusOptions) -> Result<DbStatus> {
    let head = rows(
        client,
        "server information",
        "SELECT current_setting('server_version'), current_database()::text, pg_database_size(current_database()),
                extract(epoch FROM now() - pg_postmaster_start_time())::float8, current_setting('max_connections')::bigint,
                current_setting('archive_mode')",
        &[],
    )
    .await?;
    let head = &head[0];
    let connections = connection_counts(client).await?;
    let long_running = long_running_sessions(client, options.long_running_secs).await?;
    let blocked = blocked_sessions(client).await?;
    let (largest_tables, sizes_estimated) = table_sizes(client, options.limit).await?;
    let unused_indexes = unused_indexes(client).await?;
    let duplicate_indexes = duplicate_indexes(client).await?;
    let vacuum = vacuum_stats(client, options.limit).await?;
    let cache_hit_ratio = cache_hit_ratio(client).await?;
    let archiver = archiver_info(client, head).await?;
    let replication = replication_info(client).await?;
    let top_queries = top_queries(client, options.limit).await?;
    Ok(DbStatus {
        server_version: head.get(0),
        database: head.get(1),
        database_bytes: head.get(2),
        uptime_secs: head.get(3),
        max_connections: head.get(4),
        connections,
        long_running,
        blocked,
        largest_tables,
        sizes_estimated,
        unused_indexes,
        duplicate_indexes,
        vacuum,
        cache_hit_ratio,
        archiver,
        replication,
        top_queries,
    })
}

/// Connections of the whole server by state, most first.
async fn connection_counts(client: &Client) -> Result<Vec<ConnectionCount>> {
    Ok(rows(
        client,
        "connections",
        "SELECT coalesce(state, 'background'), count(*) FROM pg_stat_activity GROUP BY 1 ORDER BY 2 DESC",
        &[],
    )
    .await?
    .iter()
    .map(|r| ConnectionCount { state: r.get(0), count: r.get(1) })
    .collect())
}

/// Client sessions other than this one, with [`Session`]'s columns; callers add conditions and order.
const SESSION_SQL: &str = "SELECT pid, usename::text, datname::text, state,
            extract(epoch FROM now() - coalesce(query_start, xact_start, backend_start))::float8,
            wait_event_type || ':' || wait_event, pg_blocking_pids(pid), left(query, 300)
         FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'";

/// A [`Session`] from a row of [`SESSION_SQL`].
fn session_from_row(r: &tokio_postgres::Row) -> Session {
    Session {
        pid: r.get(0),
        user: r.get(1),
        database: r.get(2),
        state: r.get(3),
        seconds: r.get::<_, Option<f64>>(4).unwrap_or(0.0),
        wait_event: r.get(5),
        blocked_by: r.get(6),
        query: r.get::<_, Option<String>>(7).unwrap_or_default(),
    }
}

/// Sessions whose query has run longer than `secs` seconds, longest first.
async fn long_running_sessions(client: &Client, secs: f64) -> Result<Vec<Session>> {
    Ok(rows(
        client,
        "long-running queries",
        &format!("{SESSION_SQL} AND state <> 'idle' AND now() - query_start > make_interval(secs => $1) ORDER BY 5 DESC"),
        &[&secs],
    )
    .await?
    .iter()
    .map(session_from_row)
    .collect())
}

/// Sessions waiting on a lock held by another, longest first.
async fn blocked_sessions(client: &Client) -> Result<Vec<Session>> {
    Ok(rows(
        client,
        "blocked sessions",
        &format!("{SESSION_SQL} AND cardinality(pg_blocking_pids(pid)) > 0 ORDER BY 5 DESC"),
        &[],
    )
    .await?
    .iter()
    .map(session_from_row)
    .collect())
}

/// Indexes never scanned that are neither unique nor primary keys, largest first.
async fn unused_indexes(client: &Client) -> Result<Vec<IndexInfo>> {
    Ok(rows(
        client,
        "unused indexes",
        "SELECT s.schemaname || '.' || s.indexrelname, s.schemaname || '.' || s.relname, pg_relation_size(s.indexrelid), s.idx_scan
         FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
         WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
         ORDER BY 3 DESC, 1",
        &[],
    )
    .await?
    .iter()
    .map(|r| IndexInfo { index: r.get(0), table: r.get(1), bytes: r.get(2), scans: r.get(3), duplicate_of: None })
    .collect())
}

/// Indexes with the same table, columns, operator classes, expressions and predicate as another.
async fn duplicate_indexes(client: &Client) -> Result<Vec<IndexInfo>> {
    Ok(rows(
        client,
        "duplicate indexes",
        "SELECT n.nspname || '.' || ci.relname, n.nspname || '.' || ct.relname, pg_relation_size(a.indexrelid),
                coalesce(s.idx_scan, 0), n.nspname || '.' || cb.relname
         FROM pg_index a JOIN pg_index b ON a.indrelid = b.indrelid AND a.indexrelid > b.indexrelid
              AND a.indkey::text = b.indkey::text AND a.indclass::text = b.indclass::text
              AND coalesce(pg_get_expr(a.indexprs, a.indrelid), '') = coalesce(pg_get_expr(b.indexprs, b.indrelid), '')
              AND coalesce(pg_get_expr(a.indpred, a.indrelid), '') = coalesce(pg_get_expr(b.indpred, b.indrelid), '')
         JOIN pg_class ci ON ci.oid = a.indexrelid JOIN pg_class cb ON cb.oid = b.indexrelid
         JOIN pg_class ct ON ct.oid = a.indrelid JOIN pg_namespace n ON n.oid = ct.relnamespace
         LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = a.indexrelid
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')",
        &[],
    )
    .await?
    .iter()
    .map(|r| IndexInfo { index: r.get(0), table: r.get(1), bytes: r.get(2), scans: r.get(3), duplicate_of: r.get(4) })
    .collect())
}

/// The `limit` tables with the most dead tuples, with their last (auto)vacuum and analyze.
async fn vacuum_stats(client: &Client, limit: i64) -> Result<Vec<VacuumInfo>> {
    Ok(rows(
        client,
        "vacuum statistics",
        "SELECT schemaname || '.' || relname, n_live_tup, n_dead_tup, greatest(last_vacuum, last_autovacuum),
                greatest(last_analyze, last_autoanalyze)
         FROM pg_stat_user_tables ORDER BY n_dead_tup DESC, 1 LIMIT $1",
        &[&limit],
    )
    .await?
    .iter()
    .map(|r| VacuumInfo { table: r.get(0), live_tuples: r.get(1), dead_tuples: r.get(2), last_vacuum: r.get(3), last_analyze: r.get(4) })
    .collect())
}

/// The buffer cache hit ratio of this database (0..1), if it has read anything.
async fn cache_hit_ratio(client: &Client) -> Result<Option<f64>> {
    Ok(rows(
        client,
        "cache hit ratio",
        "SELECT blks_hit::float8 / nullif(blks_hit + blks_read, 0) FROM pg_stat_database WHERE datname = current_database()",
        &[],
    )
    .await?
    .first()
    .and_then(|r| r.get(0)))
}

/// `pg_stat_archiver`, with `archive_mode` from the server information row `head`.
async fn archiver_info(client: &Client, head: &tokio_postgres::Row) -> Result<ArchiverInfo> {
    let archiver = rows(
        client,
        "archiver statistics",
        "SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal FROM pg_stat_archiver",
        &[],
    )
    .await?;
    Ok(ArchiverInfo {
        archive_mode: head.get(5),
        archived_count: archiver[0].get(0),
        last_archived_wal: archiver[0].get(1),
        last_archived_time: archiver[0].get(2),
        failed_count: archiver[0].get(3),
        last_failed_wal: archiver[0].get(4),
    })
}

/// Replication slots (WAL retained) and connected standbys (replay lag).
async fn replication_info(client: &Client) -> Result<Vec<ReplicationInfo>> {
    Ok(rows(
        client,
        "replication",
        "SELECT slot_name::text, 'slot', active,
                (pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END, restart_lsn))::bigint
         FROM pg_replication_slots
         UNION ALL
         SELECT coalesce(application_name, client_addr::text, 'standby'), 'standby', state = 'streaming',
                (pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::bigint
         FROM pg_stat_replication",
        &[],
    )
    .await?
    .iter()
    .map(|r| ReplicationInfo { name: r.get(0), kind: r.get(1), active: r.get(2), lag_bytes: r.get(3) })
    .collect())
}

/// The `limit` queries with the most total time, when `pg_stat_statements` is installed in this
/// database (`None` otherwise).
async fn top_queries(client: &Client, limit: i64) -> Result<Option<Vec<TopQuery>>> {
    let has_statements: bool = rows(
        client,
        "extensions",
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')",
        &[],
    )
    .await?[0]
        .get(0);
    if !has_statements {
        return Ok(None);
    }
    Ok(Some(
        rows(
            client,
            "pg_stat_statements",
            "SELECT left(query, 300), calls, total_exec_time, mean_exec_time FROM pg_stat_statements
                 ORDER BY total_exec_time DESC LIMIT $1",
            &[&limit],
        )
        .await?
        .iter()
        .map(|r| TopQuery { query: r.get(0), calls: r.get(1), total_ms: r.get(2), mean_ms: r.get(3) })
        .collect(),
    ))
}

const EXACT_SIZES: &str = "SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),
        pg_indexes_size(c.oid), coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0), c.reltuples::bigint
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
 ORDER BY 2 DESC LIMIT $1";

/// Sizes from the catalog (pages recorded by the last VACUUM/ANALYZE): no locks taken.
const ESTIMATED_SIZES: &str = "SELECT n.nspname || '.' || c.relname,
        (c.relpages + coalesce(t.relpages, 0) + coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), 0))::bigint * current_setting('block_size')::bigint,
        c.relpages::bigint * current_setting('block_size')::bigint,
        coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), 0)::bigint * current_setting('block_size')::bigint,
        coalesce(t.relpages, 0)::bigint * current_setting('block_size')::bigint, c.reltuples::bigint
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
 WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
 ORDER BY 2 DESC LIMIT $1";

/// Exact sizes need a share lock on every table; when one is locked exclusively (a migration, a
/// `LOCK TABLE`), wait at most 300 ms, then fall back to the catalog's estimates.
async fn table_sizes(client: &Client, limit: i64) -> Result<(Vec<TableSize>, bool)> {
    let to_size = |r: &tokio_postgres::Row| TableSize {
        table: r.get(0),
        total_bytes: r.get(1),
        table_bytes: r.get(2),
        index_bytes: r.get(3),
        toast_bytes: r.get(4),
        rows: r.get::<_, i64>(5).max(0),
    };
    client
        .batch_execute("SET lock_timeout = '300ms'")
        .await
        .map_err(|e| Error::postgres("setting lock_timeout", e))?;
    let exact = client.query(EXACT_SIZES, &[&limit]).await;
    client
        .batch_execute("RESET lock_timeout")
        .await
        .map_err(|e| Error::postgres("resetting lock_timeout", e))?;
    match exact {
        Ok(found) => Ok((found.iter().map(to_size).collect(), false)),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
            let found = rows(client, "estimated table sizes", ESTIMATED_SIZES, &[&limit]).await?;
            Ok((found.iter().map(to_size).collect(), true))
        }
        Err(e) => Err(Error::postgres("reading table sizes", e)),
    }
}

/// Terminates backend `pid` (`pg_terminate_backend`); `false` if no such backend existed.
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::monitor::{self, StatusOptions};
///
/// // End the sessions whose query has run for more than an hour.
/// let options = StatusOptions::default().with_long_running_secs(3600.0);
/// let status = monitor::status(&url, &options).await?;
/// for session in &status.long_running {
///     if monitor::terminate(&url, session.pid).await? {
///         println!("terminated {}", session.pid); // `false`: it had already ended
///     }
/// }
/// # Ok(()) }
/// ```
pub async fn terminate(url: &DatabaseUrl, pid: i32) -> Result<bool> {
    let client = url.connect().await?;
    let row = client
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .map_err(|e| Error::postgres(format!("terminating backend {pid}"), e))?;
    Ok(row.get(0))
}
