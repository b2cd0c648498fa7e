//! Finding the locally installed PostgreSQL programs. dbops never downloads a server.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde::Serialize;

use crate::error::{Error, Result};

/// A directory of PostgreSQL programs (`postgres`, `initdb`, `pg_dump`, ...) and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PgBinaries {
    bin_dir: PathBuf,
    version: String,
    major: u32,
}

/// The variables [`PgBinaries::discover`] searches by: `DBOPS_PG_BIN` and `PATH`.
type SearchEnv = (Option<OsString>, Option<OsString>);

/// The last successful discovery and the variables it searched by: a process (a restore runs
/// `pg_restore` several times) searches again only when they change.
static DISCOVERED: Mutex<Option<(SearchEnv, PgBinaries)>> = Mutex::new(None);

impl PgBinaries {
    /// Finds the server binaries: `DBOPS_PG_BIN`, then `pg_config --bindir`, then
    /// `/usr/lib/postgresql/*/bin` (newest first), then `PATH`. The search runs programs
    /// (`pg_config`, `postgres --version`), so its result is kept for the rest of the process while
    /// `DBOPS_PG_BIN` and `PATH` stay as they were.
    pub fn discover() -> Result<Self> {
        let env = (std::env::var_os("DBOPS_PG_BIN"), std::env::var_os("PATH"));
        remembered(&DISCOVERED, env, Self::search)
    }

    /// [`Self::discover`] on a blocking thread, off the async runtime's workers.
    pub async fn discover_async() -> Result<Self> {
        tokio::task::spawn_blocking(Self::discover)
            .await
            .map_err(|e| {
                Error::config("postgres binaries", format!("discovery task failed: {e}"))
            })?
    }

    /// [`Self::discover`]'s search, run afresh.
    fn search() -> Result<Self> {
        let mut searched = Vec::new();
        if let Some(dir) = std::env::var_os("DBOPS_PG_BIN").filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            searched.push(format!("DBOPS_PG_BIN={}", dir.display()));
            // An explicit setting is final: a wrong value is an error, not a reason to look elsewhere.
            return Self::at(&dir).map_err(|_| Error::BinariesNotFound { searched });
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
            && out.status.success()
        {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            searched.push(format!("pg_config --bindir ({})", dir.display()));
            if let Ok(found) = Self::at(&dir) {
                return Ok(found);
            }
        } else {
            searched.push("pg_config --bindir (pg_config not found)".into());
        }
        let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
                Some((major, entry.path().join("bin")))
            })
            .collect();
        versioned.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        searched.push("/usr/lib/postgresql/*/bin".into());
        for (_, dir) in versioned {
            if let Ok(found) = Self::at(&dir) {
                return Ok(found);
            }
        }
        searched.push("PATH".into());
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                if let Ok(found) = Self::at(&dir) {
                    return Ok(found);
                }
            }
        }
        Err(Error::BinariesNotFound { searched })
    }

    /// Uses the binaries in `bin_dir`, which must hold `postgres` and `initdb`.
    pub fn at(bin_dir: &Path) -> Result<Self> {
        for program in ["postgres", "initdb"] {
            let path = bin_dir.join(program);
            if !is_executable(&path) {
                return Err(Error::BinariesNotFound {
                    searched: vec![bin_dir.display().to_string()],
                });
            }
        }
        let postgres = bin_dir.join("postgres");
        let out = Command::new(&postgres)
            .arg("--version")
            .output()
            .map_err(|e| Error::io("running `postgres --version`", &postgres, e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        let version = text
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_string();
        let major = version
            .split(['.', 'b', 'r', 'd'])
            .next()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| Error::Command {
                program: postgres.display().to_string(),
                action: "reporting its version".into(),
                status: if out.status.success() {
                    "ok".into()
                } else {
                    out.status.to_string()
                },
                stderr: format!("unexpected output `{}`", text.trim()),
            })?;
        // Canonicalize so that symlinked copies of one installation compare equal.
        let bin_dir = std::fs::canonicalize(bin_dir).unwrap_or_else(|_| bin_dir.to_path_buf());
        Ok(PgBinaries {
            bin_dir,
            version,
            major,
        })
    }

    /// The directory holding the programs.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The full server version, e.g. `15.18`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The major version, e.g. 15.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The path of one program in this installation (`pg_dump`, `pg_restore`, ...). Client programs
    /// missing from the server directory are looked up on `PATH`.
    pub fn program(&self, name: &str) -> PathBuf {
        let local = self.bin_dir.join(name);
        if is_executable(&local) {
            return local;
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let candidate = dir.join(name);
                if is_executable(&candidate) {
                    return candidate;
                }
            }
        }
        local
    }
}

/// What `memo` holds when it was found by `env`; otherwise runs `search` and keeps a success.
fn remembered<T: Clone>(
    memo: &Mutex<Option<(SearchEnv, T)>>,
    env: SearchEnv,
    search: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((searched_by, found)) = memo.as_ref()
        && *searched_by == env
    {
        return Ok(found.clone());
    }
    let found = search()?;
    *memo = Some((env, found.clone()));
    Ok(found)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(path: &str) -> SearchEnv {
        (None, Some(OsString::from(path)))
    }

    #[test]
    fn a_discovery_is_searched_again_only_when_its_variables_change() {
        let memo = Mutex::new(None);
        let mut searches = 0;
        let mut search = |found: &'static str| {
            searches += 1;
            Ok::<_, Error>(found)
        };
        assert_eq!(
            remembered(&memo, env("/a"), || search("first")).unwrap(),
            "first"
        );
        assert_eq!(
            remembered(&memo, env("/a"), || search("again")).unwrap(),
            "first"
        );
        assert_eq!(
            remembered(&memo, env("/b"), || search("second")).unwrap(),
            "second"
        );
        assert_eq!(searches, 2);
    }

    #[test]
    fn a_failed_discovery_is_not_remembered() {
        let memo = Mutex::new(None);
        let failed = remembered::<&str>(&memo, env("/a"), || {
            Err(Error::BinariesNotFound {
                searched: vec!["/a".into()],
            })
        });
        assert!(matches!(failed, Err(Error::BinariesNotFound { .. })));
        assert_eq!(
            remembered(&memo, env("/a"), || Ok("found")).unwrap(),
            "found"
        );
    }
}
