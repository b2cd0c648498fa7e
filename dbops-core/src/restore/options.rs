//! What a restore and a validation take and report: options, targets and reports.

use serde::Serialize;

use super::MaskingSummary;
use crate::backup::BackupSelector;
use crate::codec::Decryption;
use crate::error::{Error, Result};
use crate::progress::Progress;

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
#[non_exhaustive]
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
    pub(crate) mask: Option<std::sync::Arc<crate::mask::Masking>>,
    /// Keep only these rows and their referential closure (`tables` backups only). Default: all rows.
    #[cfg(feature = "mask")]
    pub(crate) subset: Vec<crate::mask::SubsetRule>,
}

crate::setters::with_setters!(RestoreOptions {
    with_selector => selector: BackupSelector,
    with_source_database => source_database: opt String,
    with_target => target: RestoreTarget,
    with_clean => clean: bool,
    with_no_owner => no_owner: bool,
    with_no_acl => no_acl: bool,
    with_jobs => jobs: opt u32,
    with_analyze => analyze: bool,
    with_decryption => decryption: Decryption,
    with_check_row_counts => check_row_counts: bool,
    with_progress => progress: opt Progress,
});

#[cfg(feature = "mask")]
#[cfg_attr(docsrs, doc(cfg(feature = "mask")))]
impl RestoreOptions {
    /// Masks personal data while the rows stream into the target (`tables` backups only): unmasked
    /// values never reach the target's tables or WAL. Default: none.
    #[must_use]
    pub fn with_mask(
        mut self,
        masking: impl Into<Option<std::sync::Arc<crate::mask::Masking>>>,
    ) -> Self {
        self.mask = masking.into();
        self
    }

    /// Keeps only these rows and their referential closure (`tables` backups only). Default: all
    /// rows.
    #[must_use]
    pub fn with_subset(mut self, rules: Vec<crate::mask::SubsetRule>) -> Self {
        self.subset = rules;
        self
    }

    /// The masking rules, when the restore is masked.
    pub fn mask(&self) -> Option<&std::sync::Arc<crate::mask::Masking>> {
        self.mask.as_ref()
    }

    /// The subset rules (empty: every row).
    pub fn subset(&self) -> &[crate::mask::SubsetRule] {
        &self.subset
    }
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
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
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

crate::setters::with_setters!(RestoreReport {
    with_backup_id => backup_id: into String,
    with_key => key: into String,
    with_database => database: into String,
    with_created => created: bool,
    with_stored_bytes => stored_bytes: u64,
    with_plaintext_bytes => plaintext_bytes: u64,
    with_tables_checked => tables_checked: usize,
    with_jobs => jobs: u32,
    with_stages => stages: Vec<(String, f64)>,
    with_masking => masking: opt MaskingSummary,
    with_statistics_restored => statistics_restored: bool,
    with_decoded_as_text => decoded_as_text: Vec<String>,
    with_elapsed_secs => elapsed_secs: f64,
});

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
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
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

crate::setters::with_setters!(ValidationReport {
    with_backup_id => backup_id: into String,
    with_key => key: into String,
    with_stored_bytes => stored_bytes: u64,
    with_plaintext_bytes => plaintext_bytes: u64,
    with_toc_entries => toc_entries: opt usize,
    with_checksummed => checksummed: bool,
    with_elapsed_secs => elapsed_secs: f64,
});

/// How to validate a backup. Every field has a documented default.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

crate::setters::with_setters!(ValidateOptions {
    with_selector => selector: BackupSelector,
    with_source_database => source_database: opt String,
    with_decryption => decryption: Decryption,
    with_progress => progress: opt Progress,
});

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
