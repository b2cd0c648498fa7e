//! `dbops backup ...` and `dbops restore`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Context;
use dbops::alert::{AlertSettings, SmtpSettings};
use dbops::backup::{
    Backup, BackupCatalog, BackupHealthLimits, BackupOptions, BackupSelector, Compression,
    Decryption, Encryption, RetentionPolicy, apply_retention, generate_key_pair,
};
use dbops::config::DatabaseUrl;
use dbops::error::{Error, Result};
use dbops::restore::{
    BackupValidator, PgRestorer, RestoreOptions, RestoreTarget, Restorer, ValidateOptions,
    restore_test,
};
use dbops::storage::{ObjectBackupStore, StoreOptions};

/// Where backups live.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Backup store: file:///dir (or a path), s3://bucket/prefix, gs://bucket/prefix,
    /// az://container/prefix, memory://name. Credentials come from the cloud's environment variables.
    #[arg(long, env = "DBOPS_STORE", default_value = "backups")]
    pub store: String,
    /// Store option KEY=VALUE (e.g. aws_endpoint=http://127.0.0.1:8333, aws_allow_http=true); repeatable.
    #[arg(long = "store-option", value_name = "KEY=VALUE")]
    pub store_options: Vec<String>,
}

impl StoreArgs {
    /// Opens the store.
    pub fn open(&self) -> Result<ObjectBackupStore> {
        ObjectBackupStore::open_with(&self.store, &StoreOptions::from_pairs(&self.store_options)?)
    }
}

/// Keys for reading encrypted backups.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// age identity file (AGE-SECRET-KEY-1...) for backups encrypted to recipients.
    #[arg(long, env = "DBOPS_AGE_IDENTITY_FILE")]
    pub identity: Option<PathBuf>,
    /// Name of the environment variable holding the passphrase of passphrase-encrypted backups.
    #[arg(long, value_name = "VAR", default_value = "DBOPS_BACKUP_PASSPHRASE")]
    pub passphrase_env: String,
}

impl KeyArgs {
    /// The keys given.
    pub fn decryption(&self) -> Result<Decryption> {
        let mut decryption = Decryption::none();
        if let Some(path) = &self.identity {
            decryption = decryption.with_identity_file(path)?;
        }
        if let Ok(passphrase) = std::env::var(&self.passphrase_env)
            && !passphrase.is_empty()
        {
            decryption = decryption.with_passphrase(passphrase);
        }
        Ok(decryption)
    }
}

/// Masking personal data while rows stream (the guide: "Staging copies without personal data").
#[derive(Debug, Clone, Args)]
pub struct MaskArgs {
    /// Mask personal data with the rules in this TOML file while the rows stream (tables format).
    #[arg(long, value_name = "RULES")]
    pub mask: Option<PathBuf>,
    /// Environment variable holding the masking key [default: the rules' key_env, else
    /// DBOPS_MASK_KEY].
    #[arg(long, value_name = "VAR", requires = "mask")]
    pub mask_key_env: Option<String>,
    /// Let a column that looks personal through unmasked (TABLE.COLUMN or SCHEMA.TABLE.COLUMN);
    /// repeatable.
    #[arg(long, value_name = "TABLE.COLUMN", requires = "mask")]
    pub allow_unmasked: Vec<String>,
}

impl MaskArgs {
    /// The masking asked for, with its key.
    pub fn masking(&self) -> Result<Option<std::sync::Arc<dbops::mask::Masking>>> {
        let Some(path) = &self.mask else {
            return Ok(None);
        };
        let masking = dbops::mask::Masking::from_file(path, self.mask_key_env.as_deref())?
            .allow_unmasked(self.allow_unmasked.iter().cloned());
        Ok(Some(std::sync::Arc::new(masking)))
    }
}

/// `dbops backup [create] ...`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    /// What to do; without one, takes a backup.
    #[command(subcommand)]
    command: Option<BackupCommand>,
    #[command(flatten)]
    create: CreateArgs,
}

