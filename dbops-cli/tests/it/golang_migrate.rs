//! golang-migrate's command line, served by dbops: the guide's Makefile targets with `migrate` a link
//! to the `dbops` binary, and `dbops migrate` with golang-migrate's flags. The lines scripts parse
//! and the exit codes are golang-migrate's.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::empty_databases;

/// The guide's Makefile targets, as teams write them for golang-migrate.
const MAKEFILE: &str = "\
MIGRATIONS_DIR ?= db/migrations

migrate-up:
\tmigrate -path $(MIGRATIONS_DIR) -database \"$(DATABASE_URL)\" up

migrate-down:
\tmigrate -path $(MIGRATIONS_DIR) -database \"$(DATABASE_URL)\" down 1

migrate-version:
\tmigrate -path $(MIGRATIONS_DIR) -database \"$(DATABASE_URL)\" version

migrate-force:
\tmigrate -path $(MIGRATIONS_DIR) -database \"$(DATABASE_URL)\" force $(VERSION)

migrate-create:
\tmigrate create -ext sql -dir $(MIGRATIONS_DIR) -seq $(NAME)
";

/// A project directory with the Makefile and `bin/migrate` linked to dbops.
struct Project {
    dir: tempfile::TempDir,
    url: String,
    db: dbops::TestDatabase,
}

