//! Backups and restores against real PostgreSQL and every storage backend reachable here: the
//! round trip (data checksums of every table before and after), encryption, integrity failures,
//! faults, legacy files and retention.

use crate::support;
use dbops::BackupCatalog;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::support::servers;
use crate::support::{database_exists, drop_database as drop_db, unique_name as unique};
use dbops::backup::{
    Backup, BackupOptions, BackupSelector, BackupStore, Compression, Decryption, DumpFormat,
    Encryption, RetentionPolicy, apply_retention, generate_key_pair,
};
use dbops::restore::{PgRestorer, RestoreOptions, RestoreTarget, Restorer};
use dbops::{DatabaseUrl, Error, ObjectBackupStore, Profile, TestDatabase};

/// A fresh database with the reference schema and the medium profile.
async fn seeded() -> TestDatabase {
    support::seeded_database("bk", Profile::Medium).await
}

/// A fresh empty database.
async fn empty() -> TestDatabase {
    support::empty_databases().await.create().await.unwrap()
}

/// Every table's checksum ([`support::table_checksums`]) of a database with the reference schema.
async fn checksums(url: &DatabaseUrl) -> BTreeMap<String, String> {
    let out = support::table_checksums(url).await;
    assert!(out.len() > 5, "expected the reference schema, got {out:?}");
    out
}

/// Backs up a seeded database into `store`, restores it into a new database, compares every table,
/// validates, and checks listing and selection.
async fn round_trip(store: ObjectBackupStore, options: BackupOptions, decryption: Decryption) {
    let db = seeded().await;
    let before = checksums(db.url()).await;
    let report = Backup::new(db.url().clone(), store.clone(), options)
        .run()
        .await
        .unwrap();
    let manifest = &report.manifest;
    assert_eq!(manifest.database, db.name());
    assert!(manifest.tables.get("public.rides").copied().unwrap_or(0) > 0);
    assert!(manifest.stored_size() > 0 && manifest.plaintext_size() > manifest.stored_size() / 2);

    let catalog = store.catalog(Some(db.name())).await.unwrap();
    assert_eq!(catalog.backups.len(), 1, "{catalog:?}");
    assert!(
        catalog.problems.is_empty() && catalog.orphans.is_empty(),
        "{catalog:?}"
    );
    let latest = store
        .find(db.name(), &BackupSelector::Latest)
        .await
        .unwrap();
    assert_eq!(latest.id, manifest.id);

    let restorer = PgRestorer::new(db.url().clone(), store.clone());
    let validation = restorer
        .validate(&dbops::restore::ValidateOptions::new(
            db.name(),
            BackupSelector::Id(manifest.id.clone()),
            decryption.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(validation.stored_bytes, manifest.stored_size());
    if manifest.format != DumpFormat::Plain {
        assert!(validation.toc_entries.unwrap() > 10, "{validation:?}");
    }
    // A validator needs no server; it asks which database's backups when not told.
    let validator = dbops::restore::BackupValidator::new(store.clone());
    let alone = validator
        .validate_entry(
            &latest,
            &dbops::restore::ValidateOptions::default().with_decryption(decryption.clone()),
        )
        .await
        .unwrap();
    assert_eq!(alone.stored_bytes, validation.stored_bytes);
    let unnamed = validator
        .validate(&dbops::restore::ValidateOptions::default())
        .await
        .unwrap_err();
    assert!(unnamed.to_string().contains("source_database"), "{unnamed}");

    let target = unique("restored");
    let restored = restorer
        .restore(
            &RestoreOptions::default()
                .with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                })
                .with_decryption(decryption),
        )
        .await
        .unwrap();
    assert_eq!(restored.backup_id, manifest.id);
    assert_eq!(restored.tables_checked, manifest.tables.len());
    let after = checksums(&db.url().with_database(&target)).await;
    assert_eq!(before, after);
    drop_db(db.url(), &target).await;
}

fn file_store() -> (tempfile::TempDir, ObjectBackupStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBackupStore::open(&format!("file://{}", dir.path().display())).unwrap();
    (dir, store)
}

fn encrypted() -> (BackupOptions, Decryption) {
    let keys = generate_key_pair();
    let options = BackupOptions::default()
        .with_encryption(Encryption::Recipients(vec![keys.recipient.clone()]));
    (
        options,
        Decryption::none()
            .with_identity_text(&keys.identity)
            .unwrap(),
    )
}

#[tokio::test]
async fn round_trip_on_the_local_file_system_encrypted() {
    let (_dir, store) = file_store();
    let (options, decryption) = encrypted();
    round_trip(store, options, decryption).await;
}

#[tokio::test]
async fn round_trip_in_memory_plain_sql_gzip_passphrase() {
    let store = ObjectBackupStore::open(&format!("memory://{}", unique("mem"))).unwrap();
    let options = BackupOptions::default()
        .with_format(DumpFormat::Plain)
        .with_compression(Compression::Gzip)
        .with_encryption(Encryption::passphrase("correct horse battery staple"));
    round_trip(
        store,
        options,
        Decryption::none().with_passphrase("correct horse battery staple"),
    )
    .await;
}

/// A passphrase `tables` backup (with globals) seals one key for all its objects: the manifest is
/// version 4 (older dbops refuse it clearly) and holds the sealed identity, every stored object is
/// encrypted to that key (no per-object scrypt stanza), and it restores with the passphrase.
#[tokio::test]
async fn a_passphrase_tables_backup_seals_one_key_for_all_its_objects() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBackupStore::open(&format!("file://{}", dir.path().display())).unwrap();
    let options = BackupOptions::default()
        .with_encryption(Encryption::passphrase("correct horse battery staple"))
        .with_globals(true);
    round_trip(
        store.clone(),
        options,
        Decryption::none().with_passphrase("correct horse battery staple"),
    )
    .await;
    let mut stored = Vec::new();
    let mut manifests = Vec::new();
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        if entry.to_string_lossy().ends_with(".manifest.json") {
            manifests.push(serde_json::from_slice::<serde_json::Value>(&bytes).unwrap());
        } else {
            stored.push(bytes);
        }
    }
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0]["manifest_version"], 4);
    let sealed = manifests[0]["encryption"]["sealed_identity"]
        .as_str()
        .unwrap();
    assert!(sealed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    assert!(
        stored.len() > 5,
        "the schema archive, the globals and the tables"
    );
    for object in stored {
        let header = String::from_utf8_lossy(&object[..object.len().min(400)]).to_string();
        assert!(header.starts_with("age-encryption.org/v1"), "{header}");
        assert!(
            header.contains("-> X25519 ") && !header.contains("scrypt"),
            "{header}"
        );
    }
}

