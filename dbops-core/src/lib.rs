#![doc = include_str!("../../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod alert;
pub mod backup;
pub mod cluster;
pub mod config;
pub mod db;
pub mod error;
pub mod health;
pub mod migrate;
pub mod monitor;
pub mod pitr;
pub mod progress;
pub mod restore;
pub mod schema;
pub mod seed;
pub mod storage;
pub mod testing;

pub use backup::{Backup, BackupOptions, BackupReport, BackupStore};
pub use cluster::{Durability, Listen, PgBinaries, Shutdown, TempCluster, TempClusterBuilder};
pub use config::{DatabaseUrl, PoolOptions};
pub use deadpool_postgres;
pub use error::{Error, Result};
pub use health::{HealthOptions, HealthProbe, HealthReport, PgHealthProbe};
pub use include_dir;
pub use migrate::{
    DownSteps, MigrateOptions, MigrateReport, Migration, MigrationSource, Migrator, PgMigrator,
    migrate_on_startup,
};
pub use progress::{Progress, ProgressEvent, ProgressUnit};
pub use restore::{PgRestorer, RestoreOptions, Restorer};
pub use seed::{PgSeeder, Profile, SeedOptions, Seeder};
pub use storage::{ObjectBackupStore, StoreOptions};
pub use testing::{SqlScripts, TemplateSetup, TestDatabase, TestDatabases};
