#![cfg_attr(feature = "full", doc = include_str!("../../README.md"))]
#![cfg_attr(
    not(feature = "full"),
    doc = "Every PostgreSQL operation of one service's database: migrations, health probes, seeding, \
           backups and restores, point-in-time recovery, alerts, throwaway clusters and test databases, \
           each behind a cargo feature (see the README)."
)]
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
