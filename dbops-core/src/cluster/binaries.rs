//! Finding the locally installed PostgreSQL programs, and choosing for each operation the ones that
//! fit the server it works with. dbops never downloads a server.
//!
//! Every installation is found ([`PgInstallations::discover`]): the directories of `DBOPS_PG_BIN`
//! (several, separated by `:`; when set, only those), else `pg_config --bindir`,
//! `/usr/lib/postgresql/*/bin` (newest first) and `PATH`. Then, per operation:
//!
//! * programs that talk to a server (`pg_dump`, `pg_dumpall`, `pg_basebackup`, `pg_restore`, `psql`,
//!   `pg_amcheck`) come from the installation of the server's major version, else from the nearest
//!   newer one (older programs refuse newer servers);
//! * programs that run or check a data directory (`postgres`, `initdb`, `pg_verifybackup`) come
//!   from the installation of its major version (its `PG_VERSION`) only;
//! * the embedded cluster runs the installation of `DBOPS_PG_MAJOR` (or a builder's `major`), else
//!   the first server installation found.
//!
//! When nothing fits, the error names the version needed, what was found where, and what to install
//! or set.

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

/// Every PostgreSQL installation found on this machine, in the order searched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PgInstallations {
    found: Vec<PgBinaries>,
    /// Where the search looked, for messages.
    searched: Vec<String>,
}

/// The variables the search depends on: `DBOPS_PG_BIN`, `DBOPS_PG_MAJOR` and `PATH`.
type SearchEnv = (Option<OsString>, Option<OsString>, Option<OsString>);

/// The last successful search and the variables it searched by: a process (a restore runs
/// `pg_restore` several times) searches again only when they change.
static DISCOVERED: Mutex<Option<(SearchEnv, PgInstallations)>> = Mutex::new(None);

/// Programs that talk to a server: the server's major, else the nearest newer one.
const CLIENT_PROGRAMS: [&str; 6] = [
    "pg_dump",
    "pg_dumpall",
    "pg_basebackup",
    "pg_restore",
    "psql",
    "pg_amcheck",
];

impl PgInstallations {
    /// Finds every installation (see the module documentation). The search runs programs
    /// (`pg_config`, `postgres --version`), so its result is kept for the process while
    /// `DBOPS_PG_BIN`, `DBOPS_PG_MAJOR` and `PATH` stay as they were.
    pub fn discover() -> Result<Self> {
        let env = (
            std::env::var_os("DBOPS_PG_BIN"),
            std::env::var_os("DBOPS_PG_MAJOR"),
            std::env::var_os("PATH"),
        );
        remembered(&DISCOVERED, env, Self::search)
    }

    /// The installations of `dirs` only (each must hold PostgreSQL programs).
    pub fn in_dirs<P: AsRef<Path>>(dirs: impl IntoIterator<Item = P>) -> Result<Self> {
        let mut installations = Self::default();
        for dir in dirs {
            let dir = dir.as_ref();
            installations.searched.push(dir.display().to_string());
            match PgBinaries::scan(dir) {
                Some(found) => installations.add(found),
                None => {
                    return Err(Error::BinariesNotFound {
                        searched: vec![format!("{} (no PostgreSQL programs in it)", dir.display())],
                    });
                }
            }
        }
        Ok(installations)
    }

