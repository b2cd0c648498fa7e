//! `verify`: every migration applied one by one in a scratch database; after each up, its down must
//! bring the catalog back exactly to what it was before, then the up is re-applied.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::Client;

use super::{DownSteps, MigrationSource, Migrator, PgMigrator};
use crate::config::{DatabaseUrl, quote_ident};
use crate::error::{Error, Result};
use crate::progress::{Progress, ProgressUnit, report};
use crate::schema::{SchemaChange, SchemaSnapshot};

/// Whether `verify` rolls each migration back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rollback {
    /// Apply each down and compare the catalog (default).
    #[default]
    Check,
    /// Only apply the ups.
    Skip,
}

/// What happens to the scratch database afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scratch {
    /// Drop it (default).
    #[default]
    Drop,
    /// Keep it for inspection (its name is in the report).
    Keep,
}

/// Options of [`verify`].
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Roll each migration back and compare. Default: check.
    pub rollback: Rollback,
    /// Keep the scratch database. Default: drop.
    pub scratch: Scratch,
    /// Reports each migration verified (not serialized). Default: none.
    #[serde(skip)]
    pub progress: Option<Progress>,
}

crate::setters::with_setters!(VerifyOptions {
    with_rollback => rollback: Rollback,
    with_scratch => scratch: Scratch,
    with_progress => progress: opt Progress,
});

/// The outcome of one migration's round trip.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RoundTrip {
    /// The down restored the catalog exactly.
    Identical,
    /// The down left these differences (relative to before the up).
    Differs {
        /// The differences.
        changes: Vec<SchemaChange>,
        /// Why re-applying the up failed afterwards, if it did (verification stops there).
        reapply_error: Option<String>,
    },
    /// No down file.
    NoDown,
    /// Rollback not checked.
    Skipped,
}

/// One verified migration.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedMigration {
    /// Version.
    pub version: i64,
    /// Name.
    pub name: String,
    /// Up duration in ms.
    pub up_ms: f64,
    /// Down duration in ms (0 when not run).
    pub down_ms: f64,
    /// The round trip.
    pub round_trip: RoundTrip,
}

/// The result of [`verify`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// One entry per migration, in order.
    pub migrations: Vec<VerifiedMigration>,
    /// The scratch database, when kept.
    pub kept_database: Option<String>,
}

impl VerifyReport {
    /// Whether every round trip was identical (or skipped).
    pub fn passed(&self) -> bool {
        self.migrations
            .iter()
            .all(|m| !matches!(m.round_trip, RoundTrip::Differs { .. }))
    }
}

const STATE_TABLES: &[&str] = &["schema_migrations", "dbops_migration_history"];

/// Verifies `source` in a scratch database created on the server of `admin` (needs CREATEDB); the
/// target database itself is never touched.
///
/// ```no_run
/// # async fn demo(admin: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::MigrationSource;
/// use dbops::migrate::{RoundTrip, VerifyOptions, verify};
///
/// // `admin`: a role with CREATEDB on a test server; the scratch database is dropped afterwards.
/// let source = MigrationSource::from_dir("migrations")?;
/// let report = verify(&admin, &source, &VerifyOptions::default()).await?;
/// for m in &report.migrations {
///     if let RoundTrip::Differs { changes, .. } = &m.round_trip {
///         println!("{} {}: its down leaves {} differences", m.version, m.name, changes.len());
///     }
/// }
/// assert!(report.passed());
/// # Ok(()) }
/// ```
#[tracing::instrument(name = "migrate.verify", skip_all)]
pub async fn verify(
    admin: &DatabaseUrl,
    source: &MigrationSource,
    options: &VerifyOptions,
) -> Result<VerifyReport> {
    let progress = options.progress.as_ref();
    let scratch = ScratchDatabase::create(admin).await?;
    let migrator = PgMigrator::for_scratch(scratch.url().clone(), source.clone());
    let client = scratch.url().connect_for_work().await?;
    let schema: String = client
        .query_one("SELECT current_schema()::text", &[])
        .await
        .map_err(|e| Error::postgres("reading the scratch database's schema", e))?
        .get(0);
    let results = verify_each(
        &migrator,
        &client,
        &schema,
        source,
        options.rollback,
        progress,
    )
    .await?;
    drop(client);
    let kept_database = match options.scratch {
        Scratch::Keep => Some(scratch.keep().redacted()),
        Scratch::Drop => {
            scratch.drop_now().await?;
            None
        }
    };
    Ok(VerifyReport {
        migrations: results,
        kept_database,
    })
}

/// The check's own empty database (from `template0`), dropped at the end, and in the background
/// (tracked by [`crate::cleanup`]) when the check is cancelled or fails.
struct ScratchDatabase {
    admin: DatabaseUrl,
    name: String,
    cancelled: crate::cleanup::OnDrop,
}

