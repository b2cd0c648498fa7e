//! Decoding archived objects (the age + zstd container), WAL names and segment headers never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let keys = dbops::backup::Decryption::none().with_passphrase("fuzz");
    let _ = dbops::pitr::decode(data, &keys, "fuzz");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(name) = dbops::pitr::WalName::parse(text) {
            assert!(name.key().starts_with("wal/"));
            assert!(!name.key().contains(".."));
        }
    }
    let name = dbops::pitr::WalName::parse("000000010000000000000001").expect("valid name");
    let _ = dbops::pitr::validate_segment(&name, data);
});
