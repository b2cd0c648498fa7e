//! How cost grows with size, each step measured on the CLI as users run it, with the peer alongside:
//! seeding at scale 1/10/100/400 (`dbops seed heavy --scale K`), backups of the databases so made
//! (~100 MB, ~1 GB, ~4 GB: `dbops backup` vs `pg_dump | gzip`), and applying 10/100/1000 generated
//! migrations (`dbops migrate up` vs `psql -f` per file vs dbmate). Prints Markdown tables and writes
//! the points to a CSV file that `benches/plot_growth.py` turns into a PNG.
//!
//! Run: `cargo build --release -p dbops-cli --bin dbops && cargo run --release -p dbops-benches --bin growth [CSV] [MAX_SCALE]`
//! (defaults: `benches/results/growth.csv`, 400)

use std::fmt::Write as _;
use std::path::PathBuf;

use dbops::{Durability, Listen, TempCluster};
use dbops_benches::{
    dbops_binary, generated_migrations, measure, median, migrations_dir, size_of, which,
    write_migrations,
};

const SEEDED: &str = "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM user_preferences)
    + (SELECT count(*) FROM drivers) + (SELECT count(*) FROM vehicles) + (SELECT count(*) FROM wallets)
    + (SELECT count(*) FROM promo_codes) + (SELECT count(*) FROM rides) + (SELECT count(*) FROM ratings)
    + (SELECT count(*) FROM payments) + (SELECT count(*) FROM wallet_transactions)
    + (SELECT count(*) FROM referrals) + (SELECT count(*) FROM promo_redemptions)
    + (SELECT count(*) FROM driver_location_history) + (SELECT count(*) FROM notifications)
    + (SELECT count(*) FROM eta_predictions)";

fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> dbops::Error {
    dbops::Error::io(what, path, e)
}

