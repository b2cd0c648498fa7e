//! The statement splitter never panics, every statement it returns is non-empty and lies within the
//! script, and its line numbers are in order.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(script) = std::str::from_utf8(data) else {
        return;
    };
    let statements = dbops::migrate::sql::split(script);
    let lines = script.lines().count().max(1);
    let mut last = 0;
    for s in &statements {
        assert!(!s.sql.is_empty());
        assert!(
            s.line >= last && s.line <= lines + 1,
            "line {} of {lines}",
            s.line
        );
        last = s.line;
        let _ = dbops::migrate::sql::tx_requirement(&s.sql);
    }
});
