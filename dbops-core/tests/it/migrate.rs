//! The migrator against real PostgreSQL: the reference schema, golang-migrate compatibility,
//! concurrency, failures (transactional and not), crashes, drift.

use crate::support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{empty_databases, helper, is_helper, scalar_i64};
use dbops::migrate::{ChecksumPolicy, MigrationState};
use dbops::{
    DownSteps, Error, MigrateOptions, MigrationSource, Migrator, PgMigrator, TestDatabase,
};

fn reference() -> MigrationSource {
    MigrationSource::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
        .unwrap()
}

fn files(list: &[(&str, &str)]) -> MigrationSource {
    MigrationSource::from_files(
        "test",
        list.iter().map(|(n, s)| (n.to_string(), s.to_string())),
    )
    .unwrap()
}

async fn fresh() -> TestDatabase {
    empty_databases().await.create().await.unwrap()
}

async fn table_exists(db: &TestDatabase, name: &str) -> bool {
    let client = db.connect().await.unwrap();
    scalar_i64(
        &client,
        &format!("SELECT count(*) FROM pg_class WHERE relname = '{name}'"),
    )
    .await
        == 1
}

#[tokio::test]
async fn reference_schema_goes_up_down_and_up_again() {
    let db = fresh().await;
    let migrator = PgMigrator::new(db.url().clone(), reference());
    let report = migrator.up(None).await.unwrap();
    assert_eq!(report.from, None);
    assert_eq!(report.to, Some(8));
    assert_eq!(report.applied.len(), 8);
    assert!(
        !report.applied[6].transactional,
        "CONCURRENTLY indexes run outside a transaction"
    );
    assert!(report.applied[0].transactional);
    let state = migrator.version().await.unwrap().unwrap();
    assert_eq!((state.version, state.dirty), (8, false));
    assert!(table_exists(&db, "eta_predictions").await);
    assert!(table_exists(&db, "drivers_available_idx").await);

    let again = migrator.up(None).await.unwrap();
    assert!(again.applied.is_empty(), "second up must be a no-op");

    let down = migrator.down(DownSteps::Count(3)).await.unwrap();
    assert_eq!(down.to, Some(5));
    assert!(!table_exists(&db, "eta_predictions").await);
    let status = migrator.status().await.unwrap();
    assert_eq!(
        status
            .iter()
            .filter(|s| s.state == MigrationState::Pending)
            .count(),
        3
    );

    migrator.goto(3).await.unwrap();
    assert_eq!(migrator.version().await.unwrap().unwrap().version, 3);
    migrator.down(DownSteps::All).await.unwrap();
    assert_eq!(migrator.version().await.unwrap(), None);
    assert!(!table_exists(&db, "users").await);
    let client = db.connect().await.unwrap();
    assert_eq!(
        scalar_i64(&client, "SELECT count(*) FROM schema_migrations").await,
        0,
        "golang-migrate keeps no row at nil version"
    );
    migrator.up(None).await.unwrap();
    assert_eq!(migrator.version().await.unwrap().unwrap().version, 8);
}

#[tokio::test]
async fn picks_up_a_golang_migrate_database_and_its_dirty_state() {
    let db = fresh().await;
    let client = db.connect().await.unwrap();
    let source = reference();
    // What golang-migrate leaves after `migrate up 3`: its table, one row, no history of ours.
    for m in &source.migrations()[..3] {
        client.batch_execute(&m.up.sql).await.unwrap();
    }
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null);
             INSERT INTO schema_migrations VALUES (3, false);",
        )
        .await
        .unwrap();
    let migrator = PgMigrator::new(db.url().clone(), source);
    let report = migrator.up(Some(5)).await.unwrap();
    assert_eq!(
        (report.from, report.to, report.applied.len()),
        (Some(3), Some(5), 2)
    );
    assert_eq!(
        scalar_i64(&client, "SELECT count(*) FROM schema_migrations").await,
        1
    );
    assert_eq!(
        scalar_i64(&client, "SELECT version FROM schema_migrations").await,
        5
    );

    // golang-migrate marks a failed migration dirty.
    client
        .batch_execute("UPDATE schema_migrations SET version = 6, dirty = true")
        .await
        .unwrap();
    let err = migrator.up(None).await.unwrap_err();
    assert!(matches!(err, Error::Dirty { version: 6, .. }), "{err:?}");
    let text = dbops::error::report(&err);
    assert!(text.contains("dbops migrate force 6"), "{text}");
    migrator.force(Some(5)).await.unwrap();
    assert_eq!(migrator.up(None).await.unwrap().to, Some(8));
}

