//! Where migrations come from: a directory or files embedded at compile time, golang-migrate naming.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One side (up or down) of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// File name, e.g. `000001_create_users.up.sql`.
    pub file: String,
    /// The SQL text.
    pub sql: String,
    /// Hex SHA-256 of the text.
    pub checksum: String,
}

/// A migration: a version with its up and (usually) down script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The version (sequence number or timestamp).
    pub version: i64,
    /// The description part of the file name.
    pub name: String,
    /// The up script.
    pub up: Script,
    /// The down script, if there is one.
    pub down: Option<Script>,
}

/// How strictly a source is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strictness {
    /// Problems that golang-migrate tolerates (an up without a down) are warnings.
    #[default]
    Lenient,
    /// Every problem is an error.
    Strict,
}

/// An ordered, validated set of migrations.
///
/// ```
/// use dbops::MigrationSource;
/// use dbops::migrate::Strictness;
///
/// // Usually `MigrationSource::from_dir("migrations")?` or `MigrationSource::embedded(&DIR)?`.
/// let source = MigrationSource::from_files("inline", [
///     ("000001_create_users.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY)"),
///     ("000001_create_users.down.sql", "DROP TABLE users"),
///     ("000002_add_email.up.sql", "ALTER TABLE users ADD COLUMN email text"),
/// ])?;
/// assert_eq!(source.latest(), Some(2));
/// assert_eq!(source.warnings().len(), 1); // 000002 has no down file: it cannot be rolled back
/// assert!(source.validate(Strictness::Strict).is_err()); // strict: every warning is an error
/// # Ok::<(), dbops::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MigrationSource {
    origin: String,
    migrations: Vec<Migration>,
    warnings: Vec<String>,
}

/// A parsed file name: `(version, name, is_up)`.
pub fn parse_file_name(file: &str) -> std::result::Result<(i64, String, bool), String> {
    let expected = "expected `NNNNNN_description.up.sql` or `NNNNNN_description.down.sql` (golang-migrate naming)";
    let (stem, up) = if let Some(stem) = file.strip_suffix(".up.sql") {
        (stem, true)
    } else if let Some(stem) = file.strip_suffix(".down.sql") {
        (stem, false)
    } else {
        return Err(format!(
            "`{file}` does not end in .up.sql or .down.sql; {expected}"
        ));
    };
    let (digits, name) = stem.split_once('_').unwrap_or((stem, ""));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{file}` does not start with a numeric version; {expected}"
        ));
    }
    let version: i64 = digits.parse().map_err(|_| {
        format!(
            "`{file}`: version `{digits}` is too large (at most {})",
            i64::MAX
        )
    })?;
    if name
        .chars()
        .any(|c| c.is_whitespace() || c == '/' || c == '\\')
    {
        return Err(format!(
            "`{file}`: the description must not contain spaces or slashes; {expected}"
        ));
    }
    Ok((version, name.to_string(), up))
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// Whether the text holds anything but whitespace and comments.
fn has_statements(sql: &str) -> bool {
    !crate::sql::split(sql).is_empty()
}

impl MigrationSource {
    /// Reads `*.up.sql` / `*.down.sql` from a directory (other files are ignored).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::io("reading the migrations directory", dir, e))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("reading the migrations directory", dir, e))?;
            let path = entry.path();
            let Some(file) = path
                .file_name()
                .and_then(|f| f.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            if !file.ends_with(".sql") || !path.is_file() {
                continue;
            }
            let sql = std::fs::read_to_string(&path)
                .map_err(|e| Error::io("reading migration", &path, e))?;
            files.push((file, sql));
        }
        Self::from_files(dir.display().to_string(), files)
    }

    /// Migrations embedded with `include_dir!` (re-exported as `dbops::include_dir`).
    pub fn embedded(dir: &include_dir::Dir<'_>) -> Result<Self> {
        let mut files = Vec::new();
        for file in dir.files() {
            let name = file
                .path()
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default()
                .to_string();
            if !name.ends_with(".sql") {
                continue;
            }
            let sql = file.contents_utf8().ok_or_else(|| Error::MigrationSource {
                path: name.clone(),
                reason: "is not valid UTF-8".into(),
            })?;
            files.push((name, sql.to_string()));
        }
        Self::from_files(format!("embedded:{}", dir.path().display()), files)
    }

    /// Builds a source from `(file name, SQL)` pairs.
    pub fn from_files<N: Into<String>, S: Into<String>>(
        origin: impl Into<String>,
        files: impl IntoIterator<Item = (N, S)>,
    ) -> Result<Self> {
        let origin = origin.into();
        let mut ups: BTreeMap<i64, (String, Script)> = BTreeMap::new();
        let mut downs: BTreeMap<i64, Script> = BTreeMap::new();
        for (file, sql) in files {
            let (file, sql) = (file.into(), sql.into());
            let (version, name, up) =
                parse_file_name(&file).map_err(|reason| Error::MigrationSource {
                    path: format!("{origin}/{file}"),
                    reason,
                })?;
            if !has_statements(&sql) {
                return Err(Error::MigrationSource {
                    path: format!("{origin}/{file}"),
                    reason:
                        "is empty (only whitespace or comments); write the SQL or delete the file"
                            .into(),
                });
            }
            let script = Script {
                checksum: checksum(&sql),
                file: file.clone(),
                sql,
            };
            let duplicate = if up {
                ups.insert(version, (name, script)).map(|(_, s)| s.file)
            } else {
                downs.insert(version, script).map(|s| s.file)
            };
            if let Some(other) = duplicate {
                return Err(Error::MigrationSource {
                    path: format!("{origin}/{file}"),
                    reason: format!(
                        "version {version} is also used by `{other}`; every version must be unique"
                    ),
                });
            }
        }
        let mut warnings = Vec::new();
        if let Some((version, down)) = downs.iter().find(|(v, _)| !ups.contains_key(v)) {
            return Err(Error::MigrationSource {
                path: format!("{origin}/{}", down.file),
                reason: format!("has no matching up file for version {version}"),
            });
        }
        let migrations = ups
            .into_iter()
            .map(|(version, (name, up))| {
                let down = downs.remove(&version);
                if down.is_none() {
                    warnings.push(format!(
                        "{}: no down migration; it cannot be rolled back",
                        up.file
                    ));
                }
                Migration {
                    version,
                    name,
                    up,
                    down,
                }
            })
            .collect();
        Ok(Self {
            origin,
            migrations,
            warnings,
        })
    }

    /// Turns warnings into an error when `strictness` is [`Strictness::Strict`].
    pub fn validate(self, strictness: Strictness) -> Result<Self> {
        if strictness == Strictness::Strict && !self.warnings.is_empty() {
            return Err(Error::MigrationSource {
                path: self.origin.clone(),
                reason: format!("strict mode: {}", self.warnings.join("; ")),
            });
        }
        Ok(self)
    }

    /// Where the migrations came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The migrations in version order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// Problems that are not errors in lenient mode.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The migration with this version.
    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.version == version)
    }

    /// The highest version.
    pub fn latest(&self) -> Option<i64> {
        self.migrations.last().map(|m| m.version)
    }

    /// A hash of every file name and checksum (changes whenever any file does).
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for m in &self.migrations {
            for script in std::iter::once(&m.up).chain(m.down.as_ref()) {
                hash.update(script.file.as_bytes());
                hash.update([0]);
                hash.update(script.checksum.as_bytes());
                hash.update([0]);
            }
        }
        hex::encode(hash.finalize())
    }
}
