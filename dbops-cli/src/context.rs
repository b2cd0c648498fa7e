//! What every command shares: global options, the database to work on, output and progress.

use std::time::Duration;

use clap::{Args, ValueEnum};
use tokio::sync::OnceCell;

use dbops::cluster::{DetachedCluster, TempCluster};
use dbops::config::DatabaseUrl;
use dbops::error::Result;
use dbops::progress::{Progress, ProgressUnit};

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// PostgreSQL URL or key=value string. Without it, dbops uses the cluster started by
    /// `dbops cluster start`, else a throwaway embedded cluster removed when the command exits.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars or notices on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace). `RUST_LOG` overrides.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// State shared by the commands of one CLI run.
#[derive(Debug)]
pub struct Context {
    /// The global options.
    pub global: GlobalArgs,
    /// Whether to print JSON.
    pub json: bool,
    embedded: OnceCell<TempCluster>,
    exit_code: std::sync::atomic::AtomicI32,
}

impl Context {
    /// A context for the given options.
    pub fn new(global: GlobalArgs) -> Self {
        Self {
            json: global.json,
            global,
            embedded: OnceCell::new(),
            exit_code: std::sync::atomic::AtomicI32::new(0),
        }
    }

    /// Sets the exit code of a command that succeeded but reports a state (e.g. health: 0/1/2).
    pub fn set_exit_code(&self, code: i32) {
        self.exit_code
            .store(code, std::sync::atomic::Ordering::Relaxed);
    }

    /// The exit code set by [`Context::set_exit_code`] (0 unless set).
    pub fn exit_code(&self) -> i32 {
        self.exit_code.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The database to work on: `--database-url`/`DATABASE_URL`, else the running cluster of
    /// `dbops cluster start`, else a throwaway embedded cluster (said on stderr).
    pub async fn database_url(&self) -> Result<DatabaseUrl> {
        if let Some(raw) = &self.global.database_url {
            return DatabaseUrl::parse(raw);
        }
        if let Some(info) = DetachedCluster::find("default")?.filter(|info| info.is_running()) {
            self.notice(&format!(
                "no --database-url or DATABASE_URL: using the embedded cluster started by `dbops cluster start` ({})",
                info.url
            ));
            return info.database_url();
        }
        let cluster = self
            .embedded
            .get_or_try_init(|| async {
                self.notice(
                    "no --database-url or DATABASE_URL: starting a throwaway embedded PostgreSQL cluster \
                     (removed when this command exits; `dbops cluster start` keeps one running)",
                );
                TempCluster::start().await
            })
            .await?;
        Ok(cluster.url())
    }

    /// Prints a notice on stderr unless `--quiet`.
    pub fn notice(&self, message: &str) {
        if !self.global.quiet {
            eprintln!("dbops: {message}");
        }
    }

    /// A progress bar on stderr for a long operation, or `None` with `--json`/`--quiet` or when stderr
    /// is not a terminal.
    pub fn progress(&self, label: &str) -> Option<Progress> {
        use std::io::IsTerminal;
        if self.json || self.global.quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        let label = label.to_owned();
        Some(Progress::new(move |event| {
            let style = match (event.unit, event.total) {
                (ProgressUnit::Bytes, Some(_)) => {
                    "{prefix} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}"
                }
                (ProgressUnit::Bytes, None) => "{prefix} {spinner} {bytes} {bytes_per_sec} {msg}",
                (_, Some(_)) => "{prefix} {bar:30} {pos}/{len} {msg}",
                (_, None) => "{prefix} {spinner} {pos} {msg}",
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(style) {
                bar.set_style(style);
            }
            bar.set_prefix(label.clone());
            bar.set_message(event.stage.clone());
            if let Some(total) = event.total {
                bar.set_length(total);
            }
            bar.set_position(event.done);
            if event.total.is_some_and(|total| event.done >= total) {
                bar.finish_and_clear();
            }
        }))
    }

    /// Prints `value` as pretty JSON with `--json`, else the text `text()` builds.
    pub fn print<T: serde::Serialize>(
        &self,
        value: &T,
        text: impl FnOnce() -> String,
    ) -> Result<()> {
        if self.json {
            let json = serde_json::to_string_pretty(value).map_err(|err| dbops::Error::Config {
                field: "--json".into(),
                reason: format!("could not encode the result as JSON: {err}"),
            })?;
            println!("{json}");
        } else {
            let text = text();
            if !text.is_empty() {
                println!("{}", text.trim_end());
            }
        }
        Ok(())
    }

    /// Stops the throwaway embedded cluster if this run started one.
    pub async fn finish(&self) {
        if let Some(cluster) = self.embedded.get() {
            let _ = cluster.stop().await;
        }
    }
}