/// The health thresholds `dbops backup health` was given (for the defaults test).
#[cfg(test)]
pub(crate) fn health_limits(args: &BackupArgs) -> Option<BackupHealthLimits> {
    match &args.command {
        Some(BackupCommand::Health(health)) => Some(health.limits.limits()),
        _ => None,
    }
}

/// `dbops backup` subcommands.
#[derive(Debug, Subcommand)]
enum BackupCommand {
    /// Take a backup (the default).
    Create(CreateArgs),
    /// List the backups in the store.
    List(ListArgs),
    /// Show one backup's manifest.
    Show(ShowArgs),
    /// Download, decrypt, decompress and check a backup; optionally restore it into a throwaway database.
    Verify(VerifyArgs),
    /// Apply a retention policy (prints the plan; deletes only with --apply).
    Prune(PruneArgs),
    /// Check backup health (age, size, integrity, count, restore tests, store, WAL archiving); alert on
    /// state changes; write Prometheus metrics. Exit code 0 ok, 1 warn, 2 critical.
    Health(Box<HealthArgs>),
    /// Generate an age key pair for encrypted backups.
    Keygen,
}

/// `dbops backup health ...`
#[derive(Debug, Args)]
pub struct HealthArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The database whose backups to check (default: the database of DATABASE_URL).
    #[arg(long)]
    database: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Also check WAL archiving on the server of DATABASE_URL (pg_stat_archiver).
    #[arg(long)]
    check_server: bool,
    /// Write Prometheus metrics to this file (atomically; for node-exporter's textfile collector).
    #[arg(long)]
    metrics_file: Option<PathBuf>,
    /// Slack-compatible incoming webhook URL (a secret: prefer the environment variable).
    #[arg(long, env = "DBOPS_SLACK_WEBHOOK_URL", hide_env_values = true)]
    slack_webhook: Option<String>,
    /// Generic webhook URL receiving the report as JSON.
    #[arg(long, env = "DBOPS_ALERT_WEBHOOK_URL", hide_env_values = true)]
    webhook: Option<String>,
    /// SMTP server for email alerts.
    #[arg(long, env = "DBOPS_SMTP_HOST")]
    smtp_host: Option<String>,
    /// SMTP port (default by security: 587, 465, 25).
    #[arg(long, env = "DBOPS_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// SMTP security: starttls (default), tls or none (only for a trusted relay).
    #[arg(long, env = "DBOPS_SMTP_SECURITY", value_parser = ["starttls", "tls", "none"])]
    smtp_security: Option<String>,
    /// SMTP user.
    #[arg(long, env = "DBOPS_SMTP_USER")]
    smtp_user: Option<String>,
    /// File holding the SMTP password (or set DBOPS_SMTP_PASSWORD).
    #[arg(long)]
    smtp_password_file: Option<PathBuf>,
    /// Sender address [default: dbops@localhost].
    #[arg(long, env = "DBOPS_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Recipient; repeatable (or comma-separated in DBOPS_SMTP_TO).
    #[arg(long, env = "DBOPS_SMTP_TO", value_delimiter = ',')]
    smtp_to: Vec<String>,
    /// Remind every this many hours while the state stays bad (0: never) [default: 24].
    #[arg(long)]
    remind_hours: Option<f64>,
}

/// The health thresholds; the defaults are the library's ([`BackupHealthLimits::default`]).
#[derive(Debug, Clone, Args)]
struct LimitArgs {
    /// Warn when the newest backup is older than this many hours.
    #[arg(long, default_value_t = BackupHealthLimits::default().max_age_hours)]
    max_age_hours: f64,
    /// Critical when the newest backup is older than this many hours (default: twice --max-age-hours).
    #[arg(long)]
    critical_age_hours: Option<f64>,
    /// Critical when the newest dump is smaller than this fraction of the recent median.
    #[arg(long, default_value_t = BackupHealthLimits::default().size_drop_ratio)]
    size_drop_ratio: f64,
    /// Warn when the newest dump is larger than this multiple of the recent median.
    #[arg(long, default_value_t = BackupHealthLimits::default().size_jump_ratio)]
    size_jump_ratio: f64,
    /// Warn when fewer backups than this are kept.
    #[arg(long, default_value_t = BackupHealthLimits::default().min_backups)]
    min_backups: usize,
    /// Warn when the last restore test is older than this many days (0 skips the check).
    #[arg(long, default_value_t = BackupHealthLimits::default().max_restore_test_age_days)]
    max_restore_test_age_days: f64,
    /// Download the newest backup and check its sha256 against the manifest.
    #[arg(long)]
    full: bool,
    /// Warn when the last archived WAL segment is older than this many minutes.
    #[arg(long, default_value_t = BackupHealthLimits::default().max_wal_age_minutes)]
    max_wal_age_minutes: f64,
}

