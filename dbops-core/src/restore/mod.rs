//! Restores: fetch a backup, verify it while streaming, decrypt, decompress and feed `pg_restore` (or
//! `psql` for plain and legacy `.sql.gz` dumps) in one transaction, then compare row counts with the
//! manifest. `validate` does everything but touch a database.

/// Prefix of a restore's private spool directory (in the system's temporary directory).
const SPOOL_PREFIX: &str = "dbops-restore-";

mod autovacuum;
mod binary_text;
mod compat;
mod drill;
mod masking;
mod pipeline;
mod post_data;
mod post_data_rest;
mod statement_settings;
mod stream;
mod tables;
mod tools;

pub use crate::analyze::analyze_database;
pub use crate::catalog::{RestoreTestReport, last_restore_test};
pub use drill::restore_test;
pub use masking::MaskingSummary;

use std::process::Stdio;
use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::backup::{BackupEntry, BackupSelector, BackupStore, DumpFormat, count_rows};
use crate::catalog::BackupCatalog;
use crate::cluster::{PgInstallations, last_lines, spawn_error};
use crate::codec::Decryption;
use crate::config::{ChildEnv, DatabaseUrl, collect_stderr, quote_ident};
use crate::error::{Error, Result};
use crate::progress::{self, Progress, ProgressUnit};
use std::sync::Arc;

/// Where a restore goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RestoreTarget {
    /// The database of the connection URL. Default.
    #[default]
    Original,
    /// Another database on the same server; `create` makes it (and drops it again if the restore fails).
    Database {
        /// Its name.
        name: String,
        /// Create it first; it must not exist.
        create: bool,
    },
}

impl RestoreTarget {
    /// Checks a target database's name before any work: not empty, at most 63 bytes (PostgreSQL
    /// would cut a longer one), no NUL.
    pub fn validate(&self) -> Result<()> {
        let RestoreTarget::Database { name, .. } = self else {
            return Ok(());
        };
        let problem = if name.is_empty() {
            Some("it is empty")
        } else if name.len() > 63 {
            Some("it is longer than 63 bytes, which PostgreSQL would cut it to")
        } else if name.contains('\0') {
            Some("it holds a NUL character")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::config(
                "target database name",
                format!("`{}`: {problem}; nothing was restored", name.escape_debug()),
            )),
            None => Ok(()),
        }
    }

    /// The target from a database name (`into`) and whether to create it; creating needs a name.
    pub fn choose(into: Option<String>, create: bool) -> Result<Self> {
        match (into, create) {
            (Some(name), create) => {
                let target = RestoreTarget::Database { name, create };
                target.validate()?;
                Ok(target)
            }
            (None, true) => Err(Error::config(
                "restore target",
                "creating a database needs its name (--into NAME / into=)",
            )),
            (None, false) => Ok(RestoreTarget::Original),
        }
    }
}

/// How to restore. Every field has a documented default.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Which backup. Default: the latest.
    pub selector: BackupSelector,
    /// Whose backups: the database name the backups were taken of. Default: the URL's database.
    pub source_database: Option<String>,
    /// Where to restore. Default: the URL's database.
    pub target: RestoreTarget,
    /// Drop existing objects before recreating them (`pg_restore --clean --if-exists`); without it a
    /// non-empty target is refused. Default: false.
    pub clean: bool,
    /// Skip ownership (`--no-owner`). Default: false.
    pub no_owner: bool,
    /// Skip privileges (`--no-acl`). Default: false.
    pub no_acl: bool,
    /// Connections loading tables and building indexes at once. Above 1 the restore is not one
    /// transaction (a new database still appears only complete: it is built under a staging name).
    /// `tables` backups stream every table from the store on its own connection; custom-format backups
    /// are spooled to a private local file for `pg_restore --jobs`. Default (`None`): this machine's
    /// CPU count (at most 4) into a new database, 1 (one transaction) into an existing one.
    pub jobs: Option<u32>,
    /// Run ANALYZE on every table afterwards (on `jobs` connections), so the first queries have
    /// planner statistics. Default: true.
    pub analyze: bool,
    /// Keys for encrypted backups. Default: none.
    pub decryption: Decryption,
    /// Compare each table's row count with the manifest afterwards. Default: true.
    pub check_row_counts: bool,
    /// Progress callback (stored bytes downloaded). Default: none.
    pub progress: Option<Progress>,
    /// Mask personal data while the rows stream into the target (`tables` backups only): unmasked
    /// values never reach the target's tables or WAL. Default: none.
    #[cfg(feature = "mask")]
    pub mask: Option<std::sync::Arc<crate::mask::Masking>>,
    /// Keep only these rows and their referential closure (`tables` backups only). Default: all rows.
    #[cfg(feature = "mask")]
    pub subset: Vec<crate::mask::SubsetRule>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        Self {
            selector: BackupSelector::Latest,
            source_database: None,
            target: RestoreTarget::Original,
            clean: false,
            no_owner: false,
            no_acl: false,
            jobs: None,
            analyze: true,
            decryption: Decryption::none(),
            check_row_counts: true,
            progress: None,
            #[cfg(feature = "mask")]
            mask: None,
            #[cfg(feature = "mask")]
            subset: Vec::new(),
        }
    }
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The backup restored.
    pub backup_id: String,
    /// Its data key.
    pub key: String,
    /// The database restored into.
    pub database: String,
    /// Whether dbops created that database.
    pub created: bool,
    /// Bytes downloaded.
    pub stored_bytes: u64,
    /// Bytes of dump fed to `pg_restore`/`psql`.
    pub plaintext_bytes: u64,
    /// Tables whose row counts were compared with the manifest (all matched).
    pub tables_checked: usize,
    /// Connections used.
    pub jobs: u32,
    /// Seconds per stage, in order (`schema`, `data` — for the `tables` format with each table's own
    /// indexes and ANALYZE —, `post-data`, `restore` for other formats, `analyze`).
    pub stages: Vec<(String, f64)>,
    /// What masking and subsetting did, when the restore was masked or a subset.
    pub masking: Option<MaskingSummary>,
    /// Whether the backup's planner statistics (PostgreSQL 18 and newer) were restored with it, so
    /// no ANALYZE ran.
    pub statistics_restored: bool,
    /// Tables stored as COPY binary whose rows were decoded and loaded as text (`schema.name`): those
    /// a masked restore masks, or all of them when the target runs another major version of
    /// PostgreSQL than the backup's server.
    pub decoded_as_text: Vec<String>,
    /// Wall time in seconds.
    pub elapsed_secs: f64,
}

