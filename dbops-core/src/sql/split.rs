//! A PostgreSQL-aware statement splitter: `;` ends a statement only outside string literals
//! (`'...'`, `E'...'` with backslash escapes), quoted identifiers, dollar quotes (`$tag$...$tag$`),
//! line comments and nested block comments.

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text without the trailing `;`, trimmed.
    pub sql: String,
    /// 1-based line of its first character in the script.
    pub line: usize,
}

/// How a statement must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxRequirement {
    /// Fine inside a transaction.
    Any,
    /// PostgreSQL refuses it inside a transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...).
    NoTransaction,
    /// `ALTER TYPE ... ADD VALUE`: no transaction before PostgreSQL 12.
    NoTransactionBefore12,
    /// An explicit `BEGIN`/`START TRANSACTION`/`COMMIT`/`ROLLBACK`/`END`: the file manages its own
    /// transactions.
    TransactionControl,
}

/// Splits a script into statements (empty statements and comment-only text are dropped).
pub fn split(script: &str) -> Vec<Statement> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut lines = LineCounter::default();
    let mut start = 0;
    let mut i = 0;
    let mut has_code = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = skip_line_comment(bytes, i);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b'\'' => {
                has_code = true;
                i = skip_string_literal(bytes, i);
                continue;
            }
            b'"' => {
                has_code = true;
                i = skip_quoted_identifier(bytes, i);
                continue;
            }
            b'$' if i == 0 || !is_ident_byte(bytes[i - 1]) => {
                has_code = true;
                i = skip_dollar_quote(script, i);
                continue;
            }
            b';' => {
                push_statement(&mut out, &mut lines, script, start, i, has_code);
                has_code = false;
                i += 1;
                start = i;
                continue;
            }
            _ => {
                // PostgreSQL's whitespace: space, \t, \n, \r, \f and \v.
                if !(b.is_ascii_whitespace() || b == 0x0b) {
                    has_code = true;
                }
            }
        }
        i += 1;
    }
    push_statement(&mut out, &mut lines, script, start, bytes.len(), has_code);
    out
}

/// Line numbers of offsets met in increasing order, each newline counted once (statements are
/// found left to right, so the whole script is scanned once however many statements it has).
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: usize,
}

impl LineCounter {
    /// The 1-based line of byte `offset` of `script` (never less than an offset asked before).
    fn line_at(&mut self, script: &str, offset: usize) -> usize {
        let offset = offset.max(self.offset);
        self.newlines += bytecount_newlines(&script.as_bytes()[self.offset..offset]);
        self.offset = offset;
        1 + self.newlines
    }
}

fn bytecount_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Adds `script[from..to]` to `out` as a statement (leading whitespace and comments skipped, its
/// line counted from the first code character), unless it has no code.
fn push_statement(
    out: &mut Vec<Statement>,
    lines: &mut LineCounter,
    script: &str,
    from: usize,
    to: usize,
    has_code: bool,
) {
    if !has_code {
        return;
    }
    let raw = &script[from..to];
    let lead = code_start(raw);
    let line = lines.line_at(script, from + lead);
    out.push(Statement {
        sql: raw[lead..].trim_end_matches(is_pg_space).to_string(),
        line,
    });
}

/// Index of the newline ending the line comment (`--`) at `i`, or the end of the script.
fn skip_line_comment(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i] != b'\n' {
        i += 1;
    }
    i
}

/// Index just past the block comment (`/* ... */`, nested) opening at `i`, or the end of the script
/// when it is not closed.
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Index just past the string literal opening at `i`: `'...'` with doubled quotes, or `E'...'` with
/// backslash escapes too. Unterminated, the index is past the end of the script.
fn skip_string_literal(bytes: &[u8], mut i: usize) -> usize {
    let escapes =
        i > 0 && matches!(bytes[i - 1], b'e' | b'E') && (i < 2 || !is_ident_byte(bytes[i - 2]));
    i += 1;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            break;
        }
        i += 1;
    }
    i + 1
}

/// Index just past the quoted identifier (`"..."` with doubled quotes) opening at `i`. Unterminated,
/// the index is past the end of the script.
fn skip_quoted_identifier(bytes: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            if bytes.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            break;
        }
        i += 1;
    }
    i + 1
}

/// Index just past the dollar-quoted string (`$tag$ ... $tag$`) opening at the `$` at `i`, or the end
/// of the script when it is not closed; just past the `$` when it opens no dollar quote (`$1`).
fn skip_dollar_quote(script: &str, i: usize) -> usize {
    let bytes = script.as_bytes();
    let Some(tag_len) = dollar_tag(&bytes[i..]) else {
        return i + 1;
    };
    let tag = &script[i..i + tag_len];
    let body = i + tag_len;
    match script[body..].find(tag) {
        Some(end) => body + end + tag_len,
        None => bytes.len(),
    }
}

