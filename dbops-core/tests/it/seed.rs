//! Seeding the reference schema: counts, integrity, determinism, refusals, seed files, reset guard.

use crate::support;

use std::path::PathBuf;

use crate::support::{cluster, scalar_i64};
use dbops::db::{ResetOptions, reset};
use dbops::seed::{Existing, PgSeeder, Profile, SeedOptions, run_sql_file};
use dbops::{MigrationSource, TestDatabase, TestDatabases};
use tokio::sync::OnceCell;

fn reference() -> MigrationSource {
    MigrationSource::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
        .unwrap()
}

async fn migrated() -> TestDatabase {
    static DBS: OnceCell<TestDatabases> = OnceCell::const_new();
    DBS.get_or_init(|| async {
        TestDatabases::on_cluster(cluster().await)
            .setup(reference())
            .build()
            .await
            .unwrap()
    })
    .await
    .create()
    .await
    .unwrap()
}

async fn count(db: &TestDatabase, sql: &str) -> i64 {
    scalar_i64(&db.connect().await.unwrap(), sql).await
}

/// The integrity rules every profile must satisfy; returns the violations.
async fn integrity(db: &TestDatabase) -> Vec<String> {
    let checks = [
        (
            "rider role",
            "SELECT count(*) FROM rides r JOIN users u ON u.id = r.rider_id WHERE u.role <> 'rider'",
        ),
        (
            "driver role",
            "SELECT count(*) FROM rides r JOIN users u ON u.id = r.driver_id WHERE u.role <> 'driver'",
        ),
        (
            "payments = completed rides",
            "SELECT abs((SELECT count(*) FROM payments) - (SELECT count(*) FROM rides WHERE status = 'completed'))",
        ),
        (
            "payment amount = fare",
            "SELECT count(*) FROM payments p JOIN rides r ON r.id = p.ride_id WHERE p.amount_cents <> r.fare_cents OR r.status <> 'completed'",
        ),
        (
            "wallet = sum of transactions",
            "SELECT count(*) FROM wallets w WHERE w.balance_cents <> coalesce((SELECT sum(amount_cents) FROM wallet_transactions t WHERE t.wallet_id = w.user_id), 0)",
        ),
        (
            "lifecycle order",
            "SELECT count(*) FROM rides WHERE accepted_at < requested_at OR started_at < accepted_at OR completed_at < started_at OR cancelled_at < requested_at",
        ),
        (
            "vehicle belongs to driver",
            "SELECT count(*) FROM rides r JOIN vehicles v ON v.id = r.vehicle_id WHERE v.driver_id <> r.driver_id",
        ),
        (
            "coordinates in the city",
            "SELECT count(*) FROM rides WHERE pickup_lat NOT BETWEEN 37.7 AND 37.82 OR pickup_lng NOT BETWEEN -122.52 AND -122.36",
        ),
    ];
    let client = db.connect().await.unwrap();
    let mut violations = Vec::new();
    for (name, sql) in checks {
        let n = scalar_i64(&client, sql).await;
        if n != 0 {
            violations.push(format!("{name}: {n}"));
        }
    }
    violations
}

