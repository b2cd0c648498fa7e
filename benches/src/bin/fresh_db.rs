//! Fresh test database: cold start of the embedded cluster, clone-from-template + connect, versus
//! creating a database and re-running the migrations in it (what harnesses without templates do).
//!
//! Run: `cargo run --release -p dbops-benches --bin fresh_db`

use std::time::{Duration, Instant};

use dbops::{SqlScripts, TempCluster, TestDatabases};
use dbops_benches::{ms, stats, up_migrations};

const CLONES: usize = 60;
const COLD_STARTS: usize = 7;

#[tokio::main]
async fn main() -> dbops::Result<()> {
    // Cold start: initdb (cached after the first run) + postgres start + ready, then stop.
    let mut cold = Vec::new();
    let mut first = None;
    for i in 0..=COLD_STARTS {
        let started = Instant::now();
        let cluster = TempCluster::start().await?;
        let elapsed = started.elapsed();
        if i == 0 {
            first = Some(elapsed);
        } else {
            cold.push(elapsed);
        }
        cluster.stop().await?;
    }
    let cold = stats(&mut cold);

    let cluster = TempCluster::start().await?;
    let migrations = up_migrations();
    let mut scripts = SqlScripts::new();
    for (name, sql) in &migrations {
        scripts = scripts.script(name.clone(), sql.clone());
    }
    let dbs = TestDatabases::on_cluster(&cluster)
        .setup(scripts)
        .build()
        .await?;

    let mut clone = Vec::new();
    for _ in 0..CLONES {
        let started = Instant::now();
        let db = dbs.create().await?;
        let client = db.connect().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| dbops::Error::postgres("ping", e))?;
        clone.push(started.elapsed());
        drop(client);
        db.drop_now().await?;
    }
    let clone = stats(&mut clone);

    let admin = cluster.url().connect().await?;
    let mut remigrate = Vec::new();
    for i in 0..CLONES / 3 {
        let name = format!("bench_remigrate_{i}");
        let started = Instant::now();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| dbops::Error::postgres("create", e))?;
        let client = cluster.url().with_database(&name).connect().await?;
        for (file, sql) in &migrations {
            client
                .batch_execute(&format!("BEGIN; {sql}; COMMIT;"))
                .await
                .map_err(|e| dbops::Error::postgres(format!("apply {file}"), e))?;
        }
        remigrate.push(started.elapsed());
        drop(client);
        admin
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .map_err(|e| dbops::Error::postgres("drop", e))?;
    }
    let remigrate = stats(&mut remigrate);

    println!("fresh test database ({} migration files)", migrations.len());
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
        "| dbops clone from template + connect | {} | {} | {} |",
        ms(clone.median),
        ms(clone.p90),
        ms(clone.min)
    );
    println!(
        "| CREATE DATABASE + re-run migrations | {} | {} | {} |",
        ms(remigrate.median),
        ms(remigrate.p90),
        ms(remigrate.min)
    );
    println!(
        "speedup of clone over re-migrating: {:.1}x",
        remigrate.median.as_secs_f64() / clone.median.as_secs_f64()
    );
    cluster.stop().await?;
    Ok(())
}
