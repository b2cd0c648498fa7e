//! `dbops mask init/check`, `dbops restore --mask --subset` and `dbops backup --mask` through the real
//! binary, on a cluster seeded with the reference schema: the staging workflow from a rules file to a
//! masked copy, with the key only in the environment.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::output_text as text;
use dbops::seed::PgSeeder;
use dbops::{Listen, MigrationSource, Migrator, PgMigrator, Profile, SeedOptions, TempCluster};

const KEY: &str = "cli-staging-key-0123456789abcdef";

fn dbops(url: &str, store: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbops"))
        .env("DATABASE_URL", url)
        .env("DBOPS_STORE", store)
        .env("DBOPS_MASK_KEY", KEY)
        .args(args)
        .output()
        .unwrap()
}

fn example_rules() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/masking/rides.toml")
        .display()
        .to_string()
}

async fn emails(url: &dbops::DatabaseUrl) -> Vec<String> {
    let client = url.connect().await.unwrap();
    client
        .query("SELECT email FROM users ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn staging_copy_from_rules_to_masked_subset() {
    let cluster = TempCluster::builder()
        .listen(Listen::Tcp)
        .start()
        .await
        .unwrap();
    let url = cluster.tcp_url().unwrap();
    let source =
        MigrationSource::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
            .unwrap();
    PgMigrator::new(url.clone(), source).up(None).await.unwrap();
    PgSeeder::new(url.clone())
        .seed(Profile::Medium, &SeedOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("prod").display());
    let raw = url.expose();

    // A draft for the database checks clean; a file that exists is never overwritten.
    let draft = dir.path().join("draft.toml");
    let out = dbops(
        &raw,
        &store,
        &["mask", "init", "-o", draft.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let drafted = std::fs::read_to_string(&draft).unwrap();
    assert!(drafted.contains("full_name = \"fake_name\""), "{drafted}");
    let out = dbops(
        &raw,
        &store,
        &["mask", "init", "-o", draft.to_str().unwrap()],
    );
    assert!(!out.status.success() && text(&out).contains("must not exist"));
    let out = dbops(&raw, &store, &["mask", "check", draft.to_str().unwrap()]);
    assert!(
        out.status.success() && text(&out).contains("fits database"),
        "{}",
        text(&out)
    );

    // A broken rules file: the line and the fix are named, exit status 1.
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(example_rules())
            .unwrap()
            .replace("phone = {", "# phone = {"),
    )
    .unwrap();
    let out = dbops(&raw, &store, &["mask", "check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("public.users.phone looks personal")
            && text(&out).contains("--allow-unmasked users.phone"),
        "{}",
        text(&out)
    );
    let out = dbops(
        &raw,
        &store,
        &[
            "mask",
            "check",
            broken.to_str().unwrap(),
            "--allow-unmasked",
            "users.phone",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));

    // Back up production, then a masked 20% subset into staging.
    let out = dbops(&raw, &store, &["backup"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = dbops(
        &raw,
        &store,
        &[
            "restore",
            "--mask",
            &example_rules(),
            "--subset",
            "rides: id % 5 = 0",
            "--into",
            "staging",
            "--create",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("masked 25 columns in 8 tables") && said.contains("subset: removed"),
        "{said}"
    );
    assert!(!said.contains(KEY), "{said}");
    let production = emails(&url).await;
    let staging = emails(&url.with_database("staging")).await;
    assert!(!staging.is_empty() && staging.len() < production.len());
    assert!(staging.iter().all(|e| !production.contains(e)));
    let client = url.with_database("staging").connect().await.unwrap();
    let odd: i64 = client
        .query_one("SELECT count(*) FROM rides WHERE id % 5 <> 0", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(odd, 0);

    // A masked backup into another store, restored as it is: the same masked emails.
    let shared = format!("file://{}", dir.path().join("shared").display());
    let out = dbops(&raw, &shared, &["backup", "--mask", &example_rules()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = dbops(
        &raw,
        &shared,
        &[
            "restore",
            "--from-database",
            &url.database(),
            "--into",
            "shared_copy",
            "--create",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let shared_emails = emails(&url.with_database("shared_copy")).await;
    assert_eq!(shared_emails.len(), production.len());
    assert!(staging.iter().all(|e| shared_emails.contains(e)));
    assert!(shared_emails.iter().all(|e| !production.contains(e)));

    // Without the key: a clear error naming the variable, nothing created.
    let out = Command::new(env!("CARGO_BIN_EXE_dbops"))
        .env("DATABASE_URL", &raw)
        .env("DBOPS_STORE", &store)
        .env_remove("DBOPS_MASK_KEY")
        .args([
            "restore",
            "--mask",
            &example_rules(),
            "--into",
            "nokey",
            "--create",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("DBOPS_MASK_KEY is not set"),
        "{}",
        text(&out)
    );
}
