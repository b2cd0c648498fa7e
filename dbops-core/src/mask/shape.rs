//! What masking needs to know of a database: each table's columns in COPY order with their types,
//! nullability and uniqueness, and the foreign keys between tables (for subsets). Read from the
//! catalog of a live database, or — for a restore, whose constraints are created only after the rows
//! are loaded — from the catalog for columns and the backup's post-data SQL for constraints.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::sql::ddl::{Cursor, statements};

/// One column as masking sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnShape {
    /// Its name.
    pub name: String,
    /// Its type as SQL spells it (`character varying(80)`, `timestamp with time zone`).
    pub type_sql: String,
    /// The base type's internal name (`text`, `varchar`, `int8`, `timestamptz`; a domain's base).
    pub base_type: String,
    /// The longest value in characters, for `varchar(n)` and `char(n)`.
    pub max_chars: Option<usize>,
    /// Decimal places, for `numeric(p, s)`.
    pub scale: Option<u32>,
    /// Declared `NOT NULL`.
    pub not_null: bool,
    /// Part of a primary key, unique constraint or unique index.
    pub unique: bool,
}

/// One table's columns in COPY order.
#[derive(Debug, Clone, PartialEq)]
pub struct TableShape {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Its columns, generated ones left out (as COPY does).
    pub columns: Vec<ColumnShape>,
    /// For a partition: the partitioned table at the top of its tree (`schema.name`), whose rules it
    /// follows when it has none of its own.
    pub partition_root: Option<String>,
}

impl TableShape {
    /// `schema.name`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// A foreign key: `child(child_columns)` references `parent(parent_columns)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    /// The referencing table, `schema.name`.
    pub child: String,
    /// Its columns.
    pub child_columns: Vec<String>,
    /// The referenced table, `schema.name`.
    pub parent: String,
    /// Its columns.
    pub parent_columns: Vec<String>,
}

/// The tables of a database (or of a backup being restored) and their foreign keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatabaseShape {
    /// Tables by `schema.name`.
    pub tables: BTreeMap<String, TableShape>,
    /// Every foreign key between them.
    pub foreign_keys: Vec<ForeignKey>,
}

const COLUMNS_SQL: &str = "\
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       COALESCE(bt.typname, t.typname)::text,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       a.attnotnull OR (t.typtype = 'd' AND t.typnotnull),
       (SELECT rn.nspname || '.' || r.relname FROM pg_class r
        JOIN pg_namespace rn ON rn.oid = r.relnamespace
        WHERE c.relispartition AND r.oid = pg_partition_root(c.oid))
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
  AND c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY n.nspname, c.relname, a.attnum";

const UNIQUE_SQL: &str = "\
SELECT n.nspname || '.' || c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indisunique AND n.nspname NOT IN ('pg_catalog', 'information_schema')";

const FOREIGN_KEYS_SQL: &str = "\
SELECT cn.nspname || '.' || c.relname, pn.nspname || '.' || p.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_class p ON p.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE con.contype = 'f'";

impl DatabaseShape {
    /// Everything from a live database's catalog.
    pub async fn read(client: &tokio_postgres::Client) -> Result<Self> {
        let mut shape = Self::read_columns(client).await?;
        let rows = client
            .query(UNIQUE_SQL, &[])
            .await
            .map_err(|e| Error::postgres("reading unique indexes for masking", e))?;
        for row in rows {
            let (table, definition): (String, String) = (row.get(0), row.get(1));
            shape.mark_unique(&table, &index_columns(&definition));
        }
        let rows = client
            .query(FOREIGN_KEYS_SQL, &[])
            .await
            .map_err(|e| Error::postgres("reading foreign keys for masking", e))?;
        shape.foreign_keys = rows
            .iter()
            .map(|row| ForeignKey {
                child: row.get(0),
                parent: row.get(1),
                child_columns: row.get(2),
                parent_columns: row.get(3),
            })
            .collect();
        shape.foreign_keys.sort();
        Ok(shape)
    }

    /// Columns from a database whose tables exist without their constraints yet (a restore after its
    /// pre-data section), constraints from the backup's post-data SQL.
    pub(crate) async fn read_with_post_data(
        client: &tokio_postgres::Client,
        post_data: &str,
    ) -> Result<Self> {
        let mut shape = Self::read_columns(client).await?;
        for statement in statements(post_data) {
            match parse_constraint(&statement) {
                Some(Constraint::Unique { table, columns }) => shape.mark_unique(&table, &columns),
                Some(Constraint::Foreign(key)) => shape.foreign_keys.push(key),
                None => {}
            }
        }
        shape.foreign_keys.sort();
        shape.foreign_keys.dedup();
        Ok(shape)
    }

