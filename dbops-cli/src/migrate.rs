//! `dbops migrate ...`: golang-migrate's commands plus status, plan, verify and lint.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Context;
use dbops::error::{Error, Result};
use dbops::migrate::lint::{self, LintOptions, Severity};
use dbops::migrate::plan::{LockPlan, PlanOptions};
use dbops::migrate::{
    self, DownSteps, MigrateOptions, MigrateReport, MigrateSettings, MigrationSource, Migrator,
    Numbering, PgMigrator, Rollback, RoundTrip, Scratch, VerifyOptions,
};

/// `dbops migrate [options] <command>`
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Directory of NNNNNN_name.up.sql / .down.sql files.
    #[arg(
        long,
        short,
        global = true,
        env = "DBOPS_MIGRATIONS",
        default_value = "migrations"
    )]
    source: PathBuf,
    /// Schema of the state tables (default: the connection's current schema).
    #[arg(long, global = true)]
    schema: Option<String>,
    /// golang-migrate's state table [default: schema_migrations].
    #[arg(long, global = true)]
    table: Option<String>,
    /// lock_timeout for migration statements, in seconds (retried with backoff on timeout).
    #[arg(long, global = true)]
    lock_timeout: Option<f64>,
    /// statement_timeout for migration statements, in seconds.
    #[arg(long, global = true)]
    statement_timeout: Option<f64>,
    /// Treat warnings (missing down files, changed applied files) as errors.
    #[arg(long, global = true)]
    strict: bool,
    /// Risk guard: plan pending steps against the live database first and refuse any that would
    /// block traffic for longer than SECONDS at the tables' current size.
    #[arg(long, global = true, value_name = "SECONDS")]
    max_blocking: Option<f64>,
    /// Risk guard: wait up to SECONDS for sessions holding conflicting locks before migrating
    /// [default: 30].
    #[arg(long, global = true, value_name = "SECONDS")]
    wait_for_sessions: Option<f64>,
    /// Risk guard: refuse, rather than migrate, when sessions are still in the way after the wait.
    #[arg(long, global = true)]
    refuse_when_waiting: bool,
    /// What to do.
    #[command(subcommand)]
    command: MigrateCommand,
}

/// `migrate up --backup-to STORE`: the guide's "create a backup first", built in.
#[derive(Debug, Args)]
pub struct BackupFirstArgs {
    /// Back up into this store (file:///dir, s3://..., gs://..., az://...) before the first pending
    /// migration runs, read the backup back to verify it, and name it in the report and in the error
    /// of a failed migration. Nothing is backed up when nothing is pending.
    #[arg(long, value_name = "STORE")]
    backup_to: Option<String>,
    /// Option KEY=VALUE of that store; repeatable.
    #[arg(long, value_name = "KEY=VALUE", requires = "backup_to")]
    backup_store_option: Vec<String>,
    /// Encrypt that backup to this age public key; repeatable.
    #[arg(long, value_name = "AGE_PUBLIC_KEY", requires = "backup_to")]
    backup_recipient: Vec<String>,
    /// Encrypt that backup with the passphrase in this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        requires = "backup_to",
        conflicts_with = "backup_recipient"
    )]
    backup_passphrase_env: Option<String>,
    /// age identity file to read back a backup encrypted to recipients when verifying it.
    #[arg(long, value_name = "FILE", requires = "backup_to")]
    backup_identity: Option<PathBuf>,
}

impl BackupFirstArgs {
    /// The backup to take, with the keys to verify it, or `None` without `--backup-to`.
    fn backup(
        &self,
        url: &dbops::DatabaseUrl,
        ctx: &Context,
    ) -> Result<Option<(dbops::Backup, dbops::backup::Decryption)>> {
        use dbops::backup::{Decryption, Encryption};
        let Some(store) = &self.backup_to else {
            return Ok(None);
        };
        let options = dbops::StoreOptions::from_pairs(&self.backup_store_option)?;
        let store = dbops::ObjectBackupStore::open_with(store, &options)?;
        let passphrase = self
            .backup_passphrase_env
            .as_deref()
            .map(|var| Encryption::passphrase_from_env("--backup-passphrase-env", var))
            .transpose()?;
        let backup_options = dbops::BackupOptions::default()
            .with_encryption(Encryption::choose(
                self.backup_recipient.clone(),
                passphrase,
            )?)
            .with_progress(ctx.progress("backup before migrating"));
        let mut decryption = Decryption::none();
        if let Some(path) = &self.backup_identity {
            decryption = decryption.with_identity_file(path)?;
        }
        Ok(Some((
            dbops::Backup::new(url.clone(), store, backup_options),
            decryption,
        )))
    }
}

