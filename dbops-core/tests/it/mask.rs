//! Masked and subset restores and masked backups on the reference schema seeded with the heavy
//! profile, against a real cluster and a file store: no original value of a masked column survives
//! (in the tables or in a `pg_dump` of them), constraints hold, masking is deterministic for a key,
//! bad rules are refused before any row is written, and subsets keep their referential closure.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use dbops::backup::{Backup, BackupOptions, BackupSelector};
use dbops::mask::{MaskKey, MaskRules, Masking, ProblemKind, SubsetRule, Transformer};
use dbops::restore::{PgRestorer, RestoreOptions, RestoreTarget, Restorer};
use dbops::{DatabaseUrl, Error, ObjectBackupStore, Profile, TestDatabase};
use support::{drop_database as drop_db, table_checksums as checksums, unique_name as unique};

const KEY: &[u8] = b"staging-key-0123456789abcdef";

fn rules_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/masking/rides.toml")
}

fn masking(key: &[u8]) -> Arc<Masking> {
    let rules = MaskRules::from_file(rules_path()).unwrap();
    Arc::new(Masking::new(rules, MaskKey::new(key).unwrap()))
}

async fn heavy() -> TestDatabase {
    support::seeded_database("mask", Profile::Heavy).await
}

/// A backup of `db` in a fresh file store.
async fn backed_up(db: &TestDatabase) -> (tempfile::TempDir, ObjectBackupStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBackupStore::open(&format!("file://{}", dir.path().display())).unwrap();
    Backup::new(db.url().clone(), store.clone(), BackupOptions::default())
        .run()
        .await
        .unwrap();
    (dir, store)
}

fn into_new(name: &str) -> RestoreTarget {
    RestoreTarget::Database {
        name: name.to_string(),
        create: true,
    }
}