    async fn read_columns(client: &tokio_postgres::Client) -> Result<Self> {
        let rows = client
            .query(COLUMNS_SQL, &[])
            .await
            .map_err(|e| Error::postgres("reading table columns for masking", e))?;
        let mut tables: BTreeMap<String, TableShape> = BTreeMap::new();
        for row in rows {
            let (schema, name): (String, String) = (row.get(0), row.get(1));
            let base_type: String = row.get(4);
            let typmod: i32 = row.get(5);
            let column = ColumnShape {
                name: row.get(2),
                type_sql: row.get(3),
                max_chars: (matches!(base_type.as_str(), "varchar" | "bpchar") && typmod >= 4)
                    .then(|| (typmod - 4) as usize),
                scale: (base_type == "numeric" && typmod >= 4)
                    .then(|| ((typmod - 4) & 0xffff) as u32),
                base_type,
                not_null: row.get(6),
                unique: false,
            };
            tables
                .entry(format!("{schema}.{name}"))
                .or_insert_with(|| TableShape {
                    schema,
                    name,
                    columns: Vec::new(),
                    partition_root: row.get(7),
                })
                .columns
                .push(column);
        }
        Ok(Self {
            tables,
            foreign_keys: Vec::new(),
        })
    }

    fn mark_unique(&mut self, table: &str, columns: &BTreeSet<String>) {
        if let Some(shape) = self.tables.get_mut(table) {
            for column in &mut shape.columns {
                if columns.contains(&column.name) {
                    column.unique = true;
                }
            }
        }
    }
}

/// A constraint of the post-data section that masking cares about.
#[derive(Debug, PartialEq)]
enum Constraint {
    Unique {
        table: String,
        columns: BTreeSet<String>,
    },
    Foreign(ForeignKey),
}

fn parse_constraint(statement: &str) -> Option<Constraint> {
    let mut c = Cursor::new(statement);
    if c.keywords(&["CREATE", "UNIQUE", "INDEX"]) {
        c.name()?;
        if !c.keyword("ON") {
            return None;
        }
        c.keyword("ONLY");
        let table = c.qualified()?;
        if c.keyword("USING") {
            c.name()?;
        }
        return Some(Constraint::Unique {
            table,
            columns: c.words_in_group(),
        });
    }
    let (table, _) = c.added_constraint()?;
    if c.keywords(&["PRIMARY", "KEY"]) || c.keyword("UNIQUE") {
        c.keywords(&["NULLS", "NOT", "DISTINCT"]);
        c.keywords(&["NULLS", "DISTINCT"]);
        return Some(Constraint::Unique {
            table,
            columns: c.column_list()?.into_iter().collect(),
        });
    }
    let (child_columns, parent, parent_columns) = c.foreign_key()?;
    Some(Constraint::Foreign(ForeignKey {
        child: table,
        child_columns,
        parent,
        parent_columns,
    }))
}

/// The columns named in a unique index's definition (`pg_get_indexdef`).
fn index_columns(definition: &str) -> BTreeSet<String> {
    match parse_constraint(definition) {
        Some(Constraint::Unique { columns, .. }) => columns,
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pg_dump_post_data_constraints() {
        let sql = r#"
--
-- Name: users users_email_key; Type: CONSTRAINT; Schema: public; Owner: app
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_email_key UNIQUE (email);
ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE ONLY "Sales"."Order Lines"
    ADD CONSTRAINT "fk" FOREIGN KEY ("Order Id", line) REFERENCES "Sales".orders(id, "Line") ON DELETE CASCADE;
CREATE UNIQUE INDEX users_lower_phone ON public.users USING btree (lower(phone));
CREATE INDEX rides_rider_idx ON public.rides USING btree (rider_id, requested_at DESC);
ALTER TABLE ONLY public.ratings
    ADD CONSTRAINT ratings_ride_id_rater_id_key UNIQUE NULLS NOT DISTINCT (ride_id, rater_id);
"#;
        let parsed: Vec<_> = statements(sql)
            .iter()
            .filter_map(|s| parse_constraint(s))
            .collect();
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            parsed,
            vec![
                Constraint::Unique {
                    table: "public.users".into(),
                    columns: set(&["email"])
                },
                Constraint::Unique {
                    table: "public.users".into(),
                    columns: set(&["id"])
                },
                Constraint::Foreign(ForeignKey {
                    child: "Sales.Order Lines".into(),
                    child_columns: vec!["Order Id".into(), "line".into()],
                    parent: "Sales.orders".into(),
                    parent_columns: vec!["id".into(), "Line".into()],
                }),
                Constraint::Unique {
                    table: "public.users".into(),
                    columns: set(&["lower", "phone"])
                },
                Constraint::Unique {
                    table: "public.ratings".into(),
                    columns: set(&["ride_id", "rater_id"])
                },
            ]
        );
    }
}