#[tokio::test]
async fn round_trip_lz4_and_uncompressed_with_globals() {
    for compression in [Compression::Lz4, Compression::None] {
        let (_dir, store) = file_store();
        let options = BackupOptions::default()
            .with_compression(compression)
            .with_globals(true);
        round_trip(store, options, Decryption::none()).await;
    }
}

#[tokio::test]
async fn round_trip_on_moto_s3() {
    let server = servers::moto();
    let bucket = unique("bucket").replace('_', "-");
    servers::moto_bucket(server, &bucket);
    let store = ObjectBackupStore::open_with(
        &format!("s3://{bucket}/prod/db"),
        &servers::s3_options(server),
    )
    .unwrap();
    let (options, decryption) = encrypted();
    round_trip(store, options, decryption).await;
}

#[tokio::test]
async fn round_trip_on_seaweedfs_s3_with_signatures() {
    let server = servers::seaweed();
    let store = ObjectBackupStore::open_with(
        &format!("s3://dbops/{}", unique("p")),
        &servers::s3_options(server),
    )
    .unwrap();
    round_trip(store, BackupOptions::default(), Decryption::none()).await;
}

#[tokio::test]
async fn round_trip_on_azurite() {
    let server = servers::azurite();
    let container = unique("c").replace('_', "-");
    servers::azurite_container(server, &container);
    let store = ObjectBackupStore::open_with(
        &format!("az://{container}/backups"),
        &servers::azure_options(server),
    )
    .unwrap();
    let (options, decryption) = encrypted();
    round_trip(store, options, decryption).await;
}

