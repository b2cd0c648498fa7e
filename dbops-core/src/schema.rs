//! A catalog snapshot of one schema: every object with its definition, for comparing databases
//! (migration round trips, drift).

use std::collections::BTreeMap;

use tokio_postgres::GenericClient;

use crate::error::{Error, Result};

/// Objects of a schema keyed `kind name` (e.g. `column users.email`), valued by their definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SchemaSnapshot {
    /// `kind name` -> definition.
    pub objects: BTreeMap<String, String>,
}

/// One difference between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SchemaChange {
    /// Present only in the second snapshot.
    Added {
        /// `kind name`.
        object: String,
        /// Its definition.
        definition: String,
    },
    /// Present only in the first.
    Removed {
        /// `kind name`.
        object: String,
        /// Its definition.
        definition: String,
    },
    /// Different definitions.
    Changed {
        /// `kind name`.
        object: String,
        /// Before.
        before: String,
        /// After.
        after: String,
    },
}

impl std::fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaChange::Added { object, definition } => write!(f, "+ {object}: {definition}"),
            SchemaChange::Removed { object, definition } => write!(f, "- {object}: {definition}"),
            SchemaChange::Changed {
                object,
                before,
                after,
            } => write!(f, "~ {object}: {before} -> {after}"),
        }
    }
}

/// The catalog queries: (kind, SQL returning name and definition; `$1` is the schema).
const QUERIES: &[(&str, &str)] = &[
    (
        "table",
        "SELECT c.relname, c.relkind::text || coalesce(' ' || obj_description(c.oid, 'pg_class'), '')
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f')",
    ),
    (
        "column",
        "SELECT c.relname || '.' || a.attname,
                format_type(a.atttypid, a.atttypmod)
                || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
                || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
                || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped",
    ),
    (
        "constraint",
        "SELECT c.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1",
    ),
    (
        "index",
        "SELECT i.relname, pg_get_indexdef(i.oid)
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
         WHERE n.nspname = $1",
    ),
    (
        "view",
        "SELECT c.relname, c.relkind::text || ' ' || pg_get_viewdef(c.oid)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('v', 'm')",
    ),
    (
        "sequence",
        "SELECT c.relname, format_type(s.seqtypid, NULL) || ' ' || s.seqincrement || ' ' || s.seqmin || ' ' || s.seqmax
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1",
    ),
    (
        "function",
        "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                CASE WHEN p.prokind IN ('a', 'w') THEN p.prokind::text ELSE pg_get_functiondef(p.oid) END
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = $1",
    ),
    (
        "trigger",
        "SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND NOT t.tgisinternal",
    ),
    (
        "type",
        "SELECT t.typname, t.typtype::text || coalesce(' ' || (
                  SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'r', 'm')
            OR (n.nspname = $1 AND t.typtype = 'c' AND EXISTS (
                  SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))",
    ),
    ("extension", "SELECT e.extname, e.extversion FROM pg_extension e WHERE $1::text IS NOT NULL"),
];

impl SchemaSnapshot {
    /// Reads every object of `schema`, leaving out the tables named in `exclude` (and their
    /// columns, constraints, indexes and sequences).
    pub async fn capture(
        client: &impl GenericClient,
        schema: &str,
        exclude: &[&str],
    ) -> Result<Self> {
        let mut objects = BTreeMap::new();
        for (kind, sql) in QUERIES {
            let rows = client.query(*sql, &[&schema]).await.map_err(|e| {
                Error::postgres(format!("reading the {kind}s of schema `{schema}`"), e)
            })?;
            for row in rows {
                let name: String = row.get(0);
                let definition: Option<String> = row.get(1);
                let excluded = exclude.iter().any(|t| {
                    name == *t
                        || name.starts_with(&format!("{t}."))
                        || name.starts_with(&format!("{t}_"))
                });
                if !excluded {
                    objects.insert(format!("{kind} {name}"), definition.unwrap_or_default());
                }
            }
        }
        Ok(Self { objects })
    }

    /// What changed from `self` to `after`.
    pub fn diff(&self, after: &SchemaSnapshot) -> Vec<SchemaChange> {
        let mut changes = Vec::new();
        for (object, before) in &self.objects {
            match after.objects.get(object) {
                None => changes.push(SchemaChange::Removed {
                    object: object.clone(),
                    definition: before.clone(),
                }),
                Some(now) if now != before => changes.push(SchemaChange::Changed {
                    object: object.clone(),
                    before: before.clone(),
                    after: now.clone(),
                }),
                Some(_) => {}
            }
        }
        for (object, definition) in &after.objects {
            if !self.objects.contains_key(object) {
                changes.push(SchemaChange::Added {
                    object: object.clone(),
                    definition: definition.clone(),
                });
            }
        }
        changes
    }
}
