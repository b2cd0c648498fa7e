//! A store that holds objects with hostile names next to real backups (multi-byte and combining
//! characters, a multi-byte character right before the timestamp, very long names, `%`, spaces,
//! names that differ only in Unicode normalisation, raw names another tool wrote): every command
//! that lists the store still works and names the odd objects as problems, on file, moto and Azurite.

use crate::support;
use dbops::BackupStore;

use std::process::{Command, Output};
use std::sync::Arc;

use crate::support::output_text as text;
use crate::support::servers;
use bytes::Bytes;
use dbops::ObjectBackupStore;
use object_store::ObjectStoreExt;
use object_store::path::Path;

/// A store under test: its URL, its `--store-option`s and a raw writer for names other tools write.
struct Store {
    url: String,
    options: dbops::StoreOptions,
    raw: Arc<dyn object_store::ObjectStore>,
    raw_prefix: String,
    /// How many `é` a very long name has: the local file system stores `é` as `%C3%A9` and allows
    /// 255 bytes per name; S3 and Azure allow 1024 bytes per key.
    long_name_chars: usize,
}

impl Store {
    fn args(&self) -> Vec<String> {
        let mut args = vec!["--store".to_string(), self.url.clone()];
        for (key, value) in &self.options.options {
            args.push("--store-option".into());
            args.push(format!("{key}={value}"));
        }
        args
    }

    fn open(&self) -> ObjectBackupStore {
        ObjectBackupStore::open_with(&self.url, &self.options).unwrap()
    }

    /// Writes `name` exactly as spelled, as another tool would (no encoding by dbops).
    async fn put_raw(&self, name: &str) {
        let path = Path::parse(format!("{}{name}", self.raw_prefix)).unwrap();
        self.raw
            .put(&path, Bytes::from_static(b"not a backup").into())
            .await
            .unwrap();
    }
}

fn file_store(dir: &std::path::Path) -> Store {
    Store {
        url: format!("file://{}", dir.display()),
        options: dbops::StoreOptions::default(),
        raw: Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap()),
        raw_prefix: String::new(),
        long_name_chars: 36,
    }
}

fn moto_store(bucket: &str) -> Store {
    let server = servers::moto();
    servers::moto_bucket(server, bucket);
    let raw = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(server.endpoint())
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id(servers::S3_KEY_ID)
        .with_secret_access_key(servers::S3_SECRET)
        .build()
        .unwrap();
    Store {
        url: format!("s3://{bucket}/store"),
        options: servers::s3_options(server),
        raw: Arc::new(raw),
        raw_prefix: "store/".into(),
        long_name_chars: 300,
    }
}

fn azurite_store(container: &str) -> Store {
    let server = servers::azurite();
    servers::azurite_container(server, container);
    let options = servers::azure_options(server);
    let mut builder =
        object_store::azure::MicrosoftAzureBuilder::new().with_container_name(container);
    for (key, value) in &options.options {
        builder = builder.with_config(key.parse().unwrap(), value);
    }
    Store {
        url: format!("az://{container}/store"),
        options,
        raw: Arc::new(builder.build().unwrap()),
        raw_prefix: "store/".into(),
        long_name_chars: 300,
    }
}