/// PostgreSQL's whitespace (other Unicode spaces are identifier characters to its scanner).
fn is_pg_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Offset of the first character that is neither whitespace nor part of a comment.
fn code_start(raw: &str) -> usize {
    let mut rest = raw;
    loop {
        let trimmed = rest.trim_start_matches(is_pg_space);
        if trimmed.starts_with("--") {
            rest = trimmed.find('\n').map_or("", |p| &trimmed[p..]);
        } else if trimmed.starts_with("/*") {
            let bytes = trimmed.as_bytes();
            let (mut depth, mut i) = (0usize, 0usize);
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            rest = &trimmed[i.min(trimmed.len())..];
        } else {
            return raw.len() - trimmed.len();
        }
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Length of a dollar-quote opening tag (`$$` or `$tag$`) at the start of `bytes`.
fn dollar_tag(bytes: &[u8]) -> Option<usize> {
    if bytes.first() != Some(&b'$') {
        return None;
    }
    let mut j = 1;
    while j < bytes.len() && bytes[j] != b'$' {
        let ok = if j == 1 {
            bytes[j].is_ascii_alphabetic() || bytes[j] == b'_' || bytes[j] >= 0x80
        } else {
            is_ident_byte(bytes[j])
        };
        if !ok {
            return None;
        }
        j += 1;
    }
    (j < bytes.len()).then_some(j + 1)
}

/// The first `n` words of a statement, upper-cased, comments skipped.
pub fn head_words(sql: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = sql;
    while words.len() < n {
        rest = rest.trim_start();
        if rest.starts_with("--") {
            rest = rest.find('\n').map_or("", |p| &rest[p..]);
            continue;
        }
        if rest.starts_with("/*") {
            rest = rest.find("*/").map_or("", |p| &rest[p + 2..]);
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            // Punctuation or a quoted name: skip one character.
            match rest.chars().next() {
                Some(c) => rest = &rest[c.len_utf8()..],
                None => break,
            }
            continue;
        }
        words.push(rest[..end].to_ascii_uppercase());
        rest = &rest[end..];
    }
    words
}

/// How `statement` must run.
pub fn tx_requirement(statement: &str) -> TxRequirement {
    let words = head_words(statement, 8);
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let has = |word: &str| words.iter().any(|x| x == word);
    match (w(0), w(1)) {
        ("BEGIN", _) | ("START", "TRANSACTION") | ("COMMIT", _) | ("ROLLBACK", _) | ("END", _) => {
            TxRequirement::TransactionControl
        }
        ("CREATE", "INDEX") | ("CREATE", "UNIQUE") | ("DROP", "INDEX") | ("REINDEX", _)
            if has("CONCURRENTLY") =>
        {
            TxRequirement::NoTransaction
        }
        ("VACUUM", _)
        | ("CREATE", "DATABASE")
        | ("DROP", "DATABASE")
        | ("CREATE", "TABLESPACE")
        | ("DROP", "TABLESPACE")
        | ("ALTER", "SYSTEM")
        | ("CREATE", "SUBSCRIPTION")
        | ("DROP", "SUBSCRIPTION") => TxRequirement::NoTransaction,
        ("ALTER", "TYPE") if has("ADD") && has("VALUE") => TxRequirement::NoTransactionBefore12,
        _ => TxRequirement::Any,
    }
}

/// Whether the script asks to run outside a transaction with `-- dbops:no-transaction`.
pub fn has_no_transaction_directive(script: &str) -> bool {
    script.lines().any(|line| {
        line.trim_start()
            .strip_prefix("--")
            .is_some_and(|c| c.trim() == "dbops:no-transaction")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(script: &str) -> Vec<String> {
        split(script).into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let script = "CREATE TABLE \"a;b\" (x text DEFAULT 'it''s;');\n-- c;\n/* x; /* nested; */ y; */\nSELECT E'\\';', $$;$$, $f$ a;b $f$;\nSELECT 1";
        assert_eq!(
            sqls(script),
            vec![
                "CREATE TABLE \"a;b\" (x text DEFAULT 'it''s;')",
                "SELECT E'\\';', $$;$$, $f$ a;b $f$",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn reports_lines_and_drops_empty_statements() {
        let stmts = split("\n\nSELECT 1;;\n  -- only a comment\n;\nSELECT\n2;");
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0].line, 3);
        assert_eq!(stmts[1].line, 6);
    }

    #[test]
    fn vertical_tabs_are_whitespace() {
        // Found by the sql_split fuzz target: "\x0b" alone was reported as an empty statement.
        assert!(split("\x0b").is_empty());
        assert_eq!(split("\x0bSELECT 1;\x0b").len(), 1);
        // A no-break space is not whitespace to PostgreSQL: it is a (bad) statement, kept as is.
        assert_eq!(split("\u{a0}")[0].sql, "\u{a0}");
    }

    #[test]
    fn function_bodies_stay_whole() {
        let script = "CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  NEW.x := 1; RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\nSELECT 2;";
        let stmts = split(script);
        assert_eq!(stmts.len(), 2);
        assert!(stmts[0].sql.ends_with("LANGUAGE plpgsql"));
    }

    #[test]
    fn identifiers_with_dollars_are_not_quotes() {
        assert_eq!(sqls("SELECT a$1, $1 FROM t; SELECT 2").len(), 2);
    }

    #[test]
    fn classifies_statements() {
        assert_eq!(
            tx_requirement("create index concurrently i on t(x)"),
            TxRequirement::NoTransaction
        );
        assert_eq!(
            tx_requirement("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t(x)"),
            TxRequirement::NoTransaction
        );
        assert_eq!(
            tx_requirement("/* c */ DROP INDEX CONCURRENTLY i"),
            TxRequirement::NoTransaction
        );
        assert_eq!(
            tx_requirement("VACUUM ANALYZE t"),
            TxRequirement::NoTransaction
        );
        assert_eq!(
            tx_requirement("ALTER TYPE s ADD VALUE 'x'"),
            TxRequirement::NoTransactionBefore12
        );
        assert_eq!(tx_requirement("BEGIN"), TxRequirement::TransactionControl);
        assert_eq!(tx_requirement("CREATE INDEX i ON t(x)"), TxRequirement::Any);
        assert!(has_no_transaction_directive(
            "-- dbops:no-transaction\nSELECT 1"
        ));
    }
}
