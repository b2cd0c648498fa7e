//! Readiness probe latency with a warm pool, one at a time (cache disabled) and 200 at once (cached).
//!
//! Run: `cargo run --release -p dbops-benches --bin health`

use std::time::{Duration, Instant};

use dbops::health::{HealthOptions, HealthProbe, PgHealthProbe};
use dbops::{MigrationSource, Migrator, PgMigrator, TempCluster, TestDatabases};
use dbops_benches::{migrations_dir, ms, stats};

#[tokio::main]
async fn main() -> dbops::Result<()> {
    let cluster = TempCluster::start().await?;
    let dbs = TestDatabases::on_cluster(&cluster)
        .spares(0)
        .build()
        .await?;
    let db = dbs.create().await?;
    PgMigrator::new(
        db.url().clone(),
        MigrationSource::from_dir(migrations_dir())?,
    )
    .up(None)
    .await?;
    let uncached = PgHealthProbe::for_url(
        db.url(),
        HealthOptions::default().with_cache_ttl(Duration::ZERO),
    )?;
    uncached.ready().await;
    let mut samples = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        assert!(uncached.ready().await.is_up());
        samples.push(started.elapsed());
    }
    let one = stats(&mut samples);
    let cached = PgHealthProbe::for_url(db.url(), HealthOptions::default())?;
    cached.ready().await;
    let mut storm = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let p = cached.clone();
                tokio::spawn(async move { p.ready().await })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
        storm.push(started.elapsed());
    }
    let storm = stats(&mut storm);
    println!("| probe | median | p90 |");
    println!("|---|---|---|");
    println!(
        "| readiness, warm pool, no cache (pool + SELECT 1 + migration state) | {} | {} |",
        ms(one.median),
        ms(one.p90)
    );
    println!(
        "| 200 concurrent readiness probes (1 s cache, single flight), whole burst | {} | {} |",
        ms(storm.median),
        ms(storm.p90)
    );
    Ok(())
}
