//! Backup and restore: `dbops backup` / `dbops restore` (the CLI, as users run it) side by side with
//! `pg_dump | gzip` and `gunzip | psql` (the replaced scripts), `pg_dump -Fc`, `pg_dump -Fc -Z0 | zstd -1`
//! and `pg_restore -j2`, on a realistic ride-hailing database made by the seeder (heavy profile at
//! `--scale`), alternating tools in each round. Peak RSS is the largest process of each command's tree
//! (from `wait4`).
//!
//! Run: `cargo build --release -p dbops-cli --bin dbops && cargo run --release -p dbops-benches --bin backup [SCALE] [ROUNDS]`
//! (defaults: scale 100, 3 rounds)

use std::path::PathBuf;
use std::process::Command;

use dbops_benches::{HeavyDatabase, dbops_binary, heavy_database, measure, median, size_of};

#[tokio::main]
async fn main() -> dbops::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let scale = args.first().copied().unwrap_or(100);
    let rounds = args.get(1).copied().unwrap_or(3) as usize;
    let dbops = dbops_binary();
    let HeavyDatabase {
        cluster,
        url,
        rows,
        bytes: db_bytes,
    } = heavy_database(scale).await?;
    let client = url.connect().await?;

    // moto on loopback, for the S3 row (killed when this process exits).
    let moto_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| dbops::Error::io("picking a port", "127.0.0.1", e))?;
    let mut moto = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            dbops::Error::io(
                "starting moto_server (run scripts/install-deps.sh)",
                "moto_server",
                e,
            )
        })?;
    while std::net::TcpStream::connect(("127.0.0.1", moto_port)).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let created = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            &format!("http://127.0.0.1:{moto_port}/bench"),
        ])
        .status()
        .map_err(|e| dbops::Error::io("creating the bucket with curl", "curl", e))?;
    assert!(created.success(), "could not create the moto bucket");
    let bin = cluster.binaries().bin_dir().display().to_string();
    let dir = tempfile::tempdir().map_err(|e| dbops::Error::io("tempdir", "/tmp", e))?;
    let d = dir.path().display().to_string();
    let raw = url.expose();
    let backups: Vec<(&str, String, PathBuf)> = vec![
        (
            "dbops backup (default: tables format, binary rows, zstd 1, jobs = CPUs)",
            format!("{} -q backup --store file://{d}/dbops", dbops.display()),
            dir.path().join("dbops"),
        ),
        (
            "dbops backup --copy-format text",
            format!(
                "{} -q backup --copy-format text --store file://{d}/dbopstext",
                dbops.display()
            ),
            dir.path().join("dbopstext"),
        ),
        (
            "dbops backup --format custom (the previous default)",
            format!(
                "{} -q backup --format custom --store file://{d}/dbopscustom",
                dbops.display()
            ),
            dir.path().join("dbopscustom"),
        ),
        (
            "dbops backup --level 3",
            format!(
                "{} -q backup --level 3 --store file://{d}/dbops3",
                dbops.display()
            ),
            dir.path().join("dbops3"),
        ),
        (
            "dbops backup --level 6 --threads 2",
            format!(
                "{} -q backup --level 6 --threads 2 --store file://{d}/dbops6",
                dbops.display()
            ),
            dir.path().join("dbops6"),
        ),
        (
            "dbops backup + age encryption",
            format!(
                "{} -q backup --recipient {} --store file://{d}/dbopsage",
                dbops.display(),
                dbops::backup::generate_key_pair().recipient
            ),
            dir.path().join("dbopsage"),
        ),
        (
            "dbops backup to S3 (moto on loopback)",
            format!(
                "{} -q backup --store s3://bench/x --store-option aws_endpoint=http://127.0.0.1:{{moto}} --store-option aws_allow_http=true --store-option aws_access_key_id=k --store-option aws_secret_access_key=s --store-option aws_region=us-east-1",
                dbops.display()
            ),
            dir.path().join("none"),
        ),
        (
            "pg_dump \\| gzip (original script)",
            format!("{bin}/pg_dump | gzip > {d}/plain.sql.gz"),
            dir.path().join("plain.sql.gz"),
        ),
        (
            "pg_dump -Fc",
            format!("{bin}/pg_dump -Fc -f {d}/custom.dump"),
            dir.path().join("custom.dump"),
        ),
        (
            "pg_dump -Fc -Z0 \\| zstd -1",
            format!("{bin}/pg_dump -Fc -Z0 | zstd -q -1 > {d}/custom.dump.zst"),
            dir.path().join("custom.dump.zst"),
        ),
    ];
    let mut times = vec![Vec::new(); backups.len()];
    let mut rss = vec![0f64; backups.len()];
    let mut sizes = vec![0u64; backups.len()];
    for round in 0..rounds {
        for (i, (name, script, output)) in backups.iter().enumerate() {
            let _ = std::fs::remove_dir_all(output);
            let _ = std::fs::remove_file(output);
            let script = script.replace("{moto}", &moto_port.to_string());
            let run = measure(&script, &url, &[("DATABASE_URL", raw.clone())]);
            eprintln!("round {round}: {name}: {:.2}s", run.secs);
            times[i].push(run.secs);
            rss[i] = rss[i].max(run.rss_mb);
            sizes[i] = size_of(output);
        }
    }
    let gzip_at = backups
        .iter()
        .position(|(n, _, _)| n.starts_with("pg_dump \\| gzip"))
        .unwrap_or(0);
    let gzip = median(times[gzip_at].clone());
    let mb = db_bytes as f64 / 1e6;
    println!(
        "Database: heavy profile at scale {scale}: {} rows, {mb:.0} MB on disk (`pg_database_size`). {rounds} rounds.",
        rows
    );
    println!();
    println!(
        "| backup | median | MB/s of database | output | vs `pg_dump \\| gzip` time | peak RSS |"
    );
    println!("|---|---|---|---|---|---|");
    for (i, (name, _, _)) in backups.iter().enumerate() {
        let t = median(times[i].clone());
        let size = if sizes[i] == 0 {
            "as above".to_string()
        } else {
            format!("{:.1} MB", sizes[i] as f64 / 1e6)
        };
        println!(
            "| {name} | {t:.2} s | {:.0} | {size} | {:.2}x faster | {:.0} MB |",
            mb / t,
            gzip / t,
            rss[i]
        );
    }
    println!();

    // Restores into fresh databases, alternating; every restored database is checked against the
    // source (row counts and a checksum of every table) before it is dropped.
    let source = dbops_benches::table_fingerprints(&url).await?;
    let dbops_bin = dbops.display().to_string();
    let psql = format!("{bin}/psql -q -X -v ON_ERROR_STOP=1");
    let restores: Vec<(&str, String)> = vec![
        (
            "dbops restore (tables format, binary rows, default jobs, verified, ANALYZE)",
            format!(
                "{dbops_bin} -q restore --store file://{d}/dbops --from-database ridehailing --into {{db}} --create"
            ),
        ),
        (
            "dbops restore of a --copy-format text backup (verified, ANALYZE)",
            format!(
                "{dbops_bin} -q restore --store file://{d}/dbopstext --from-database ridehailing --into {{db}} --create"
            ),
        ),
        (
            "dbops restore --no-analyze",
            format!(
                "{dbops_bin} -q restore --no-analyze --store file://{d}/dbops --from-database ridehailing --into {{db}} --create"
            ),
        ),
        (
            "dbops restore -j1 (one connection, one transaction, ANALYZE)",
            format!(
                "{dbops_bin} -q restore -j1 --store file://{d}/dbops --from-database ridehailing --into {{db}} --create"
            ),
        ),
        (
            "dbops restore of a custom-format backup (the previous default, ANALYZE)",
            format!(
                "{dbops_bin} -q restore --store file://{d}/dbopscustom --from-database ridehailing --into {{db}} --create"
            ),
        ),
        (
            "gunzip \\| psql (original script)",
            format!(
                "{bin}/createdb {{db}} && gunzip < {d}/plain.sql.gz | {psql} -d {{db}} > /dev/null"
            ),
        ),
        (
            "gunzip \\| psql, then ANALYZE",
            format!(
                "{bin}/createdb {{db}} && gunzip < {d}/plain.sql.gz | {psql} -d {{db}} > /dev/null && {psql} -d {{db}} -c ANALYZE"
            ),
        ),
        (
            "pg_restore -j2 (from pg_dump -Fc)",
            format!("{bin}/createdb {{db}} && {bin}/pg_restore -j2 -d {{db}} {d}/custom.dump"),
        ),
        (
            "pg_restore -j2, then ANALYZE",
            format!(
                "{bin}/createdb {{db}} && {bin}/pg_restore -j2 -d {{db}} {d}/custom.dump && {psql} -d {{db}} -c ANALYZE"
            ),
        ),
    ];
    let mut rtimes = vec![Vec::new(); restores.len()];
    let mut rrss = vec![0f64; restores.len()];
    for round in 0..rounds {
        for (i, (name, script)) in restores.iter().enumerate() {
            let db = format!("restored_{i}_{round}");
            let run = measure(
                &script.replace("{db}", &db),
                &url,
                &[("DATABASE_URL", raw.clone())],
            );
            eprintln!("round {round}: {name}: {:.2}s", run.secs);
            rtimes[i].push(run.secs);
            rrss[i] = rrss[i].max(run.rss_mb);
            dbops_benches::assert_same_data(&source, &url.with_database(&db), name).await;
            client
                .batch_execute(&format!("DROP DATABASE {db}"))
                .await
                .map_err(|e| dbops::Error::postgres("drop", e))?;
        }
    }
    let gunzip_at = restores
        .iter()
        .position(|(n, _)| n.starts_with("gunzip"))
        .unwrap_or(0);
    let gunzip = median(rtimes[gunzip_at].clone());
    println!("| restore | median | rounds | vs `gunzip \\| psql` | peak RSS |");
    println!("|---|---|---|---|---|");
    for (i, (name, _)) in restores.iter().enumerate() {
        let t = median(rtimes[i].clone());
        let all: Vec<String> = rtimes[i].iter().map(|s| format!("{s:.1}")).collect();
        println!(
            "| {name} | {t:.2} s | {} | {:.2}x faster | {:.0} MB |",
            all.join(" / "),
            gunzip / t,
            rrss[i]
        );
    }
    let _ = moto.kill();
    let _ = moto.wait();
    cluster.stop().await?;
    Ok(())
}