impl LimitArgs {
    fn limits(&self) -> BackupHealthLimits {
        BackupHealthLimits::default()
            .with_max_age_hours(self.max_age_hours)
            .with_critical_age_hours(self.critical_age_hours)
            .with_size_drop_ratio(self.size_drop_ratio)
            .with_size_jump_ratio(self.size_jump_ratio)
            .with_min_backups(self.min_backups)
            .with_max_restore_test_age_days(self.max_restore_test_age_days)
            .with_full(self.full)
            .with_max_wal_age_minutes(self.max_wal_age_minutes)
    }
}

impl HealthArgs {
    fn alert_settings(&self) -> AlertSettings {
        AlertSettings::default()
            .with_slack_webhook(self.slack_webhook.clone())
            .with_webhook(self.webhook.clone())
            .with_smtp(self.smtp_host.clone().map(|host| {
                SmtpSettings::default()
                    .with_host(host)
                    .with_port(self.smtp_port)
                    .with_security(self.smtp_security.clone())
                    .with_username(self.smtp_user.clone())
                    .with_password(None)
                    .with_password_file(self.smtp_password_file.clone())
                    .with_from(self.smtp_from.clone())
                    .with_to(self.smtp_to.clone())
            }))
            .with_remind_hours(self.remind_hours)
    }
}

#[derive(Debug, Clone, Args)]
struct CreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Dump format: tables (the default: the schema plus one object per table, dumped and restored in
    /// parallel), custom (one pg_restore archive) or plain (SQL for psql).
    #[arg(long, value_parser = ["tables", "custom", "plain"])]
    format: Option<String>,
    /// Connections dumping tables at once (tables format) [default: the CPU count, at most 4].
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Compression: zstd, gzip, lz4 or none.
    #[arg(long, default_value = "zstd")]
    compression: String,
    /// Compression level (zstd -7..22, default 1; gzip 0..9, default 6; lz4 0..16).
    #[arg(long)]
    level: Option<i32>,
    /// zstd worker threads (0: compress on the pipeline thread).
    #[arg(long, default_value_t = 0)]
    threads: u32,
    /// How the tables format stores rows: binary (faster restores; tables with other column types,
    /// and masked tables, stay text; decoded to text on restore into another PostgreSQL major
    /// version or for masking) or text.
    #[arg(long, value_parser = ["text", "binary"], default_value = "binary")]
    copy_format: String,
    /// Leave the planner statistics out (from PostgreSQL 18 on, the tables and custom formats carry
    /// them, so a restore into 18 or newer needs no ANALYZE).
    #[arg(long)]
    no_statistics: bool,
    /// Encrypt to this age public key (age1...); repeatable.
    #[arg(
        long = "recipient",
        env = "DBOPS_AGE_RECIPIENTS",
        value_delimiter = ','
    )]
    recipients: Vec<String>,
    /// Encrypt to the age public keys in this file (one per line).
    #[arg(long)]
    recipients_file: Option<PathBuf>,
    /// Encrypt with the passphrase in this environment variable (age scrypt).
    #[arg(long, value_name = "VAR", conflicts_with_all = ["recipients", "recipients_file"])]
    passphrase_env: Option<String>,
    /// Also store roles and tablespaces (pg_dumpall --globals-only --no-role-passwords).
    #[arg(long)]
    globals: bool,
    /// Skip exact per-table row counts (restores then cannot compare them).
    #[arg(long)]
    no_row_counts: bool,
    /// Give up after this many seconds waiting for a table lock.
    #[arg(long, value_name = "SECS")]
    lock_wait_timeout: Option<f64>,
    /// Label KEY=VALUE recorded in the manifest; repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    #[command(flatten)]
    mask: MaskArgs,
    /// Extra pg_dump arguments after `--`.
    #[arg(last = true)]
    pg_dump_args: Vec<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only this database's backups (default: the database of DATABASE_URL, else all).
    #[arg(long)]
    database: Option<String>,
    /// Every database's backups.
    #[arg(long, conflicts_with = "database")]
    all: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Backup id (default: the latest).
    id: Option<String>,
    /// The database whose backups to look at (default: the database of DATABASE_URL).
    #[arg(long)]
    database: Option<String>,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    keys: KeyArgs,
    /// Backup id (default: the latest).
    id: Option<String>,
    /// The database whose backups to look at (default: the database of DATABASE_URL).
    #[arg(long)]
    database: Option<String>,
    /// Also restore it into a throwaway database (an embedded cluster unless --restore-server) and
    /// compare row counts and run pg_amcheck.
    #[arg(long)]
    restore_test: bool,
    /// Server URL for the restore test instead of an embedded cluster.
    #[arg(long, requires = "restore_test")]
    restore_server: Option<String>,
}

