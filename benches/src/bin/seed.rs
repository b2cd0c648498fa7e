//! Seeding: dbops (binary COPY, generated on the fly) vs `psql -f` of an INSERT-based seed file with
//! exactly the same rows (made with `pg_dump --data-only --inserts` from the dbops-seeded database).
//!
//! Run: `cargo run --release -p dbops-benches --bin seed [SCALE...]` (default scales: 1 and 10)

use std::process::Command;
use std::time::Instant;

use dbops::config::ChildEnv;
use dbops::seed::{PgSeeder, Profile, SeedOptions};
use dbops::{MigrationSource, TempCluster, TestDatabases};
use dbops_benches::migrations_dir;

#[tokio::main]
async fn main() -> dbops::Result<()> {
    let scales: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let scales = if scales.is_empty() {
        vec![1, 10]
    } else {
        scales
    };
    let cluster = TempCluster::start().await?;
    let dbs = TestDatabases::on_cluster(&cluster)
        .setup(MigrationSource::from_dir(migrations_dir())?)
        .spares(0)
        .build()
        .await?;
    println!("| heavy profile | rows | dbops | dbops rows/s | psql -f INSERT file | ratio |");
    println!("|---|---|---|---|---|---|");
    for scale in scales {
        let ours = dbs.create().await?;
        let started = Instant::now();
        let report = PgSeeder::new(ours.url().clone())
            .seed(Profile::Heavy, &SeedOptions::default().with_scale(scale))
            .await?;
        let dbops_secs = started.elapsed().as_secs_f64();

        let dir = tempfile::tempdir().map_err(|e| dbops::Error::io("tempdir", "/tmp", e))?;
        let file = dir.path().join("seed-heavy.sql");
        let env = ChildEnv::for_url(ours.url())?;
        let mut dump = Command::new(cluster.binaries().program("pg_dump"));
        dump.args([
            "--data-only",
            "--inserts",
            "--no-owner",
            "--exclude-table=schema_migrations",
            "--exclude-table=dbops_migration_history",
            "-f",
        ])
        .arg(&file);
        env.apply_std(&mut dump);
        assert!(
            dump.status()
                .map_err(|e| dbops::Error::io("running pg_dump", &file, e))?
                .success()
        );

        let theirs = dbs.create().await?;
        let env = ChildEnv::for_url(theirs.url())?;
        let mut psql = Command::new(cluster.binaries().program("psql"));
        psql.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-1",
            "-o",
            "/dev/null",
            "-f",
        ])
        .arg(&file);
        env.apply_std(&mut psql);
        let started = Instant::now();
        assert!(
            psql.status()
                .map_err(|e| dbops::Error::io("running psql", &file, e))?
                .success()
        );
        let psql_secs = started.elapsed().as_secs_f64();
        println!(
            "| scale {scale} | {} | {:.2} s | {:.0} | {:.2} s | {:.1}x |",
            report.rows,
            dbops_secs,
            report.rows as f64 / dbops_secs,
            psql_secs,
            psql_secs / dbops_secs
        );
        ours.drop_now().await?;
        theirs.drop_now().await?;
    }
    Ok(())
}
