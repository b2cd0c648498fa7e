//! Quick start: the main job of dbops on the embedded default.
//!
//! With no `DATABASE_URL`, it starts a throwaway PostgreSQL cluster from the local server binaries,
//! then migrates the reference schema in `migrations/`, seeds the light profile, checks readiness,
//! prints the database status, and clones a fresh test database from the migrated template. The
//! cluster is removed at exit. With `DATABASE_URL`, it works on a scratch database on that server.
//!
//! Run: `cargo run --example quickstart`

use std::path::Path;
use std::time::Instant;

use dbops::health::{HealthOptions, HealthProbe, PgHealthProbe};
use dbops::monitor::{StatusOptions, status};
use dbops::seed::{PgSeeder, Profile, SeedOptions};
use dbops::{DatabaseUrl, MigrationSource, Migrator, PgMigrator, TempCluster, TestDatabases};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let (_cluster, admin) = match DatabaseUrl::from_env()? {
        Some(url) => {
            println!("using DATABASE_URL {url}");
            (None, url)
        }
        None => {
            let cluster = TempCluster::start().await?;
            println!(
                "started an embedded PostgreSQL {} in {:?} ({})",
                cluster.binaries().version(),
                started.elapsed(),
                cluster.url()
            );
            let url = cluster.url();
            (Some(cluster), url)
        }
    };
    let source =
        MigrationSource::from_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations"))?;

    // A scratch database, so an existing server is never touched beyond it.
    let databases = TestDatabases::builder(admin.clone())
        .prefix("quickstart")
        .spares(0)
        .build()
        .await?;
    let db = databases.create().await?;

    let report = PgMigrator::new(db.url().clone(), source.clone())
        .up(None)
        .await?;
    println!(
        "migrated: {} migrations applied, now at version {:?}",
        report.applied.len(),
        report.to
    );

    let seeded = PgSeeder::new(db.url().clone())
        .seed(Profile::Light, &SeedOptions::default())
        .await?;
    println!(
        "seeded the light profile: {} rows in {:.0} ms",
        seeded.rows, seeded.elapsed_ms
    );

    let probe = PgHealthProbe::for_url(db.url(), HealthOptions::default())?;
    let ready = probe.ready().await;
    println!(
        "readiness: {:?} ({} checks)",
        ready.status,
        ready.checks.len()
    );

    let s = status(db.url(), &StatusOptions::default()).await?;
    println!(
        "database {}: {} bytes, cache hit ratio {:?}",
        s.database, s.database_bytes, s.cache_hit_ratio
    );
    for table in s.largest_tables.iter().take(3) {
        println!(
            "  {:<24} {:>8} bytes  ~{} rows",
            table.table, table.total_bytes, table.rows
        );
    }

    let template = TestDatabases::builder(admin).setup(source).build().await?;
    let clone_started = Instant::now();
    let test_db = template.create().await?;
    let client = test_db.connect().await?;
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await?
        .get(0);
    println!(
        "fresh migrated test database {} in {:?} ({tables} tables)",
        test_db.name(),
        clone_started.elapsed()
    );
    println!("done in {:?}", started.elapsed());
    Ok(())
}
