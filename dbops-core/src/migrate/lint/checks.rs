//! The statement rules, run over a migration's syntax tree with what the rules know of the file
//! (tables it creates, its transaction mode) and of the migrations before it (validated
//! `IS NOT NULL` checks).

use std::collections::BTreeSet;

use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::cst::{self, Statement, child, children, contains, has_token};
use super::locks;

/// A rule that fired on a statement: the rule's id and what exactly is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The rule.
    pub rule: &'static str,
    /// What is wrong, naming the table or column.
    pub message: String,
    /// Where in the script (a byte offset), when more precise than the statement's start.
    pub at: Option<usize>,
}

fn hit(rule: &'static str, message: impl Into<String>) -> Hit {
    Hit {
        rule,
        message: message.into(),
        at: None,
    }
}

/// What the rules know while they walk one file.
#[derive(Debug, Default)]
pub struct FileContext {
    /// Tables created earlier in this file (compared by [`cst::relation_key`]).
    pub created: BTreeSet<String>,
    /// Whether the file has its own BEGIN ... COMMIT.
    pub explicit_transaction: bool,
    /// Whether the file has DDL without CONCURRENTLY.
    pub other_ddl: bool,
    /// Whether the migration has a down file.
    pub has_down: bool,
    /// The oldest server major the migrations must be safe on.
    pub server_major: u32,
    /// Constraints added NOT VALID in this file (names, lower-cased).
    pub not_valid_here: BTreeSet<String>,
    /// `(table, column)` with a validated `CHECK (column IS NOT NULL)` from earlier migrations or
    /// earlier in this file.
    pub proven_not_null: BTreeSet<(String, String)>,
    /// `CHECK (column IS NOT NULL)` constraints added NOT VALID: name -> (table, column).
    pub pending_not_null: std::collections::BTreeMap<String, (String, String)>,
}

/// What migrations proved about columns, carried from one migration to the next.
#[derive(Debug, Default, Clone)]
pub struct Proven {
    /// `(table, column)` with a validated `CHECK (column IS NOT NULL)`.
    pub not_null: BTreeSet<(String, String)>,
    /// Such checks added NOT VALID, not validated yet: name -> (table, column).
    pub pending: std::collections::BTreeMap<String, (String, String)>,
}

impl FileContext {
    /// Starts a file knowing what earlier migrations proved.
    pub fn with_proven(mut self, proven: Proven) -> Self {
        self.proven_not_null = proven.not_null;
        self.pending_not_null = proven.pending;
        self
    }

    /// What is proven by the end of the file.
    pub fn proven(self) -> Proven {
        Proven {
            not_null: self.proven_not_null,
            pending: self.pending_not_null,
        }
    }
}

impl FileContext {
    /// Whether `table` (as written) was created in this file.
    fn is_new(&self, table: &str) -> bool {
        self.created.contains(&cst::relation_key(table))
    }

    /// Reads what the rules need of the whole file before its statements are checked.
    pub fn survey(&mut self, statements: &[Statement]) {
        self.explicit_transaction = statements.iter().any(|s| s.kind() == K::BEGIN);
        self.other_ddl = statements.iter().any(|s| {
            !has_token(&s.node, K::CONCURRENTLY_KW)
                && !contains(&s.node, K::DETACH_CONCURRENTLY)
                && is_ddl(s.kind())
        });
    }

    /// Records what a statement created or proved, after it was checked.
    pub fn learn(&mut self, statement: &Statement) {
        let node = &statement.node;
        if node.kind() == K::CREATE_TABLE
            && let Some(table) = cst::first_table(node)
        {
            self.created.insert(cst::relation_key(&table));
        }
        if node.kind() != K::ALTER_TABLE {
            return;
        }
        let table = cst::relation_key(&cst::first_table(node).unwrap_or_default());
        for action in children(node, K::ADD_CONSTRAINT) {
            if let Some((name, column)) = not_null_check(&action) {
                if contains(&action, K::NOT_VALID) {
                    self.not_valid_here.insert(name.clone());
                    self.pending_not_null.insert(name, (table.clone(), column));
                } else {
                    self.proven_not_null.insert((table.clone(), column));
                }
            } else if let Some(name) = constraint_name(&action)
                && contains(&action, K::NOT_VALID)
            {
                self.not_valid_here.insert(name);
            }
        }
        for validate in children(node, K::VALIDATE_CONSTRAINT) {
            let name = constraint_ref(&validate);
            if let Some(proven) = self.pending_not_null.get(&name) {
                self.proven_not_null.insert(proven.clone());
            }
        }
    }
}

