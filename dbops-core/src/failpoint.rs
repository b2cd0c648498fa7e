//! Named failpoints (cargo feature `failpoints`, for the fault tests): a configured `return` makes one
//! an error, `panic` panics (a crash at that point), `sleep(ms)` delays. Without the feature every
//! failpoint is `Ok(())` and compiles to nothing.

use crate::error::Result;

/// Fails (or panics, or sleeps) at `name` when the failpoint is configured.
#[cfg(feature = "failpoints")]
#[cfg_attr(not(any(feature = "migrate", feature = "backup")), allow(dead_code))]
pub(crate) fn failpoint(name: &str) -> Result<()> {
    fail::fail_point!(name, |message: Option<String>| Err(
        crate::error::Error::Io {
            context: format!(
                "injected fault at failpoint `{name}`{}",
                message.map(|m| format!(" ({m})")).unwrap_or_default()
            ),
            path: std::path::PathBuf::new(),
            source: std::io::Error::other("injected fault"),
        }
    ));
    Ok(())
}

/// Always `Ok` without the `failpoints` feature.
#[cfg(not(feature = "failpoints"))]
#[cfg_attr(not(any(feature = "migrate", feature = "backup")), allow(dead_code))]
#[inline(always)]
pub(crate) fn failpoint(_name: &str) -> Result<()> {
    Ok(())
}