#[derive(Debug, Args)]
struct PruneArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The database whose backups to prune (default: the database of DATABASE_URL).
    #[arg(long)]
    database: Option<String>,
    /// Keep the newest N backups.
    #[arg(long)]
    keep_last: Option<usize>,
    /// Keep every backup younger than this many days (the replaced script's --retention).
    #[arg(long, alias = "retention")]
    keep_within: Option<u32>,
    /// Keep the newest backup of each of the last N days.
    #[arg(long)]
    keep_daily: Option<usize>,
    /// Keep the newest backup of each of the last N ISO weeks.
    #[arg(long)]
    keep_weekly: Option<usize>,
    /// Keep the newest backup of each of the last N months.
    #[arg(long)]
    keep_monthly: Option<usize>,
    /// Keep the newest backup of each of the last N years.
    #[arg(long)]
    keep_yearly: Option<usize>,
    /// Delete orphaned data objects older than this many hours.
    #[arg(long, default_value_t = 24)]
    orphan_grace_hours: u32,
    /// Carry out the plan (without it, only print it).
    #[arg(long)]
    apply: bool,
}

/// `dbops restore ...`
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    keys: KeyArgs,
    /// Backup id (default: the latest).
    #[arg(long, conflicts_with_all = ["before", "file"])]
    id: Option<String>,
    /// The newest backup taken at or before this time (RFC 3339, or "YYYY-mm-dd HH:MM:SS" in UTC).
    #[arg(long, alias = "timestamp", conflicts_with = "file")]
    before: Option<String>,
    /// Restore this file (a dbops backup or a legacy backup_<db>_<stamp>.sql.gz) instead of the store.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Whose backups: the database name they were taken of (default: the target's name).
    #[arg(long)]
    from_database: Option<String>,
    /// Restore into this database instead of the one in DATABASE_URL.
    #[arg(long, alias = "target-database")]
    into: Option<String>,
    /// Create the target database (it must not exist; dropped again if the restore fails).
    #[arg(long, alias = "new-database")]
    create: bool,
    /// Drop and recreate the backup's objects in a non-empty target.
    #[arg(long)]
    clean: bool,
    /// Do not restore ownership.
    #[arg(long)]
    no_owner: bool,
    /// Do not restore privileges.
    #[arg(long)]
    no_acl: bool,
    /// Connections loading tables and building indexes [default: the CPU count (at most 4) into a
    /// new database, 1 (one transaction) into an existing one]. Above 1 the restore is not one
    /// transaction; custom-format backups are spooled to a private local file first.
    #[arg(long, short = 'j')]
    jobs: Option<u32>,
    /// Skip the ANALYZE after the restore (planner statistics then come with autovacuum).
    #[arg(long)]
    no_analyze: bool,
    /// Skip the row-count comparison with the manifest.
    #[arg(long)]
    no_row_check: bool,
    /// Only download, decrypt, decompress and verify; touch no database.
    #[arg(long)]
    validate_only: bool,
    #[command(flatten)]
    mask: MaskArgs,
    /// Keep only the rows of TABLE for which the SQL CONDITION holds, and everything they reference
    /// and that belongs to them (tables format); repeatable. E.g. "rides: requested_at > now() -
    /// interval '30 days'".
    #[arg(long, value_name = "TABLE: CONDITION")]
    subset: Vec<String>,
}