impl RestoreOptions {
    /// The connections to use: `jobs`, or the automatic choice for a new (`created`) or existing
    /// database.
    pub fn effective_jobs(&self, created: bool) -> u32 {
        match self.jobs {
            Some(jobs) => jobs.max(1),
            None if created => crate::backup::default_jobs() as u32,
            None => 1,
        }
    }
}

/// What validating a backup found (every check passed, or it is an error).
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// The backup.
    pub backup_id: String,
    /// Its data key.
    pub key: String,
    /// Bytes downloaded (sha256 and size matched the manifest).
    pub stored_bytes: u64,
    /// Decoded bytes (sha256 and size matched the manifest).
    pub plaintext_bytes: u64,
    /// Entries in the archive's table of contents (`pg_restore --list`), for custom-format dumps.
    pub toc_entries: Option<usize>,
    /// Whether the manifest carried checksums (legacy files have none; only their gzip CRC is checked).
    pub checksummed: bool,
    /// Wall time in seconds.
    pub elapsed_secs: f64,
}

/// How to validate a backup. Every field has a documented default.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Which backup. Default: the latest.
    pub selector: BackupSelector,
    /// Whose backups. Default: the restorer's database.
    pub source_database: Option<String>,
    /// Keys for encrypted backups. Default: none.
    pub decryption: Decryption,
    /// Progress callback (stored bytes downloaded). Default: none.
    pub progress: Option<Progress>,
}

impl ValidateOptions {
    /// Validates `selector`'s backup of `database` with the keys in `decryption`.
    pub fn new(
        database: impl Into<String>,
        selector: BackupSelector,
        decryption: Decryption,
    ) -> Self {
        Self {
            selector,
            source_database: Some(database.into()),
            decryption,
            progress: None,
        }
    }
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self {
            selector: BackupSelector::Latest,
            source_database: None,
            decryption: Decryption::none(),
            progress: None,
        }
    }
}

/// Restoring and validating backups: [`PgRestorer`] restores from any [`BackupStore`] into
/// PostgreSQL. Implement it to put policy around restores (an audit trail, refusing targets), and hand
/// the wrapper to code that takes a `&dyn Restorer`.
///
/// ```
/// use dbops::restore::{RestoreOptions, RestoreReport, Restorer, ValidateOptions, ValidationReport};
///
/// /// Refuses restores over the original database; delegates everything else.
/// struct IntoNewDatabasesOnly<R>(R);
///
/// #[async_trait::async_trait]
/// impl<R: Restorer> Restorer for IntoNewDatabasesOnly<R> {
///     async fn restore(&self, options: &RestoreOptions) -> dbops::Result<RestoreReport> {
///         if options.target == dbops::restore::RestoreTarget::Original {
///             return Err(dbops::Error::Refused {
///                 action: "restore over the original database".into(),
///                 reason: "this service restores into new databases only".into(),
///             });
///         }
///         self.0.restore(options).await
///     }
///     async fn validate(&self, options: &ValidateOptions) -> dbops::Result<ValidationReport> {
///         self.0.validate(options).await
///     }
/// }
/// ```
#[async_trait]
pub trait Restorer: Send + Sync {
    /// Restores a backup as `options` say.
    async fn restore(&self, options: &RestoreOptions) -> Result<RestoreReport>;
    /// Downloads, decrypts and decompresses a backup, checking every hash and the archive's table of
    /// contents, without touching any database; reports download progress.
    async fn validate(&self, options: &ValidateOptions) -> Result<ValidationReport>;
}

/// Restores backups from any [`BackupStore`] into PostgreSQL. A cheap `Clone` handle.
#[derive(Debug, Clone)]
pub struct PgRestorer {
    url: Option<DatabaseUrl>,
    store: Arc<dyn BackupStore>,
}

impl PgRestorer {
    /// Checks `options.mask`'s rules against the schema of the backup `options` select (the same
    /// check a masked restore makes before any row), restoring only its schema into a scratch
    /// database that is dropped again.
    #[cfg(feature = "mask")]
    pub async fn check_mask(&self, options: &RestoreOptions) -> Result<crate::mask::MaskCheck> {
        let url = self.server()?;
        let source_db = options
            .source_database
            .clone()
            .unwrap_or_else(|| url.database());
        let entry = self.store.find(&source_db, &options.selector).await?;
        masking::check_backup(url, self.store.as_ref(), &entry, options).await
    }

