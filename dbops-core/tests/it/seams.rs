//! Each of the five traits implemented in a few lines, as a user would, and driven through the
//! library: an in-memory `BackupStore` with injected faults under backup, restore, retention and
//! health; a fake `HealthProbe` served by the router; a `Migrator` double on the startup path; a
//! `Seeder` of one's own schema in a template and a reset; a `Restorer` wrapper behind `&dyn Restorer`.

use dbops::BackupCatalog;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::support;
use dbops::backup::{
    Backup, BackupHealth, BackupHealthOptions, BackupOptions, BackupSelector, BackupStatus,
    BackupStore, RetentionPolicy, apply_retention,
};
use dbops::restore::{
    PgRestorer, RestoreOptions, RestoreReport, RestoreTarget, Restorer, ValidateOptions,
    ValidationReport,
};
use dbops::storage::{Listing, ObjectInfo, Upload};
use dbops::{Error, Profile, Result};

type Objects = Arc<Mutex<BTreeMap<String, Bytes>>>;

/// A store in a map, with switches that make the next operations fail.
#[derive(Debug, Default, Clone)]
struct MemoryStore {
    objects: Objects,
    fail_finish: Arc<AtomicBool>,
    fail_reads: Arc<AtomicBool>,
}

fn info(key: &str, data: &Bytes) -> ObjectInfo {
    ObjectInfo {
        key: key.into(),
        size: data.len() as u64,
        last_modified: chrono::Utc::now() - chrono::Duration::days(2),
    }
}

fn injected(what: &str) -> Error {
    Error::config("memory store", format!("injected fault: {what}"))
}

#[async_trait]
impl BackupStore for MemoryStore {
    fn describe(&self) -> String {
        "memory-test://".into()
    }
    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        self.objects.lock().unwrap().insert(key.into(), data);
        Ok(())
    }
    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool> {
        let mut objects = self.objects.lock().unwrap();
        if objects.contains_key(key) {
            return Ok(false);
        }
        objects.insert(key.into(), data);
        Ok(true)
    }
    async fn get(&self, key: &str) -> Result<Bytes> {
        if self.fail_reads.load(Ordering::SeqCst) && !key.ends_with(".json") {
            return Err(injected("read"));
        }
        let found = self.objects.lock().unwrap().get(key).cloned();
        found.ok_or_else(|| Error::object_not_found(self.describe(), key))
    }
    async fn get_stream(&self, key: &str) -> Result<(u64, BoxStream<'static, Result<Bytes>>)> {
        let data = self.get(key).await?;
        let chunks: Vec<Result<Bytes>> = data
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Ok((data.len() as u64, Box::pin(futures::stream::iter(chunks))))
    }
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        Ok(self.objects.lock().unwrap().get(key).map(|d| info(key, d)))
    }
    async fn list_all(&self, prefix: &str) -> Result<Listing> {
        let objects = self.objects.lock().unwrap();
        Ok(Listing {
            objects: objects
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, d)| info(k, d))
                .collect(),
            unaddressable: Vec::new(),
        })
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.objects.lock().unwrap().remove(key);
        Ok(())
    }
    async fn upload(&self, key: &str) -> Result<Box<dyn Upload>> {
        Ok(Box::new(MemoryUpload {
            store: self.clone(),
            key: key.into(),
            data: Vec::new(),
        }))
    }
}

struct MemoryUpload {
    store: MemoryStore,
    key: String,
    data: Vec<u8>,
}