#[tokio::test]
async fn gcs_reads_list_validate_and_restore_from_fake_gcs_server() {
    // fake-gcs-server cannot take object_store's uploads: write the backup to a directory, serve that
    // directory as a bucket, and exercise every read path through gs://.
    let db = seeded().await;
    let data = tempfile::tempdir().unwrap();
    let bucket_dir = data.path().join("backups");
    let local =
        ObjectBackupStore::open(&format!("file://{}", bucket_dir.join("prod").display())).unwrap();
    let report = Backup::new(db.url().clone(), local, BackupOptions::default())
        .run()
        .await
        .unwrap();
    let server = servers::start_fake_gcs(data.path());
    let store =
        ObjectBackupStore::open_with("gs://backups/prod", &servers::gcs_options(&server)).unwrap();
    let catalog = store.catalog(Some(db.name())).await.unwrap();
    assert_eq!(catalog.backups.len(), 1, "{catalog:?}");
    let restorer = PgRestorer::new(db.url().clone(), store.clone());
    let validation = restorer
        .validate(&dbops::restore::ValidateOptions::new(
            db.name(),
            BackupSelector::Latest,
            Decryption::none().clone(),
        ))
        .await
        .unwrap();
    assert_eq!(validation.backup_id, report.manifest.id);
    let target = unique("from_gcs");
    restorer
        .restore(
            &RestoreOptions::default().with_target(RestoreTarget::Database {
                name: target.clone(),
                create: true,
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        checksums(db.url()).await,
        checksums(&db.url().with_database(&target)).await
    );
    drop_db(db.url(), &target).await;
}

/// The storage layer itself on every writable backend: multipart uploads of several parts, abort,
/// create-if-absent, listing, deletion.
#[tokio::test]
async fn store_conformance_on_every_writable_backend() {
    let (_dir, file) = file_store();
    let moto = servers::moto();
    let bucket = unique("conf").replace('_', "-");
    servers::moto_bucket(moto, &bucket);
    let azurite = servers::azurite();
    let container = unique("conf").replace('_', "-");
    servers::azurite_container(azurite, &container);
    let stores = vec![
        file,
        ObjectBackupStore::open(&format!("memory://{}", unique("conf"))).unwrap(),
        ObjectBackupStore::open_with(&format!("s3://{bucket}/x"), &servers::s3_options(moto))
            .unwrap(),
        ObjectBackupStore::open_with(
            &format!("s3://dbops/{}", unique("conf")),
            &servers::s3_options(servers::seaweed()),
        )
        .unwrap(),
        ObjectBackupStore::open_with(
            &format!("az://{container}/x"),
            &servers::azure_options(azurite),
        )
        .unwrap(),
    ];
    for store in stores {
        let name = store.describe().to_string();
        store
            .probe()
            .await
            .unwrap_or_else(|e| panic!("{name}: {}", dbops::error::report(&e)));
        // 20 MiB in 1 MiB writes: three parts.
        let mut upload = store.upload("big/object").await.unwrap();
        let mut expected = Vec::new();
        for i in 0..20u8 {
            let chunk = bytes::Bytes::from(vec![i; 1024 * 1024]);
            expected.extend_from_slice(&chunk);
            upload.write(chunk).await.unwrap();
        }
        assert!(
            store.head("big/object").await.unwrap().is_none(),
            "{name}: visible before finish"
        );
        upload.finish().await.unwrap();
        assert_eq!(
            store.get("big/object").await.unwrap().as_ref(),
            &expected[..],
            "{name}"
        );
        // An aborted upload leaves nothing.
        let mut aborted = store.upload("big/aborted").await.unwrap();
        aborted
            .write(bytes::Bytes::from(vec![1u8; 9 * 1024 * 1024]))
            .await
            .unwrap();
        aborted.abort().await.unwrap();
        assert!(
            store.head("big/aborted").await.unwrap().is_none(),
            "{name}: aborted upload visible"
        );
        // Create-if-absent.
        assert!(
            store
                .put_if_absent("lock", bytes::Bytes::from("a"))
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store
                .put_if_absent("lock", bytes::Bytes::from("b"))
                .await
                .unwrap(),
            "{name}"
        );
        assert_eq!(store.get("lock").await.unwrap().as_ref(), b"a", "{name}");
        let keys: Vec<String> = store
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, ["big/object", "lock"], "{name}");
        store.delete("big/object").await.unwrap();
        store.delete("big/object").await.unwrap();
        store.delete("lock").await.unwrap();
        assert!(store.list("").await.unwrap().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn wrong_key_is_refused_and_the_new_database_is_dropped() {
    let db = seeded().await;
    let (_dir, store) = file_store();
    let (options, _) = encrypted();
    Backup::new(db.url().clone(), store.clone(), options)
        .run()
        .await
        .unwrap();
    let other = generate_key_pair();
    let target = unique("wrongkey");
    let err = PgRestorer::new(db.url().clone(), store.clone())
        .restore(
            &RestoreOptions::default()
                .with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                })
                .with_decryption(
                    Decryption::none()
                        .with_identity_text(&other.identity)
                        .unwrap(),
                ),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Crypto { .. }), "{err:?}");
    assert!(err.to_string().contains("right key"), "{err}");
    assert!(!database_exists(db.url(), &target).await);
    // No key at all says what to give.
    let err = PgRestorer::new(db.url().clone(), store)
        .validate(&dbops::restore::ValidateOptions::new(
            db.name(),
            BackupSelector::Latest,
            Decryption::none().clone(),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--identity"), "{err}");
}

/// Flips one bit, or truncates, at and around 64 KiB boundaries (age's chunk size) and the end; every
/// case is detected, and restoring over the original with --clean leaves its data untouched.
#[tokio::test]
async fn bit_flips_and_truncation_are_detected_and_nothing_is_committed() {
    let db = seeded().await;
    let (dir, store) = file_store();
    for (options, decryption) in [encrypted(), (BackupOptions::default(), Decryption::none())] {
        let report = Backup::new(db.url().clone(), store.clone(), options)
            .run()
            .await
            .unwrap();
        let path = dir.path().join(&report.manifest.data.key);
        let pristine = std::fs::read(&path).unwrap();
        let len = pristine.len();
        let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
        for offset in [0, 100, 65_536, 65_536 + 17, len / 2, len - 1] {
            if offset < len {
                let mut bytes = pristine.clone();
                bytes[offset] ^= 0x10;
                cases.push((format!("bit flip at {offset}"), bytes));
            }
        }
        for cut in [len - 1, len - 16, len / 2, 65_536.min(len - 1)] {
            cases.push((format!("truncated to {cut}"), pristine[..cut].to_vec()));
        }
        let before = checksums(db.url()).await;
        for (case, bytes) in cases {
            std::fs::write(&path, &bytes).unwrap();
            let restorer = PgRestorer::new(db.url().clone(), store.clone());
            let err = restorer
                .validate(&dbops::restore::ValidateOptions::new(
                    db.name(),
                    BackupSelector::Id(report.manifest.id.clone()),
                    decryption.clone(),
                ))
                .await
                .expect_err(&case);
            assert!(
                matches!(err, Error::Integrity { .. } | Error::Crypto { .. }),
                "{case}: {err:?}"
            );
            let err = restorer
                .restore(
                    &RestoreOptions::default()
                        .with_selector(BackupSelector::Id(report.manifest.id.clone()))
                        .with_clean(true)
                        .with_decryption(decryption.clone()),
                )
                .await
                .expect_err(&case);
            assert!(
                matches!(err, Error::Integrity { .. } | Error::Crypto { .. }),
                "{case}: {err:?}"
            );
            assert_eq!(
                checksums(db.url()).await,
                before,
                "{case}: the database changed"
            );
        }
        std::fs::write(&path, &pristine).unwrap();
    }
}

#[tokio::test]
async fn restoring_into_a_non_empty_database_needs_clean() {
    let db = seeded().await;
    let (_dir, store) = file_store();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let client = db.connect().await.unwrap();
    let restorer = PgRestorer::new(db.url().clone(), store);
    let err = restorer
        .restore(&RestoreOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Refused { .. }) && err.to_string().contains("--clean"),
        "{err}"
    );
    // The "accidental deletion" drill: delete rides, restore over it with --clean.
    let rides_before = support::scalar_i64(&client, "SELECT count(*) FROM rides").await;
    client
        .batch_execute("DELETE FROM payments; DELETE FROM ratings; DELETE FROM rides")
        .await
        .ok();
    let report = restorer
        .restore(&RestoreOptions::default().with_clean(true))
        .await
        .unwrap();
    assert!(report.tables_checked > 5);
    let client = db.connect().await.unwrap();
    assert_eq!(
        support::scalar_i64(&client, "SELECT count(*) FROM rides").await,
        rides_before
    );
}

#[tokio::test]
async fn parallel_restore_spools_and_matches() {
    let db = seeded().await;
    let (_dir, store) = file_store();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let target = empty().await;
    let report = PgRestorer::new(db.url().clone(), store)
        .restore(
            &RestoreOptions::default()
                .with_source_database(db.name().to_string())
                .with_target(RestoreTarget::Database {
                    name: target.name().to_string(),
                    create: false,
                })
                .with_jobs(2),
        )
        .await
        .unwrap();
    assert!(report.tables_checked > 5);
    assert_eq!(checksums(db.url()).await, checksums(target.url()).await);
}

/// `pg_dump --schema-only` of `url`, without the per-run `\restrict` lines.
fn schema_dump(url: &DatabaseUrl) -> String {
    let program = dbops::cluster::PgBinaries::discover()
        .unwrap()
        .program("pg_dump");
    let mut command = std::process::Command::new(program);
    dbops::config::ChildEnv::for_url(url)
        .unwrap()
        .apply_std(&mut command);
    let out = command
        .args(["--schema-only", "--no-owner"])
        .arg(format!("--dbname={}", url.database()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::output_text(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Objects whose post-data entries a pipelined restore must split right: quoted names, an expression
/// index with a comment, a partitioned table (its index `ON ONLY`, attached to the partitions'),
/// an exclusion constraint, a CHECK NOT VALID, a unique constraint a foreign key needs, CLUSTER ON,
/// an inheritance parent with extended statistics (both analyzed only once complete), foreign keys
/// both ways between two tables and to their own table (added early, never two on one table at once),
/// a foreign key NOT VALID, and storage options (autovacuum, paused during the restore, is given back
/// to every table as it was: a table that turns it off keeps it off).
const POST_DATA_EDGES: &str = r#"
CREATE TABLE "Mixed Table" (id int PRIMARY KEY, "Odd Col" text);
CREATE INDEX "Odd Name" ON "Mixed Table" (lower("Odd Col"));
COMMENT ON INDEX "Odd Name" IS 'built with its table';
INSERT INTO "Mixed Table" SELECT i, 'Value ' || i FROM generate_series(1, 500) i;
CREATE TABLE events (id bigint, at date, payload text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX events_payload_idx ON events (payload);
INSERT INTO events SELECT i, date '2024-01-01' + (i % 700), 'p' || i FROM generate_series(1, 2000) i;
CREATE TABLE bookings (id int, during tsrange, EXCLUDE USING gist (during WITH &&));
INSERT INTO bookings SELECT i, tsrange(timestamp '2024-01-01' + i * interval '1 hour', timestamp '2024-01-01' + (i + 1) * interval '1 hour') FROM generate_series(1, 300) i;
ALTER TABLE bookings ADD CONSTRAINT bookings_positive CHECK (id > 0) NOT VALID;
CREATE TABLE codes (code text UNIQUE);
INSERT INTO codes SELECT 'c' || i FROM generate_series(1, 100) i;
ALTER TABLE codes CLUSTER ON codes_code_key;
CREATE TABLE code_uses (code text REFERENCES codes (code));
INSERT INTO code_uses SELECT 'c' || (i % 100 + 1) FROM generate_series(1, 400) i;
CREATE TABLE parent_rows (id int, v text);
CREATE TABLE child_rows () INHERITS (parent_rows);
INSERT INTO parent_rows SELECT i, 'p' FROM generate_series(1, 100) i;
INSERT INTO child_rows SELECT i, 'c' FROM generate_series(101, 5000) i;
CREATE STATISTICS public.parent_stats ON id, v FROM parent_rows;
CREATE TABLE teams (id int PRIMARY KEY, captain int);
CREATE TABLE players (id int PRIMARY KEY, team int REFERENCES teams, mentor int REFERENCES players);
ALTER TABLE teams ADD CONSTRAINT teams_captain_fkey FOREIGN KEY (captain) REFERENCES players;
INSERT INTO teams SELECT i, NULL FROM generate_series(1, 50) i;
INSERT INTO players SELECT i, i % 50 + 1, NULLIF(i - 1, 0) FROM generate_series(1, 3000) i;
UPDATE teams SET captain = id;
ALTER TABLE code_uses ADD CONSTRAINT code_uses_unchecked FOREIGN KEY (code) REFERENCES codes (code) NOT VALID;
CREATE TABLE tuned (id int PRIMARY KEY, v text) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01);
INSERT INTO tuned SELECT i, 'v' FROM generate_series(1, 200) i;
CREATE TABLE never_vacuumed (id int) WITH (autovacuum_enabled = false);
INSERT INTO never_vacuumed SELECT generate_series(1, 100);
"#;

/// `db` with `schema_sql` run on it, backed up and restored on two connections into a new database
/// named after `name`: that database's name and the restore's report.
async fn restored_on_two_connections(
    db: &TestDatabase,
    schema_sql: &str,
    name: &str,
) -> (String, dbops::restore::RestoreReport) {
    db.connect()
        .await
        .unwrap()
        .batch_execute(schema_sql)
        .await
        .unwrap();
    let (_dir, store) = file_store();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let target = unique(name);
    let report = PgRestorer::new(db.url().clone(), store)
        .restore(
            &RestoreOptions::default()
                .with_source_database(db.name().to_string())
                .with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                })
                .with_jobs(2),
        )
        .await
        .unwrap();
    (target, report)
}

/// A restore on two connections builds each table's indexes and constraints as the table completes,
/// each foreign key once both its tables are complete, and the rest (partitioned indexes, comments)
/// at the end: the restored schema is the
/// source's, entry for entry, the data is equal, and every table has statistics (the expression
/// index's too: it existed when its table was analyzed).
#[tokio::test]
async fn a_pipelined_restore_rebuilds_the_whole_schema_and_analyzes_every_table() {
    let db = seeded().await;
    let (target, report) = restored_on_two_connections(&db, POST_DATA_EDGES, "pipelined").await;
    let restored = db.url().with_database(&target);
    assert_eq!(schema_dump(db.url()), schema_dump(&restored));
    assert_eq!(checksums(db.url()).await, checksums(&restored).await);
    let client = restored.connect().await.unwrap();
    let unanalyzed = support::scalar_i64(
        &client,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname = 'public' AND c.reltuples < 0",
    )
    .await;
    assert_eq!(unanalyzed, 0, "tables without statistics");
    let expression_stats = support::scalar_i64(
        &client,
        r#"SELECT count(*) FROM pg_statistic WHERE starelid = 'public."Odd Name"'::regclass"#,
    )
    .await;
    assert_eq!(expression_stats, 1);
    let extended_stats = support::scalar_i64(
        &client,
        "SELECT count(*) FROM pg_statistic_ext s JOIN pg_statistic_ext_data d ON d.stxoid = s.oid \
         WHERE s.stxname = 'parent_stats'",
    )
    .await;
    assert!(
        extended_stats > 0,
        "extended statistics were never computed"
    );
    let inherited: String = client
        .query_one(
            "SELECT most_common_vals::text FROM pg_stats \
             WHERE tablename = 'parent_rows' AND attname = 'v' AND inherited",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        inherited, "{c,p}",
        "the parent's statistics must include its children"
    );
    let options: Vec<(String, Option<String>)> = client
        .query(
            "SELECT c.relname::text, c.reloptions::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r' \
               AND (c.reloptions IS NOT NULL OR c.relname IN ('rides', 'tuned')) ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        options,
        [
            (
                "never_vacuumed".to_string(),
                Some("{autovacuum_enabled=false}".to_string())
            ),
            ("rides".to_string(), None),
            (
                "tuned".to_string(),
                Some("{fillfactor=70,autovacuum_vacuum_scale_factor=0.01}".to_string())
            ),
        ],
        "every table ends with its own storage options"
    );
    let stages: Vec<&str> = report.stages.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(stages, ["schema", "data", "post-data", "analyze"]);
    drop(client);
    drop_db(db.url(), &target).await;
}

/// A new database is created from `template0`: a table the site added to `template1` after the source
/// was created does not collide with the backup's table of the same name.
#[tokio::test]
async fn a_restore_into_a_new_database_ignores_what_template1_holds() {
    let cluster = dbops::TempCluster::start().await.unwrap();
    let admin = cluster.url().connect().await.unwrap();
    admin.batch_execute("CREATE DATABASE app").await.unwrap();
    let app = cluster.url().with_database("app");
    app.connect()
        .await
        .unwrap()
        .batch_execute(
            "CREATE TABLE settings (k text PRIMARY KEY); INSERT INTO settings VALUES ('a')",
        )
        .await
        .unwrap();
    cluster
        .url()
        .with_database("template1")
        .connect()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE settings (other int)")
        .await
        .unwrap();
    let (_dir, store) = file_store();
    Backup::new(app.clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    PgRestorer::new(app.clone(), store)
        .restore(
            &RestoreOptions::default().with_target(RestoreTarget::Database {
                name: "app_copy".into(),
                create: true,
            }),
        )
        .await
        .unwrap();
    let copy = cluster
        .url()
        .with_database("app_copy")
        .connect()
        .await
        .unwrap();
    let keys: Vec<String> = copy
        .query("SELECT k FROM settings", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(keys, ["a"]);
}

/// Post-data entries that only change the catalog: a trigger, a rule, a policy with row security, a
/// publication, and comments (one spanning lines that start like SQL comments).
const CATALOG_ONLY_REST: &str = r#"
CREATE TABLE audit (id int PRIMARY KEY, note text);
INSERT INTO audit SELECT i, 'n' || i FROM generate_series(1, 300) i;
CREATE FUNCTION audit_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER audit_touched BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_touch();
CREATE RULE audit_no_delete AS ON DELETE TO audit DO INSTEAD NOTHING;
ALTER TABLE audit ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_own ON audit USING (id > 0);
CREATE PUBLICATION audit_changes FOR TABLE audit;
COMMENT ON TABLE audit IS 'first line
-- a line that looks like a comment
last line';
COMMENT ON TRIGGER audit_touched ON audit IS 'kept';
"#;

/// A pipelined restore whose post-data rest only changes the catalog runs it on its own connection:
/// the restored schema is the source's, entry for entry, comments included verbatim.
#[tokio::test]
async fn a_catalog_only_post_data_rest_restores_every_entry() {
    let db = seeded().await;
    let (target, _) = restored_on_two_connections(&db, CATALOG_ONLY_REST, "catalog-rest").await;
    let restored = db.url().with_database(&target);
    let dump = schema_dump(&restored);
    assert_eq!(schema_dump(db.url()), dump);
    for entry in [
        "CREATE TRIGGER audit_touched",
        "CREATE RULE audit_no_delete",
        "CREATE POLICY audit_own",
        "ALTER TABLE public.audit ENABLE ROW LEVEL SECURITY",
        "ALTER PUBLICATION audit_changes ADD TABLE ONLY public.audit",
        "-- a line that looks like a comment",
    ] {
        assert!(dump.contains(entry), "missing `{entry}`");
    }
    drop_db(db.url(), &target).await;
}

/// Column types for the binary COPY round trip: special values of each, arrays, a domain and an enum
/// (binary), and a composite, a range, an enum array, `regclass`/`regtype`, `xml` and `aclitem` (stored
/// as text: their binary forms name OIDs, a restore does not decode them, or `aclitem` has none).
const MANY_TYPES: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TYPE pair AS (a int, b text);
CREATE TABLE every_type (
    b bool, i2 smallint, i4 int, i8 bigint, f4 real, f8 double precision, n numeric, n2 numeric(10, 2),
    t text, vc varchar(20), c char(3), u uuid, d date, ts timestamp, tz timestamptz, tm time,
    iv interval, ba bytea, j json, jb jsonb, ip inet, cidr_col cidr, m mood, p positive,
    ia int[], ta text[]
);
INSERT INTO every_type VALUES
    (true, -32768, 2147483647, -9223372036854775808, 'NaN', '-Infinity', 'NaN', 12345678.91,
     E'tab\there, newline\n, back\\slash, ünïcode', 'vc', 'ab', gen_random_uuid(),
     '4713-01-01 BC', 'infinity', '2024-02-29 23:59:59.999999+05:30', '24:00:00',
     '-1 year 2 mons -3 days 04:05:06.789', E'\\x00ff0a5c', '{"a": [1, 2]}', '{"b": null}',
     '2001:db8::1/64', '10.0.0.0/8', 'happy', 7, '{1,NULL,3}', '{"a b","c,d",NULL}'),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, NULL, '-infinity', NULL,
     NULL, NULL, '\x', NULL, NULL, NULL, NULL, NULL, NULL, '{}', '{}');
INSERT INTO every_type (n, f8, t) SELECT i * 1.5, i / 7.0, md5(i::text) FROM generate_series(1, 3000) i;
CREATE TABLE composite_rows (id int, p pair);
INSERT INTO composite_rows VALUES (1, ROW(1, 'one')), (2, NULL);
CREATE TABLE range_rows (r int4range);
INSERT INTO range_rows VALUES ('[1,10)'), ('empty'), (NULL);
CREATE TABLE enum_arrays (m mood[]);
INSERT INTO enum_arrays VALUES ('{sad,happy}'), (NULL);
CREATE TABLE reg_rows (r regclass, t regtype);
INSERT INTO reg_rows VALUES ('every_type', 'mood'), ('pair', 'pair');
CREATE TABLE xml_rows (x xml);
INSERT INTO xml_rows VALUES ('<a>x</a>'), (NULL);
CREATE TABLE acl_rows (a aclitem);
INSERT INTO acl_rows VALUES ('postgres=r/postgres');
"#;

/// `--copy-format binary`: tables whose column types all have binary I/O are stored and loaded as
/// COPY binary (manifest version 3), the others as text, and every table restores equal to its
/// source, in parallel into a new database and in one transaction into an existing one.
#[tokio::test]
async fn binary_copy_round_trips_every_column_type() {
    use dbops::backup::CopyFormat;
    let db = seeded().await;
    db.connect()
        .await
        .unwrap()
        .batch_execute(MANY_TYPES)
        .await
        .unwrap();
    let (_dir, store) = file_store();
    let report = Backup::new(
        db.url().clone(),
        store.clone(),
        BackupOptions::default().with_copy_format(CopyFormat::Binary),
    )
    .run()
    .await
    .unwrap();
    let manifest = &report.manifest;
    assert_eq!(manifest.manifest_version, 3);
    let format_of = |table: &str| {
        manifest
            .parts
            .iter()
            .find(|p| p.qualified() == table)
            .map(|p| (p.format, p.rows))
    };
    assert_eq!(
        format_of("public.every_type"),
        Some((CopyFormat::Binary, 3002))
    );
    assert_eq!(
        format_of("public.composite_rows"),
        Some((CopyFormat::Text, 2))
    );
    assert_eq!(format_of("public.range_rows"), Some((CopyFormat::Text, 3)));
    assert_eq!(format_of("public.acl_rows"), Some((CopyFormat::Text, 1)));
    assert_eq!(format_of("public.xml_rows"), Some((CopyFormat::Text, 2)));
    // An enum array's binary form names the enum's OID, a regclass is sent as an OID: both would
    // mean something else in the restored database.
    assert_eq!(format_of("public.enum_arrays"), Some((CopyFormat::Text, 2)));
    assert_eq!(format_of("public.reg_rows"), Some((CopyFormat::Text, 2)));
    assert_eq!(
        format_of("public.users").map(|f| f.0),
        Some(CopyFormat::Binary)
    );
    let source = support::table_checksums(db.url()).await;
    let target = unique("binary");
    PgRestorer::new(db.url().clone(), store.clone())
        .restore(
            &RestoreOptions::default()
                .with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                })
                .with_jobs(2),
        )
        .await
        .unwrap();
    assert_eq!(
        source,
        support::table_checksums(&db.url().with_database(&target)).await
    );
    drop_db(db.url(), &target).await;
    let existing = empty().await;
    let report = PgRestorer::new(db.url().clone(), store)
        .restore(
            &RestoreOptions::default()
                .with_source_database(db.name().to_string())
                .with_target(RestoreTarget::Database {
                    name: existing.name().to_string(),
                    create: false,
                }),
        )
        .await
        .unwrap();
    assert_eq!(report.jobs, 1);
    assert_eq!(report.decoded_as_text, Vec::<String>::new());
    assert_eq!(source, support::table_checksums(existing.url()).await);
}

/// Into another PostgreSQL major version than the backup's server, binary rows are decoded and
/// loaded as text (binary forms are only guaranteed within one major version); simulated with a
/// manifest naming an older server, as the store would hold after an upgrade.
#[tokio::test]
async fn binary_rows_load_as_text_into_another_major_version() {
    use dbops::backup::CopyFormat;
    let (db, dir, store, backup) = support::every_binary_type_backup().await;
    let manifest = &backup.manifest;
    assert_eq!(manifest.parts[0].format, CopyFormat::Binary);
    let path = dir.path().join(manifest.key());
    let text = std::fs::read_to_string(&path).unwrap();
    let older = text.replace(
        &format!("\"server_version\": \"{}\"", manifest.server_version),
        "\"server_version\": \"9.6.24 (simulated)\"",
    );
    assert_ne!(older, text);
    std::fs::write(&path, older).unwrap();
    let target = unique("other_major");
    let report = PgRestorer::new(db.url().clone(), store)
        .restore(
            &RestoreOptions::default()
                .with_source_database(db.name().to_string())
                .with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                }),
        )
        .await
        .unwrap();
    assert_eq!(report.decoded_as_text, ["public.every_type"]);
    assert_eq!(
        support::table_checksums(db.url()).await,
        support::table_checksums(&db.url().with_database(&target)).await
    );
    drop_db(db.url(), &target).await;
}

#[tokio::test]
async fn a_failing_pg_dump_publishes_nothing() {
    let db = seeded().await;
    let (dir, store) = file_store();
    // Hold a lock pg_dump needs; with a lock wait timeout it fails after it started writing.
    let blocker = db.connect().await.unwrap();
    blocker
        .batch_execute("BEGIN; LOCK TABLE rides IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // The custom format: pg_dump itself fails waiting for the lock.
    let options = BackupOptions::default()
        .with_format(DumpFormat::Custom)
        .with_lock_wait_timeout(std::time::Duration::from_millis(300));
    let err = Backup::new(db.url().clone(), store.clone(), options)
        .run()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Command { .. }), "{err:?}");
    assert!(
        err.to_string().contains("pg_dump") && err.to_string().contains("LOCK TABLE"),
        "{err}"
    );
    assert!(
        err.to_string().contains("nothing was published")
            && err.to_string().contains("run the backup again"),
        "{err}"
    );
    // The tables format locks the tables itself before dumping anything.
    let options =
        BackupOptions::default().with_lock_wait_timeout(std::time::Duration::from_millis(300));
    let err = Backup::new(db.url().clone(), store.clone(), options)
        .run()
        .await
        .unwrap_err();
    let text = dbops::error::report(&err);
    assert!(
        text.contains("locking the tables to dump")
            && text.contains("lock timeout")
            && text.contains("nothing was published"),
        "{text}"
    );
    let catalog = store.catalog(None).await.unwrap();
    assert!(
        catalog.backups.is_empty() && catalog.orphans.is_empty(),
        "{catalog:?}"
    );
    let leftovers: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("/failures/"))
        .collect();
    assert!(leftovers.is_empty(), "files left behind: {leftovers:?}");
    blocker.batch_execute("ROLLBACK").await.unwrap();
    // Retry works.
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    assert_eq!(store.catalog(None).await.unwrap().backups.len(), 1);
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_dead_storage_server_fails_cleanly_and_a_retry_works() {
    let db = seeded().await;
    let server = servers::start_moto();
    servers::moto_bucket(&server, "dead");
    let mut options = servers::s3_options(&server);
    options.max_retries = Some(1);
    options.retry_timeout = Some(std::time::Duration::from_secs(2));
    let store = ObjectBackupStore::open_with("s3://dead/x", &options).unwrap();
    server.kill();
    let started = std::time::Instant::now();
    let err = Backup::new(db.url().clone(), store, BackupOptions::default())
        .run()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
    assert!(err.to_string().contains("s3://dead/x"), "{err}");
    // What to do: the message says the store did not answer and to check its endpoint.
    assert!(err.to_string().contains("did not answer"), "{err}");
    assert!(err.is_retryable());
    // A new server, the same bucket: the retry succeeds.
    let server = servers::start_moto();
    servers::moto_bucket(&server, "dead");
    let store = ObjectBackupStore::open_with("s3://dead/x", &servers::s3_options(&server)).unwrap();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    assert_eq!(store.catalog(None).await.unwrap().backups.len(), 1);
}