    /// A restorer for the server at `url` (its database is the default target and source name).
    pub fn new(url: DatabaseUrl, store: impl BackupStore + 'static) -> Self {
        Self {
            url: Some(url),
            store: Arc::new(store),
        }
    }

    /// A restorer that only validates backups in `store` (no server: [`Restorer::restore`] refuses;
    /// [`Restorer::validate`] needs [`ValidateOptions::source_database`]).
    pub fn validator(store: impl BackupStore + 'static) -> Self {
        Self {
            url: None,
            store: Arc::new(store),
        }
    }

    fn server(&self) -> Result<&DatabaseUrl> {
        self.url.as_ref().ok_or_else(|| {
            Error::config(
                "restore",
                "this restorer only validates (PgRestorer::validator); give it a database URL to \
                 restore into (PgRestorer::new)",
            )
        })
    }
}

#[async_trait]
impl Restorer for PgRestorer {
    async fn restore(&self, options: &RestoreOptions) -> Result<RestoreReport> {
        restore_backup(self.server()?, self.store.as_ref(), options).await
    }

    #[tracing::instrument(name = "backup.validate", skip_all, fields(store = %self.store.describe()))]
    async fn validate(&self, options: &ValidateOptions) -> Result<ValidationReport> {
        let database = match (&options.source_database, &self.url) {
            (Some(database), _) => database.clone(),
            (None, Some(url)) => url.database(),
            (None, None) => {
                return Err(Error::config(
                    "validate",
                    "which database's backups? set ValidateOptions::source_database",
                ));
            }
        };
        let entry = self.store.find(&database, &options.selector).await?;
        validate_entry(
            self.store.as_ref(),
            &entry,
            &options.decryption,
            options.progress.as_ref(),
        )
        .await
    }
}

/// Restores a backup from `store` onto the server of `url` as `options` say ([`Restorer::restore`]
/// of [`PgRestorer`]).
#[tracing::instrument(name = "restore", skip_all, fields(store = %store.describe()))]
pub async fn restore_backup(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &RestoreOptions,
) -> Result<RestoreReport> {
    let started = Instant::now();
    options.target.validate()?;
    let source_db = options
        .source_database
        .clone()
        .unwrap_or_else(|| url.database());
    // The local programs are searched for (a search that runs programs, kept for the process) on a
    // blocking thread while the store lists its backups and the server creates the database; a
    // failed search is reported where a program is first needed.
    drop(tokio::task::spawn_blocking(PgInstallations::discover));
    let entry = store.find(&source_db, &options.selector).await?;
    let (target_name, create) = match &options.target {
        RestoreTarget::Original => (url.database(), false),
        RestoreTarget::Database { name, create } => (name.clone(), *create),
    };
    // A new database is restored under a private staging name and renamed into place at the end:
    // whatever happens to this process, the target either does not exist or is complete, and of
    // two restores into the same new name exactly one wins.
    let (staging, schema) = if create {
        let (staging, schema) = create_staging(url, store, &entry, options, &target_name).await?;
        (Some(staging), schema)
    } else {
        (None, None)
    };
    let target = url.with_database(staging.as_ref().map_or(&target_name, |s| &s.name));
    let mut outcome = restore_and_analyze(store, &entry, &target, options, create, schema).await;
    if let (Some(staging), Ok(_)) = (&staging, &outcome)
        && let Err(error) = rename_database(url, &staging.name, &target_name).await
    {
        outcome = Err(error);
    }
    let staging = staging.map(StagingDatabase::settle);
    match outcome {
        Ok(restored) => Ok(RestoreReport {
            backup_id: entry.id.clone(),
            key: entry.key.clone(),
            database: target_name,
            created: create,
            stored_bytes: restored.stored_bytes,
            plaintext_bytes: restored.plaintext_bytes,
            tables_checked: restored.tables_checked,
            jobs: restored.jobs,
            stages: restored.stages,
            masking: restored.masking,
            statistics_restored: restored.statistics_restored,
            decoded_as_text: restored.decoded_as_text,
            elapsed_secs: started.elapsed().as_secs_f64(),
        }),
        Err(error) => {
            if let Some(staging) = staging {
                drop_failed_staging(url, staging).await;
            }
            Err(explained_for_older_server(url, &entry, error).await)
        }
    }
}

/// A failed restore's `error`, with what it means when the target server (of `url`) is older than
/// the backup's.
async fn explained_for_older_server(url: &DatabaseUrl, entry: &BackupEntry, error: Error) -> Error {
    let Some(backup_major) = entry
        .manifest
        .as_ref()
        .and_then(|m| tools::major_of_version_text(&m.server_version))
    else {
        return error;
    };
    let target_major = match url.connect().await {
        Ok(client) => crate::cluster::server_major(&client).await.ok(),
        Err(_) => None,
    };
    match target_major {
        Some(target_major) if target_major < backup_major => Error::RestoreIntoOlderServer {
            backup_major,
            target_major,
            source: Box::new(error),
        },
        _ => error,
    }
}

/// Drops the staging database of a failed restore. When the server cannot be reached (the failure
/// was a restart, say), the drop is retried in the background for a minute (tracked by
/// [`crate::cleanup`]); a staging database that outlives even that is dropped by the next restore once
/// this process has ended.
async fn drop_failed_staging(url: &DatabaseUrl, staging: String) {
    if drop_database(url, &staging).await.is_ok() {
        return;
    }
    let url = url.clone();
    crate::cleanup::spawn(
        format!("dropping the staging database `{staging}` of a failed restore"),
        Box::pin(async move {
            let deadline = Instant::now() + std::time::Duration::from_secs(60);
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                match drop_database(&url, &staging).await {
                    Ok(()) => return,
                    Err(error) if Instant::now() > deadline => {
                        tracing::warn!(%error, database = %staging, "could not drop the staging database of a failed restore");
                        return;
                    }
                    Err(_) => {}
                }
            }
        }),
    );
}