    fn search() -> Result<Self> {
        if let Some(list) = std::env::var_os("DBOPS_PG_BIN").filter(|d| !d.is_empty()) {
            // An explicit setting is final: a wrong value is an error, not a reason to look elsewhere.
            return Self::in_dirs(std::env::split_paths(&list)).map_err(|e| match e {
                Error::BinariesNotFound { searched } => Error::BinariesNotFound {
                    searched: searched
                        .into_iter()
                        .map(|s| format!("DBOPS_PG_BIN: {s}"))
                        .collect(),
                },
                other => other,
            });
        }
        let mut installations = Self::default();
        match pg_config_bindir() {
            Some(dir) => {
                installations.look_in(&dir, format!("pg_config --bindir ({})", dir.display()))
            }
            None => installations
                .searched
                .push("pg_config --bindir (pg_config not found)".into()),
        }
        installations
            .searched
            .push("/usr/lib/postgresql/*/bin".into());
        for dir in debian_dirs() {
            installations.look_in(&dir, String::new());
        }
        installations.searched.push("PATH".into());
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                installations.look_in(&dir, String::new());
            }
        }
        Ok(installations)
    }

    /// Adds the installation in `dir`, if there is one (`label`: how the search got there).
    fn look_in(&mut self, dir: &Path, label: String) {
        if !label.is_empty() {
            self.searched.push(label);
        }
        if let Some(found) = PgBinaries::scan(dir) {
            self.add(found);
        }
    }

    fn add(&mut self, found: PgBinaries) {
        if !self.found.iter().any(|f| f.bin_dir == found.bin_dir) {
            self.found.push(found);
        }
    }

    /// Every installation, in the order found.
    pub fn all(&self) -> &[PgBinaries] {
        &self.found
    }

    /// The server installation of `major`, or the first one found.
    pub fn server(&self, major: Option<u32>) -> Result<PgBinaries> {
        let mut servers = self.found.iter().filter(|b| b.is_server());
        let chosen = match major {
            Some(major) => servers.find(|b| b.major == major),
            None => servers.next(),
        };
        chosen.cloned().ok_or_else(|| match major {
            Some(major) => self.nothing_fits("postgres", major, "to run a server"),
            None => Error::BinariesNotFound {
                searched: self.searched.clone(),
            },
        })
    }

    /// The path of `program` to work with a server (or data directory) of `major`: a client program
    /// (`pg_dump`, `pg_restore`, ...) of that major, else of the nearest newer one; any other program
    /// (`postgres`, `pg_verifybackup`, ...) of that major only.
    pub fn program_for(&self, program: &str, major: u32) -> Result<PathBuf> {
        self.installation_for(program, major)
            .map(|b| b.bin_dir.join(program))
    }

    /// The installation [`Self::program_for`] takes `program` from.
    pub fn installation_for(&self, program: &str, major: u32) -> Result<&PgBinaries> {
        let newer_ok = CLIENT_PROGRAMS.contains(&program);
        self.found
            .iter()
            .filter(|b| b.has(program) && (b.major == major || (newer_ok && b.major > major)))
            .min_by_key(|b| b.major)
            .ok_or_else(|| {
                let purpose = if newer_ok {
                    "to work with a server"
                } else {
                    "for a data directory"
                };
                self.nothing_fits(program, major, purpose)
            })
    }

    /// [`Self::program_for`], or `None` when nothing fits (for optional checks).
    pub fn optional_program_for(&self, program: &str, major: u32) -> Option<PathBuf> {
        self.program_for(program, major).ok()
    }

    fn nothing_fits(&self, program: &str, major: u32, purpose: &str) -> Error {
        let newer = CLIENT_PROGRAMS.contains(&program);
        let found = self
            .found
            .iter()
            .filter(|b| b.has(program))
            .map(|b| format!("{} {} in {}", program, b.version, b.bin_dir.display()))
            .collect::<Vec<_>>();
        let package = if newer {
            format!("postgresql-client-{major}")
        } else {
            format!("postgresql-{major}")
        };
        Error::NoFittingProgram {
            program: program.to_string(),
            major,
            purpose: purpose.to_string(),
            found,
            advice: format!(
                "install PostgreSQL {major}{} (Debian/Ubuntu: `apt-get install {package}` from \
                 apt.postgresql.org; Fedora/RHEL: the PGDG `postgresql{major}` packages), or list the \
                 directory holding it in DBOPS_PG_BIN (several directories separated by `:`)",
                if newer { " or newer" } else { "" }
            ),
        }
    }
}

/// The programs that fit one server (or data directory): those of [`PgInstallations::program_for`]
/// its major version. A cheap handle, made once per operation.
#[derive(Debug, Clone)]
pub struct ServerPrograms {
    installations: PgInstallations,
    major: u32,
}

