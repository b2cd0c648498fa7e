//! Point-in-time recovery: WAL archiving (`wal push`/`wal fetch`), base backups, restores to a time, a
//! restore point, a transaction or a WAL location, status and retention, all on the same object stores,
//! compression and encryption as backups.
//!
//! Store layout: `wal/<timeline>/<file>` (zstd, optionally age) and `base/<id>.tar.zst[.age]` with its
//! manifest `base/<id>.json` (and PostgreSQL's `backup_manifest` as `base/<id>.backup_manifest.zst`, which
//! an incremental base backup on it reads). Give each cluster its own store prefix.

mod archive_wait;
mod basebackup;
mod combine;
mod command;
mod delta;
mod manifest_check;
mod prefetch;
mod recovery;
mod status;
mod tar_tap;
mod wal;

use std::time::Duration;

pub use crate::config::shell_quote;
pub use basebackup::{
    BaseBackup, BaseBackupOptions, VerifiedBaseBackup, base_backup, base_backup_with, chain_of,
    list_base_backups, lsn_to_segment, parse_lsn, verify_chain,
};
pub use command::WalCommands;
pub use delta::DeltaReport;
pub use prefetch::{PREFETCH_LOCK_STALE_AFTER, PrefetchLock, prefetch_once, start_prefetch};
pub use recovery::{
    RecoveryOptions, RecoveryReport, RecoveryTarget, choose_base_backup, prepare, start_restored,
    wait_for_promotion,
};
pub use status::{
    ArchiverStatus, PitrRetentionPlan, PitrStatus, SetupItem, TimelineStatus, create_restore_point,
    retention, setup, status,
};
pub use wal::{
    DEFAULT_DEADLINE, FetchReport, PushReport, WalFileKind, WalName, decode, fetch, prefetch,
    prefetch_dir, push, segment_name, validate_segment,
};

use crate::codec::{Decryption, Encryption};

/// Encryption, keys and deadlines shared by every PITR operation. Every field has a documented default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PitrOptions {
    /// Encryption of pushed WAL and base backups. Default: none.
    pub encryption: Encryption,
    /// Keys for fetching encrypted WAL and restoring encrypted base backups. Default: none.
    pub decryption: Decryption,
    /// zstd level. Default: 1.
    pub compression_level: i32,
    /// Deadline of one `wal push` or `wal fetch` including retries. Default: 60 s.
    pub deadline: Duration,
}

crate::setters::with_setters!(PitrOptions {
    with_encryption => encryption: Encryption,
    with_decryption => decryption: Decryption,
    with_compression_level => compression_level: i32,
    with_deadline => deadline: Duration,
});

impl Default for PitrOptions {
    fn default() -> Self {
        Self {
            encryption: Encryption::None,
            decryption: Decryption::none(),
            compression_level: 1,
            deadline: DEFAULT_DEADLINE,
        }
    }
}

impl PitrOptions {
    pub(crate) fn encryption_is_set(&self) -> bool {
        !matches!(self.encryption, Encryption::None)
    }
}

/// Tar streams for the tests of the modules that read base backups.
#[cfg(test)]
mod test_tar {
    /// A ustar stream of `members` (name, contents), as `pg_basebackup` writes one.
    pub(super) fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, body) in members {
            let mut header = tar::Header::new_ustar();
            header.set_size(body.len() as u64);
            header.set_mode(0o600);
            builder.append_data(&mut header, name, *body).unwrap();
        }
        builder.into_inner().unwrap()
    }
}