/// The staging database of a restore into a new database. Dropped (in the background, tracked by
/// [`crate::cleanup`]) if the restore is cancelled before it is settled.
struct StagingDatabase {
    name: String,
    cancelled: crate::cleanup::OnDrop,
}

impl StagingDatabase {
    /// Guards the staging database `name` on the server of `url` (before it is created, so a restore
    /// cancelled while the server creates it drops it too).
    fn guard(url: &DatabaseUrl, name: String) -> Self {
        let (url, dropped) = (url.clone(), name.clone());
        let cancelled = crate::cleanup::OnDrop::new(
            format!("dropping the staging database `{name}` of a cancelled restore"),
            move || {
                Box::pin(async move {
                    if let Err(error) = drop_database(&url, &dropped).await {
                        tracing::warn!(%error, "could not drop the staging database");
                    }
                })
            },
        );
        Self { name, cancelled }
    }

    /// The restore ended (renamed into place, or failed and about to drop it itself): its name.
    fn settle(self) -> String {
        self.cancelled.disarm();
        self.name
    }
}

/// Creates the staging database of a restore into the new database `target` (refusing an existing
/// one, dropping those of killed restores) while a `tables` backup's schema archive is fetched and
/// rendered. A failure leaves no staging database behind.
async fn create_staging(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    entry: &BackupEntry,
    options: &RestoreOptions,
    target: &str,
) -> Result<(StagingDatabase, Option<tables::PreparedSchema>)> {
    refuse_existing(url, target).await?;
    drop_abandoned_staging(url).await;
    let staging = StagingDatabase::guard(url, staging_name());
    let tables = entry
        .manifest
        .as_ref()
        .is_some_and(|m| m.format == DumpFormat::Tables);
    let target_major = target_server_major(url).await?;
    let prepare = async {
        if tables {
            tables::PreparedSchema::prepare(store, entry, options, target_major)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (created, schema) = tokio::join!(create_database(url, &staging.name, target), prepare);
    if let Err(error) = created {
        staging.settle();
        return Err(error);
    }
    match schema {
        Ok(schema) => Ok((staging, schema)),
        Err(error) => {
            drop_database(url, &staging.settle()).await.ok();
            Err(error)
        }
    }
}

/// Validates one backup entry (see [`Restorer::validate`]).
pub async fn validate_entry(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    decryption: &Decryption,
    progress: Option<&Progress>,
) -> Result<ValidationReport> {
    let started = Instant::now();
    let archive = entry
        .manifest
        .as_ref()
        .is_some_and(|m| matches!(m.format, DumpFormat::Custom | DumpFormat::Tables));
    let (mut decoded, toc_entries) = if archive {
        let (decoded, entries) = list_archive(store, entry, decryption, progress).await?;
        (decoded, Some(entries))
    } else {
        let (decoded, _) =
            stream::decode_into(store, entry, decryption, progress, || Ok(std::io::sink())).await?;
        (decoded, None)
    };
    if let Some(manifest) = &entry.manifest {
        // Every object besides the main one: the globals and each table's rows.
        let others = manifest
            .globals
            .iter()
            .chain(manifest.parts.iter().map(|p| &p.object));
        for object in others {
            let source = stream::Source::of_object(object, manifest);
            let (part_decoded, _) = stream::decode_source_into(
                store,
                &source,
                decryption,
                None,
                || Ok(std::io::sink()),
            )
            .await?;
            decoded.stored_bytes += part_decoded.stored_bytes;
            decoded.plaintext_bytes += part_decoded.plaintext_bytes;
            progress::report(
                progress,
                "validating",
                decoded.stored_bytes,
                Some(manifest.stored_size()),
                ProgressUnit::Bytes,
            );
        }
    }
    Ok(ValidationReport {
        backup_id: entry.id.clone(),
        key: entry.key.clone(),
        stored_bytes: decoded.stored_bytes,
        plaintext_bytes: decoded.plaintext_bytes,
        toc_entries,
        checksummed: entry.manifest.is_some(),
        elapsed_secs: started.elapsed().as_secs_f64(),
    })
}

/// Streams a custom archive through `pg_restore --list` while verifying it; returns its entries.
async fn list_archive(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    decryption: &Decryption,
    progress: Option<&Progress>,
) -> Result<(stream::Decoded, usize)> {
    let program = tools::RestoreTools::for_backup_async(entry, None)
        .await?
        .reader()?;
    let mut child = tokio::process::Command::new(&program)
        .arg("--list")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| spawn_error(&program, "listing the archive", e))?;
    let stdin = take_stdin(&mut child, &program)?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let listing = tokio::spawn(async move {
        let mut out = String::new();
        let mut err = String::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_string(&mut out).await;
        }
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut err).await;
        }
        (out, err)
    });
    let (decoded, sink) = stream::decode_into(store, entry, decryption, progress, move || {
        Ok(stream::TolerantPipe::new(stdin))
    })
    .await?;
    drop(sink);
    let status = child
        .wait()
        .await
        .map_err(|e| spawn_error(&program, "listing the archive", e))?;
    let (out, err) = listing.await.unwrap_or_default();
    if !status.success() {
        return Err(Error::Integrity {
            key: entry.key.clone(),
            reason: format!(
                "hashes match but `pg_restore --list` cannot read the archive ({status}): {}",
                last_lines(&err, 5)
            ),
        });
    }
    let entries = out
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .count();
    Ok((decoded, entries))
}