#[tokio::test]
async fn concurrent_backups_of_one_database_never_interleave() {
    let db = seeded().await;
    let (_dir, store) = file_store();
    let a = Backup::new(db.url().clone(), store.clone(), BackupOptions::default());
    let b = Backup::new(db.url().clone(), store.clone(), BackupOptions::default());
    let (ra, rb) = tokio::join!(a.run(), b.run());
    let (won, lost) = match (ra, rb) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        (ra, rb) => panic!("expected one backup and one refusal, got {ra:?} and {rb:?}"),
    };
    assert!(matches!(lost, Error::Refused { .. }), "{lost:?}");
    assert!(lost.to_string().contains("holds the lock"), "{lost}");
    let catalog = store.catalog(Some(db.name())).await.unwrap();
    assert_eq!(catalog.backups.len(), 1);
    assert_eq!(catalog.backups[0].id, won.manifest.id);
    // The lock is released: the next backup runs. Without the lock, two run side by side.
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let unlocked = BackupOptions::default().with_lock(false);
    let a = Backup::new(db.url().clone(), store.clone(), unlocked.clone());
    let b = Backup::new(db.url().clone(), store.clone(), unlocked);
    let (ra, rb) = tokio::join!(a.run(), b.run());
    assert_eq!(ra.unwrap().manifest.tables, rb.unwrap().manifest.tables);
    assert_eq!(
        store.catalog(Some(db.name())).await.unwrap().backups.len(),
        4
    );
}

