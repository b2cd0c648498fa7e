//! Staging copies without personal data: masking rules ([`MaskRules`], a reviewed TOML file) applied
//! with a secret [`MaskKey`] to every row while it streams — into a restore's target
//! (`RestoreOptions::mask`) or into a backup (`BackupOptions::mask`) — so unmasked values are never
//! written to the target's tables or WAL, and subsets ([`SubsetRule`]) that keep the referential
//! closure of the rows they select.
//!
//! Transformers are deterministic for a key (the same input gives the same output in every table and
//! every run, so joins on masked columns still match), keep unique columns unique (refusing a
//! transformer that cannot) and encode values through the column's type. Before any row is written
//! the rules are checked against the schema ([`Masking::check`]): a column that looks personal and
//! has no rule is refused unless allowed, and rules naming tables or columns that no longer exist
//! are reported as a schema change.

mod copy_text;
mod draft;
mod key;
mod rules;
mod shape;
mod subset;
mod transform;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub use copy_text::TableMasker;
pub(crate) use copy_text::{MaskingWriter, mask_stream};
pub use draft::draft_rules;
pub use key::{MIN_KEY_BYTES, MaskKey};
pub use rules::{ColumnRule, MaskRules, TableRules, Transformer};
pub use shape::{ColumnShape, DatabaseShape, ForeignKey, TableShape};
pub use subset::{SubsetReport, SubsetRule, apply_subset};

use crate::error::{Error, Result};

/// The environment variable the key is read from when neither the rules nor the caller name one.
pub const DEFAULT_KEY_ENV: &str = "DBOPS_MASK_KEY";

/// Rules, the key they are applied with, and the personal-looking columns allowed through unmasked.
///
/// ```
/// use std::sync::Arc;
/// use dbops::RestoreOptions;
/// use dbops::mask::{MaskKey, MaskRules, Masking};
///
/// // Usually `Masking::from_file("masking.toml", None)?`, with the key from `DBOPS_MASK_KEY`.
/// let rules = MaskRules::parse(r#"
///     [tables.users]
///     name = "fake_name"
///     email = "fake_email"
///     phone = { transform = "fake_phone", keep_prefix = 3 }
/// "#, "inline")?;
/// // The key makes masking deterministic: an email masks alike in every table and every run.
/// let key = MaskKey::new(b"at least 16 secret bytes")?;
/// let masking = Masking::new(rules, key).allow_unmasked(["users.city"]); // looks personal, is not
/// let options = RestoreOptions::default().with_mask(Arc::new(masking));
/// # let _ = options;
/// # Ok::<(), dbops::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Masking {
    /// The rules.
    pub rules: MaskRules,
    /// `None` for rules loaded only to be checked ([`Masking::check_only`]).
    key: Option<Arc<MaskKey>>,
    /// Columns (`table.column` or `schema.table.column`) that look personal but may stay unmasked.
    pub allow_unmasked: BTreeSet<String>,
}

impl Masking {
    /// `rules` applied with `key`.
    pub fn new(rules: MaskRules, key: MaskKey) -> Self {
        Self {
            rules,
            key: Some(Arc::new(key)),
            allow_unmasked: BTreeSet::new(),
        }
    }

    /// Rules to check against a schema without masking anything: no key needed (checks do not depend
    /// on it); masking rows with it is refused.
    pub fn check_only(rules: MaskRules) -> Self {
        Self {
            rules,
            key: None,
            allow_unmasked: BTreeSet::new(),
        }
    }

    /// The rules file at `path`, with the key from environment variable `key_env`, or else the one
    /// the file names (`key_env = "..."`), or else `DBOPS_MASK_KEY`.
    pub fn from_file(path: impl AsRef<Path>, key_env: Option<&str>) -> Result<Self> {
        let rules = MaskRules::from_file(path)?;
        let var = key_env
            .map(str::to_string)
            .or_else(|| rules.key_env.clone())
            .unwrap_or_else(|| DEFAULT_KEY_ENV.to_string());
        let key = MaskKey::from_env(&var)?;
        Ok(Self::new(rules, key))
    }

    /// The rules file at `path` applied with `key` (a caller that holds the key itself).
    pub fn from_file_with_key(path: impl AsRef<Path>, key: MaskKey) -> Result<Self> {
        Ok(Self::new(MaskRules::from_file(path)?, key))
    }

