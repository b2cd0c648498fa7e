//! Applying migrations: dbops vs `psql -f` per file (what shell scripts do), on the reference set and
//! a generated 200-migration set; and the no-op check a service runs at every start.
//!
//! Run: `cargo run --release -p dbops-benches --bin migrate`

use std::process::Command;
use std::time::{Duration, Instant};

use dbops::config::ChildEnv;
use dbops::{DatabaseUrl, MigrationSource, Migrator, PgMigrator, TempCluster, TestDatabases};
use dbops_benches::{migrations_dir, ms, stats};

const ROUNDS: usize = 5;

fn generated(n: usize) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for i in 1..=n {
        files.push((
            format!("{i:06}_step_{i}.up.sql"),
            format!(
                "CREATE TABLE IF NOT EXISTS t_{i} (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n\
                 CREATE INDEX IF NOT EXISTS t_{i}_name ON t_{i} (name);\nCOMMENT ON TABLE t_{i} IS 'generated {i}';"
            ),
        ));
        files.push((
            format!("{i:06}_step_{i}.down.sql"),
            format!("DROP TABLE IF EXISTS t_{i};"),
        ));
    }
    files
}

fn psql_each(
    cluster: &TempCluster,
    url: &DatabaseUrl,
    files: &[(String, String)],
    dir: &std::path::Path,
) -> Duration {
    let env = ChildEnv::for_url(url).expect("child env");
    let started = Instant::now();
    for (name, sql) in files.iter().filter(|(n, _)| n.ends_with(".up.sql")) {
        let mut cmd = Command::new(cluster.binaries().program("psql"));
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
        // One transaction per file, as dbops does, except where PostgreSQL forbids it.
        if !sql.contains("CONCURRENTLY") {
            cmd.arg("-1");
        }
        cmd.arg("-f").arg(dir.join(name));
        env.apply_std(&mut cmd);
        let status = cmd.status().expect("psql");
        assert!(status.success(), "psql failed on {name}");
    }
    started.elapsed()
}

#[tokio::main]
async fn main() -> dbops::Result<()> {
    let cluster = TempCluster::start().await?;
    let dbs = TestDatabases::on_cluster(&cluster)
        .spares(0)
        .build()
        .await?;
    let reference: Vec<(String, String)> = {
        let source = MigrationSource::from_dir(migrations_dir())?;
        source
            .migrations()
            .iter()
            .flat_map(|m| std::iter::once(&m.up).chain(m.down.as_ref()))
            .map(|s| (s.file.clone(), s.sql.clone()))
            .collect()
    };
    let sets = [
        ("reference schema (7 files)", reference),
        ("generated, 200 migrations", generated(200)),
    ];
    println!("| set | dbops up | psql -f per file | ratio |");
    println!("|---|---|---|---|");
    for (label, files) in &sets {
        let dir = tempfile::tempdir().map_err(|e| dbops::Error::io("tempdir", "/tmp", e))?;
        for (name, sql) in files {
            std::fs::write(dir.path().join(name), sql)
                .map_err(|e| dbops::Error::io("write", dir.path(), e))?;
        }
        let source = MigrationSource::from_dir(dir.path())?;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let db = dbs.create().await?;
            let started = Instant::now();
            PgMigrator::new(db.url().clone(), source.clone())
                .up(None)
                .await?;
            ours.push(started.elapsed());
            db.drop_now().await?;
            let db = dbs.create().await?;
            theirs.push(psql_each(&cluster, db.url(), files, dir.path()));
            db.drop_now().await?;
        }
        let (ours, theirs) = (stats(&mut ours), stats(&mut theirs));
        println!(
            "| {label} | {} | {} | {:.2}x |",
            ms(ours.median),
            ms(theirs.median),
            theirs.median.as_secs_f64() / ours.median.as_secs_f64()
        );
    }

    // The no-op startup check: pool already open (as in a service), database up to date.
    let db = dbs.create().await?;
    let source = MigrationSource::from_dir(migrations_dir())?;
    let pool = db.url().pool(&Default::default())?;
    dbops::migrate_on_startup(&pool, source.clone()).await?;
    let mut noop = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let report = dbops::migrate_on_startup(&pool, source.clone()).await?;
        noop.push(started.elapsed());
        assert!(report.applied.is_empty());
    }
    let noop = stats(&mut noop);
    println!();
    println!(
        "no-op `migrate_on_startup` on an up-to-date database (pooled connection): median {}, p90 {}",
        ms(noop.median),
        ms(noop.p90)
    );
    Ok(())
}