impl ServerPrograms {
    /// The programs for a server (or data directory) of `major`, from every installation found.
    pub fn for_major(major: u32) -> Result<Self> {
        Ok(Self {
            installations: PgInstallations::discover()?,
            major,
        })
    }

    /// The programs for the server at the other end of `client` (its `server_version_num`).
    pub async fn for_server(client: &tokio_postgres::Client) -> Result<Self> {
        let major = server_major(client).await?;
        tokio::task::spawn_blocking(move || Self::for_major(major))
            .await
            .map_err(|e| {
                Error::config("postgres binaries", format!("discovery task failed: {e}"))
            })?
    }

    /// The major version they are for.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The path of `program` (see [`PgInstallations::program_for`]).
    pub fn program(&self, program: &str) -> Result<PathBuf> {
        self.installations.program_for(program, self.major)
    }

    /// The path of `program` for a server of `major` instead (e.g. a `pg_restore` that reads an
    /// archive of a newer `pg_dump` than the target server).
    pub fn program_at_least(&self, program: &str, major: u32) -> Result<PathBuf> {
        self.installations
            .program_for(program, self.major.max(major))
    }

    /// Every installation found.
    pub fn installations(&self) -> &PgInstallations {
        &self.installations
    }
}

/// The major version of the server at the other end of `client`.
pub async fn server_major(client: &tokio_postgres::Client) -> Result<u32> {
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| Error::postgres("reading the server's version", e))?;
    Ok((row.get::<_, i32>(0) / 10000) as u32)
}