    /// Lets `columns` (`table.column` or `schema.table.column`) through unmasked although they look
    /// personal.
    pub fn allow_unmasked<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allow_unmasked
            .extend(columns.into_iter().map(Into::into));
        self
    }

    fn allowed(&self, schema: &str, table: &str, column: &str) -> bool {
        let short = format!("{table}.{column}");
        let long = format!("{schema}.{table}.{column}");
        self.allow_unmasked.contains(&short) || self.allow_unmasked.contains(&long)
    }

    /// Checks the rules against `shape` (only the tables named in `tables`, when given): schema
    /// changes, personal-looking columns without a rule, transformers that do not fit their column.
    pub fn check(&self, shape: &DatabaseShape, tables: Option<&BTreeSet<String>>) -> MaskCheck {
        let mut check = MaskCheck::default();
        let in_scope = |t: &str| tables.is_none_or(|set| set.contains(t));
        // A partitioned table is in scope when one of its partitions is (its rows are theirs).
        let covered = |t: &str| {
            in_scope(t)
                || shape.tables.iter().any(|(name, table)| {
                    table.partition_root.as_deref() == Some(t) && in_scope(name)
                })
        };
        self.check_named(shape, &covered, &mut check);
        for (qualified, table) in &shape.tables {
            if !in_scope(qualified) {
                continue;
            }
            check.tables += 1;
            if is_bookkeeping(&table.name) {
                continue;
            }
            let table_rules = self.rules_of(shape, table);
            if table_rules.is_none() && self.rules.complete {
                check.problem(
                    ProblemKind::SchemaChanged,
                    qualified,
                    None,
                    format!(
                        "table {qualified} is not in the rules, which list every table (complete = \
                         true): a new or renamed table? add its rules"
                    ),
                );
            }
            for column in &table.columns {
                self.check_column(&mut check, table, table_rules, column);
            }
        }
        check
    }

    /// Problems with the tables and columns the rules name: those the database does not have
    /// (among the tables `covered`).
    fn check_named(
        &self,
        shape: &DatabaseShape,
        covered: &dyn Fn(&str) -> bool,
        check: &mut MaskCheck,
    ) {
        for (qualified, table_rules) in &self.rules.tables {
            let Some(table) = shape.tables.get(qualified).filter(|_| covered(qualified)) else {
                check.problem(
                    ProblemKind::SchemaChanged,
                    qualified,
                    Some(table_rules.line),
                    format!(
                        "the rules name table {qualified}, which the database does not have \
                     (renamed or dropped since the rules were written?): update the rules"
                    ),
                );
                continue;
            };
            for (column, rule) in &table_rules.columns {
                if !table.columns.iter().any(|c| &c.name == column) {
                    check.problem(
                        ProblemKind::SchemaChanged,
                        &format!("{qualified}.{column}"),
                        Some(rule.line),
                        format!(
                            "the rules name column {column} of {qualified}, which it does not have \
                         (renamed or dropped since the rules were written?): update the rules"
                        ),
                    );
                }
            }
        }
    }

    /// Problems with `column` of `table`: its rule does not fit it, or it has none where it needs one.
    fn check_column(
        &self,
        check: &mut MaskCheck,
        table: &TableShape,
        table_rules: Option<&TableRules>,
        column: &ColumnShape,
    ) {
        let location = format!("{}.{}", table.qualified(), column.name);
        if let Some(rule) = table_rules.and_then(|t| t.columns.get(&column.name)) {
            self.check_rule(check, column, rule, &location);
        } else if looks_personal(column) {
            if self.allowed(&table.schema, &table.name, &column.name) {
                check.notes.push(format!(
                    "{location} looks personal and is let through unmasked"
                ));
            } else {
                check.problem(
                    ProblemKind::Unmasked,
                    &location,
                    None,
                    format!(
                        "{location} looks personal and has no rule: add one (`keep` if it \
                         is not personal) or allow it with --allow-unmasked {}.{}",
                        table.name, column.name
                    ),
                );
            }
        } else if table_rules.is_some() && self.rules.complete {
            check.problem(
                ProblemKind::SchemaChanged,
                &location,
                None,
                format!(
                    "column {location} is not in the rules, which list every column \
                     (complete = true): a new column? add its rule"
                ),
            );
        }
    }

    fn check_rule(
        &self,
        check: &mut MaskCheck,
        column: &ColumnShape,
        rule: &ColumnRule,
        location: &str,
    ) {
        let Some(key) = self.key.as_deref().or(MaskKey::for_checks()) else {
            return;
        };
        if let Err(reason) = transform::compile(&rule.transformer, column, key) {
            let reason = format!("{location}: {reason}");
            check.problem(ProblemKind::Invalid, location, Some(rule.line), reason);
            return;
        }
        if rule.transformer != Transformer::Keep {
            check.masked_columns += 1;
        }
        for reason in misfits(&rule.transformer, column, location) {
            check.problem(ProblemKind::Invalid, location, Some(rule.line), reason);
        }
    }

    /// The check, then each table's masker; an error listing every problem when there is one.
    /// Constants are validated by the server (`client`) against their column's type.
    pub(crate) async fn plan(
        &self,
        client: &tokio_postgres::Client,
        shape: &DatabaseShape,
        streams: &BTreeMap<String, Vec<String>>,
        action: &str,
    ) -> Result<MaskPlan> {
        let key = self.key.clone().ok_or_else(|| {
            Error::config(
                "masking key",
                "these rules were loaded to be checked only (Masking::check_only); load them with \
                 a key to mask",
            )
        })?;
        let tables: BTreeSet<String> = streams.keys().cloned().collect();
        let check = self.check(shape, Some(&tables));
        check.into_result(action, &self.rules.source)?;
        let mut maskers = BTreeMap::new();
        for (qualified, order) in streams {
            if let Some(masker) = self
                .table_masker(client, shape, qualified, order, &key, action)
                .await?
            {
                maskers.insert(qualified.clone(), Arc::new(masker));
            }
        }
        Ok(MaskPlan {
            maskers,
            notes: check.notes,
        })
    }

    /// The masker of the table `qualified`, whose rows stream with the columns `order`; `None` when
    /// the rules change none of its columns.
    async fn table_masker(
        &self,
        client: &tokio_postgres::Client,
        shape: &DatabaseShape,
        qualified: &String,
        order: &[String],
        key: &Arc<MaskKey>,
        action: &str,
    ) -> Result<Option<TableMasker>> {
        let Some(table) = shape.tables.get(qualified) else {
            return Ok(None);
        };
        let Some(table_rules) = self.rules_of(shape, table) else {
            return Ok(None);
        };
        let mut columns = Vec::new();
        // Positions are those of the rows as they stream (the backup's COPY column list), never
        // assumed to be the catalog's.
        for (index, name) in order.iter().enumerate() {
            let Some(rule) = table_rules.columns.get(name) else {
                continue;
            };
            let column = table
                .columns
                .iter()
                .find(|c| &c.name == name)
                .ok_or_else(|| Error::Refused {
                    action: action.to_string(),
                    reason: format!(
                        "the rows of {qualified} carry column {name}, which its table does not \
                         have; nothing was written"
                    ),
                })?;
            let op = transform::compile(&rule.transformer, column, key)
                .map_err(|reason| self.rules.error_at(rule.line, reason))?;
            if let Some(op) = op {
                if let Transformer::Constant(value) = &rule.transformer {
                    validate_constant(client, value, column, qualified)
                        .await
                        .map_err(|reason| self.rules.error_at(rule.line, reason))?;
                }
                columns.push((index, column.name.clone(), op));
            }
        }
        if columns.len() < table_rules.columns.len() {
            let missing = table_rules
                .columns
                .iter()
                .filter(|(name, rule)| {
                    rule.transformer != Transformer::Keep && !order.contains(name)
                })
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>();
            if !missing.is_empty() {
                return Err(Error::Refused {
                    action: action.to_string(),
                    reason: format!(
                        "the rows of {qualified} do not carry the masked column(s) {}; \
                         nothing was written",
                        missing.join(", ")
                    ),
                });
            }
        }
        Ok((!columns.is_empty()).then(|| TableMasker {
            table: qualified.clone(),
            columns,
            key: key.clone(),
        }))
    }

    /// The rules of `table`: its own, or else those of its partitioned table (a partition is masked
    /// like the table it belongs to).
    fn rules_of<'a>(&'a self, shape: &DatabaseShape, table: &TableShape) -> Option<&'a TableRules> {
        self.rules.tables.get(&table.qualified()).or_else(|| {
            let root = table.partition_root.as_ref()?;
            shape.tables.get(root)?;
            self.rules.tables.get(root)
        })
    }
}

