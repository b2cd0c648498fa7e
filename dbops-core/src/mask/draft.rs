//! A first draft of the rules for a database (`dbops mask init`): every column of every table, with a
//! transformer suggested for each column that looks personal and `keep` for the rest, marked
//! complete so that later schema changes are reported. A draft to review, not a verdict.

use std::fmt::Write;

use super::key::MaskKey;
use super::rules::Transformer;
use super::shape::{ColumnShape, DatabaseShape};
use super::{DEFAULT_KEY_ENV, is_bookkeeping, looks_personal, misfits, transform};

/// The rules file text for `shape`, every table and column listed.
pub fn draft_rules(shape: &DatabaseShape) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Masking rules drafted by `dbops mask init`. Review every rule: columns marked `looks\n\
         # personal` got a suggested transformer, all others `keep`. `dbops mask check` lints this\n\
         # file against a database or a backup. The key is read from the environment, never from here.\n\
         key_env = \"{DEFAULT_KEY_ENV}\"\n\
         # Every table and column is listed: any other is reported as a schema change.\n\
         complete = true"
    );
    for (qualified, table) in &shape.tables {
        if is_bookkeeping(&table.name) {
            continue;
        }
        let name = if table.schema == "public" {
            toml_key(&table.name)
        } else {
            toml_key(qualified)
        };
        let _ = writeln!(out, "\n[tables.{name}]");
        for column in &table.columns {
            let (rule, comment) = suggestion(column);
            let _ = writeln!(out, "{} = {rule}{comment}", toml_key(&column.name));
        }
    }
    out
}

/// A bare TOML key when it can be one, else a quoted one.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The rule (as TOML) and a trailing comment for one column.
fn suggestion(column: &ColumnShape) -> (String, &'static str) {
    if !looks_personal(column) {
        return ("\"keep\"".into(), "");
    }
    let words: Vec<String> = column
        .name
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_string)
        .collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    let mut candidates: Vec<(Transformer, &str)> = Vec::new();
    if has(&["email", "mail"]) {
        candidates.push((Transformer::FakeEmail, "\"fake_email\""));
    }
    if has(&["phone", "mobile", "msisdn", "tel"]) {
        candidates.push((
            Transformer::FakePhone { keep_prefix: 0 },
            "{ transform = \"fake_phone\", keep_prefix = 0 }",
        ));
    }
    if has(&["lat", "lng", "lon", "latitude", "longitude"]) {
        candidates.push((
            Transformer::Jitter { metres: 250.0 },
            "{ transform = \"jitter\", metres = 250 }",
        ));
    }
    if has(&[
        "name",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "username",
    ]) && !column.unique
    {
        candidates.push((Transformer::FakeName, "\"fake_name\""));
    }
    if has(&["birth", "birthday", "birthdate", "dob"]) {
        candidates.push((
            Transformer::Shift {
                max_seconds: 180 * 86_400,
            },
            "{ transform = \"shift\", max = \"180 days\" }",
        ));
    }
    if !column.not_null && !column.unique {
        candidates.push((Transformer::Null, "\"null\""));
    }
    candidates.push((Transformer::Hash, "\"hash\""));
    let fits = |t: &Transformer| {
        MaskKey::for_checks().is_some_and(|key| transform::compile(t, column, key).is_ok())
            && misfits(t, column, "").is_empty()
    };
    match candidates.into_iter().find(|(t, _)| fits(t)) {
        Some((_, rule)) => (rule.to_string(), "  # looks personal"),
        None => (
            "\"keep\"".into(),
            "  # REVIEW: looks personal, no transformer fits its type",
        ),
    }
}
