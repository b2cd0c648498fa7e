//! criterion micro-benchmarks of the hot paths: the migration statement splitter, loading and linting
//! a migration of 100,000 statements, the WAL/backup
//! encoding pipeline (zstd, optionally age) into `memory://`, and seed row generation.
//! `cargo bench -p dbops-benches --bench hot_paths` (CI runs it with `-- --test` so it keeps compiling).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn splitter(c: &mut Criterion) {
    let text: String = dbops_benches::up_migrations()
        .into_iter()
        .map(|(_, sql)| sql)
        .collect::<Vec<_>>()
        .join("\n");
    let mut group = c.benchmark_group("sql_split");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("reference migrations", |b| {
        b.iter(|| dbops::migrate::sql::split(&text))
    });
    group.finish();
}

/// A data migration of 100,000 INSERTs loaded from its directory (what a service does at startup)
/// and linted: both once quadratic in the number of statements.
fn large_migration(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut up = String::from("CREATE TABLE IF NOT EXISTS points (id int, note text);\n");
    for i in 0..100_000 {
        up.push_str(&format!(
            "INSERT INTO points VALUES ({i}, 'point ; {i}');\n"
        ));
    }
    std::fs::write(dir.path().join("000001_points.up.sql"), &up).expect("write");
    std::fs::write(
        dir.path().join("000001_points.down.sql"),
        "DROP TABLE IF EXISTS points;",
    )
    .expect("write");
    let mut group = c.benchmark_group("migration_100k_statements");
    group.sample_size(10);
    group.bench_function("load", |b| {
        b.iter(|| dbops::MigrationSource::from_dir(dir.path()).expect("load"))
    });
    let source = dbops::MigrationSource::from_dir(dir.path()).expect("load");
    group.bench_function("lint", |b| b.iter(|| dbops::migrate::lint::check(&source)));
    group.finish();
}

/// A 16 MB WAL segment with a valid header and ride-like content.
fn segment(dir: &std::path::Path, segno: u64) -> std::path::PathBuf {
    let size = 16usize << 20;
    let mut data = Vec::with_capacity(size);
    let mut i = 0u64;
    while data.len() < size {
        data.extend_from_slice(
            format!(
                "ride {i} rider {:032x} fare {} ",
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                i % 5000
            )
            .as_bytes(),
        );
        i += 1;
    }
    data.truncate(size);
    data[0..2].copy_from_slice(&0xD110u16.to_le_bytes());
    data[2..4].copy_from_slice(&2u16.to_le_bytes());
    data[8..16].copy_from_slice(&(segno * size as u64).to_le_bytes());
    data[32..36].copy_from_slice(&(size as u32).to_le_bytes());
    let path = dir.join(dbops::pitr::segment_name(1, segno, size as u64));
    std::fs::write(&path, data).expect("write segment");
    path
}

fn pipeline(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = segment(dir.path(), 3);
    let keys = dbops::backup::generate_key_pair();
    let mut group = c.benchmark_group("wal_push_memory");
    group.throughput(Throughput::Bytes(16 << 20));
    group.sample_size(10);
    for (label, encryption) in [
        ("zstd1", dbops::backup::Encryption::None),
        (
            "zstd1+age",
            dbops::backup::Encryption::Recipients(vec![keys.recipient.clone()]),
        ),
    ] {
        let options = dbops::pitr::PitrOptions::default().with_encryption(encryption);
        group.bench_function(label, |b| {
            b.iter(|| {
                // A fresh store per push: every iteration compresses, encrypts and stores.
                let store = dbops::ObjectBackupStore::open(&format!("memory://{}", uuid_like()))
                    .expect("store");
                runtime
                    .block_on(dbops::pitr::push(&store, &path, &options))
                    .expect("push")
            })
        });
    }
    group.finish();
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("bench-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn generator(c: &mut Criterion) {
    let generator =
        dbops::seed::Generator::new(dbops::Profile::Heavy, 1, 42, dbops::seed::Bases::default());
    let mut group = c.benchmark_group("seed_generator");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000 rides", |b| {
        b.iter(|| {
            for i in 0..1000 {
                std::hint::black_box(generator.ride(i));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, splitter, large_migration, pipeline, generator);
criterion_main!(benches);
