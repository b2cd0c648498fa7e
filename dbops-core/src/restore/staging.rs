//! The staging database a restore into a new database loads first: created under a private name,
//! renamed onto the target when everything passed, dropped (now or by the next restore) when not.

use std::time::Instant;

use super::{RestoreOptions, tables, target_server_major};
use crate::backup::{BackupEntry, BackupStore, DumpFormat};
use crate::config::{DatabaseUrl, quote_ident};
use crate::error::{Error, Result};

/// Drops the staging database of a failed restore. When the server cannot be reached (the failure
/// was a restart, say), the drop is retried in the background for a minute (tracked by
/// [`crate::cleanup`]); a staging database that outlives even that is dropped by the next restore once
/// this process has ended.
pub(super) async fn drop_failed_staging(url: &DatabaseUrl, staging: String) {
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
pub(super) struct StagingDatabase {
    pub(super) name: String,
    cancelled: crate::cleanup::OnDrop,
}

impl StagingDatabase {
    /// Guards the staging database `name` on the server of `url` (before it is created, so a restore
    /// cancelled while the server creates it drops it too).
    pub(super) fn guard(url: &DatabaseUrl, name: String) -> Self {
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
    pub(super) fn settle(self) -> String {
        self.cancelled.disarm();
        self.name
    }
}

/// Creates the staging database of a restore into the new database `target` (refusing an existing
/// one, dropping those of killed restores) while a `tables` backup's schema archive is fetched and
/// rendered. A failure leaves no staging database behind.
pub(super) async fn create_staging(
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

/// Prefix of the staging databases of restores into new databases.
pub(super) const STAGING_PREFIX: &str = "dbops_restoring_";

pub(super) fn staging_name() -> String {
    format!(
        "{STAGING_PREFIX}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

pub(super) fn exists_refusal(name: &str) -> Error {
    Error::Refused {
        action: format!("create database `{name}` for the restore"),
        reason:
            "it already exists; choose another name, drop it, or restore into it without --create"
                .into(),
    }
}

pub(super) async fn refuse_existing(url: &DatabaseUrl, name: &str) -> Result<()> {
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
pub(super) fn staging_comment(target: &str) -> String {
    format!(
        "dbops restore into {target:?} host={} pid={}",
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().to_string())
            .unwrap_or_default(),
        std::process::id()
    )
}

/// Drops staging databases left by restores killed on this host (their process is gone).
pub(super) async fn drop_abandoned_staging(url: &DatabaseUrl) {
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
pub(super) async fn create_database(url: &DatabaseUrl, name: &str, target: &str) -> Result<()> {
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
pub(super) async fn rename_database(url: &DatabaseUrl, staging: &str, target: &str) -> Result<()> {
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

pub(super) async fn drop_database(url: &DatabaseUrl, name: &str) -> Result<()> {
    let admin = maintenance(url).connect_for_work().await?;
    admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(name)
        ))
        .await
        .map_err(|e| Error::postgres(format!("dropping `{name}` after a failed restore"), e))
}

pub(super) fn maintenance(url: &DatabaseUrl) -> DatabaseUrl {
    let db = url.database();
    url.with_database(if db == "postgres" {
        "template1"
    } else {
        "postgres"
    })
}