#[async_trait]
impl Upload for MemoryUpload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.data.extend_from_slice(&data);
        Ok(())
    }
    async fn finish(self: Box<Self>) -> Result<()> {
        if self.store.fail_finish.load(Ordering::SeqCst) {
            return Err(injected("completing an upload"));
        }
        let key = self.key.clone();
        self.store.put(&key, self.data.into()).await
    }
    async fn abort(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_users_backup_store_carries_backup_restore_retention_and_health() {
    let db = support::seeded_database("seams", Profile::Light).await;
    let store = MemoryStore::default();
    let url = db.url().clone();
    let first = Backup::new(url.clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let second = Backup::new(url.clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let catalog = store.catalog(Some(db.name())).await.unwrap();
    assert_eq!(catalog.backups.len(), 2, "{catalog:?}");

    // Restore the first into a new database through the trait object; row counts match the source.
    let shared: Arc<dyn BackupStore> = Arc::new(store.clone());
    let target = format!("seams_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let report = PgRestorer::new(url.clone(), shared.clone())
        .restore(
            &RestoreOptions::default()
                .with_selector(BackupSelector::Id(first.manifest.id.clone()))
                .with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                }),
        )
        .await
        .unwrap();
    assert!(report.tables_checked > 5, "{report:?}");
    assert_eq!(
        support::row_counts(&url).await,
        support::row_counts(&url.with_database(&target)).await
    );

    // Health is ok, then retention keeps the newest and deletes the other.
    let health = BackupHealth::new(
        shared.clone(),
        db.name(),
        BackupHealthOptions::default().with_max_restore_test_age(None),
    )
    .run()
    .await;
    assert_eq!(health.status, BackupStatus::Ok, "{health:?}");
    let policy = RetentionPolicy::default().with_keep_last(1);
    let plan = apply_retention(shared.as_ref(), db.name(), &policy, true)
        .await
        .unwrap();
    assert_eq!(plan.delete.len(), 1);
    assert_eq!(plan.keep[0].backup.id, second.manifest.id);

    // Faults: a failed upload publishes nothing; a failed read restores nothing.
    store.fail_finish.store(true, Ordering::SeqCst);
    let failed = Backup::new(url.clone(), store.clone(), BackupOptions::default())
        .run()
        .await;
    assert!(failed.is_err());
    store.fail_finish.store(false, Ordering::SeqCst);
    assert_eq!(
        store.catalog(Some(db.name())).await.unwrap().backups.len(),
        1
    );
    store.fail_reads.store(true, Ordering::SeqCst);
    let broken = format!("seams_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let restored = PgRestorer::new(url.clone(), store.clone())
        .restore(
            &RestoreOptions::default().with_target(RestoreTarget::Database {
                name: broken.clone(),
                create: true,
            }),
        )
        .await;
    assert!(
        dbops::error::report(&restored.unwrap_err()).contains("injected fault"),
        "the store's own error surfaces"
    );
    assert!(!support::database_exists(&url, &broken).await);
}

/// Refuses restores over the original database; delegates everything else.
struct IntoNewDatabasesOnly<R>(R, AtomicUsize);

#[async_trait]
impl<R: Restorer> Restorer for IntoNewDatabasesOnly<R> {
    async fn restore(&self, options: &RestoreOptions) -> Result<RestoreReport> {
        self.1.fetch_add(1, Ordering::SeqCst);
        if options.target == RestoreTarget::Original {
            return Err(Error::Refused {
                action: "restore over the original database".into(),
                reason: "this service restores into new databases only".into(),
            });
        }
        self.0.restore(options).await
    }
    async fn validate(&self, options: &ValidateOptions) -> Result<ValidationReport> {
        self.0.validate(options).await
    }
}

#[tokio::test]
async fn a_restorer_wrapper_puts_policy_around_restores() {
    let db = support::seeded_database("seams", Profile::Light).await;
    let store = MemoryStore::default();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let wrapped = IntoNewDatabasesOnly(
        PgRestorer::new(db.url().clone(), store),
        AtomicUsize::new(0),
    );
    let restorer: &dyn Restorer = &wrapped;
    let refused = restorer.restore(&RestoreOptions::default()).await;
    assert!(matches!(refused, Err(Error::Refused { .. })));
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let validated = restorer
        .validate(
            &ValidateOptions::new(db.name(), BackupSelector::Latest, Default::default())
                .with_progress(dbops::Progress::new(move |e| {
                    seen.lock().unwrap().push(e.done);
                })),
        )
        .await
        .unwrap();
    assert_eq!(events.lock().unwrap().last(), Some(&validated.stored_bytes));
    let target = format!("seams_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    restorer
        .restore(
            &RestoreOptions::default()
                .with_target(RestoreTarget::choose(Some(target.clone()), true).unwrap()),
        )
        .await
        .unwrap();
    assert!(support::database_exists(db.url(), &target).await);
    assert_eq!(wrapped.1.load(Ordering::SeqCst), 2);
}

/// A probe of one's own: up or down by a switch.
struct SwitchProbe(Arc<AtomicBool>);

#[async_trait]
impl dbops::HealthProbe for SwitchProbe {
    async fn live(&self) -> dbops::HealthReport {
        self.ready().await
    }
    async fn ready(&self) -> dbops::HealthReport {
        let up = self.0.load(Ordering::SeqCst);
        dbops::HealthReport::from_checks(
            vec![dbops::health::CheckResult {
                name: "queue".into(),
                status: if up {
                    dbops::health::HealthStatus::Up
                } else {
                    dbops::health::HealthStatus::Down
                },
                latency_ms: 0.1,
                message: if up { "draining" } else { "stuck" }.into(),
            }],
            None,
        )
    }
}

struct QueueDepth;

#[async_trait]
impl dbops::health::MetricsSource for QueueDepth {
    async fn render(&self) -> String {
        "# TYPE queue_depth gauge\nqueue_depth 7\n".into()
    }
}

#[tokio::test]
async fn the_router_serves_a_users_probe_and_metrics() {
    let up = Arc::new(AtomicBool::new(true));
    let router =
        dbops::health::router_with_metrics(SwitchProbe(up.clone()), vec![Arc::new(QueueDepth)]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let get = |path: &'static str| {
        tokio::task::spawn_blocking(move || support::servers::http("GET", port, path, &[], b""))
    };
    let (status, body) = get("/health/ready").await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("draining"), "{body}");
    up.store(false, Ordering::SeqCst);
    let (status, body) = get("/healthz").await.unwrap();
    assert_eq!(status, 503, "{body}");
    let (status, metrics) = get("/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(metrics.contains("dbops_ready 0"), "{metrics}");
    assert!(metrics.contains("queue_depth 7"), "{metrics}");
    assert!(
        !metrics.contains("dbops_pool_size"),
        "a probe without a pool has no pool gauges"
    );
    server.abort();
}

/// Records what the startup path asks of it.
#[derive(Default)]
struct MigratorDouble {
    ups: AtomicUsize,
    fail: bool,
}

#[async_trait]
impl dbops::Migrator for MigratorDouble {
    async fn version(&self) -> Result<Option<dbops::migrate::VersionState>> {
        Ok(None)
    }
    async fn up(&self, target: Option<i64>) -> Result<dbops::MigrateReport> {
        assert_eq!(target, None, "startup applies everything");
        self.ups.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(Error::Refused {
                action: "migrate".into(),
                reason: "the double fails on purpose".into(),
            });
        }
        Ok(dbops::MigrateReport::default()
            .with_from(None)
            .with_to(3)
            .with_applied(Vec::new())
            .with_warnings(vec!["one applied file changed".into()])
            .with_lock_wait(std::time::Duration::ZERO))
    }
    async fn down(&self, _: dbops::DownSteps) -> Result<dbops::MigrateReport> {
        unreachable!("startup never rolls back")
    }
    async fn goto(&self, _: i64) -> Result<dbops::MigrateReport> {
        unreachable!("startup never goes to a version")
    }
    async fn force(&self, _: Option<i64>) -> Result<()> {
        unreachable!("startup never forces")
    }
    async fn status(&self) -> Result<Vec<dbops::migrate::MigrationStatus>> {
        Ok(Vec::new())
    }
    async fn plan_up(&self, _: Option<i64>) -> Result<Vec<dbops::migrate::PlannedStep>> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn the_startup_path_runs_any_migrator() {
    let double = MigratorDouble::default();
    let report = dbops::migrate_with(&double).await.unwrap();
    assert_eq!((report.to, double.ups.load(Ordering::SeqCst)), (Some(3), 1));
    assert_eq!(report.warnings, ["one applied file changed"]);
    let failing = MigratorDouble {
        fail: true,
        ..MigratorDouble::default()
    };
    let error = dbops::migrate_with(&failing).await.unwrap_err();
    assert!(error.to_string().contains("on purpose"), "{error}");
}

/// The data of a schema of one's own.
struct Cities(u32);

#[async_trait]
impl dbops::Seeder for Cities {
    fn fingerprint(&self) -> String {
        format!("cities:{}", self.0)
    }
    async fn seed(&self, url: &dbops::DatabaseUrl) -> Result<dbops::seed::SeedReport> {
        let client = url.connect().await?;
        let rows = client
            .execute(
                "INSERT INTO cities SELECT g, 'city ' || g FROM generate_series(1, $1::int) g",
                &[&(self.0 as i32)],
            )
            .await
            .map_err(|e| Error::postgres("seeding cities", e))?;
        Ok(dbops::seed::SeedReport::default()
            .with_tables(vec![("cities".into(), rows)])
            .with_rows(rows))
    }
}

#[tokio::test]
async fn a_users_seeder_fills_templates_and_resets() {
    let cluster = support::cluster().await;
    let schema = dbops::SqlScripts::new().script(
        "cities",
        "CREATE TABLE cities (id int PRIMARY KEY, name text)",
    );
    let databases = dbops::TestDatabases::on_cluster(cluster)
        .prefix("seams_seed")
        .setup(schema)
        .setup(dbops::testing::SeedStep::with(Cities(250)))
        .spares(0)
        .build()
        .await
        .unwrap();
    let db = databases.create().await.unwrap();
    let client = db.connect().await.unwrap();
    assert_eq!(
        support::scalar_i64(&client, "SELECT count(*) FROM cities").await,
        250
    );

    // The same seeder through a reset of a database migrated by a migrations directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("000001_cities.up.sql"),
        "CREATE TABLE cities (id int PRIMARY KEY, name text);",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("000001_cities.down.sql"),
        "DROP TABLE cities;",
    )
    .unwrap();
    let source = dbops::MigrationSource::from_dir(dir.path()).unwrap();
    let target = db.url().with_database(&format!("{}_reset", db.name()));
    let report = dbops::db::reset_with(&target, source, &Default::default(), Some(&Cities(40)))
        .await
        .unwrap();
    assert_eq!(report.seed.unwrap().rows, 40);
    let reset = target.connect().await.unwrap();
    assert_eq!(
        support::scalar_i64(&reset, "SELECT count(*) FROM cities").await,
        40
    );
}

/// A user's store says "not found" for a missing object, and the operations tell it from a broken
/// store: fetching a segment the archive does not hold reports it missing (PostgreSQL then stops
/// asking), while a read that fails is an error.
#[tokio::test]
async fn a_users_store_reports_not_found_and_operations_branch_on_it() {
    let store = MemoryStore::default();
    let err = store.get("nowhere/at/all").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.storage_kind(), Some(dbops::StorageErrorKind::NotFound));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("000000010000000000000042");
    let options = dbops::pitr::PitrOptions::default();
    let fetched = dbops::pitr::fetch(&store, "000000010000000000000042", &dest, &options)
        .await
        .unwrap();
    assert!(!fetched.found && !dest.exists());
    // The same segment while reads fail: an error, not "missing".
    store
        .put(
            "wal/00000001/000000010000000000000042",
            Bytes::from_static(b"x"),
        )
        .await
        .unwrap();
    store.fail_reads.store(true, Ordering::SeqCst);
    let err = dbops::pitr::fetch(&store, "000000010000000000000042", &dest, &options)
        .await
        .unwrap_err();
    assert!(!err.is_not_found(), "{err}");
}
