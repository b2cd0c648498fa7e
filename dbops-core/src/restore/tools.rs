//! The PostgreSQL programs of one restore, chosen by the `pg_dump` that wrote the backup and by the
//! target server: `pg_restore` reads an archive only when it is at least as new as the `pg_dump`
//! that wrote it, and loads into a server only when it is at least as new as the server.

use std::path::PathBuf;

use crate::backup::BackupEntry;
use crate::cluster::PgInstallations;
use crate::error::Result;

/// The installations found and the major version of the backup's `pg_dump` (when its manifest
/// names it).
#[derive(Debug, Clone)]
pub(crate) struct RestoreTools {
    installations: PgInstallations,
    dump_major: Option<u32>,
    /// Whether the backup carries the planner statistics.
    statistics: bool,
    /// The target server's major version (none when only reading the archive).
    target_major: Option<u32>,
}

impl RestoreTools {
    /// The tools for restoring `entry` into a server of `target_major` (none: only reading it).
    pub(crate) fn for_backup(entry: &BackupEntry, target_major: Option<u32>) -> Result<Self> {
        let dump_major = entry
            .manifest
            .as_ref()
            .and_then(|m| major_of_version_text(&m.pg_dump_version));
        Ok(Self {
            installations: PgInstallations::discover()?,
            dump_major,
            statistics: entry.manifest.as_ref().is_some_and(|m| m.statistics),
            target_major,
        })
    }

    /// Whether the restore brings the backup's planner statistics along: the backup carries them
    /// and the target (18 or newer) can take them, so no ANALYZE is needed.
    pub(crate) fn keeps_statistics(&self) -> bool {
        self.statistics && self.target_major.is_some_and(|major| major >= 18)
    }

    /// `pg_restore` arguments that leave the statistics out for a target older than 18.
    pub(crate) fn statistics_args(&self) -> &'static [&'static str] {
        if self.statistics && self.target_major.is_some() && !self.keeps_statistics() {
            &["--no-statistics"]
        } else {
            &[]
        }
    }

    /// [`Self::for_backup`] on a blocking thread (the first search runs programs).
    pub(crate) async fn for_backup_async(
        entry: &BackupEntry,
        target_major: Option<u32>,
    ) -> Result<Self> {
        let entry = entry.clone();
        tokio::task::spawn_blocking(move || Self::for_backup(&entry, target_major))
            .await
            .map_err(|e| {
                crate::Error::config("postgres binaries", format!("discovery task failed: {e}"))
            })?
    }

    /// `pg_restore` to read the archive without a server (list it, render it to SQL): of the
    /// `pg_dump`'s major version or the nearest newer one (the newest installed when unknown).
    pub(crate) fn reader(&self) -> Result<PathBuf> {
        match self.dump_major {
            Some(major) => self.installations.program_for("pg_restore", major),
            None => self.newest("pg_restore"),
        }
    }

    /// `program` (`pg_restore`, `psql`) to load the backup into a server of `target_major`: at least
    /// as new as both the `pg_dump` and the server, the nearest such; with its major version.
    pub(crate) fn loader(&self, program: &str, target_major: u32) -> Result<(PathBuf, u32)> {
        let major = target_major.max(self.dump_major.unwrap_or(0));
        let found = self.installations.installation_for(program, major)?;
        Ok((found.bin_dir().join(program), found.major()))
    }

    /// The newest installed `program` (an error naming what to install when there is none).
    fn newest(&self, program: &str) -> Result<PathBuf> {
        let newest = self
            .installations
            .all()
            .iter()
            .filter(|b| b.has(program))
            .map(|b| b.major())
            .max()
            .unwrap_or(0);
        self.installations.program_for(program, newest)
    }
}

/// The major version in a program's or server's version text (`pg_dump (PostgreSQL) 15.18
/// (Debian ...)`, `15.4 (Debian ...)`, `18beta1`).
pub(crate) fn major_of_version_text(text: &str) -> Option<u32> {
    text.split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_are_read_from_version_texts() {
        assert_eq!(
            major_of_version_text("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(major_of_version_text("18.6"), Some(18));
        assert_eq!(
            major_of_version_text("pg_dump (PostgreSQL) 18beta1"),
            Some(18)
        );
        assert_eq!(major_of_version_text("unknown"), None);
    }
}