/// Why `transformer`, which can write `column`'s type, still cannot apply to it (at `location`, for
/// the messages): NULL on a NOT NULL column, duplicates possible on a unique column, a unique column
/// too short. Empty when it fits.
pub(crate) fn misfits(
    transformer: &Transformer,
    column: &ColumnShape,
    location: &str,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if *transformer == Transformer::Null && column.not_null {
        reasons.push(format!(
            "{location} is NOT NULL: `null` cannot apply; use hash, constant or a fake"
        ));
    }
    if column.unique && !transformer.keeps_unique() {
        reasons.push(format!(
            "{location} is unique and `{}` can give two rows the same value; use hash, \
             fake_email, fake_phone or shift",
            transformer.name()
        ));
    }
    let short_for_unique = match (transformer, column.max_chars) {
        (Transformer::Hash, Some(max)) => max < 16,
        (Transformer::FakeEmail, Some(max)) => max < 28,
        _ => false,
    };
    if column.unique && short_for_unique {
        reasons.push(format!(
            "{location} is unique and holds at most {} characters, too few for `{}` to stay unique",
            column.max_chars.unwrap_or(0),
            transformer.name()
        ));
    }
    reasons
}

/// Casts the constant to the column's type on the server: a value its type rejects is an error
/// before any row is written.
async fn validate_constant(
    client: &tokio_postgres::Client,
    value: &str,
    column: &ColumnShape,
    table: &str,
) -> std::result::Result<(), String> {
    let sql = format!("SELECT $1::text::{}", column.type_sql);
    client
        .query_one(&sql, &[&value])
        .await
        .map(|_| ())
        .map_err(|e| {
            let reason = e
                .as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_else(|| e.to_string());
            format!(
                "{table}.{}: the constant is not a valid {} ({reason})",
                column.name, column.type_sql
            )
        })
}

