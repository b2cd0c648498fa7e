//! File-name parsing never panics, and accepted names round-trip to the same version and direction.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((version, description, up)) = dbops::migrate::parse_file_name(name) {
        assert!(version >= 0);
        let rebuilt = format!(
            "{version}_{description}.{}.sql",
            if up { "up" } else { "down" }
        );
        let again = dbops::migrate::parse_file_name(&rebuilt).expect("a rebuilt name parses");
        assert_eq!(again, (version, description, up));
    }
    let _ =
        dbops::MigrationSource::from_files("fuzz", [(name.to_string(), "SELECT 1".to_string())]);
});