/// Every value of `table.column` as text, keyed by the row's `key` column.
async fn column_values(
    url: &DatabaseUrl,
    table: &str,
    key: &str,
    column: &str,
) -> BTreeMap<String, Option<String>> {
    let client = url.connect().await.unwrap();
    client
        .query(
            &format!("SELECT {key}::text, {column}::text FROM {table}"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// Every field of every COPY row in a plain `pg_dump` of the database.
fn dumped_fields(url: &DatabaseUrl) -> (String, BTreeSet<String>) {
    let pg_dump = dbops::PgBinaries::discover().unwrap().program("pg_dump");
    let mut command = std::process::Command::new(pg_dump);
    dbops::config::ChildEnv::for_url(url)
        .unwrap()
        .apply_std(&mut command);
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut fields = BTreeSet::new();
    let mut in_copy = false;
    for line in text.lines() {
        if line.starts_with("COPY ") {
            in_copy = true;
        } else if line == "\\." {
            in_copy = false;
        } else if in_copy {
            fields.extend(line.split('\t').map(str::to_string));
        }
    }
    (text, fields)
}

/// (table, key column, column, transformer) of every masked column of the rules.
fn masked_columns() -> Vec<(String, &'static str, String, Transformer)> {
    let rules = MaskRules::from_file(rules_path()).unwrap();
    let mut out = Vec::new();
    for table in rules.tables.values() {
        for (column, rule) in &table.columns {
            if rule.transformer == Transformer::Keep {
                continue;
            }
            let key = match table.name.as_str() {
                "drivers" => "user_id",
                _ => "id",
            };
            out.push((
                table.name.clone(),
                key,
                column.clone(),
                rule.transformer.clone(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn masked_restore_leaves_no_original_value_and_keeps_every_constraint() {
    let db = heavy().await;
    let (_dir, store) = backed_up(&db).await;
    let restorer = PgRestorer::new(db.url().clone(), store.clone());
    let target = unique("masked");
    let report = restorer
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&target))
                .with_mask(masking(KEY)),
        )
        .await
        .unwrap();
    let summary = report.masking.clone().unwrap();
    assert_eq!(summary.masked_tables, 8, "{summary:?}");
    assert_eq!(summary.masked_columns, 25, "{summary:?}");
    let masked = db.url().with_database(&target);

    // Row for row: every masked value differs from the original (NULLs stay NULL).
    let (dump, fields) = dumped_fields(&masked);
    let mut compared = 0;
    let mut long_originals = BTreeSet::new();
    for (table, key, column, transformer) in masked_columns() {
        let before = column_values(db.url(), &table, key, &column).await;
        let after = column_values(&masked, &table, key, &column).await;
        assert_eq!(before.len(), after.len(), "{table}");
        for (row, original) in &before {
            let Some(original) = original else { continue };
            let now = &after[row];
            match &transformer {
                Transformer::Null => assert_eq!(now, &None, "{table}.{column}"),
                Transformer::Truncate { chars: 0 } => {
                    assert_eq!(now.as_deref(), Some(""), "{table}.{column}")
                }
                _ => assert_ne!(now.as_ref(), Some(original), "{table}.{column} row {row}"),
            }
            compared += 1;
            // No original value of a free-standing column appears as any field of the dump (shifted
            // times and jittered points may meet another row's original by chance; they are
            // compared row for row above).
            let standalone = !matches!(
                transformer,
                Transformer::Shift { .. } | Transformer::Jitter { .. }
            );
            if standalone && !original.is_empty() && original != "Notification" {
                assert!(
                    !fields.contains(original.as_str()),
                    "{table}.{column}: an original value is in the dump"
                );
            }
            if standalone && original.len() >= 8 {
                long_originals.insert(original.clone());
            }
        }
    }
    assert!(compared > 40_000, "{compared}");
    // Nor inside any other text (a name in a notification's body): one pass over the whole dump.
    let finder = aho_corasick::AhoCorasick::new(&long_originals).unwrap();
    let found: Vec<&String> = finder
        .find_iter(&dump)
        .map(|m| long_originals.iter().nth(m.pattern().as_usize()).unwrap())
        .take(3)
        .collect();
    assert!(
        found.is_empty(),
        "original values in the dump: {}",
        found.len()
    );
    assert!(long_originals.len() > 2000, "{}", long_originals.len());

    // Emails and phones are realistic and unique; constraints were all created and hold.
    let client = masked.connect().await.unwrap();
    let emails = support::scalar_i64(
        &client,
        "SELECT count(DISTINCT email) FROM users WHERE email LIKE '%.%.%@example.com'",
    )
    .await;
    let users = support::scalar_i64(&client, "SELECT count(*) FROM users").await;
    assert_eq!(emails, users);
    let phones = support::scalar_i64(
        &client,
        "SELECT count(DISTINCT phone) FROM users WHERE phone ~ '^\\+1[0-9]{10}$'",
    )
    .await;
    assert_eq!(phones, users);
    let constraints = "SELECT count(*) FROM pg_constraint WHERE contype IN ('f', 'u', 'p') \
                       AND convalidated AND connamespace = 'public'::regnamespace";
    let source = db.connect().await.unwrap();
    assert_eq!(
        support::scalar_i64(&client, constraints).await,
        support::scalar_i64(&source, constraints).await
    );
    // The shift kept every user's created_at <= updated_at and moved both by the same amount.
    let spread = support::scalar_i64(
        &client,
        "SELECT count(DISTINCT (updated_at - created_at)) FROM users",
    )
    .await;
    assert_eq!(
        spread,
        support::scalar_i64(
            &source,
            "SELECT count(DISTINCT (updated_at - created_at)) FROM users"
        )
        .await
    );

    // The same key twice: identical databases. Another key: other values.
    let again = unique("masked_again");
    restorer
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&again))
                .with_mask(masking(KEY))
                .with_jobs(1),
        )
        .await
        .unwrap();
    assert_eq!(
        checksums(&masked).await,
        checksums(&db.url().with_database(&again)).await
    );
    let other = unique("masked_other");
    restorer
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&other))
                .with_mask(masking(b"another-key-0123456789abcdef")),
        )
        .await
        .unwrap();
    let theirs = column_values(&db.url().with_database(&other), "users", "id", "email").await;
    let ours = column_values(&masked, "users", "id", "email").await;
    assert!(theirs.iter().all(|(id, email)| &ours[id] != email));
    for name in [&target, &again, &other] {
        drop_db(db.url(), name).await;
    }
}