/// Runs `dbops backup ...`.
pub async fn run_backup(args: BackupArgs, ctx: &Context) -> Result<()> {
    match args.command {
        None => create(args.create, ctx).await,
        Some(BackupCommand::Create(create_args)) => create(create_args, ctx).await,
        Some(BackupCommand::List(list_args)) => list(list_args, ctx).await,
        Some(BackupCommand::Show(show_args)) => show(show_args, ctx).await,
        Some(BackupCommand::Verify(verify_args)) => verify(verify_args, ctx).await,
        Some(BackupCommand::Prune(prune_args)) => prune(prune_args, ctx).await,
        Some(BackupCommand::Health(health_args)) => health(*health_args, ctx).await,
        Some(BackupCommand::Keygen) => {
            let keys = generate_key_pair();
            #[derive(serde::Serialize)]
            struct Keys<'a> {
                recipient: &'a str,
                identity: &'a str,
            }
            ctx.print(
                &Keys {
                    recipient: &keys.recipient,
                    identity: &keys.identity,
                },
                || {
                    format!(
                        "# public key (give to backup hosts: --recipient or DBOPS_AGE_RECIPIENTS)\n# {}\n\
                         # keep this file offline; it is needed to restore (--identity FILE)\n{}",
                        keys.recipient, keys.identity
                    )
                },
            )
        }
    }
}

/// The encryption `--passphrase-env`, `--recipient` and `--recipients-file` ask for.
fn encryption_of(args: &CreateArgs) -> Result<Encryption> {
    let passphrase = args
        .passphrase_env
        .as_deref()
        .map(|var| Encryption::passphrase_from_env("--passphrase-env", var))
        .transpose()?;
    let mut recipients = args.recipients.clone();
    if let Some(path) = &args.recipients_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading the recipients file", path, e))?;
        if let Encryption::Recipients(more) = Encryption::recipients_from_text(&text) {
            recipients.extend(more);
        }
    }
    Encryption::choose(recipients, passphrase)
}

/// The `--label KEY=VALUE` pairs.
fn labels_of(args: &CreateArgs) -> Result<std::collections::BTreeMap<String, String>> {
    let mut labels = std::collections::BTreeMap::new();
    for label in &args.labels {
        let (k, v) = label
            .split_once('=')
            .ok_or_else(|| Error::config("--label", format!("`{label}` is not KEY=VALUE")))?;
        labels.insert(k.to_string(), v.to_string());
    }
    Ok(labels)
}

