//! Creating data directories: `initdb` once per installation and settings, then a copy from a local
//! cache for every later cluster (a copy takes tens of milliseconds; `initdb` takes about a second).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::{Digest, Sha256};

use super::binaries::PgBinaries;
use super::process::OsAccount;
use crate::error::{Error, Result};

/// The line dbops appends to `postgresql.conf` so its own settings file is read.
pub(crate) const INCLUDE_LINE: &str = "include_if_exists = 'dbops.conf'";

/// How a new data directory is initialized.
#[derive(Debug, Clone)]
pub(crate) struct InitOptions {
    pub superuser: String,
    pub encoding: String,
    pub locale: String,
    pub use_cache: bool,
}

/// Where dbops keeps its caches: `DBOPS_CACHE_DIR`, `$XDG_CACHE_HOME/dbops`, `~/.cache/dbops`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("DBOPS_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("dbops");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache").join("dbops");
    }
    std::env::temp_dir().join(format!("dbops-cache-{}", nix::unistd::geteuid()))
}

/// Creates a fresh data directory at `data_dir` (which must not exist).
pub(crate) async fn create_data_dir(
    bins: &PgBinaries,
    account: &OsAccount,
    data_dir: &Path,
    options: &InitOptions,
) -> Result<()> {
    let cached = cache_dir(bins, options);
    if options.use_cache && cached.join("PG_VERSION").is_file() {
        let (src, dst, acct) = (cached.clone(), data_dir.to_path_buf(), account.clone());
        let copied = tokio::task::spawn_blocking(move || copy_tree(&src, &dst, &acct))
            .await
            .map_err(|e| Error::config("initdb cache", format!("copy task failed: {e}")))?;
        match copied {
            Ok(()) => return Ok(()),
            Err(error) => {
                tracing::warn!(%error, cache = %cached.display(), "initdb cache unusable; running initdb");
                let _ = std::fs::remove_dir_all(data_dir);
            }
        }
    }
    run_initdb(bins, account, data_dir, options).await?;
    if options.use_cache {
        let (src, dst) = (data_dir.to_path_buf(), cached);
        // Best effort: a failed cache write only costs the next start an initdb.
        let _ = tokio::task::spawn_blocking(move || store_in_cache(&src, &dst)).await;
    }
    Ok(())
}

fn cache_dir(bins: &PgBinaries, options: &InitOptions) -> PathBuf {
    let mut hash = Sha256::new();
    for part in [
        "dbops-initdb-v1",
        &bins.bin_dir().display().to_string(),
        bins.version(),
        &options.superuser,
        &options.encoding,
        &options.locale,
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let key = hex::encode(&hash.finalize()[..8]);
    cache_root()
        .join("initdb")
        .join(format!("pg{}-{key}", bins.major()))
}

async fn run_initdb(
    bins: &PgBinaries,
    account: &OsAccount,
    data_dir: &Path,
    options: &InitOptions,
) -> Result<()> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::io("creating the data directory", data_dir, e))?;
    account.chown(data_dir)?;
    let program = bins.program("initdb");
    let mut command = std::process::Command::new(&program);
    command
        .arg("-D")
        .arg(data_dir)
        .arg("-U")
        .arg(&options.superuser)
        .args([
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
        ])
        .arg(format!("--encoding={}", options.encoding))
        .arg(format!("--locale={}", options.locale))
        .env("LC_ALL", "C")
        .env_remove("PGDATA")
        .current_dir(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    account.apply(&mut command);
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    let output = command
        .output()
        .await
        .map_err(|e| Error::io("running initdb", &program, e))?;
    if !output.status.success() {
        return Err(Error::Command {
            program: program.display().to_string(),
            action: format!("creating a data directory in {}", data_dir.display()),
            status: output.status.to_string(),
            stderr: last_lines(&String::from_utf8_lossy(&output.stderr), 15),
        });
    }
    let conf = data_dir.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf)
        .map_err(|e| Error::io("reading the new postgresql.conf", &conf, e))?;
    text.push_str(&format!(
        "\n# dbops settings (rewritten at every start)\n{INCLUDE_LINE}\n"
    ));
    std::fs::write(&conf, text).map_err(|e| Error::io("writing postgresql.conf", &conf, e))?;
    Ok(())
}

fn store_in_cache(src: &Path, dst: &Path) -> Result<()> {
    let parent = dst.parent().unwrap_or(dst);
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::io("creating the initdb cache", parent, e))?;
    let staging = parent.join(format!(
        ".staging-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let me = OsAccount {
        name: String::new(),
        uid: nix::unistd::geteuid(),
        gid: nix::unistd::getegid(),
        switch: false,
    };
    let result = copy_tree(src, &staging, &me).and_then(|()| {
        // Another process may have won the race; either copy is equally good.
        match std::fs::rename(&staging, dst) {
            Ok(()) => Ok(()),
            Err(_) if dst.join("PG_VERSION").is_file() => Ok(()),
            Err(e) => Err(Error::io("publishing the initdb cache", dst, e)),
        }
    });
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Copies a directory tree, keeping file modes, giving every entry to `owner`.
pub(crate) fn copy_tree(src: &Path, dst: &Path, owner: &OsAccount) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(dst)
        .map_err(|e| Error::io("creating directory", dst, e))?;
    owner.chown(dst)?;
    let entries = std::fs::read_dir(src).map_err(|e| Error::io("reading directory", src, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("reading directory", src, e))?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("inspecting", &from, e))?;
        if kind.is_dir() {
            copy_tree(&from, &to, owner)?;
        } else if kind.is_file() {
            std::fs::copy(&from, &to).map_err(|e| Error::io("copying", &from, e))?;
            let mode = entry
                .metadata()
                .map(|m| m.permissions().mode() & 0o700)
                .unwrap_or(0o600);
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode.max(0o600)))
                .map_err(|e| Error::io("setting permissions of", &to, e))?;
            owner.chown(&to)?;
        } else if kind.is_symlink() {
            let target =
                std::fs::read_link(&from).map_err(|e| Error::io("reading link", &from, e))?;
            std::os::unix::fs::symlink(&target, &to)
                .map_err(|e| Error::io("creating link", &to, e))?;
        }
    }
    Ok(())
}

/// The last `n` lines of a text.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
