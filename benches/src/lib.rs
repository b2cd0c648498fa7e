//! Shared helpers of the dbops benchmark binaries (`cargo run --release -p dbops-benches --bin NAME`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dbops::DatabaseUrl;
use dbops::config::ChildEnv;

/// Summary statistics of a set of timings.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Median.
    pub median: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// Fastest.
    pub min: Duration,
}

/// Median, p90 and min of `samples` (must not be empty).
pub fn stats(samples: &mut [Duration]) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p90: at(0.9),
        min: samples[0],
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The repository's `migrations/` directory.
pub fn migrations_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

/// The `*.up.sql` files of `migrations/`, in version order, with their contents.
pub fn up_migrations() -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(migrations_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let sql = std::fs::read_to_string(&p).unwrap_or_default();
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                sql,
            )
        })
        .collect()
}

/// Wall time and peak RSS of one measured command.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Wall time in seconds.
    pub secs: f64,
    /// Largest resident set of any process of the command's tree, in MB (from `wait4`).
    pub rss_mb: f64,
}

/// Runs a bash command line with the database's libpq environment (`PG*`, passfile) and `extra_env`;
/// panics when it fails. Returns its wall time and peak RSS. The page cache is flushed (`sync`) before
/// the clock starts: the kernel writes dirty pages back about 30 s after they were written, so the
/// files an earlier command wrote would otherwise be written back during whichever command runs then.
pub fn measure(script: &str, url: &DatabaseUrl, extra_env: &[(&str, String)]) -> Run {
    let env = ChildEnv::for_url(url).expect("child env");
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!("set -euo pipefail; {script}"));
    env.apply_std(&mut command);
    for (k, v) in extra_env {
        command.env(k, v);
    }
    // SAFETY: sync(2) takes no arguments and always succeeds.
    unsafe { libc::sync() };
    let started = Instant::now();
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also returns its rusage
    let child = command.spawn().expect("spawn");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: waits for our own child; `status` and `usage` outlive the call.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = started.elapsed().as_secs_f64();
    assert!(
        waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "`{script}` failed ({status})"
    );
    Run {
        secs,
        rss_mb: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// The median of `values` (must not be empty).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Bytes of a file, or of every file under a directory.
pub fn size_of(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| size_of(&e.path()))
            .sum()
    } else {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }
}

/// The release `dbops` CLI (panics with the build command when it is missing).
pub fn dbops_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/dbops");
    assert!(
        path.is_file(),
        "build it first: cargo build --release -p dbops-cli --bin dbops"
    );
    path
}

/// A program on `PATH`, if installed.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// `n` generated migrations (a table, an index and a comment each) as `(file name, sql)` pairs,
/// up and down files.
pub fn generated_migrations(n: usize) -> Vec<(String, String)> {
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

/// Writes `files` into `dir` and, for dbmate, one `-- migrate:up`/`-- migrate:down` file per
/// migration into `dir/dbmate` (transaction off where PostgreSQL forbids one).
pub fn write_migrations(files: &[(String, String)], dir: &Path) -> std::io::Result<()> {
    let mate = dir.join("dbmate");
    std::fs::create_dir_all(&mate)?;
    for (name, sql) in files {
        std::fs::write(dir.join(name), sql)?;
    }
    for (name, up) in files.iter().filter(|(n, _)| n.ends_with(".up.sql")) {
        let down = files
            .iter()
            .find(|(n, _)| *n == name.replace(".up.sql", ".down.sql"))
            .map_or("", |(_, s)| s.as_str());
        let tx = if up.contains("CONCURRENTLY") {
            " transaction:false"
        } else {
            ""
        };
        let body = format!("-- migrate:up{tx}\n{up}\n\n-- migrate:down{tx}\n{down}\n");
        std::fs::write(mate.join(name.replace(".up.sql", ".sql")), body)?;
    }
    Ok(())
}

/// Row count and an order-independent checksum (a sum of row hashes) of every user table of the
/// database at `url`, keyed `schema.table`: two databases with the same data have the same map.
pub async fn table_fingerprints(
    url: &DatabaseUrl,
) -> dbops::Result<std::collections::BTreeMap<String, (i64, String)>> {
    let client = url.connect().await?;
    let tables = client
        .query(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| dbops::Error::postgres("listing tables", e))?;
    let mut out = std::collections::BTreeMap::new();
    for row in tables {
        let table: String = row.get(0);
        let sums = client
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)::text \
                     FROM ONLY {table} t"
                ),
                &[],
            )
            .await
            .map_err(|e| dbops::Error::postgres(format!("checksumming {table}"), e))?;
        out.insert(table, (sums.get(0), sums.get(1)));
    }
    Ok(out)
}

