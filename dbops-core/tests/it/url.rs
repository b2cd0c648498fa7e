//! `DatabaseUrl` parsing and redaction (no server needed).

use dbops::DatabaseUrl;
use dbops::config::redact_raw;

#[test]
fn parses_a_full_url() {
    let url = DatabaseUrl::parse(
        "postgres://app:s3cr%40t@db.example.com:6543/rides?sslmode=disable&application_name=api",
    )
    .unwrap();
    assert_eq!(url.host(), "db.example.com");
    assert_eq!(url.port(), 6543);
    assert_eq!(url.user(), Some("app"));
    assert_eq!(url.password(), Some("s3cr@t"));
    assert_eq!(url.database(), "rides");
    assert_eq!(url.param("sslmode"), Some("disable"));
    assert_eq!(url.param("application_name"), Some("api"));
}

#[test]
fn parses_multi_host_ipv6_and_socket_forms() {
    let url = DatabaseUrl::parse("postgresql://u@h1:5433,[::1]:5434/db").unwrap();
    assert_eq!(url.hosts(), ["h1".to_string(), "::1".to_string()]);
    assert_eq!(url.port_list(), [5433, 5434]);

    let socket = DatabaseUrl::parse("postgres://u@%2Ftmp%2Fdbops-x:5433/db").unwrap();
    assert!(socket.is_unix_socket());
    assert_eq!(socket.host(), "/tmp/dbops-x");

    let query_host =
        DatabaseUrl::parse("postgresql://postgres@/postgres?host=/tmp/dbops-y&port=5432").unwrap();
    assert_eq!(query_host.host(), "/tmp/dbops-y");
    assert_eq!(query_host.port(), 5432);
}

#[test]
fn parses_key_value_strings_with_quoting() {
    let url =
        DatabaseUrl::parse(r"host=db port=5440 user=app password='it\'s s3cret' dbname=rides")
            .unwrap();
    assert_eq!(url.host(), "db");
    assert_eq!(url.port(), 5440);
    assert_eq!(url.password(), Some("it's s3cret"));
    assert_eq!(url.database(), "rides");
}

#[test]
fn round_trips_through_expose() {
    for raw in [
        "postgres://app:p%2Fw%3Ad@db:5432/rides?sslmode=disable",
        "postgresql://postgres@/postgres?host=/tmp/dbops-y&port=5432",
    ] {
        let url = DatabaseUrl::parse(raw).unwrap();
        let again = DatabaseUrl::parse(&url.expose()).unwrap();
        assert_eq!(url, again, "{raw}");
    }
}

#[test]
fn never_prints_the_password() {
    let url = DatabaseUrl::parse("postgres://app:hunter2secret@db:5432/rides").unwrap();
    for shown in [
        format!("{url}"),
        format!("{url:?}"),
        url.redacted(),
        serde_json::to_string(&url).unwrap(),
    ] {
        assert!(!shown.contains("hunter2secret"), "{shown}");
        assert!(shown.contains("********"), "{shown}");
    }
    assert!(url.expose().contains("hunter2secret"));

    let kv = DatabaseUrl::parse("host=db password=hunter2secret user=app").unwrap();
    assert!(!format!("{kv:?}").contains("hunter2secret"));
    assert!(!redact_raw("postgres://a:hunter2secret@h/db").contains("hunter2secret"));
    assert!(!redact_raw("host=h password=hunter2secret").contains("hunter2secret"));
}

#[test]
fn bad_input_is_a_clear_error_without_the_password() {
    for raw in [
        "postgres://u:topsecret@h:notaport/db",
        "mysql://u:topsecret@h/db",
        "host='unterminated password=topsecret",
    ] {
        let err = DatabaseUrl::parse(raw).unwrap_err();
        let text = dbops::error::report(&err);
        assert!(!text.contains("topsecret"), "{text}");
        assert!(
            text.contains("url") || text.contains("connection"),
            "{text}"
        );
    }
}

mod properties {
    use dbops::DatabaseUrl;
    use proptest::prelude::*;

    fn component() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-zA-Z0-9 _.@:/?#&=%'\"\\\\-]{1,16}").unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Arbitrary input never panics the parser, and an error never echoes a password-like value.
        #[test]
        fn parser_never_panics(input in ".{0,80}") {
            let _ = DatabaseUrl::parse(&input);
            let _ = DatabaseUrl::parse(&format!("postgres://{input}"));
            let _ = DatabaseUrl::parse(&format!("host=h {input}"));
        }

        /// Built URLs survive expose -> parse, and no rendering but `expose` shows the password.
        #[test]
        fn round_trip_and_redaction(
            user in component(),
            password in "[a-zA-Z0-9]{12,20}",
            db in component(),
            host in "[a-z][a-z0-9-]{0,10}",
            port in 1u16..,
        ) {
            let url = DatabaseUrl::tcp(&host, port, &user, Some(&password), &db);
            let again = DatabaseUrl::parse(&url.expose()).unwrap();
            prop_assert_eq!(&again, &url);
            for shown in [format!("{url}"), format!("{url:?}"), url.redacted()] {
                prop_assert!(!shown.contains(&password), "{}", shown);
            }
            let broken = format!("postgres://{user}:{password}@{host}:{port}x/{db}");
            if let Err(err) = DatabaseUrl::parse(&broken) {
                let text = dbops::error::report(&err);
                prop_assert!(!text.contains(&password), "{}", text);
            }
        }
    }
}

#[test]
fn hosts_that_cannot_stand_in_the_authority_round_trip_through_the_query() {
    // A `:` outside an IPv6 address (and an `@` with it, accepted in key=value host lists) must not
    // be re-read as user:password (a fuzzing finding, kept in the corpus).
    let input = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/corpus/database_url/regression-host-with-at-and-colon"
    ))
    .unwrap();
    let url = DatabaseUrl::parse(&input).unwrap();
    assert!(
        url.hosts()
            .iter()
            .any(|h| h.contains(':') && h.contains('@'))
    );
    assert_eq!(url.password(), None);
    let again = DatabaseUrl::parse(&url.expose()).unwrap();
    assert_eq!(again.hosts(), url.hosts());
    assert_eq!(again.password(), None);
    assert_eq!(again.user(), None);
    assert_eq!(DatabaseUrl::parse(&again.expose()).unwrap(), again);
    // A real IPv6 address stays in the authority, bracketed.
    let v6 = DatabaseUrl::parse("host=::1 port=5433 dbname=db").unwrap();
    assert!(
        v6.expose().starts_with("postgresql://[::1]:5433/"),
        "{}",
        v6.expose()
    );
}