/// Each table's masker, ready for the rows.
#[derive(Debug, Clone, Default)]
pub struct MaskPlan {
    pub(crate) maskers: BTreeMap<String, Arc<TableMasker>>,
    /// What the check noticed without refusing (columns kept because they have no rule).
    pub notes: Vec<String>,
}

impl MaskPlan {
    /// The masker of table `schema.name`, when any of its columns is masked.
    pub fn masker(&self, qualified: &str) -> Option<Arc<TableMasker>> {
        self.maskers.get(qualified).cloned()
    }
}

/// What kind of problem a rules check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The rules name a table or column the database does not have.
    SchemaChanged,
    /// A column that looks personal has no rule.
    Unmasked,
    /// A rule does not fit its column (type, NOT NULL, uniqueness).
    Invalid,
}

/// One problem a rules check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaskProblem {
    /// Its kind.
    pub kind: ProblemKind,
    /// `schema.table` or `schema.table.column`.
    pub location: String,
    /// The rule's line in the file, when a rule is at fault.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

/// What checking rules against a schema found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MaskCheck {
    /// Problems that refuse masking (empty: the rules fit).
    pub problems: Vec<MaskProblem>,
    /// Things noticed that do not refuse it.
    pub notes: Vec<String>,
    /// Tables checked.
    pub tables: usize,
    /// Columns a rule masks (rules other than `keep`).
    pub masked_columns: usize,
}

impl MaskCheck {
    fn problem(&mut self, kind: ProblemKind, location: &str, line: Option<usize>, message: String) {
        self.problems.push(MaskProblem {
            kind,
            location: location.to_string(),
            line,
            message,
        });
    }

    /// Whether the rules fit.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// `Ok` when the rules fit, else an error listing every problem with its line.
    pub fn into_result(&self, action: &str, source: &str) -> Result<()> {
        if self.ok() {
            return Ok(());
        }
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| match p.line {
                Some(line) => format!("  {source}:{line}: {}", p.message),
                None => format!("  {}", p.message),
            })
            .collect();
        Err(Error::Refused {
            action: action.to_string(),
            reason: format!(
                "the masking rules do not fit the schema; nothing was written:\n{}",
                lines.join("\n")
            ),
        })
    }
}

/// dbops' own bookkeeping tables (migration state and history), never masked or reported.
fn is_bookkeeping(table: &str) -> bool {
    table == "schema_migrations" || table.starts_with("dbops_")
}

/// Column-name words that suggest personal data.
const PERSONAL_WORDS: &[&str] = &[
    "name",
    "firstname",
    "lastname",
    "surname",
    "fullname",
    "username",
    "email",
    "mail",
    "phone",
    "mobile",
    "msisdn",
    "tel",
    "address",
    "street",
    "zip",
    "zipcode",
    "postcode",
    "postal",
    "lat",
    "lng",
    "lon",
    "latitude",
    "longitude",
    "location",
    "coords",
    "coordinates",
    "geom",
    "geog",
    "token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "ip",
    "ssn",
    "birth",
    "birthday",
    "birthdate",
    "dob",
    "iban",
    "card",
    "license",
    "licence",
    "plate",
    "passport",
    "ref",
];

