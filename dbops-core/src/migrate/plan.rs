//! `migrate plan`: what the pending migrations would do to the live database. For every statement,
//! the lock it takes and on which table, whether it scans or rewrites it, the table's size and row
//! estimate, the sessions that now hold or wait for a conflicting lock, the longest open
//! transactions, and a verdict (safe, risky, or would block traffic for about N seconds at this
//! size). The startup guard ([`RiskGuard`]) uses the same plan to refuse or delay a risky step.
//!
//! The durations are estimates from the table's size and typical rates (a scan at 400 MB/s, an
//! index build at 60 MB/s of table, a rewrite at 40 MB/s of table and indexes); they say which
//! step matters, not to the second.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use tokio_postgres::Client;

use super::lint::{self, Blocks, LintFinding, LockMode, Work, cst};
use super::runner::{Direction, PlannedStep};
use super::{MigrationSource, Migrator, PgMigrator};
use crate::error::{Error, Result};

/// How the plan judges a statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PlanOptions {
    /// A statement that would hold traffic out longer than this is `blocks`; shorter ones are
    /// safe. Default: 1 s.
    pub max_blocking: Duration,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            max_blocking: Duration::from_secs(1),
        }
    }
}

crate::setters::with_setters!(PlanOptions {
    with_max_blocking => max_blocking: Duration,
});

/// What a statement would do to traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Takes no lock that ordinary traffic waits for, or holds it only for a catalog change.
    Safe,
    /// Would wait behind other sessions (queueing traffic behind it while it waits, unless a
    /// lock_timeout stops it), or changes rows of a large table.
    Risky {
        /// Why.
        reason: String,
    },
    /// Would hold traffic out for about `secs` at the table's current size.
    Blocks {
        /// What it holds up.
        traffic: Blocks,
        /// About how long, in seconds.
        secs: f64,
    },
}

impl Verdict {
    fn rank(&self) -> u8 {
        match self {
            Verdict::Safe => 0,
            Verdict::Risky { .. } => 1,
            Verdict::Blocks { .. } => 2,
        }
    }

    /// Whether the statement is safe.
    pub fn is_safe(&self) -> bool {
        *self == Verdict::Safe
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Safe => f.write_str("safe"),
            Verdict::Risky { reason } => write!(f, "risky: {reason}"),
            Verdict::Blocks { traffic, secs } => {
                write!(
                    f,
                    "would block {traffic} for about {} at this size",
                    seconds(*secs)
                )
            }
        }
    }
}

fn seconds(secs: f64) -> String {
    if secs < 1.0 {
        format!("{secs:.2} s")
    } else if secs < 90.0 {
        format!("{secs:.0} s")
    } else {
        format!("{:.0} min", secs / 60.0)
    }
}

/// A session the plan found in the way, or an open transaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Session {
    /// Its process id (`pg_terminate_backend(pid)` ends it).
    pub pid: i32,
    /// `active`, `idle in transaction`, ...
    pub state: String,
    /// The lock it holds or waits for on the table (`AccessShareLock`), when it is in the way of one.
    pub lock: Option<String>,
    /// Whether it holds that lock (false: it waits for it).
    pub granted: bool,
    /// How long its transaction has been open, in seconds.
    pub transaction_secs: Option<f64>,
    /// Its application name.
    pub application: String,
    /// Its current or last query, shortened.
    pub query: String,
}

/// What a statement does to one table, and what the table is now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TablePlan {
    /// The table as written.
    pub table: String,
    /// The lock taken.
    pub lock: LockMode,
    /// What that lock holds up.
    pub blocks: Blocks,
    /// The work done under it.
    pub work: Work,
    /// Whether the table exists now (false: an earlier step creates it).
    pub exists: bool,
    /// Its size with indexes, in bytes.
    pub size_bytes: i64,
    /// The planner's row estimate.
    pub rows: i64,
    /// About how long the lock is held for the work, in seconds.
    pub estimated_secs: f64,
    /// Sessions holding or waiting for a lock that conflicts with this one.
    pub conflicting: Vec<Session>,
}

/// One pending statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StatementPlan {
    /// The migration's version.
    pub version: i64,
    /// Its file.
    pub file: String,
    /// 1-based line of the statement.
    pub line: usize,
    /// The statement, shortened.
    pub statement: String,
    /// What it does to each table.
    pub tables: Vec<TablePlan>,
    /// The verdict.
    pub verdict: Verdict,
    /// The lint findings of this statement.
    pub findings: Vec<LintFinding>,
}