#[tokio::test]
async fn an_abandoned_lock_is_taken_over_and_failures_are_recorded() {
    let db = seeded().await;
    let (_dir, store) = file_store();
    let expired = serde_json::json!({
        "backup_id": "dead", "host": "gone", "pid": 1,
        "acquired_at": "2020-01-01T00:00:00Z", "expires_at": "2020-01-01T12:00:00Z"
    });
    store
        .put(
            &format!("{}/.lock", db.name()),
            bytes::Bytes::from(expired.to_string()),
        )
        .await
        .unwrap();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    assert!(
        store
            .head(&format!("{}/.lock", db.name()))
            .await
            .unwrap()
            .is_none()
    );
    // A failing backup leaves a failure record (read by backup health) and releases the lock.
    let options = BackupOptions::default().with_pg_dump_args(vec!["--table=no_such_table".into()]);
    assert!(
        Backup::new(db.url().clone(), store.clone(), options)
            .run()
            .await
            .is_err()
    );
    assert_eq!(
        dbops::backup::failures(&store, db.name())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .head(&format!("{}/.lock", db.name()))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn legacy_sql_gz_files_are_listed_validated_and_restored() {
    let db = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    // What the replaced script did: pg_dump | gzip > backup_<db>_<YYYYmmdd_HHMMSS>.sql.gz
    let name = format!("backup_{}_20240115_120000.sql.gz", db.name());
    let env = dbops::config::ChildEnv::for_url(db.url()).unwrap();
    let pg_dump = dbops::PgBinaries::discover().unwrap().program("pg_dump");
    let mut command = std::process::Command::new("bash");
    command.arg("-c").arg(format!(
        "set -o pipefail; {} | gzip > {}",
        pg_dump.display(),
        dir.path().join(&name).display()
    ));
    env.apply_std(&mut command);
    assert!(command.status().unwrap().success());
    let store = ObjectBackupStore::open(&dir.path().display().to_string()).unwrap();
    let restorer = PgRestorer::new(db.url().clone(), store.clone());
    let validation = restorer
        .validate(&dbops::restore::ValidateOptions::new(
            db.name(),
            BackupSelector::Latest,
            Decryption::none().clone(),
        ))
        .await
        .unwrap();
    assert!(!validation.checksummed && validation.plaintext_bytes > 1000);
    let target = unique("legacy");
    restorer
        .restore(
            &RestoreOptions::default()
                .with_selector(BackupSelector::Key(name.clone()))
                .with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                }),
        )
        .await
        .unwrap();
    assert_eq!(
        checksums(db.url()).await,
        checksums(&db.url().with_database(&target)).await
    );
    drop_db(db.url(), &target).await;
    // A truncated legacy file fails its gzip check and commits nothing.
    let bytes = std::fs::read(dir.path().join(&name)).unwrap();
    std::fs::write(dir.path().join(&name), &bytes[..bytes.len() - 10]).unwrap();
    let target = unique("legacy_bad");
    let err = restorer
        .restore(
            &RestoreOptions::default()
                .with_selector(BackupSelector::Key(name))
                .with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Integrity { .. }), "{err:?}");
    assert!(!database_exists(db.url(), &target).await);
}

