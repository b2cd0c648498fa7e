//! Faults real operations meet, through the binary. SIGTERM and SIGINT (a scheduler stopping a job,
//! Ctrl-C) during backup, restore, seed and migrate: the command exits with 143 or 130 after cleaning
//! up what it started (no store lock, no staged or unpublished object, no staging database, no spool
//! directory, nothing half-written in the database); a second signal exits at once. A store or a
//! pg_wal that fills up: a clear error within seconds, nothing partial left.

use crate::support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dbops::{DatabaseUrl, TestDatabase};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::OnceCell;

/// A database with a table large enough that backing it up or restoring it takes seconds, and a
/// store holding one backup of it.
struct Big {
    db: TestDatabase,
    store: tempfile::TempDir,
}

async fn big() -> &'static Big {
    static BIG: OnceCell<Big> = OnceCell::const_new();
    BIG.get_or_init(|| async {
        let db = support::empty_databases().await.create().await.unwrap();
        db.connect()
            .await
            .unwrap()
            .batch_execute(
                "CREATE TABLE big (id int PRIMARY KEY, a text, b text); \
                 INSERT INTO big SELECT i, md5(i::text) || md5((i * 7)::text), md5((i * 31)::text) \
                 FROM generate_series(1, 1500000) i; \
                 CREATE INDEX big_a ON big (a);",
            )
            .await
            .unwrap();
        let store = tempfile::tempdir().unwrap();
        let out = dbops(db.url(), &["-q", "backup", "--store"])
            .arg(store.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", support::output_text(&out));
        Big { db, store }
    })
    .await
}

fn dbops(url: &DatabaseUrl, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbops"));
    command
        .env("DATABASE_URL", url.expose())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A running `dbops` whose stderr is collected as it comes.
struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(mut command: Command) -> Self {
        let mut child = command.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let collected = stderr.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = collected.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Self {
            child,
            stderr,
            reader: Some(reader),
        }
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the exit (at most `limit`); its code and how long it took.
    fn exit(mut self, limit: Duration) -> (Option<i32>, Duration, String) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                let took = started.elapsed();
                // Every line it wrote (the pipe ends with the process).
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return (status.code(), took, self.stderr());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        panic!("dbops did not exit within {limit:?}: {}", self.stderr());
    }
}

