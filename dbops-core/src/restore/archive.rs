//! Feeding an archive to `pg_restore` or `psql`: streamed in one transaction, or spooled for a
//! parallel `pg_restore --jobs`.

use std::process::Stdio;
use std::time::Instant;

use super::{RestoreOptions, Restored, SPOOL_PREFIX, compare_row_counts, compat, stream, tools};
use crate::backup::{BackupEntry, BackupStore};
use crate::cluster::{last_lines, spawn_error};
use crate::config::{ChildEnv, DatabaseUrl, collect_stderr};
use crate::error::{Error, Result};

/// Restores a `custom` or `plain` backup (or a legacy `.sql.gz`) with the programs that fit the
/// target: `pg_restore` streamed in one transaction or spooled for `--jobs`, or `psql` for scripts and
/// for a `pg_restore` too new for the server; then compares row counts with the manifest.
pub(super) async fn restore_archive(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    target: &DatabaseUrl,
    options: &RestoreOptions,
    plain: bool,
    jobs: u32,
) -> Result<Restored> {
    let started = Instant::now();
    let target_major = crate::cluster::server_major(&target.connect_for_work().await?).await?;
    let tools = tools::RestoreTools::for_backup_async(entry, Some(target_major)).await?;
    let (pg_restore, pg_restore_major) = tools.loader("pg_restore", target_major)?;
    let env = ChildEnv::for_url(target)?;
    let (decoded, jobs) = if plain {
        let load = Load::new(&tools, target_major)?;
        (
            restore_streaming(store, entry, &load, &env, options, &tools).await?,
            1,
        )
    } else if compat::connects_badly(pg_restore_major, target_major) {
        // A pg_restore this new sets what the older server refuses: its rendered script goes
        // through psql instead, in one transaction.
        let load = Load::rendered(&tools, target_major)?;
        (
            restore_streaming(store, entry, &load, &env, options, &tools).await?,
            1,
        )
    } else if jobs > 1 {
        let decoded =
            restore_parallel(store, entry, &pg_restore, &env, options, &tools, jobs).await?;
        (decoded, jobs)
    } else {
        let load = Load::archive(pg_restore);
        (
            restore_streaming(store, entry, &load, &env, options, &tools).await?,
            1,
        )
    };
    let checked = match (&entry.manifest, options.check_row_counts) {
        (Some(manifest), true) => compare_row_counts(target, &manifest.tables, &entry.key).await?,
        _ => 0,
    };
    Ok(Restored {
        stored_bytes: decoded.stored_bytes,
        plaintext_bytes: decoded.plaintext_bytes,
        tables_checked: checked,
        jobs,
        stages: vec![("restore".into(), started.elapsed().as_secs_f64())],
        masking: None,
        analyzed: Vec::new(),
        decoded_as_text: Vec::new(),
        statistics_restored: tools.keeps_statistics(),
    })
}

/// `pg_restore`'s arguments for `options`, the statistics left out when the target cannot take them.
pub(super) fn restore_args(
    options: &RestoreOptions,
    tools: &tools::RestoreTools,
) -> Vec<&'static str> {
    let mut args = vec!["--no-password", "--exit-on-error"];
    args.extend(tools.statistics_args());
    if options.clean {
        args.extend(["--clean", "--if-exists"]);
    }
    if options.no_owner {
        args.push("--no-owner");
    }
    if options.no_acl {
        args.push("--no-acl");
    }
    args
}

/// How a streamed restore loads: `pg_restore` reading the archive into the server, or `psql`
/// replaying a plain dump, or replaying the script a `pg_restore` renders from the archive (for a
/// server older than that `pg_restore` can connect to); `filter`: leave out what an older server
/// refuses (see [`compat::SettingsFilter`]).
pub(super) struct Load {
    program: std::path::PathBuf,
    renderer: Option<std::path::PathBuf>,
    filter: bool,
}

impl Load {
    /// `pg_restore` into the server.
    pub(super) fn archive(pg_restore: std::path::PathBuf) -> Self {
        Self {
            program: pg_restore,
            renderer: None,
            filter: false,
        }
    }

    /// `psql` replaying a plain dump into a server of `target_major`.
    pub(super) fn new(tools: &tools::RestoreTools, target_major: u32) -> Result<Self> {
        Ok(Self {
            program: tools.loader("psql", target_major)?.0,
            renderer: None,
            filter: target_major < 17,
        })
    }

    /// `psql` replaying what `pg_restore` renders from the archive, into a server of `target_major`.
    pub(super) fn rendered(tools: &tools::RestoreTools, target_major: u32) -> Result<Self> {
        Ok(Self {
            renderer: Some(tools.reader()?),
            ..Self::new(tools, target_major)?
        })
    }

