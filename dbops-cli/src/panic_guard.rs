//! A panic anywhere in the CLI (a bug) becomes two short lines and exit code 70 (`EX_SOFTWARE`):
//! what was being done, the panic's message and location, and that it is a bug. A backtrace is
//! printed only when `RUST_BACKTRACE` asks for one.

use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::Mutex;

/// The exit code of a run that panicked.
pub const EXIT_INTERNAL_ERROR: i32 = 70;

/// Whether a panic happened during the run (in any thread: a panicking task counts too).
static PANICKED: Mutex<bool> = Mutex::new(false);

/// Runs `body` for `command`; a panic in it (or in any thread while it runs) gives exit code 70.
pub fn run(command: &str, body: impl FnOnce() -> i32) -> i32 {
    let previous = panic::take_hook();
    let described = command.to_string();
    panic::set_hook(Box::new(move |info| report(&described, info)));
    let outcome = panic::catch_unwind(AssertUnwindSafe(body));
    let _ = panic::take_hook();
    panic::set_hook(previous);
    let panicked = std::mem::take(&mut *PANICKED.lock().unwrap_or_else(|e| e.into_inner()));
    match outcome {
        Ok(_) if panicked => EXIT_INTERNAL_ERROR,
        Ok(code) => code,
        Err(_) => EXIT_INTERNAL_ERROR,
    }
}

fn report(command: &str, info: &PanicHookInfo<'_>) {
    *PANICKED.lock().unwrap_or_else(|e| e.into_inner()) = true;
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    let location = info
        .location()
        .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    eprintln!("error: internal error while running `{command}`: {message}{location}");
    eprintln!(
        "this is a bug in dbops, not a problem with your input or setup; please report it with \
         the command you ran (RUST_BACKTRACE=1 shows a backtrace)"
    );
    if backtrace_wanted() {
        eprintln!("{}", std::backtrace::Backtrace::force_capture());
    }
}

fn backtrace_wanted() -> bool {
    std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0")
}