/// Panics, naming the tables that differ, unless `restored` holds the same data as `source`.
pub async fn assert_same_data(
    source: &std::collections::BTreeMap<String, (i64, String)>,
    restored: &DatabaseUrl,
    what: &str,
) {
    let got = table_fingerprints(restored)
        .await
        .unwrap_or_else(|e| panic!("{what}: cannot checksum the restored database: {e}"));
    let differing: Vec<&String> = source
        .keys()
        .chain(got.keys())
        .filter(|t| source.get(*t) != got.get(*t))
        .collect();
    assert!(
        differing.is_empty(),
        "{what}: the restored database differs from its source in {differing:?}"
    );
}

/// The ride-hailing database most benchmarks run on: database `ridehailing` of a fast embedded
/// cluster, the reference schema seeded with the heavy profile at some scale, vacuumed and analyzed.
pub struct HeavyDatabase {
    /// The cluster (stop it at the end).
    pub cluster: dbops::TempCluster,
    /// The database's URL.
    pub url: DatabaseUrl,
    /// Rows seeded.
    pub rows: u64,
    /// `pg_database_size` after VACUUM ANALYZE.
    pub bytes: i64,
}

/// Starts a cluster and seeds [`HeavyDatabase`] at `scale`, saying how long it took on stderr.
pub async fn heavy_database(scale: u64) -> dbops::Result<HeavyDatabase> {
    heavy_database_of(scale, None).await
}

/// [`heavy_database`] on a cluster of PostgreSQL `major` (the default installation without one).
pub async fn heavy_database_of(scale: u64, major: Option<u32>) -> dbops::Result<HeavyDatabase> {
    use dbops::seed::{PgSeeder, Profile, SeedOptions};
    use dbops::{MigrationSource, Migrator, PgMigrator};
    let mut builder = dbops::TempCluster::builder().durability(dbops::Durability::Fast);
    if let Some(major) = major {
        builder = builder.major(major);
    }
    let cluster = builder.start().await?;
    let url = cluster.url().with_database("ridehailing");
    cluster
        .url()
        .connect()
        .await?
        .batch_execute("CREATE DATABASE ridehailing")
        .await
        .map_err(|e| dbops::Error::postgres("create", e))?;
    PgMigrator::new(url.clone(), MigrationSource::from_dir(migrations_dir())?)
        .up(None)
        .await?;
    let seeded = Instant::now();
    let options = SeedOptions::default().with_scale(scale);
    let report = PgSeeder::new(url.clone())
        .seed(Profile::Heavy, &options)
        .await?;
    let client = url.connect().await?;
    client
        .batch_execute("VACUUM ANALYZE")
        .await
        .map_err(|e| dbops::Error::postgres("vacuum", e))?;
    let bytes: i64 = client
        .query_one("SELECT pg_database_size('ridehailing')", &[])
        .await
        .map_err(|e| dbops::Error::postgres("size", e))?
        .get(0);
    eprintln!(
        "seeded {} rows in {:.0}s; database is {:.0} MB",
        report.rows,
        seeded.elapsed().as_secs_f64(),
        bytes as f64 / 1e6
    );
    Ok(HeavyDatabase {
        cluster,
        url,
        rows: report.rows,
        bytes,
    })
}
