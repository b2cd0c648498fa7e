//! A small reader of the DDL that `pg_restore` writes: its statements, tokens (quoted identifiers unquoted,
//! string literals skipped) and a cursor over them. Enough to tell which table an index or a constraint
//! belongs to and which columns it covers; not a SQL parser.

use std::collections::BTreeSet;

/// The SQL's statements (split by [`super::split`], which knows quoting and dollar quotes), each on
/// one line: its lines trimmed and joined by a space, comment lines left out, ending in `;`.
pub(crate) fn statements(sql: &str) -> Vec<String> {
    super::split(sql)
        .into_iter()
        .map(|statement| {
            let lines: Vec<&str> = statement
                .sql
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with("--"))
                .collect();
            format!("{};", lines.join(" "))
        })
        .collect()
}

/// A token of a DDL statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// An identifier or keyword (unquoted ones as written; quoted ones unquoted, marked).
    Word(String, bool),
    Punct(char),
}

/// The tokens of `sql`.
pub(crate) fn tokens(sql: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '"' {
            let mut word = String::new();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        word.push('"');
                    } else {
                        break;
                    }
                } else {
                    word.push(c);
                }
            }
            out.push(Token::Word(word, true));
        } else if c == '\'' {
            // A string literal: skipped (its content is never a name).
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
            out.push(Token::Punct('\''));
        } else if c.is_alphanumeric() || c == '_' {
            let mut word = c.to_string();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' || c == '$' {
                    word.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Token::Word(word, false));
        } else {
            out.push(Token::Punct(c));
        }
    }
    out
}

/// A cursor over a statement's tokens.
pub(crate) struct Cursor {
    tokens: Vec<Token>,
    at: usize,
}

impl Cursor {
    /// A cursor at the start of `statement`.
    pub(crate) fn new(statement: &str) -> Self {
        Self {
            tokens: tokens(statement),
            at: 0,
        }
    }

    pub(crate) fn keyword(&mut self, word: &str) -> bool {
        match self.tokens.get(self.at) {
            Some(Token::Word(w, false)) if w.eq_ignore_ascii_case(word) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn keywords(&mut self, words: &[&str]) -> bool {
        let start = self.at;
        if words.iter().all(|w| self.keyword(w)) {
            true
        } else {
            self.at = start;
            false
        }
    }

    pub(crate) fn name(&mut self) -> Option<String> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w, _)) => {
                self.at += 1;
                Some(w.clone())
            }
            _ => None,
        }
    }

    pub(crate) fn punct(&mut self, p: char) -> bool {
        if self.tokens.get(self.at) == Some(&Token::Punct(p)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// `schema.name` or `name` (schema `public`).
    pub(crate) fn qualified(&mut self) -> Option<String> {
        let first = self.name()?;
        if self.punct('.') {
            Some(format!("{first}.{}", self.name()?))
        } else {
            Some(format!("public.{first}"))
        }
    }

    /// `ALTER TABLE [ONLY] table ADD CONSTRAINT name`: the table (`schema.name`) and the name.
    pub(crate) fn added_constraint(&mut self) -> Option<(String, String)> {
        if !self.keywords(&["ALTER", "TABLE"]) {
            return None;
        }
        self.keyword("ONLY");
        let table = self.qualified()?;
        if !self.keywords(&["ADD", "CONSTRAINT"]) {
            return None;
        }
        Some((table, self.name()?))
    }

    /// `FOREIGN KEY (columns) REFERENCES parent (columns)`: the columns, the referenced table
    /// (`schema.name`) and its columns.
    pub(crate) fn foreign_key(&mut self) -> Option<(Vec<String>, String, Vec<String>)> {
        if !self.keywords(&["FOREIGN", "KEY"]) {
            return None;
        }
        let columns = self.column_list()?;
        if !self.keyword("REFERENCES") {
            return None;
        }
        let parent = self.qualified()?;
        Some((columns, parent, self.column_list()?))
    }

    /// `( a, b )`: the names of a plain column list.
    pub(crate) fn column_list(&mut self) -> Option<Vec<String>> {
        if !self.punct('(') {
            return None;
        }
        let mut names = Vec::new();
        loop {
            names.push(self.name()?);
            if self.punct(')') {
                return Some(names);
            }
            if !self.punct(',') {
                return None;
            }
        }
    }

    /// Every word inside the next parenthesised group (an index's expressions).
    #[cfg_attr(not(feature = "mask"), allow(dead_code))] // used by masking only
    pub(crate) fn words_in_group(&mut self) -> BTreeSet<String> {
        let mut words = BTreeSet::new();
        let mut depth = 0;
        while let Some(token) = self.tokens.get(self.at) {
            self.at += 1;
            match token {
                Token::Punct('(') => depth += 1,
                Token::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Token::Word(w, _) if depth > 0 => {
                    words.insert(w.clone());
                }
                _ => {}
            }
        }
        words
    }
}