#[tokio::test]
async fn light_profile_matches_the_guide() {
    let db = migrated().await;
    let report = PgSeeder::new(db.url().clone())
        .seed(Profile::Light, &SeedOptions::default())
        .await
        .unwrap();
    assert!(report.rows > 0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM users WHERE role = 'rider'").await,
        5
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM users WHERE role = 'driver'").await,
        5
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM users WHERE role = 'admin'").await,
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM rides").await, 9);
    assert_eq!(
        count(&db, "SELECT count(DISTINCT status) FROM rides").await,
        4
    );
    assert_eq!(count(&db, "SELECT count(*) FROM payments").await, 5);
    assert_eq!(count(&db, "SELECT count(*) FROM wallets").await, 10);
    assert_eq!(integrity(&db).await, Vec::<String>::new());
    let client = db.connect().await.unwrap();
    let hash: String = client
        .query_one("SELECT password_hash FROM users LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        bcrypt::verify("password123", &hash).unwrap(),
        "password123 must verify against {hash}"
    );
    // Sequences continue after the seeded ids.
    client
        .batch_execute(
            "INSERT INTO users (email, full_name, role) VALUES ('new@example.com', 'New', 'rider')",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn medium_and_heavy_profiles_hold_their_counts_and_integrity() {
    for (profile, riders, drivers, admins, rides) in [
        (Profile::Medium, 30, 20, 2, 200),
        (Profile::Heavy, 500, 200, 10, 5000),
    ] {
        let db = migrated().await;
        PgSeeder::new(db.url().clone())
            .seed(profile, &SeedOptions::default())
            .await
            .unwrap();
        assert_eq!(
            count(&db, "SELECT count(*) FROM users WHERE role = 'rider'").await,
            riders
        );
        assert_eq!(
            count(&db, "SELECT count(*) FROM users WHERE role = 'driver'").await,
            drivers
        );
        assert_eq!(
            count(&db, "SELECT count(*) FROM users WHERE role = 'admin'").await,
            admins
        );
        assert_eq!(count(&db, "SELECT count(*) FROM rides").await, rides);
        for table in [
            "promo_codes",
            "referrals",
            "driver_location_history",
            "notifications",
            "promo_redemptions",
        ] {
            assert!(
                count(&db, &format!("SELECT count(*) FROM {table}")).await > 0,
                "{profile:?}: {table} is empty"
            );
        }
        if profile == Profile::Heavy {
            assert!(count(&db, "SELECT count(*) FROM eta_predictions").await > 4000);
            assert!(
                count(
                    &db,
                    "SELECT count(*) FROM driver_location_history WHERE ride_id IS NOT NULL"
                )
                .await
                    > 20_000
            );
            assert!(count(&db, "SELECT count(DISTINCT status) FROM rides").await == 6);
        }
        assert_eq!(integrity(&db).await, Vec::<String>::new(), "{profile:?}");
    }
}

async fn fingerprint(db: &TestDatabase) -> String {
    let client = db.connect().await.unwrap();
    let mut out = String::new();
    for table in [
        "users",
        "drivers",
        "vehicles",
        "wallets",
        "rides",
        "payments",
        "wallet_transactions",
        "referrals",
        "driver_location_history",
        "notifications",
    ] {
        let row = client
            .query_one(&format!("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"), &[])
            .await
            .unwrap();
        out.push_str(&row.get::<_, String>(0));
    }
    out
}

#[tokio::test]
async fn same_seed_same_bytes_other_seed_other_data() {
    let (a, b, c) = (migrated().await, migrated().await, migrated().await);
    let options = SeedOptions::default().with_seed(7);
    PgSeeder::new(a.url().clone())
        .seed(Profile::Medium, &options)
        .await
        .unwrap();
    PgSeeder::new(b.url().clone())
        .seed(Profile::Medium, &options)
        .await
        .unwrap();
    PgSeeder::new(c.url().clone())
        .seed(Profile::Medium, &options.clone().with_seed(8))
        .await
        .unwrap();
    assert_eq!(fingerprint(&a).await, fingerprint(&b).await);
    assert_ne!(fingerprint(&a).await, fingerprint(&c).await);
}

#[tokio::test]
async fn non_empty_databases_need_append_or_truncate() {
    let db = migrated().await;
    let seeder = PgSeeder::new(db.url().clone());
    seeder
        .seed(Profile::Light, &SeedOptions::default())
        .await
        .unwrap();
    let err = seeder
        .seed(Profile::Light, &SeedOptions::default())
        .await
        .unwrap_err();
    assert!(dbops::error::report(&err).contains("--append"), "{err}");
    seeder
        .seed(
            Profile::Light,
            &SeedOptions::default().with_existing(Existing::Append),
        )
        .await
        .unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM rides").await, 18);
    assert_eq!(integrity(&db).await, Vec::<String>::new());
    seeder
        .seed(
            Profile::Light,
            &SeedOptions::default().with_existing(Existing::Truncate),
        )
        .await
        .unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM rides").await, 9);
    assert_eq!(count(&db, "SELECT min(id) FROM users").await, 1);
}

#[tokio::test]
async fn an_unmigrated_database_is_refused_clearly() {
    let db = support::empty_databases().await.create().await.unwrap();
    let err = PgSeeder::new(db.url().clone())
        .seed(Profile::Light, &SeedOptions::default())
        .await
        .unwrap_err();
    assert!(
        dbops::error::report(&err).contains("dbops migrate up"),
        "{err}"
    );
}

#[tokio::test]
async fn seed_files_run_in_one_transaction_and_name_the_failing_line() {
    let db = migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.sql");
    std::fs::write(&good, "INSERT INTO promo_codes (code, discount_percent) VALUES ('WELCOME', 10);\nINSERT INTO promo_codes (code, discount_cents) VALUES ('FIVE', 500);").unwrap();
    let report = run_sql_file(db.url(), &good).await.unwrap();
    assert_eq!((report.statements, report.transactional), (2, true));
    let bad = dir.path().join("bad.sql");
    std::fs::write(&bad, "INSERT INTO promo_codes (code, discount_percent) VALUES ('ONE', 10);\n\nINSERT INTO promo_codes (code, discount_percent) VALUES ('lower', 10);").unwrap();
    let err = run_sql_file(db.url(), &bad).await.unwrap_err();
    let text = dbops::error::report(&err);
    assert!(
        text.contains("bad.sql")
            && text.contains("line 3")
            && text.contains("promo_codes_code_check"),
        "{text}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM promo_codes WHERE code = 'ONE'").await,
        0,
        "the failed file left rows"
    );
}

#[tokio::test]
async fn reset_refuses_production_looking_databases() {
    let cluster = cluster().await;
    let prod = cluster.url().with_database("rides_prod");
    let err = reset(&prod, reference(), &ResetOptions::default())
        .await
        .unwrap_err();
    assert!(
        dbops::error::report(&err).contains("looks like production"),
        "{err}"
    );

    let admin = cluster.url().connect().await.unwrap();
    admin
        .batch_execute("DROP DATABASE IF EXISTS reset_me")
        .await
        .unwrap();
    admin
        .batch_execute("CREATE DATABASE reset_me")
        .await
        .unwrap();
    admin
        .batch_execute("ALTER DATABASE reset_me SET dbops.environment = 'production'")
        .await
        .unwrap();
    let target = cluster.url().with_database("reset_me");
    let err = reset(&target, reference(), &ResetOptions::default())
        .await
        .unwrap_err();
    assert!(
        dbops::error::report(&err).contains("dbops.environment"),
        "{err}"
    );

    let holder = target.connect().await.unwrap();
    let options = ResetOptions::default()
        .with_force(true)
        .with_seed(Profile::Light);
    let report = reset(&target, reference(), &options).await.unwrap();
    assert!(report.dropped);
    assert_eq!(report.terminated_sessions, 1);
    assert_eq!(report.migrations.to, reference().latest());
    assert!(
        holder.simple_query("SELECT 1").await.is_err(),
        "the old session must be terminated"
    );
    let client = target.connect().await.unwrap();
    assert_eq!(scalar_i64(&client, "SELECT count(*) FROM rides").await, 9);
    drop(client);
    admin
        .batch_execute("DROP DATABASE reset_me WITH (FORCE)")
        .await
        .unwrap();
}

/// Peak RSS (kB) of a helper process that seeds the heavy profile at `scale` into `url`.
fn seeding_peak_rss_kb(url: &str, scale: u64) -> i64 {
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also returns its rusage
    let child = support::helper(
        "seed::memory_stays_flat_from_scale_1_to_10",
        "seed",
        &[
            ("SEED_URL", url.to_string()),
            ("SEED_SCALE", scale.to_string()),
        ],
    )
    .stdout(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the seeding helper failed"
    );
    usage.ru_maxrss
}

/// Seeding streams: the heavy profile at scale 10 (50k rides, ten times the rows) needs about the same
/// memory as at scale 1.
#[tokio::test]
async fn memory_stays_flat_from_scale_1_to_10() {
    if support::is_helper("seed") {
        let url = dbops::DatabaseUrl::parse(&std::env::var("SEED_URL").unwrap()).unwrap();
        let scale: u64 = std::env::var("SEED_SCALE").unwrap().parse().unwrap();
        let report = PgSeeder::new(url)
            .seed(Profile::Heavy, &SeedOptions::default().with_scale(scale))
            .await
            .unwrap();
        assert!(report.rows > 0);
        return;
    }
    let small = migrated().await;
    let large = migrated().await;
    let small_kb = seeding_peak_rss_kb(&small.url().expose(), 1);
    let large_kb = seeding_peak_rss_kb(&large.url().expose(), 10);
    let rides = count(&large, "SELECT count(*) FROM rides").await;
    assert_eq!(rides, 50_000);
    eprintln!("peak RSS while seeding: scale 1 {small_kb} kB, scale 10 {large_kb} kB");
    assert!(
        large_kb < small_kb + 20 * 1024,
        "memory grew with scale: {small_kb} kB at scale 1, {large_kb} kB at scale 10"
    );
}

/// Every constraint and index of the public schema, with definitions and comments.
async fn schema_snapshot(db: &TestDatabase) -> String {
    let client = db.connect().await.unwrap();
    let row = client
        .query_one(
            "SELECT (SELECT string_agg(format('%s %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid),
                            coalesce(obj_description(oid, 'pg_constraint'), '')), E'\n' ORDER BY conrelid::regclass::text, conname)
                     FROM pg_constraint WHERE connamespace = 'public'::regnamespace),
                    (SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public')",
            &[],
        )
        .await
        .unwrap();
    format!("{}\n{}", row.get::<_, String>(0), row.get::<_, String>(1))
}