/// The plan of the pending migrations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LockPlan {
    /// The version now recorded.
    pub current: Option<i64>,
    /// The version after the pending migrations.
    pub target: Option<i64>,
    /// Every pending statement, in order.
    pub statements: Vec<StatementPlan>,
    /// The oldest open transactions in the database (at most five).
    pub long_transactions: Vec<Session>,
    /// The worst statement's verdict.
    pub verdict: Verdict,
    /// Syntax errors of the pending files (nothing would run).
    pub syntax_errors: Vec<LintFinding>,
}

impl LockPlan {
    /// The statements that are not safe.
    pub fn risky(&self) -> impl Iterator<Item = &StatementPlan> {
        self.statements.iter().filter(|s| !s.verdict.is_safe())
    }
}

impl PgMigrator {
    /// Plans the pending up migrations (up to `to`) against the live database: see the module.
    pub async fn plan_locks(&self, to: Option<i64>, options: &PlanOptions) -> Result<LockPlan> {
        let steps = self.plan_up(to).await?;
        let conn = self.connector.get().await?;
        let tables = self.tables(&conn).await?;
        let current = tables.read(&*conn).await?.map(|s| s.version);
        let major = (super::server_version_num(&conn).await? / 10000) as u32;
        let plan = plan_steps(&conn, &self.source, &steps, options, major).await?;
        conn.release();
        Ok(LockPlan { current, ..plan })
    }
}

/// Plans `steps` of `source` on the server of `client`, whose major version is `major`.
pub(crate) async fn plan_steps(
    client: &Client,
    source: &MigrationSource,
    steps: &[PlannedStep],
    options: &PlanOptions,
    major: u32,
) -> Result<LockPlan> {
    let lint_options = lint::LintOptions::default().with_server_major(major);
    let mut created = BTreeSet::new();
    let mut statements = Vec::new();
    let mut syntax_errors = Vec::new();
    for step in steps {
        let Some(m) = source
            .migrations()
            .iter()
            .find(|m| m.version == step.version)
        else {
            continue;
        };
        let script = match step.direction {
            Direction::Up => &m.up,
            Direction::Down => match &m.down {
                Some(down) => down,
                None => continue,
            },
        };
        let findings = lint::check_script(&script.file, &script.sql, &lint_options);
        syntax_errors.extend(
            findings
                .iter()
                .filter(|f| f.rule == "syntax-error")
                .cloned(),
        );
        for statement in read_statements(&script.sql, major) {
            let plan = plan_statement(client, &statement, &mut created, options).await?;
            statements.push(StatementPlan {
                version: m.version,
                file: script.file.clone(),
                findings: findings
                    .iter()
                    .filter(|f| (statement.line..=statement.end_line).contains(&f.line))
                    .cloned()
                    .collect(),
                ..plan
            });
        }
    }
    let verdict = statements
        .iter()
        .map(|s| s.verdict.clone())
        .max_by_key(Verdict::rank)
        .unwrap_or(Verdict::Safe);
    Ok(LockPlan {
        current: None,
        target: steps.last().and_then(|s| s.resulting_version),
        statements,
        long_transactions: long_transactions(client).await?,
        verdict,
        syntax_errors,
    })
}

/// What the plan needs of a statement, read from its syntax tree before any query (the tree is not
/// `Send`).
struct ReadStatement {
    line: usize,
    end_line: usize,
    head: String,
    effects: Vec<lint::TableEffect>,
    creates: Option<String>,
}

fn read_statements(sql: &str, major: u32) -> Vec<ReadStatement> {
    cst::parse(sql)
        .statements
        .iter()
        .map(|statement| ReadStatement {
            line: statement.line,
            end_line: statement.end_line,
            head: statement.head(),
            effects: lint::effects(statement, major),
            creates: (statement.kind() == squawk_syntax::SyntaxKind::CREATE_TABLE)
                .then(|| cst::first_table(&statement.node))
                .flatten()
                .map(|t| cst::relation_key(&t)),
        })
        .collect()
}