/// `DBOPS_PG_MAJOR`, the major version of the embedded cluster, when set.
fn major_from_env() -> Result<Option<u32>> {
    match std::env::var("DBOPS_PG_MAJOR") {
        Ok(text) if !text.trim().is_empty() => text.trim().parse().map(Some).map_err(|_| {
            Error::config(
                "DBOPS_PG_MAJOR",
                format!("`{text}` is not a PostgreSQL major version such as 17"),
            )
        }),
        _ => Ok(None),
    }
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// `/usr/lib/postgresql/*/bin`, newest major first.
fn debian_dirs() -> Vec<PathBuf> {
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
    versioned.into_iter().map(|(_, dir)| dir).collect()
}

impl PgBinaries {
    /// The default server installation: the one of `DBOPS_PG_MAJOR` when set, else the first found
    /// (see [`PgInstallations::discover`]).
    pub fn discover() -> Result<Self> {
        PgInstallations::discover()?.server(major_from_env()?)
    }

    /// [`Self::discover`] on a blocking thread, off the async runtime's workers.
    pub async fn discover_async() -> Result<Self> {
        tokio::task::spawn_blocking(Self::discover)
            .await
            .map_err(|e| {
                Error::config("postgres binaries", format!("discovery task failed: {e}"))
            })?
    }

    /// Uses the server binaries in `bin_dir`, which must hold `postgres` and `initdb`.
    pub fn at(bin_dir: &Path) -> Result<Self> {
        match Self::scan(bin_dir) {
            Some(found) if found.is_server() => Ok(found),
            _ => Err(Error::BinariesNotFound {
                searched: vec![bin_dir.display().to_string()],
            }),
        }
    }

    /// The installation in `bin_dir` when it holds any PostgreSQL program whose version can be
    /// read (`postgres`, `pg_dump`, `psql`, `initdb` or `pg_restore`).
    pub fn scan(bin_dir: &Path) -> Option<Self> {
        let (version, major) = ["postgres", "pg_dump", "psql", "initdb", "pg_restore"]
            .iter()
            .map(|p| bin_dir.join(p))
            .filter(|p| is_executable(p))
            .find_map(|p| program_version(&p))?;
        // Canonicalize so that symlinked copies of one installation compare equal.
        let bin_dir = std::fs::canonicalize(bin_dir).unwrap_or_else(|_| bin_dir.to_path_buf());
        Some(PgBinaries {
            bin_dir,
            version,
            major,
        })
    }

    /// The directory holding the programs.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The full version, e.g. `15.18`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The major version, e.g. 15.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// Whether this installation holds `program`.
    pub fn has(&self, program: &str) -> bool {
        is_executable(&self.bin_dir.join(program))
    }

    /// Whether it can run a server (`postgres` and `initdb`).
    pub fn is_server(&self) -> bool {
        self.has("postgres") && self.has("initdb")
    }

    /// The path of one program of this installation. A client program missing from it is the one
    /// of the nearest newer installation found (see [`PgInstallations::program_for`]), else looked
    /// up on `PATH`.
    pub fn program(&self, name: &str) -> PathBuf {
        let local = self.bin_dir.join(name);
        if is_executable(&local) {
            return local;
        }
        if let Ok(found) =
            PgInstallations::discover().and_then(|all| all.program_for(name, self.major))
        {
            return found;
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

/// `program --version` as the full version and the major (`postgres (PostgreSQL) 15.18 (Debian
/// 15.18-0+deb12u1)` -> `15.18`, 15; `18beta1` -> 18).
fn program_version(program: &Path) -> Option<(String, u32)> {
    let out = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(2)?.to_string();
    let major = version
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((version, major))
}

/// The major version of a data directory (its `PG_VERSION`), when it has one.
pub fn data_dir_major(data_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(data_dir.join("PG_VERSION"))
        .ok()?
        .trim()
        .parse()
        .ok()
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
        (None, None, Some(OsString::from(path)))
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

    /// Fake installations: a directory per (major, programs) whose programs print their version.
    fn fake(list: &[(u32, &[&str])]) -> (tempfile::TempDir, PgInstallations) {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let mut dirs = Vec::new();
        for (major, programs) in list {
            let dir = root.path().join(format!("pg{major}"));
            std::fs::create_dir(&dir).unwrap();
            for program in *programs {
                let path = dir.join(program);
                std::fs::write(
                    &path,
                    format!("#!/bin/sh\necho \"{program} (PostgreSQL) {major}.3\"\n"),
                )
                .unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            dirs.push(dir);
        }
        let installations = PgInstallations::in_dirs(&dirs).unwrap();
        (root, installations)
    }

    #[test]
    fn client_programs_come_from_the_servers_major_or_the_nearest_newer_one() {
        let (_root, all) = fake(&[
            (15, &["postgres", "initdb", "pg_dump", "pg_verifybackup"]),
            (18, &["postgres", "initdb", "pg_dump", "pg_verifybackup"]),
            (16, &["postgres", "initdb"]),
        ]);
        let major_of = |p: PathBuf| p.parent().unwrap().file_name().unwrap().to_owned();
        assert_eq!(major_of(all.program_for("pg_dump", 13).unwrap()), "pg15");
        assert_eq!(major_of(all.program_for("pg_dump", 15).unwrap()), "pg15");
        assert_eq!(major_of(all.program_for("pg_dump", 16).unwrap()), "pg18");
        assert_eq!(major_of(all.program_for("postgres", 16).unwrap()), "pg16");
        // A data directory's programs must be of its own major.
        let error = all.program_for("pg_verifybackup", 16).unwrap_err();
        let text = crate::error::report(&error);
        assert!(text.contains("PostgreSQL 16"), "{text}");
        assert!(text.contains("pg_verifybackup 15.3"), "{text}");
        assert!(text.contains("DBOPS_PG_BIN"), "{text}");
        // Nothing newer than 18.
        assert!(all.program_for("pg_dump", 19).is_err());
        assert_eq!(all.server(Some(16)).unwrap().major(), 16);
        assert_eq!(all.server(None).unwrap().major(), 15);
        assert!(all.server(Some(14)).is_err());
    }

    #[test]
    fn a_directory_without_programs_in_an_explicit_list_is_an_error() {
        let empty = tempfile::tempdir().unwrap();
        let error = PgInstallations::in_dirs([empty.path()]).unwrap_err();
        assert!(matches!(error, Error::BinariesNotFound { .. }), "{error}");
    }
}