#[tokio::main]
async fn main() -> dbops::Result<()> {
    let mut args = std::env::args().skip(1);
    let csv_path = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "benches/results/growth.csv".to_string()),
    );
    let max_scale: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(400);
    let dbops = dbops_binary().display().to_string();
    let cluster = TempCluster::builder()
        .durability(Durability::Fast)
        .listen(Listen::Tcp)
        .start()
        .await?;
    let admin = cluster.url().connect().await?;
    let sql = |e| dbops::Error::postgres("benchmark setup", e);
    let bin = cluster.binaries().bin_dir().display().to_string();
    let work = tempfile::tempdir().map_err(|e| io("tempdir", std::path::Path::new("/tmp"), e))?;
    let mut csv = String::from("kind,x,tool,seconds,peak_rss_mb,output_mb,database_mb,rows\n");

    // Seeding: a fresh migrated database per scale, kept for the backups below.
    let scales: Vec<u64> = [1, 10, 100, 400]
        .into_iter()
        .filter(|s| *s <= max_scale)
        .collect();
    println!("### Seeding (heavy profile, `dbops seed heavy --scale K`)");
    println!();
    println!("| scale | rows | time | rows/s | peak RSS | database size |");
    println!("|---|---|---|---|---|---|");
    let mut databases = Vec::new();
    for &scale in &scales {
        let name = format!("seeded_{scale}");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(sql)?;
        let url = cluster.url().with_database(&name);
        let raw = url.expose();
        measure(
            &format!(
                "{dbops} -q migrate up --source {} > /dev/null",
                migrations_dir().display()
            ),
            &url,
            &[("DATABASE_URL", raw.clone())],
        );
        let run = measure(
            &format!("{dbops} -q seed heavy --scale {scale} > /dev/null"),
            &url,
            &[("DATABASE_URL", raw)],
        );
        let client = url.connect().await?;
        client.batch_execute("VACUUM ANALYZE").await.map_err(sql)?;
        let rows: i64 = client.query_one(SEEDED, &[]).await.map_err(sql)?.get(0);
        let bytes: i64 = client
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await
            .map_err(sql)?
            .get(0);
        let mb = bytes as f64 / 1e6;
        eprintln!("seeded scale {scale}: {rows} rows in {:.1} s", run.secs);
        println!(
            "| {scale} | {rows} | {:.2} s | {:.0} | {:.0} MB | {mb:.0} MB |",
            run.secs,
            rows as f64 / run.secs,
            run.rss_mb
        );
        let _ = writeln!(
            csv,
            "seed,{scale},dbops,{:.3},{:.1},,{mb:.1},{rows}",
            run.secs, run.rss_mb
        );
        databases.push((scale, name, url, mb));
    }
    println!();

    // Backups of every seeded database from scale 10 on (~100 MB and up), one round each.
    println!("### Backups by database size (one run each)");
    println!();
    println!(
        "| database | dbops backup | peak RSS | output | pg_dump \\| gzip | peak RSS | output | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (scale, name, url, mb) in databases.iter().filter(|(s, ..)| *s >= 10) {
        let raw = url.expose();
        let store = work.path().join(format!("store_{scale}"));
        let ours = measure(
            &format!(
                "{dbops} -q backup --store file://{} > /dev/null",
                store.display()
            ),
            url,
            &[("DATABASE_URL", raw.clone())],
        );
        let ours_mb = size_of(&store) as f64 / 1e6;
        let gz = work.path().join(format!("{name}.sql.gz"));
        let theirs = measure(
            &format!("{bin}/pg_dump | gzip > {}", gz.display()),
            url,
            &[],
        );
        let theirs_mb = size_of(&gz) as f64 / 1e6;
        std::fs::remove_dir_all(&store).map_err(|e| io("cleanup", &store, e))?;
        std::fs::remove_file(&gz).map_err(|e| io("cleanup", &gz, e))?;
        eprintln!(
            "backup of {mb:.0} MB: dbops {:.1} s, pg_dump|gzip {:.1} s",
            ours.secs, theirs.secs
        );
        println!(
            "| {mb:.0} MB (scale {scale}) | {:.2} s | {:.0} MB | {ours_mb:.0} MB | {:.2} s | {:.0} MB | {theirs_mb:.0} MB | {:.1}x faster |",
            ours.secs,
            ours.rss_mb,
            theirs.secs,
            theirs.rss_mb,
            theirs.secs / ours.secs
        );
        let _ = writeln!(
            csv,
            "backup,{mb:.1},dbops,{:.3},{:.1},{ours_mb:.1},{mb:.1},",
            ours.secs, ours.rss_mb
        );
        let _ = writeln!(
            csv,
            "backup,{mb:.1},pg_dump | gzip,{:.3},{:.1},{theirs_mb:.1},{mb:.1},",
            theirs.secs, theirs.rss_mb
        );
    }
    println!();

    // Migrations: 10, 100 and 1000 generated files, three rounds each, alternating tools.
    let dbmate = which("dbmate");
    println!("### Migrations by number of files (median of 3, fresh database each run)");
    println!();
    println!(
        "| migrations | dbops migrate up | psql -f per file | dbmate up | psql / dbops | dbmate / dbops |"
    );
    println!("|---|---|---|---|---|---|");
    for n in [10usize, 100, 1000] {
        let dir = work.path().join(format!("migrations_{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| io("mkdir", &dir, e))?;
        write_migrations(&generated_migrations(n), &dir).map_err(|e| io("write", &dir, e))?;
        let mut times: [Vec<f64>; 3] = Default::default();
        let mut rss = [0f64; 3];
        for round in 0..3 {
            let tcp = cluster.tcp_url().unwrap_or_else(|| cluster.url().clone());
            for (tool, command) in [
                format!("{dbops} -q migrate up --source {} > /dev/null", dir.display()),
                format!(
                    "for f in {}/*.up.sql; do {bin}/psql -X -q -v ON_ERROR_STOP=1 -1 -f \"$f\"; done",
                    dir.display()
                ),
                dbmate.as_ref().map_or(String::new(), |m| {
                    format!(
                        "{} --no-dump-schema --migrations-dir {}/dbmate up > /dev/null",
                        m.display(),
                        dir.display()
                    )
                }),
            ]
            .into_iter()
            .enumerate()
            {
                if command.is_empty() {
                    continue;
                }
                let name = format!("migrate_{n}_{round}_{tool}");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .map_err(sql)?;
                let url = tcp.with_database(&name).with_param("sslmode", "disable");
                let run = measure(&command, &url, &[("DATABASE_URL", url.expose())]);
                times[tool].push(run.secs);
                rss[tool] = rss[tool].max(run.rss_mb);
                admin
                    .batch_execute(&format!("DROP DATABASE {name}"))
                    .await
                    .map_err(sql)?;
            }
        }
        let [ours, psql, mate] = times.map(|t| (!t.is_empty()).then(|| median(t)));
        let (ours, psql) = (ours.unwrap_or(f64::NAN), psql.unwrap_or(f64::NAN));
        eprintln!("{n} migrations: dbops {ours:.2} s, psql {psql:.2} s, dbmate {mate:?}");
        println!(
            "| {n} | {ours:.2} s | {psql:.2} s | {} | {:.1}x | {} |",
            mate.map_or("not installed".to_string(), |m| format!("{m:.2} s")),
            psql / ours,
            mate.map_or("-".to_string(), |m| format!("{:.1}x", m / ours)),
        );
        for (tool, label, secs) in [
            (0, "dbops", Some(ours)),
            (1, "psql -f per file", Some(psql)),
            (2, "dbmate", mate),
        ] {
            if let Some(secs) = secs {
                let _ = writeln!(csv, "migrate,{n},{label},{secs:.3},{:.1},,,", rss[tool]);
            }
        }
    }
    println!();

    if let Some(parent) = csv_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io("mkdir", parent, e))?;
    }
    std::fs::write(&csv_path, csv).map_err(|e| io("writing the CSV", &csv_path, e))?;
    eprintln!("wrote {}", csv_path.display());
    cluster.stop().await?;
    Ok(())
}