/// A damaged manifest (truncated) is a problem that protects its backup: none of its objects is an
/// orphan, and prune (past the grace period, applied) deletes none of them and says why.
#[tokio::test]
async fn a_damaged_manifest_protects_its_objects_from_prune() {
    let db = seeded().await;
    let (dir, store) = file_store();
    let damaged = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap()
        .manifest;
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let manifest_path = dir.path().join(damaged.key());
    let body = std::fs::read(&manifest_path).unwrap();
    std::fs::write(&manifest_path, &body[..body.len() / 2]).unwrap();
    let before = walk(dir.path());

    let catalog = store.catalog(Some(db.name())).await.unwrap();
    assert!(catalog.orphans.is_empty(), "{:?}", catalog.orphans);
    assert_eq!(catalog.backups.len(), 1);
    let objects = damaged.object_keys().len();
    let (key, reason) = &catalog.problems[0];
    assert_eq!(key, &damaged.key());
    assert!(
        reason.contains(&format!("{objects} other object(s) are kept")),
        "{reason}"
    );
    let policy = RetentionPolicy::default()
        .with_keep_last(1)
        .with_orphan_grace_hours(0);
    let plan = apply_retention(&store, db.name(), &policy, true)
        .await
        .unwrap();
    assert!(
        plan.delete.is_empty() && plan.orphans.is_empty(),
        "{plan:?}"
    );
    assert_eq!(plan.problems.len(), 1);
    assert_eq!(
        walk(dir.path()),
        before,
        "prune deleted part of the damaged backup"
    );
}

