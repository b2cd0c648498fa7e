//! `dbops wal push|fetch|prefetch`, `dbops basebackup` and `dbops pitr restore|restore-point|status|setup|prune`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Context;
use super::backup::{KeyArgs, StoreArgs, human_bytes};
use dbops::backup::Encryption;
use dbops::error::{Error, Result};
use dbops::pitr::{self, PitrOptions, RecoveryOptions, RecoveryTarget};
use dbops::storage::StoreOptions;

/// Where the WAL archive and base backups live, and how they are encrypted.
#[derive(Debug, Clone, Args)]
pub struct ArchiveArgs {
    /// Archive store (one per cluster): file:///dir, s3://bucket/prefix, gs://..., az://...
    #[arg(long = "store", env = "DBOPS_PITR_STORE")]
    store: String,
    /// Store option KEY=VALUE; repeatable. Credentials belong in the environment.
    #[arg(long = "store-option", value_name = "KEY=VALUE")]
    store_options: Vec<String>,
    /// Encrypt to this age public key; repeatable.
    #[arg(
        long = "recipient",
        env = "DBOPS_AGE_RECIPIENTS",
        value_delimiter = ','
    )]
    recipients: Vec<String>,
    /// Encrypt with the passphrase in this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "recipients")]
    encrypt_passphrase_env: Option<String>,
    #[command(flatten)]
    keys: KeyArgs,
    /// Deadline in seconds of one push or fetch, retries included.
    #[arg(long, default_value_t = 60.0)]
    deadline: f64,
    /// zstd level for pushed WAL and base backups (negative levels trade size for speed).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    level: i32,
}

impl ArchiveArgs {
    fn store_args(&self) -> StoreArgs {
        StoreArgs {
            store: self.store.clone(),
            store_options: self.store_options.clone(),
        }
    }

    /// The archive_command / restore_command builder for these arguments: the store, its options,
    /// encryption (recipients or the passphrase variable's name), level and deadline.
    fn wal_commands(&self, program: Option<PathBuf>) -> Result<pitr::WalCommands> {
        let mut commands = pitr::WalCommands::new(&self.store)
            .store_options(StoreOptions::from_pairs(&self.store_options)?.options)
            .recipients(
                self.recipients
                    .iter()
                    .map(|r| r.trim())
                    .filter(|r| !r.is_empty()),
            )
            .level(self.level)
            .deadline(dbops::config::duration_from(
                "--deadline",
                self.deadline,
                dbops::config::TimeUnit::Seconds,
            )?);
        if let Some(var) = &self.encrypt_passphrase_env {
            commands = commands.passphrase_env(var);
        }
        if let Some(program) = program {
            commands = commands.program(program);
        }
        Ok(commands)
    }

    /// The commands that fetch from this archive: this program, the store, its options and the keys
    /// to decrypt with.
    fn fetch_commands(&self) -> Result<pitr::WalCommands> {
        let mut commands = pitr::WalCommands::new(&self.store)
            .store_options(StoreOptions::from_pairs(&self.store_options)?.options)
            .passphrase_env(&self.keys.passphrase_env);
        if let Ok(program) = std::env::current_exe() {
            commands = commands.program(program);
        }
        if let Some(identity) = &self.keys.identity {
            commands = commands.identity_file(
                std::path::absolute(identity)
                    .map_err(|e| Error::io("resolving the identity file", identity, e))?,
            );
        }
        Ok(commands)
    }

    fn options(&self) -> Result<PitrOptions> {
        let passphrase = self
            .encrypt_passphrase_env
            .as_deref()
            .map(|var| Encryption::passphrase_from_env("--encrypt-passphrase-env", var))
            .transpose()?;
        let encryption = Encryption::choose(self.recipients.clone(), passphrase)?;
        Ok(PitrOptions::default()
            .with_encryption(encryption)
            .with_decryption(self.keys.decryption()?)
            .with_deadline(dbops::config::duration_from(
                "--deadline",
                self.deadline,
                dbops::config::TimeUnit::Seconds,
            )?)
            .with_compression_level(self.level))
    }
}