/// What a restore into the target did, before it is named.
struct Restored {
    stored_bytes: u64,
    plaintext_bytes: u64,
    tables_checked: usize,
    jobs: u32,
    stages: Vec<(String, f64)>,
    masking: Option<MaskingSummary>,
    /// Tables the restore analyzed already (`schema.name`).
    analyzed: Vec<String>,
    /// Binary tables loaded as text (`schema.name`).
    decoded_as_text: Vec<String>,
    /// Whether the backup's planner statistics were restored.
    statistics_restored: bool,
}

/// The restore proper, then ANALYZE when asked for (of what the restore did not analyze yet), unless
/// the backup's planner statistics were restored.
async fn restore_and_analyze(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    target: &DatabaseUrl,
    options: &RestoreOptions,
    created: bool,
    schema: Option<tables::PreparedSchema>,
) -> Result<Restored> {
    let mut restored = restore_into(store, entry, target, options, created, schema).await?;
    if options.analyze && !restored.statistics_restored {
        let seconds = crate::analyze::analyze_database_except(
            target,
            restored.jobs as usize,
            &restored.analyzed,
        )
        .await?;
        restored.stages.push(("analyze".into(), seconds));
    }
    Ok(restored)
}

/// Refuses a restore into the existing database `target` when it holds objects, unless `--clean`
/// asks to drop and recreate them (which a plain SQL dump cannot).
async fn refuse_unless_empty_or_clean(
    target: &DatabaseUrl,
    entry: &BackupEntry,
    options: &RestoreOptions,
    plain: bool,
) -> Result<()> {
    let database = target.database();
    let objects = user_object_count(target).await?;
    if objects > 0 && !options.clean {
        return Err(Error::Refused {
            action: format!("restore into `{database}`"),
            reason: format!(
                "it already holds {objects} tables, views or sequences; restore into a new database \
                 (--into NAME --create) or pass --clean to drop and recreate the backup's objects"
            ),
        });
    }
    if objects > 0 && plain {
        return Err(Error::Refused {
            action: format!("restore `{}` into `{database}` with --clean", entry.key),
            reason: "plain SQL dumps cannot drop what they recreate; restore into a new database \
                     (--into NAME --create) or into an empty one"
                .into(),
        });
    }
    Ok(())
}

/// The restore proper, of a `tables` backup from its `schema` when already prepared.
async fn restore_into(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    target: &DatabaseUrl,
    options: &RestoreOptions,
    created: bool,
    schema: Option<tables::PreparedSchema>,
) -> Result<Restored> {
    let plain = entry
        .manifest
        .as_ref()
        .is_none_or(|m| m.format == DumpFormat::Plain);
    if !created {
        refuse_unless_empty_or_clean(target, entry, options, plain).await?;
    }
    let jobs = options.effective_jobs(created);
    if let Some(manifest) = entry
        .manifest
        .as_ref()
        .filter(|m| m.format == DumpFormat::Tables)
    {
        let restored = tables::restore(
            store,
            entry,
            manifest,
            target,
            options,
            jobs as usize,
            created,
            schema,
        )
        .await?;
        return Ok(Restored {
            stored_bytes: restored.stored_bytes,
            plaintext_bytes: restored.plaintext_bytes,
            tables_checked: restored.tables_checked,
            jobs,
            stages: restored.stages,
            masking: restored.masking,
            analyzed: restored.analyzed,
            decoded_as_text: restored.decoded_as_text,
            statistics_restored: restored.statistics_restored,
        });
    }
    if masking::RestoreMasking::wanted(options) {
        return Err(Error::Refused {
            action: format!("masked or subset restore of `{}`", entry.key),
            reason:
                "masking and subsets stream each table's rows, which only backups in the `tables` \
                     format (the default) store apart; take a new backup with --format tables"
                    .into(),
        });
    }
    let started = Instant::now();
    let target_major = crate::cluster::server_major(&target.connect_for_work().await?).await?;
    let tools = tools::RestoreTools::for_backup_async(entry, Some(target_major)).await?;
    let (pg_restore, pg_restore_major) = tools.loader("pg_restore", target_major)?;
    let env = ChildEnv::for_url(target)?;
    let (decoded, jobs) = if plain {
        let load = Load::new(&tools, target_major)?;
        (
            restore_streaming(store, entry, &load, &env, options, &tools).await?,
            1,
        )
    } else if compat::connects_badly(pg_restore_major, target_major) {
        // A pg_restore this new sets what the older server refuses: its rendered script goes
        // through psql instead, in one transaction.
        let load = Load::rendered(&tools, target_major)?;
        (
            restore_streaming(store, entry, &load, &env, options, &tools).await?,
            1,
        )
    } else if jobs > 1 {
        let decoded =
            restore_parallel(store, entry, &pg_restore, &env, options, &tools, jobs).await?;
        (decoded, jobs)
    } else {
        let load = Load::archive(pg_restore);
        (
            restore_streaming(store, entry, &load, &env, options, &tools).await?,
            1,
        )
    };
    let checked = match (&entry.manifest, options.check_row_counts) {
        (Some(manifest), true) => compare_row_counts(target, &manifest.tables, &entry.key).await?,
        _ => 0,
    };
    Ok(Restored {
        stored_bytes: decoded.stored_bytes,
        plaintext_bytes: decoded.plaintext_bytes,
        tables_checked: checked,
        jobs,
        stages: vec![("restore".into(), started.elapsed().as_secs_f64())],
        masking: None,
        analyzed: Vec::new(),
        decoded_as_text: Vec::new(),
        statistics_restored: tools.keeps_statistics(),
    })
}