impl ScratchDatabase {
    /// Creates it on the server of `admin` (which needs CREATEDB).
    async fn create(admin: &DatabaseUrl) -> Result<Self> {
        let name = format!(
            "dbops_verify_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let (url, dropped) = (admin.clone(), name.clone());
        let cancelled = crate::cleanup::OnDrop::new(
            format!("dropping `{name}`, the scratch database of a migration check"),
            move || {
                Box::pin(async move {
                    if let Err(error) = drop_database(&url, &dropped).await {
                        tracing::warn!(%error, "could not drop the scratch database");
                    }
                })
            },
        );
        let scratch = Self {
            admin: admin.clone(),
            name,
            cancelled,
        };
        admin
            .connect_for_work()
            .await?
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE template0",
                quote_ident(&scratch.name)
            ))
            .await
            .map_err(|e| Error::postgres("creating the scratch database (needs CREATEDB)", e))?;
        Ok(scratch)
    }

    fn url(&self) -> DatabaseUrl {
        self.admin.with_database(&self.name)
    }

    /// Keeps it: its URL.
    fn keep(self) -> DatabaseUrl {
        let url = self.url();
        self.cancelled.disarm();
        url
    }

    /// Drops it now.
    async fn drop_now(self) -> Result<()> {
        let dropped = drop_database(&self.admin, &self.name).await;
        self.cancelled.disarm();
        dropped
    }
}

/// Drops database `name` of the server of `admin`, ending its sessions.
async fn drop_database(admin: &DatabaseUrl, name: &str) -> Result<()> {
    admin
        .connect_for_work()
        .await?
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(name)
        ))
        .await
        .map_err(|e| Error::postgres(format!("dropping the scratch database `{name}`"), e))
}

/// Applies the migrations of `source` one by one in the scratch database (`client`, `schema`), each
/// with its round trip under `rollback`; stops after a migration whose up cannot be re-applied.
async fn verify_each(
    migrator: &PgMigrator,
    client: &Client,
    schema: &str,
    source: &MigrationSource,
    rollback: Rollback,
    progress: Option<&Progress>,
) -> Result<Vec<VerifiedMigration>> {
    let total = source.migrations().len() as u64;
    let mut results = Vec::new();
    for (i, m) in source.migrations().iter().enumerate() {
        report(
            progress,
            &format!("verify {} {}", m.version, m.name),
            i as u64,
            Some(total),
            ProgressUnit::Steps,
        );
        let before = SchemaSnapshot::capture(client, schema, STATE_TABLES).await?;
        let started = Instant::now();
        migrator.up(Some(m.version)).await?;
        let up_ms = ms(started.elapsed());
        let (round_trip, down_ms) = match (rollback, &m.down) {
            (Rollback::Skip, _) => (RoundTrip::Skipped, 0.0),
            (Rollback::Check, None) => (RoundTrip::NoDown, 0.0),
            (Rollback::Check, Some(_)) => {
                roll_back_and_compare(migrator, client, schema, m.version, &before).await?
            }
        };
        let stop = matches!(
            round_trip,
            RoundTrip::Differs {
                reapply_error: Some(_),
                ..
            }
        );
        results.push(VerifiedMigration {
            version: m.version,
            name: m.name.clone(),
            up_ms,
            down_ms,
            round_trip,
        });
        if stop {
            break;
        }
    }
    report(
        progress,
        "verified",
        total,
        Some(total),
        ProgressUnit::Steps,
    );
    Ok(results)
}

/// Rolls back migration `version` (just applied over the catalog `before`), compares the catalog with
/// `before` and re-applies the up: the round trip and the down's duration in ms.
async fn roll_back_and_compare(
    migrator: &PgMigrator,
    client: &Client,
    schema: &str,
    version: i64,
    before: &SchemaSnapshot,
) -> Result<(RoundTrip, f64)> {
    let started = Instant::now();
    migrator.down(DownSteps::Count(1)).await?;
    let down_ms = ms(started.elapsed());
    let after = SchemaSnapshot::capture(client, schema, STATE_TABLES).await?;
    let changes = before.diff(&after);
    let reapplied = migrator.up(Some(version)).await;
    let round_trip = match (changes.is_empty(), reapplied) {
        (true, Ok(_)) => RoundTrip::Identical,
        (true, Err(error)) => return Err(error),
        (false, Ok(_)) => RoundTrip::Differs {
            changes,
            reapply_error: None,
        },
        (false, Err(error)) => RoundTrip::Differs {
            changes,
            reapply_error: Some(crate::error::report(&error)),
        },
    };
    Ok((round_trip, down_ms))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