    pub(super) fn is_psql(&self) -> bool {
        self.renderer.is_some() || self.program.ends_with("psql")
    }

    pub(super) fn action(&self) -> &'static str {
        match (self.is_psql(), &self.renderer) {
            (_, Some(_)) => "replaying the rendered archive",
            (true, None) => "replaying the SQL dump",
            (false, None) => "restoring the archive",
        }
    }
}

/// Streams the backup into the loader of `load` in one transaction.
pub(super) async fn restore_streaming(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    load: &Load,
    env: &ChildEnv,
    options: &RestoreOptions,
    tools: &tools::RestoreTools,
) -> Result<stream::Decoded> {
    let (program, action) = (load.program.as_path(), load.action());
    let mut command = tokio::process::Command::new(program);
    env.apply(&mut command);
    if load.is_psql() {
        command.args([
            "-X",
            "-q",
            "--no-password",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
            "-",
        ]);
    } else {
        command
            .args(restore_args(options, tools))
            .arg("--single-transaction")
            .arg(format!("--dbname={}", env_database(env)));
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    crate::failpoint::failpoint("restore::before_pg_restore_start")?;
    let mut child = command
        .spawn()
        .map_err(|e| spawn_error(program, action, e))?;
    let stdin = stream::ConsumerInput::new(take_stdin(&mut child, program)?, child.id());
    let stderr = collect_stderr(&mut child);
    let feed = match &load.renderer {
        Some(renderer) => Feed::rendered(renderer, options, tools, stdin, load.filter)?,
        None => Feed::direct(stdin, load.filter),
    };
    let decoded = feed.stream(store, entry, options).await;
    match decoded {
        Ok(decoded) => {
            let status = child
                .wait()
                .await
                .map_err(|e| spawn_error(program, action, e))?;
            let stderr = stderr.await.unwrap_or_default();
            if !status.success() {
                return Err(Error::Command {
                    program: program.display().to_string(),
                    action: format!(
                        "{action} `{}` (rolled back: nothing was changed)",
                        entry.key
                    ),
                    status: status.to_string(),
                    stderr: last_lines(&stderr, 10),
                });
            }
            Ok(decoded)
        }
        Err(error) => {
            // Kill before end of input reaches it: the single transaction never commits.
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(error)
        }
    }
}

/// Where a streamed restore's decoded bytes go: the loader's input, through the settings filter;
/// or a rendering `pg_restore` whose script is pumped through it into the loader.
pub(super) enum Feed {
    Direct(compat::SettingsFilter<stream::ConsumerInput>),
    Rendered {
        renderer: tokio::process::Child,
        input: stream::ConsumerInput,
        pump: tokio::task::JoinHandle<std::io::Result<stream::ConsumerInput>>,
    },
}

impl Feed {
    fn direct(loader: stream::ConsumerInput, filter: bool) -> Self {
        Feed::Direct(compat::SettingsFilter::new(loader, filter))
    }

    /// Starts `renderer` (`pg_restore --file=-`) and a thread pumping its script into `loader`.
    fn rendered(
        renderer: &std::path::Path,
        options: &RestoreOptions,
        tools: &tools::RestoreTools,
        loader: stream::ConsumerInput,
        filter: bool,
    ) -> Result<Self> {
        let action = "rendering the archive";
        let mut child = tokio::process::Command::new(renderer)
            .args(
                restore_args(options, tools)
                    .into_iter()
                    .filter(|a| *a != "--no-password" && *a != "--exit-on-error"),
            )
            .arg("--file=-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| spawn_error(renderer, action, e))?;
        let input = stream::ConsumerInput::new(take_stdin(&mut child, renderer)?, child.id());
        let script = child
            .stdout
            .take()
            .ok_or_else(|| spawn_error(renderer, action, std::io::ErrorKind::BrokenPipe.into()))?
            .into_owned_fd()
            .map_err(|e| Error::io("reading the rendered archive", renderer, e))?;
        // The loader's input is handed back, not closed: it may end only once the renderer is known
        // to have rendered the whole archive.
        let pump = tokio::task::spawn_blocking(move || {
            let mut script = std::fs::File::from(script);
            let mut sink = compat::SettingsFilter::new(loader, filter);
            std::io::copy(&mut script, &mut sink)?;
            sink.into_inner()
        });
        Ok(Feed::Rendered {
            renderer: child,
            input,
            pump,
        })
    }

    /// Streams the backup through; the loader's input is closed at the end (its end of input).
    async fn stream(
        self,
        store: &dyn BackupStore,
        entry: &BackupEntry,
        options: &RestoreOptions,
    ) -> Result<stream::Decoded> {
        let progress = options.progress.as_ref();
        match self {
            Feed::Direct(sink) => {
                let (decoded, sink) =
                    stream::decode_into(store, entry, &options.decryption, progress, move || {
                        Ok(sink)
                    })
                    .await?;
                sink.into_inner()
                    .map_err(|e| Error::io("feeding the restore", "", e))?
                    .finish();
                Ok(decoded)
            }
            Feed::Rendered {
                mut renderer,
                input,
                pump,
            } => {
                let decoded =
                    stream::decode_into(store, entry, &options.decryption, progress, move || {
                        Ok(input)
                    })
                    .await;
                let (decoded, input) = match decoded {
                    Ok(done) => done,
                    Err(error) => {
                        let _ = renderer.start_kill();
                        return Err(error);
                    }
                };
                input.finish();
                let rendered = renderer.wait().await;
                let pumped = pump.await;
                match (rendered, pumped) {
                    (Ok(status), Ok(Ok(loader))) if status.success() => {
                        loader.finish();
                        Ok(decoded)
                    }
                    // A loader that stopped reading (it failed) reports its own error.
                    (_, Ok(Err(e))) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(decoded),
                    _ => Err(Error::Integrity {
                        key: entry.key.clone(),
                        reason: "the archive could not be rendered to SQL (pg_restore --file=-); \
                                 nothing was committed"
                            .into(),
                    }),
                }
            }
        }
    }
}

/// Spools the archive to a private file and restores it with `program` (`pg_restore`) on `jobs`
/// connections.
pub(super) async fn restore_parallel(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    program: &std::path::Path,
    env: &ChildEnv,
    options: &RestoreOptions,
    tools: &tools::RestoreTools,
    jobs: u32,
) -> Result<stream::Decoded> {
    let spool_dir = crate::cluster::owned_temp_dir(SPOOL_PREFIX)
        .map_err(|e| Error::io("creating a spool directory", std::env::temp_dir(), e))?;
    let spool = spool_dir.path().join("backup.dump");
    let (decoded, file) = stream::decode_into_private_file(
        store,
        entry,
        &options.decryption,
        options.progress.as_ref(),
        &spool,
        "the spool file",
    )
    .await?;
    file.sync_all()
        .map_err(|e| Error::io("writing the spool file", &spool, e))?;
    // Parallel jobs may set a table's statistics before its rows load, and loading a table created
    // in the same restore resets them: the statistics follow once everything else is in.
    let later_statistics = tools.keeps_statistics();
    let jobs_arg = format!("--jobs={jobs}");
    let mut args: Vec<&str> = restore_args(options, tools);
    args.push(&jobs_arg);
    if later_statistics {
        args.push("--no-statistics");
    }
    let action = format!(
        "restoring `{}` with {} jobs (not one transaction: the target may be partly restored; \
         restore again with --clean)",
        entry.key, jobs
    );
    run_pg_restore(program, env, &args, &spool, &action).await?;
    if later_statistics {
        let action = format!("restoring the planner statistics of `{}`", entry.key);
        let args = ["--no-password", "--exit-on-error", "--statistics-only"];
        run_pg_restore(program, env, &args, &spool, &action).await?;
    }
    Ok(decoded)
}

/// Runs `pg_restore` with `args` on the archive file `spool` into the database of `env`.
async fn run_pg_restore(
    program: &std::path::Path,
    env: &ChildEnv,
    args: &[&str],
    spool: &std::path::Path,
    action: &str,
) -> Result<()> {
    let mut command = tokio::process::Command::new(program);
    env.apply(&mut command);
    command
        .args(args)
        .arg(format!("--dbname={}", env_database(env)))
        .arg(spool)
        .stdout(Stdio::null());
    crate::cluster::output_of(command, program, action).await?;
    Ok(())
}

pub(super) fn env_database(env: &ChildEnv) -> String {
    env.vars()
        .iter()
        .find(|(k, _)| k == "PGDATABASE")
        .map(|(_, v)| v.to_string_lossy().to_string())
        .unwrap_or_default()
}

pub(super) fn take_stdin(
    child: &mut tokio::process::Child,
    program: &std::path::Path,
) -> Result<std::fs::File> {
    let stdin = child.stdin.take().ok_or_else(|| Error::Command {
        program: program.display().to_string(),
        action: "restoring".into(),
        status: "no stdin pipe".into(),
        stderr: String::new(),
    })?;
    let fd = stdin
        .into_owned_fd()
        .map_err(|e| Error::io("taking the restore pipe", program, e))?;
    Ok(std::fs::File::from(fd))
}
