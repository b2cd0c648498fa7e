//! `create`: a new pair of migration files with the next version.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// How the new version is numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Numbering {
    /// The highest existing version + 1, zero-padded to 6 digits (golang-migrate `-seq`). Default.
    #[default]
    Sequential,
    /// `YYYYMMDDHHMMSS` in UTC.
    Timestamp,
}

/// Writes `<version>_<name>.up.sql` and `.down.sql` into `dir` (created if missing) and returns both
/// paths. Never overwrites.
pub fn create(dir: &Path, name: &str, numbering: Numbering) -> Result<(PathBuf, PathBuf)> {
    let slug: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if slug.is_empty() {
        return Err(Error::config(
            "migration name",
            format!("`{name}` has no letters or digits"),
        ));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io("creating the migrations directory", dir, e))?;
    let version = match numbering {
        Numbering::Timestamp => chrono::Utc::now().format("%Y%m%d%H%M%S").to_string(),
        Numbering::Sequential => {
            let mut highest = 0i64;
            for entry in std::fs::read_dir(dir)
                .map_err(|e| Error::io("reading the migrations directory", dir, e))?
                .flatten()
            {
                if let Some(file) = entry.file_name().to_str()
                    && let Ok((v, _, _)) = super::parse_file_name(file)
                {
                    highest = highest.max(v);
                }
            }
            format!("{:06}", highest + 1)
        }
    };
    let up = dir.join(format!("{version}_{slug}.up.sql"));
    let down = dir.join(format!("{version}_{slug}.down.sql"));
    let header = |direction: &str| {
        format!(
            "-- Migration {version} {direction}: {name}\n-- Created {} by dbops migrate create.\n-- Runs in one transaction unless it holds a statement that cannot (CREATE INDEX CONCURRENTLY, ...)\n-- or the line `-- dbops:no-transaction`.\n\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        )
    };
    for (path, direction) in [(&up, "up"), (&down, "down")] {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("creating migration file (it must not exist yet)", path, e))?;
        file.write_all(header(direction).as_bytes())
            .map_err(|e| Error::io("writing migration file", path, e))?;
    }
    Ok((up, down))
}
