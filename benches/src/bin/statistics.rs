//! Planner statistics in backups (PostgreSQL 18): a restore of a backup that carries them (the
//! default on 18) against one of a `--no-statistics` backup (which runs ANALYZE), alternating, on the
//! heavy profile at `SCALE` on a PostgreSQL 18 cluster; and the plans of a few ride-hailing queries
//! in each restored database, which must be the same.
//!
//! Run: `cargo build --release -p dbops-cli --bin dbops && cargo run --release -p dbops-benches --bin statistics [SCALE] [ROUNDS]`
//! (defaults: scale 50, 3 rounds; needs PostgreSQL 18 in `DBOPS_PG_BIN`, as `source scripts/env.sh`
//! lists it after `scripts/install-deps.sh`)

use std::time::Instant;

use dbops::DatabaseUrl;
use dbops_benches::{HeavyDatabase, dbops_binary, heavy_database_of, median};

/// Queries whose plans depend on the statistics (selectivity, join order, aggregation strategy).
const QUERIES: [&str; 4] = [
    "SELECT * FROM rides WHERE rider_id = 42 ORDER BY requested_at DESC LIMIT 20",
    "SELECT r.driver_id, count(*) FROM rides r JOIN payments p ON p.ride_id = r.id \
     WHERE r.status = 'completed' GROUP BY r.driver_id",
    "SELECT u.id, count(*) FROM users u JOIN rides r ON r.rider_id = u.id \
     WHERE r.requested_at > now() - interval '30 days' GROUP BY u.id ORDER BY 2 DESC LIMIT 10",
    "SELECT * FROM payments WHERE status = 'failed' AND amount_cents > 5000",
];

#[tokio::main]
async fn main() -> dbops::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let scale = args.first().copied().unwrap_or(50);
    let rounds = args.get(1).copied().unwrap_or(3) as usize;
    let dbops = dbops_binary();
    let HeavyDatabase { cluster, url, .. } = heavy_database_of(scale, Some(18)).await?;
    let dir = tempfile::tempdir().map_err(|e| dbops::Error::io("tempdir", "/tmp", e))?;
    let raw = url.expose();
    let run = |args: &str| -> f64 {
        let started = Instant::now();
        let status = std::process::Command::new(&dbops)
            .env("DATABASE_URL", &raw)
            .args(args.split_whitespace())
            .status()
            .expect("dbops runs");
        assert!(status.success(), "dbops {args}");
        started.elapsed().as_secs_f64()
    };
    let d = dir.path().display();
    run(&format!("-q backup --store file://{d}/with"));
    run(&format!(
        "-q backup --no-statistics --store file://{d}/without"
    ));
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for (store, times) in [("with", &mut with), ("without", &mut without)] {
            let _ = std::process::Command::new("sync").status();
            let into = format!("{store}_{round}");
            times.push(run(&format!(
                "-q restore --store file://{d}/{store} --from-database ridehailing --into {into} --create"
            )));
        }
    }
    let plans_with = plans(&url.with_database("with_0")).await?;
    let plans_without = plans(&url.with_database("without_0")).await?;
    let source = plans(&url).await?;
    println!(
        "## Planner statistics in backups, PostgreSQL 18, heavy profile scale {scale}, {rounds} rounds\n"
    );
    println!("| restore | median s | rounds |");
    println!("|---|---|---|");
    for (name, times) in [
        ("backup with its statistics (no ANALYZE)", &with),
        ("`--no-statistics` backup (ANALYZE after loading)", &without),
    ] {
        let shown: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
        println!(
            "| {name} | {:.2} | {} |",
            median(times.clone()),
            shown.join(" / ")
        );
    }
    println!(
        "\nsaved: {:.2} s per restore ({:.0}%)",
        median(without.clone()) - median(with.clone()),
        100.0 * (1.0 - median(with.clone()) / median(without.clone()))
    );
    for (i, query) in QUERIES.iter().enumerate() {
        let same_as_source = plans_with[i] == source[i];
        let same_as_analyzed = plans_with[i] == plans_without[i];
        println!(
            "\nquery {}: plan with the backup's statistics = the source's: {same_as_source}; = after ANALYZE: {same_as_analyzed}\n  {query}\n  {}",
            i + 1,
            plans_with[i].replace('\n', "\n  ")
        );
    }
    cluster.stop().await
}

/// The plan shape (no costs) of each of [`QUERIES`] on the database of `url`.
async fn plans(url: &DatabaseUrl) -> dbops::Result<Vec<String>> {
    let client = url.connect().await?;
    let mut out = Vec::new();
    for query in QUERIES {
        let rows = client
            .query(&format!("EXPLAIN (COSTS off) {query}"), &[])
            .await
            .map_err(|e| dbops::Error::postgres("explaining", e))?;
        out.push(
            rows.iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    Ok(out)
}