/// The migrate subcommands.
#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply pending migrations (all, the next N, or up to --to).
    Up {
        /// Apply only the next N pending migrations.
        #[arg(value_name = "N", conflicts_with_all = ["to", "backup_to"])]
        count: Option<usize>,
        /// Stop at this version.
        #[arg(long)]
        to: Option<i64>,
        /// Print the plan without applying it.
        #[arg(long)]
        dry_run: bool,
        /// Take a verified backup into this store first, when (and only when) migrations are pending.
        #[command(flatten)]
        backup: BackupFirstArgs,
    },
    /// Roll back the last N migrations (default 1) or all of them.
    Down {
        /// How many to roll back.
        #[arg(default_value_t = 1, conflicts_with = "all")]
        count: usize,
        /// Roll back every migration.
        #[arg(long)]
        all: bool,
    },
    /// Migrate up or down to exactly VERSION.
    Goto {
        /// Target version.
        #[arg(value_name = "VERSION")]
        target: i64,
    },
    /// Print the current version and whether it is dirty.
    Version,
    /// Record VERSION as clean without running anything (-1: nothing applied). For repairing a dirty database.
    Force {
        /// The version to record.
        #[arg(allow_negative_numbers = true, value_name = "VERSION")]
        target: i64,
    },
    /// Every migration: applied, pending, changed or dirty.
    Status,
    /// Create the next pair of migration files.
    Create {
        /// Description, e.g. "add rides table".
        name: String,
        /// Version as UTC timestamp YYYYMMDDHHMMSS instead of the next sequence number.
        #[arg(long, conflicts_with = "seq")]
        timestamp: bool,
        /// Next sequence number, 6 digits (default).
        #[arg(long)]
        seq: bool,
    },
    /// Drop every object in the migrations schema. Guarded: --confirm must name the database.
    Drop {
        /// The database's name, to confirm.
        #[arg(long)]
        confirm: String,
    },
    /// What the pending migrations would do to the live database: for each statement, the lock it
    /// takes and on what, whether it scans or rewrites the table, the table's size and rows, the
    /// sessions in the way and the longest open transactions, and a verdict.
    ///
    /// A statement holding traffic out longer than --max-blocking (default 1 s) is reported as
    /// blocking.
    ///
    /// Example: dbops migrate plan --fail-on-risk
    Plan {
        /// Plan up to this version.
        #[arg(long)]
        to: Option<i64>,
        /// Exit 1 when a statement is not safe (for CI and deploy scripts).
        #[arg(long)]
        fail_on_risk: bool,
    },
    /// Apply every migration in a scratch database, rolling each back and comparing the catalog.
    Verify {
        /// Only apply the ups.
        #[arg(long)]
        skip_rollback: bool,
        /// Keep the scratch database for inspection (default: dropped).
        #[arg(long)]
        keep: bool,
        /// Print the time of every up and down.
        #[arg(long)]
        timings: bool,
    },
    /// Check the migration files for risky statements (no database needed). With FILES (a
    /// pre-commit hook's changed files), only those: their names, their directories as a whole and
    /// the findings in them.
    Lint {
        /// Migration files to check instead of the whole --source directory.
        files: Vec<PathBuf>,
        /// Only check the files' names and their directories (the naming hook).
        #[arg(long, requires = "files")]
        names_only: bool,
        /// Fail on findings of this severity or worse: hint, warning or error (default: error;
        /// warning with --strict).
        #[arg(long, value_name = "SEVERITY")]
        fail_on: Option<Severity>,
        /// The oldest PostgreSQL major the migrations must be safe on (default: 13).
        #[arg(long, value_name = "MAJOR")]
        server_major: Option<u32>,
        /// Print the rules (with --json: as data): what each catches, its lock, what that blocks,
        /// and the safe rewrite.
        #[arg(long, conflicts_with_all = ["files", "names_only"])]
        rules: bool,
    },
}

impl MigrateArgs {
    pub(crate) fn settings(&self) -> MigrateSettings {
        MigrateSettings::default()
            .with_schema(self.schema.clone())
            .with_table(self.table.clone())
            .with_lock_timeout_secs(self.lock_timeout)
            .with_statement_timeout_secs(self.statement_timeout)
            .with_strict(self.strict)
            .with_max_blocking_secs(self.max_blocking)
            .with_wait_for_sessions_secs(self.wait_for_sessions)
            .with_refuse_when_waiting(self.refuse_when_waiting)
    }