/// `dbops wal ...`
#[derive(Debug, Subcommand)]
pub enum WalCommand {
    /// Archive one WAL file: archive_command = 'dbops wal push --store URL %p'.
    Push {
        #[command(flatten)]
        archive: ArchiveArgs,
        /// The file (%p).
        path: PathBuf,
    },
    /// Restore one WAL file: restore_command = 'dbops wal fetch --store URL %f %p'. Exit 1 when the
    /// archive does not have it.
    Fetch {
        #[command(flatten)]
        archive: ArchiveArgs,
        /// The file name (%f).
        name: String,
        /// Where to write it (%p).
        dest: PathBuf,
        /// Download this many following segments in the background (0: no prefetch).
        #[arg(long, default_value_t = 8)]
        prefetch: u32,
    },
    /// Download the segments after NAME into the prefetch directory next to DEST (run by `wal fetch`).
    Prefetch {
        #[command(flatten)]
        archive: ArchiveArgs,
        /// The segment just fetched.
        name: String,
        /// Where it was written.
        dest: PathBuf,
        /// How many to fetch.
        #[arg(long, default_value_t = 8)]
        count: u32,
        /// Downloads at once.
        #[arg(long, default_value_t = 4)]
        parallel: usize,
    },
}

/// `dbops basebackup`
#[derive(Debug, Args)]
pub struct BaseBackupArgs {
    #[command(flatten)]
    archive: ArchiveArgs,
    /// Copy only the blocks changed since the newest base backup of this cluster in the store
    /// (PostgreSQL 17+, `summarize_wal = on`: `dbops pitr setup --apply` sets it). The first one,
    /// with nothing to build on, is full.
    ///
    /// Example: dbops basebackup --store s3://acme-backups/prod/pitr --incremental
    #[arg(long)]
    incremental: bool,
    /// With --incremental on a server older than 17: take a full base backup instead of failing.
    #[arg(long, requires = "incremental")]
    full_if_unsupported: bool,
}

/// `dbops pitr ...`
#[derive(Debug, Subcommand)]
pub enum PitrCommand {
    /// Restore a base backup into a new data directory and replay WAL to a target; optionally start it.
    Restore(Box<RestoreArgs>),
    /// Create a named restore point (pg_create_restore_point) and switch WAL.
    RestorePoint {
        /// Its name.
        name: String,
    },
    /// Archiver statistics, archived WAL per timeline and gaps, base backups, the recovery window.
    Status {
        #[command(flatten)]
        archive: ArchiveArgs,
        /// Do not query the server (store only).
        #[arg(long)]
        no_server: bool,
    },
    /// Read a base backup and every backup it is incremental on back from the store and check each
    /// object's sha256 against its manifest (nothing is unpacked).
    ///
    /// Example: dbops pitr verify --store s3://acme-backups/prod/pitr
    Verify {
        #[command(flatten)]
        archive: ArchiveArgs,
        /// The base backup whose chain to check (default: the newest).
        #[arg(long)]
        base_backup: Option<String>,
    },
    /// Print (or with --apply set with ALTER SYSTEM) the archiving settings.
    Setup {
        #[command(flatten)]
        archive: ArchiveArgs,
        /// archive_timeout.
        #[arg(long, default_value = "60s")]
        archive_timeout: String,
        /// The dbops program archive_command runs.
        #[arg(long)]
        dbops_program: Option<PathBuf>,
        /// Apply with ALTER SYSTEM and reload.
        #[arg(long)]
        apply: bool,
    },
    /// Keep the newest N base backups and the WAL they need; dry run unless --apply.
    Prune {
        #[command(flatten)]
        archive: ArchiveArgs,
        /// Base backups to keep.
        #[arg(long)]
        keep: usize,
        /// Carry out the plan.
        #[arg(long)]
        apply: bool,
    },
}

