//! Migrations read with a PostgreSQL grammar (the lossless syntax tree of the `squawk-syntax` crate):
//! each statement with its position, syntax errors with line and column, and small helpers the rules
//! and the lock analysis share to look into a statement's tree.

use squawk_syntax::{SourceFile, SyntaxKind, SyntaxNode, ast::AstNode};

/// One statement of a script and where it starts.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The statement's syntax tree.
    pub node: SyntaxNode,
    /// 1-based line of its first character.
    pub line: usize,
    /// 1-based column (in characters) of its first character.
    pub column: usize,
    /// 1-based line of its last character.
    pub end_line: usize,
}

impl Statement {
    /// The statement's kind (`ALTER_TABLE`, `CREATE_INDEX`, ...).
    pub fn kind(&self) -> SyntaxKind {
        self.node.kind()
    }

    /// The statement's text, whitespace collapsed and shortened for messages.
    pub fn head(&self) -> String {
        head(&self.node.text().to_string())
    }
}

/// A syntax error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxProblem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The parser's message.
    pub message: String,
}

/// A script read: its statements and its syntax errors.
#[derive(Debug, Clone)]
pub struct ParsedScript {
    /// The statements, in order.
    pub statements: Vec<Statement>,
    /// Syntax errors (empty for a valid script).
    pub errors: Vec<SyntaxProblem>,
}

/// Reads `sql` into statements with their positions.
pub fn parse(sql: &str) -> ParsedScript {
    let parse = SourceFile::parse(sql);
    let lines = LineIndex::new(sql);
    let errors = parse
        .errors()
        .into_iter()
        .map(|e| {
            let (line, column) = lines.position(u32::from(e.range().start()) as usize);
            SyntaxProblem {
                line,
                column,
                message: e.message().to_string(),
            }
        })
        .collect();
    let statements = parse
        .tree()
        .syntax()
        .children()
        .map(|node| {
            let range = node.text_range();
            let start = first_code_offset(&node).unwrap_or(u32::from(range.start()) as usize);
            let (line, column) = lines.position(start);
            let (end_line, _) = lines.position((u32::from(range.end()) as usize).saturating_sub(1));
            Statement {
                node,
                line,
                column,
                end_line: end_line.max(line),
            }
        })
        .collect();
    ParsedScript { statements, errors }
}

/// The offset of a node's first token that is not whitespace or a comment.
pub fn first_code_offset(node: &SyntaxNode) -> Option<usize> {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .find(|t| !is_trivia(t.kind()))
        .map(|t| u32::from(t.text_range().start()) as usize)
}

fn is_trivia(kind: SyntaxKind) -> bool {
    matches!(kind, SyntaxKind::WHITESPACE | SyntaxKind::COMMENT)
}

/// Byte offsets to 1-based lines and character columns.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// The index of `text`'s lines.
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(at, _)| at + 1));
        Self { text, starts }
    }

    /// The 1-based line and column of byte `offset`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }
}

/// `text` on one line, at most 80 characters.
pub fn head(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = flat.trim_end_matches(';').to_string();
    if flat.chars().count() <= 80 {
        return flat;
    }
    let cut: String = flat.chars().take(77).collect();
    format!("{cut}...")
}

/// Whether `node` has a token of `kind` among its own children (not its descendants').
pub fn has_token(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    node.children_with_tokens()
        .filter_map(|e| e.into_token())
        .any(|t| t.kind() == kind)
}

/// `node`'s first child node of `kind`.
pub fn child(node: &SyntaxNode, kind: SyntaxKind) -> Option<SyntaxNode> {
    node.children().find(|c| c.kind() == kind)
}

/// `node`'s child nodes of `kind`.
pub fn children(node: &SyntaxNode, kind: SyntaxKind) -> impl Iterator<Item = SyntaxNode> {
    node.children().filter(move |c| c.kind() == kind)
}

/// `node`'s first descendant (itself included) of any of `kinds`.
pub fn descendant(node: &SyntaxNode, kinds: &[SyntaxKind]) -> Option<SyntaxNode> {
    node.descendants().find(|d| kinds.contains(&d.kind()))
}

/// Whether `node` or a descendant is of `kind`.
pub fn contains(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    node.descendants().any(|d| d.kind() == kind)
}