/// `pg_restore`'s arguments for `options`, the statistics left out when the target cannot take them.
fn restore_args(options: &RestoreOptions, tools: &tools::RestoreTools) -> Vec<&'static str> {
    let mut args = vec!["--no-password", "--exit-on-error"];
    args.extend(tools.statistics_args());
    if options.clean {
        args.extend(["--clean", "--if-exists"]);
    }
    if options.no_owner {
        args.push("--no-owner");
    }
    if options.no_acl {
        args.push("--no-acl");
    }
    args
}

/// How a streamed restore loads: `pg_restore` reading the archive into the server, or `psql`
/// replaying a plain dump, or replaying the script a `pg_restore` renders from the archive (for a
/// server older than that `pg_restore` can connect to); `filter`: leave out what an older server
/// refuses (see [`compat::SettingsFilter`]).
struct Load {
    program: std::path::PathBuf,
    renderer: Option<std::path::PathBuf>,
    filter: bool,
}

impl Load {
    /// `pg_restore` into the server.
    fn archive(pg_restore: std::path::PathBuf) -> Self {
        Self {
            program: pg_restore,
            renderer: None,
            filter: false,
        }
    }

    /// `psql` replaying a plain dump into a server of `target_major`.
    fn new(tools: &tools::RestoreTools, target_major: u32) -> Result<Self> {
        Ok(Self {
            program: tools.loader("psql", target_major)?.0,
            renderer: None,
            filter: target_major < 17,
        })
    }

    /// `psql` replaying what `pg_restore` renders from the archive, into a server of `target_major`.
    fn rendered(tools: &tools::RestoreTools, target_major: u32) -> Result<Self> {
        Ok(Self {
            renderer: Some(tools.reader()?),
            ..Self::new(tools, target_major)?
        })
    }

    fn is_psql(&self) -> bool {
        self.renderer.is_some() || self.program.ends_with("psql")
    }

    fn action(&self) -> &'static str {
        match (self.is_psql(), &self.renderer) {
            (_, Some(_)) => "replaying the rendered archive",
            (true, None) => "replaying the SQL dump",
            (false, None) => "restoring the archive",
        }
    }
}