/// Polls `ready` every 10 ms until it holds (panics after 60 s, naming `what`), while `running`
/// still runs.
async fn wait_until<F, Fut>(running: &mut Running, what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !ready().await {
        assert!(
            running.running(),
            "dbops ended before {what}: {}",
            running.stderr()
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no {what} after 60 s: {}",
            running.stderr()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Sessions on `url`'s database whose running query contains `needle` (other than this one; other
/// tests share the server).
async fn sessions_running(url: &DatabaseUrl, needle: &str) -> i64 {
    let admin = url.with_database("postgres").connect().await.unwrap();
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
             AND state = 'active' AND strpos(query, $1) > 0 AND datname = $2",
            &[&needle, &url.database()],
        )
        .await
        .unwrap()
        .get(0)
}

/// The staging database of a restore into `target`, once it exists.
async fn staging_of(url: &DatabaseUrl, target: &str) -> Option<String> {
    let admin = url.with_database("postgres").connect().await.unwrap();
    admin
        .query_opt(
            "SELECT datname::text FROM pg_database WHERE starts_with(datname, 'dbops_restoring_') \
             AND shobj_description(oid, 'pg_database') LIKE $1",
            &[&format!("%\"{target}\"%")],
        )
        .await
        .unwrap()
        .map(|row| row.get(0))
}

#[tokio::test]
async fn sigterm_during_a_backup_leaves_no_lock_and_no_object() {
    let big = big().await;
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let store = tempfile::tempdir().unwrap();
        let mut command = dbops(big.db.url(), &["backup", "--store"]);
        command.arg(store.path());
        let mut running = Running::start(command);
        // The store lock is taken and the big table's upload has started.
        wait_until(&mut running, "an upload in the store", || async {
            let files = files_under(store.path());
            files.iter().any(|f| f.ends_with(".lock"))
                && files.iter().any(|f| f.to_string_lossy().contains('#'))
        })
        .await;
        running.signal(signal);
        let (code, took, stderr) = running.exit(Duration::from_secs(30));
        let expected = if signal == Signal::SIGTERM { 143 } else { 130 };
        assert_eq!(code, Some(expected), "{signal}: {stderr}");
        assert!(
            stderr.contains(&format!("interrupted by {signal}")),
            "{stderr}"
        );
        assert!(
            files_under(store.path()).is_empty(),
            "{signal} after {took:?} left {:?}",
            files_under(store.path())
        );
    }
}

#[tokio::test]
async fn sigterm_during_a_restore_into_a_new_database_leaves_no_staging_database_or_spool() {
    let big = big().await;
    let target = support::unique_name("int_restore");
    let tmp = tempfile::tempdir().unwrap();
    let mut command = dbops(
        big.db.url(),
        &["restore", "--into", &target, "--create", "--store"],
    );
    command.arg(big.store.path()).env("TMPDIR", tmp.path());
    let mut running = Running::start(command);
    let url = big.db.url().clone();
    wait_until(
        &mut running,
        "rows streaming into the staging database",
        || {
            let (url, target) = (url.clone(), target.clone());
            async move {
                match staging_of(&url, &target).await {
                    Some(staging) => {
                        sessions_running(&url.with_database(&staging), "COPY").await > 0
                    }
                    None => false,
                }
            }
        },
    )
    .await;
    running.signal(Signal::SIGTERM);
    let (code, _, stderr) = running.exit(Duration::from_secs(30));
    assert_eq!(code, Some(143), "{stderr}");
    let admin = big
        .db
        .url()
        .with_database("postgres")
        .connect()
        .await
        .unwrap();
    let staging: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE starts_with(datname, 'dbops_restoring_') \
             AND shobj_description(oid, 'pg_database') LIKE $1",
            &[&format!("%\"{target}\"%")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(staging, 0, "the staging database was left: {stderr}");
    assert!(!support::database_exists(big.db.url(), &target).await);
    assert!(
        files_under(tmp.path()).is_empty(),
        "{:?}",
        files_under(tmp.path())
    );
}

#[tokio::test]
async fn sigint_during_a_seed_writes_nothing() {
    let db = support::seeded_database("int", dbops::Profile::Light).await;
    let before = support::row_counts(db.url()).await;
    let mut running = Running::start(dbops(db.url(), &["seed", "heavy", "--truncate"]));
    let url = db.url().clone();
    wait_until(&mut running, "the seed's COPY", || {
        let url = url.clone();
        async move { sessions_running(&url, "COPY").await > 0 }
    })
    .await;
    running.signal(Signal::SIGINT);
    let (code, _, stderr) = running.exit(Duration::from_secs(30));
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(support::row_counts(db.url()).await, before);
}

#[tokio::test]
async fn sigterm_during_a_migration_rolls_it_back_and_releases_the_lock() {
    let db = support::empty_databases().await.create().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("1_slow.up.sql"),
        "CREATE TABLE t (id int); SELECT pg_sleep(60);",
    )
    .unwrap();
    std::fs::write(dir.path().join("1_slow.down.sql"), "DROP TABLE t;").unwrap();
    let mut command = dbops(db.url(), &["migrate", "up", "--source"]);
    command.arg(dir.path());
    let mut running = Running::start(command);
    let url = db.url().clone();
    wait_until(&mut running, "the migration's statement", || {
        let url = url.clone();
        async move { sessions_running(&url, "pg_sleep").await > 0 }
    })
    .await;
    running.signal(Signal::SIGTERM);
    let (code, took, stderr) = running.exit(Duration::from_secs(30));
    assert_eq!(code, Some(143), "{stderr}");
    assert!(took < Duration::from_secs(20), "{took:?}");
    let client = db.connect().await.unwrap();
    // dbops cancelled the statement before it exited: the server is not left running it.
    assert_eq!(sessions_running(db.url(), "pg_sleep").await, 0, "{stderr}");
    let table: Option<String> = client
        .query_one("SELECT to_regclass('t')::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(table, None, "the migration was not rolled back");
    let locks = support::scalar_i64(
        &client,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = \
         (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .await;
    assert_eq!(locks, 0);
    let out = dbops(db.url(), &["migrate", "version", "--source"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let text = support::output_text(&out);
    assert!(!text.contains("dirty"), "{text}");
}

/// A second signal while the clean-up runs (held up by a failpoint) exits at once.
#[cfg(feature = "failpoints")]
#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let big = big().await;
    let store = tempfile::tempdir().unwrap();
    let mut command = dbops(big.db.url(), &["backup", "--store"]);
    command
        .arg(store.path())
        .env("FAILPOINTS", "cleanup::start=sleep(30000)");
    let mut running = Running::start(command);
    wait_until(&mut running, "an upload in the store", || async {
        files_under(store.path())
            .iter()
            .any(|f| f.to_string_lossy().contains('#'))
    })
    .await;
    running.signal(Signal::SIGTERM);
    let stderr = running.stderr.clone();
    wait_until(&mut running, "the clean-up message", || {
        let stderr = stderr.clone();
        async move { stderr.lock().unwrap().contains("cleaning up") }
    })
    .await;
    running.signal(Signal::SIGTERM);
    let (code, took, stderr) = running.exit(Duration::from_secs(10));
    assert_eq!(code, Some(143), "{stderr}");
    assert!(took < Duration::from_secs(5), "{took:?}: {stderr}");
    assert!(stderr.contains("exiting without cleaning up"), "{stderr}");
}

/// `command` with files limited to `bytes` (RLIMIT_FSIZE, SIGXFSZ ignored): every write past that
/// size fails with EFBIG, as writes into a full store fail with ENOSPC.
fn with_file_size_limit(mut command: Command, bytes: u64) -> Command {
    use nix::sys::resource::{Resource, setrlimit};
    use nix::sys::signal::{SigHandler, signal};
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls (setrlimit, sigaction) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            signal(Signal::SIGXFSZ, SigHandler::SigIgn).map_err(std::io::Error::from)?;
            setrlimit(Resource::RLIMIT_FSIZE, bytes, bytes).map_err(std::io::Error::from)
        });
    }
    command
}

/// A store that fills up during a backup (in every format, with one connection, and before a
/// migration): the command ends within seconds with the store's error, nothing but the failure record
/// is left in the store (no lock, no partial object), and the database's tables are free for DDL.
#[tokio::test]
async fn a_full_store_ends_the_backup_with_its_error_and_leaves_nothing() {
    let big = big().await;
    let migrations = tempfile::tempdir().unwrap();
    std::fs::write(
        migrations.path().join("1_t.up.sql"),
        "CREATE TABLE t (id int);",
    )
    .unwrap();
    std::fs::write(migrations.path().join("1_t.down.sql"), "DROP TABLE t;").unwrap();
    let cases: [&[&str]; 4] = [
        &["backup"],
        &["backup", "--format", "custom"],
        &["backup", "-j", "1", "--compression", "none"],
        &["migrate", "up", "--backup-to"],
    ];
    for args in cases {
        let store = tempfile::tempdir().unwrap();
        let mut command = dbops(big.db.url(), args);
        match args[0] {
            "backup" => command.arg("--store").arg(store.path()),
            _ => command
                .arg(store.path())
                .arg("--source")
                .arg(migrations.path()),
        };
        let running = Running::start(with_file_size_limit(command, 5 << 20));
        let (code, took, stderr) = running.exit(Duration::from_secs(60));
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("File too large"), "{args:?}: {stderr}");
        let left: Vec<PathBuf> = files_under(store.path())
            .into_iter()
            .filter(|f| !f.to_string_lossy().contains("/failures/"))
            .collect();
        assert!(left.is_empty(), "{args:?} after {took:?} left {left:?}");
        let client = big.db.connect().await.unwrap();
        client
            .batch_execute(
                "SET lock_timeout = '2s'; BEGIN; ALTER TABLE big ADD COLUMN c int; ROLLBACK;",
            )
            .await
            .unwrap_or_else(|e| panic!("{args:?}: a table is still locked: {e}"));
    }
}

/// `wal fetch` into a directory that fills up fails with the file system's error and leaves no
/// partial file in it.
#[tokio::test]
async fn a_full_wal_directory_fails_the_fetch_and_leaves_no_partial_file() {
    let scratch = tempfile::tempdir().unwrap();
    let wal = support::wal_segment_copy(scratch.path()).await;
    let name = wal.file_name().unwrap().to_string_lossy().to_string();
    let store = tempfile::tempdir().unwrap();
    let url = support::cluster().await.url();
    let out = dbops(&url, &["-q", "wal", "push", "--store"])
        .arg(store.path())
        .arg(&wal)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::output_text(&out));
    let pg_wal = tempfile::tempdir().unwrap();
    let mut command = dbops(&url, &["wal", "fetch", "--prefetch", "0", "--store"]);
    command
        .arg(store.path())
        .arg(&name)
        .arg(pg_wal.path().join(&name));
    let (code, _, stderr) =
        Running::start(with_file_size_limit(command, 1 << 20)).exit(Duration::from_secs(60));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert_eq!(files_under(pg_wal.path()), Vec::<PathBuf>::new());
}