#[tokio::test]
async fn rules_that_do_not_fit_are_refused_before_any_row_is_written() {
    let db = heavy().await;
    let (_dir, store) = backed_up(&db).await;
    let restorer = PgRestorer::new(db.url().clone(), store.clone());
    let text = std::fs::read_to_string(rules_path()).unwrap();
    let key = || MaskKey::new(KEY).unwrap();

    // No rule for users.email (it looks personal); a rule for a column that is gone; NULL for a
    // NOT NULL column; a constant its type rejects comes from the server's own input function.
    let broken = text
        .replace("email = \"fake_email\"", "mail_address = \"fake_email\"")
        .replace("comment = \"null\"", "comment = \"null\"\nstars = \"null\"");
    let masking = Masking::new(MaskRules::parse(&broken, "broken.toml").unwrap(), key());
    let target = unique("refused");
    let options = RestoreOptions::default()
        .with_target(into_new(&target))
        .with_mask(Arc::new(masking));
    let check = restorer.check_mask(&options).await.unwrap();
    let problems: Vec<(ProblemKind, &str)> = check
        .problems
        .iter()
        .map(|p| (p.kind, p.location.as_str()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (ProblemKind::SchemaChanged, "public.users.mail_address"),
            (ProblemKind::Invalid, "public.ratings.stars"),
            (ProblemKind::Unmasked, "public.users.email"),
        ],
        "{check:?}"
    );
    let error = restorer.restore(&options).await.unwrap_err();
    let text_of = error.to_string();
    assert!(matches!(error, Error::Refused { .. }), "{error}");
    assert!(
        text_of.contains("broken.toml:")
            && text_of.contains("--allow-unmasked users.email")
            && text_of.contains("renamed or dropped"),
        "{text_of}"
    );
    assert!(!support::database_exists(db.url(), &target).await);

    // Allowed through: the restore goes ahead once the other problems are fixed.
    let fixed = text.replace("email = \"fake_email\"", "");
    let allowed = Masking::new(MaskRules::parse(&fixed, "fixed.toml").unwrap(), key())
        .allow_unmasked(["users.email"]);
    let check = restorer
        .check_mask(&RestoreOptions::default().with_mask(Arc::new(allowed)))
        .await
        .unwrap();
    assert!(check.ok(), "{check:?}");

    let bad_constant = text
        .replace("value = \"Notification\"", "value = \"x\"")
        .replace(
            "comment = \"null\"",
            "comment = \"null\"\nstars = { transform = \"constant\", value = \"five\" }",
        );
    let masking = Masking::new(MaskRules::parse(&bad_constant, "c.toml").unwrap(), key());
    let error = restorer
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&target))
                .with_mask(Arc::new(masking)),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("c.toml, line") && error.contains("not a valid smallint"),
        "{error}"
    );
    assert!(!support::database_exists(db.url(), &target).await);
}

