//! Keeping secrets out of core files: the `dbops` binary holds database passwords, age identities and
//! passphrases in memory, so it turns core dumps off for itself before doing anything.

use crate::error::{Error, Result};

/// Sets the core file size limit to 0 (soft and hard) and marks the process not dumpable, so a crash
/// writes no core file and other processes of the same user cannot attach to it or read its memory.
/// Child processes get the limit too (tools started by dbops see the password only via a passfile).
/// Meant for the `dbops` binary; a library user decides for their own process.
pub fn disable_core_dumps() -> Result<()> {
    use nix::sys::resource::{Resource, setrlimit};
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(|e| {
        Error::config(
            "core dump limit",
            format!("could not set RLIMIT_CORE to 0: {e}"),
        )
    })?;
    nix::sys::prctl::set_dumpable(false).map_err(|e| {
        Error::config(
            "process dumpable flag",
            format!("could not clear it with prctl(PR_SET_DUMPABLE): {e}"),
        )
    })
}