impl Project {
    async fn new() -> Self {
        let db = empty_databases().await.create().await.unwrap();
        let url = db.url().expose();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Makefile"), MAKEFILE).unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_dbops"), dir.path().join("bin/migrate"))
            .unwrap();
        Self { dir, url, db }
    }

    fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn make(&self, target: &[&str]) -> Output {
        Command::new("make")
            .args(["-s", "-C"])
            .arg(self.dir.path())
            .args(target)
            .env("PATH", self.path_env())
            .env("DATABASE_URL", &self.url)
            .output()
            .unwrap()
    }

    /// `migrate ARGS` with the database and the migrations directory given as golang-migrate takes
    /// them; `stdin` is typed in.
    fn migrate(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(self.dir.path().join("bin/migrate"))
            .current_dir(self.dir.path())
            .args(["-path", "db/migrations", "-database", &self.url])
            .args(args)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn write(&self, file: &str, sql: &str) {
        std::fs::write(self.dir.path().join("db/migrations").join(file), sql).unwrap();
    }

    fn migrations(&self) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(self.dir.path().join("db/migrations"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        files
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stderr_lines(out: &Output) -> Vec<String> {
    stderr(out).lines().map(str::to_string).collect()
}

/// `1/u add_user_preferences (12.3ms)` without the time.
fn applied_lines(out: &Output) -> Vec<String> {
    stderr_lines(out)
        .iter()
        .filter_map(|l| l.rsplit_once(" (").map(|(head, _)| head.to_string()))
        .collect()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
}

#[tokio::test]
async fn the_guides_makefile_targets_run_with_dbops_as_migrate() {
    let project = Project::new().await;

    let out = project.make(&["migrate-create", "NAME=add_user_preferences"]);
    assert_exit(&out, 0);
    let created = stderr_lines(&out);
    assert_eq!(created.len(), 2, "{created:?}");
    assert!(created[0].starts_with('/'), "absolute paths: {created:?}");
    assert!(created[0].ends_with("db/migrations/000001_add_user_preferences.up.sql"));
    assert!(created[1].ends_with("db/migrations/000001_add_user_preferences.down.sql"));
    assert_exit(&project.make(&["migrate-create", "NAME=add_ratings"]), 0);
    assert_eq!(
        project.migrations(),
        [
            "000001_add_user_preferences.down.sql",
            "000001_add_user_preferences.up.sql",
            "000002_add_ratings.down.sql",
            "000002_add_ratings.up.sql",
        ]
    );
    project.write(
        "000001_add_user_preferences.up.sql",
        "CREATE TABLE user_preferences (user_id bigint PRIMARY KEY, theme text);",
    );
    project.write(
        "000001_add_user_preferences.down.sql",
        "DROP TABLE user_preferences;",
    );
    project.write(
        "000002_add_ratings.up.sql",
        "CREATE TABLE ratings (ride_id bigint PRIMARY KEY, stars int);",
    );
    project.write("000002_add_ratings.down.sql", "DROP TABLE ratings;");

    let out = project.make(&["migrate-up"]);
    assert_exit(&out, 0);
    assert_eq!(
        applied_lines(&out),
        ["1/u add_user_preferences", "2/u add_ratings"]
    );
    let out = project.make(&["migrate-up"]);
    assert_exit(&out, 0);
    assert_eq!(stderr_lines(&out), ["no change"]);

    let out = project.make(&["migrate-version"]);
    assert_exit(&out, 0);
    assert_eq!(stderr(&out), "2\n");
    assert!(out.stdout.is_empty(), "golang-migrate prints on stderr");

    let out = project.make(&["migrate-down"]);
    assert_exit(&out, 0);
    assert_eq!(applied_lines(&out), ["2/d add_ratings"]);
    assert_eq!(stderr(&project.make(&["migrate-version"])), "1\n");

    assert_exit(&project.make(&["migrate-force", "VERSION=2"]), 0);
    assert_eq!(stderr(&project.make(&["migrate-version"])), "2\n");
    assert_exit(&project.make(&["migrate-force", "VERSION=1"]), 0);
    assert_eq!(stderr(&project.make(&["migrate-version"])), "1\n");

    // A failing target fails make.
    let out = project.make(&["migrate-force", "VERSION=x"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("error: can't read version argument V"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn golang_migrate_lines_and_exit_codes() {
    let project = Project::new().await;
    std::fs::create_dir_all(project.dir.path().join("db/migrations")).unwrap();

    let out = project.migrate(&["version"], "");
    assert_exit(&out, 1);
    assert_eq!(stderr(&out), "error: no migration\n");

    for (version, name) in [(1, "riders"), (2, "drivers"), (3, "cars")] {
        project.write(
            &format!("{version:06}_{name}.up.sql"),
            &format!("CREATE TABLE {name} (id int);"),
        );
        project.write(
            &format!("{version:06}_{name}.down.sql"),
            &format!("DROP TABLE {name};"),
        );
    }
    let out = project.migrate(&["up", "2"], "");
    assert_exit(&out, 0);
    assert_eq!(applied_lines(&out), ["1/u riders", "2/u drivers"]);
    let out = project.migrate(&["up", "5"], "");
    assert_exit(&out, 1);
    assert_eq!(applied_lines(&out), ["3/u cars"]);
    assert_eq!(stderr_lines(&out).last().unwrap(), "error: limit 4 short");

    let out = project.migrate(&["goto", "1"], "");
    assert_exit(&out, 0);
    assert_eq!(applied_lines(&out), ["3/d cars", "2/d drivers"]);

    // `down` without N asks first; only `y` agrees.
    let out = project.migrate(&["down"], "n\n");
    assert_exit(&out, 1);
    assert_eq!(
        stderr_lines(&out),
        [
            "Are you sure you want to apply all down migrations? [y/N]",
            "Not applying all down migrations"
        ]
    );
    assert_eq!(stderr(&project.migrate(&["version"], "")), "1\n");
    let out = project.migrate(&["down"], "y\n");
    assert_exit(&out, 0);
    assert_eq!(applied_lines(&out), ["1/d riders"]);
    let out = project.migrate(&["down", "-all"], "");
    assert_exit(&out, 0);
    assert_eq!(stderr_lines(&out), ["no change"]);

    // A migration that fails outside a transaction leaves the database dirty, as golang-migrate does.
    assert_exit(&project.migrate(&["up"], ""), 0);
    project.write(
        "000004_broken.up.sql",
        "-- dbops:no-transaction\nCREATE TABLE broken (id int);\nSELECT no_such_function();",
    );
    project.write("000004_broken.down.sql", "DROP TABLE IF EXISTS broken;");
    let out = project.migrate(&["up"], "");
    assert_exit(&out, 1);
    assert!(
        stderr_lines(&out)[0].starts_with("error: migration 4 (000004_broken.up.sql) failed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&project.migrate(&["version"], "")), "4 (dirty)\n");
    let out = project.migrate(&["up"], "");
    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        "error: Dirty database version 4. Fix and force version.\n"
    );
    assert_exit(&project.migrate(&["force", "3"], ""), 0);
    assert_eq!(stderr(&project.migrate(&["version"], "")), "3\n");

    // `drop` asks unless -f; then nothing is left, not even the version.
    let out = project.migrate(&["drop"], "\n");
    assert_exit(&out, 1);
    assert_eq!(
        stderr_lines(&out).last().unwrap(),
        "Aborted dropping the entire database schema"
    );
    assert_exit(&project.migrate(&["drop", "-f"], ""), 0);
    assert_eq!(
        stderr(&project.migrate(&["version"], "")),
        "error: no migration\n"
    );

    // Usage errors exit 2, as Go's flag package does.
    assert_exit(&project.migrate(&["-nope", "up"], ""), 2);
    assert_exit(&project.migrate(&[], ""), 2);
}

#[tokio::test]
async fn dbops_migrate_takes_golang_migrates_flags_and_url_parameters() {
    let project = Project::new().await;
    let dir = project.dir.path().join("db/migrations");
    std::fs::create_dir_all(&dir).unwrap();
    project.write("000001_riders.up.sql", "CREATE TABLE riders (id int);");
    project.write("000001_riders.down.sql", "DROP TABLE riders;");
    let url = format!(
        "{}{}x-migrations-table=team_migrations",
        project.url,
        if project.url.contains('?') { '&' } else { '?' }
    );
    let source = format!("file://{}", dir.display());
    let dbops = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dbops"))
            .args(["migrate", "-source", &source, "-database", &url])
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = dbops(&["up"]);
    assert_exit(&out, 0);
    assert_eq!(applied_lines(&out), ["1/u riders"]);
    assert_eq!(stderr(&dbops(&["version"])), "1\n");
    let client = project.db.connect().await.unwrap();
    let version: i64 = client
        .query_one("SELECT version FROM team_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 1);

    // A source that is not a directory is refused with what to use instead.
    let out = Command::new(env!("CARGO_BIN_EXE_dbops"))
        .args([
            "migrate",
            "-source",
            "github://org/repo",
            "-database",
            &url,
            "up",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("use -source file://DIR or -path DIR"));

    // `create` with -digits writes empty files, as golang-migrate does.
    let out = Command::new(env!("CARGO_BIN_EXE_dbops"))
        .args(["migrate", "create", "-ext", "sql", "-dir"])
        .arg(&dir)
        .args(["-seq", "-digits", "3", "add_cars"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(Path::new(&dir).join("002_add_cars.up.sql").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("002_add_cars.down.sql")).unwrap(),
        ""
    );
}