fn is_ddl(kind: K) -> bool {
    let name = format!("{kind:?}");
    name.starts_with("CREATE_") || name.starts_with("ALTER_") || name.starts_with("DROP_")
}

/// The name of an added constraint, lower-cased.
fn constraint_name(action: &SyntaxNode) -> Option<String> {
    action
        .descendants()
        .find(|d| d.kind() == K::CONSTRAINT_NAME)
        .map(|n| cst::relation_key(&cst::text_of(&n)))
}

/// `ADD CONSTRAINT name CHECK (column IS NOT NULL)`: the name and the column.
fn not_null_check(action: &SyntaxNode) -> Option<(String, String)> {
    let check = child(action, K::CHECK_CONSTRAINT)?;
    let text = cst::text_of(&check).to_ascii_lowercase();
    let inner = text.split_once("check(")?.1;
    let inner = &inner[..inner.rfind(')')?];
    let column = inner.strip_suffix("isnotnull")?;
    let column = column.trim_matches(|c| c == '(' || c == ')');
    Some((constraint_name(action)?, cst::relation_key(column)))
}

/// Every rule that fires on `statement`.
pub fn check_statement(statement: &Statement, ctx: &FileContext) -> Vec<Hit> {
    let node = &statement.node;
    let mut hits = Vec::new();
    let table = cst::first_table(node).unwrap_or_default();
    let existing = !table.is_empty() && !ctx.is_new(&table);
    match node.kind() {
        K::ALTER_TABLE => alter_table(node, &table, existing, ctx, &mut hits),
        K::CREATE_INDEX => create_index(node, &table, existing, ctx, &mut hits),
        K::DROP_INDEX => drop_index(node, ctx, &mut hits),
        K::REINDEX if !contains_token(node, K::CONCURRENTLY_KW) => hits.push(hit(
            "reindex-not-concurrent",
            "REINDEX without CONCURRENTLY blocks writes (and reads through the index) for the whole rebuild",
        )),
        K::REINDEX => concurrently(ctx, &mut hits),
        K::CREATE_TABLE => create_table(node, ctx, &mut hits),
        K::DROP_TABLE => drop_table(node, ctx, &mut hits),
        K::DROP_DATABASE => hits.push(hit("drop-database", "DROP DATABASE in a migration")),
        K::TRUNCATE => truncate(node, &mut hits),
        K::VACUUM | K::CLUSTER | K::REFRESH => rewrite_command(node, &mut hits),
        K::LOCK => hits.push(hit(
            "lock-table",
            format!("LOCK TABLE {table} holds the lock until the migration commits"),
        )),
        K::CREATE_DOMAIN if contains(node, K::CHECK_CONSTRAINT) => hits.push(hit(
            "domain-constraint",
            "a domain with a CHECK: adding or changing it later scans every column of the domain",
        )),
        K::ALTER_DOMAIN if contains(node, K::ADD_CONSTRAINT) => hits.push(hit(
            "domain-constraint",
            "ALTER DOMAIN ... ADD CONSTRAINT checks every column of the domain in every table",
        )),
        K::ALTER_TYPE if contains(node, K::ADD_VALUE) && !mentions_position(node) => hits.push(hit(
            "enum-value-order",
            "the new enum value sorts after every existing one",
        )),
        K::SET | K::RESET => timeout_disabled(node, &mut hits),
        K::UPDATE => {
            duplicate_assignment(node, &mut hits);
            hits.push(hit("data-change", "UPDATE in a schema migration"));
        }
        K::INSERT | K::DELETE | K::MERGE => hits.push(hit(
            "data-change",
            format!("{} in a schema migration", cst::head(&statement_keyword(node))),
        )),
        _ => {}
    }
    missing_if_exists(node, &mut hits);
    identifier_length(node, &mut hits);
    hits
}

