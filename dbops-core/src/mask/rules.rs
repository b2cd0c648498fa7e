//! The masking rules file: per table and column a transformer, in TOML, validated with errors that
//! name the file and line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};

/// What replaces a column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Transformer {
    /// The value as it is (an explicit decision: the column is not personal).
    Keep,
    /// NULL (the column must be nullable).
    Null,
    /// One value for every row, encoded through the column's type.
    Constant(String),
    /// A keyed hash: text becomes hex, integers a keyed permutation of their range (unique in, unique
    /// out; sign kept), uuids a keyed uuid. The same input gives the same output in every table, so
    /// joins on hashed columns still match.
    Hash,
    /// A realistic full name (`First Last`).
    FakeName,
    /// A realistic, unique e-mail address at `example.com`.
    FakeEmail,
    /// The phone number's digits permuted with the key (unique in, unique out), keeping its
    /// punctuation and its first `keep_prefix` digits (country and area code).
    FakePhone {
        /// Digits kept as they are at the start.
        keep_prefix: usize,
    },
    /// Timestamps and dates moved by one keyed amount of at most `max_seconds` either way (the same
    /// for every row and column, so orders and intervals hold).
    Shift {
        /// The largest shift, in seconds.
        max_seconds: i64,
    },
    /// A coordinate moved by a keyed amount so that a latitude/longitude pair moves at most `metres`.
    Jitter {
        /// The largest distance a point moves.
        metres: f64,
    },
    /// Text cut to its first `chars` characters.
    Truncate {
        /// Characters kept.
        chars: usize,
    },
}

impl Transformer {
    /// Its name in the rules file.
    pub fn name(&self) -> &'static str {
        match self {
            Transformer::Keep => "keep",
            Transformer::Null => "null",
            Transformer::Constant(_) => "constant",
            Transformer::Hash => "hash",
            Transformer::FakeName => "fake_name",
            Transformer::FakeEmail => "fake_email",
            Transformer::FakePhone { .. } => "fake_phone",
            Transformer::Shift { .. } => "shift",
            Transformer::Jitter { .. } => "jitter",
            Transformer::Truncate { .. } => "truncate",
        }
    }

    /// Whether distinct inputs give distinct outputs (so a unique column stays unique).
    pub fn keeps_unique(&self) -> bool {
        matches!(
            self,
            Transformer::Keep
                | Transformer::Null
                | Transformer::Hash
                | Transformer::FakeEmail
                | Transformer::FakePhone { .. }
                | Transformer::Shift { .. }
        )
    }
}

/// One column's rule and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRule {
    /// The transformer.
    pub transformer: Transformer,
    /// Its line in the rules file (1-based).
    pub line: usize,
}

/// One table's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRules {
    /// The table's schema (`public` when the file names the table alone).
    pub schema: String,
    /// The table's name.
    pub name: String,
    /// Its line in the rules file.
    pub line: usize,
    /// Rules by column name.
    pub columns: BTreeMap<String, ColumnRule>,
}

impl TableRules {
    /// `schema.name`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// A parsed, validated rules file.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskRules {
    /// Where the rules came from (a path, or `<inline>`).
    pub source: String,
    /// The environment variable holding the masking key, when the file names one.
    pub key_env: Option<String>,
    /// The rules list every column of every table (`complete = true`): any other table or column is
    /// a schema change to review, not only personal-looking ones.
    pub complete: bool,
    /// Rules by `schema.table`.
    pub tables: BTreeMap<String, TableRules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    key_env: Option<String>,
    #[serde(default)]
    complete: bool,
    #[serde(default)]
    tables: BTreeMap<Spanned<String>, Spanned<RawColumns>>,
}

/// One table's column rules as written, with their places in the file.
type RawColumns = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleTable {
    transform: String,
    value: Option<toml::Value>,
    keep_prefix: Option<i64>,
    max: Option<String>,
    metres: Option<f64>,
    chars: Option<i64>,
}

impl MaskRules {
    /// Reads and validates the rules file at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading the masking rules", path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates rules from `text`; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let at = |offset: usize| line_of(text, offset);
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| at(s.start));
            rules_error(source, line, e.message().to_string())
        })?;
        let mut tables = BTreeMap::new();
        for (table, columns) in raw.tables {
            let line = at(table.span().start);
            let (schema, name) = split_table_name(table.get_ref()).ok_or_else(|| {
                rules_error(source, Some(line), table_name_reason(table.get_ref()))
            })?;
            let mut rules = BTreeMap::new();
            for (column, rule) in columns.into_inner() {
                let line = at(rule.span().start);
                let transformer = transformer(rule.into_inner()).map_err(|reason| {
                    rules_error(
                        source,
                        Some(line),
                        format!("{schema}.{name}.{}: {reason}", column.get_ref()),
                    )
                })?;
                rules.insert(column.into_inner(), ColumnRule { transformer, line });
            }
            let qualified = format!("{schema}.{name}");
            if tables.contains_key(&qualified) {
                return Err(rules_error(
                    source,
                    Some(line),
                    format!(
                        "{qualified} is listed twice (once as `{name}`, once as `{qualified}`?)"
                    ),
                ));
            }
            tables.insert(
                qualified,
                TableRules {
                    schema,
                    name,
                    line,
                    columns: rules,
                },
            );
        }
        if let Some(var) = &raw.key_env
            && (var.is_empty() || var.contains('='))
        {
            return Err(rules_error(
                source,
                None,
                format!("key_env `{var}` is not an environment variable name"),
            ));
        }
        Ok(Self {
            source: source.to_string(),
            key_env: raw.key_env,
            complete: raw.complete,
            tables,
        })
    }

    /// The rule for `schema.table.column`, if the file has one.
    pub fn rule(&self, schema: &str, table: &str, column: &str) -> Option<&ColumnRule> {
        self.tables
            .get(&format!("{schema}.{table}"))
            .and_then(|t| t.columns.get(column))
    }

    /// An error about line `line` of this file.
    pub(crate) fn error_at(&self, line: usize, reason: impl Into<String>) -> Error {
        rules_error(&self.source, Some(line), reason.into())
    }
}

