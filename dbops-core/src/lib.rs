//! Every PostgreSQL operation of one service's database: migrations, health probes, seeding,
//! backups and restores to any object store, point-in-time recovery, backup health with alerts,
//! throwaway clusters and per-test databases. Each capability is a cargo feature (default:
//! `migrate` and `health`), so a service links only what it uses.
//!
//! **The guide** (`docs/` in the repository, built with `mdbook build docs`) has a page per task:
//! a service that migrates at startup, tests with `#[dbops::test]`, backups and restores, staging
//! copies, point-in-time recovery and large databases, health and alerts, the runbooks. This
//! reference documents every public item; each entry point carries an example.
//!
//! A service migrates at startup, one replica at a time, and reports ready once the schema is at
//! its build's version:
//!
//! ```no_run
//! # #[cfg(feature = "migrate")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use dbops::{DatabaseUrl, MigrationSource, PoolOptions};
//!
//! let url = DatabaseUrl::from_env()?.ok_or("set DATABASE_URL")?;
//! let pool = url.pool(&PoolOptions::default())?;
//! let report = dbops::migrate_on_startup(&pool, MigrationSource::from_dir("migrations")?).await?;
//! println!("schema at version {:?}", report.to);
//! # Ok(()) }
//! ```
//!
//! Where to start: [`migrate_on_startup`] and [`PgMigrator`] (migrations), [`PgHealthProbe`]
//! (probes), `TempCluster` and `TestDatabases` (tests, feature `testing`), `Backup` and
//! `PgRestorer` (feature `backup`), `pitr` (feature `pitr`), and the five traits a service can
//! implement itself: `Migrator`, `HealthProbe`, `BackupStore`, `Restorer`, `Seeder`.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

#[cfg(feature = "alert")]
pub mod alert;
pub mod analyze;
#[cfg(feature = "backup")]
pub mod backup;
#[cfg(feature = "backup")]
pub mod catalog;
pub mod cleanup;
#[cfg(feature = "cluster")]
pub mod cluster;
#[cfg(feature = "backup")]
pub mod codec;
pub mod config;
#[cfg(feature = "seed")]
pub mod db;
pub mod error;
mod failpoint;
#[cfg(feature = "health")]
pub mod health;
mod layers;
#[cfg(feature = "mask")]
pub mod mask;
#[cfg(feature = "migrate")]
pub mod migrate;
#[cfg(feature = "health")]
pub mod monitor;
#[cfg(feature = "pitr")]
pub mod pitr;
#[cfg(all(feature = "backup", feature = "migrate"))]
pub mod pre_migration;
pub mod progress;
#[cfg(feature = "backup")]
pub mod restore;
#[cfg(all(feature = "migrate", feature = "testing"))]
pub mod schema;
#[cfg(feature = "seed")]
pub mod seed;
mod setters;
#[cfg(any(feature = "migrate", feature = "backup"))]
pub mod sql;
#[cfg(feature = "backup")]
pub mod storage;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "backup")]
pub use backup::{Backup, BackupOptions, BackupReport, BackupStore};
#[cfg(feature = "backup")]
pub use catalog::BackupCatalog;
#[cfg(feature = "cluster")]
pub use cluster::{
    Durability, Listen, PgBinaries, PgInstallations, Shutdown, TempCluster, TempClusterBuilder,
};
pub use config::{DatabaseUrl, PoolOptions};
#[cfg(feature = "macros")]
pub use dbops_macros::{migrations, test};
pub use deadpool_postgres;
#[cfg(feature = "backup")]
pub use error::StorageErrorKind;
pub use error::{Error, Result};
#[cfg(feature = "health")]
pub use health::{HealthOptions, HealthProbe, HealthReport, PgHealthProbe};
#[cfg(feature = "migrate")]
pub use include_dir;
#[cfg(feature = "migrate")]
pub use migrate::{
    DownSteps, MigrateOptions, MigrateReport, Migration, MigrationSource, Migrator, PgMigrator,
    migrate_on_startup, migrate_with,
};
pub use progress::{Progress, ProgressEvent, ProgressUnit};
#[cfg(feature = "backup")]
pub use restore::{PgRestorer, RestoreOptions, Restorer};
#[cfg(feature = "seed")]
pub use seed::{PgSeeder, Profile, SeedOptions, Seeder};
#[cfg(feature = "backup")]
pub use storage::{ObjectBackupStore, StoreOptions};
#[cfg(feature = "testing")]
pub use testing::{SqlScripts, TemplateSetup, TestDatabase, TestDatabases};

/// The guide's pages, compiled as doc tests: every Rust block in `docs/src` builds (and runs unless
/// marked `no_run` or `ignore` with a reason).
#[cfg(all(doctest, feature = "full"))]
mod guide {
    macro_rules! pages {
        ($($name:ident => $file:literal),* $(,)?) => {
            $(#[doc = include_str!(concat!("../../docs/src/", $file))] mod $name {})*
        };
    }
    pages! {
        introduction => "introduction.md", quick_start => "quick-start.md", install => "install.md",
        service => "service.md", testing => "testing.md", migrations => "migrations.md",
        seeding => "seeding.md", backups => "backups.md", staging => "staging.md",
        pitr => "pitr.md", health => "health.md", python => "python.md", cli => "cli.md",
        extending => "extending.md", runbooks => "runbooks.md", reliability => "reliability.md",
        upgrading => "upgrading.md", benchmarks => "benchmarks.md", design => "design.md",
    }
}
