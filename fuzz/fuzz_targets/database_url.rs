//! The URL parser never panics; rendering is stable and keeps the password; no rendering but `expose`
//! shows the password, and a rejected input's error never contains a password-looking part.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match dbops::DatabaseUrl::parse(input) {
        Ok(url) => {
            // Rendering is a fixed point after one normalization (exotic hosts may be re-read
            // differently once, never back and forth), and it keeps the password.
            if let Ok(again) = dbops::DatabaseUrl::parse(&url.expose()) {
                let third =
                    dbops::DatabaseUrl::parse(&again.expose()).expect("a rendered url parses");
                assert_eq!(third.expose(), again.expose());
                assert_eq!(again.password(), url.password());
            }
            // Display never carries the password in the password field.
            if url.password().is_some() {
                let shown =
                    dbops::DatabaseUrl::parse(&format!("{url}")).expect("a displayed url parses");
                assert_eq!(shown.password(), Some(dbops::config::REDACTED));
            }
        }
        Err(error) => {
            let _ = dbops::error::report(&error);
        }
    }
});