#[tokio::test]
async fn subsets_keep_their_referential_closure() {
    let db = heavy().await;
    let (_dir, store) = backed_up(&db).await;
    let restorer = PgRestorer::new(db.url().clone(), store.clone());
    let target = unique("subset");
    let report = restorer
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&target))
                .with_mask(masking(KEY))
                .with_subset(vec!["rides: id % 10 = 0".parse::<SubsetRule>().unwrap()]),
        )
        .await
        .unwrap();
    let masking = report.masking.unwrap();
    let subset = masking.subset().unwrap();
    assert!(subset.removed["public.rides"] > 4000, "{subset:?}");
    let source = db.connect().await.unwrap();
    let kept = db.url().with_database(&target).connect().await.unwrap();
    let both = |sql: &'static str| {
        let (source, kept) = (&source, &kept);
        async move {
            (
                support::scalar_i64(source, sql).await,
                support::scalar_i64(kept, sql).await,
            )
        }
    };
    // The selected rides, and all of their payments, ratings and predictions.
    let (all, subset_rides) = both("SELECT count(*) FROM rides").await;
    let (selected, _) = both("SELECT count(*) FROM rides WHERE id % 10 = 0").await;
    assert_eq!(subset_rides, selected);
    assert!(subset_rides < all);
    for sql in [
        "SELECT count(*) FROM payments WHERE ride_id % 10 = 0",
        "SELECT count(*) FROM ratings WHERE ride_id % 10 = 0",
        "SELECT count(*) FROM eta_predictions WHERE ride_id % 10 = 0",
    ] {
        let (expected, got) = both(sql).await;
        assert!(expected > 0, "{sql}");
        assert_eq!(got, expected, "{sql}");
    }
    // Nothing else of the subset's tables, and only users something kept refers to.
    let (_, other_payments) = both("SELECT count(*) FROM payments WHERE ride_id % 10 <> 0").await;
    assert_eq!(other_payments, 0);
    let (all_users, users) = both("SELECT count(*) FROM users").await;
    assert!(users < all_users, "{users} of {all_users}");
    let (_, riders_missing) = both(
        "SELECT count(*) FROM rides r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.rider_id)",
    )
    .await;
    assert_eq!(riders_missing, 0);
    let (_, unreferenced) = both(
        "SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM rides r WHERE u.id IN (r.rider_id, r.driver_id)) \
         AND NOT EXISTS (SELECT 1 FROM drivers d WHERE d.user_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.payer_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM ratings g WHERE u.id IN (g.rater_id, g.ratee_id)) \
         AND NOT EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM promo_redemptions x WHERE x.user_id = u.id)",
    )
    .await;
    assert_eq!(unreferenced, 0);
    // Every foreign key was created (validated) on the subset.
    let (fks, subset_fks) = both(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated \
         AND connamespace = 'public'::regnamespace",
    )
    .await;
    assert_eq!(fks, subset_fks);
    drop_db(db.url(), &target).await;
}

#[tokio::test]
async fn masked_backups_hold_no_original_value_and_restore_plainly() {
    let db = heavy().await;
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBackupStore::open(&format!("file://{}", dir.path().display())).unwrap();
    let report = Backup::new(
        db.url().clone(),
        store.clone(),
        BackupOptions::default().with_mask(masking(KEY)),
    )
    .run()
    .await
    .unwrap();
    assert!(report.manifest.tables["public.users"] > 0);
    // The stored objects (zstd) hold no original email once decompressed: restore and look.
    let target = unique("from_masked_backup");
    PgRestorer::new(db.url().clone(), store.clone())
        .restore(
            &RestoreOptions::default()
                .with_selector(BackupSelector::Id(report.manifest.id.clone()))
                .with_target(into_new(&target)),
        )
        .await
        .unwrap();
    let restored = db.url().with_database(&target);
    let (dump, _) = dumped_fields(&restored);
    let emails = column_values(db.url(), "users", "id", "email").await;
    assert!(emails.len() > 500);
    for email in emails.values().flatten() {
        assert!(
            !dump.contains(email.as_str()),
            "an original email is in the backup"
        );
    }
    // A masked backup equals a masked restore of a plain backup with the same key.
    let (_plain_dir, plain_store) = backed_up(&db).await;
    let masked_restore = unique("masked_restore");
    PgRestorer::new(db.url().clone(), plain_store)
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&masked_restore))
                .with_mask(masking(KEY)),
        )
        .await
        .unwrap();
    assert_eq!(
        checksums(&restored).await,
        checksums(&db.url().with_database(&masked_restore)).await
    );
    for name in [&target, &masked_restore] {
        drop_db(db.url(), name).await;
    }
}

