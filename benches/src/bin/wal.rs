//! WAL archiving: `dbops wal push` as archive_command (a new process per segment, as PostgreSQL runs
//! it) vs a bash archive_command with gzip and cp, on real 16 MB segments written by a cluster running
//! an insert-heavy workload; and `dbops wal fetch` (restore_command) with and without prefetch.
//!
//! Run: `cargo build --release -p dbops-cli --bin dbops && cargo run --release -p dbops-benches --bin wal [SEGMENTS]`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use dbops::TempCluster;
use dbops_benches::{dbops_binary, median};

fn run(script: &str) -> f64 {
    let started = Instant::now();
    let status = Command::new("bash")
        .arg("-c")
        .arg(script)
        .status()
        .expect("bash");
    assert!(status.success(), "`{script}` failed");
    started.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> dbops::Result<()> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let dbops = dbops_binary();
    let work = tempfile::tempdir().map_err(|e| dbops::Error::io("tempdir", "/tmp", e))?;
    let raw = work.path().join("raw");
    std::fs::create_dir(&raw).map_err(|e| dbops::Error::io("mkdir", &raw, e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o777));
        let _ = std::fs::set_permissions(&raw, std::fs::Permissions::from_mode(0o777));
    }
    // Real segments: a cluster whose archive_command copies them aside.
    let cluster = TempCluster::builder()
        .archive_command(format!("cp %p {}/%f", raw.display()))
        .start()
        .await?;
    let client = cluster.url().connect().await?;
    client
        .batch_execute("CREATE TABLE rides (id bigserial, rider uuid, fare int, note text)")
        .await
        .map_err(|e| dbops::Error::postgres("create", e))?;
    while std::fs::read_dir(&raw).map(|d| d.count()).unwrap_or(0) < count {
        client
            .batch_execute("INSERT INTO rides (rider, fare, note) SELECT gen_random_uuid(), (random()*5000)::int, md5(random()::text) FROM generate_series(1, 50000); SELECT pg_switch_wal();")
            .await
            .map_err(|e| dbops::Error::postgres("load", e))?;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    cluster.stop().await?;
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&raw)
        .map_err(|e| dbops::Error::io("list", &raw, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.len() == 24))
        .collect();
    segments.sort();
    segments.truncate(count);
    let seg_bytes = std::fs::metadata(&segments[0])
        .map(|m| m.len())
        .unwrap_or(0);

    let ours = work.path().join("dbops-archive");
    let theirs = work.path().join("bash-archive");
    std::fs::create_dir(&theirs).map_err(|e| dbops::Error::io("mkdir", &theirs, e))?;
    let (mut t_ours, mut t_theirs) = (Vec::new(), Vec::new());
    for seg in &segments {
        let name = seg
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        t_ours.push(run(&format!(
            "{} -q wal push --store file://{} {}",
            dbops.display(),
            ours.display(),
            seg.display()
        )));
        t_theirs.push(run(&format!(
            "test ! -f {dir}/{name}.gz && gzip -c {p} > {dir}/{name}.gz.tmp && mv {dir}/{name}.gz.tmp {dir}/{name}.gz",
            dir = theirs.display(),
            p = seg.display()
        )));
    }
    let size = |dir: &Path| -> u64 {
        walk(dir)
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum()
    };
    println!(
        "{count} real segments of {} MB from an insert workload (uuids, md5 text), one process per segment.",
        seg_bytes >> 20
    );
    println!();
    println!("| archive_command | median per segment | p90 | archive size |");
    println!("|---|---|---|---|");
    let p90 = |v: &Vec<f64>| {
        let mut s = v.clone();
        s.sort_by(|a, b| a.total_cmp(b));
        s[(s.len() * 9 / 10).min(s.len() - 1)]
    };
    println!(
        "| `dbops wal push` (zstd 1, header check, sha256, create-only) | {:.1} ms | {:.1} ms | {:.1} MB |",
        median(t_ours.clone()),
        p90(&t_ours),
        size(&ours) as f64 / 1e6
    );
    println!(
        "| `gzip -c %p > dir/%f.gz` + mv (bash) | {:.1} ms | {:.1} ms | {:.1} MB |",
        median(t_theirs.clone()),
        p90(&t_theirs),
        size(&theirs) as f64 / 1e6
    );
    println!();

    // Fetch: every segment in order, as recovery asks, without and with prefetch.
    let (mut plain, mut pre) = (Vec::new(), Vec::new());
    for (label, prefetch, out) in [
        ("no prefetch", 0, &mut plain),
        ("prefetch 8", 8, out_ref(&mut pre)),
    ] {
        let dest_dir = work.path().join(format!("pg_wal_{prefetch}"));
        std::fs::create_dir_all(&dest_dir).map_err(|e| dbops::Error::io("mkdir", &dest_dir, e))?;
        let started = Instant::now();
        for seg in &segments {
            let name = seg
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            out.push(run(&format!(
                "{} -q wal fetch --prefetch {prefetch} --store file://{} {name} {}/RECOVERYXLOG",
                dbops.display(),
                ours.display(),
                dest_dir.display()
            )));
        }
        eprintln!(
            "{label}: {:.0} ms for {count} segments",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    println!("| restore_command | median per segment | total for {count} segments |");
    println!("|---|---|---|");
    println!(
        "| `dbops wal fetch --prefetch 0` | {:.1} ms | {:.0} ms |",
        median(plain.clone()),
        plain.iter().sum::<f64>()
    );
    println!(
        "| `dbops wal fetch` (prefetch 8, default) | {:.1} ms | {:.0} ms |",
        median(pre.clone()),
        pre.iter().sum::<f64>()
    );
    Ok(())
}

fn out_ref(v: &mut Vec<f64>) -> &mut Vec<f64> {
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
