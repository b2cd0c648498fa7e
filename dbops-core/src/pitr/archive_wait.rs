//! Ending an incremental base backup without the server's own wait for its last WAL segment to be
//! archived, which checks once a second. While `pg_basebackup --wal-method=fetch` runs (the server
//! then does not wait), a temporary replication slot on a session of dbops' holds the WAL the backup
//! needs, the WAL files the server adds to the stream are left out of the stored backup (the archive
//! has them), and dbops watches `pg_stat_archiver` for the segment itself.
//!
//! Full backups keep `--wal-method=none` and the server's wait: a full backup of a large database
//! runs long, and fetching would send all the WAL written meanwhile a second time.

use std::time::{Duration, Instant};

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};

/// A temporary physical replication slot that keeps the server's WAL from now on until released
/// (or until its session ends, should dbops stop first).
pub(super) struct WalHold {
    client: tokio_postgres::Client,
    name: String,
}

impl WalHold {
    /// Creates the slot on a session of its own; `None` when the role or the server cannot (no
    /// REPLICATION privilege, no free slot, a standby that refuses): the backup then lets the server
    /// wait for the archive as before.
    pub(super) async fn acquire(url: &DatabaseUrl) -> Option<Self> {
        let client = url.connect().await.ok()?;
        let name = format!(
            "dbops_basebackup_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_subsec_micros()
        );
        let created = client
            .query_one(
                "SELECT pg_create_physical_replication_slot($1, true, true)",
                &[&name],
            )
            .await;
        match created {
            Ok(_) => Some(Self { client, name }),
            Err(e) => {
                tracing::debug!(error = %e, "no temporary replication slot for the base backup; the server waits for the archive");
                None
            }
        }
    }

    /// Drops the slot (closing the session would too).
    pub(super) async fn release(self) {
        let dropped = self
            .client
            .execute("SELECT pg_drop_replication_slot($1)", &[&self.name])
            .await;
        if let Err(e) = dropped {
            tracing::debug!(error = %e, slot = %self.name, "dropping the base backup's slot; it goes with its session");
        }
    }
}

/// Waits until the server has archived WAL segment `segment` (the last one a base backup needs),
/// when it archives at all (`archive_mode` on a primary, `always` on a standby); warns every 30 s
/// while it waits, naming the last segment archived and the last that failed.
pub(super) async fn wait_until_archived(url: &DatabaseUrl, segment: &str) -> Result<()> {
    let client = url.connect().await?;
    let failed = |e| Error::postgres("watching pg_stat_archiver for the base backup's WAL", e);
    let row = client
        .query_one(
            "SELECT current_setting('archive_mode'), pg_is_in_recovery()",
            &[],
        )
        .await
        .map_err(failed)?;
    let (mode, standby): (String, bool) = (row.get(0), row.get(1));
    if !(mode == "always" || (mode == "on" && !standby)) {
        return Ok(());
    }
    let started = Instant::now();
    let mut warned = Duration::ZERO;
    loop {
        let row = client
            .query_one(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver",
                &[],
            )
            .await
            .map_err(failed)?;
        let (archived, last_failed): (Option<String>, Option<String>) = (row.get(0), row.get(1));
        if archived
            .as_deref()
            .is_some_and(|name| reached(name, segment))
        {
            tracing::debug!(elapsed = ?started.elapsed(), segment, "the base backup's last WAL segment is archived");
            return Ok(());
        }
        if started.elapsed() >= warned + Duration::from_secs(30) {
            warned = started.elapsed();
            tracing::warn!(
                segment,
                last_archived = archived.as_deref().unwrap_or("none"),
                last_failed = last_failed.as_deref().unwrap_or("none"),
                "the base backup is taken; waiting for its last WAL segment to be archived (see the server's log for archive_command failures)"
            );
        }
        let pause = if started.elapsed() < Duration::from_secs(5) {
            20
        } else {
            200
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

/// Whether the archiver, having archived `archived` last, has archived `segment`: it archives in
/// name order, and a backup history file (`<segment>.<offset>.backup`) comes after its segment.
fn reached(archived: &str, segment: &str) -> bool {
    archived
        .get(..24)
        .is_some_and(|name| name.bytes().all(|b| b.is_ascii_hexdigit()) && name >= segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archiver_has_reached_a_segment_once_it_archived_it_or_a_later_file() {
        let segment = "00000001000000000000007E";
        assert!(reached("00000001000000000000007E", segment));
        assert!(reached("00000001000000000000007F", segment));
        assert!(reached("00000001000000000000007E.00000028.backup", segment));
        assert!(reached("00000002000000000000007D", segment));
        assert!(!reached("00000001000000000000007D", segment));
        assert!(!reached(
            "00000001000000000000007D.00000028.backup",
            segment
        ));
        assert!(!reached("00000002.history", segment));
    }
}