/// A binary backup keeps the tables it masks in text (and the others binary) and restores to what a
/// masked restore of a text backup gives; so does a masked restore of a plain binary backup, which
/// decodes the binary rows of masked tables to text for their maskers.
#[tokio::test]
async fn binary_backups_mask_in_text_and_masked_restores_decode_binary_rows() {
    use dbops::backup::CopyFormat;
    let db = heavy().await;
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBackupStore::open(&format!("file://{}", dir.path().display())).unwrap();
    let masked = Backup::new(
        db.url().clone(),
        store.clone(),
        BackupOptions::default()
            .with_mask(masking(KEY))
            .with_copy_format(CopyFormat::Binary),
    )
    .run()
    .await
    .unwrap();
    let format_of = |table: &str| {
        masked
            .manifest
            .parts
            .iter()
            .find(|p| p.qualified() == table)
            .map(|p| p.format)
    };
    assert_eq!(format_of("public.users"), Some(CopyFormat::Text));
    assert_eq!(format_of("public.rides"), Some(CopyFormat::Text));
    assert_eq!(
        format_of("public.eta_predictions"),
        Some(CopyFormat::Binary)
    );
    assert_eq!(masked.manifest.manifest_version, 3);
    let from_binary = unique("masked_binary");
    PgRestorer::new(db.url().clone(), store.clone())
        .restore(
            &RestoreOptions::default()
                .with_selector(BackupSelector::Id(masked.manifest.id.clone()))
                .with_target(into_new(&from_binary)),
        )
        .await
        .unwrap();
    let (_text_dir, text_store) = backed_up(&db).await;
    let from_text = unique("masked_text");
    PgRestorer::new(db.url().clone(), text_store)
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&from_text))
                .with_mask(masking(KEY)),
        )
        .await
        .unwrap();
    assert_eq!(
        checksums(&db.url().with_database(&from_binary)).await,
        checksums(&db.url().with_database(&from_text)).await
    );
    // Binary rows of tables with rules are decoded to text and masked on restore: the same database.
    let binary = Backup::new(
        db.url().clone(),
        store.clone(),
        BackupOptions::default().with_copy_format(CopyFormat::Binary),
    )
    .run()
    .await
    .unwrap();
    let users = binary
        .manifest
        .parts
        .iter()
        .find(|p| p.qualified() == "public.users");
    assert_eq!(users.map(|p| p.format), Some(CopyFormat::Binary));
    let decoded = unique("decoded");
    PgRestorer::new(db.url().clone(), store)
        .restore(
            &RestoreOptions::default()
                .with_selector(BackupSelector::Id(binary.manifest.id.clone()))
                .with_target(into_new(&decoded))
                .with_mask(masking(KEY)),
        )
        .await
        .unwrap();
    assert_eq!(
        checksums(&db.url().with_database(&decoded)).await,
        checksums(&db.url().with_database(&from_text)).await
    );
    for name in [&from_binary, &from_text, &decoded] {
        drop_db(db.url(), name).await;
    }
}

