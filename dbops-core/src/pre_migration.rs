//! The guide's production rule "create a backup first", built in: a verified backup is taken when,
//! and only when, migrations are pending, before the first one runs. It sits above backups (it takes
//! one), restores (it validates it) and migrations.

use serde::Serialize;

use crate::backup::{Backup, BackupSelector, Decryption, Encryption};
use crate::catalog::BackupCatalog;
use crate::config::shell_quote;
use crate::error::{Error, Result};
use crate::migrate::{MigrateReport, Migrator};

/// The backup taken before migrating: what to restore if the new version has to be undone.
#[derive(Debug, Clone, Serialize)]
pub struct PreMigrationBackup {
    /// The backup's id.
    pub id: String,
    /// Its key in the store.
    pub key: String,
    /// The store, credentials removed.
    pub store: String,
    /// The database backed up.
    pub database: String,
    /// The version the database was at (`None`: nothing applied).
    pub version: Option<i64>,
    /// The `dbops restore` command that brings that state back, into a new database.
    pub restore_command: String,
}

/// What [`up_with_backup`] did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct GuardedMigrateReport {
    /// The backup, `None` when nothing was pending (no backup was needed).
    pub backup: Option<PreMigrationBackup>,
    /// The migrations applied.
    pub migrate: MigrateReport,
}

/// Applies pending migrations (up to `target`) after a verified `backup` of the database: the
/// backup is taken and read back (every object's hash checked, with `decryption`'s keys, or the
/// backup's passphrase) only when something is pending, and nothing is migrated when it fails. A
/// failed migration's error names the backup and the `dbops restore` command
/// ([`Error::MigrationAfterBackup`]).
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::backup::Decryption;
/// use dbops::pre_migration::up_with_backup;
/// use dbops::{Backup, BackupOptions, MigrationSource, ObjectBackupStore, PgMigrator};
///
/// let migrator = PgMigrator::new(url.clone(), MigrationSource::from_dir("migrations")?);
/// let store = ObjectBackupStore::open("s3://backups/prod")?;
/// let backup = Backup::new(url, store, BackupOptions::default());
/// // `None`: every pending migration; the backup is taken (and verified) only if one is pending.
/// let report = up_with_backup(&migrator, &backup, &Decryption::none(), None).await?;
/// if let Some(taken) = &report.backup {
///     println!("to undo: {}", taken.restore_command);
/// }
/// # Ok(()) }
/// ```
pub async fn up_with_backup(
    migrator: &dyn Migrator,
    backup: &Backup,
    decryption: &Decryption,
    target: Option<i64>,
) -> Result<GuardedMigrateReport> {
    if migrator.plan_up(target).await?.is_empty() {
        return Ok(GuardedMigrateReport {
            backup: None,
            migrate: migrator.up(target).await?,
        });
    }
    let version = migrator.version().await?.map(|state| state.version);
    let taken = take_verified(backup, decryption, version).await?;
    tracing::info!(backup = %taken.id, store = %taken.store, "backup taken before migrating");
    match migrator.up(target).await {
        Ok(migrate) => Ok(GuardedMigrateReport {
            backup: Some(taken),
            migrate,
        }),
        Err(source) => Err(Error::MigrationAfterBackup {
            backup_id: taken.id,
            store: taken.store,
            restore_command: taken.restore_command,
            source: Box::new(source),
        }),
    }
}

/// Runs the backup and validates what was stored.
async fn take_verified(
    backup: &Backup,
    decryption: &Decryption,
    version: Option<i64>,
) -> Result<PreMigrationBackup> {
    let refused = |reason: String| Error::Refused {
        action: "migrate (a backup is taken first)".into(),
        reason,
    };
    let report = backup.run().await.map_err(|e| {
        refused(format!(
            "the backup failed, nothing was migrated: {}",
            crate::error::report(&e)
        ))
    })?;
    let manifest = &report.manifest;
    let decryption = match &backup.options().encryption {
        Encryption::Passphrase(secret) => decryption.clone().with_passphrase_secret(secret.clone()),
        _ => decryption.clone(),
    };
    let entry = backup
        .store()
        .find(&manifest.database, &BackupSelector::Id(manifest.id.clone()))
        .await?;
    let options = crate::restore::ValidateOptions::default().with_decryption(decryption);
    crate::restore::BackupValidator::shared(backup.store().clone())
        .validate_entry(&entry, &options)
        .await
        .map_err(|e| {
            refused(format!(
                "the backup {} could not be verified, nothing was migrated: {}",
                manifest.id,
                crate::error::report(&e)
            ))
        })?;
    Ok(PreMigrationBackup {
        restore_command: restore_command(&report.store, &manifest.id, &manifest.database),
        id: manifest.id.clone(),
        key: manifest.data.key.clone(),
        store: report.store.clone(),
        database: manifest.database.clone(),
        version,
    })
}

/// `dbops restore` of backup `id` into a new database beside the original (all-or-nothing; swap it
/// in when it is right).
fn restore_command(store: &str, id: &str, database: &str) -> String {
    format!(
        "dbops restore --store {} --id {} --from-database {} --into {} --create",
        shell_quote(store),
        shell_quote(id),
        shell_quote(database),
        shell_quote(&format!("{database}_before_migration"))
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_restore_command_is_quoted_for_the_shell() {
        assert_eq!(
            super::restore_command("s3://bucket/backups", "20261202T101500Z-ab12", "rides"),
            "dbops restore --store s3://bucket/backups --id 20261202T101500Z-ab12 --from-database rides --into rides_before_migration --create"
        );
        assert_eq!(
            super::restore_command("file:///srv/my backups", "id", "it's"),
            "dbops restore --store 'file:///srv/my backups' --id id --from-database 'it'\\''s' --into 'it'\\''s_before_migration' --create"
        );
    }
}