    fn source(&self) -> Result<MigrationSource> {
        MigrationSource::from_dir(&self.source)?.validate(self.settings().strictness())
    }

    fn options(&self) -> Result<MigrateOptions> {
        self.settings().options()
    }

    async fn migrator(&self, ctx: &Context) -> Result<PgMigrator> {
        let options = self.options()?.with_progress(ctx.progress("migrate"));
        Ok(PgMigrator::new(ctx.database_url().await?, self.source()?).options(options))
    }
}

fn version_text(v: Option<i64>) -> String {
    v.map_or("nil (nothing applied)".to_string(), |v| v.to_string())
}

fn print_report(ctx: &Context, report: &MigrateReport) -> Result<()> {
    for warning in &report.warnings {
        ctx.notice(&format!("warning: {warning}"));
    }
    ctx.print(report, || {
        if report.applied.is_empty() {
            return format!("no change: database at version {}", version_text(report.to));
        }
        let mut out = String::new();
        for step in &report.applied {
            out.push_str(&format!(
                "{:<4} {:>14} {:<40} {:>9.1} ms{}\n",
                if step.direction == migrate::Direction::Up {
                    "up"
                } else {
                    "down"
                },
                step.version,
                step.name,
                step.duration.as_secs_f64() * 1000.0,
                if step.transactional {
                    ""
                } else {
                    "  (outside a transaction)"
                }
            ));
        }
        out.push_str(&format!(
            "version {} -> {}",
            version_text(report.from),
            version_text(report.to)
        ));
        out
    })
}

/// Runs `dbops migrate ...`.
pub async fn run(args: MigrateArgs, ctx: &Context) -> Result<()> {
    match &args.command {
        MigrateCommand::Up {
            count: Some(count),
            dry_run: false,
            ..
        } => up_count(&args, ctx, *count).await,
        MigrateCommand::Up {
            count,
            to,
            dry_run: true,
            ..
        } => up_dry_run(&args, ctx, *count, *to).await,
        MigrateCommand::Up {
            to,
            dry_run: false,
            backup,
            ..
        } => up(&args, ctx, *to, backup).await,
        MigrateCommand::Down { count, all } => {
            let steps = if *all {
                DownSteps::All
            } else {
                DownSteps::Count(*count)
            };
            print_report(ctx, &args.migrator(ctx).await?.down(steps).await?)
        }
        MigrateCommand::Goto { target } => {
            print_report(ctx, &args.migrator(ctx).await?.goto(*target).await?)
        }
        MigrateCommand::Version => {
            let state = args.migrator(ctx).await?.version().await?;
            ctx.print(&state, || match state {
                None => "nil (nothing applied)".into(),
                Some(s) if s.dirty => format!("{} (dirty)", s.version),
                Some(s) => s.version.to_string(),
            })
        }
        MigrateCommand::Force { target } => {
            let target = (*target >= 0).then_some(*target);
            args.migrator(ctx).await?.force(target).await?;
            ctx.print(&target, || {
                format!("forced version {}", version_text(target))
            })
        }
        MigrateCommand::Status => {
            let status = args.migrator(ctx).await?.status().await?;
            ctx.print(&status, || status_text(&status))
        }
        MigrateCommand::Create {
            name, timestamp, ..
        } => {
            let numbering = if *timestamp {
                Numbering::Timestamp
            } else {
                Numbering::Sequential
            };
            let (up, down) = migrate::create(&args.source, name, numbering)?;
            ctx.print(&[&up, &down], || {
                format!("created {}\ncreated {}", up.display(), down.display())
            })
        }
        MigrateCommand::Plan { to, fail_on_risk } => plan(&args, ctx, *to, *fail_on_risk).await,
        MigrateCommand::Drop { confirm } => {
            let dropped = args.migrator(ctx).await?.drop_everything(confirm).await?;
            ctx.print(&dropped, || format!("dropped {} objects", dropped.len()))
        }
        MigrateCommand::Verify {
            skip_rollback,
            keep,
            timings,
        } => verify(&args, ctx, *skip_rollback, *keep, *timings).await,
        MigrateCommand::Lint {
            files,
            names_only,
            fail_on,
            server_major,
            rules,
        } => {
            if *rules {
                return ctx.print(&lint::RULES, lint::rules_markdown);
            }
            let options = server_major.map_or_else(LintOptions::default, |major| {
                LintOptions::default().with_server_major(major)
            });
            let fail_on = fail_on.unwrap_or(if args.strict {
                Severity::Warning
            } else {
                Severity::Error
            });
            lint(&args, ctx, files, *names_only, &options, fail_on)
        }
    }
}