/// `dbops pitr restore ...`
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    archive: ArchiveArgs,
    /// The new data directory (must be empty or absent, unless --delta).
    #[arg(long)]
    data_dir: PathBuf,
    /// Restore into an existing, stopped data directory (a stale copy, the old primary after a
    /// failover): only files that differ from the backup are rewritten, files it does not have are
    /// removed.
    ///
    /// Example: dbops pitr restore --data-dir /var/lib/postgresql/18/main --delta --latest
    #[arg(long)]
    delta: bool,
    /// Stop at this time (RFC 3339 or "YYYY-mm-dd HH:MM:SS" UTC).
    #[arg(long, group = "target")]
    target_time: Option<String>,
    /// Stop at this restore point.
    #[arg(long, group = "target")]
    restore_point: Option<String>,
    /// Stop after this transaction.
    #[arg(long, group = "target")]
    xid: Option<String>,
    /// Stop at this WAL location.
    #[arg(long, group = "target")]
    lsn: Option<String>,
    /// Replay everything archived (the default).
    #[arg(long, group = "target")]
    latest: bool,
    /// Use this base backup (default: the newest one before the target).
    #[arg(long)]
    base_backup: Option<String>,
    /// The dbops program the restored server's restore_command runs (default: this one, by its
    /// absolute path).
    #[arg(long)]
    dbops_program: Option<PathBuf>,
    /// Start the restored server as an embedded cluster (`dbops cluster stop --name NAME` stops it),
    /// wait for promotion and print its URL.
    #[arg(long)]
    start: bool,
    /// Name of the started cluster.
    #[arg(long, default_value = "pitr")]
    name: String,
    /// Seconds to wait for promotion.
    #[arg(long, default_value_t = 600.0)]
    timeout: f64,
}

/// Runs `dbops wal ...`.
pub async fn run_wal(cmd: WalCommand, ctx: &Context) -> Result<()> {
    match cmd {
        WalCommand::Push { archive, path } => {
            let store = archive.store_args().open()?;
            let report = pitr::push(&store, &path, &archive.options()?).await?;
            ctx.print(&report, || {
                format!(
                    "{} {} -> {} ({} -> {}, {:.0} ms)",
                    report.outcome,
                    report.name,
                    report.key,
                    human_bytes(report.size),
                    human_bytes(report.stored),
                    report.elapsed_ms
                )
            })
        }
        WalCommand::Fetch {
            archive,
            name,
            dest,
            prefetch,
        } => {
            let store = archive.store_args().open()?;
            let report = pitr::fetch(&store, &name, &dest, &archive.options()?).await?;
            if !report.found {
                ctx.notice(&format!(
                    "{name} is not in the archive ({})",
                    store.describe()
                ));
                ctx.set_exit_code(1);
                return Ok(());
            }
            // Best effort: replay works without it, only slower.
            if let Err(error) = archive
                .fetch_commands()
                .and_then(|c| pitr::start_prefetch(&c, &name, &dest, prefetch))
            {
                tracing::warn!(%error, "no background prefetch");
            }
            ctx.print(&report, String::new)
        }
        WalCommand::Prefetch {
            archive,
            name,
            dest,
            count,
            parallel,
        } => {
            let store = archive.store_args().open()?;
            let options = archive.options()?;
            match pitr::prefetch_once(&store, &name, &dest, count, parallel, &options).await? {
                Some(fetched) => ctx.print(&fetched, || format!("prefetched {fetched} segments")),
                None => Ok(()),
            }
        }
    }
}

/// Runs `dbops basebackup`.
pub async fn run_basebackup(args: BaseBackupArgs, ctx: &Context) -> Result<()> {
    let store = args.archive.store_args().open()?;
    let url = ctx.database_url().await?;
    let kind = pitr::BaseBackupOptions::default()
        .with_incremental(args.incremental)
        .with_full_if_unsupported(args.full_if_unsupported);
    let base = pitr::base_backup_with(&url, &store, &args.archive.options()?, &kind).await?;
    ctx.print(&base, || {
        format!(
            "{} base backup {} (timeline {}, WAL {} .. {}, {} -> {}) stored as {}",
            match &base.parent {
                Some(parent) => format!("incremental (on {parent})"),
                None => "full".into(),
            },
            base.id,
            base.timeline,
            base.start_wal,
            base.stop_wal,
            human_bytes(base.data.plaintext_size),
            human_bytes(base.data.size),
            base.data.key
        )
    })
}

