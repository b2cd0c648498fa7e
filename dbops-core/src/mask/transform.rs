//! Transformers bound to a column's type: each turns one value's text form (as COPY writes it,
//! unescaped) into the masked value's text form, which the server parses with the column's type.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};

use super::key::MaskKey;
use super::rules::Transformer;
use super::shape::ColumnShape;

// Names of their own, none of them the seeder's: a masked name never equals a seeded one.
const FIRST: &[&str] = &[
    "Amara", "Yuki", "Mateo", "Priya", "Omar", "Lena", "Kofi", "Ines", "Ravi", "Chen", "Aisha",
    "Lucas", "Sven", "Noor", "Elena", "Tariq", "Mei", "Diego", "Zara", "Ivan", "Fatima", "Hugo",
    "Keiko", "Samuel", "Olga", "Pablo", "Hana", "Emeka", "Ingrid", "Rafael", "Leila", "Tomas",
];
const LAST: &[&str] = &[
    "Okafor",
    "Tanaka",
    "Garcia",
    "Sharma",
    "Haddad",
    "Novak",
    "Mensah",
    "Silva",
    "Iyer",
    "Wang",
    "Khan",
    "Moreau",
    "Larsen",
    "Rahman",
    "Petrova",
    "Nakamura",
    "Costa",
    "Schmidt",
    "Kowalski",
    "Nguyen",
    "Adeyemi",
    "Lindqvist",
    "Duarte",
    "Mwangi",
    "Rossi",
    "Yilmaz",
    "Castillo",
    "Ng",
];

/// Metres per degree of latitude (and of longitude at the equator, the most).
const METRES_PER_DEGREE: f64 = 111_320.0;

/// A transformer ready for one column: how to compute the masked text of a value.
#[derive(Debug, Clone)]
pub(crate) enum ColumnOp {
    Null,
    Constant(String),
    HashText {
        max_chars: Option<usize>,
    },
    HashInt {
        bits: u32,
    },
    HashUuid,
    FakeName {
        max_chars: Option<usize>,
    },
    FakeEmail {
        max_chars: Option<usize>,
    },
    FakePhone {
        keep_prefix: usize,
    },
    Shift {
        kind: TimeKind,
        seconds: i64,
    },
    Jitter {
        degrees: f64,
        limit: f64,
        format: FloatFormat,
    },
    Truncate {
        chars: usize,
    },
}

/// Which time type a shifted column has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TimeKind {
    Date,
    Timestamp,
    TimestampTz,
}

/// How a jittered coordinate is written back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FloatFormat {
    Double,
    Real,
    Decimal(u32),
}

/// The base types each transformer accepts, for the error when a column has another.
pub(crate) fn accepted_types(transformer: &Transformer) -> &'static str {
    match transformer {
        Transformer::Keep | Transformer::Null | Transformer::Constant(_) => "any type",
        Transformer::Hash => "text, varchar, char, smallint, integer, bigint or uuid",
        Transformer::FakeName
        | Transformer::FakeEmail
        | Transformer::FakePhone { .. }
        | Transformer::Truncate { .. } => "text, varchar or char",
        Transformer::Shift { .. } => "date, timestamp or timestamptz",
        Transformer::Jitter { .. } => "double precision, real or numeric",
    }
}

fn is_text(base: &str) -> bool {
    matches!(base, "text" | "varchar" | "bpchar" | "citext" | "name")
}

