//! Connection configuration: [`DatabaseUrl`] parsing and redaction, connections and pools, and the
//! environment handed to libpq programs.

mod child_env;
mod connect;
mod core_dumps;
mod duration;
pub(crate) mod tls;
mod url;

#[cfg(feature = "pitr")]
pub(crate) use child_env::EnvChild;
#[cfg(feature = "backup")]
pub(crate) use child_env::collect_stderr;
pub use child_env::{ChildEnv, shell_quote};
pub use connect::{PoolOptions, quote_ident, quote_literal};
pub use core_dumps::disable_core_dumps;
pub use duration::{TimeUnit, duration_from, elapsed_secs};
pub use url::{DatabaseUrl, REDACTED, redact_raw};