/// Runs `dbops pitr ...`.
pub async fn run_pitr(cmd: PitrCommand, ctx: &Context) -> Result<()> {
    match cmd {
        PitrCommand::Restore(args) => restore(*args, ctx).await,
        PitrCommand::RestorePoint { name } => {
            let lsn = pitr::create_restore_point(&ctx.database_url().await?, &name).await?;
            #[derive(serde::Serialize)]
            struct Point {
                name: String,
                lsn: String,
            }
            let point = Point { name, lsn };
            ctx.print(&point, || {
                format!("restore point `{}` at {}", point.name, point.lsn)
            })
        }
        PitrCommand::Verify {
            archive,
            base_backup,
        } => {
            let store = archive.store_args().open()?;
            let verified = pitr::verify_chain(&store, base_backup.as_deref()).await?;
            ctx.print(&verified, || {
                verified
                    .iter()
                    .map(|b| {
                        format!(
                            "ok: base backup {} ({}, {})\n",
                            b.id,
                            b.parent
                                .as_ref()
                                .map_or("full".to_string(), |p| format!("incremental on {p}")),
                            human_bytes(b.bytes)
                        )
                    })
                    .collect()
            })
        }
        PitrCommand::Status { archive, no_server } => {
            let store = archive.store_args().open()?;
            let url = if no_server {
                None
            } else {
                Some(ctx.database_url().await?)
            };
            let status = pitr::status(&store, url.as_ref()).await?;
            if !status.problems.is_empty() {
                ctx.set_exit_code(1);
            }
            ctx.print(&status, || status_text(&status))
        }
        PitrCommand::Setup {
            archive,
            archive_timeout,
            dbops_program,
            apply,
        } => {
            let commands = archive.wal_commands(dbops_program)?;
            let items = pitr::setup(
                &ctx.database_url().await?,
                &commands,
                &archive_timeout,
                apply,
            )
            .await?;
            ctx.print(&items, || setup_text(&items, apply))
        }
        PitrCommand::Prune {
            archive,
            keep,
            apply,
        } => {
            let store = archive.store_args().open()?;
            let plan = pitr::retention(&store, keep, apply).await?;
            ctx.print(&plan, || {
                format!(
                    "keep base backups: {}\n{} base backups: {}\n{} {} WAL files\n{}",
                    plan.keep.join(", "),
                    if apply { "deleted" } else { "would delete" },
                    plan.delete.join(", "),
                    if apply { "deleted" } else { "would delete" },
                    plan.wal_delete.len(),
                    if apply {
                        ""
                    } else {
                        "dry run: pass --apply to carry out this plan"
                    }
                )
            })
        }
    }
}

/// One line per server setting of `pitr setup`.
fn setup_text(items: &[pitr::SetupItem], apply: bool) -> String {
    let mut out = String::new();
    for i in items {
        let state = if i.current == i.wanted {
            "ok"
        } else if apply {
            if i.needs_restart {
                "set (restart needed)"
            } else {
                "set"
            }
        } else {
            "change"
        };
        out.push_str(&format!(
            "{:<16} {:<14} {} = '{}'\n",
            i.name, state, i.name, i.wanted
        ));
    }
    if !apply {
        out.push_str("dry run: pass --apply to set these with ALTER SYSTEM\n");
    }
    out
}