#[tokio::test]
async fn twenty_concurrent_migrators_apply_each_migration_once() {
    let db = fresh().await;
    let source = reference();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let migrator = PgMigrator::new(db.url().clone(), source.clone());
        tasks.push(tokio::spawn(async move { migrator.up(None).await }));
    }
    let mut applied = 0;
    for task in tasks {
        let report = task.await.unwrap().expect("every migrator succeeds");
        assert_eq!(report.to, Some(8));
        applied += report.applied.len();
    }
    assert_eq!(applied, 8, "each migration applied exactly once in total");
    let client = db.connect().await.unwrap();
    assert_eq!(
        scalar_i64(
            &client,
            "SELECT count(*) FROM dbops_migration_history WHERE direction = 'up'"
        )
        .await,
        8
    );
}

#[tokio::test]
async fn four_processes_race_and_one_applies() {
    if is_helper("racing-migrator") {
        let url = dbops::DatabaseUrl::parse(&std::env::var("DB_URL").unwrap()).unwrap();
        let report = PgMigrator::new(url, reference()).up(None).await.unwrap();
        println!("APPLIED {}", report.applied.len());
        return;
    }
    let db = fresh().await;
    let children: Vec<_> = (0..4)
        .map(|_| {
            helper(
                "migrate::four_processes_race_and_one_applies",
                "racing-migrator",
                &[("DB_URL", db.url().expose())],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    let mut total = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let n: usize = text
            .split("APPLIED ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        total += n;
    }
    assert_eq!(total, 8);
}

#[tokio::test]
async fn a_failing_transactional_migration_leaves_nothing() {
    let db = fresh().await;
    let source = files(&[
        ("1_a.up.sql", "CREATE TABLE a (id int);"),
        ("1_a.down.sql", "DROP TABLE a;"),
        (
            "2_b.up.sql",
            "CREATE TABLE b (id int);\n\nINSERT INTO b VALUES (1);\nSELECT *\n  FROM missing_table;",
        ),
        ("2_b.down.sql", "DROP TABLE b;"),
    ]);
    let migrator = PgMigrator::new(db.url().clone(), source);
    let err = migrator.up(None).await.unwrap_err();
    let text = dbops::error::report(&err);
    assert!(
        matches!(
            err,
            Error::MigrationFailed {
                version: 2,
                line: 5,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("2_b.up.sql")
            && text.contains("missing_table")
            && text.contains("nothing was changed"),
        "{text}"
    );
    let state = migrator.version().await.unwrap().unwrap();
    assert_eq!((state.version, state.dirty), (1, false));
    assert!(
        !table_exists(&db, "b").await,
        "the failed migration's first statement was rolled back"
    );
}

#[tokio::test]
async fn a_failing_non_transactional_migration_is_dirty_and_says_how_to_recover() {
    let db = fresh().await;
    let source = files(&[
        ("1_a.up.sql", "CREATE TABLE a (id int);"),
        (
            "2_b.up.sql",
            "CREATE INDEX CONCURRENTLY a_id ON a (id);\nCREATE INDEX CONCURRENTLY bad ON nope (x);",
        ),
    ]);
    let migrator = PgMigrator::new(db.url().clone(), source);
    let err = migrator.up(None).await.unwrap_err();
    let text = dbops::error::report(&err);
    assert!(
        text.contains("marked dirty at version 2") && text.contains("dbops migrate force"),
        "{text}"
    );
    let state = migrator.version().await.unwrap().unwrap();
    assert_eq!((state.version, state.dirty), (2, true));
    assert!(
        table_exists(&db, "a_id").await,
        "the statement before the failure stays applied"
    );
    // The lock was released with the failed connection: another migrator can run immediately.
    let status = migrator.status().await.unwrap();
    assert_eq!(status[1].state, MigrationState::Dirty);
}

#[tokio::test]
async fn killed_during_a_transactional_migration_leaves_the_old_state() {
    if is_helper("slow-migrator") {
        let url = dbops::DatabaseUrl::parse(&std::env::var("DB_URL").unwrap()).unwrap();
        let source = files(&[(
            "1_slow.up.sql",
            "CREATE TABLE slow (id int); SELECT pg_sleep(60);",
        )]);
        let _ = PgMigrator::new(url, source).up(None).await;
        return;
    }
    let db = fresh().await;
    let mut child = helper(
        "migrate::killed_during_a_transactional_migration_leaves_the_old_state",
        "slow-migrator",
        &[("DB_URL", db.url().expose())],
    )
    .spawn()
    .unwrap();
    let admin = db.connect().await.unwrap();
    let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND datname = current_database() AND pid <> pg_backend_pid()";
    for _ in 0..500 {
        if scalar_i64(&admin, sleeping).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The server notices the lost client when the statement ends; end it now.
    admin
        .batch_execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND datname = current_database() AND pid <> pg_backend_pid()")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !table_exists(&db, "slow").await,
        "a killed transactional migration left its table"
    );
    let source = files(&[("1_slow.up.sql", "CREATE TABLE slow (id int);")]);
    let migrator = PgMigrator::new(db.url().clone(), source)
        .options(MigrateOptions::default().with_lock_wait(Duration::from_secs(5)));
    assert_eq!(
        migrator.version().await.unwrap().map(|s| s.dirty),
        Some(true).filter(|_| false)
    );
    assert_eq!(
        migrator.up(None).await.unwrap().to,
        Some(1),
        "lock and state were left clean"
    );
}

#[tokio::test]
async fn changed_files_are_reported_and_refused_in_strict_mode() {
    let db = fresh().await;
    let v1 = files(&[("1_a.up.sql", "CREATE TABLE a (id int);")]);
    PgMigrator::new(db.url().clone(), v1)
        .up(None)
        .await
        .unwrap();
    let v2 = files(&[("1_a.up.sql", "CREATE TABLE a (id bigint);")]);
    let lenient = PgMigrator::new(db.url().clone(), v2.clone());
    let report = lenient.up(None).await.unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("changed after it was applied")),
        "{:?}",
        report.warnings
    );
    assert_eq!(
        lenient.status().await.unwrap()[0].state,
        MigrationState::Changed
    );
    let strict = PgMigrator::new(db.url().clone(), v2)
        .options(MigrateOptions::default().with_checksums(ChecksumPolicy::Error));
    let err = strict.up(None).await.unwrap_err();
    assert!(
        matches!(err, Error::ChecksumMismatch { version: 1, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn holds_golang_migrates_advisory_lock() {
    let db = fresh().await;
    let source = files(&[(
        "1_slow.up.sql",
        "CREATE TABLE s (id int); SELECT pg_sleep(1);",
    )]);
    let migrator = Arc::new(PgMigrator::new(db.url().clone(), source));
    let running = {
        let migrator = migrator.clone();
        tokio::spawn(async move { migrator.up(None).await })
    };
    let admin = db.connect().await.unwrap();
    let database = db.name().to_string();
    let expected = i64::from(crc32fast_reference(&format!(
        "public\0schema_migrations\0{database}"
    )));
    let mut seen = false;
    for _ in 0..200 {
        let n = scalar_i64(
            &admin,
            &format!(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND \
                 ((classid::bigint << 32) | objid::bigint) = {expected}"
            ),
        )
        .await;
        if n == 1 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.await.unwrap().unwrap();
    assert!(
        seen,
        "advisory lock {expected} (golang-migrate's id) was never held"
    );
}

/// CRC-32 (IEEE) times golang-migrate's salt, computed bit by bit (independent of the library).
fn crc32fast_reference(text: &str) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in text.bytes() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    (!crc).wrapping_mul(1_486_364_155)
}

#[test]
fn bad_sources_are_clear_errors() {
    let bad = |list: &[(&str, &str)]| {
        let err = MigrationSource::from_files(
            "dir",
            list.iter().map(|(n, s)| (n.to_string(), s.to_string())),
        )
        .unwrap_err();
        dbops::error::report(&err)
    };
    assert!(bad(&[("create_users.up.sql", "SELECT 1")]).contains("numeric version"));
    assert!(
        bad(&[("1_a.up.sql", "SELECT 1"), ("001_b.up.sql", "SELECT 1")]).contains("also used by")
    );
    assert!(bad(&[("1_a.up.sql", "-- nothing\n")]).contains("is empty"));
    assert!(bad(&[("2_a.down.sql", "SELECT 1")]).contains("no matching up"));
    assert!(bad(&[("1_a.sideways.sql", "SELECT 1")]).contains("1_a.sideways.sql"));
    let lenient = MigrationSource::from_files("dir", [("1_a.up.sql", "SELECT 1")]).unwrap();
    assert_eq!(lenient.warnings().len(), 1);
    assert!(
        lenient
            .validate(dbops::migrate::Strictness::Strict)
            .is_err()
    );
}

#[tokio::test]
async fn reference_schema_passes_verify_and_lint() {
    let cluster = support::cluster().await;
    let report = dbops::migrate::verify(&cluster.url(), &reference(), &Default::default())
        .await
        .unwrap();
    assert_eq!(report.migrations.len(), 8);
    for m in &report.migrations {
        assert!(
            matches!(m.round_trip, dbops::migrate::RoundTrip::Identical),
            "{} {:?}",
            m.version,
            m.round_trip
        );
    }
    assert!(report.passed());
    // The reference schema takes no lock it should not; its bigserial and char(3) columns are hints.
    let findings = dbops::migrate::lint::check(&reference());
    let serious: Vec<_> = findings
        .iter()
        .filter(|f| f.severity > dbops::migrate::lint::Severity::Hint)
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
}

/// A migration check leaves no database behind: neither its scratch database nor its template.
#[tokio::test]
async fn verify_leaves_no_database_behind() {
    let cluster = dbops::TempCluster::builder()
        .in_memory(true)
        .start()
        .await
        .unwrap();
    let databases = || async {
        let client = cluster.url().connect().await.unwrap();
        let rows = client
            .query("SELECT datname::text FROM pg_database ORDER BY 1", &[])
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
    };
    let before = databases().await;
    let report = dbops::migrate::verify(&cluster.url(), &reference(), &Default::default())
        .await
        .unwrap();
    assert!(report.passed());
    assert_eq!(databases().await, before);
}

#[tokio::test]
async fn verify_reports_an_incomplete_down_exactly() {
    let cluster = support::cluster().await;
    let source = files(&[
        (
            "1_a.up.sql",
            "CREATE TABLE a (id int PRIMARY KEY, note text DEFAULT 'x');",
        ),
        ("1_a.down.sql", "DROP TABLE a;"),
        (
            "2_b.up.sql",
            "ALTER TABLE a ADD COLUMN extra int; CREATE INDEX a_note ON a (note);",
        ),
        ("2_b.down.sql", "ALTER TABLE a DROP COLUMN extra;"),
    ]);
    let report = dbops::migrate::verify(&cluster.url(), &source, &Default::default())
        .await
        .unwrap();
    assert!(!report.passed());
    assert!(matches!(
        report.migrations[0].round_trip,
        dbops::migrate::RoundTrip::Identical
    ));
    let dbops::migrate::RoundTrip::Differs {
        changes,
        reapply_error,
    } = &report.migrations[1].round_trip
    else {
        panic!(
            "migration 2's down forgot the index: {:?}",
            report.migrations[1].round_trip
        )
    };
    let text: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(text.len(), 1, "{text:?}");
    assert!(text[0].starts_with("+ index a_note"), "{text:?}");
    assert!(
        reapply_error
            .as_deref()
            .is_some_and(|e| e.contains("already exists")),
        "{reapply_error:?}"
    );
}

#[test]
fn lint_rules_fire_and_can_be_silenced() {
    let source = files(&[
        (
            "1_a.up.sql",
            "CREATE TABLE IF NOT EXISTS a (id int);\nCREATE INDEX IF NOT EXISTS a_id ON a (id);",
        ),
        ("1_a.down.sql", "DROP TABLE IF EXISTS a;"),
        (
            "2_b.up.sql",
            "CREATE INDEX IF NOT EXISTS a_id2 ON a (id);\nALTER TABLE a ADD COLUMN n int NOT NULL;\nALTER TABLE a ALTER COLUMN id TYPE bigint;\n-- dbops:allow data-change\nINSERT INTO a VALUES (1);\nUPDATE a SET id = 2;\nDROP TABLE a;\nCREATE TABLE b (x int);",
        ),
    ]);
    let findings = dbops::migrate::lint::check(&source);
    let rules: Vec<(&str, usize)> = findings.iter().map(|f| (f.rule, f.line)).collect();
    assert!(rules.contains(&("index-not-concurrent", 1)), "{rules:?}");
    assert!(
        rules.contains(&("not-null-without-default", 2)),
        "{rules:?}"
    );
    assert!(rules.contains(&("column-type-change", 3)), "{rules:?}");
    assert!(rules.contains(&("data-change", 6)), "{rules:?}");
    assert!(
        !rules.contains(&("data-change", 5)),
        "silenced statement still reported: {rules:?}"
    );
    assert!(rules.contains(&("drop-without-down", 7)), "{rules:?}");
    assert!(rules.contains(&("missing-if-exists", 8)), "{rules:?}");
    assert!(rules.contains(&("missing-down", 1)), "{rules:?}");
    assert!(
        !rules.iter().any(|(r, _)| *r == "index-not-concurrent"
            && findings
                .iter()
                .any(|f| f.file == "1_a.up.sql" && f.rule == *r)),
        "index on a table created in the same migration is fine"
    );
}

#[test]
fn create_writes_the_next_pair() {
    let dir = tempfile::tempdir().unwrap();
    let (up, down) = dbops::migrate::create(
        dir.path(),
        "Add rides",
        dbops::migrate::Numbering::Sequential,
    )
    .unwrap();
    assert!(up.ends_with("000001_add_rides.up.sql") && down.ends_with("000001_add_rides.down.sql"));
    let (up2, _) =
        dbops::migrate::create(dir.path(), "more", dbops::migrate::Numbering::Sequential).unwrap();
    assert!(up2.ends_with("000002_more.up.sql"));
    let (ts, _) =
        dbops::migrate::create(dir.path(), "stamp", dbops::migrate::Numbering::Timestamp).unwrap();
    let name = ts.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(name.split('_').next().unwrap().len(), 14, "{name}");
    assert!(
        dbops::migrate::create(dir.path(), "!!!", dbops::migrate::Numbering::Sequential).is_err()
    );
}

static EMBEDDED: dbops::include_dir::Dir<'static> =
    dbops::include_dir::include_dir!("$CARGO_MANIFEST_DIR/../migrations");

#[tokio::test]
async fn migrate_on_startup_with_a_pool_and_embedded_migrations() {
    let db = fresh().await;
    let source = MigrationSource::embedded(&EMBEDDED).unwrap();
    assert_eq!(
        source.fingerprint(),
        reference().fingerprint(),
        "embedded and directory sources agree"
    );
    let pool = db.url().pool(&Default::default()).unwrap();
    let first = dbops::migrate_on_startup(&pool, source.clone())
        .await
        .unwrap();
    assert_eq!(first.applied.len(), 8);
    let again = dbops::migrate_on_startup(&pool, source).await.unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.to, Some(8));
    // The pool's connections are healthy and unlocked afterwards.
    let conn = pool.get().await.unwrap();
    let locks: i64 = conn
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(locks, 0, "an advisory lock leaked into the pool");
}

#[tokio::test]
async fn a_failed_migration_through_a_pool_does_not_leak_the_lock() {
    let db = fresh().await;
    let pool = db.url().pool(&Default::default()).unwrap();
    let bad = files(&[("1_bad.up.sql", "CREATE TABLE t (id int); SELECT 1/0;")]);
    let err = dbops::migrate_on_startup(&pool, bad).await.unwrap_err();
    assert!(dbops::error::report(&err).contains("division by zero"));
    let conn = pool.get().await.unwrap();
    let locks: i64 = conn
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        locks, 0,
        "the failed migrator's connection went back to the pool holding the lock"
    );
    let good = files(&[("1_bad.up.sql", "CREATE TABLE t (id int);")]);
    assert_eq!(
        dbops::migrate_on_startup(&pool, good).await.unwrap().to,
        Some(1)
    );
}

#[tokio::test]
async fn killed_during_a_non_transactional_migration_leaves_it_dirty() {
    if is_helper("slow-nontx-migrator") {
        let url = dbops::DatabaseUrl::parse(&std::env::var("DB_URL").unwrap()).unwrap();
        let source = files(&[
            ("1_a.up.sql", "CREATE TABLE a (id int);"),
            (
                "2_slow.up.sql",
                "-- dbops:no-transaction\nCREATE INDEX a_id ON a (id);\nSELECT pg_sleep(60);",
            ),
        ]);
        let _ = PgMigrator::new(url, source).up(None).await;
        return;
    }
    let db = fresh().await;
    let mut child = helper(
        "migrate::killed_during_a_non_transactional_migration_leaves_it_dirty",
        "slow-nontx-migrator",
        &[("DB_URL", db.url().expose())],
    )
    .spawn()
    .unwrap();
    let admin = db.connect().await.unwrap();
    let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND datname = current_database() AND pid <> pg_backend_pid()";
    for _ in 0..500 {
        if scalar_i64(&admin, sleeping).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    admin
        .batch_execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND datname = current_database() AND pid <> pg_backend_pid()")
        .await
        .unwrap();
    let source = files(&[
        ("1_a.up.sql", "CREATE TABLE a (id int);"),
        (
            "2_slow.up.sql",
            "-- dbops:no-transaction\nCREATE INDEX a_id ON a (id);\nSELECT pg_sleep(60);",
        ),
    ]);
    let migrator = PgMigrator::new(db.url().clone(), source);
    let state = migrator.version().await.unwrap().unwrap();
    assert_eq!((state.version, state.dirty), (2, true));
    assert!(
        table_exists(&db, "a_id").await,
        "the statement before the kill stays applied"
    );
    let err = migrator.up(None).await.unwrap_err();
    let text = dbops::error::report(&err);
    assert!(
        matches!(err, Error::Dirty { version: 2, .. }) && text.contains("dbops migrate force 2"),
        "{text}"
    );
}

/// Loading and linting a data migration of 100,000 statements is linear in its
/// size (each took time quadratic in the number of statements: 20,000 INSERTs took 17 s to lint).
/// The bound here only catches that growth again; BENCHMARKS.md has the release-build figures.
#[test]
fn a_migration_of_100k_statements_loads_and_lints_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = String::from("CREATE TABLE IF NOT EXISTS points (id int, note text);\n");
    for i in 0..100_000 {
        up.push_str(&format!(
            "INSERT INTO points VALUES ({i}, 'point ; {i}');\n"
        ));
    }
    std::fs::write(dir.path().join("000001_points.up.sql"), &up).unwrap();
    std::fs::write(
        dir.path().join("000001_points.down.sql"),
        "DROP TABLE IF EXISTS points;",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let source = MigrationSource::from_dir(dir.path()).unwrap();
    let statements = dbops::migrate::sql::split(&source.migrations()[0].up.sql);
    assert_eq!(statements.len(), 100_001);
    assert_eq!(statements[100_000].line, 100_001);
    let findings = dbops::migrate::lint::check(&source);
    let took = started.elapsed();
    assert!(!findings.is_empty());
    assert!(
        took < Duration::from_secs(20),
        "loading and linting 100,000 statements took {took:?}"
    );
}
