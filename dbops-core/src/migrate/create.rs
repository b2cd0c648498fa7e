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
    /// Seconds since 1970 (golang-migrate `-format unix`).
    UnixSeconds,
    /// Nanoseconds since 1970 (golang-migrate `-format unixNano`).
    UnixNanos,
}

/// How [`create_with`] names the new pair of files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CreateOptions {
    /// How the version is numbered. Default: sequential.
    pub numbering: Numbering,
    /// Digits of a sequential version, zero-padded (golang-migrate `-digits`). Default: 6.
    pub digits: usize,
    /// Leave the files empty, as golang-migrate does (default: a header comment explaining how
    /// the migration runs).
    pub empty: bool,
}

crate::setters::with_setters!(CreateOptions {
    with_numbering => numbering: Numbering,
    with_digits => digits: usize,
    with_empty => empty: bool,
});

impl Default for CreateOptions {
    fn default() -> Self {
        Self {
            numbering: Numbering::Sequential,
            digits: 6,
            empty: false,
        }
    }
}

/// Writes `<version>_<name>.up.sql` and `.down.sql` into `dir` (created if missing) and returns both
/// paths. Never overwrites.
pub fn create(dir: &Path, name: &str, numbering: Numbering) -> Result<(PathBuf, PathBuf)> {
    let options = CreateOptions {
        numbering,
        ..CreateOptions::default()
    };
    create_with(dir, name, &options)
}

/// [`create`] with every option: the sequence's width, golang-migrate's unix formats, empty files.
pub fn create_with(dir: &Path, name: &str, options: &CreateOptions) -> Result<(PathBuf, PathBuf)> {
    let slug = slug(name)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io("creating the migrations directory", dir, e))?;
    let version = next_version(dir, options)?;
    if let Some(existing) = existing_version(dir, &version)? {
        return Err(Error::config(
            "migration version",
            format!(
                "version {version} exists already ({}): wait a second or use sequential numbering",
                existing.display()
            ),
        ));
    }
    let up = dir.join(format!("{version}_{slug}.up.sql"));
    let down = dir.join(format!("{version}_{slug}.down.sql"));
    for (path, direction) in [(&up, "up"), (&down, "down")] {
        let text = if options.empty {
            String::new()
        } else {
            header(&version, direction, name)
        };
        write_new(path, &text)?;
    }
    Ok((up, down))
}

/// The file name part of a description: lower-case letters and digits joined by `_`.
fn slug(name: &str) -> Result<String> {
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
    Ok(slug)
}

/// The next version in `dir` under `options`.
fn next_version(dir: &Path, options: &CreateOptions) -> Result<String> {
    let now = chrono::Utc::now();
    Ok(match options.numbering {
        Numbering::Timestamp => now.format("%Y%m%d%H%M%S").to_string(),
        Numbering::UnixSeconds => now.timestamp().to_string(),
        Numbering::UnixNanos => now.timestamp_nanos_opt().unwrap_or_default().to_string(),
        Numbering::Sequential => {
            if options.digits == 0 {
                return Err(Error::config("digits", "must be at least 1"));
            }
            let mut highest = 0i64;
            for_each_migration(dir, |version, _| highest = highest.max(version))?;
            let version = format!("{:0width$}", highest + 1, width = options.digits);
            if version.len() > options.digits {
                return Err(Error::config(
                    "digits",
                    format!(
                        "the next version {version} has more than {} digits: raise the number of digits",
                        options.digits
                    ),
                ));
            }
            version
        }
    })
}

/// A migration file of `dir` whose version is written exactly `version`.
fn existing_version(dir: &Path, version: &str) -> Result<Option<PathBuf>> {
    let mut found = None;
    for_each_migration(dir, |_, file| {
        if file.split('_').next() == Some(version) {
            found = Some(dir.join(file));
        }
    })?;
    Ok(found)
}

/// Calls `f(version, file name)` for each migration file in `dir`.
fn for_each_migration(dir: &Path, mut f: impl FnMut(i64, &str)) -> Result<()> {
    for entry in std::fs::read_dir(dir)
        .map_err(|e| Error::io("reading the migrations directory", dir, e))?
        .flatten()
    {
        if let Some(file) = entry.file_name().to_str()
            && let Ok((version, _, _)) = super::parse_file_name(file)
        {
            f(version, file);
        }
    }
    Ok(())
}

fn header(version: &str, direction: &str, name: &str) -> String {
    format!(
        "-- Migration {version} {direction}: {name}\n-- Created {} by dbops migrate create.\n-- Runs in one transaction unless it holds a statement that cannot (CREATE INDEX CONCURRENTLY, ...)\n-- or the line `-- dbops:no-transaction`.\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("creating migration file (it must not exist yet)", path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io("writing migration file", path, e))
}
