//! Restores: fetch a backup, verify it while streaming, decrypt, decompress and feed `pg_restore` (or
//! `psql` for plain and legacy `.sql.gz` dumps) in one transaction, then compare row counts with the
//! manifest. `validate` does everything but touch a database.

/// Prefix of a restore's private spool directory (in the system's temporary directory).
const SPOOL_PREFIX: &str = "dbops-restore-";

mod archive;
mod autovacuum;
mod binary_text;
mod compat;
mod drill;
mod masking;
mod options;
mod pipeline;
mod post_data;
mod post_data_rest;
mod staging;
mod statement_settings;
mod stream;
mod tables;
mod tools;
mod validate;

pub use crate::analyze::analyze_database;
pub use crate::catalog::{RestoreTestReport, last_restore_test};
pub use drill::restore_test;
pub use masking::MaskingSummary;
pub use options::{
    RestoreOptions, RestoreReport, RestoreTarget, ValidateOptions, ValidationReport,
};
pub use validate::BackupValidator;
#[allow(deprecated)]
pub use validate::validate_entry;

use archive::{restore_args, take_stdin};
use staging::{StagingDatabase, create_staging, drop_failed_staging, maintenance, rename_database};

use std::time::Instant;

use async_trait::async_trait;

use crate::backup::{BackupEntry, BackupStore, DumpFormat, count_rows};
use crate::catalog::BackupCatalog;
use crate::cluster::PgInstallations;
use crate::config::DatabaseUrl;
use crate::error::{Error, Result};
use std::sync::Arc;

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
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::restore::{RestoreTarget, Restorer};
/// use dbops::{ObjectBackupStore, PgRestorer, RestoreOptions};
///
/// let restorer = PgRestorer::new(url, ObjectBackupStore::open("s3://backups/prod")?);
/// // The latest backup, into a new database beside the original (dropped if the restore fails).
/// let target = RestoreTarget::Database { name: "orders_copy".into(), create: true };
/// let report = restorer.restore(&RestoreOptions::default().with_target(target)).await?;
/// println!("{} restored, {} tables' row counts checked", report.backup_id, report.tables_checked);
/// # Ok(()) }
/// ```
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
    #[deprecated(note = "use `BackupValidator::new`: it validates, and has no restore that fails")]
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
                "this restorer was made without a server (PgRestorer::validator): give it a \
                 database URL to restore into (PgRestorer::new), or validate with BackupValidator",
            )
        })
    }
}

#[async_trait]
impl Restorer for PgRestorer {
    async fn restore(&self, options: &RestoreOptions) -> Result<RestoreReport> {
        restore_backup(self.server()?, self.store.as_ref(), options).await
    }

    /// Validates with a [`BackupValidator`] of the same store; the source database defaults to the
    /// URL's.
    async fn validate(&self, options: &ValidateOptions) -> Result<ValidationReport> {
        let validator = BackupValidator::shared(self.store.clone());
        match (&options.source_database, &self.url) {
            (None, Some(url)) => {
                let options = options.clone().with_source_database(url.database());
                validator.validate(&options).await
            }
            _ => validator.validate(options).await,
        }
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

impl Restored {
    /// What a `tables` restore on `jobs` connections did.
    fn from_tables(restored: tables::TablesRestored, jobs: u32) -> Self {
        Self {
            stored_bytes: restored.stored_bytes,
            plaintext_bytes: restored.plaintext_bytes,
            tables_checked: restored.tables_checked,
            jobs,
            stages: restored.stages,
            masking: restored.masking,
            analyzed: restored.analyzed,
            decoded_as_text: restored.decoded_as_text,
            statistics_restored: restored.statistics_restored,
        }
    }
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
        return Ok(Restored::from_tables(restored, jobs));
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
    archive::restore_archive(store, entry, target, options, plain, jobs).await
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

/// The major version of the server of `url` (asked on its maintenance database).
async fn target_server_major(url: &DatabaseUrl) -> Result<u32> {
    crate::cluster::server_major(&maintenance(url).connect_for_work().await?).await
}