/// The operation of `transformer` on `column`, or why it does not fit (`None`: keep).
pub(crate) fn compile(
    transformer: &Transformer,
    column: &ColumnShape,
    key: &MaskKey,
) -> std::result::Result<Option<ColumnOp>, String> {
    let base = column.base_type.as_str();
    let wrong_type = || {
        format!(
            "`{}` does not apply to type {} (it takes {})",
            transformer.name(),
            column.type_sql,
            accepted_types(transformer)
        )
    };
    let op = match transformer {
        Transformer::Keep => return Ok(None),
        Transformer::Null => ColumnOp::Null,
        Transformer::Constant(value) => ColumnOp::Constant(value.clone()),
        Transformer::Hash => match base {
            b if is_text(b) => ColumnOp::HashText {
                max_chars: column.max_chars,
            },
            "int2" => ColumnOp::HashInt { bits: 15 },
            "int4" => ColumnOp::HashInt { bits: 31 },
            "int8" => ColumnOp::HashInt { bits: 63 },
            "uuid" => ColumnOp::HashUuid,
            _ => return Err(wrong_type()),
        },
        Transformer::FakeName if is_text(base) => ColumnOp::FakeName {
            max_chars: column.max_chars,
        },
        Transformer::FakeEmail if is_text(base) => ColumnOp::FakeEmail {
            max_chars: column.max_chars,
        },
        Transformer::FakePhone { keep_prefix } if is_text(base) => ColumnOp::FakePhone {
            keep_prefix: *keep_prefix,
        },
        Transformer::Truncate { chars } if is_text(base) => ColumnOp::Truncate { chars: *chars },
        Transformer::Shift { max_seconds } => {
            let kind = match base {
                "date" => TimeKind::Date,
                "timestamp" => TimeKind::Timestamp,
                "timestamptz" => TimeKind::TimestampTz,
                _ => return Err(wrong_type()),
            };
            ColumnOp::Shift {
                kind,
                seconds: shift_seconds(key, *max_seconds, kind),
            }
        }
        Transformer::Jitter { metres } => {
            let format = match (base, column.scale) {
                ("float8", _) => FloatFormat::Double,
                ("float4", _) => FloatFormat::Real,
                ("numeric", scale) => FloatFormat::Decimal(scale.unwrap_or(6)),
                _ => return Err(wrong_type()),
            };
            let latitude = ["lat", "latitude"]
                .iter()
                .any(|w| column.name.to_ascii_lowercase().split('_').any(|p| p == *w));
            ColumnOp::Jitter {
                // Each axis moves at most metres/√2, so a point moves at most `metres`.
                degrees: metres / std::f64::consts::SQRT_2 / METRES_PER_DEGREE,
                limit: if latitude { 90.0 } else { 180.0 },
                format,
            }
        }
        _ => return Err(wrong_type()),
    };
    Ok(Some(op))
}

/// The one amount every shifted value moves by: keyed, never zero, at most `max` seconds (whole days
/// for dates).
fn shift_seconds(key: &MaskKey, max: i64, kind: TimeKind) -> i64 {
    let word = key.word(b"shift", &max.to_le_bytes());
    let unit = if kind == TimeKind::Date { 86_400 } else { 1 };
    let steps = (max / unit).max(1);
    let magnitude = (word >> 1) % steps as u64 + 1;
    let signed = if word & 1 == 0 {
        magnitude as i64
    } else {
        -(magnitude as i64)
    };
    signed * unit
}

impl ColumnOp {
    /// The masked text of `value` (never NULL: NULL stays NULL before this is called); `None` means
    /// NULL.
    pub(crate) fn apply(
        &self,
        key: &MaskKey,
        value: &str,
    ) -> std::result::Result<Option<String>, String> {
        Ok(Some(match self {
            ColumnOp::Null => return Ok(None),
            ColumnOp::Constant(constant) => constant.clone(),
            ColumnOp::HashText { max_chars } => {
                let digest = hex::encode(&key.digest(b"hash", value.as_bytes())[..16]);
                cut(digest, *max_chars)
            }
            ColumnOp::HashInt { bits } => hash_int(key, value, *bits)?,
            ColumnOp::HashUuid => {
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&key.digest(b"hash-uuid", value.as_bytes())[..16]);
                uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .to_string()
            }
            ColumnOp::FakeName { max_chars } => {
                let (first, last) = name_of(key, value);
                cut(format!("{first} {last}"), *max_chars)
            }
            ColumnOp::FakeEmail { max_chars } => {
                let (first, last) = name_of(key, value);
                let tag = hex::encode(&key.digest(b"email-tag", value.as_bytes())[..8]);
                let local = format!(
                    "{}.{}.{tag}",
                    first.to_lowercase(),
                    last.to_lowercase().replace([' ', '-'], "")
                );
                let domain = "@example.com";
                let email = match max_chars {
                    Some(max) if local.len() + domain.len() > *max => {
                        let keep = max.saturating_sub(domain.len()).max(1);
                        format!("{}{domain}", &tag[..keep.min(tag.len())])
                    }
                    _ => format!("{local}{domain}"),
                };
                cut(email, *max_chars)
            }
            ColumnOp::FakePhone { keep_prefix } => fake_phone(key, value, *keep_prefix),
            ColumnOp::Shift { kind, seconds } => shift(value, *kind, *seconds)?,
            ColumnOp::Jitter {
                degrees,
                limit,
                format,
            } => jitter(key, value, *degrees, *limit, *format)?,
            ColumnOp::Truncate { chars } => value.chars().take(*chars).collect(),
        }))
    }
}

