//! `dbops health ...` and `dbops db status|kill`.

use clap::{Args, Subcommand};

use super::Context;
use dbops::error::{Error, Result};
use dbops::health::{HealthOptions, HealthProbe, HealthReport, HealthStatus, PgHealthProbe};
use dbops::monitor::{self, DbStatus, StatusOptions};

/// `dbops health ...`
#[derive(Debug, Subcommand)]
pub enum HealthCommand {
    /// Serve /healthz, /health/live, /health/ready and /metrics (for a sidecar).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        probe: ProbeArgs,
        /// Also expose backup health metrics of the backups in this store on /metrics.
        #[arg(long, env = "DBOPS_STORE")]
        store: Option<String>,
        /// Whose backups (default: the database of the URL); repeatable.
        #[arg(long = "backup-database", requires = "store")]
        backup_databases: Vec<String>,
    },
    /// Run the readiness checks once; exit 1 when not ready.
    Check {
        #[command(flatten)]
        probe: ProbeArgs,
    },
}

/// Readiness options.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Seconds allowed for the checks.
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
    /// Do not require applied, clean migrations.
    #[arg(long)]
    no_migrations: bool,
    /// Require at least this migration version.
    #[arg(long)]
    min_version: Option<i64>,
}

impl ProbeArgs {
    fn options(&self) -> Result<HealthOptions> {
        let mut options = HealthOptions::default().with_timeout(dbops::config::duration_from(
            "--timeout",
            self.timeout,
            dbops::config::TimeUnit::Seconds,
        )?);
        match (&mut options.migrations, self.no_migrations) {
            (_, true) => options.migrations = None,
            (Some(m), false) => m.min_version = self.min_version,
            (None, false) => {}
        }
        Ok(options)
    }
}

/// `dbops db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Connections, long queries, locks, sizes, indexes, vacuum, cache, archiving, replication.
    Status {
        /// List queries running longer than this many seconds.
        #[arg(long, default_value_t = 60.0)]
        long_running: f64,
        /// Rows per list.
        #[arg(long, default_value_t = 10)]
        limit: i64,
    },
    /// Terminate a backend (e.g. a blocking session from `db status`).
    Kill {
        /// The backend's pid.
        pid: i32,
        /// Confirm.
        #[arg(long)]
        yes: bool,
    },
}

fn report_text(report: &HealthReport) -> String {
    let mut out = format!("{}\n", if report.is_up() { "ready" } else { "NOT READY" });
    for c in &report.checks {
        let mark = if c.status == HealthStatus::Up {
            "ok "
        } else {
            "FAIL"
        };
        out.push_str(&format!(
            "  {mark} {:<12} {:>8.2} ms  {}\n",
            c.name, c.latency_ms, c.message
        ));
    }
    out
}

/// Runs `dbops health ...`.
pub async fn run_health(cmd: HealthCommand, ctx: &Context) -> Result<()> {
    match cmd {
        HealthCommand::Check { probe } => {
            let probe = PgHealthProbe::for_url(&ctx.database_url().await?, probe.options()?)?;
            let report = probe.ready().await;
            ctx.print(&report, || report_text(&report))?;
            if report.is_up() {
                Ok(())
            } else {
                Err(Error::Refused {
                    action: "report ready".into(),
                    reason: "a readiness check failed (see above)".into(),
                })
            }
        }
        HealthCommand::Serve {
            listen,
            probe,
            store,
            backup_databases,
        } => {
            let url = ctx.database_url().await?;
            let probe = PgHealthProbe::for_url(&url, probe.options()?)?;
            let mut backups = Vec::new();
            if let Some(store) = store {
                let store = dbops::storage::ObjectBackupStore::open(&store)?;
                let names = if backup_databases.is_empty() {
                    vec![url.database()]
                } else {
                    backup_databases
                };
                for name in names {
                    backups.push(dbops::backup::BackupHealth::new(
                        store.clone(),
                        name,
                        dbops::backup::BackupHealthOptions::default(),
                    ));
                }
            }
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| Error::io(format!("listening on {listen}"), "", e))?;
            let addr = listener
                .local_addr()
                .map_err(|e| Error::io("reading the listen address", "", e))?;
            ctx.notice(&format!(
                "serving health on http://{addr} (/healthz /health/live /health/ready /metrics)"
            ));
            axum::serve(listener, dbops::health::router_with_backups(probe, backups))
                .await
                .map_err(|e| Error::io("serving health requests", "", e))
        }
    }
}

fn bytes(n: i64) -> String {
    let n = n as f64;
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.1} kB", n / 1e3),
        n => format!("{n} B"),
    }
}

fn status_text(s: &DbStatus) -> String {
    [
        overview_text(s),
        sessions_text("long-running queries", &s.long_running),
        sessions_text(
            "blocked sessions (terminate with `dbops db kill PID --yes`)",
            &s.blocked,
        ),
        tables_text(s),
        indexes_text(s),
        maintenance_text(s),
        top_queries_text(s),
    ]
    .concat()
}

