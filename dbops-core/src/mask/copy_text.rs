//! Masking rows in PostgreSQL's COPY text format as they stream: a line per row, fields separated by
//! tabs, `\N` for NULL, backslash escapes. Only masked fields are decoded and re-encoded; the rest of
//! each row is copied as it is.

use std::io::Write;
use std::sync::Arc;

use super::key::MaskKey;
use super::transform::ColumnOp;

/// The masking of one table's rows: an operation per masked column (by COPY position).
#[derive(Debug, Clone)]
pub struct TableMasker {
    pub(crate) table: String,
    pub(crate) columns: Vec<(usize, String, ColumnOp)>,
    pub(crate) key: Arc<MaskKey>,
}

impl TableMasker {
    /// Whether any column of the table is masked.
    pub fn masks_anything(&self) -> bool {
        !self.columns.is_empty()
    }

    /// Masks one row (without its newline) into `out`; `row` counts from 1 for errors.
    pub(crate) fn mask_row(
        &self,
        line: &[u8],
        row: u64,
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), String> {
        let mut fields: Vec<&[u8]> = line.split(|b| *b == b'\t').collect();
        let mut replaced: Vec<(usize, Vec<u8>)> = Vec::with_capacity(self.columns.len());
        for (index, name, op) in &self.columns {
            let Some(field) = fields.get(*index) else {
                return Err(format!(
                    "{}: row {row} has {} fields, column {name} is number {}",
                    self.table,
                    fields.len(),
                    index + 1
                ));
            };
            if *field == b"\\N" {
                continue;
            }
            let value = unescape(field)
                .map_err(|reason| format!("{}.{name}, row {row}: {reason}", self.table))?;
            let masked = op.apply(&self.key, &value).map_err(|reason| {
                format!(
                    "{}.{name}, row {row}: the value is {reason}; fix the rule or the data",
                    self.table
                )
            })?;
            replaced.push((*index, escape(masked.as_deref())));
        }
        for (index, bytes) in &replaced {
            fields[*index] = bytes;
        }
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            out.extend_from_slice(field);
        }
        out.push(b'\n');
        Ok(())
    }
}

/// A COPY field's text, escapes undone.
fn unescape(field: &[u8]) -> std::result::Result<String, String> {
    if !field.contains(&b'\\') {
        return String::from_utf8(field.to_vec()).map_err(|_| "not UTF-8".to_string());
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        i += 1;
        if b != b'\\' || i >= field.len() {
            out.push(b);
            continue;
        }
        let c = field[i];
        i += 1;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = (c - b'0') as u32;
                for _ in 0..2 {
                    match field.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            b'x' => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match field.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            i += 1;
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push(b'x');
                } else {
                    out.push(value as u8);
                }
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8".to_string())
}

/// A value as a COPY field (`None`: NULL).
fn escape(value: Option<&str>) -> Vec<u8> {
    let Some(value) = value else {
        return b"\\N".to_vec();
    };
    let mut out = Vec::with_capacity(value.len());
    crate::sql::escape_copy_text(value, &mut out);
    out
}

/// A writer that masks the COPY rows written to it before passing them to `inner`. Partial rows wait
/// for their newline; [`Write::flush`] (once, at the end) masks a last row without one.
pub(crate) struct MaskingWriter<W: Write> {
    masker: Arc<TableMasker>,
    inner: W,
    pending: Vec<u8>,
    out: Vec<u8>,
    rows: u64,
}

impl<W: Write> MaskingWriter<W> {
    pub(crate) fn new(masker: Arc<TableMasker>, inner: W) -> Self {
        Self {
            masker,
            inner,
            pending: Vec::new(),
            out: Vec::new(),
            rows: 0,
        }
    }

    fn mask_lines(&mut self, data: &[u8]) -> std::io::Result<()> {
        for line in data.split(|b| *b == b'\n') {
            self.rows += 1;
            self.masker
                .mask_row(line, self.rows, &mut self.out)
                .map_err(std::io::Error::other)?;
        }
        Ok(())
    }

    fn drain(&mut self) -> std::io::Result<()> {
        let result = self.inner.write_all(&self.out);
        self.out.clear();
        result
    }
}

impl<W: Write> Write for MaskingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Some(last) = buf.iter().rposition(|b| *b == b'\n') else {
            self.pending.extend_from_slice(buf);
            return Ok(buf.len());
        };
        let (complete, rest) = buf.split_at(last + 1);
        if self.pending.is_empty() {
            self.mask_lines(&complete[..complete.len() - 1])?;
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(&complete[..complete.len() - 1]);
            self.mask_lines(&joined)?;
        }
        self.pending.extend_from_slice(rest);
        self.drain()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.mask_lines(&last)?;
            self.drain()?;
        }
        self.inner.flush()
    }
}

/// `source`'s COPY rows masked by `masker`, chunk for chunk (a row split across chunks is masked when
/// its newline arrives).
pub(crate) fn mask_stream(
    masker: Arc<TableMasker>,
    source: futures::stream::BoxStream<'static, crate::Result<bytes::Bytes>>,
) -> futures::stream::BoxStream<'static, crate::Result<bytes::Bytes>> {
    use futures::StreamExt;
    let writer = MaskingWriter::new(masker.clone(), Vec::new());
    let failed = move |e: std::io::Error| crate::Error::Refused {
        action: format!("mask the rows of {}", masker.table),
        reason: format!("{e}; nothing was published"),
    };
    Box::pin(futures::stream::unfold(
        Some((source, writer)),
        move |state| {
            let failed = failed.clone();
            async move {
                let (mut source, mut writer) = state?;
                loop {
                    match source.next().await {
                        Some(Ok(chunk)) => {
                            if let Err(e) = writer.write_all(&chunk) {
                                return Some((Err(failed(e)), None));
                            }
                            if !writer.inner.is_empty() {
                                let out = bytes::Bytes::from(std::mem::take(&mut writer.inner));
                                return Some((Ok(out), Some((source, writer))));
                            }
                        }
                        Some(Err(e)) => return Some((Err(e), None)),
                        None => {
                            if let Err(e) = writer.flush() {
                                return Some((Err(failed(e)), None));
                            }
                            if writer.inner.is_empty() {
                                return None;
                            }
                            let out = bytes::Bytes::from(std::mem::take(&mut writer.inner));
                            return Some((Ok(out), None));
                        }
                    }
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        for text in ["plain", "tab\there", "new\nline", "back\\slash", "ünï"] {
            let escaped = escape(Some(text));
            assert_eq!(unescape(&escaped).unwrap(), text);
        }
        assert_eq!(unescape(b"\\101\\x42\\\\").unwrap(), "AB\\");
        assert_eq!(escape(None), b"\\N");
    }

    #[test]
    fn masks_only_the_ruled_fields_across_chunk_boundaries() {
        let key = Arc::new(MaskKey::new(b"0123456789abcdef").unwrap());
        let masker = Arc::new(TableMasker {
            table: "public.t".into(),
            columns: vec![(1, "secret".into(), ColumnOp::Constant("x\ty".into()))],
            key,
        });
        let mut writer = MaskingWriter::new(masker, Vec::new());
        let input = b"1\tabc\tkeep\\tme\n2\t\\N\tz\n3\tlast\tq";
        for chunk in input.chunks(3) {
            writer.write_all(chunk).unwrap();
        }
        writer.flush().unwrap();
        assert_eq!(
            String::from_utf8(writer.inner).unwrap(),
            "1\tx\\ty\tkeep\\tme\n2\t\\N\tz\n3\tx\\ty\tq\n"
        );
    }
}
