//! The post-data section of a `tables` backup, split for a pipelined restore: each loaded table's own
//! indexes and constraints (primary key, unique, exclusion, check) are built by a loading connection as
//! soon as the table's rows are in — while other tables still load — and the rest (foreign keys,
//! partitioned indexes and their attachments, triggers, rules, policies, comments, ...) follows with
//! `pg_restore --jobs -L`, whose list file leaves out what was already built.
//!
//! An entry is built early only when its table is one of the loaded plain tables and exactly one line
//! of the archive's list names it; anything else stays with `pg_restore`, so nothing is built twice or
//! left out.

use std::collections::{HashMap, HashSet};

use super::ddl::{Cursor, statements};

/// One entry of a `pg_restore` script: the type, schema and name of its header, and its SQL.
#[derive(Debug, PartialEq)]
struct Entry {
    kind: String,
    schema: String,
    name: String,
    sql: String,
}

/// The post-data section split in two: SQL per loaded table, and the list file for the rest.
#[derive(Debug, Default)]
pub(super) struct PostDataSplit {
    by_table: HashMap<String, Vec<String>>,
    /// `pg_restore -L` list of the section with the early entries commented out.
    pub(super) rest_list: String,
}

impl PostDataSplit {
    /// Splits the post-data `script` (`pg_restore --section=post-data -f -`) and its `list`
    /// (`pg_restore --section=post-data -l`): entries of the tables in `loaded` (`schema.name`) go
    /// early.
    pub(super) fn new(script: &str, list: &str, loaded: &HashSet<String>) -> Self {
        let mut lines: Vec<String> = list.lines().map(str::to_string).collect();
        let mut by_table: HashMap<String, Vec<String>> = HashMap::new();
        let mut tablespace = "SET default_tablespace = '';".to_string();
        for entry in entries(script) {
            if let Some(set) = entry
                .sql
                .lines()
                .rev()
                .find(|l| l.starts_with("SET default_tablespace = "))
            {
                tablespace = set.to_string();
            }
            let Some(table) = table_of(&entry).filter(|t| loaded.contains(t)) else {
                continue;
            };
            let key = format!("{} {} {} ", entry.kind, entry.schema, entry.name);
            let matching: Vec<usize> = (0..lines.len())
                .filter(|&i| list_entry(&lines[i]).is_some_and(|rest| rest.starts_with(&key)))
                .collect();
            if let [only] = matching[..] {
                lines[only].insert(0, ';');
                by_table
                    .entry(table)
                    .or_default()
                    .push(format!("{tablespace}\n{}", entry.sql));
            }
        }
        Self {
            by_table,
            rest_list: lines.join("\n") + "\n",
        }
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

/// The entries of a script: the text after each `-- Name: N; Type: T; Schema: S; Owner: O` header up
/// to the next, without comment lines.
fn entries(script: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for line in script.lines() {
        if let Some(header) = line.strip_prefix("-- Name: ") {
            if let Some(entry) = header_entry(header) {
                out.push(entry);
            }
            continue;
        }
        if line.starts_with("--") {
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
    let (rest, _owner) = header.rsplit_once("; Owner: ")?;
    let (rest, schema) = rest.rsplit_once("; Schema: ")?;
    let (name, kind) = rest.rsplit_once("; Type: ")?;
    Some(Entry {
        kind: kind.to_string(),
        schema: schema.to_string(),
        name: name.to_string(),
        sql: String::new(),
    })
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


--
-- Name: rides_fast_idx; Type: INDEX; Schema: public; Owner: -
--

SET default_tablespace = fast;

CREATE INDEX rides_fast_idx ON public.rides USING btree (driver_id);


--
-- Name: rides_driver_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rides_driver_idx ON public.rides USING btree (driver_id, requested_at DESC);


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
";

    fn loaded(tables: &[&str]) -> HashSet<String> {
        tables.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn a_loaded_tables_indexes_and_constraints_go_early_the_rest_stays_listed() {
        let mut split = PostDataSplit::new(SCRIPT, LIST, &loaded(&["public.rides"]));
        assert_eq!(split.early(), 3);
        let rides = split.take("public.rides");
        assert_eq!(rides.len(), 3);
        assert!(
            rides[0].starts_with("SET default_tablespace = '';\nALTER TABLE ONLY public.rides")
        );
        assert!(rides[1].starts_with("SET default_tablespace = fast;\n"));
        assert!(rides[1].contains("CREATE INDEX rides_fast_idx"));
        // The tablespace set by an earlier entry carries over, as it does in one script.
        assert!(
            rides[2].starts_with("SET default_tablespace = fast;\nCREATE INDEX rides_driver_idx")
        );
        assert!(split.take("public.rides").is_empty());
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
        );
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
        let mut split = PostDataSplit::new(SCRIPT, &doubled, &loaded(&["public.rides"]));
        let rides = split.take("public.rides");
        assert_eq!(rides.len(), 2);
        assert!(!rides.iter().any(|s| s.contains("rides_driver_idx")));
        let missing = LIST.replace(
            "3401; 2606 16420 CONSTRAINT public rides rides_pkey postgres\n",
            "",
        );
        let mut split = PostDataSplit::new(SCRIPT, &missing, &loaded(&["public.rides"]));
        assert!(
            !split
                .take("public.rides")
                .iter()
                .any(|s| s.contains("rides_pkey"))
        );
    }
}
