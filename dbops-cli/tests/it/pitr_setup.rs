//! `pitr setup` and the archive_command / restore_command builder: every store URL, however hostile,
//! becomes a command that `/bin/sh` runs as one argument per word (the segment arrives at the intended
//! key, a canary file is never created), PostgreSQL's own archiver archives through it, encryption
//! given to setup is in the command, credentials are refused and never shown or written, and a
//! passphrase variable missing from the server's environment is found before anything is written.

use crate::support;
use dbops::BackupStore;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::output_text as text;
use dbops::backup::{Decryption, generate_key_pair};
use dbops::pitr::{self, PitrOptions, WalCommands};
use dbops::{ObjectBackupStore, TempCluster};

const DBOPS: &str = env!("CARGO_BIN_EXE_dbops");
const SECRET: &str = "SUPERSECRET-must-never-show";

/// Directory names that break or exploit an unquoted command, each with the canary it would create.
fn hostile_names(canary: &Path) -> Vec<String> {
    let c = canary.display();
    vec![
        "wal archive".to_string(),
        format!("x;touch {c}"),
        format!("$(touch {c})"),
        format!("`touch {c}`"),
        format!("it's \"quoted\" $HOME"),
        "ünïcødé ✓".to_string(),
        "50% %p %f %% %r".to_string(),
        format!("a' ; touch {c} ; '"),
        "-dash".to_string(),
    ]
}

/// What PostgreSQL does with archive_command before `/bin/sh -c`: `%p`/`%f` replaced, `%%` -> `%`.
fn expand_placeholders(command: &str, path: &str, file: &str) -> String {
    let mut out = String::new();
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('p') => out.push_str(path),
            Some('f') => out.push_str(file),
            Some('%') => out.push('%'),
            _ => {
                out.push('%');
                continue;
            }
        }
        chars.next();
    }
    out
}