/// One statement's tables and verdict (the caller fills in its file and findings).
async fn plan_statement(
    client: &Client,
    statement: &ReadStatement,
    created: &mut BTreeSet<String>,
    options: &PlanOptions,
) -> Result<StatementPlan> {
    let mut tables = Vec::new();
    for effect in &statement.effects {
        if effect.table.is_empty() {
            continue;
        }
        let relation = if created.contains(&cst::relation_key(&effect.table)) {
            None
        } else {
            relation(client, &effect.table).await?
        };
        let (exists, size, heap, rows) =
            relation.map_or((false, 0, 0, 0), |r| (true, r.1, r.2, r.3));
        let conflicting = match relation {
            Some((oid, ..)) => conflicting_sessions(client, oid, effect.lock).await?,
            None => Vec::new(),
        };
        tables.push(TablePlan {
            estimated_secs: estimate(effect.work, size, heap),
            table: effect.table.clone(),
            lock: effect.lock,
            blocks: effect.lock.blocks(),
            work: effect.work,
            exists,
            size_bytes: size,
            rows,
            conflicting,
        });
    }
    if let Some(table) = &statement.creates {
        created.insert(table.clone());
    }
    let verdict = judge(&tables, options);
    Ok(StatementPlan {
        version: 0,
        file: String::new(),
        line: statement.line,
        statement: statement.head.clone(),
        tables,
        verdict,
        findings: Vec::new(),
    })
}

/// Bytes per second of each kind of work (see the module).
fn estimate(work: Work, total_bytes: i64, heap_bytes: i64) -> f64 {
    const MB: f64 = 1024.0 * 1024.0;
    let (bytes, rate) = match work {
        Work::Catalog => return 0.0,
        Work::Scan | Work::Rows => (heap_bytes, 400.0 * MB),
        Work::IndexBuild => (heap_bytes, 60.0 * MB),
        Work::Rewrite => (total_bytes, 40.0 * MB),
    };
    bytes as f64 / rate
}

/// Rows at which changing every row of a table in a migration is risky.
const LARGE_TABLE_ROWS: i64 = 100_000;

fn judge(tables: &[TablePlan], options: &PlanOptions) -> Verdict {
    let mut verdict = Verdict::Safe;
    for t in tables {
        let candidate = if t.blocks == Blocks::SchemaChanges && t.work != Work::Rows {
            Verdict::Safe
        } else if t.work == Work::Rows && t.rows >= LARGE_TABLE_ROWS {
            Verdict::Risky {
                reason: format!(
                    "changes rows of `{}` ({} rows) inside the migration's transaction",
                    t.table, t.rows
                ),
            }
        } else if t.work.scales()
            && t.work != Work::Rows
            && t.estimated_secs > options.max_blocking.as_secs_f64()
        {
            Verdict::Blocks {
                traffic: t.blocks,
                secs: t.estimated_secs,
            }
        } else if let Some(session) = t.conflicting.first() {
            Verdict::Risky {
                reason: format!(
                    "waits for {} session(s) on `{}`, e.g. pid {} ({}{}) holding {}; every query on the table queues behind the wait",
                    t.conflicting.len(),
                    t.table,
                    session.pid,
                    session.state,
                    session
                        .transaction_secs
                        .map(|s| format!(", transaction open {}", seconds(s)))
                        .unwrap_or_default(),
                    session.lock.as_deref().unwrap_or("a lock")
                ),
            }
        } else {
            Verdict::Safe
        };
        if candidate.rank() > verdict.rank() {
            verdict = candidate;
        }
    }
    verdict
}

/// `(oid, total bytes, heap bytes, row estimate)` of a table, if it exists.
async fn relation(client: &Client, table: &str) -> Result<Option<(u32, i64, i64, i64)>> {
    let row = client
        .query_opt(
            "SELECT c.oid, pg_total_relation_size(c.oid), pg_relation_size(c.oid), \
                    greatest(c.reltuples, 0)::bigint \
             FROM pg_class c WHERE c.oid = to_regclass($1)",
            &[&table],
        )
        .await
        .map_err(|e| Error::postgres(format!("reading the size of `{table}`"), e))?;
    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))))
}

const SESSION_COLUMNS: &str = "a.pid, coalesce(a.state, ''), \
     extract(epoch FROM now() - a.xact_start)::float8, coalesce(a.application_name, ''), \
     left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 120)";

