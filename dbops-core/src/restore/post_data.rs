//! The post-data section of a `tables` backup, split for a pipelined restore: each loaded table's own
//! indexes and constraints (primary key, unique, exclusion) are built by a loading connection as soon
//! as the table's rows are in — while other tables still load —, each foreign key between two loaded
//! tables as soon as both are complete, and the rest (partitioned indexes and their attachments,
//! triggers, rules, policies, extended statistics, comments, ...) follows at the end (see
//! [`super::post_data_rest`]), from a list file that leaves out what was already built.
//!
//! An entry is built early only when its table is one of the loaded plain tables and exactly one line
//! of the archive's list names it; anything else stays with `pg_restore`, so nothing is built twice or
//! left out. A foreign key goes early only when the table it references builds all its indexes and
//! constraints early (the unique index the key needs is then there once that table is complete).

use std::collections::{HashMap, HashSet};

use crate::config::quote_ident;
use crate::sql::ddl::{Cursor, statements};

/// One entry of a `pg_restore` script: the type, schema, name and tablespace of its header, and its
/// SQL.
#[derive(Debug, PartialEq)]
struct Entry {
    kind: String,
    schema: String,
    name: String,
    tablespace: Option<String>,
    sql: String,
}

impl Entry {
    /// The entry's statement (its first that is not a `SET`).
    fn statement(&self) -> Option<String> {
        statements(&self.sql)
            .into_iter()
            .find(|s| !s.starts_with("SET "))
    }
}

/// A foreign key built early: its table, the table it references (`schema.name`) and its SQL.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ForeignKey {
    /// The constrained table.
    pub(super) table: String,
    /// The referenced table.
    pub(super) referenced: String,
    /// The constraint's name.
    pub(super) name: String,
    /// The constrained columns (unquoted names).
    pub(super) columns: Vec<String>,
    /// `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ...`.
    pub(super) sql: String,
}

/// The post-data section split in two: SQL per loaded table and the foreign keys between loaded
/// tables, and the list file for the rest.
#[derive(Debug, Default)]
pub(super) struct PostDataSplit {
    by_table: HashMap<String, Vec<String>>,
    foreign_keys: Vec<ForeignKey>,
    /// Tables whose statistics need more than their own rows and indexes: inheritance parents
    /// (ANALYZE samples the children too) and tables with extended statistics (created later).
    analyze_later: HashSet<String>,
    /// `pg_restore -L` list of the section with the early entries commented out.
    pub(super) rest_list: String,
}

impl PostDataSplit {
    /// Splits the post-data `script` (`pg_restore --section=post-data -f -`) and its `list`
    /// (`pg_restore --section=post-data -l`): entries of the tables in `loaded` (`schema.name`) go
    /// early; `parents` are the loaded tables with inheritance children.
    pub(super) fn new(
        script: &str,
        list: &str,
        loaded: &HashSet<String>,
        parents: &HashSet<String>,
    ) -> Self {
        let mut lines: Vec<String> = list.lines().map(str::to_string).collect();
        let listed = listed_by_prefix(&lines);
        let mut by_table: HashMap<String, Vec<String>> = HashMap::new();
        let mut analyze_later = parents.clone();
        let mut keys = Vec::new();
        // Loaded tables with an index or constraint left to pg_restore; `None` in it: one whose table
        // is unknown.
        let mut built_late: HashSet<Option<String>> = HashSet::new();
        for entry in entries(script) {
            let only_line = listed
                .get(&format!("{} {} {} ", entry.kind, entry.schema, entry.name))
                .and_then(|at| (at.len() == 1).then_some(at[0]));
            match entry.kind.as_str() {
                "STATISTICS" => analyze_later.extend(statistics_table(&entry)),
                "FK CONSTRAINT" => keys.extend(only_line.zip(foreign_key(&entry))),
                "INDEX" | "CONSTRAINT" => match (table_of(&entry), only_line) {
                    (Some((table, true)), Some(line)) if loaded.contains(&table) => {
                        lines[line].insert(0, ';');
                        let tablespace = entry
                            .tablespace
                            .as_deref()
                            .map_or_else(|| "''".to_string(), quote_ident);
                        by_table.entry(table).or_default().push(format!(
                            "SET default_tablespace = {tablespace};\n{}",
                            entry.sql
                        ));
                    }
                    (table, _) => {
                        built_late.insert(table.map(|(table, _)| table));
                    }
                },
                _ => {}
            }
        }
        let mut foreign_keys = Vec::new();
        if !built_late.contains(&None) {
            for (line, key) in keys {
                let early = loaded.contains(&key.table)
                    && loaded.contains(&key.referenced)
                    && !built_late.contains(&Some(key.referenced.clone()));
                if early {
                    lines[line].insert(0, ';');
                    foreign_keys.push(key);
                }
            }
        }
        Self {
            by_table,
            foreign_keys,
            analyze_later,
            rest_list: lines.join("\n") + "\n",
        }
    }

