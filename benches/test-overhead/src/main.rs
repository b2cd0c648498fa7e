//! Per-test overhead of `#[dbops::test]` and `#[sqlx::test]`, 100 tests each on the reference schema,
//! against one embedded cluster (over TCP with SCRAM, as a CI database would be).
//!
//! Each test runs one query; the baseline runs the same 100 queries on one already-migrated
//! database, so `(run - baseline) / 100` is what the harness costs per test: a fresh database, its
//! schema and the clean-up. The test binaries run alternately, `ROUNDS` rounds (default 3), with 1
//! and 2 test threads (`THREADS=1,2`); the first dbops run (which builds its template) is reported on
//! its own.
//!
//! `sqlx::test` runs migration files in a transaction, so its copy of the migrations (generated into
//! `generated/sqlx-migrations/`) builds the indexes of migration 7 without CONCURRENTLY, the same work on
//! empty tables.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use dbops::{Listen, MigrationSource, Migrator, PgMigrator, TempCluster};

const TESTS: f64 = 100.0;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let migrations = crate_dir.join("../../migrations");
    write_sqlx_migrations(&migrations, &crate_dir.join("generated/sqlx-migrations"))?;
    let binaries = build_tests(crate_dir)?;

    let cluster = TempCluster::builder().listen(Listen::Tcp).start().await?;
    let admin = cluster.tcp_url().ok_or("the cluster listens on TCP")?;
    let baseline_db = "overhead_baseline";
    admin
        .connect()
        .await?
        .batch_execute(&format!("CREATE DATABASE {baseline_db}"))
        .await?;
    let baseline = admin.with_database(baseline_db);
    PgMigrator::new(baseline.clone(), MigrationSource::from_dir(&migrations)?)
        .up(None)
        .await?;
    let run = |name: &str, threads: usize| -> Result<f64, Box<dyn std::error::Error>> {
        let started = Instant::now();
        let out = Command::new(&binaries[name])
            .arg(format!("--test-threads={threads}"))
            .env("DATABASE_URL", admin.expose())
            .env("BASELINE_URL", baseline.expose())
            .output()?;
        let secs = started.elapsed().as_secs_f64();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !stdout.contains("100 passed") {
            return Err(format!(
                "{name} failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(secs)
    };

    let cold = run("dbops_100", 1)?;
    println!(
        "| threads | harness | 100 tests (median of {rounds}) | overhead per test | vs dbops |"
    );
    println!("|---|---|---|---|---|");
    let thread_counts: Vec<usize> = std::env::var("THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    for threads in thread_counts {
        let mut times: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
        for round in 0..rounds {
            let mut order = ["baseline_100", "dbops_100", "sqlx_100"];
            order.rotate_left(round % 3);
            for name in order {
                times.entry(name).or_default().push(run(name, threads)?);
            }
        }
        let base = median(&times["baseline_100"]);
        let per_test = |name: &str| (median(&times[name]) - base) / TESTS * 1000.0;
        let ours = per_test("dbops_100");
        for (name, label) in [
            ("dbops_100", "`#[dbops::test]`"),
            ("sqlx_100", "`#[sqlx::test]`"),
            ("baseline_100", "baseline (one shared database)"),
        ] {
            let overhead = if name == "baseline_100" {
                0.0
            } else {
                per_test(name)
            };
            println!(
                "| {threads} | {label} | {:.2} s | {overhead:.1} ms | {} |",
                median(&times[name]),
                if name == "sqlx_100" {
                    format!("{:.1}x", overhead / ours)
                } else {
                    "".into()
                }
            );
        }
    }
    println!(
        "\nFirst dbops run of the setup (builds and seals the template, then 100 clones), 1 thread: {cold:.2} s."
    );
    cluster.stop().await?;
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// The reference migrations as `sqlx::test` can run them: in a transaction, so without CONCURRENTLY.
fn write_sqlx_migrations(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sql") {
            let sql = std::fs::read_to_string(&path)?.replace(" CONCURRENTLY", "");
            let target = to.join(path.file_name().unwrap_or_default());
            if std::fs::read_to_string(&target).ok().as_deref() != Some(sql.as_str()) {
                std::fs::write(target, sql)?;
            }
        }
    }
    Ok(())
}

/// Builds the three test binaries (release) and returns their paths by target name.
fn build_tests(
    crate_dir: &Path,
) -> Result<std::collections::HashMap<String, PathBuf>, Box<dyn std::error::Error>> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(crate_dir)
        .args([
            "test",
            "--release",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "building the test binaries failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let mut binaries = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let (Some(name), Some(exe)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) && message["profile"]["test"] == true
        {
            binaries.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    for name in ["dbops_100", "sqlx_100", "baseline_100"] {
        if !binaries.contains_key(name) {
            return Err(format!("no test binary `{name}` was built").into());
        }
    }
    Ok(binaries)
}
