//! Property tests of the statement splitter: semicolons inside literals, identifiers, dollar quotes
//! and comments never split; every real statement comes back whole, with its line.

use dbops::migrate::sql::split;
use proptest::prelude::*;

/// One statement made of hostile pieces, and whether it has code.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("SELECT 1".to_string()),
        "[a-z ;'\\\\]{0,12}".prop_map(|s| format!("SELECT '{}'", s.replace('\'', "''"))),
        "[a-z ;\\\\]{0,12}"
            .prop_map(|s| format!("SELECT E'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))),
        "[a-z ;]{0,12}".prop_map(|s| format!("SELECT 1 AS \"{}\"", s.replace('"', "\"\""))),
        "[a-z ;$]{0,12}".prop_map(|s| format!("SELECT $tag${s}$tag$")),
        "[a-z ;']{0,12}".prop_map(|s| format!("SELECT $${}$$", s.replace('$', ""))),
        "[a-z ;']{0,12}".prop_map(|s| format!("SELECT 1 -- {s}\n")),
        "[a-z ;']{0,12}".prop_map(|s| format!("/* {s} /* nested; */ */ SELECT 2")),
        Just(
            "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql"
                .to_string()
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn statements_come_back_whole(pieces in proptest::collection::vec(piece(), 1..8), gaps in proptest::collection::vec("[ \n]{0,3}", 8)) {
        let mut script = String::new();
        let mut lines = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            script.push_str(&gaps[i]);
            let start_line = 1 + script.matches('\n').count();
            let leading_comment = p.starts_with("/*");
            lines.push((start_line, leading_comment));
            script.push_str(p);
            script.push_str(";\n");
        }
        let got = split(&script);
        prop_assert_eq!(got.len(), pieces.len(), "script: {:?} -> {:?}", script, got);
        for (stmt, (line, leading_comment)) in got.iter().zip(lines) {
            if !leading_comment {
                prop_assert_eq!(stmt.line, line, "script: {:?}", script);
            }
        }
    }

    /// Arbitrary text never panics the splitter.
    #[test]
    fn never_panics(text in "\\PC{0,200}") {
        let _ = split(&text);
    }
}
