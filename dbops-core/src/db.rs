//! `db reset`: drop, create, migrate and seed a database, guarded against production.

use serde::{Deserialize, Serialize};

use crate::config::{DatabaseUrl, quote_ident};
use crate::error::{Error, Result};
use crate::migrate::{MigrateReport, MigrationSource, Migrator, PgMigrator};
use crate::seed::{Profile, ReferenceSeed, SeedOptions, SeedReport, Seeder};

/// What counts as production.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductionGuard {
    /// Database or host names containing any of these (case-insensitive) are production.
    /// Default: `prod`, `production`, `live`.
    pub patterns: Vec<String>,
}

impl Default for ProductionGuard {
    fn default() -> Self {
        Self {
            patterns: vec!["prod".into(), "production".into(), "live".into()],
        }
    }
}

/// Options of [`reset`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ResetOptions {
    /// The production guard.
    pub guard: ProductionGuard,
    /// Reset even a production-looking database.
    pub force: bool,
    /// Seed this profile afterwards (none: only migrate).
    pub seed: Option<Profile>,
    /// Seed options.
    pub seed_options: SeedOptions,
}

crate::setters::with_setters!(ResetOptions {
    with_guard => guard: ProductionGuard,
    with_force => force: bool,
    with_seed => seed: opt Profile,
    with_seed_options => seed_options: SeedOptions,
});

/// What [`reset`] did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ResetReport {
    /// The database.
    pub database: String,
    /// Sessions terminated before dropping it.
    pub terminated_sessions: i64,
    /// Whether it existed and was dropped.
    pub dropped: bool,
    /// The migrations applied.
    pub migrations: MigrateReport,
    /// The seed, if any.
    pub seed: Option<SeedReport>,
}

/// Why `url` looks like production, if it does: a name/host pattern, or the server setting
/// `dbops.environment` (e.g. `ALTER DATABASE app SET dbops.environment = 'production'`).
pub async fn production_reason(
    url: &DatabaseUrl,
    guard: &ProductionGuard,
) -> Result<Option<String>> {
    let database = url.database();
    for pattern in &guard.patterns {
        let p = pattern.to_lowercase();
        if database.to_lowercase().contains(&p) {
            return Ok(Some(format!(
                "database name `{database}` contains `{pattern}`"
            )));
        }
        if url
            .hosts()
            .iter()
            .any(|h| !h.starts_with('/') && h.to_lowercase().contains(&p))
        {
            return Ok(Some(format!("host `{}` contains `{pattern}`", url.host())));
        }
    }
    if let Ok(client) = url.connect().await {
        let env: Option<String> = client
            .query_one("SELECT current_setting('dbops.environment', true)", &[])
            .await
            .map_err(|e| Error::postgres("reading dbops.environment", e))?
            .get(0);
        if let Some(env) = env.filter(|e| {
            guard
                .patterns
                .iter()
                .any(|p| e.to_lowercase().contains(&p.to_lowercase()))
        }) {
            return Ok(Some(format!(
                "the server setting dbops.environment is `{env}`"
            )));
        }
    }
    Ok(None)
}

/// Drops and recreates the database of `url` (terminating its sessions), applies `source` and
/// optionally seeds the reference profile `options.seed`. Refuses production-looking targets unless
/// `options.force`.
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::db::{ResetOptions, reset};
/// use dbops::{MigrationSource, Profile};
///
/// // Refused when the name, host or server setting looks like production (`with_force` overrides).
/// let options = ResetOptions::default().with_seed(Profile::Light);
/// let report = reset(&url, MigrationSource::from_dir("migrations")?, &options).await?;
/// println!("{} recreated at version {:?}", report.database, report.migrations.to);
/// # Ok(()) }
/// ```
pub async fn reset(
    url: &DatabaseUrl,
    source: MigrationSource,
    options: &ResetOptions,
) -> Result<ResetReport> {
    let reference = options.seed.map(|profile| ReferenceSeed {
        profile,
        options: options.seed_options.clone(),
    });
    reset_with(
        url,
        source,
        options,
        reference.as_ref().map(|s| s as &dyn Seeder),
    )
    .await
}

/// Like [`reset`], seeding with any [`Seeder`] (`options.seed` is ignored).
#[tracing::instrument(name = "db.reset", skip_all)]
pub async fn reset_with(
    url: &DatabaseUrl,
    source: MigrationSource,
    options: &ResetOptions,
    seeder: Option<&dyn Seeder>,
) -> Result<ResetReport> {
    let database = url.database();
    if !options.force
        && let Some(reason) = production_reason(url, &options.guard).await?
    {
        return Err(Error::Refused {
            action: format!("reset database `{database}`"),
            reason: format!(
                "it looks like production ({reason}); pass --force if you really mean it"
            ),
        });
    }
    let maintenance = if database == "postgres" {
        "template1"
    } else {
        "postgres"
    };
    let admin = url.with_database(maintenance).connect_for_work().await?;
    // One reset of a database at a time, and none while the server still runs the DROP/CREATE of a
    // reset whose process was killed (its backend holds this session lock until it notices).
    admin
        .query_one(
            "SELECT set_config('lock_timeout', '60s', false), \
             pg_advisory_lock(hashtextextended('dbops db reset ' || $1, 0))",
            &[&database],
        )
        .await
        .map_err(|e| Error::postgres(format!("waiting for other resets of `{database}`"), e))?;
    let ident = quote_ident(&database);
    let terminated: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&database],
        )
        .await
        .map_err(|e| Error::postgres(format!("terminating the sessions of `{database}`"), e))?
        .get(0);
    let existed: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&database],
        )
        .await
        .map_err(|e| Error::postgres("looking up the database", e))?
        .get(0);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {ident} WITH (FORCE)"))
        .await
        .map_err(|e| Error::postgres(format!("dropping `{database}`"), e))?;
    admin
        .batch_execute(&format!("CREATE DATABASE {ident}"))
        .await
        .map_err(|e| Error::postgres(format!("creating `{database}`"), e))?;
    let migrations = PgMigrator::new(url.clone(), source).up(None).await?;
    let seed = match seeder {
        Some(seeder) => Some(seeder.seed(url).await?),
        None => None,
    };
    Ok(ResetReport {
        database,
        terminated_sessions: terminated,
        dropped: existed,
        migrations,
        seed,
    })
}
