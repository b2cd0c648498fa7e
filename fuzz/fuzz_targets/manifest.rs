//! Manifest parsing never panics, and an accepted manifest never points outside its database's folder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = dbops::backup::Manifest::parse(data, "fuzz/x.manifest.json") {
        let folder = format!("{}/", dbops::backup::manifest_folder(&manifest.database));
        assert!(manifest.data.key.starts_with(&folder));
        assert!(!manifest.data.key.split('/').any(|p| p == ".."));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dbops::backup::parse_legacy_name(text);
        let _ = dbops::storage::StoreUrl::parse(text);
    }
});