fn rules_error(source: &str, line: Option<usize>, reason: String) -> Error {
    let field = match line {
        Some(line) => format!("masking rules {source}, line {line}"),
        None => format!("masking rules {source}"),
    };
    Error::config(field, reason)
}

fn table_name_reason(name: &str) -> String {
    format!("`{name}` is not a table name: write `table` (schema public) or `schema.table`")
}

/// `table` (schema `public`) or `schema.table`.
fn split_table_name(name: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        [table] if !table.is_empty() => Some(("public".into(), table.to_string())),
        [schema, table] if !schema.is_empty() && !table.is_empty() => {
            Some((schema.to_string(), table.to_string()))
        }
        _ => None,
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

const TRANSFORMERS: &str =
    "keep, null, constant, hash, fake_name, fake_email, fake_phone, shift, jitter, truncate";

/// A transformer from its spelling in the file: a name, or a table with `transform` and its settings.
fn transformer(raw: toml::Value) -> std::result::Result<Transformer, String> {
    let table = rule_table(raw)?;
    let parsed = named_transformer(&table)?;
    refuse_other_settings(&table, &parsed)?;
    Ok(parsed)
}

/// A rule's spelling as a table: a bare name is a table without settings.
fn rule_table(raw: toml::Value) -> std::result::Result<RawRuleTable, String> {
    Ok(match raw {
        toml::Value::String(name) => RawRuleTable {
            transform: name,
            value: None,
            keep_prefix: None,
            max: None,
            metres: None,
            chars: None,
        },
        toml::Value::Table(table) => table
            .try_into::<RawRuleTable>()
            .map_err(|e| e.message().trim().to_string())?,
        other => {
            return Err(format!(
                "a rule is a transformer's name or {{ transform = \"...\", ... }}, not {}",
                other.type_str()
            ));
        }
    })
}

/// The transformer `table` names, with the settings it needs.
fn named_transformer(table: &RawRuleTable) -> std::result::Result<Transformer, String> {
    let needs = |what: &str, example: &str| {
        format!(
            "`{}` needs `{what}`: write {{ transform = \"{}\", {example} }}",
            table.transform, table.transform
        )
    };
    Ok(match table.transform.as_str() {
        "keep" => Transformer::Keep,
        "null" => Transformer::Null,
        "hash" => Transformer::Hash,
        "fake_name" => Transformer::FakeName,
        "fake_email" => Transformer::FakeEmail,
        "constant" => Transformer::Constant(match &table.value {
            Some(toml::Value::String(s)) => s.clone(),
            Some(toml::Value::Integer(i)) => i.to_string(),
            Some(toml::Value::Float(f)) => f.to_string(),
            Some(toml::Value::Boolean(b)) => b.to_string(),
            Some(other) => {
                return Err(format!(
                    "a constant is a string, number or boolean, not {}",
                    other.type_str()
                ));
            }
            None => return Err(needs("value", "value = \"n/a\"")),
        }),
        "fake_phone" => Transformer::FakePhone {
            keep_prefix: match table.keep_prefix {
                None => 0,
                Some(n) if (0..=8).contains(&n) => n as usize,
                Some(n) => return Err(format!("keep_prefix is 0 to 8 digits, not {n}")),
            },
        },
        "shift" => {
            let max = table
                .max
                .as_deref()
                .ok_or_else(|| needs("max", "max = \"30 days\""))?;
            let seconds = parse_duration(max).ok_or_else(|| {
                format!("max = \"{max}\" is not a duration (e.g. \"30 days\", \"12 hours\")")
            })?;
            if seconds == 0 {
                return Err("max must be more than zero".into());
            }
            Transformer::Shift {
                max_seconds: seconds,
            }
        }
        "jitter" => match table.metres {
            Some(m) if m > 0.0 && m <= 100_000.0 => Transformer::Jitter { metres: m },
            Some(m) => return Err(format!("metres is more than 0 and at most 100000, not {m}")),
            None => return Err(needs("metres", "metres = 250")),
        },
        "truncate" => match table.chars {
            Some(n) if n >= 0 => Transformer::Truncate { chars: n as usize },
            Some(n) => return Err(format!("chars is 0 or more, not {n}")),
            None => return Err(needs("chars", "chars = 10")),
        },
        other => {
            return Err(format!(
                "unknown transformer `{other}` (one of {TRANSFORMERS})"
            ));
        }
    })
}

/// Refuses a setting of `table` that `parsed` does not take.
fn refuse_other_settings(
    table: &RawRuleTable,
    parsed: &Transformer,
) -> std::result::Result<(), String> {
    let extra = [
        (
            "value",
            table.value.is_some(),
            matches!(parsed, Transformer::Constant(_)),
        ),
        (
            "keep_prefix",
            table.keep_prefix.is_some(),
            matches!(parsed, Transformer::FakePhone { .. }),
        ),
        (
            "max",
            table.max.is_some(),
            matches!(parsed, Transformer::Shift { .. }),
        ),
        (
            "metres",
            table.metres.is_some(),
            matches!(parsed, Transformer::Jitter { .. }),
        ),
        (
            "chars",
            table.chars.is_some(),
            matches!(parsed, Transformer::Truncate { .. }),
        ),
    ];
    if let Some((name, _, _)) = extra.iter().find(|(_, given, allowed)| *given && !*allowed) {
        return Err(format!("`{}` takes no `{name}`", parsed.name()));
    }
    Ok(())
}

/// `N unit` (seconds, minutes, hours, days, weeks; singular, plural or s/m/h/d/w) in seconds.
fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let unit_seconds = match unit.trim() {
        "s" | "sec" | "second" | "seconds" => 1,
        "m" | "min" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return None,
    };
    number
        .checked_mul(unit_seconds)
        .filter(|s| *s <= 3650 * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
key_env = "DBOPS_MASK_KEY"

[tables.users]
email = "fake_email"
phone = { transform = "fake_phone", keep_prefix = 5 }
full_name = "fake_name"
password_hash = "null"

[tables."public.rides"]
pickup_lat = { transform = "jitter", metres = 300 }
requested_at = { transform = "shift", max = "30 days" }
cancel_reason = { transform = "constant", value = "n/a" }
pickup_address = { transform = "truncate", chars = 4 }
"#;

    #[test]
    fn parses_every_spelling_with_lines() {
        let rules = MaskRules::parse(RULES, "rules.toml").unwrap();
        assert_eq!(rules.key_env.as_deref(), Some("DBOPS_MASK_KEY"));
        let phone = rules.rule("public", "users", "phone").unwrap();
        assert_eq!(phone.transformer, Transformer::FakePhone { keep_prefix: 5 });
        assert_eq!(phone.line, 6);
        assert_eq!(
            rules
                .rule("public", "rides", "requested_at")
                .unwrap()
                .transformer,
            Transformer::Shift {
                max_seconds: 30 * 86400
            }
        );
        assert_eq!(
            rules
                .rule("public", "rides", "cancel_reason")
                .unwrap()
                .transformer,
            Transformer::Constant("n/a".into())
        );
        assert_eq!(rules.tables["public.users"].line, 4);
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let text = "[tables.users]\nemail = \"fake_emial\"\n";
        let error = MaskRules::parse(text, "r.toml").unwrap_err().to_string();
        assert!(error.contains("r.toml, line 2"), "{error}");
        assert!(error.contains("public.users.email"), "{error}");
        assert!(
            error.contains("unknown transformer `fake_emial`"),
            "{error}"
        );

        let text = "[tables.users]\nemail = { transform = \"jitter\" }\n";
        let error = MaskRules::parse(text, "r.toml").unwrap_err().to_string();
        assert!(
            error.contains("line 2") && error.contains("needs `metres`"),
            "{error}"
        );

        let text = "[tables.users]\nemail = { transform = \"hash\", chars = 3 }\n";
        let error = MaskRules::parse(text, "r.toml").unwrap_err().to_string();
        assert!(error.contains("`hash` takes no `chars`"), "{error}");

        let text = "[tables.users]\nemail = \n";
        let error = MaskRules::parse(text, "r.toml").unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");

        let text = "[tables.\"a.b.c\"]\nx = \"keep\"\n";
        let error = MaskRules::parse(text, "r.toml").unwrap_err().to_string();
        assert!(
            error.contains("line 1") && error.contains("not a table name"),
            "{error}"
        );

        let text = "[tables.users]\nx = \"keep\"\n[tables.\"public.users\"]\ny = \"keep\"\n";
        let error = MaskRules::parse(text, "r.toml").unwrap_err().to_string();
        assert!(error.contains("listed twice"), "{error}");

        let text = "[tables.users]\nemail = { transform = \"hash\", bogus = 1 }\n";
        let error = MaskRules::parse(text, "r.toml").unwrap_err().to_string();
        assert!(
            error.contains("line 2") && error.contains("bogus"),
            "{error}"
        );

        let text = "key = \"secret\"\n";
        let error = MaskRules::parse(text, "r.toml").unwrap_err().to_string();
        assert!(
            error.contains("line 1") && error.contains("unknown field"),
            "{error}"
        );
        assert!(!error.contains("secret\""), "{error}");
    }
}