fn cut(text: String, max_chars: Option<usize>) -> String {
    match max_chars {
        Some(max) if text.chars().count() > max => text.chars().take(max).collect(),
        _ => text,
    }
}

fn name_of(key: &MaskKey, value: &str) -> (&'static str, &'static str) {
    let word = key.word(b"name", value.as_bytes());
    (
        FIRST[(word % FIRST.len() as u64) as usize],
        LAST[((word >> 32) % LAST.len() as u64) as usize],
    )
}

/// A keyed permutation of the integer's sign-preserving range: distinct in, distinct out.
fn hash_int(key: &MaskKey, value: &str, bits: u32) -> std::result::Result<String, String> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| "not an integer".to_string())?;
    let domain = 1u64 << bits;
    let out = if n >= 0 {
        key.permute(n as u64, domain) as i64
    } else {
        let magnitude = (-(n + 1)) as u64;
        -(key.permute(magnitude, domain) as i64) - 1
    };
    Ok(out.to_string())
}

/// The digits after the first `keep_prefix` permuted as one number (so distinct numbers stay
/// distinct), everything else as it was.
fn fake_phone(key: &MaskKey, value: &str, keep_prefix: usize) -> String {
    let digits: Vec<usize> = value
        .char_indices()
        .filter(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    let masked: Vec<usize> = digits.iter().skip(keep_prefix).copied().collect();
    if masked.is_empty() {
        // As few digits as the kept prefix: permute them all rather than keep the number.
        return if keep_prefix > 0 && !digits.is_empty() {
            fake_phone(key, value, 0)
        } else {
            value.to_string()
        };
    }
    let number: String = masked
        .iter()
        .map(|&i| value.as_bytes()[i] as char)
        .collect();
    let replacement = if masked.len() <= 18 {
        let domain = 10u64.pow(masked.len() as u32);
        let n: u64 = number.parse().unwrap_or(0);
        format!("{:0width$}", key.permute(n, domain), width = masked.len())
    } else {
        key.digest(b"phone-long", number.as_bytes())
            .iter()
            .cycle()
            .take(masked.len())
            .map(|b| char::from(b'0' + b % 10))
            .collect()
    };
    let mut out = value.as_bytes().to_vec();
    for (position, digit) in masked.iter().zip(replacement.bytes()) {
        out[*position] = digit;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// `value` moved by `seconds`, written back in the form it came in (ISO, with its offset; years
/// before 1 AD as PostgreSQL writes them, with ` BC`).
fn shift(value: &str, kind: TimeKind, seconds: i64) -> std::result::Result<String, String> {
    if value == "infinity" || value == "-infinity" {
        return Ok(value.to_string());
    }
    let unparseable = || {
        format!(
            "not an ISO {} (dump and restore with DateStyle ISO)",
            match kind {
                TimeKind::Date => "date",
                _ => "timestamp",
            }
        )
    };
    let (body, bc) = match value.strip_suffix(" BC") {
        Some(body) => (body, true),
        None => (value, false),
    };
    let (date_text, rest) = body.split_once(' ').unwrap_or((body, ""));
    let date = iso_date(date_text, bc).ok_or_else(unparseable)?;
    if kind == TimeKind::Date {
        if !rest.is_empty() {
            return Err(unparseable());
        }
        let moved = date + Duration::days(seconds / 86_400);
        let (text, era) = iso_date_text(moved);
        return Ok(format!("{text}{era}"));
    }
    let (time_text, offset) = if kind == TimeKind::TimestampTz {
        let at = rest.find(['+', '-']).ok_or_else(unparseable)?;
        rest.split_at(at)
    } else {
        (rest, "")
    };
    let time = NaiveTime::parse_from_str(time_text, "%H:%M:%S%.f").map_err(|_| unparseable())?;
    let moved = date.and_time(time) + Duration::seconds(seconds);
    let (text, era) = iso_date_text(moved.date());
    Ok(format!(
        "{text} {}{offset}{era}",
        moved.time().format("%H:%M:%S%.f")
    ))
}

/// `YYYY-MM-DD` (at least four year digits) as a date; `bc`: the year is before 1 AD (year 1 BC is
/// the astronomical year 0).
fn iso_date(text: &str, bc: bool) -> Option<NaiveDate> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    NaiveDate::from_ymd_opt(if bc { 1 - year } else { year }, month, day)
}

/// A date as PostgreSQL writes it in ISO style, and its era suffix (` BC` or nothing).
fn iso_date_text(date: NaiveDate) -> (String, &'static str) {
    let (year, era) = match date.year() {
        year if year <= 0 => (1 - year, " BC"),
        year => (year, ""),
    };
    (
        format!("{year:04}-{:02}-{:02}", date.month(), date.day()),
        era,
    )
}

/// `value` moved by a keyed amount of at most `degrees`, kept within ±`limit`.
fn jitter(
    key: &MaskKey,
    value: &str,
    degrees: f64,
    limit: f64,
    format: FloatFormat,
) -> std::result::Result<String, String> {
    let n: f64 = value
        .trim()
        .parse()
        .map_err(|_| "not a number".to_string())?;
    if !n.is_finite() {
        return Ok(value.to_string());
    }
    let word = key.word(b"jitter", value.as_bytes());
    let unit = (word >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
    let moved = (n + (unit * 2.0 - 1.0) * degrees).clamp(-limit, limit);
    Ok(match format {
        FloatFormat::Double => moved.to_string(),
        FloatFormat::Real => (moved as f32).to_string(),
        FloatFormat::Decimal(scale) => format!("{moved:.prec$}", prec = scale as usize),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MaskKey {
        MaskKey::new(b"test-key-0123456789").unwrap()
    }

    fn column(name: &str, base: &str) -> ColumnShape {
        ColumnShape {
            name: name.into(),
            type_sql: base.into(),
            base_type: base.into(),
            max_chars: None,
            scale: None,
            not_null: false,
            unique: false,
        }
    }

    fn run(t: Transformer, c: &ColumnShape, value: &str) -> Option<String> {
        let key = key();
        compile(&t, c, &key)
            .unwrap()
            .unwrap()
            .apply(&key, value)
            .unwrap()
    }

    #[test]
    fn deterministic_and_type_shaped() {
        let email = column("email", "text");
        let a = run(Transformer::FakeEmail, &email, "ada@lovelace.org").unwrap();
        assert_eq!(
            Some(a.clone()),
            run(Transformer::FakeEmail, &email, "ada@lovelace.org")
        );
        assert!(a.ends_with("@example.com") && a.contains('.'), "{a}");
        assert_ne!(
            a,
            run(Transformer::FakeEmail, &email, "alan@turing.org").unwrap()
        );

        let phone = run(
            Transformer::FakePhone { keep_prefix: 4 },
            &column("phone", "text"),
            "+1 415-000-0001",
        )
        .unwrap();
        assert!(phone.starts_with("+1 415-") && phone.len() == 15, "{phone}");
        assert_ne!(phone, "+1 415-000-0001");

        let short = run(
            Transformer::FakePhone { keep_prefix: 4 },
            &column("phone", "text"),
            "+1 415",
        )
        .unwrap();
        assert!(
            short.starts_with("+1 ") && short.len() == 6 && short != "+1 415",
            "{short}"
        );
        let mut tiny = column("email", "varchar");
        tiny.max_chars = Some(8);
        assert_eq!(
            run(Transformer::FakeEmail, &tiny, "a@b.c")
                .unwrap()
                .chars()
                .count(),
            8
        );

        let id = run(Transformer::Hash, &column("id", "int4"), "42").unwrap();
        assert!(id.parse::<i32>().unwrap() >= 0);
        let negative = run(Transformer::Hash, &column("id", "int4"), "-42").unwrap();
        assert!(negative.parse::<i32>().unwrap() < 0);

        let uuid = run(Transformer::Hash, &column("u", "uuid"), "x").unwrap();
        assert!(uuid::Uuid::parse_str(&uuid).is_ok());

        let mut short = column("code", "varchar");
        short.max_chars = Some(10);
        assert_eq!(run(Transformer::Hash, &short, "abc").unwrap().len(), 10);
    }

    #[test]
    fn shifts_keep_form_and_jitter_stays_within_metres() {
        let key = key();
        let op = compile(
            &Transformer::Shift {
                max_seconds: 86_400 * 30,
            },
            &column("at", "timestamptz"),
            &key,
        )
        .unwrap()
        .unwrap();
        let a = op.apply(&key, "2025-03-01 10:00:00+00").unwrap().unwrap();
        let b = op
            .apply(&key, "2025-03-01 10:00:01.5+05:30")
            .unwrap()
            .unwrap();
        assert!(
            a.ends_with("+00") && b.ends_with(".500+05:30") || b.ends_with(".5+05:30"),
            "{a} {b}"
        );
        let parse =
            |s: &str| chrono::NaiveDateTime::parse_from_str(&s[..19], "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!((parse(&b) - parse(&a)).num_seconds(), 1);
        let moved = (parse(&a) - parse("2025-03-01 10:00:00"))
            .num_seconds()
            .abs();
        assert!(moved > 0 && moved <= 86_400 * 30);
        assert!(op.apply(&key, "March 1").is_err());
        // Negative offsets, and years before 1 AD as PostgreSQL writes them.
        assert_eq!(
            shift("2025-03-01 10:00:00-03:30", TimeKind::TimestampTz, 60).unwrap(),
            "2025-03-01 10:01:00-03:30"
        );
        assert_eq!(
            shift("0001-01-01 00:00:10+00", TimeKind::TimestampTz, -20).unwrap(),
            "0001-12-31 23:59:50+00 BC"
        );
        assert_eq!(
            shift("0005-02-29 BC", TimeKind::Date, 86_400).unwrap(),
            "0005-03-01 BC"
        );
        assert_eq!(
            shift("0001-12-31 BC", TimeKind::Date, 86_400).unwrap(),
            "0001-01-01"
        );
        assert_eq!(
            shift("12345-06-01 08:00:00", TimeKind::Timestamp, 3600).unwrap(),
            "12345-06-01 09:00:00"
        );

        let op = compile(
            &Transformer::Jitter { metres: 500.0 },
            &column("pickup_lat", "float8"),
            &key,
        )
        .unwrap()
        .unwrap();
        for v in ["37.7749", "-12.5", "89.9999"] {
            let out: f64 = op.apply(&key, v).unwrap().unwrap().parse().unwrap();
            let metres = (out - v.parse::<f64>().unwrap()).abs() * METRES_PER_DEGREE;
            assert!(
                metres <= 500.0 / std::f64::consts::SQRT_2 + 1e-6 && out <= 90.0,
                "{v} {out}"
            );
        }
    }

    #[test]
    fn refuses_types_a_transformer_cannot_write() {
        let error = compile(&Transformer::FakeName, &column("n", "int4"), &key()).unwrap_err();
        assert!(error.contains("type int4"), "{error}");
        assert!(compile(&Transformer::Hash, &column("b", "bool"), &key()).is_err());
    }
}