/// Every column of `every_type` but `secret`, as one row text per row, in id order.
async fn every_type_rows(url: &DatabaseUrl) -> Vec<String> {
    let client = url.connect().await.unwrap();
    let columns: Vec<String> = client
        .query(
            "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = 'every_type'::regclass \
             AND attnum > 0 AND NOT attisdropped AND attname <> 'secret' ORDER BY attnum",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let sql = format!(
        "SELECT ROW({})::text FROM every_type ORDER BY id",
        columns.join(", ")
    );
    client
        .query(&sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Every type a backup may store in binary, edge values included (NaN, infinities, BC dates, 24:00,
/// offsets with seconds, array bounds, quoting, NULLs), reads back exactly after a masked restore
/// decoded its binary rows to text.
#[tokio::test]
async fn masked_restores_decode_binary_rows_of_every_type_exactly() {
    use dbops::backup::CopyFormat;
    let (db, _dir, store, backup) = support::every_binary_type_backup().await;
    let part = backup
        .manifest
        .parts
        .iter()
        .find(|p| p.name == "every_type");
    assert_eq!(part.map(|p| p.format), Some(CopyFormat::Binary));
    let rules = "[tables.every_type]\nsecret = \"null\"\nip = \"keep\"\ncd = \"keep\"\n\
                 mac = \"keep\"\nmac8 = \"keep\"\n";
    let rules = MaskRules::parse(rules, "every.toml").unwrap();
    let target = unique("every_type");
    PgRestorer::new(db.url().clone(), store)
        .restore(
            &RestoreOptions::default()
                .with_selector(BackupSelector::Id(backup.manifest.id.clone()))
                .with_target(into_new(&target))
                .with_mask(Arc::new(Masking::new(rules, MaskKey::new(KEY).unwrap()))),
        )
        .await
        .unwrap();
    let restored = db.url().with_database(&target);
    let source_rows = every_type_rows(db.url()).await;
    assert_eq!(source_rows.len(), 5);
    assert_eq!(every_type_rows(&restored).await, source_rows);
    let secrets: i64 = restored
        .connect()
        .await
        .unwrap()
        .query_one("SELECT count(secret) FROM every_type", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(secrets, 0);
    drop_db(db.url(), &target).await;
}

#[tokio::test]
async fn drafted_rules_fit_their_schema_and_report_its_later_changes() {
    let db = heavy().await;
    let draft = dbops::mask::draft_for_database(db.url()).await.unwrap();
    assert!(
        draft.contains("email = \"fake_email\"  # looks personal"),
        "{draft}"
    );
    assert!(
        draft.contains("[tables.rides]") && draft.contains("complete = true"),
        "{draft}"
    );
    let masking = Masking::new(
        MaskRules::parse(&draft, "draft.toml").unwrap(),
        MaskKey::new(KEY).unwrap(),
    );
    let check = dbops::mask::check_database(db.url(), &masking)
        .await
        .unwrap();
    assert!(check.ok(), "{check:?}");
    assert!(check.masked_columns >= 15, "{check:?}");

    // The schema moves on: a column added, a table renamed. Both are reported before anything runs.
    let client = db.connect().await.unwrap();
    client
        .batch_execute(
            "ALTER TABLE rides ADD COLUMN surge_multiplier numeric; \
             ALTER TABLE promo_codes RENAME TO promotions",
        )
        .await
        .unwrap();
    let check = dbops::mask::check_database(db.url(), &masking)
        .await
        .unwrap();
    let problems: Vec<(ProblemKind, &str)> = check
        .problems
        .iter()
        .map(|p| (p.kind, p.location.as_str()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (ProblemKind::SchemaChanged, "public.promo_codes"),
            (ProblemKind::SchemaChanged, "public.promotions"),
            (ProblemKind::SchemaChanged, "public.rides.surge_multiplier"),
        ],
        "{check:?}"
    );
}

/// A database of its own with `sql` applied.
async fn database_with(sql: &str) -> TestDatabase {
    let db = support::empty_databases().await.create().await.unwrap();
    db.connect()
        .await
        .unwrap()
        .batch_execute(sql)
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn subsets_follow_self_references_and_cycles_between_tables() {
    let db = database_with(
        "CREATE TABLE employees (id int PRIMARY KEY, manager_id int REFERENCES employees, name text);
         INSERT INTO employees VALUES (1, NULL, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, NULL, 'd'), (5, 4, 'e');
         CREATE TABLE customers (id int PRIMARY KEY, first_order_id int);
         CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers,
                              handled_by int REFERENCES employees);
         INSERT INTO customers SELECT i, NULL FROM generate_series(1, 6) i;
         INSERT INTO orders SELECT i, (i - 1) % 6 + 1, CASE WHEN i = 8 THEN 5 END FROM generate_series(1, 12) i;
         UPDATE customers SET first_order_id = id;
         ALTER TABLE customers ADD FOREIGN KEY (first_order_id) REFERENCES orders;",
    )
    .await;
    let (_dir, store) = backed_up(&db).await;
    let target = unique("cycles");
    PgRestorer::new(db.url().clone(), store)
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&target))
                .with_subset(vec![
                    "employees: id = 3".parse().unwrap(),
                    "orders: id IN (8, 10)".parse().unwrap(),
                ]),
        )
        .await
        .unwrap();
    let client = db.url().with_database(&target).connect().await.unwrap();
    let ids = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, i32>(0))
                .collect::<Vec<_>>()
        }
    };
    // The selected employee with the managers above it, and the handler of a kept order.
    assert_eq!(
        ids("SELECT id FROM employees ORDER BY id").await,
        [1, 2, 3, 4, 5]
    );
    // Orders 8 and 10, their customers (2 and 4), and those customers' first orders (2 and 4).
    assert_eq!(
        ids("SELECT id FROM orders ORDER BY id").await,
        [2, 4, 8, 10]
    );
    assert_eq!(ids("SELECT id FROM customers ORDER BY id").await, [2, 4]);
    drop_db(db.url(), &target).await;
}

