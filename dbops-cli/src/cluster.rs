//! `dbops cluster start|stop|status`: named embedded clusters that outlive the command.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::Context;
use dbops::cluster::{DetachedCluster, DetachedClusterInfo, Durability, Listen, TempCluster};
use dbops::config::DatabaseUrl;
use dbops::error::{Error, Result};

/// `dbops cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Start a named cluster in the background from the local PostgreSQL server binaries.
    Start(StartArgs),
    /// Stop a named cluster and remove its files (a `--data-dir` given at start is kept).
    Stop {
        /// Which cluster.
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Show the running named clusters.
    #[command(alias = "list")]
    Status,
}

/// `dbops cluster start`
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Name to find it by later (`dbops cluster stop --name`). Commands without a database URL use
    /// the one named `default`.
    #[arg(long, default_value = "default")]
    name: String,
    /// Print only the connection URL on stdout (for `export DATABASE_URL=$(dbops cluster start --print-url)`).
    #[arg(long)]
    print_url: bool,
    /// Also listen on TCP 127.0.0.1 (with a random password); `--print-url` then prints the TCP URL.
    #[arg(long)]
    tcp: bool,
    /// TCP port (implies --tcp); a free one is picked by default.
    #[arg(long)]
    port: Option<u16>,
    /// Keep the data in this directory across stops (created by initdb if empty).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Durable settings (fsync on). The default is fast test settings: fsync, synchronous_commit and
    /// full_page_writes off.
    #[arg(long)]
    durable: bool,
    /// Keep the cluster's files in memory (on /dev/shm when it has 1 GiB free; else as usual): fast
    /// database clones for test suites; the data lives in RAM until the cluster stops.
    #[arg(long)]
    in_memory: bool,
    /// The installed PostgreSQL major version to run (default: `DBOPS_PG_MAJOR`, else the first
    /// installation found; a `--data-dir` that holds a cluster runs the major that made it).
    #[arg(long)]
    major: Option<u32>,
    /// Extra server setting, repeatable: `--set work_mem=64MB`.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    settings: Vec<String>,
}

#[derive(Serialize)]
struct ClusterView {
    name: String,
    pid: u32,
    port: u16,
    version: String,
    started_at: chrono::DateTime<chrono::Utc>,
    data_dir: PathBuf,
    url: String,
    tcp_url: Option<String>,
}

impl ClusterView {
    /// The URLs shown with the TCP password redacted.
    fn of(info: &DetachedClusterInfo) -> Self {
        let redact = |raw: &str| {
            DatabaseUrl::parse(raw)
                .map(|u| u.redacted())
                .unwrap_or_default()
        };
        Self {
            name: info.name.clone(),
            pid: info.pid,
            port: info.port,
            version: info.version.clone(),
            started_at: info.started_at,
            data_dir: info.data_dir.clone(),
            url: redact(&info.url),
            tcp_url: info.tcp_url.as_deref().map(redact),
        }
    }
}

/// Runs `dbops cluster ...`.
pub async fn run(cmd: ClusterCommand, ctx: &Context) -> Result<()> {
    match cmd {
        ClusterCommand::Start(args) => start(args, ctx).await,
        ClusterCommand::Stop { name } => match DetachedCluster::stop(&name).await? {
            Some(info) => ctx.print(&ClusterView::of(&info), || {
                format!("stopped cluster `{name}` (pid {})", info.pid)
            }),
            None => Err(Error::Refused {
                action: format!("stop cluster `{name}`"),
                reason: "no cluster with this name is running (see `dbops cluster status`)".into(),
            }),
        },
        ClusterCommand::Status => {
            let views: Vec<ClusterView> = DetachedCluster::list()?
                .iter()
                .map(ClusterView::of)
                .collect();
            ctx.print(&views, || {
                if views.is_empty() {
                    return "no embedded clusters running (start one with `dbops cluster start`)"
                        .into();
                }
                let mut out = format!(
                    "{:<12} {:>8} {:>6}  {:<8} URL\n",
                    "NAME", "PID", "PORT", "VERSION"
                );
                for v in &views {
                    out.push_str(&format!(
                        "{:<12} {:>8} {:>6}  {:<8} {}\n",
                        v.name, v.pid, v.port, v.version, v.url
                    ));
                }
                out
            })
        }
    }
}

async fn start(args: StartArgs, ctx: &Context) -> Result<()> {
    let mut builder = TempCluster::builder();
    if args.tcp || args.port.is_some() {
        builder = builder.listen(Listen::Tcp);
    }
    if let Some(port) = args.port {
        builder = builder.port(port);
    }
    if let Some(dir) = args.data_dir {
        builder = builder.data_dir(dir);
    }
    if args.durable {
        builder = builder.durability(Durability::Durable);
    }
    builder = builder.in_memory(args.in_memory);
    if let Some(major) = args.major {
        builder = builder.major(major);
    }
    for setting in &args.settings {
        let (name, value) = setting.split_once('=').ok_or_else(|| {
            Error::config(
                "--set",
                format!("`{setting}` is not NAME=VALUE (example: --set work_mem=64MB)"),
            )
        })?;
        builder = builder.setting(name.trim(), value.trim());
    }
    let info = DetachedCluster::start(&args.name, builder).await?;
    if args.print_url {
        let url = if args.tcp || args.port.is_some() {
            info.tcp_url.clone().unwrap_or_else(|| info.url.clone())
        } else {
            info.url.clone()
        };
        println!("{url}");
        return Ok(());
    }
    ctx.print(&ClusterView::of(&info), || {
        format!(
            "started cluster `{}`: PostgreSQL {} pid {} port {}\n  url: {}\n  data: {}\nstop it with `dbops cluster stop{}`",
            info.name,
            info.version,
            info.pid,
            info.port,
            ClusterView::of(&info).tcp_url.unwrap_or_else(|| info.url.clone()),
            info.data_dir.display(),
            if info.name == "default" { String::new() } else { format!(" --name {}", info.name) }
        )
    })
}