fn statement_keyword(node: &SyntaxNode) -> String {
    node.children_with_tokens()
        .filter_map(|e| e.into_token())
        .find(|t| t.kind() != K::WHITESPACE && t.kind() != K::COMMENT)
        .map(|t| t.text().to_ascii_uppercase())
        .unwrap_or_default()
}

fn contains_token(node: &SyntaxNode, kind: K) -> bool {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .any(|t| t.kind() == kind)
}

fn mentions_position(node: &SyntaxNode) -> bool {
    contains_token(node, K::BEFORE_KW) || contains_token(node, K::AFTER_KW)
}

fn concurrently(ctx: &FileContext, hits: &mut Vec<Hit>) {
    if ctx.explicit_transaction {
        hits.push(hit(
            "concurrently-in-transaction",
            "CONCURRENTLY inside this file's own BEGIN ... COMMIT fails; remove the transaction block",
        ));
    } else if ctx.other_ddl {
        hits.push(hit(
            "mixed-transaction-modes",
            "this file runs outside a transaction because of CONCURRENTLY; move the other DDL to its own migration",
        ));
    }
}

fn create_index(
    node: &SyntaxNode,
    table: &str,
    existing: bool,
    ctx: &FileContext,
    hits: &mut Vec<Hit>,
) {
    if has_token(node, K::CONCURRENTLY_KW) {
        concurrently(ctx, hits);
    } else if existing {
        hits.push(hit(
            "index-not-concurrent",
            format!("index on existing table `{table}` built without CONCURRENTLY takes SHARE and blocks writes for the whole build; use CREATE INDEX CONCURRENTLY"),
        ));
    }
}

fn drop_index(node: &SyntaxNode, ctx: &FileContext, hits: &mut Vec<Hit>) {
    if has_token(node, K::CONCURRENTLY_KW) {
        concurrently(ctx, hits);
    } else {
        hits.push(hit(
            "drop-index-not-concurrent",
            "DROP INDEX takes ACCESS EXCLUSIVE on its table; use DROP INDEX CONCURRENTLY",
        ));
    }
}

fn create_table(node: &SyntaxNode, _ctx: &FileContext, hits: &mut Vec<Hit>) {
    for column in node.descendants().filter(|d| d.kind() == K::COLUMN) {
        column_type_rules(&column, hits);
    }
}

/// The type rules of a new column (`CREATE TABLE` or `ADD COLUMN`), placed at the column.
fn column_type_rules(column: &SyntaxNode, hits: &mut Vec<Hit>) {
    let before = hits.len();
    type_rules(column, hits);
    place(&mut hits[before..], column);
}

/// Places `hits` at `node` unless they have a place already.
fn place(hits: &mut [Hit], node: &SyntaxNode) {
    let at = cst::first_code_offset(node);
    for hit in hits.iter_mut().filter(|h| h.at.is_none()) {
        hit.at = at;
    }
}

fn type_rules(column: &SyntaxNode, hits: &mut Vec<Hit>) {
    let Some(ty) = cst::type_text(column) else {
        return;
    };
    let name = child(column, K::COLUMN_NAME)
        .map(|n| cst::text_of(&n))
        .unwrap_or_default();
    let base = ty.split('(').next().unwrap_or(&ty).trim().to_string();
    let key = contains(column, K::PRIMARY_KEY_CONSTRAINT)
        || name.eq_ignore_ascii_case("id")
        || name.to_ascii_lowercase().ends_with("_id");
    let small_int = matches!(
        base.as_str(),
        "int"
            | "integer"
            | "int4"
            | "serial"
            | "serial4"
            | "smallint"
            | "int2"
            | "smallserial"
            | "serial2"
    );
    if key && small_int && !contains(column, K::REFERENCES_CONSTRAINT) {
        hits.push(hit(
            "int-key",
            format!("key column `{name}` is {ty}; use bigint"),
        ));
    }
    if matches!(
        base.as_str(),
        "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2"
    ) {
        hits.push(hit(
            "serial",
            format!("`{name}` is {ty}; use GENERATED BY DEFAULT AS IDENTITY"),
        ));
    }
    if base == "timestamp" || base == "timestamp without time zone" {
        hits.push(hit(
            "timestamp-without-tz",
            format!("`{name}` is {ty}; use timestamptz"),
        ));
    }
    if matches!(base.as_str(), "char" | "character" | "bpchar" | "nchar") {
        hits.push(hit("char-type", format!("`{name}` is {ty}; use text")));
    }
    if (base == "varchar" || base == "character varying") && ty.contains('(') {
        hits.push(hit(
            "varchar-limit",
            format!("`{name}` is {ty}; use text with a CHECK on its length"),
        ));
    }
}

