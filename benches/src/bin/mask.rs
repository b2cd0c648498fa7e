//! Masked restores: `dbops restore --mask` (the reference rules, `examples/masking/rides.toml`: 25
//! columns of 8 tables masked while the rows stream) side by side with the plain `dbops restore` and
//! with "restore, then UPDATE the same columns" (what teams do without a masking tool), with and
//! without the `VACUUM FULL` that actually removes the original values from the table files. Heavy
//! profile at `--scale`, tools alternating in each round. Every restored database is checked: the
//! plain one equals its source, the masked ones have the source's row counts and none of its emails.
//!
//! Run: `cargo build --release -p dbops-cli --bin dbops && cargo run --release -p dbops-benches --bin mask [SCALE] [ROUNDS]`
//! (defaults: scale 20, 3 rounds). With `DBOPS_BASELINE_BIN=/path/to/an/older/dbops` a plain restore
//! by that binary runs alongside (is a plain restore any slower than before masking existed?).

use std::collections::BTreeSet;

use dbops::DatabaseUrl;
use dbops_benches::{HeavyDatabase, dbops_binary, heavy_database, measure, median, migrations_dir};

/// The reference rules as UPDATE statements (the same columns, comparable transformations).
const UPDATES: &str = "\
BEGIN;
UPDATE users SET public_id = md5(public_id::text || 'k')::uuid, email = 'user.' || id || '@example.com',
  phone = '+1' || lpad(id::text, 10, '0'), full_name = 'User ' || id, password_hash = NULL,
  created_at = created_at - interval '7 days', updated_at = updated_at - interval '7 days';
UPDATE drivers SET license_number = md5(license_number),
  current_lat = current_lat + (random() - 0.5) * 0.006, current_lng = current_lng + (random() - 0.5) * 0.006;
UPDATE vehicles SET plate = md5(plate);
UPDATE rides SET public_id = md5(public_id::text || 'k')::uuid,
  pickup_lat = pickup_lat + (random() - 0.5) * 0.004, pickup_lng = pickup_lng + (random() - 0.5) * 0.004,
  dropoff_lat = dropoff_lat + (random() - 0.5) * 0.004, dropoff_lng = dropoff_lng + (random() - 0.5) * 0.004,
  pickup_address = NULL, dropoff_address = NULL,
  cancel_reason = CASE WHEN cancel_reason IS NULL THEN NULL ELSE '' END;
UPDATE ratings SET comment = NULL;
UPDATE payments SET provider_ref = md5(provider_ref);
UPDATE driver_location_history SET lat = lat + (random() - 0.5) * 0.0012, lng = lng + (random() - 0.5) * 0.0012;
UPDATE notifications SET title = 'Notification', body = '(masked)';
COMMIT;
";