#[tokio::test]
async fn retention_deletes_manifests_first_keeps_the_newest_and_cleans_orphans() {
    let db = seeded().await;
    let (dir, store) = file_store();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
                .run()
                .await
                .unwrap()
                .manifest,
        );
    }
    // An orphan: data whose manifest never got written.
    let orphan_key = format!("{}/2020-01-01T000000Z-deadbeef.dump.zst", db.name());
    store
        .put(&orphan_key, bytes::Bytes::from_static(b"x"))
        .await
        .unwrap();
    let policy = RetentionPolicy::default()
        .with_keep_last(1)
        .with_orphan_grace_hours(0);
    let dry = apply_retention(&store, db.name(), &policy, false)
        .await
        .unwrap();
    assert_eq!(dry.delete.len(), 2);
    assert_eq!(dry.orphans.len(), 1);
    assert_eq!(
        store.catalog(Some(db.name())).await.unwrap().backups.len(),
        3,
        "dry run deleted"
    );
    let applied = apply_retention(&store, db.name(), &policy, true)
        .await
        .unwrap();
    assert!(applied.applied);
    let left = store.catalog(Some(db.name())).await.unwrap();
    assert_eq!(left.backups.len(), 1);
    assert_eq!(left.backups[0].id, ids[2].id);
    assert!(left.orphans.is_empty());
    let kept = left.backups[0]
        .manifest
        .as_ref()
        .unwrap()
        .object_keys()
        .len();
    assert_eq!(
        walk(dir.path()).len(),
        kept + 1,
        "only the newest backup's objects and manifest remain"
    );
    // A policy with no rule is refused rather than deleting everything.
    assert!(
        apply_retention(&store, db.name(), &RetentionPolicy::default(), true)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_corrupt_manifest_is_reported_and_never_latest() {
    let db = seeded().await;
    let (_dir, store) = file_store();
    let good = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let bad = Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    store
        .put(
            &bad.manifest.key(),
            bytes::Bytes::from_static(b"{ not json"),
        )
        .await
        .unwrap();
    let catalog = store.catalog(Some(db.name())).await.unwrap();
    assert_eq!(catalog.problems.len(), 1, "{catalog:?}");
    assert_eq!(
        store
            .find(db.name(), &BackupSelector::Latest)
            .await
            .unwrap()
            .id,
        good.manifest.id
    );
    // A manifest pointing outside its folder is refused.
    let mut evil = good.manifest.clone();
    evil.data.key = "../../etc/passwd".into();
    store
        .put(
            &good.manifest.key(),
            bytes::Bytes::from(serde_json::to_vec(&evil).unwrap()),
        )
        .await
        .unwrap();
    let catalog = store.catalog(Some(db.name())).await.unwrap();
    assert!(
        catalog.backups.is_empty() && catalog.problems.len() == 2,
        "{catalog:?}"
    );
    let _ = Arc::new(());
}

/// A local target that cannot take the data (the file size limit stands in for a full disk, without
/// needing root to mount a tiny file system): the backup fails with an I/O error naming the store,
/// publishes nothing, and the same backup to a target with room succeeds.
#[tokio::test]
async fn a_full_local_target_fails_cleanly() {
    if support::is_helper("full-disk") {
        // SIGXFSZ would kill the process instead of failing the write; with it ignored, write() fails.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 16 * 1024,
                rlim_max: 16 * 1024,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        }
        let url = DatabaseUrl::parse(&std::env::var("FULL_URL").unwrap()).unwrap();
        let store = ObjectBackupStore::open(&std::env::var("FULL_STORE").unwrap()).unwrap();
        let err = Backup::new(
            url,
            store,
            BackupOptions::default().with_compression(Compression::None),
        )
        .run()
        .await
        .unwrap_err();
        println!("ERROR: {}", dbops::error::report(&err));
        return;
    }
    let db = seeded().await;
    let (dir, store) = file_store();
    let store_url = format!("file://{}", dir.path().display());
    let out = support::helper(
        "backup::a_full_local_target_fails_cleanly",
        "full-disk",
        &[
            ("FULL_URL", db.url().expose()),
            ("FULL_STORE", store_url.clone()),
        ],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let line = stdout
        .split_once("ERROR: ")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no error: {stdout}"));
    assert!(
        line.contains(&store_url) || line.contains("File size limit") || line.contains("too large"),
        "{line}"
    );
    let catalog = store.catalog(None).await.unwrap();
    assert!(catalog.backups.is_empty(), "{catalog:?}");
    // With room, the same backup lands.
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    assert_eq!(store.catalog(None).await.unwrap().backups.len(), 1);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_what_to_check_and_no_secret_in_the_message() {
    let server = servers::seaweed();
    let secret = "wrong-secret-9f8e7d6c5b4a";
    let options = servers::s3_options(server).with("aws_secret_access_key", secret);
    let store =
        ObjectBackupStore::open_with(&format!("s3://dbops/{}", unique("auth")), &options).unwrap();
    let err = store.probe().await.unwrap_err();
    let text = dbops::error::report(&err);
    assert!(text.contains("refused the credentials"), "{text}");
    assert!(!text.contains(secret), "{text}");
}

/// A restore's spool directory names its owner; the next restore removes the spools of owners that
/// are gone (a killed restore's), not those of running processes.
#[tokio::test]
async fn a_restore_removes_the_spools_that_killed_restores_left() {
    let db = empty().await;
    db.connect()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let (_dir, store) = file_store();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    let spool = |owner: &str| {
        let dir = std::env::temp_dir().join(format!("dbops-restore-test{}", unique("s")));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("schema.dump"), b"left behind").unwrap();
        std::fs::write(dir.join("dbops-owner"), owner).unwrap();
        dir
    };
    // A pid above the kernel's maximum is never alive; this process is (start time 0: not checked).
    let killed = spool("4194305 1\n");
    let running = spool(&format!("{} 0\n", std::process::id()));
    let target = unique("spools");
    PgRestorer::new(db.url().clone(), store)
        .restore(
            &RestoreOptions::default()
                .with_source_database(db.name().to_string())
                .with_target(RestoreTarget::Database {
                    name: target.clone(),
                    create: true,
                }),
        )
        .await
        .unwrap();
    assert!(!killed.exists(), "{} was left", killed.display());
    assert!(
        running.exists(),
        "{} of a running process was removed",
        running.display()
    );
    std::fs::remove_dir_all(&running).unwrap();
    drop_db(db.url(), &target).await;
}