fn status_text(s: &pitr::PitrStatus) -> String {
    let mut out = format!("archive: {}\n", s.store);
    if let Some(a) = &s.archiver {
        out.push_str(&format!(
            "archiver: archive_mode={} archived={} last={} ({}) failed={} current={}\n",
            a.archive_mode,
            a.archived_count,
            a.last_archived_wal.as_deref().unwrap_or("-"),
            a.last_archived_age_secs
                .map_or("-".into(), |s| format!("{s:.0}s ago")),
            a.failed_count,
            a.current_wal
        ));
    }
    for t in &s.timelines {
        out.push_str(&format!(
            "timeline {}: {} segments {} .. {}{}\n",
            t.timeline,
            t.segments,
            t.first.as_deref().unwrap_or("-"),
            t.last.as_deref().unwrap_or("-"),
            if t.gaps.is_empty() {
                String::new()
            } else {
                format!(", {} gaps", t.gaps.len())
            }
        ));
    }
    for b in &s.base_backups {
        out.push_str(&format!(
            "base backup {}: {}, timeline {}, {} .. {}, {}, finished {}\n",
            b.id,
            match &b.parent {
                Some(parent) => format!("incremental on {parent}"),
                None => "full".into(),
            },
            b.timeline,
            b.start_wal,
            b.stop_wal,
            human_bytes(b.data.size),
            b.finished_at.to_rfc3339()
        ));
    }
    if let Some((from, to)) = &s.recovery_window {
        out.push_str(&format!(
            "recovery window: {} .. {}\n",
            from.to_rfc3339(),
            to.to_rfc3339()
        ));
    }
    for p in &s.problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    out
}

async fn restore(args: RestoreArgs, ctx: &Context) -> Result<()> {
    let timeout =
        dbops::config::duration_from("--timeout", args.timeout, dbops::config::TimeUnit::Seconds)?;
    let store = args.archive.store_args().open()?;
    let target = RecoveryTarget::choose(
        args.target_time.as_deref(),
        args.restore_point.clone(),
        args.xid.clone(),
        args.lsn.clone(),
    )?;
    let store_options = StoreOptions::from_pairs(&args.archive.store_options)?
        .options
        .into_iter()
        .collect();
    let keys = &args.archive.keys;
    let options = RecoveryOptions::default()
        .with_target(target)
        .with_base_backup(args.base_backup.clone())
        .with_dbops_program(
            args.dbops_program
                .clone()
                .or_else(|| std::env::current_exe().ok()),
        )
        .with_delta(args.delta)
        .with_store_url(args.archive.store.clone())
        .with_store_options(store_options)
        .with_identity_file(
            keys.identity
                .as_ref()
                .map(std::path::absolute)
                .transpose()
                .map_err(|e| Error::io("resolving the identity file", PathBuf::new(), e))?,
        )
        .with_passphrase_env(
            std::env::var_os(&keys.passphrase_env).map(|_| keys.passphrase_env.clone()),
        );
    let data_dir = std::path::absolute(&args.data_dir)
        .map_err(|e| Error::io("resolving", &args.data_dir, e))?;
    let report = pitr::prepare(&store, &data_dir, &options, &args.archive.options()?).await?;
    if !args.start {
        return ctx.print(&report, || {
            format!(
                "restored base backup {}{} into {} (checked against its backup_manifest: {}{}); it will \
                 replay to {} and promote.\n\
                 start it with `pg_ctl -D {} start` (the server needs store credentials in its environment) \
                 or rerun with --start",
                report.base_backup,
                match &report.delta {
                    Some(d) => format!(
                        " as a delta ({} files unchanged, {} written, {} removed)",
                        d.unchanged, d.written, d.removed
                    ),
                    None => String::new(),
                },
                report.data_dir.display(),
                report.verified,
                if report.verified_by.is_empty() {
                    String::new()
                } else {
                    format!(", by {}", report.verified_by)
                },
                report.target,
                report.data_dir.display()
            )
        });
    }
    let (info, _url) = pitr::start_restored(&data_dir, &args.name, timeout).await?;
    #[derive(serde::Serialize)]
    struct Started<'a> {
        #[serde(flatten)]
        report: &'a pitr::RecoveryReport,
        url: String,
        cluster: String,
    }
    let started = Started {
        report: &report,
        url: info.tcp_url.clone().unwrap_or(info.url.clone()),
        cluster: args.name.clone(),
    };
    ctx.print(&started, || {
        format!(
            "restored base backup {} to {} and promoted; running as cluster `{}`:\n{}\n(`dbops cluster stop --name {}` stops it; `dbops backup` or pg_dump from it as needed)",
            report.base_backup, report.target, args.name, started.url, args.name
        )
    })
}
