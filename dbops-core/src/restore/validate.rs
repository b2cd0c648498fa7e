//! Validation: a backup downloaded, decrypted and decompressed with every hash and the archive's
//! table of contents checked, without touching any database.

use std::process::Stdio;
use std::time::Instant;

use tokio::io::AsyncReadExt;

use std::sync::Arc;

use super::{ValidateOptions, ValidationReport, stream, take_stdin, tools};
use crate::backup::{BackupEntry, BackupStore, DumpFormat};
use crate::catalog::BackupCatalog;
use crate::cluster::{last_lines, spawn_error};
use crate::codec::Decryption;
use crate::error::{Error, Result};
use crate::progress::{self, Progress, ProgressUnit};

/// Validates backups in a store without any database server: each is downloaded, decrypted and
/// decompressed with every hash and the archive's table of contents checked. A cheap `Clone` handle.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use dbops::backup::{BackupSelector, Decryption};
/// use dbops::restore::{BackupValidator, ValidateOptions};
///
/// let validator = BackupValidator::new(dbops::ObjectBackupStore::open("s3://backups/prod")?);
/// let options = ValidateOptions::new("app", BackupSelector::Latest, Decryption::none());
/// let report = validator.validate(&options).await?;
/// println!("{} is valid ({} bytes stored)", report.backup_id, report.stored_bytes);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BackupValidator {
    store: Arc<dyn BackupStore>,
}

impl BackupValidator {
    /// A validator of the backups in `store`.
    pub fn new(store: impl BackupStore + 'static) -> Self {
        Self::shared(Arc::new(store))
    }

    /// A validator of the backups in a store shared with other operations.
    pub fn shared(store: Arc<dyn BackupStore>) -> Self {
        Self { store }
    }

    /// Validates the backup `options` select of [`ValidateOptions::source_database`] (required: a
    /// validator knows no server whose database could be meant).
    #[tracing::instrument(name = "backup.validate", skip_all, fields(store = %self.store.describe()))]
    pub async fn validate(&self, options: &ValidateOptions) -> Result<ValidationReport> {
        let Some(database) = &options.source_database else {
            return Err(Error::config(
                "validate",
                "which database's backups? set ValidateOptions::source_database \
                 (ValidateOptions::new takes it)",
            ));
        };
        let entry = self.store.find(database, &options.selector).await?;
        self.validate_entry(&entry, options).await
    }

    /// Validates one listed backup with the keys and progress callback of `options` (its selector
    /// and database are not used).
    pub async fn validate_entry(
        &self,
        entry: &BackupEntry,
        options: &ValidateOptions,
    ) -> Result<ValidationReport> {
        validate(
            self.store.as_ref(),
            entry,
            &options.decryption,
            options.progress.as_ref(),
        )
        .await
    }
}

/// Validates one backup entry (see [`Restorer::validate`](super::Restorer::validate)).
#[deprecated(
    note = "use `BackupValidator::validate_entry` (keys and progress in `ValidateOptions`)"
)]
pub async fn validate_entry(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    decryption: &Decryption,
    progress: Option<&Progress>,
) -> Result<ValidationReport> {
    validate(store, entry, decryption, progress).await
}

async fn validate(
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