#[tokio::test]
async fn bulk_loads_leave_every_constraint_and_index_as_it_was() {
    let db = migrated().await;
    let client = db.connect().await.unwrap();
    client
        .batch_execute(
            "COMMENT ON CONSTRAINT rides_rider_id_fkey ON rides IS 'rider''s \"account\"';
             CREATE INDEX rides_commented_idx ON rides (cancelled_at);
             COMMENT ON INDEX rides_commented_idx IS 'kept as is';",
        )
        .await
        .unwrap();
    let before = schema_snapshot(&db).await;
    assert!(before.contains("FOREIGN KEY"), "{before}");
    assert!(before.contains("rider''s \"account\"") || before.contains("rider's \"account\""));
    let stages = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = stages.clone();
    let progress =
        dbops::Progress::new(move |event| seen.lock().unwrap().push(event.stage.clone()));
    let report = PgSeeder::new(db.url().clone())
        .seed(
            Profile::Heavy,
            &SeedOptions::default().with_progress(progress),
        )
        .await
        .unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM rides").await, 5000);
    assert!(report.rows > 50_000, "{report:?}");
    // The bulk path ran: the keys and indexes were recreated after COPY.
    assert!(
        stages
            .lock()
            .unwrap()
            .iter()
            .any(|s| s == "indexes and foreign keys"),
        "{stages:?}"
    );
    assert_eq!(schema_snapshot(&db).await, before);
    assert_eq!(integrity(&db).await, Vec::<String>::new());
    // The foreign keys are enforced again (recreated valid, not NOT VALID).
    let orphan = client
        .batch_execute("INSERT INTO payments (ride_id, payer_id, method, status, amount_cents, currency) VALUES (999999999, 1, 'card', 'captured', 1, 'USD')")
        .await
        .unwrap_err();
    assert!(
        orphan.to_string().contains("foreign key") || format!("{orphan:?}").contains("foreign key"),
        "{orphan:?}"
    );
}