/// Server, size, connections and cache hit ratio.
fn overview_text(s: &DbStatus) -> String {
    let mut out = format!(
        "PostgreSQL {}  database {}  size {}  up {:.0} s  max_connections {}\n",
        s.server_version,
        s.database,
        bytes(s.database_bytes),
        s.uptime_secs,
        s.max_connections
    );
    out.push_str("\nconnections: ");
    out.push_str(
        &s.connections
            .iter()
            .map(|c| format!("{} {}", c.count, c.state))
            .collect::<Vec<_>>()
            .join(", "),
    );
    out.push_str(&format!(
        "\ncache hit ratio: {}\n",
        s.cache_hit_ratio
            .map_or("n/a".into(), |r| format!("{:.2}%", r * 100.0))
    ));
    out
}

fn sessions_text(title: &str, list: &[monitor::Session]) -> String {
    let mut t = format!("\n{title}: {}\n", list.len());
    for x in list {
        t.push_str(&format!(
            "  pid {:<7} {:>7.1} s  {:<8} blocked by {:?}  {}\n",
            x.pid,
            x.seconds,
            x.state.as_deref().unwrap_or("-"),
            x.blocked_by,
            x.query.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    t
}

fn tables_text(s: &DbStatus) -> String {
    let mut out = format!(
        "\nlargest tables{}:\n",
        if s.sizes_estimated {
            " (estimated: a table is locked)"
        } else {
            ""
        }
    );
    out.push_str(&format!(
        "  {:<40} {:>10} {:>10} {:>10} {:>10}\n",
        "TABLE", "TOTAL", "TABLE", "INDEXES", "ROWS"
    ));
    for t in &s.largest_tables {
        out.push_str(&format!(
            "  {:<40} {:>10} {:>10} {:>10} {:>10}\n",
            t.table,
            bytes(t.total_bytes),
            bytes(t.table_bytes),
            bytes(t.index_bytes),
            t.rows
        ));
    }
    out
}

fn indexes_text(s: &DbStatus) -> String {
    let mut out = format!("\nunused indexes: {}\n", s.unused_indexes.len());
    for i in &s.unused_indexes {
        out.push_str(&format!(
            "  {:<50} {:>10} on {}\n",
            i.index,
            bytes(i.bytes),
            i.table
        ));
    }
    out.push_str(&format!(
        "\nduplicate indexes: {}\n",
        s.duplicate_indexes.len()
    ));
    for i in &s.duplicate_indexes {
        out.push_str(&format!(
            "  {} duplicates {}\n",
            i.index,
            i.duplicate_of.as_deref().unwrap_or("?")
        ));
    }
    out
}

/// Dead tuples, archiving and replication.
fn maintenance_text(s: &DbStatus) -> String {
    let mut out = String::from("\ndead tuples:\n");
    for v in s.vacuum.iter().filter(|v| v.dead_tuples > 0) {
        out.push_str(&format!(
            "  {:<40} dead {:>10} live {:>10} last vacuum {}\n",
            v.table,
            v.dead_tuples,
            v.live_tuples,
            v.last_vacuum.map_or("never".into(), |t| t.to_rfc3339())
        ));
    }
    let a = &s.archiver;
    out.push_str(&format!(
        "\narchiving: mode {}, {} archived (last {}), {} failed (last {})\n",
        a.archive_mode,
        a.archived_count,
        a.last_archived_wal.as_deref().unwrap_or("-"),
        a.failed_count,
        a.last_failed_wal.as_deref().unwrap_or("-")
    ));
    out.push_str(&format!("replication: {}\n", s.replication.len()));
    for r in &s.replication {
        out.push_str(&format!(
            "  {} {} active={} lag {}\n",
            r.kind,
            r.name,
            r.active,
            r.lag_bytes.map_or("-".into(), bytes)
        ));
    }
    out
}

fn top_queries_text(s: &DbStatus) -> String {
    let Some(list) = &s.top_queries else {
        return "top queries: pg_stat_statements is not installed in this database\n".into();
    };
    let mut out = String::from("top queries by total time:\n");
    for q in list {
        out.push_str(&format!(
            "  {:>10.1} ms {:>8} calls  {}\n",
            q.total_ms,
            q.calls,
            q.query.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    out
}

/// Runs `dbops db ...`.
pub async fn run_db(cmd: DbCommand, ctx: &Context) -> Result<()> {
    match cmd {
        DbCommand::Status {
            long_running,
            limit,
        } => {
            let status = monitor::status(
                &ctx.database_url().await?,
                &StatusOptions::default()
                    .with_long_running_secs(long_running)
                    .with_limit(limit),
            )
            .await?;
            ctx.print(&status, || status_text(&status))
        }
        DbCommand::Kill { pid, yes } => {
            if !yes {
                return Err(Error::Refused {
                    action: format!("terminate backend {pid}"),
                    reason: "its transaction is rolled back and its client disconnected; add --yes to confirm".into(),
                });
            }
            let killed = monitor::terminate(&ctx.database_url().await?, pid).await?;
            if !killed {
                // Nothing was terminated: the command did not do what it was asked to.
                ctx.set_exit_code(1);
            }
            ctx.print(&killed, || {
                if killed {
                    format!("terminated backend {pid}")
                } else {
                    format!(
                        "no backend with pid {pid} (it ended, or the pid is wrong: `dbops db status` \
                         lists the sessions)"
                    )
                }
            })
        }
    }
}