async fn emails(url: &DatabaseUrl) -> dbops::Result<BTreeSet<String>> {
    let client = url.connect().await?;
    Ok(client
        .query("SELECT email FROM users", &[])
        .await
        .map_err(|e| dbops::Error::postgres("emails", e))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

#[tokio::main]
async fn main() -> dbops::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let scale = args.first().copied().unwrap_or(20);
    let rounds = args.get(1).copied().unwrap_or(3) as usize;
    let dbops = dbops_binary().display().to_string();
    let HeavyDatabase {
        cluster,
        url,
        rows,
        bytes: db_bytes,
    } = heavy_database(scale).await?;
    let admin = cluster.url().connect().await?;
    let dir = tempfile::tempdir().map_err(|e| dbops::Error::io("tempdir", "/tmp", e))?;
    let d = dir.path().display().to_string();
    let raw = url.expose();
    let env = [
        ("DATABASE_URL", raw.clone()),
        (
            "DBOPS_MASK_KEY",
            "benchmark-masking-key-0123456789".to_string(),
        ),
    ];
    measure(
        &format!("{dbops} -q backup --store file://{d}/store > /dev/null"),
        &url,
        &env,
    );
    let rules = migrations_dir()
        .join("../examples/masking/rides.toml")
        .display()
        .to_string();
    let source = dbops_benches::table_fingerprints(&url).await?;
    let original_emails = emails(&url).await?;
    let restore = format!(
        "{dbops} -q restore --store file://{d}/store --from-database ridehailing --into {{db}} --create"
    );
    let psql = format!(
        "{}/psql -q -X -v ON_ERROR_STOP=1",
        dbops::PgBinaries::discover()?.bin_dir().display()
    );
    std::fs::write(dir.path().join("updates.sql"), UPDATES)
        .map_err(|e| dbops::Error::io("writing", &d, e))?;
    let runs: Vec<(&str, String, bool)> = vec![
        (
            "dbops restore (plain, verified, ANALYZE)",
            restore.clone(),
            false,
        ),
        (
            "dbops restore --mask (25 columns of 8 tables, verified, ANALYZE)",
            format!("{restore} --mask {rules} > /dev/null"),
            true,
        ),
        (
            "dbops restore, then UPDATE the same columns",
            format!("{restore} > /dev/null && {psql} -d {{db}} -f {d}/updates.sql"),
            true,
        ),
        (
            "dbops restore, then UPDATE, then VACUUM FULL ANALYZE (originals gone from the table files)",
            format!(
                "{restore} > /dev/null && {psql} -d {{db}} -f {d}/updates.sql && {psql} -d {{db}} -c 'VACUUM FULL ANALYZE'"
            ),
            true,
        ),
        (
            "dbops restore --mask --subset 'rides: id % 10 = 0' (10% of the rides and their closure)",
            format!("{restore} --mask {rules} --subset 'rides: id % 10 = 0' > /dev/null"),
            false,
        ),
    ];
    let baseline = std::env::var("DBOPS_BASELINE_BIN").ok();
    let mut runs = runs;
    if let Some(bin) = &baseline {
        runs.insert(
            1,
            (
                "dbops restore (plain) by the baseline binary (DBOPS_BASELINE_BIN)",
                format!("{bin} -q restore --store file://{d}/store --from-database ridehailing --into {{db}} --create > /dev/null"),
                false,
            ),
        );
    }
    let mut times = vec![Vec::new(); runs.len()];
    for round in 0..rounds {
        for (i, (name, script, masked)) in runs.iter().enumerate() {
            let db = format!("masked_{i}_{round}");
            let run = measure(&script.replace("{db}", &db), &url, &env);
            eprintln!("round {round}: {name}: {:.2}s", run.secs);
            times[i].push(run.secs);
            let restored = url.with_database(&db);
            if i == 0 || name.contains("baseline") {
                dbops_benches::assert_same_data(&source, &restored, name).await;
            } else if *masked {
                let got = dbops_benches::table_fingerprints(&restored).await?;
                for (table, (rows, _)) in &source {
                    assert_eq!(
                        got.get(table).map(|g| g.0),
                        Some(*rows),
                        "{name}: {table} rows"
                    );
                }
                let leaked = emails(&restored)
                    .await?
                    .intersection(&original_emails)
                    .count();
                assert_eq!(leaked, 0, "{name}: original emails in the masked database");
            }
            admin
                .batch_execute(&format!("DROP DATABASE {db}"))
                .await
                .map_err(|e| dbops::Error::postgres("drop", e))?;
        }
    }
    let plain = median(times[0].clone());
    println!(
        "Database: heavy profile at scale {scale}: {} rows, {:.0} MB on disk. {rounds} rounds, tools alternating.",
        rows,
        db_bytes as f64 / 1e6
    );
    println!();
    println!("| restore | median | rounds | vs plain restore |");
    println!("|---|---|---|---|");
    for (i, (name, _, _)) in runs.iter().enumerate() {
        let t = median(times[i].clone());
        let all: Vec<String> = times[i].iter().map(|s| format!("{s:.1}")).collect();
        println!(
            "| {name} | {t:.2} s | {} | {:.2}x |",
            all.join(" / "),
            t / plain
        );
    }
    cluster.stop().await?;
    Ok(())
}