async fn create(args: CreateArgs, ctx: &Context) -> Result<()> {
    let store = args.store.open()?;
    let encryption = encryption_of(&args)?;
    let labels = labels_of(&args)?;
    let options = BackupOptions::default()
        .with_format(
            args.format
                .as_deref()
                .map(str::parse)
                .transpose()?
                .unwrap_or_default(),
        )
        .with_jobs(args.jobs)
        .with_compression(args.compression.parse::<Compression>()?)
        .with_compression_level(args.level)
        .with_compression_threads(args.threads)
        .with_copy_format(args.copy_format.parse()?)
        .with_statistics(!args.no_statistics)
        .with_encryption(encryption)
        .with_globals(args.globals)
        .with_row_counts(!args.no_row_counts)
        .with_lock_wait_timeout(
            args.lock_wait_timeout
                .map(|v| {
                    dbops::config::duration_from(
                        "--lock-wait-timeout",
                        v,
                        dbops::config::TimeUnit::Seconds,
                    )
                })
                .transpose()?,
        )
        .with_pg_dump_args(args.pg_dump_args)
        .with_labels(labels)
        .with_progress(ctx.progress("backup"))
        .with_mask(args.mask.masking()?);
    let url = ctx.database_url().await?;
    let report = Backup::new(url, store, options).run().await?;
    ctx.print(&report, || {
        let m = &report.manifest;
        let (plain, stored) = (m.plaintext_size(), m.stored_size());
        let objects = match m.parts.len() {
            0 => String::new(),
            n => format!(" and {n} table objects"),
        };
        format!(
            "backup {} of `{}` stored as {}{objects} in {}\n{} -> {} ({:.1}x, {}{}) in {:.1}s ({:.0} MB/s)",
            m.id,
            m.database,
            m.data.key,
            report.store,
            human_bytes(plain),
            human_bytes(stored),
            plain as f64 / stored.max(1) as f64,
            m.compression,
            match m.encryption.mode {
                dbops::backup::EncryptionMode::None => String::new(),
                mode => format!(", encrypted ({mode:?})").to_lowercase(),
            },
            report.elapsed_secs,
            plain as f64 / 1e6 / report.elapsed_secs.max(1e-9),
        )
    })
}

/// The database to look at: `--database`, else DATABASE_URL's database (without connecting).
fn database_name(explicit: Option<String>, ctx: &Context) -> Result<Option<String>> {
    if explicit.is_some() {
        return Ok(explicit);
    }
    match &ctx.global.database_url {
        Some(raw) => Ok(Some(DatabaseUrl::parse(raw)?.database())),
        None => Ok(None),
    }
}

fn required_database(explicit: Option<String>, ctx: &Context) -> Result<String> {
    database_name(explicit, ctx)?.ok_or_else(|| {
        Error::config(
            "--database",
            "which database's backups? pass --database NAME or set DATABASE_URL",
        )
    })
}

async fn list(args: ListArgs, ctx: &Context) -> Result<()> {
    let store = args.store.open()?;
    let database = if args.all {
        None
    } else {
        database_name(args.database, ctx)?
    };
    let catalog = store.catalog(database.as_deref()).await?;
    ctx.print(&catalog, || {
        let mut out = format!(
            "{:<30} {:<20} {:>10} {:<8} {}\n",
            "ID", "DATABASE", "SIZE", "TABLES", "KEY"
        );
        for b in catalog.backups.iter().rev() {
            out.push_str(&format!(
                "{:<30} {:<20} {:>10} {:<8} {}\n",
                b.id,
                b.database,
                human_bytes(b.size),
                b.manifest
                    .as_ref()
                    .map_or("legacy".to_string(), |m| m.tables.len().to_string()),
                b.key
            ));
        }
        if catalog.backups.is_empty() {
            out.push_str(&format!("(no backups in {})\n", store.describe()));
        }
        for (key, problem) in &catalog.problems {
            out.push_str(&format!(
                "problem: {}: {problem}\n",
                dbops::storage::printable_key(key)
            ));
        }
        for orphan in &catalog.orphans {
            out.push_str(&format!(
                "orphan: {} ({}, no manifest; `dbops backup prune` removes it)\n",
                dbops::storage::printable_key(&orphan.key),
                human_bytes(orphan.size)
            ));
        }
        out
    })
}

fn selector(id: Option<String>) -> BackupSelector {
    id.map_or(BackupSelector::Latest, BackupSelector::Id)
}

async fn show(args: ShowArgs, ctx: &Context) -> Result<()> {
    let store = args.store.open()?;
    let database = required_database(args.database, ctx)?;
    let entry = store.find(&database, &selector(args.id)).await?;
    ctx.print(&entry, || {
        serde_json::to_string_pretty(&entry).unwrap_or_default()
    })
}

