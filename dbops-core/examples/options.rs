//! Options as a service writes them: `Default` and `with_*` setters, never struct literals. The
//! structs are `#[non_exhaustive]` and no public field exists only under a feature, so this file
//! builds unchanged whichever features another crate of the build turns on (cargo unifies them):
//! `scripts/check-features.sh` builds it with `migrate,health`, with
//! `migrate,health,backup` and with `full` (which adds `mask`'s settings to the same structs).
//!
//! Run: `cargo run -p dbops-core --example options --features full`

use std::time::Duration;

fn main() {
    migrate_and_health();
    #[cfg(feature = "backup")]
    backup_and_restore();
}

/// What a service that migrates at startup and serves health probes sets.
fn migrate_and_health() {
    let migrate = dbops::MigrateOptions::default()
        .with_lock_timeout(Duration::from_secs(5))
        .with_lock_retries(5)
        .with_statement_timeout(Duration::from_secs(600));
    let pool = dbops::PoolOptions::default().with_max_size(8);
    let health = dbops::HealthOptions::default()
        .with_timeout(Duration::from_secs(2))
        .with_migrations(dbops::health::MigrationExpectation::default().with_min_version(7));
    println!("{migrate:?}\n{pool:?}\n{health:?}");
}

/// What a backup job sets; with `mask` also on, the same code builds and masks nothing.
#[cfg(feature = "backup")]
fn backup_and_restore() {
    use dbops::backup::{BackupOptions, BackupSelector, Compression};
    use dbops::restore::RestoreTarget;

    let backup = BackupOptions::default()
        .with_compression(Compression::Zstd)
        .with_jobs(2)
        .with_lock_wait_timeout(Duration::from_secs(30));
    let restore = dbops::RestoreOptions::default()
        .with_selector(BackupSelector::Latest)
        .with_target(RestoreTarget::Database {
            name: "app_restored".into(),
            create: true,
        })
        .with_jobs(2);
    println!("{backup:?}\n{restore:?}");
}