/// Streams the backup into the loader of `load` in one transaction.
async fn restore_streaming(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    load: &Load,
    env: &ChildEnv,
    options: &RestoreOptions,
    tools: &tools::RestoreTools,
) -> Result<stream::Decoded> {
    let (program, action) = (load.program.as_path(), load.action());
    let mut command = tokio::process::Command::new(program);
    env.apply(&mut command);
    if load.is_psql() {
        command.args([
            "-X",
            "-q",
            "--no-password",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
            "-",
        ]);
    } else {
        command
            .args(restore_args(options, tools))
            .arg("--single-transaction")
            .arg(format!("--dbname={}", env_database(env)));
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    crate::failpoint::failpoint("restore::before_pg_restore_start")?;
    let mut child = command
        .spawn()
        .map_err(|e| spawn_error(program, action, e))?;
    let stdin = stream::ConsumerInput::new(take_stdin(&mut child, program)?, child.id());
    let stderr = collect_stderr(&mut child);
    let feed = match &load.renderer {
        Some(renderer) => Feed::rendered(renderer, options, tools, stdin, load.filter)?,
        None => Feed::direct(stdin, load.filter),
    };
    let decoded = feed.stream(store, entry, options).await;
    match decoded {
        Ok(decoded) => {
            let status = child
                .wait()
                .await
                .map_err(|e| spawn_error(program, action, e))?;
            let stderr = stderr.await.unwrap_or_default();
            if !status.success() {
                return Err(Error::Command {
                    program: program.display().to_string(),
                    action: format!(
                        "{action} `{}` (rolled back: nothing was changed)",
                        entry.key
                    ),
                    status: status.to_string(),
                    stderr: last_lines(&stderr, 10),
                });
            }
            Ok(decoded)
        }
        Err(error) => {
            // Kill before end of input reaches it: the single transaction never commits.
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(error)
        }
    }
}

/// Where a streamed restore's decoded bytes go: the loader's input, through the settings filter;
/// or a rendering `pg_restore` whose script is pumped through it into the loader.
enum Feed {
    Direct(compat::SettingsFilter<stream::ConsumerInput>),
    Rendered {
        renderer: tokio::process::Child,
        input: stream::ConsumerInput,
        pump: tokio::task::JoinHandle<std::io::Result<stream::ConsumerInput>>,
    },
}

impl Feed {
    fn direct(loader: stream::ConsumerInput, filter: bool) -> Self {
        Feed::Direct(compat::SettingsFilter::new(loader, filter))
    }

    /// Starts `renderer` (`pg_restore --file=-`) and a thread pumping its script into `loader`.
    fn rendered(
        renderer: &std::path::Path,
        options: &RestoreOptions,
        tools: &tools::RestoreTools,
        loader: stream::ConsumerInput,
        filter: bool,
    ) -> Result<Self> {
        let action = "rendering the archive";
        let mut child = tokio::process::Command::new(renderer)
            .args(
                restore_args(options, tools)
                    .into_iter()
                    .filter(|a| *a != "--no-password" && *a != "--exit-on-error"),
            )
            .arg("--file=-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| spawn_error(renderer, action, e))?;
        let input = stream::ConsumerInput::new(take_stdin(&mut child, renderer)?, child.id());
        let script = child
            .stdout
            .take()
            .ok_or_else(|| spawn_error(renderer, action, std::io::ErrorKind::BrokenPipe.into()))?
            .into_owned_fd()
            .map_err(|e| Error::io("reading the rendered archive", renderer, e))?;
        // The loader's input is handed back, not closed: it may end only once the renderer is known
        // to have rendered the whole archive.
        let pump = tokio::task::spawn_blocking(move || {
            let mut script = std::fs::File::from(script);
            let mut sink = compat::SettingsFilter::new(loader, filter);
            std::io::copy(&mut script, &mut sink)?;
            sink.into_inner()
        });
        Ok(Feed::Rendered {
            renderer: child,
            input,
            pump,
        })
    }

    /// Streams the backup through; the loader's input is closed at the end (its end of input).
    async fn stream(
        self,
        store: &dyn BackupStore,
        entry: &BackupEntry,
        options: &RestoreOptions,
    ) -> Result<stream::Decoded> {
        let progress = options.progress.as_ref();
        match self {
            Feed::Direct(sink) => {
                let (decoded, sink) =
                    stream::decode_into(store, entry, &options.decryption, progress, move || {
                        Ok(sink)
                    })
                    .await?;
                sink.into_inner()
                    .map_err(|e| Error::io("feeding the restore", "", e))?
                    .finish();
                Ok(decoded)
            }
            Feed::Rendered {
                mut renderer,
                input,
                pump,
            } => {
                let decoded =
                    stream::decode_into(store, entry, &options.decryption, progress, move || {
                        Ok(input)
                    })
                    .await;
                let (decoded, input) = match decoded {
                    Ok(done) => done,
                    Err(error) => {
                        let _ = renderer.start_kill();
                        return Err(error);
                    }
                };
                input.finish();
                let rendered = renderer.wait().await;
                let pumped = pump.await;
                match (rendered, pumped) {
                    (Ok(status), Ok(Ok(loader))) if status.success() => {
                        loader.finish();
                        Ok(decoded)
                    }
                    // A loader that stopped reading (it failed) reports its own error.
                    (_, Ok(Err(e))) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(decoded),
                    _ => Err(Error::Integrity {
                        key: entry.key.clone(),
                        reason: "the archive could not be rendered to SQL (pg_restore --file=-); \
                                 nothing was committed"
                            .into(),
                    }),
                }
            }
        }
    }
}

/// Spools the archive to a private file and restores it with `program` (`pg_restore`) on `jobs`
/// connections.
async fn restore_parallel(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    program: &std::path::Path,
    env: &ChildEnv,
    options: &RestoreOptions,
    tools: &tools::RestoreTools,
    jobs: u32,
) -> Result<stream::Decoded> {
    let spool_dir = crate::cluster::owned_temp_dir(SPOOL_PREFIX)
        .map_err(|e| Error::io("creating a spool directory", std::env::temp_dir(), e))?;
    let spool = spool_dir.path().join("backup.dump");
    let (decoded, file) = stream::decode_into_private_file(
        store,
        entry,
        &options.decryption,
        options.progress.as_ref(),
        &spool,
        "the spool file",
    )
    .await?;
    file.sync_all()
        .map_err(|e| Error::io("writing the spool file", &spool, e))?;
    let mut command = tokio::process::Command::new(program);
    env.apply(&mut command);
    command
        .args(restore_args(options, tools))
        .arg(format!("--jobs={jobs}"))
        .arg(format!("--dbname={}", env_database(env)))
        .arg(&spool)
        .stdout(Stdio::null());
    let action = format!(
        "restoring `{}` with {} jobs (not one transaction: the target may be partly restored; \
         restore again with --clean)",
        entry.key, jobs
    );
    crate::cluster::output_of(command, program, &action).await?;
    Ok(decoded)
}

fn env_database(env: &ChildEnv) -> String {
    env.vars()
        .iter()
        .find(|(k, _)| k == "PGDATABASE")
        .map(|(_, v)| v.to_string_lossy().to_string())
        .unwrap_or_default()
}

fn take_stdin(
    child: &mut tokio::process::Child,
    program: &std::path::Path,
) -> Result<std::fs::File> {
    let stdin = child.stdin.take().ok_or_else(|| Error::Command {
        program: program.display().to_string(),
        action: "restoring".into(),
        status: "no stdin pipe".into(),
        stderr: String::new(),
    })?;
    let fd = stdin
        .into_owned_fd()
        .map_err(|e| Error::io("taking the restore pipe", program, e))?;
    Ok(std::fs::File::from(fd))
}

/// Tables, views, sequences and other relations outside the system schemas.
async fn user_object_count(url: &DatabaseUrl) -> Result<i64> {
    let client = url.connect_for_work().await?;
    Ok(client
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r','p','v','m','S','f') \
             AND n.nspname NOT IN ('pg_catalog','information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'",
            &[],
        )
        .await
        .map_err(|e| Error::postgres(format!("checking whether `{}` is empty", url.database()), e))?
        .get(0))
}

async fn compare_row_counts(
    url: &DatabaseUrl,
    expected: &std::collections::BTreeMap<String, i64>,
    key: &str,
) -> Result<usize> {
    let client = url.connect_for_work().await?;
    let actual = count_rows(&client).await?;
    let mut differences = Vec::new();
    for (table, want) in expected {
        match actual.get(table) {
            Some(got) if got == want => {}
            Some(got) => differences.push(format!("{table}: {got} rows, backup had {want}")),
            None => differences.push(format!("{table}: missing, backup had {want} rows")),
        }
    }
    if differences.is_empty() {
        Ok(expected.len())
    } else {
        Err(Error::Integrity {
            key: key.to_string(),
            reason: format!(
                "the restored database `{}` differs from the backup: {}",
                url.database(),
                differences.join("; ")
            ),
        })
    }
}

/// Prefix of the staging databases of restores into new databases.
const STAGING_PREFIX: &str = "dbops_restoring_";

fn staging_name() -> String {
    format!(
        "{STAGING_PREFIX}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

fn exists_refusal(name: &str) -> Error {
    Error::Refused {
        action: format!("create database `{name}` for the restore"),
        reason:
            "it already exists; choose another name, drop it, or restore into it without --create"
                .into(),
    }
}

async fn refuse_existing(url: &DatabaseUrl, name: &str) -> Result<()> {
    let admin = maintenance(url).connect_for_work().await?;
    let exists: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )
        .await
        .map_err(|e| Error::postgres(format!("looking up database `{name}`"), e))?
        .get(0);
    if exists {
        return Err(exists_refusal(name));
    }
    Ok(())
}

/// The marker of a staging database: who restores into it (host and pid) and for which target.
fn staging_comment(target: &str) -> String {
    format!(
        "dbops restore into {target:?} host={} pid={}",
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().to_string())
            .unwrap_or_default(),
        std::process::id()
    )
}

/// Drops staging databases left by restores killed on this host (their process is gone).
async fn drop_abandoned_staging(url: &DatabaseUrl) {
    let Ok(admin) = maintenance(url).connect_for_work().await else {
        return;
    };
    let Ok(rows) = admin
        .query(
            "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database \
             WHERE starts_with(datname, $1)",
            &[&STAGING_PREFIX],
        )
        .await
    else {
        return;
    };
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().to_string())
        .unwrap_or_default();
    for row in rows {
        let name: String = row.get(0);
        let comment: String = row.get(1);
        let holder = comment
            .rsplit_once(" host=")
            .and_then(|(_, rest)| rest.rsplit_once(" pid="))
            .and_then(|(h, pid)| Some((h.to_string(), pid.parse::<i32>().ok()?)));
        let Some((holder_host, pid)) = holder else {
            continue;
        };
        let alive = !matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        );
        if holder_host == host && !alive {
            tracing::info!(database = %name, "dropping the staging database of a killed restore");
            let _ = drop_database(url, &name).await;
        }
    }
}