/// Bad usage exits with 2 before anything is done; a `db kill` that terminated nothing exits with 1.
#[tokio::test]
async fn bad_usage_exits_2_before_doing_anything() {
    let db = support::seeded_database("int", dbops::Profile::Light).await;
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let before = support::row_counts(db.url()).await;
    let run = |url: &DatabaseUrl, args: &[&str]| {
        let out = dbops(url, args).stdout(Stdio::piped()).output().unwrap();
        (out.status.code(), support::output_text(&out))
    };
    let cases: [&[&str]; 5] = [
        &["restore", "--store", store, "--before", "yesterday-ish"],
        &["seed", "light", "--scale", "0", "--append"],
        &["restore", "--store", store, "--into", "", "--create"],
        &["pitr", "restore-point", "before\nmigration"],
        &[
            "restore",
            "--store",
            store,
            "--into",
            &"x".repeat(64),
            "--create",
        ],
    ];
    for args in cases {
        let (code, text) = run(db.url(), args);
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(text.contains("invalid"), "{args:?}: {text}");
    }
    let bad_port = DatabaseUrl::parse("postgres://u@127.0.0.1:1/db").unwrap();
    let mut command = dbops(&bad_port, &["db", "status"]);
    command.env("DATABASE_URL", "postgres://u@127.0.0.1:99999/db");
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", support::output_text(&out));
    let (code, text) = run(db.url(), &["db", "kill", "999999", "--yes"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no backend with pid 999999"), "{text}");
    assert_eq!(
        support::row_counts(db.url()).await,
        before,
        "a refused seed changed the database"
    );
}