fn sh(command: &str, cwd: &Path) -> Output {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[tokio::test]
async fn archive_and_restore_commands_round_trip_through_the_shell() {
    let scratch = tempfile::tempdir().unwrap();
    let segment = support::wal_segment_copy(scratch.path()).await;
    let name = segment.file_name().unwrap().to_str().unwrap().to_string();
    let canary = scratch.path().join("canary");
    for hostile in hostile_names(&canary) {
        let dir = scratch.path().join(&hostile);
        for url in [
            dir.display().to_string(),
            format!("file://{}", dir.display()),
        ] {
            let commands = WalCommands::new(&url).program(DBOPS);
            let archive = commands.archive_command().unwrap();
            let run = expand_placeholders(&archive, segment.to_str().unwrap(), &name);
            let out = sh(&run, scratch.path());
            assert!(out.status.success(), "{archive}\n{}", text(&out));
            assert!(!canary.exists(), "{archive} ran an injected command");
            // The segment is in the intended store, at its key, and nowhere else.
            let store = ObjectBackupStore::open(&format!("file://{}", dir.display())).unwrap();
            let keys: Vec<String> = store
                .list("")
                .await
                .unwrap()
                .into_iter()
                .map(|o| o.key)
                .collect();
            assert_eq!(keys, [format!("wal/00000001/{name}")], "{archive}");

            // And restore_command brings it back, byte for byte.
            let restore = commands.restore_command().unwrap();
            let target = scratch.path().join("RESTORED");
            let run = expand_placeholders(&restore, target.to_str().unwrap(), &name);
            let out = sh(&run, scratch.path());
            assert!(out.status.success(), "{restore}\n{}", text(&out));
            assert_eq!(
                std::fs::read(&target).unwrap(),
                std::fs::read(&segment).unwrap()
            );
            assert!(!canary.exists(), "{restore} ran an injected command");
            std::fs::remove_file(&target).unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

/// `dbops pitr setup` on a live cluster: a hostile, encrypted store applied with ALTER SYSTEM, then
/// PostgreSQL's archiver archives through it; the archive cannot be read without the identity.
#[tokio::test]
async fn setup_apply_archives_through_postgres_encrypted_and_injects_nothing() {
    let scratch = support::shared_dir();
    let canary = scratch.path().join("canary");
    let archive = scratch
        .path()
        .join(format!("wal archive;touch {}", canary.display()));
    // The name holds `/`: every directory on the way must be the server account's too.
    std::fs::create_dir_all(&archive).unwrap();
    for dir in archive.ancestors().take_while(|d| *d != scratch.path()) {
        support::open_to_all(dir);
    }
    let keys = generate_key_pair();
    let cluster = TempCluster::builder()
        .archive_command("/bin/false")
        .start()
        .await
        .unwrap();
    let url = cluster.url();
    let store_url = format!("file://{}", archive.display());
    let out = Command::new(DBOPS)
        .env("DATABASE_URL", url.expose())
        .args(["--json", "pitr", "setup", "--apply", "--store", &store_url])
        .args(["--recipient", &keys.recipient, "--level", "3"])
        .args(["--dbops-program", DBOPS])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let command = support::json_item(&items, "archive_command")["wanted"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(command.contains(&keys.recipient), "{command}");
    assert!(command.contains("--level 3"), "{command}");

    // PostgreSQL's archiver now runs it (reloaded): switch WAL and wait for the segment.
    let client = url.connect().await.unwrap();
    let segment: String = client
        .query_one(
            "SELECT pg_walfile_name(pg_current_wal_lsn()) FROM pg_switch_wal()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let store = ObjectBackupStore::open(&store_url).unwrap();
    let key = format!("wal/00000001/{segment}");
    let mut archived = false;
    for _ in 0..300 {
        if store.head(&key).await.unwrap().is_some() {
            archived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(archived, "{key} not archived\n{}", cluster.log_tail(20));
    assert!(!canary.exists(), "the archiver ran an injected command");

    // Encrypted: unreadable without the identity, readable with it.
    let target = scratch.path().join("fetched");
    let without = pitr::fetch(&store, &segment, &target, &PitrOptions::default()).await;
    assert!(
        without.is_err(),
        "read an encrypted segment without a key: {without:?}"
    );
    let with_key = PitrOptions::default().with_decryption(
        Decryption::none()
            .with_identity_text(&keys.identity)
            .unwrap(),
    );
    pitr::fetch(&store, &segment, &target, &with_key)
        .await
        .unwrap();
    cluster.stop().await.unwrap();
}

fn auto_conf(cluster: &TempCluster) -> String {
    std::fs::read_to_string(cluster.data_dir().join("postgresql.auto.conf")).unwrap_or_default()
}

/// Credentials are refused wherever they are given, and appear in no output, no `--json`, and not in
/// `postgresql.auto.conf`, after refused and accepted calls alike.
#[tokio::test]
async fn credentials_are_refused_and_never_shown_or_written() {
    let cluster = TempCluster::builder()
        .archive_command("/bin/false")
        .start()
        .await
        .unwrap();
    let url = cluster.url().expose().to_string();
    let setup = |extra: &[&str]| {
        Command::new(DBOPS)
            .env("DATABASE_URL", &url)
            .args(["pitr", "setup", "--store", "s3://bucket/my prefix"])
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = [
        vec![
            "--apply",
            "--store-option",
            "aws_secret_access_key=SUPERSECRET-must-never-show",
        ],
        vec![
            "--store-option",
            "aws_session_token=SUPERSECRET-must-never-show",
        ],
        vec![
            "--json",
            "--apply",
            "--store-option",
            "azure_storage_account_key=SUPERSECRET-must-never-show",
        ],
        vec![
            "--apply",
            "--store-option",
            "AWS_ACCESS_KEY_ID=SUPERSECRET-must-never-show",
        ],
    ];
    for args in refused {
        let out = setup(&args);
        // A refused option is bad usage: exit code 2.
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let shown = text(&out);
        assert!(
            !shown.contains(SECRET),
            "{args:?} showed the secret: {shown}"
        );
        assert!(
            shown.contains("environment") && shown.contains("nothing was written"),
            "{shown}"
        );
        assert!(!auto_conf(&cluster).contains(SECRET));
        assert!(!auto_conf(&cluster).contains("my prefix"), "{args:?} wrote");
    }
    // Accepted: non-secret options only; the command is quoted and written.
    let out = setup(&[
        "--json",
        "--apply",
        "--store-option",
        "aws_region=eu-west-1",
        "--dbops-program",
        DBOPS,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(SECRET));
    assert!(!auto_conf(&cluster).contains(SECRET));
    let current: String = cluster
        .url()
        .connect()
        .await
        .unwrap()
        .query_one("SELECT current_setting('archive_command')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        current.contains("--store 's3://bucket/my%%20prefix' --store-option aws_region=eu-west-1"),
        "{current}"
    );
    cluster.stop().await.unwrap();
}

/// A passphrase variable: setup says the server must have it, checks the server's environment, refuses
/// `--apply` (writing nothing) when it is missing, and archives with it when it is there.
#[tokio::test]
async fn a_passphrase_variable_is_checked_in_the_servers_environment() {
    let scratch = support::shared_dir();
    let archive = support::shared_subdir(scratch.path(), "archive");
    let store_url = format!("file://{}", archive.display());
    let without = TempCluster::builder()
        .archive_command("/bin/false")
        .start()
        .await
        .unwrap();
    let setup = |cluster: &TempCluster, apply: bool| {
        let mut command = Command::new(DBOPS);
        command
            .env("DATABASE_URL", cluster.url().expose())
            .env_remove("DBOPS_WAL_TEST_PASSPHRASE")
            .args(["--json", "pitr", "setup", "--store", &store_url])
            .args(["--encrypt-passphrase-env", "DBOPS_WAL_TEST_PASSPHRASE"])
            .args(["--dbops-program", DBOPS]);
        if apply {
            command.arg("--apply");
        }
        command.output().unwrap()
    };
    let dry = setup(&without, false);
    assert!(dry.status.success(), "{}", text(&dry));
    let items: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    let env = support::json_item(&items, "environment DBOPS_WAL_TEST_PASSPHRASE");
    assert_eq!(env["current"], "not set", "{env}");
    let refused = setup(&without, true);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("DBOPS_WAL_TEST_PASSPHRASE"),
        "{}",
        text(&refused)
    );
    assert!(!auto_conf(&without).contains("wal push"));
    without.stop().await.unwrap();

    let with = TempCluster::builder()
        .archive_command("/bin/false")
        .env("DBOPS_WAL_TEST_PASSPHRASE", "correct horse battery staple")
        .start()
        .await
        .unwrap();
    let applied = setup(&with, true);
    assert!(applied.status.success(), "{}", text(&applied));
    assert!(!text(&applied).contains("correct horse"));
    let client = with.url().connect().await.unwrap();
    let segment: String = client
        .query_one(
            "SELECT pg_walfile_name(pg_current_wal_lsn()) FROM pg_switch_wal()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let store = ObjectBackupStore::open(&store_url).unwrap();
    let target: PathBuf = scratch.path().join("fetched");
    let keys = PitrOptions::default()
        .with_decryption(Decryption::none().with_passphrase("correct horse battery staple"));
    let key = format!("wal/00000001/{segment}");
    for _ in 0..300 {
        if store.head(&key).await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fetched = pitr::fetch(&store, &segment, &target, &keys).await;
    assert!(
        fetched.as_ref().is_ok_and(|r| r.found),
        "not archived with the passphrase: {fetched:?}\n{}",
        with.log_tail(20)
    );
    assert!(
        pitr::fetch(&store, &segment, &target, &PitrOptions::default())
            .await
            .is_err()
    );
    with.stop().await.unwrap();
}