/// Creates the staging database `name` from `template0`, as `pg_restore --create` does: a backup holds
/// every object of its database, and what a site added to `template1` (a table, an extension) would
/// collide with it.
async fn create_database(url: &DatabaseUrl, name: &str, target: &str) -> Result<()> {
    let admin = maintenance(url).connect_for_work().await?;
    let context = || format!("creating database `{name}` to restore `{target}` into");
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote_ident(name)
        ))
        .await
        .map_err(|e| Error::postgres(context(), e))?;
    let marked = admin
        .batch_execute(&format!(
            "COMMENT ON DATABASE {} IS {}",
            quote_ident(name),
            crate::config::quote_literal(&staging_comment(target)),
        ))
        .await;
    if let Err(e) = marked {
        drop_database(url, name).await.ok();
        return Err(Error::postgres(context(), e));
    }
    Ok(())
}

/// Renames the complete staging database into place (waiting briefly for its last sessions to end).
async fn rename_database(url: &DatabaseUrl, staging: &str, target: &str) -> Result<()> {
    let admin = maintenance(url).connect_for_work().await?;
    let sql = format!(
        "ALTER DATABASE {} RENAME TO {}; COMMENT ON DATABASE {} IS NULL",
        quote_ident(staging),
        quote_ident(target),
        quote_ident(target)
    );
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match admin.batch_execute(&sql).await {
            Ok(()) => return Ok(()),
            // A rename racing another one into the same name fails on the catalog's unique index.
            Err(e)
                if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
                    || e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) =>
            {
                return Err(Error::Refused {
                    action: format!("create database `{target}` for the restore"),
                    reason: "it was created by someone else while this restore ran (another restore \
                             into the same name won); nothing of this restore was kept. Choose another \
                             name, or drop it and run the restore again"
                        .into(),
                });
            }
            Err(e)
                if e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE)
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => {
                return Err(Error::postgres(
                    format!("renaming the restored database `{staging}` to `{target}`"),
                    e,
                ));
            }
        }
    }
}

async fn drop_database(url: &DatabaseUrl, name: &str) -> Result<()> {
    let admin = maintenance(url).connect_for_work().await?;
    admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(name)
        ))
        .await
        .map_err(|e| Error::postgres(format!("dropping `{name}` after a failed restore"), e))
}

/// The major version of the server of `url` (asked on its maintenance database).
async fn target_server_major(url: &DatabaseUrl) -> Result<u32> {
    crate::cluster::server_major(&maintenance(url).connect_for_work().await?).await
}

fn maintenance(url: &DatabaseUrl) -> DatabaseUrl {
    let db = url.database();
    url.with_database(if db == "postgres" {
        "template1"
    } else {
        "postgres"
    })
}