    /// Whether every post-data entry is built early: `pg_restore` has nothing left to do.
    pub(super) fn nothing_left(&self) -> bool {
        self.rest_list
            .lines()
            .all(|line| line.trim().is_empty() || line.starts_with(';'))
    }

    /// Whether `table` (`schema.name`) may be analyzed as soon as its own entries are built.
    pub(super) fn analyze_now(&self, table: &str) -> bool {
        !self.analyze_later.contains(table)
    }

    /// Takes the SQL of `table`'s early entries (`schema.name`), in the archive's order.
    pub(super) fn take(&mut self, table: &str) -> Vec<String> {
        self.by_table.remove(table).unwrap_or_default()
    }

    /// Takes the foreign keys built early, in the archive's order.
    pub(super) fn take_foreign_keys(&mut self) -> Vec<ForeignKey> {
        std::mem::take(&mut self.foreign_keys)
    }

    /// How many entries are built early.
    pub(super) fn early(&self) -> usize {
        self.by_table.values().map(Vec::len).sum::<usize>() + self.foreign_keys.len()
    }
}

/// Entry types whose SQL changes the catalog only: nothing to build or scan, so a restore may run
/// them on one connection instead of `pg_restore --jobs`.
const CATALOG_ONLY: &[&str] = &[
    "TRIGGER",
    "EVENT TRIGGER",
    "RULE",
    "POLICY",
    "ROW SECURITY",
    "COMMENT",
    "SECURITY LABEL",
    "ACL",
    "DEFAULT ACL",
    "PUBLICATION",
    "PUBLICATION TABLE",
    "PUBLICATION TABLES IN SCHEMA",
    "STATISTICS",
    // The planner statistics a backup of PostgreSQL 18 carries: catalog rows, set by a function.
    "STATISTICS DATA",
];

/// `TYPE name` of every entry of `script` when each only changes the catalog (see
/// [`CATALOG_ONLY`]); `None` when one builds or scans something (an index, a constraint, a
/// materialized view's data) or is of a type not known here.
pub(super) fn catalog_only_entries(script: &str) -> Option<Vec<String>> {
    entries(script)
        .into_iter()
        .map(|entry| {
            CATALOG_ONLY
                .contains(&entry.kind.as_str())
                .then(|| format!("{} {}", entry.kind, entry.name))
        })
        .collect()
}

/// Whether the early build `sql` only creates indexes (`CREATE [UNIQUE] INDEX`, after its `SET`s):
/// those take a `SHARE` lock, so several of one table may be built at once. Anything else (`ALTER
/// TABLE ... ADD CONSTRAINT`, `CLUSTER ON`, an index's `SET STATISTICS`) locks the table against every
/// other build of it.
pub(super) fn only_creates_indexes(sql: &str) -> bool {
    let mut creates = statements(sql)
        .into_iter()
        .filter(|s| !s.starts_with("SET "))
        .peekable();
    creates.peek().is_some()
        && creates.all(|s| s.starts_with("CREATE INDEX ") || s.starts_with("CREATE UNIQUE INDEX "))
}

/// The list's entry lines by every prefix of their `TYPE SCHEMA NAME OWNER` part that ends in a
/// space: a key `TYPE SCHEMA NAME ` finds the lines that start with it, built once for all entries.
fn listed_by_prefix(lines: &[String]) -> HashMap<String, Vec<usize>> {
    let mut listed: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = list_entry(line) else {
            continue;
        };
        for (at, _) in rest.match_indices(' ') {
            listed.entry(rest[..=at].to_string()).or_default().push(i);
        }
    }
    listed
}