/// `migrate up N`: applies the next `count` migrations, saying when fewer were pending.
async fn up_count(args: &MigrateArgs, ctx: &Context, count: usize) -> Result<()> {
    let steps = migrate::up_steps(&args.migrator(ctx).await?, count).await?;
    if steps.short > 0 {
        ctx.notice(&format!(
            "{} fewer migrations were pending than the {count} asked for",
            steps.short
        ));
    }
    print_report(ctx, &steps.report)
}

/// `migrate up --dry-run [N] [--to V]`: what would be applied.
async fn up_dry_run(
    args: &MigrateArgs,
    ctx: &Context,
    count: Option<usize>,
    to: Option<i64>,
) -> Result<()> {
    let mut steps = args.migrator(ctx).await?.plan_up(to).await?;
    steps.truncate(count.unwrap_or(usize::MAX));
    ctx.print(&steps, || {
        if steps.is_empty() {
            return "nothing to apply".into();
        }
        steps
            .iter()
            .map(|s| format!("would apply {} {}\n", s.version, s.name))
            .collect()
    })
}

/// `migrate up [--to V] [--backup-to STORE]`.
async fn up(
    args: &MigrateArgs,
    ctx: &Context,
    to: Option<i64>,
    backup: &BackupFirstArgs,
) -> Result<()> {
    let url = ctx.database_url().await?;
    let migrator = args.migrator(ctx).await?;
    let Some((backup, decryption)) = backup.backup(&url, ctx)? else {
        return print_report(ctx, &migrator.up(to).await?);
    };
    let guarded = dbops::pre_migration::up_with_backup(&migrator, &backup, &decryption, to).await?;
    if ctx.json {
        return ctx.print(&guarded, String::new);
    }
    match &guarded.backup {
        Some(taken) => ctx.notice(&format!(
            "backup {} of `{}` taken and verified in {} before migrating; to get that state back: {}",
            taken.id, taken.database, taken.store, taken.restore_command
        )),
        None => ctx.notice("nothing pending: no backup taken"),
    }
    print_report(ctx, &guarded.migrate)
}

/// The table of `migrate status`.
fn status_text(status: &[migrate::MigrationStatus]) -> String {
    let mut out = format!("{:>14}  {:<40} {:<8} DOWN\n", "VERSION", "NAME", "STATE");
    for s in status {
        out.push_str(&format!(
            "{:>14}  {:<40} {:<8} {}\n",
            s.version,
            s.name,
            format!("{:?}", s.state).to_lowercase(),
            if s.has_down { "yes" } else { "no" }
        ));
    }
    out
}

/// `migrate verify`: every migration up, down and up again on a scratch database.
async fn verify(
    args: &MigrateArgs,
    ctx: &Context,
    skip_rollback: bool,
    keep: bool,
    timings: bool,
) -> Result<()> {
    let options = VerifyOptions::default()
        .with_rollback(if skip_rollback {
            Rollback::Skip
        } else {
            Rollback::Check
        })
        .with_scratch(if keep { Scratch::Keep } else { Scratch::Drop })
        .with_progress(ctx.progress("verify"));
    let url = ctx.database_url().await?;
    let report = migrate::verify(&url, &args.source()?, &options).await?;
    ctx.print(&report, || verify_text(&report, timings))?;
    if report.passed() {
        Ok(())
    } else {
        Err(Error::Refused {
            action: "verify migrations".into(),
            reason: "a down migration does not restore the schema its up changed (see above)"
                .into(),
        })
    }
}

/// One line per migration of a verify report.
fn verify_text(report: &migrate::VerifyReport, timings: bool) -> String {
    let mut out = String::new();
    for m in &report.migrations {
        out.push_str(&format!(
            "{:>14} {:<40} {}",
            m.version,
            m.name,
            round_trip_text(&m.round_trip)
        ));
        if timings {
            out.push_str(&format!(
                " (up {:.1} ms, down {:.1} ms)",
                m.up_ms, m.down_ms
            ));
        }
        out.push('\n');
    }
    if let Some(db) = &report.kept_database {
        out.push_str(&format!("scratch database kept: {db}\n"));
    }
    out
}