async fn verify(args: VerifyArgs, ctx: &Context) -> Result<()> {
    let store = args.store.open()?;
    let database = required_database(args.database, ctx)?;
    let decryption = args.keys.decryption()?;
    let which = selector(args.id);
    if args.restore_test {
        let server = args
            .restore_server
            .as_deref()
            .map(DatabaseUrl::parse)
            .transpose()?;
        let report = restore_test(&store, &database, &which, &decryption, server.as_ref()).await?;
        return ctx.print(&report, || {
            format!(
                "restore test of {} passed on {}: {} tables match the manifest, pg_amcheck: {} ({:.1}s)",
                report.backup_id, report.server, report.tables_checked, report.amcheck, report.elapsed_secs
            )
        });
    }
    let options =
        ValidateOptions::new(database, which, decryption).with_progress(ctx.progress("verify"));
    let report = BackupValidator::new(store).validate(&options).await?;
    ctx.print(&report, || {
        format!(
            "backup {} is valid: {} stored, {} decoded{}{}",
            report.backup_id,
            human_bytes(report.stored_bytes),
            human_bytes(report.plaintext_bytes),
            if report.checksummed {
                ", sha256 match the manifest"
            } else {
                " (legacy file: gzip CRC checked, no manifest)"
            },
            report
                .toc_entries
                .map_or(String::new(), |n| format!(", {n} archive entries"))
        )
    })
}

async fn prune(args: PruneArgs, ctx: &Context) -> Result<()> {
    let store = args.store.open()?;
    let database = required_database(args.database, ctx)?;
    let policy = RetentionPolicy::default()
        .with_keep_last(args.keep_last)
        .with_keep_within_days(args.keep_within)
        .with_keep_daily(args.keep_daily)
        .with_keep_weekly(args.keep_weekly)
        .with_keep_monthly(args.keep_monthly)
        .with_keep_yearly(args.keep_yearly)
        .with_orphan_grace_hours(args.orphan_grace_hours);
    let plan = apply_retention(&store, &database, &policy, args.apply).await?;
    ctx.print(&plan, || {
        let mut out = String::new();
        for kept in &plan.keep {
            out.push_str(&format!(
                "keep    {}  ({})\n",
                kept.backup.id,
                kept.reasons.join(", ")
            ));
        }
        let verb = if plan.applied { "deleted" } else { "delete " };
        for b in &plan.delete {
            out.push_str(&format!("{verb} {}  ({})\n", b.id, human_bytes(b.size)));
        }
        for o in &plan.orphans {
            out.push_str(&format!(
                "{verb} {}  (orphan)\n",
                dbops::storage::printable_key(&o.key)
            ));
        }
        for (key, problem) in &plan.problems {
            out.push_str(&format!(
                "problem (left alone): {}: {problem}\n",
                dbops::storage::printable_key(key)
            ));
        }
        if !(plan.applied || plan.delete.is_empty() && plan.orphans.is_empty()) {
            out.push_str("dry run: nothing deleted; pass --apply to carry out this plan\n");
        }
        out
    })
}

async fn health(args: HealthArgs, ctx: &Context) -> Result<()> {
    use dbops::backup::BackupHealth;
    let store = args.store.open()?;
    let database = required_database(args.database.clone(), ctx)?;
    let options = args.limits.limits().options()?;
    let config = args.alert_settings().config()?;
    let mut checker = BackupHealth::new(store.clone(), database, options);
    if args.check_server {
        checker = checker.with_server(ctx.database_url().await?);
    }
    let report = checker.run().await;
    if let Some(path) = &args.metrics_file {
        dbops::alert::metrics::write_file(
            path,
            &dbops::alert::metrics::render(std::slice::from_ref(&report)),
        )?;
    }
    let alerts = if config.has_channels() {
        Some(dbops::alert::notify(&report, &store, &config).await?)
    } else {
        None
    };
    #[derive(serde::Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        report: &'a dbops::backup::BackupHealthReport,
        alerts: &'a Option<dbops::alert::AlertOutcome>,
    }
    ctx.print(
        &Out {
            report: &report,
            alerts: &alerts,
        },
        || {
            let mut out = format!("{}\n", report.summary());
            for c in &report.checks {
                out.push_str(&format!(
                    "  {:<8} {:<18} {}\n",
                    c.status.to_string().to_uppercase(),
                    c.name,
                    c.reason
                ));
            }
            if let Some(a) = &alerts {
                out.push_str(&format!(
                    "alerts: {} ({})\n",
                    if a.sent { "sent" } else { "not sent" },
                    a.reason
                ));
                for d in &a.deliveries {
                    match &d.error {
                        None => out.push_str(&format!("  {} delivered\n", d.channel)),
                        Some(e) => out.push_str(&format!("  {} FAILED: {e}\n", d.channel)),
                    }
                }
            }
            out
        },
    )?;
    let mut code = report.status.exit_code();
    if let Some(a) = &alerts
        && a.failed()
    {
        eprintln!("dbops: alert delivery failed (see above); the health status is unaffected");
        code = code.max(1);
    }
    ctx.set_exit_code(code);
    Ok(())
}