fn drop_table(node: &SyntaxNode, ctx: &FileContext, hits: &mut Vec<Hit>) {
    let tables = cst::text_of(node);
    hits.push(hit(
        "drop-table",
        format!("{}: code still running may use it", cst::head(&tables)),
    ));
    if !ctx.has_down {
        hits.push(hit(
            "drop-without-down",
            "drops data and the migration has no down file to restore the structure",
        ));
    }
}

fn truncate(node: &SyntaxNode, hits: &mut Vec<Hit>) {
    if child(node, K::CASCADE).is_some() || contains_token(node, K::CASCADE_KW) {
        hits.push(hit(
            "truncate-cascade",
            "TRUNCATE ... CASCADE also empties every table that references it",
        ));
    }
    hits.push(hit("data-change", "TRUNCATE in a schema migration"));
}

fn rewrite_command(node: &SyntaxNode, hits: &mut Vec<Hit>) {
    let rewrites = match node.kind() {
        K::VACUUM => contains_token(node, K::FULL_KW),
        K::CLUSTER => true,
        _ => !has_token(node, K::CONCURRENTLY_KW),
    };
    if rewrites {
        hits.push(hit(
            "table-rewrite-command",
            format!(
                "{} rewrites the table under ACCESS EXCLUSIVE",
                statement_keyword(node)
            ),
        ));
    }
}

fn timeout_disabled(node: &SyntaxNode, hits: &mut Vec<Hit>) {
    let text = cst::text_of(node).to_ascii_lowercase();
    let text = text.trim_end_matches(';');
    let setting = ["lock_timeout", "statement_timeout"]
        .into_iter()
        .find(|s| text.contains(s));
    let off = text.starts_with("reset")
        || text.ends_with("=0")
        || text.ends_with("to0")
        || text.ends_with("='0'")
        || text.ends_with("to'0'")
        || text.ends_with("default");
    if let (Some(setting), true) = (setting, off) {
        hits.push(hit("timeout-disabled", format!("{setting} turned off")));
    }
}

fn duplicate_assignment(node: &SyntaxNode, hits: &mut Vec<Hit>) {
    let mut seen = BTreeSet::new();
    for target in node.descendants().filter(|d| d.kind() == K::COLUMN_TARGET) {
        let name = cst::relation_key(&cst::text_of(&target));
        if !seen.insert(name.clone()) {
            hits.push(hit(
                "duplicate-assignment",
                format!("column `{name}` is assigned twice"),
            ));
        }
    }
}

fn missing_if_exists(node: &SyntaxNode, hits: &mut Vec<Hit>) {
    let guarded = contains(node, K::IF_NOT_EXISTS) || contains(node, K::IF_EXISTS);
    let creates = matches!(
        node.kind(),
        K::CREATE_TABLE
            | K::CREATE_INDEX
            | K::CREATE_SCHEMA
            | K::CREATE_SEQUENCE
            | K::CREATE_EXTENSION
    );
    if creates && !guarded {
        hits.push(hit(
            "missing-if-exists",
            "add IF NOT EXISTS so the statement can be re-run after a partial failure",
        ));
    }
}

