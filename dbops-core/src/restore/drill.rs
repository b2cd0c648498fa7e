//! Restore tests ("drills"): restore a backup into a throwaway database, check it, record the result in
//! the store so backup health can tell how long ago a backup was last proven restorable.

use std::time::Instant;

use chrono::Utc;

use super::{RestoreOptions, RestoreTarget};
use crate::backup::{BackupSelector, BackupStore};
use crate::catalog::BackupCatalog;
use crate::catalog::RestoreTestReport;
use crate::cluster::{ServerPrograms, TempCluster, last_lines};
use crate::codec::Decryption;
use crate::config::{ChildEnv, DatabaseUrl, quote_ident};
use crate::error::{Error, Result};

/// Restores the backup `selector` picks into a throwaway database, on `server` when given (a database
/// named `dbops_restore_test_<random>` is created and dropped) or else on an embedded cluster, compares
/// row counts, runs `pg_amcheck` when the server has it, and records the result in the store.
///
/// ```no_run
/// # async fn demo() -> dbops::Result<()> {
/// use std::path::Path;
/// use dbops::ObjectBackupStore;
/// use dbops::backup::{BackupSelector, Decryption};
/// use dbops::restore::restore_test;
///
/// let store = ObjectBackupStore::open("s3://backups/prod")?;
/// let keys = Decryption::none().with_identity_file(Path::new("/etc/backup/identity.txt"))?;
/// // `None`: on an embedded cluster of the local server programs, not on a server of yours.
/// let report = restore_test(&store, "orders", &BackupSelector::Latest, &keys, None).await?;
/// println!("{}: {} tables checked", report.backup_id, report.tables_checked);
/// println!("amcheck: {}", report.amcheck); // `ok`, or why it did not run
/// # Ok(()) }
/// ```
pub async fn restore_test(
    store: &dyn BackupStore,
    database: &str,
    selector: &BackupSelector,
    decryption: &Decryption,
    server: Option<&DatabaseUrl>,
) -> Result<RestoreTestReport> {
    let started = Instant::now();
    let entry = store.find(database, selector).await?;
    let embedded = match server {
        Some(_) => None,
        None => Some(drill_cluster(&entry).await?),
    };
    let base = match (&embedded, server) {
        (Some(cluster), _) => cluster.url(),
        (None, Some(url)) => url.clone(),
        (None, None) => unreachable_server()?,
    };
    let scratch = format!(
        "dbops_restore_test_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let options = RestoreOptions {
        selector: BackupSelector::Id(entry.id.clone()),
        source_database: Some(database.to_string()),
        target: RestoreTarget::Database {
            name: scratch.clone(),
            create: true,
        },
        no_owner: true,
        no_acl: true,
        decryption: decryption.clone(),
        ..RestoreOptions::default()
    };
    let restored = super::restore_backup(&base, store, &options).await;
    let outcome = match restored {
        Ok(report) => {
            let restored = base.with_database(&scratch);
            match crate::cluster::server_major(&restored.connect().await?).await {
                Ok(major) => amcheck(&restored, major)
                    .await
                    .map(|amcheck| (report, amcheck)),
                Err(error) => Err(error),
            }
        }
        Err(e) => Err(e),
    };
    if let Ok(admin) = base.with_database("postgres").connect().await {
        let _ = admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&scratch)
            ))
            .await;
    }
    if let Some(cluster) = embedded {
        let _ = cluster.stop().await;
    }
    let (restored, amcheck) = outcome?;
    let report = RestoreTestReport {
        backup_id: entry.id,
        database: database.to_string(),
        server: server.map_or_else(|| "embedded".to_string(), DatabaseUrl::redacted),
        tables_checked: restored.tables_checked,
        amcheck,
        tested_at: Utc::now(),
        elapsed_secs: started.elapsed().as_secs_f64(),
    };
    crate::catalog::record_restore_test(store, &report).await?;
    Ok(report)
}

/// An embedded cluster of the backup's major version when one is installed (the restore a recovery
/// would make), else of the default installation.
async fn drill_cluster(entry: &crate::backup::BackupEntry) -> Result<TempCluster> {
    let major = entry
        .manifest
        .as_ref()
        .and_then(|m| super::tools::major_of_version_text(&m.server_version));
    let installed = match major {
        Some(major) => crate::cluster::PgInstallations::discover()?
            .server(Some(major))
            .is_ok(),
        None => false,
    };
    match major {
        Some(major) if installed => TempCluster::builder().major(major).start().await,
        _ => TempCluster::start().await,
    }
}

fn unreachable_server() -> Result<DatabaseUrl> {
    Err(Error::config("restore test", "no server to restore into"))
}

/// Runs `pg_amcheck --install-missing --heapallindexed` on `url`'s database.
async fn amcheck(url: &DatabaseUrl, major: u32) -> Result<String> {
    if major < 14 {
        // pg_amcheck needs the amcheck extension of 14 (verify_heapam).
        return Ok(format!(
            "skipped: pg_amcheck checks PostgreSQL 14 and newer, the server runs {major}"
        ));
    }
    let Ok(programs) = ServerPrograms::for_major(major) else {
        return Ok("skipped: PostgreSQL binaries not found".into());
    };
    let Ok(program) = programs.program("pg_amcheck") else {
        return Ok(format!(
            "skipped: no pg_amcheck for PostgreSQL {major} or newer installed"
        ));
    };
    let env = ChildEnv::for_url(url)?;
    let mut command = tokio::process::Command::new(&program);
    env.apply(&mut command);
    command
        .args(["--no-password", "--install-missing", "--heapallindexed"])
        .arg(url.database())
        .kill_on_drop(true);
    let output = command.output().await.map_err(|e| Error::Command {
        program: program.display().to_string(),
        action: "checking the restored database".into(),
        status: format!("could not run: {e}"),
        stderr: String::new(),
    })?;
    if output.status.success() {
        Ok("ok".into())
    } else {
        Err(Error::Integrity {
            key: url.database(),
            reason: format!(
                "pg_amcheck found corruption in the restored database ({}): {}{}",
                output.status,
                last_lines(&String::from_utf8_lossy(&output.stdout), 10),
                last_lines(&String::from_utf8_lossy(&output.stderr), 5)
            ),
        })
    }
}