/// Runs `dbops restore ...`.
pub async fn run_restore(args: RestoreArgs, ctx: &Context) -> Result<()> {
    let (store, selector) = match &args.file {
        Some(file) => BackupSelector::for_file(file)?,
        None => (
            args.store.open()?,
            BackupSelector::choose(args.id.clone(), args.before.as_deref(), None)?,
        ),
    };
    let decryption = args.keys.decryption()?;
    if args.validate_only {
        let database = match (&args.from_database, &args.into) {
            (Some(db), _) => db.clone(),
            _ => database_name(None, ctx)?.unwrap_or_default(),
        };
        let options = ValidateOptions::new(database, selector, decryption)
            .with_progress(ctx.progress("validate"));
        let report = BackupValidator::new(store).validate(&options).await?;
        return ctx.print(&report, || {
            format!(
                "backup {} is valid ({} stored, {} decoded); no database was touched",
                report.backup_id,
                human_bytes(report.stored_bytes),
                human_bytes(report.plaintext_bytes)
            )
        });
    }
    let url = ctx.database_url().await?;
    let target = RestoreTarget::choose(args.into.clone(), args.create)?;
    let options = RestoreOptions::default()
        .with_selector(selector)
        .with_source_database(args.from_database.clone())
        .with_target(target)
        .with_clean(args.clean)
        .with_no_owner(args.no_owner)
        .with_no_acl(args.no_acl)
        .with_jobs(args.jobs)
        .with_analyze(!args.no_analyze)
        .with_decryption(decryption)
        .with_check_row_counts(!args.no_row_check)
        .with_progress(ctx.progress("restore"))
        .with_mask(args.mask.masking()?)
        .with_subset(
            args.subset
                .iter()
                .map(|s| s.parse())
                .collect::<Result<_>>()?,
        );
    let report = PgRestorer::new(url, store).restore(&options).await?;
    ctx.print(&report, || {
        let mut text = format!(
            "restored backup {} into `{}`{}: {} downloaded, {} replayed, {} tables match the manifest ({:.1}s)",
            report.backup_id,
            report.database,
            if report.created { " (created)" } else { "" },
            human_bytes(report.stored_bytes),
            human_bytes(report.plaintext_bytes),
            report.tables_checked,
            report.elapsed_secs
        );
        if let Some(masking) = &report.masking {
            text.push_str(&masking_text(masking));
        }
        if !report.decoded_as_text.is_empty() {
            text.push_str(&format!(
                "\nloaded the binary rows of {} as text (masked, or another PostgreSQL major version)",
                report.decoded_as_text.join(", ")
            ));
        }
        text
    })
}

/// What masking and subsetting did, as lines for the terminal.
fn masking_text(masking: &dbops::restore::MaskingSummary) -> String {
    let mut text = String::new();
    if masking.masked_columns > 0 {
        text.push_str(&format!(
            "\nmasked {} columns in {} tables while loading",
            masking.masked_columns, masking.masked_tables
        ));
    }
    for note in &masking.notes {
        text.push_str(&format!("\nnote: {note}"));
    }
    if let Some(subset) = masking.subset() {
        let removed: u64 = subset.removed.values().sum();
        text.push_str(&format!(
            "\nsubset: removed {removed} rows outside the selection and its closure ({})",
            subset
                .removed
                .iter()
                .map(|(table, rows)| format!("{table} {rows}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    text
}

/// `1.5 MB`-style sizes.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}