fn identifier_length(node: &SyntaxNode, hits: &mut Vec<Hit>) {
    let defining = [K::TABLE_NAME, K::COLUMN_NAME, K::CONSTRAINT_NAME, K::INDEX];
    for name in node.descendants().filter(|d| defining.contains(&d.kind())) {
        for part in cst::split_name(&cst::text_of(&name)) {
            if part.len() > 63 {
                hits.push(hit(
                    "identifier-too-long",
                    format!(
                        "`{part}` is {} bytes; PostgreSQL keeps the first 63",
                        part.len()
                    ),
                ));
            }
        }
    }
}

fn alter_table(
    node: &SyntaxNode,
    table: &str,
    existing: bool,
    ctx: &FileContext,
    hits: &mut Vec<Hit>,
) {
    for action in node.children() {
        let before = hits.len();
        alter_table_action(&action, table, existing, ctx, hits);
        place(&mut hits[before..], &action);
    }
}

fn alter_table_action(
    action: &SyntaxNode,
    table: &str,
    existing: bool,
    ctx: &FileContext,
    hits: &mut Vec<Hit>,
) {
    match action.kind() {
        K::ADD_COLUMN => {
            column_type_rules(action, hits);
            if existing {
                add_column(action, table, ctx, hits);
            }
        }
        K::ALTER_COLUMN if existing => alter_column(action, table, ctx, hits),
        K::ADD_CONSTRAINT if existing => add_constraint(action, table, hits),
        K::VALIDATE_CONSTRAINT => {
            let name = constraint_ref(action);
            if ctx.not_valid_here.contains(&name) && !ctx.explicit_transaction {
                hits.push(hit(
                    "constraint-not-valid",
                    format!("`{name}` is validated in the transaction that added it NOT VALID, so its lock is held through the scan; validate it in a later migration"),
                ));
            }
        }
        K::DROP_COLUMN => {
            hits.push(hit(
                "drop-column",
                format!("dropping a column of `{table}`: code still running may read it"),
            ));
            if !ctx.has_down {
                hits.push(hit(
                    "drop-without-down",
                    "drops data and the migration has no down file to restore the structure",
                ));
            }
        }
        K::RENAME_COLUMN => hits.push(hit(
            "rename-column",
            format!("renaming a column of `{table}` breaks code still using the old name"),
        )),
        K::TABLE_RENAME_TO => hits.push(hit(
            "rename-table",
            format!("renaming `{table}` breaks code still using the old name"),
        )),
        K::DETACH_PARTITION
            if !contains(action, K::DETACH_CONCURRENTLY) && ctx.server_major >= 14 =>
        {
            hits.push(hit("detach-partition-not-concurrent", format!("DETACH PARTITION takes ACCESS EXCLUSIVE on `{table}`; use DETACH PARTITION ... CONCURRENTLY")));
        }
        K::DETACH_PARTITION if contains(action, K::DETACH_CONCURRENTLY) => concurrently(ctx, hits),
        K::SET_LOGGED | K::SET_UNLOGGED | K::SET_TABLESPACE | K::SET_ACCESS_METHOD if existing => {
            hits.push(hit(
                "table-rewrite-command",
                format!("this rewrites `{table}` under ACCESS EXCLUSIVE"),
            ));
        }
        _ => {}
    }
}

fn constraint_ref(action: &SyntaxNode) -> String {
    action
        .descendants()
        .find(|d| d.kind() == K::CONSTRAINT_NAME_REF)
        .map(|n| cst::relation_key(&cst::text_of(&n)))
        .unwrap_or_default()
}