/// Whether a column looks like it holds personal data: a word of its name (split at `_`) in the
/// list above (booleans aside: `notifications_email` is a setting), or an address type.
pub fn looks_personal(column: &ColumnShape) -> bool {
    let name = column.name.to_ascii_lowercase();
    matches!(
        column.base_type.as_str(),
        "inet" | "cidr" | "macaddr" | "macaddr8"
    ) || column.base_type != "bool"
        && name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| PERSONAL_WORDS.contains(&word))
}

/// Checks `masking`'s rules against the live database of `url`.
pub async fn check_database(
    url: &crate::config::DatabaseUrl,
    masking: &Masking,
) -> Result<MaskCheck> {
    let client = url.connect().await?;
    let shape = DatabaseShape::read(&client).await?;
    Ok(masking.check(&shape, None))
}

/// A draft of complete rules for the live database of `url` ([`draft_rules`]).
pub async fn draft_for_database(url: &crate::config::DatabaseUrl) -> Result<String> {
    let client = url.connect().await?;
    let shape = DatabaseShape::read(&client).await?;
    Ok(draft_rules(&shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, base: &str, unique: bool, not_null: bool) -> ColumnShape {
        ColumnShape {
            name: name.into(),
            type_sql: base.into(),
            base_type: base.into(),
            max_chars: None,
            scale: None,
            not_null,
            unique,
        }
    }

    fn shape() -> DatabaseShape {
        let mut shape = DatabaseShape::default();
        shape.tables.insert(
            "public.users".into(),
            TableShape {
                schema: "public".into(),
                name: "users".into(),
                columns: vec![
                    column("id", "int8", true, true),
                    column("email", "text", true, true),
                    column("full_name", "text", false, true),
                    column("nickname", "text", false, false),
                    column("last_ip", "inet", false, false),
                ],
                partition_root: None,
            },
        );
        shape
    }

    fn masking(rules: &str) -> Masking {
        Masking::new(
            MaskRules::parse(rules, "r.toml").unwrap(),
            MaskKey::new(b"0123456789abcdef").unwrap(),
        )
    }

    #[test]
    fn refuses_unmasked_personal_columns_and_reports_schema_changes() {
        let m = masking(
            "[tables.users]\nemail = \"fake_name\"\nfull_name = \"null\"\nmail2 = \"hash\"\n\
             [tables.gone]\nx = \"keep\"\n",
        );
        let check = m.check(&shape(), None);
        let kinds: Vec<(ProblemKind, &str, Option<usize>)> = check
            .problems
            .iter()
            .map(|p| (p.kind, p.location.as_str(), p.line))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (ProblemKind::SchemaChanged, "public.gone", Some(5)),
                (ProblemKind::SchemaChanged, "public.users.mail2", Some(4)),
                (ProblemKind::Invalid, "public.users.email", Some(2)),
                (ProblemKind::Invalid, "public.users.full_name", Some(3)),
                (ProblemKind::Unmasked, "public.users.last_ip", None),
            ]
        );
        assert!(check.notes.is_empty(), "{:?}", check.notes);
        let error = check
            .into_result("restore", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("r.toml:2:") && error.contains("--allow-unmasked users.last_ip"));

        let m = masking("[tables.users]\nemail = \"fake_email\"\nfull_name = \"fake_name\"\n")
            .allow_unmasked(["users.last_ip"]);
        let check = m.check(&shape(), None);
        assert!(check.ok(), "{check:?}");
        assert_eq!(
            check.notes,
            ["public.users.last_ip looks personal and is let through unmasked"]
        );

        // Complete rules: a column they do not list is a schema change, personal-looking or not.
        let m = masking(
            "complete = true\n[tables.users]\nid = \"keep\"\nemail = \"fake_email\"\n\
             full_name = \"fake_name\"\nlast_ip = \"null\"\n",
        );
        let check = m.check(&shape(), None);
        assert_eq!(check.problems.len(), 1, "{check:?}");
        assert_eq!(check.problems[0].location, "public.users.nickname");
        assert_eq!(check.problems[0].kind, ProblemKind::SchemaChanged);
    }
}
