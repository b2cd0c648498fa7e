//! SQL text helpers shared by migrations, restores and masking: the statement splitter (PostgreSQL's
//! quoting, dollar quotes and comments), a reader of the DDL `pg_restore` writes, and COPY text
//! escaping. Nothing here talks to a server.

#[cfg(feature = "backup")]
pub(crate) mod ddl;
mod split;

pub use split::*;

/// Appends `text` to a COPY text line as one field's value, escaping what COPY would read as
/// structure (backslash, newline, carriage return, tab).
#[cfg(feature = "backup")]
pub(crate) fn escape_copy_text(text: &str, line: &mut Vec<u8>) {
    let special = |b: &u8| matches!(b, b'\\' | b'\n' | b'\r' | b'\t');
    if !text.as_bytes().iter().any(special) {
        line.extend_from_slice(text.as_bytes());
        return;
    }
    for &b in text.as_bytes() {
        match b {
            b'\\' => line.extend_from_slice(b"\\\\"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            b'\t' => line.extend_from_slice(b"\\t"),
            b => line.push(b),
        }
    }
}