fn add_column(action: &SyntaxNode, table: &str, ctx: &FileContext, hits: &mut Vec<Hit>) {
    let name = child(action, K::COLUMN_NAME)
        .map(|n| cst::text_of(&n))
        .unwrap_or_default();
    let default = child(action, K::DEFAULT_CONSTRAINT);
    let generated = contains(action, K::GENERATED_CONSTRAINT);
    let serial = cst::type_text(action).is_some_and(|t| t.contains("serial"));
    if contains(action, K::NOT_NULL_CONSTRAINT) && default.is_none() && !generated && !serial {
        hits.push(hit(
            "not-null-without-default",
            format!("adding NOT NULL column `{name}` to `{table}` without DEFAULT fails once it has rows; add a DEFAULT or backfill first"),
        ));
    }
    let volatile = default
        .as_ref()
        .is_some_and(|d| ctx.server_major < 11 || locks::is_volatile(d));
    let stored = generated && cst::text_of(action).to_ascii_uppercase().contains("STORED");
    if volatile || serial || stored {
        hits.push(hit(
            "volatile-default",
            format!("`{name}`'s default is computed per row, so adding it rewrites `{table}` under ACCESS EXCLUSIVE"),
        ));
    }
    if contains(action, K::REFERENCES_CONSTRAINT) {
        hits.push(hit(
            "foreign-key-not-valid",
            format!("`{name}` REFERENCES ...: the foreign key is checked under SHARE ROW EXCLUSIVE on `{table}` and the referenced table; add the column, then the constraint NOT VALID, then VALIDATE it"),
        ));
    }
    if contains(action, K::PRIMARY_KEY_CONSTRAINT) || contains(action, K::UNIQUE_CONSTRAINT) {
        hits.push(hit(
            "constraint-without-index",
            format!(
                "`{name}` PRIMARY KEY/UNIQUE builds its index under ACCESS EXCLUSIVE on `{table}`"
            ),
        ));
    }
}

fn alter_column(action: &SyntaxNode, table: &str, ctx: &FileContext, hits: &mut Vec<Hit>) {
    let column = child(action, K::COLUMN_NAME_REF)
        .map(|n| cst::text_of(&n))
        .unwrap_or_default();
    if let Some(set_type) = child(action, K::SET_TYPE) {
        let cheap = child(&set_type, K::USING_EXPR).is_none()
            && cst::type_text(&set_type).is_some_and(|t| {
                t == "text" || t.starts_with("varchar") || t.starts_with("character varying")
            });
        if !cheap {
            hits.push(hit(
                "column-type-change",
                format!("changing the type of `{table}`.`{column}` rewrites the table under ACCESS EXCLUSIVE"),
            ));
        }
    }
    if child(action, K::SET_NOT_NULL).is_some() {
        let key = (cst::relation_key(table), cst::relation_key(&column));
        if !ctx.proven_not_null.contains(&key) {
            hits.push(hit(
                "set-not-null",
                format!("SET NOT NULL on `{table}`.`{column}` scans every row under ACCESS EXCLUSIVE; prove it first with a validated CHECK ({column} IS NOT NULL)"),
            ));
        }
    }
    if child(action, K::DROP_NOT_NULL).is_some() {
        hits.push(hit(
            "drop-not-null",
            format!("`{table}`.`{column}` may now be NULL: code still running may not expect it"),
        ));
    }
}

fn add_constraint(action: &SyntaxNode, table: &str, hits: &mut Vec<Hit>) {
    let not_valid = contains(action, K::NOT_VALID);
    let using_index = contains(action, K::USING_INDEX_NAME);
    if contains(action, K::FOREIGN_KEY_CONSTRAINT) && !not_valid {
        hits.push(hit(
            "foreign-key-not-valid",
            format!("the foreign key is checked against every row of `{table}` under SHARE ROW EXCLUSIVE on it and the referenced table; add it NOT VALID, then VALIDATE CONSTRAINT in a later migration"),
        ));
    } else if contains(action, K::CHECK_CONSTRAINT) && !not_valid {
        hits.push(hit(
            "constraint-not-valid",
            format!("the CHECK is tested on every row of `{table}` under ACCESS EXCLUSIVE; add it NOT VALID, then VALIDATE CONSTRAINT in a later migration"),
        ));
    } else if !using_index
        && (contains(action, K::PRIMARY_KEY_CONSTRAINT)
            || contains(action, K::UNIQUE_CONSTRAINT)
            || contains(action, K::EXCLUDE_CONSTRAINT))
    {
        hits.push(hit(
            "constraint-without-index",
            format!("the constraint builds its index on `{table}` under ACCESS EXCLUSIVE; CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX"),
        ));
    }
}
