//! Fresh test database: cold start of the embedded cluster, clone-from-template + connect, versus
//! creating a database and re-running the migrations in it (what harnesses without templates do).
//! Measured on an in-memory cluster (what `#[dbops::test]` and the pytest plugin start), with the
//! on-demand clone also on a cluster on disk (`/tmp`, the default of `TempCluster::start`).
//!
//! Run: `cargo run --release -p dbops-benches --bin fresh_db`

use std::time::{Duration, Instant};

use dbops::{MigrationSource, Migrator, PgMigrator, TempCluster, TestDatabases};
use dbops_benches::{migrations_dir, ms, stats};

const CLONES: usize = 60;
const COLD_STARTS: usize = 7;
const TEST_BODY: Duration = Duration::from_millis(50);

/// Times `create()` + connect + one query, `CLONES` times, waiting `body` between (the test's work).
async fn clone_loop(dbs: &TestDatabases, body: Duration) -> dbops::Result<Vec<Duration>> {
    let mut samples = Vec::new();
    for _ in 0..CLONES {
        let started = Instant::now();
        let db = dbs.create().await?;
        let client = db.connect().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| dbops::Error::postgres("ping", e))?;
        samples.push(started.elapsed());
        tokio::time::sleep(body).await;
        drop(client);
        drop(db);
    }
    Ok(samples)
}

/// On-demand clones (`spares(0)`) of the migrations' template on `cluster`.
async fn on_demand_clones(
    cluster: &TempCluster,
    migrations: &MigrationSource,
) -> dbops::Result<dbops_benches::Stats> {
    let on_demand = TestDatabases::on_cluster(cluster)
        .setup(migrations.clone())
        .spares(0)
        .build()
        .await?;
    Ok(stats(&mut clone_loop(&on_demand, Duration::ZERO).await?))
}

#[tokio::main]
async fn main() -> dbops::Result<()> {
    // Cold start: initdb (cached after the first run) + postgres start + ready, then stop.
    let mut cold = Vec::new();
    let mut first = None;
    for i in 0..=COLD_STARTS {
        let started = Instant::now();
        let cluster = TempCluster::builder().in_memory(true).start().await?;
        let elapsed = started.elapsed();
        if i == 0 {
            first = Some(elapsed);
        } else {
            cold.push(elapsed);
        }
        cluster.stop().await?;
    }
    let cold = stats(&mut cold);

    let migrations = MigrationSource::from_dir(migrations_dir())?;
    let on_disk = TempCluster::start().await?;
    let disk_clone = on_demand_clones(&on_disk, &migrations).await?;
    on_disk.stop().await?;
    let cluster = TempCluster::builder().in_memory(true).start().await?;
    let clone = on_demand_clones(&cluster, &migrations).await?;
    // With spares, a clone is prepared in the background while the test runs; a test body of
    // TEST_BODY (typical of a small integration test) leaves time for the refill.
    let with_spares = TestDatabases::on_cluster(&cluster)
        .setup(migrations.clone())
        .spares(2)
        .build()
        .await?;
    let spare = stats(&mut clone_loop(&with_spares, TEST_BODY).await?);

    let admin = cluster.url().connect().await?;
    let mut remigrate = Vec::new();
    for i in 0..CLONES / 3 {
        let name = format!("bench_remigrate_{i}");
        let started = Instant::now();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| dbops::Error::postgres("create", e))?;
        PgMigrator::new(cluster.url().with_database(&name), migrations.clone())
            .up(None)
            .await?;
        remigrate.push(started.elapsed());
        admin
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .map_err(|e| dbops::Error::postgres("drop", e))?;
    }
    let remigrate = stats(&mut remigrate);

    println!(
        "fresh test database ({} migrations)",
        migrations.migrations().len()
    );
    println!("| measurement | median | p90 | min |");
    println!("|---|---|---|---|");
    println!(
        "| cold start of the embedded cluster (first run, initdb not cached: {}) | {} | {} | {} |",
        ms(first.unwrap_or(Duration::ZERO)),
        ms(cold.median),
        ms(cold.p90),
        ms(cold.min)
    );
    println!(
        "| dbops clone from template + connect (spares(0): CREATE DATABASE on demand) | {} | {} | {} |",
        ms(clone.median),
        ms(clone.p90),
        ms(clone.min)
    );
    println!(
        "| the same, cluster on disk (/tmp) | {} | {} | {} |",
        ms(disk_clone.median),
        ms(disk_clone.p90),
        ms(disk_clone.min)
    );
    println!(
        "| dbops fresh database + connect (default spares(2), {} ms test body between) | {} | {} | {} |",
        TEST_BODY.as_millis(),
        ms(spare.median),
        ms(spare.p90),
        ms(spare.min)
    );
    println!(
        "| CREATE DATABASE + dbops migrate up | {} | {} | {} |",
        ms(remigrate.median),
        ms(remigrate.p90),
        ms(remigrate.min)
    );
    println!(
        "speedup over re-migrating: clone {:.1}x, with spares {:.1}x",
        remigrate.median.as_secs_f64() / clone.median.as_secs_f64(),
        remigrate.median.as_secs_f64() / spare.median.as_secs_f64()
    );
    cluster.stop().await?;
    Ok(())
}