#[tokio::test]
async fn a_bulk_load_failing_at_its_foreign_keys_rolls_back_whole() {
    let db = migrated().await;
    let client = db.connect().await.unwrap();
    // A constraint the generated data violates: checked only when the keys are recreated after COPY.
    client
        .batch_execute(
            "ALTER TABLE rides ADD CONSTRAINT rides_rider_is_a_driver FOREIGN KEY (rider_id) REFERENCES drivers (user_id)",
        )
        .await
        .unwrap();
    let before = schema_snapshot(&db).await;
    let error = PgSeeder::new(db.url().clone())
        .seed(Profile::Heavy, &SeedOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("rides_rider_is_a_driver"), "{error}");
    assert_eq!(count(&db, "SELECT count(*) FROM users").await, 0);
    assert_eq!(count(&db, "SELECT count(*) FROM rides").await, 0);
    assert_eq!(schema_snapshot(&db).await, before);
}

#[tokio::test]
async fn a_role_that_does_not_own_the_tables_seeds_without_bulk_loading() {
    let db = migrated().await;
    let client = db.connect().await.unwrap();
    let role = format!("seeder_{}", std::process::id());
    client
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN;
             GRANT SELECT, INSERT, TRUNCATE ON ALL TABLES IN SCHEMA public TO {role};
             GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};"
        ))
        .await
        .unwrap();
    let before = schema_snapshot(&db).await;
    let result = PgSeeder::new(db.url().with_user(&role, None))
        .seed(Profile::Heavy, &SeedOptions::default())
        .await;
    let cleanup = format!(
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};
         REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}; DROP ROLE {role};"
    );
    client.batch_execute(&cleanup).await.unwrap();
    result.unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM rides").await, 5000);
    assert_eq!(integrity(&db).await, Vec::<String>::new());
    assert_eq!(schema_snapshot(&db).await, before);
}

/// The data of a profile, scale and seed does not change between versions of dbops: these checksums
/// were taken from the release before the seeder's bulk-load and memory changes and must stay
/// (PostgreSQL 15's text rendering of each row, ordered).
#[tokio::test]
async fn the_same_profile_scale_and_seed_give_the_data_of_earlier_versions() {
    let db = migrated().await;
    PgSeeder::new(db.url().clone())
        .seed(
            Profile::Heavy,
            &SeedOptions::default().with_scale(2).with_seed(7),
        )
        .await
        .unwrap();
    let client = db.connect().await.unwrap();
    for (table, rows, md5) in [
        ("users", 1420, "257a2cf4d83426561c686bf79eb4c493"),
        ("rides", 10000, "f38c06fe0edb6f57db5d8a147c05a41c"),
        ("payments", 6902, "382530b6b2c65b3c24e8fe0779e377c2"),
        (
            "wallet_transactions",
            9980,
            "10e834c4abd4729990b9a88c3a8f1d95",
        ),
        (
            "driver_location_history",
            67240,
            "7f85d24ec4a050fcaeeff0b1a45a4233",
        ),
        ("eta_predictions", 9154, "3f4db4ccdcf20b5e1ce079170be3c687"),
    ] {
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM {table} x"
                ),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            (row.get::<_, i64>(0), row.get::<_, String>(1).as_str()),
            (rows, md5),
            "{table}"
        );
    }
}