fn round_trip_text(round_trip: &RoundTrip) -> String {
    match round_trip {
        RoundTrip::Identical => "ok: down restores the schema exactly".to_string(),
        RoundTrip::Skipped => "ok: up applied (rollback skipped)".to_string(),
        RoundTrip::NoDown => "ok: up applied (no down file)".to_string(),
        RoundTrip::Differs {
            changes,
            reapply_error,
        } => {
            let mut text = "FAILED: down does not restore the schema:".to_string();
            for c in changes {
                text.push_str(&format!("\n      {c}"));
            }
            if let Some(e) = reapply_error {
                text.push_str(&format!("\n      re-applying the up then failed: {e}"));
            }
            text
        }
    }
}

/// `migrate plan`: the lock plan of the pending migrations.
async fn plan(
    args: &MigrateArgs,
    ctx: &Context,
    to: Option<i64>,
    fail_on_risk: bool,
) -> Result<()> {
    let mut options = PlanOptions::default();
    if let Some(secs) = args.max_blocking {
        options = options.with_max_blocking(dbops::config::duration_from(
            "--max-blocking",
            secs,
            dbops::config::TimeUnit::Seconds,
        )?);
    }
    let plan = args.migrator(ctx).await?.plan_locks(to, &options).await?;
    ctx.print(&plan, || plan_text(&plan))?;
    if fail_on_risk && !plan.verdict.is_safe() {
        return Err(Error::Refused {
            action: "migrate plan".into(),
            reason: format!("the pending migrations are not safe: {}", plan.verdict),
        });
    }
    Ok(())
}

fn plan_text(plan: &LockPlan) -> String {
    let mut out = String::new();
    if plan.statements.is_empty() {
        return format!("nothing pending (version {:?})", plan.current);
    }
    for s in &plan.statements {
        out.push_str(&format!("{}:{}  {}\n", s.file, s.line, s.statement));
        for t in &s.tables {
            let size = if t.exists {
                format!(
                    "{}, ~{} rows",
                    crate::backup::human_bytes(t.size_bytes.max(0) as u64),
                    t.rows
                )
            } else {
                "created by an earlier step".into()
            };
            out.push_str(&format!(
                "    {} on {} ({size}): blocks {}, {}{}\n",
                t.lock,
                t.table,
                t.blocks,
                t.work,
                if t.estimated_secs >= 0.5 {
                    format!(", about {:.0} s", t.estimated_secs)
                } else {
                    String::new()
                }
            ));
            for c in &t.conflicting {
                out.push_str(&format!(
                    "      in the way: pid {} {} {} ({}{}): {}\n",
                    c.pid,
                    if c.granted { "holds" } else { "waits for" },
                    c.lock.as_deref().unwrap_or("a lock"),
                    c.state,
                    c.transaction_secs
                        .map(|s| format!(", transaction open {s:.0} s"))
                        .unwrap_or_default(),
                    c.query
                ));
            }
        }
        out.push_str(&format!("    => {}\n", s.verdict));
        for f in &s.findings {
            out.push_str(&format!("    {}[{}]: {}\n", f.severity, f.rule, f.message));
        }
    }
    for e in &plan.syntax_errors {
        out.push_str(&format!("{e}\n"));
    }
    if let Some(t) = plan.long_transactions.first() {
        out.push_str(&format!(
            "longest open transaction: pid {} ({}, {:.0} s): {}\n",
            t.pid,
            t.state,
            t.transaction_secs.unwrap_or(0.0),
            t.query
        ));
    }
    out.push_str(&format!("verdict: {}", plan.verdict));
    out
}

/// `migrate lint`: findings printed; those of `fail_on` or worse fail the command.
fn lint(
    args: &MigrateArgs,
    ctx: &Context,
    files: &[PathBuf],
    names_only: bool,
    options: &LintOptions,
    fail_on: Severity,
) -> Result<()> {
    let (findings, checked) = if files.is_empty() {
        let source = args.source()?;
        let checked = format!("{} migrations", source.migrations().len());
        (lint::check_with(&source, options), checked)
    } else {
        let dirs = files.iter().filter(|f| f.is_dir()).count();
        let checked = match dirs {
            0 => format!("{} files", files.len()),
            _ => format!("{} files and {dirs} directories", files.len() - dirs),
        };
        (lint::check_files_with(files, names_only, options), checked)
    };
    ctx.print(&findings, || {
        if findings.is_empty() {
            return format!("{checked}, no findings");
        }
        findings.iter().map(|f| format!("{f}\n")).collect()
    })?;
    let failing = findings.iter().filter(|f| f.severity >= fail_on).count();
    if failing > 0 {
        return Err(Error::Refused {
            action: "lint migrations".into(),
            reason: format!(
                "{failing} finding(s) of severity {fail_on} or worse must be fixed or silenced \
                 with `-- dbops:allow <rule>`"
            ),
        });
    }
    Ok(())
}