/// What follows `ID; TABLEOID OID ` in a list line (`TYPE SCHEMA NAME OWNER`); `None` for comments.
fn list_entry(line: &str) -> Option<&str> {
    if line.starts_with(';') {
        return None;
    }
    let (id, rest) = line.split_once("; ")?;
    id.trim().parse::<u64>().ok()?;
    let mut parts = rest.splitn(3, ' ');
    parts.next()?.parse::<u64>().ok()?;
    parts.next()?.parse::<u64>().ok()?;
    parts.next()
}

/// The entries of a script: the text after each `-- Name: N; Type: T; Schema: S; Owner: O[;
/// Tablespace: X]` header up to the next, without comment lines and without the `SET
/// default_tablespace` lines `pg_restore` writes before a header (each entry's tablespace is in its
/// header).
fn entries(script: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for line in script.lines() {
        // `-- Statistics for Name:` heads the planner statistics of an index (PostgreSQL 18).
        let header = line
            .strip_prefix("-- Name: ")
            .or_else(|| line.strip_prefix("-- Statistics for Name: "));
        if let Some(header) = header {
            if let Some(entry) = header_entry(header) {
                out.push(entry);
            }
            continue;
        }
        if line.starts_with("--") || line.starts_with("SET default_tablespace = ") {
            continue;
        }
        if let Some(entry) = out.last_mut()
            && !(line.is_empty() && entry.sql.is_empty())
        {
            entry.sql.push_str(line);
            entry.sql.push('\n');
        }
    }
    for entry in &mut out {
        entry.sql = entry.sql.trim_end().to_string();
    }
    out
}

fn header_entry(header: &str) -> Option<Entry> {
    let (header, tablespace) = match header.rsplit_once("; Tablespace: ") {
        Some((head, tablespace)) if head.contains("; Owner: ") => (head, Some(tablespace)),
        _ => (header, None),
    };
    let (rest, _owner) = header.rsplit_once("; Owner: ")?;
    let (rest, schema) = rest.rsplit_once("; Schema: ")?;
    let (name, kind) = rest.rsplit_once("; Type: ")?;
    Some(Entry {
        kind: kind.to_string(),
        schema: schema.to_string(),
        name: name.to_string(),
        tablespace: tablespace.map(str::to_string),
        sql: String::new(),
    })
}

/// The table (`schema.name`) of `CREATE STATISTICS ... FROM table`.
fn statistics_table(entry: &Entry) -> Option<String> {
    let statement = statements(&entry.sql)
        .into_iter()
        .find(|s| s.starts_with("CREATE STATISTICS"))?;
    let (_, from) = statement.rsplit_once(" FROM ")?;
    Cursor::new(from).qualified()
}

/// The tables of `ALTER TABLE [ONLY] t ADD CONSTRAINT c FOREIGN KEY (...) REFERENCES r(...)`.
fn foreign_key(entry: &Entry) -> Option<ForeignKey> {
    let mut c = Cursor::new(&entry.statement()?);
    let (table, name) = c.added_constraint()?;
    let (columns, referenced, _) = c.foreign_key()?;
    Some(ForeignKey {
        table,
        referenced,
        name,
        columns,
        sql: entry.sql.clone(),
    })
}