/// Sessions holding or waiting for a lock on `oid` that conflicts with `mode`.
async fn conflicting_sessions(client: &Client, oid: u32, mode: LockMode) -> Result<Vec<Session>> {
    let rows = client
        .query(
            &format!(
                "SELECT {SESSION_COLUMNS}, l.mode, l.granted FROM pg_locks l \
                 JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'relation' AND l.relation = $1 AND l.pid <> pg_backend_pid() \
                 ORDER BY a.xact_start NULLS LAST"
            ),
            &[&oid],
        )
        .await
        .map_err(|e| Error::postgres("reading the locks held on a table", e))?;
    Ok(rows
        .iter()
        .filter(|r| {
            LockMode::from_pg_locks(r.get::<_, &str>(5))
                .is_some_and(|held| held.conflicts_with(mode))
        })
        .map(|r| Session {
            lock: Some(r.get::<_, String>(5)),
            granted: r.get(6),
            ..session(r)
        })
        .collect())
}

fn session(row: &tokio_postgres::Row) -> Session {
    Session {
        pid: row.get(0),
        state: row.get(1),
        lock: None,
        granted: true,
        transaction_secs: row.get(2),
        application: row.get(3),
        query: row.get(4),
    }
}

/// The oldest open transactions in this database besides this session.
async fn long_transactions(client: &Client) -> Result<Vec<Session>> {
    let rows = client
        .query(
            &format!(
                "SELECT {SESSION_COLUMNS} FROM pg_stat_activity a \
                 WHERE a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid() AND a.datname = current_database() \
                   AND a.backend_type = 'client backend' \
                 ORDER BY a.xact_start LIMIT 5"
            ),
            &[],
        )
        .await
        .map_err(|e| Error::postgres("reading the open transactions", e))?;
    Ok(rows.iter().map(session).collect())
}

/// Refuses, or delays, a migration whose plan is not safe enough.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RiskGuard {
    /// What is allowed: statements judged [`Verdict::Blocks`] for longer than this are refused.
    /// Default: 5 s.
    pub max_blocking: Duration,
    /// How long to wait, re-planning every second, for sessions in the way (a [`Verdict::Risky`]
    /// wait) to finish before migrating anyway, the lock_timeout then protecting traffic.
    /// Default: 30 s.
    pub wait_for_sessions: Duration,
    /// Refuse, rather than migrate, when sessions are still in the way after the wait. Default:
    /// false.
    pub refuse_when_waiting: bool,
}

impl Default for RiskGuard {
    fn default() -> Self {
        Self {
            max_blocking: Duration::from_secs(5),
            wait_for_sessions: Duration::from_secs(30),
            refuse_when_waiting: false,
        }
    }
}

crate::setters::with_setters!(RiskGuard {
    with_max_blocking => max_blocking: Duration,
    with_wait_for_sessions => wait_for_sessions: Duration,
    with_refuse_when_waiting => refuse_when_waiting: bool,
});

/// Applies `guard` to `steps` before they run: refuses statements that would block too long, and
/// waits for sessions in the way.
pub(crate) async fn enforce(
    client: &Client,
    source: &MigrationSource,
    steps: &[PlannedStep],
    guard: &RiskGuard,
    major: u32,
) -> Result<()> {
    let options = PlanOptions::default().with_max_blocking(guard.max_blocking);
    let deadline = tokio::time::Instant::now() + guard.wait_for_sessions;
    loop {
        let plan = plan_steps(client, source, steps, &options, major).await?;
        if let Some(error) = plan.syntax_errors.first() {
            return Err(refused(format!("{error}")));
        }
        if let Some(s) = plan
            .statements
            .iter()
            .find(|s| matches!(s.verdict, Verdict::Blocks { .. }))
        {
            return Err(refused(format!(
                "{}:{}: `{}` {} (limit {}); run it in a maintenance window or rewrite it (see `dbops migrate plan`)",
                s.file,
                s.line,
                s.statement,
                s.verdict,
                seconds(guard.max_blocking.as_secs_f64())
            )));
        }
        let Some(waiting) = plan
            .risky()
            .find(|s| s.tables.iter().any(|t| !t.conflicting.is_empty()))
        else {
            return Ok(());
        };
        if tokio::time::Instant::now() >= deadline {
            if guard.refuse_when_waiting {
                return Err(refused(format!(
                    "{}:{}: {}",
                    waiting.file, waiting.line, waiting.verdict
                )));
            }
            tracing::warn!(file = %waiting.file, line = waiting.line, verdict = %waiting.verdict, "migrating although sessions are in the way; lock_timeout protects traffic");
            return Ok(());
        }
        tracing::info!(file = %waiting.file, line = waiting.line, verdict = %waiting.verdict, "waiting for sessions in the way before migrating");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn refused(reason: String) -> Error {
    Error::Refused {
        action: "migrate (risk guard)".into(),
        reason,
    }
}