#[tokio::test]
async fn rows_land_in_their_columns_when_the_new_table_orders_them_otherwise() {
    // A column added to a parent after its child: the child has it last, a restored child (created
    // with INHERITS) has it among the inherited columns, before the child's own.
    let db = database_with(
        "CREATE TABLE people (id int PRIMARY KEY, nickname text);
         CREATE TABLE riders (note text) INHERITS (people);
         ALTER TABLE people ADD COLUMN email text;
         INSERT INTO riders (id, nickname, note, email)
           SELECT i, 'nick' || i, 'note ' || i, 'rider' || i || '@mail.test' FROM generate_series(1, 50) i;",
    )
    .await;
    let (_dir, store) = backed_up(&db).await;
    let restorer = PgRestorer::new(db.url().clone(), store);
    let plain = unique("inherit_plain");
    restorer
        .restore(&RestoreOptions::default().with_target(into_new(&plain)))
        .await
        .unwrap();
    let source = column_values(db.url(), "ONLY riders", "id", "note").await;
    let restored =
        column_values(&db.url().with_database(&plain), "ONLY riders", "id", "note").await;
    assert_eq!(source, restored);
    let rules = MaskRules::parse(
        "[tables.riders]\nemail = \"fake_email\"\n[tables.people]\nemail = \"fake_email\"\n",
        "inherit.toml",
    )
    .unwrap();
    let masked = unique("inherit_masked");
    restorer
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&masked))
                .with_mask(Arc::new(
                    Masking::new(rules, MaskKey::new(KEY).unwrap())
                        .allow_unmasked(["riders.nickname", "people.nickname"]),
                )),
        )
        .await
        .unwrap();
    let masked_url = db.url().with_database(&masked);
    assert_eq!(
        column_values(&masked_url, "ONLY riders", "id", "note").await,
        source
    );
    let emails = column_values(&masked_url, "ONLY riders", "id", "email").await;
    assert!(
        emails
            .values()
            .flatten()
            .all(|e| e.ends_with("@example.com")),
        "{emails:?}"
    );
    for name in [&plain, &masked] {
        drop_db(db.url(), name).await;
    }
}

#[tokio::test]
async fn partitions_follow_their_partitioned_tables_rules() {
    let db = database_with(
        "CREATE TABLE signups (id int, email text, at date) PARTITION BY RANGE (at);
         CREATE TABLE signups_2024 PARTITION OF signups FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE TABLE signups_2025 PARTITION OF signups FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         INSERT INTO signups SELECT i, 'person' || i || '@mail.test', date '2024-06-01' + i * 2
           FROM generate_series(1, 200) i;",
    )
    .await;
    let (_dir, store) = backed_up(&db).await;
    let restorer = PgRestorer::new(db.url().clone(), store);
    let rules = MaskRules::parse("[tables.signups]\nemail = \"fake_email\"\n", "p.toml").unwrap();
    let masking = Arc::new(Masking::new(rules, MaskKey::new(KEY).unwrap()));
    let target = unique("partitions");
    let report = restorer
        .restore(
            &RestoreOptions::default()
                .with_target(into_new(&target))
                .with_mask(masking.clone())
                .with_subset(vec!["signups: id % 2 = 0".parse().unwrap()]),
        )
        .await
        .unwrap();
    assert_eq!(report.masking.unwrap().masked_tables, 2);
    let emails = column_values(&db.url().with_database(&target), "signups", "id", "email").await;
    assert_eq!(emails.len(), 100);
    assert!(
        emails
            .values()
            .flatten()
            .all(|e| e.ends_with("@example.com"))
    );
    drop_db(db.url(), &target).await;
}