/// A name as written (`public."Rides"`), whitespace removed.
pub fn text_of(node: &SyntaxNode) -> String {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| !is_trivia(t.kind()))
        .map(|t| t.text().to_string())
        .collect()
}

/// The relation a name refers to, for comparing names: its last part, unquoted names lower-cased
/// (`public."Rides"` and `"Rides"` are `Rides`; `public.rides` and `RIDES` are `rides`).
pub fn relation_key(written: &str) -> String {
    split_name(written).pop().unwrap_or_default()
}

/// The parts of a qualified name, each unquoted (quoted parts keep their case, others are
/// lower-cased).
pub fn split_name(written: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = written.chars().peekable();
    let mut part_was_quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                part_was_quoted = true;
            }
            '.' if !quoted => {
                parts.push(std::mem::take(&mut current));
                part_was_quoted = false;
            }
            c if quoted || part_was_quoted => current.push(c),
            c => current.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(current);
    parts
}

/// The table a statement names first (`ALTER TABLE x`, `CREATE INDEX ... ON x`, `DROP TABLE x`, ...),
/// as written.
pub fn first_table(node: &SyntaxNode) -> Option<String> {
    descendant(
        node,
        &[
            SyntaxKind::TABLE_RELATION_NAME,
            SyntaxKind::TABLE_NAME_REF,
            SyntaxKind::RELATION_NAME_REF,
            SyntaxKind::TABLE_NAME,
        ],
    )
    .map(|n| {
        let name = descendant(&n, &[SyntaxKind::PATH_REF, SyntaxKind::PATH]).unwrap_or(n);
        text_of(&name)
    })
}

/// The lower-cased type of a column definition or `SET TYPE` (`varchar(20)`, `timestamp`, `int4`),
/// whitespace collapsed.
pub fn type_text(node: &SyntaxNode) -> Option<String> {
    use SyntaxKind as K;
    let ty = node.children().find(|c| {
        matches!(
            c.kind(),
            K::PATH_TYPE
                | K::VARCHAR_TYPE
                | K::CHARACTER_TYPE
                | K::TIMESTAMP_TYPE
                | K::TIME_TYPE
                | K::BIT_TYPE
                | K::INTERVAL_TYPE
                | K::DOUBLE_TYPE
                | K::ARRAY_TYPE
                | K::PERCENT_TYPE
        )
    })?;
    let words: Vec<String> = ty
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| !is_trivia(t.kind()))
        .map(|t| t.text().to_ascii_lowercase())
        .collect();
    let mut out = String::new();
    for word in words {
        let glue = out.is_empty()
            || matches!(word.as_str(), "(" | ")" | "," | "[" | "]")
            || out.ends_with('(')
            || out.ends_with('[');
        if !glue {
            out.push(' ');
        }
        out.push_str(&word);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_know_their_lines_and_columns() {
        let script =
            parse("-- first\nCREATE TABLE a (id int);\n\n  ALTER TABLE a\n  ADD COLUMN b int;");
        assert!(script.errors.is_empty(), "{:?}", script.errors);
        let places: Vec<(usize, usize, usize)> = script
            .statements
            .iter()
            .map(|s| (s.line, s.column, s.end_line))
            .collect();
        assert_eq!(places, vec![(2, 1, 2), (4, 3, 5)]);
    }

    #[test]
    fn syntax_errors_have_a_line_and_column() {
        let script = parse("CREATE TABLE a (id int);\nALTER TABLE a ADD COLUMN;\n");
        let error = script.errors.first().expect("a syntax error");
        assert_eq!(error.line, 2, "{error:?}");
        assert!(error.column > 1, "{error:?}");
    }

    #[test]
    fn names_compare_as_postgresql_does() {
        assert_eq!(relation_key("public.Rides"), "rides");
        assert_eq!(relation_key("public.\"Rides\""), "Rides");
        assert_eq!(split_name("\"a.b\".c"), vec!["a.b", "c"]);
        let script = parse("ALTER TABLE ONLY public.\"Rides\" ALTER COLUMN id TYPE bigint;");
        let table = first_table(&script.statements[0].node).unwrap();
        assert_eq!(table, "public.\"Rides\"");
    }
}