/// The table (`schema.name`) an index or a table constraint is on, and whether it may be built as
/// soon as that table's rows are in (not an `ON ONLY` index: one of a partitioned table, attached to
/// its partitions' later).
fn table_of(entry: &Entry) -> Option<(String, bool)> {
    let mut c = Cursor::new(&entry.statement()?);
    match entry.kind.as_str() {
        "INDEX" => {
            c.keyword("CREATE");
            c.keyword("UNIQUE");
            if !c.keyword("INDEX") {
                return None;
            }
            c.name()?;
            if !c.keyword("ON") {
                return None;
            }
            let only = c.keyword("ONLY");
            Some((c.qualified()?, !only))
        }
        "CONSTRAINT" => c.added_constraint().map(|(table, _)| (table, true)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: rides rides_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rides
    ADD CONSTRAINT rides_pkey PRIMARY KEY (id);


--
-- Name: Odd Name; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX \"Odd Name\" ON public.\"Mixed Table\" USING btree (a);


--
-- Name: events_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_at_idx ON ONLY public.events USING btree (at);


SET default_tablespace = fast;

--
-- Name: rides_fast_idx; Type: INDEX; Schema: public; Owner: -; Tablespace: fast
--

CREATE INDEX rides_fast_idx ON public.rides USING btree (driver_id);


SET default_tablespace = '';

--
-- Name: rides_driver_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rides_driver_idx ON public.rides USING btree (driver_id, requested_at DESC);


--
-- Name: rides_stats; Type: STATISTICS; Schema: public; Owner: -
--

CREATE STATISTICS public.rides_stats ON driver_id, rider_id FROM public.rides;


--
-- Name: rides rides_driver_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rides
    ADD CONSTRAINT rides_driver_fkey FOREIGN KEY (driver_id) REFERENCES public.drivers(id);
";

    const LIST: &str = ";
; Archive created at 2026-12-02 10:00:00 UTC
;
3401; 2606 16420 CONSTRAINT public rides rides_pkey postgres
3402; 1259 16421 INDEX public Odd Name postgres
3403; 1259 16422 INDEX public events_at_idx postgres
3404; 1259 16423 INDEX public rides_fast_idx postgres
3405; 1259 16424 INDEX public rides_driver_idx postgres
3406; 2606 16425 FK CONSTRAINT public rides rides_driver_fkey postgres
3407; 3381 16426 STATISTICS public rides_stats postgres
";

    fn loaded(tables: &[&str]) -> HashSet<String> {
        tables.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn only_a_rest_of_catalog_changes_is_catalog_only() {
        let catalog = "--
-- Name: users users_touch; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER users_touch BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.touch();


--
-- Name: COLUMN users.email; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.users.email IS 'where
-- receipts go';
";
        assert_eq!(
            catalog_only_entries(catalog).unwrap(),
            ["TRIGGER users users_touch", "COMMENT COLUMN users.email"]
        );
        assert_eq!(catalog_only_entries(""), Some(Vec::new()));
        // An index, a constraint or a foreign key builds or scans: not catalog only.
        assert_eq!(catalog_only_entries(SCRIPT), None);
        let view = "--
-- Name: daily; Type: MATERIALIZED VIEW DATA; Schema: public; Owner: -
--

REFRESH MATERIALIZED VIEW public.daily;
";
        assert_eq!(catalog_only_entries(&format!("{catalog}{view}")), None);
    }

    /// PostgreSQL 18's planner statistics of an index come after its entry under a header of their
    /// own: they stay out of the index's early build (which runs before the index exists for them)
    /// and are catalog changes for the rest.
    #[test]
    fn the_statistics_of_an_index_are_an_entry_of_their_own() {
        let script = format!(
            "{SCRIPT}
--
-- Statistics for Name: rides_driver_idx; Type: STATISTICS DATA; Schema: public; Owner: -
--

SELECT * FROM pg_catalog.pg_restore_relation_stats(
\t'version', '180006'::integer,
\t'relname', 'rides_driver_idx'
);
"
        );
        let mut split = PostDataSplit::new(&script, LIST, &loaded(&["public.rides"]), &loaded(&[]));
        let rides = split.take("public.rides").concat();
        assert!(!rides.contains("pg_restore_relation_stats"), "{rides}");
        let keys: Vec<String> = split
            .take_foreign_keys()
            .into_iter()
            .map(|k| k.sql)
            .collect();
        assert!(
            !keys.concat().contains("pg_restore_relation_stats"),
            "{keys:?}"
        );
        let statistics = entries(&script).pop().unwrap();
        assert_eq!(statistics.kind, "STATISTICS DATA");
        assert_eq!(
            catalog_only_entries(
                "--\n-- Statistics for Name: i; Type: STATISTICS DATA; Schema: public; Owner: -\n--\n\nSELECT 1;\n"
            )
            .unwrap(),
            ["STATISTICS DATA i"]
        );
    }

    #[test]
    fn only_index_creations_may_share_their_table() {
        let mut split = PostDataSplit::new(SCRIPT, LIST, &loaded(&["public.rides"]), &loaded(&[]));
        let shared: Vec<bool> = split
            .take("public.rides")
            .iter()
            .map(|sql| only_creates_indexes(sql))
            .collect();
        assert_eq!(shared, [false, true, true]);
        assert!(only_creates_indexes(
            "SET default_tablespace = '';\nCREATE UNIQUE INDEX u ON public.t USING btree (a);"
        ));
        for exclusive in [
            "CREATE INDEX i ON public.t USING btree (a);\nALTER TABLE public.t CLUSTER ON i;",
            "CREATE INDEX i ON public.t USING btree (a);\nALTER INDEX public.i ALTER COLUMN 1 SET STATISTICS 500;",
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_a_excl EXCLUDE USING gist (a WITH &&);",
            "SET default_tablespace = '';",
        ] {
            assert!(!only_creates_indexes(exclusive), "{exclusive}");
        }
    }

    #[test]
    fn a_loaded_tables_indexes_and_constraints_go_early_the_rest_stays_listed() {
        let mut split = PostDataSplit::new(SCRIPT, LIST, &loaded(&["public.rides"]), &loaded(&[]));
        assert_eq!(split.early(), 3);
        let rides = split.take("public.rides");
        assert_eq!(
            rides,
            [
                "SET default_tablespace = '';\nALTER TABLE ONLY public.rides\n    ADD CONSTRAINT rides_pkey PRIMARY KEY (id);",
                "SET default_tablespace = \"fast\";\nCREATE INDEX rides_fast_idx ON public.rides USING btree (driver_id);",
                "SET default_tablespace = '';\nCREATE INDEX rides_driver_idx ON public.rides USING btree (driver_id, requested_at DESC);",
            ]
        );
        assert!(split.take("public.rides").is_empty());
        // Its extended statistics are created later: its ANALYZE waits for them.
        assert!(!split.analyze_now("public.rides"));
        assert!(split.analyze_now("public.users"));
        let commented: Vec<&str> = split
            .rest_list
            .lines()
            .filter(|l| l.starts_with(";3"))
            .collect();
        assert_eq!(
            commented,
            [
                ";3401; 2606 16420 CONSTRAINT public rides rides_pkey postgres",
                ";3404; 1259 16423 INDEX public rides_fast_idx postgres",
                ";3405; 1259 16424 INDEX public rides_driver_idx postgres",
            ]
        );
        assert!(split.rest_list.contains("\n3406; 2606 16425 FK CONSTRAINT"));
        assert!(split.rest_list.contains("\n3407; 3381 16426 STATISTICS"));
        assert!(
            split
                .rest_list
                .contains("\n3403; 1259 16422 INDEX public events_at_idx")
        );
    }

    #[test]
    fn pg_restore_has_nothing_left_only_when_every_listed_entry_went_early() {
        let loaded_rides = loaded(&["public.rides"]);
        // The extended statistics stay with pg_restore.
        assert!(!PostDataSplit::new(SCRIPT, LIST, &loaded_rides, &loaded(&[])).nothing_left());
        let only_the_key =
            ";\n; comment\n3401; 2606 16420 CONSTRAINT public rides rides_pkey postgres\n";
        let split = PostDataSplit::new(SCRIPT, only_the_key, &loaded_rides, &loaded(&[]));
        assert!(split.nothing_left());
        // The same entry for a table that is not loaded stays.
        let split = PostDataSplit::new(SCRIPT, only_the_key, &loaded(&[]), &loaded(&[]));
        assert!(!split.nothing_left());
    }

    #[test]
    fn quoted_names_partitioned_indexes_and_unloaded_tables() {
        let mut split = PostDataSplit::new(
            SCRIPT,
            LIST,
            &loaded(&["public.Mixed Table", "public.events"]),
            &loaded(&["public.Mixed Table"]),
        );
        // An inheritance parent is analyzed with its children, at the end.
        assert!(!split.analyze_now("public.Mixed Table"));
        assert_eq!(split.take("public.Mixed Table").len(), 1);
        // `ON ONLY` (partitioned) stays with pg_restore, as does everything of public.rides.
        assert!(split.take("public.events").is_empty());
        assert_eq!(
            split
                .rest_list
                .lines()
                .filter(|l| l.starts_with(";3"))
                .count(),
            1
        );
    }

    #[test]
    fn a_foreign_key_between_loaded_tables_goes_early_when_its_referenced_table_builds_early() {
        let mut split = PostDataSplit::new(
            SCRIPT,
            LIST,
            &loaded(&["public.rides", "public.drivers"]),
            &loaded(&[]),
        );
        assert_eq!(
            split.take_foreign_keys(),
            [ForeignKey {
                table: "public.rides".into(),
                referenced: "public.drivers".into(),
                name: "rides_driver_fkey".into(),
                columns: vec!["driver_id".into()],
                sql: "ALTER TABLE ONLY public.rides\n    ADD CONSTRAINT rides_driver_fkey FOREIGN KEY (driver_id) REFERENCES public.drivers(id);".into(),
            }]
        );
        assert!(
            split
                .rest_list
                .contains("\n;3406; 2606 16425 FK CONSTRAINT public rides rides_driver_fkey")
        );
        // The partitioned table's `ON ONLY` index stays with pg_restore without holding keys back.
        assert!(split.rest_list.contains("\n3403; 1259 16422 INDEX"));
    }

    #[test]
    fn a_foreign_key_stays_with_pg_restore_when_its_referenced_tables_unique_index_might() {
        let drivers_pkey = "\n--\n-- Name: drivers drivers_pkey; Type: CONSTRAINT; Schema: public; Owner: -\n--\n\nALTER TABLE ONLY public.drivers\n    ADD CONSTRAINT drivers_pkey PRIMARY KEY (id);\n";
        let script = format!("{SCRIPT}{drivers_pkey}");
        let both = loaded(&["public.rides", "public.drivers"]);
        // The list names drivers_pkey twice: it stays with pg_restore, and so does the key.
        let doubled = format!(
            "{LIST}3408; 2606 16427 CONSTRAINT public drivers drivers_pkey postgres\n3409; 2606 16428 CONSTRAINT public drivers drivers_pkey x postgres\n"
        );
        let mut split = PostDataSplit::new(&script, &doubled, &both, &loaded(&[]));
        assert!(split.take_foreign_keys().is_empty());
        assert!(split.rest_list.contains("\n3406; 2606 16425 FK CONSTRAINT"));
        // Listed once, it goes early, and the key with it.
        let once =
            format!("{LIST}3408; 2606 16427 CONSTRAINT public drivers drivers_pkey postgres\n");
        let mut split = PostDataSplit::new(&script, &once, &both, &loaded(&[]));
        assert_eq!(split.take("public.drivers").len(), 1);
        assert_eq!(split.take_foreign_keys().len(), 1);
        // An index whose table cannot be read could be the one the key needs.
        let odd =
            "\n--\n-- Name: odd; Type: INDEX; Schema: public; Owner: -\n--\n\nCREATE INDEX odd;\n";
        let mut split = PostDataSplit::new(&format!("{script}{odd}"), &once, &both, &loaded(&[]));
        assert!(split.take_foreign_keys().is_empty());
        // Only the referencing table loaded: the key waits for pg_restore.
        let mut split =
            PostDataSplit::new(&script, &once, &loaded(&["public.rides"]), &loaded(&[]));
        assert!(split.take_foreign_keys().is_empty());
    }

    #[test]
    fn an_entry_the_list_names_twice_or_not_at_all_stays_with_pg_restore() {
        let doubled = LIST.replace(
            "3405; 1259 16424 INDEX public rides_driver_idx postgres",
            "3405; 1259 16424 INDEX public rides_driver_idx postgres\n3407; 1259 16426 INDEX public rides_driver_idx x postgres",
        );
        let mut split =
            PostDataSplit::new(SCRIPT, &doubled, &loaded(&["public.rides"]), &loaded(&[]));
        let rides = split.take("public.rides");
        assert_eq!(rides.len(), 2);
        assert!(!rides.iter().any(|s| s.contains("rides_driver_idx")));
        let missing = LIST.replace(
            "3401; 2606 16420 CONSTRAINT public rides rides_pkey postgres\n",
            "",
        );
        let mut split =
            PostDataSplit::new(SCRIPT, &missing, &loaded(&["public.rides"]), &loaded(&[]));
        assert!(
            !split
                .take("public.rides")
                .iter()
                .any(|s| s.contains("rides_pkey"))
        );
    }
}
