//! The post-data section of a `tables` backup, split for a pipelined restore: each loaded table's own
//! indexes and constraints (primary key, unique, exclusion) are built by a loading connection as soon
//! as the table's rows are in — while other tables still load — and the rest (foreign keys, check
//! constraints added later, partitioned indexes and their attachments, triggers, rules, policies,
//! extended statistics, comments, ...) follows with `pg_restore --jobs -L`, whose list file leaves out
//! what was already built.
//!
//! An entry is built early only when its table is one of the loaded plain tables and exactly one line
//! of the archive's list names it; anything else stays with `pg_restore`, so nothing is built twice or
//! left out.

use std::collections::{HashMap, HashSet};

use super::ddl::{Cursor, statements};
use crate::config::quote_ident;

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

/// The post-data section split in two: SQL per loaded table, and the list file for the rest.
#[derive(Debug, Default)]
pub(super) struct PostDataSplit {
    by_table: HashMap<String, Vec<String>>,
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
        for entry in entries(script) {
            if entry.kind == "STATISTICS" {
                analyze_later.extend(statistics_table(&entry));
                continue;
            }
            let Some(table) = table_of(&entry).filter(|t| loaded.contains(t)) else {
                continue;
            };
            let key = format!("{} {} {} ", entry.kind, entry.schema, entry.name);
            if let Some(&[only]) = listed.get(&key).map(Vec::as_slice) {
                lines[only].insert(0, ';');
                let tablespace = entry
                    .tablespace
                    .as_deref()
                    .map_or_else(|| "''".to_string(), quote_ident);
                by_table.entry(table).or_default().push(format!(
                    "SET default_tablespace = {tablespace};\n{}",
                    entry.sql
                ));
            }
        }
        Self {
            by_table,
            analyze_later,
            rest_list: lines.join("\n") + "\n",
        }
    }

    /// Whether `table` (`schema.name`) may be analyzed as soon as its own entries are built.
    pub(super) fn analyze_now(&self, table: &str) -> bool {
        !self.analyze_later.contains(table)
    }

    /// Takes the SQL of `table`'s early entries (`schema.name`), in the archive's order.
    pub(super) fn take(&mut self, table: &str) -> Vec<String> {
        self.by_table.remove(table).unwrap_or_default()
    }

    /// How many entries are built early.
    pub(super) fn early(&self) -> usize {
        self.by_table.values().map(Vec::len).sum()
    }
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
        if let Some(header) = line.strip_prefix("-- Name: ") {
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

/// The table (`schema.name`) an index of a plain table or a table constraint is on.
fn table_of(entry: &Entry) -> Option<String> {
    let statement = statements(&entry.sql)
        .into_iter()
        .find(|s| !s.starts_with("SET "))?;
    let mut c = Cursor::new(&statement);
    match entry.kind.as_str() {
        "INDEX" => {
            c.keyword("CREATE");
            c.keyword("UNIQUE");
            if !c.keyword("INDEX") {
                return None;
            }
            c.name()?;
            // `ON ONLY`: an index of a partitioned table, attached to its partitions' later.
            if !c.keyword("ON") || c.keyword("ONLY") {
                return None;
            }
            c.qualified()
        }
        "CONSTRAINT" => {
            if !c.keywords(&["ALTER", "TABLE"]) {
                return None;
            }
            c.keyword("ONLY");
            let table = c.qualified()?;
            c.keywords(&["ADD", "CONSTRAINT"]).then_some(table)
        }
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
