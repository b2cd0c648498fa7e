//! The CLI's tracing subscriber (the library never installs one).

use tracing_subscriber::EnvFilter;

use crate::context::{GlobalArgs, LogFormat};

/// Installs a stderr subscriber: level from `-v` (warn by default) unless `RUST_LOG` is set.
pub fn init(global: &GlobalArgs) {
    let level = match global.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("dbops={level}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match global.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