fn dbops(database_url: &str, args: &[&str], store: &Store) -> Output {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(store.args());
    Command::new(env!("CARGO_BIN_EXE_dbops"))
        .env("DATABASE_URL", database_url)
        .env_remove("DBOPS_STORE")
        .args(&all)
        .output()
        .unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status,
        text(&out)
    );
    text(&out)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn problem_keys(catalog: &serde_json::Value) -> Vec<String> {
    catalog["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect()
}

/// Names written through dbops keys (addressable), relative to the store.
fn hostile_names(folder: &str, long_name_chars: usize) -> (Vec<String>, Vec<String>) {
    let long = "\u{e9}".repeat(long_name_chars);
    let top = vec![
        "backup_\u{e9}20240115_120000.sql.gz".to_string(),
        "backup_x\u{1F600}_2024011\u{e9}_120000.sql.gz".to_string(),
        format!("backup_{long}.sql.gz"),
        "backup_50% off_20240115_1200.sql.gz".to_string(),
    ];
    let in_folder = vec![
        format!("{folder}/caf\u{e9}.dump"),
        format!("{folder}/cafe\u{301}.dump"),
        format!("{folder}/notes with spaces %41.txt"),
        format!("{folder}/{}", &long[..long.len() - 20]),
        format!("{folder}/x\u{1F600}.manifest"),
    ];
    (top, in_folder)
}

async fn hostile_store_keeps_working(store: Store, database: &dbops::TestDatabase) {
    let url = database.url().expose().to_string();
    let folder = dbops::backup::manifest_folder(database.name());
    ok(dbops(&url, &["-q", "backup"], &store), "first backup");
    ok(dbops(&url, &["-q", "backup"], &store), "second backup");

    let (top, in_folder) = hostile_names(&folder, store.long_name_chars);
    let handle = store.open();
    for name in top.iter().chain(&in_folder) {
        handle.put(name, Bytes::from_static(b"odd")).await.unwrap();
    }
    let raw_in_folder = format!("{folder}/raw%41~#.dump");
    store.put_raw(&raw_in_folder).await;
    store.put_raw("backup_raw%41_20240115_120000.sql.gz").await;

    // list: both backups, every odd object named as a problem (the text form too).
    let listed = dbops(&url, &["--json", "backup", "list"], &store);
    let catalog = json(&listed);
    assert_eq!(catalog["backups"].as_array().unwrap().len(), 2, "{catalog}");
    let problems = problem_keys(&catalog);
    for name in &in_folder {
        assert!(
            problems.contains(name),
            "{name} not a problem: {problems:?}"
        );
    }
    assert!(
        problems.iter().any(|p| p.contains("raw%41~#.dump")),
        "{problems:?}"
    );
    let listed_text = ok(dbops(&url, &["backup", "list"], &store), "backup list");
    assert!(listed_text.contains("problem: "), "{listed_text}");
    let all = json(&dbops(&url, &["--json", "backup", "list", "--all"], &store));
    let all_problems = problem_keys(&all);
    for name in &top {
        assert!(
            all_problems.contains(name),
            "{name} not a problem: {all_problems:?}"
        );
    }
    assert!(
        all_problems
            .iter()
            .any(|p| p.contains("backup_raw%41_20240115")),
        "{all_problems:?}"
    );
    assert!(
        all["backups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["database"] == database.name()),
        "{all}"
    );

    // show, verify, restore --latest and --before, health: all work.
    ok(dbops(&url, &["backup", "show"], &store), "backup show");
    ok(dbops(&url, &["backup", "verify"], &store), "backup verify");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let latest = format!("hostile_latest_{suffix}");
    ok(
        dbops(
            &url,
            &["-q", "restore", "--into", &latest, "--create"],
            &store,
        ),
        "restore --latest",
    );
    let before = format!("hostile_before_{suffix}");
    let now = chrono::Utc::now().to_rfc3339();
    ok(
        dbops(
            &url,
            &[
                "-q", "restore", "--before", &now, "--into", &before, "--create",
            ],
            &store,
        ),
        "restore --before",
    );
    let admin = database.url().with_database("postgres");
    assert!(support::database_exists(&admin, &latest).await);
    assert!(support::database_exists(&admin, &before).await);

    let health = dbops(&url, &["--json", "backup", "health"], &store);
    assert!(
        matches!(health.status.code(), Some(0..=2)),
        "{}",
        text(&health)
    );
    let report = json(&health);
    let catalog_check = support::json_item(&report["checks"], "catalog");
    assert_eq!(catalog_check["status"], "warn", "{catalog_check}");
    assert!(
        catalog_check["reason"]
            .as_str()
            .unwrap()
            .contains("caf\u{e9}.dump"),
        "{catalog_check}"
    );

    // prune: keeps the newest, deletes the other backup, leaves every odd object alone.
    let pruned = ok(
        dbops(
            &url,
            &["backup", "prune", "--keep-last", "1", "--apply"],
            &store,
        ),
        "backup prune",
    );
    assert!(pruned.contains("problem (left alone)"), "{pruned}");
    let after = json(&dbops(&url, &["--json", "backup", "list"], &store));
    assert_eq!(after["backups"].as_array().unwrap().len(), 1, "{after}");
    for name in top.iter().chain(&in_folder) {
        assert!(
            handle.head(name).await.unwrap().is_some(),
            "prune removed {name}"
        );
    }
    let raw_path = Path::parse(format!("{}{raw_in_folder}", store.raw_prefix)).unwrap();
    store.raw.head(&raw_path).await.unwrap();
}

#[tokio::test]
async fn hostile_names_on_a_file_store() {
    let database = support::seeded_database("hostile", dbops::Profile::Light).await;
    let dir = tempfile::tempdir().unwrap();
    hostile_store_keeps_working(file_store(dir.path()), &database).await;
}

#[tokio::test]
async fn hostile_names_on_moto() {
    let database = support::seeded_database("hostile", dbops::Profile::Light).await;
    let bucket = format!(
        "hostile-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    hostile_store_keeps_working(moto_store(&bucket), &database).await;
}

#[tokio::test]
async fn hostile_names_on_azurite() {
    let database = support::seeded_database("hostile", dbops::Profile::Light).await;
    let container = format!(
        "hostile-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    hostile_store_keeps_working(azurite_store(&container), &database).await;
}
