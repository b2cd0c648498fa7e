//! Binary COPY rows rewritten as COPY text rows, on the client: for a restore that must see the values
//! (masking) or load them where binary forms are not guaranteed to mean the same (another PostgreSQL
//! major version). Covers the types `backup::copy_binary::KINDS` lists; a backup stores a table in binary only when each
//! of its columns is one of them, an enum, a domain over one, or an array of a built-in one.

use std::fmt::Write as _;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::backup::copy_binary::{Kind, SIGNATURE, kind_of};

/// A column of a binary stream: a value, or an array of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    /// One value of this kind.
    Scalar(Kind),
    /// An array (any number of dimensions) of this kind.
    Array(Kind),
}

/// Why a value could not be read.
type Invalid = String;

/// A big-endian reader over one value's bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Invalid> {
        if self.0.len() < n {
            return Err(format!(
                "a value ends early ({} of {n} bytes)",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, Invalid> {
        Ok(self.take(1)?[0])
    }
    fn i16(&mut self) -> Result<i16, Invalid> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Result<i32, Invalid> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> Result<i64, Invalid> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    fn done(&self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!("{} bytes left after a value", self.0.len()))
        }
    }
}

/// Appends the text form of one value of `kind` to `out`.
pub(crate) fn value_text(kind: Kind, bytes: &[u8], out: &mut String) -> Result<(), Invalid> {
    let mut r = Reader(bytes);
    match kind {
        Kind::Bool => out.push(if r.u8()? != 0 { 't' } else { 'f' }),
        Kind::Int2 => out.push_str(itoa::Buffer::new().format(r.i16()?)),
        Kind::Int4 => out.push_str(itoa::Buffer::new().format(r.i32()?)),
        Kind::Int8 => out.push_str(itoa::Buffer::new().format(r.i64()?)),
        Kind::Oid => out.push_str(itoa::Buffer::new().format(r.i32()? as u32)),
        Kind::Float4 => {
            let value = f32::from_bits(r.i32()? as u32);
            match special_float(f64::from(value)) {
                Some(name) => out.push_str(name),
                None => out.push_str(ryu::Buffer::new().format_finite(value)),
            }
        }
        Kind::Float8 => {
            let value = f64::from_bits(r.i64()? as u64);
            match special_float(value) {
                Some(name) => out.push_str(name),
                None => out.push_str(ryu::Buffer::new().format_finite(value)),
            }
        }
        Kind::Numeric => return numeric_text(bytes, out),
        Kind::Text => {
            out.push_str(utf8(bytes)?);
            return Ok(());
        }
        Kind::Char => {
            match bytes {
                [] | [0] => {}
                [b] if b.is_ascii() => out.push(char::from(*b)),
                [b] => write_display(out, format_args!("\\{b:03o}")),
                _ => return Err(format!("a \"char\" of {} bytes", bytes.len())),
            }
            return Ok(());
        }
        Kind::Jsonb => {
            let version = r.u8()?;
            if version != 1 {
                return Err(format!("jsonb version {version}"));
            }
            out.push_str(utf8(r.0)?);
            return Ok(());
        }
        Kind::Bytea => {
            out.push_str("\\x");
            out.push_str(&hex::encode(bytes));
            return Ok(());
        }
        Kind::Uuid => {
            let id = uuid::Uuid::from_slice(r.take(16)?).map_err(|e| format!("a uuid: {e}"))?;
            write_display(out, id.hyphenated());
        }
        Kind::Date => date_text(r.i32()?, out),
        Kind::Time => time_text(r.i64()?, out),
        Kind::TimeTz => {
            time_text(r.i64()?, out);
            offset_text(-r.i32()?, out);
        }
        Kind::Timestamp => timestamp_text(r.i64()?, false, out),
        Kind::TimestampTz => timestamp_text(r.i64()?, true, out),
        Kind::Interval => {
            let micros = r.i64()?;
            let days = r.i32()?;
            let months = r.i32()?;
            write_display(out, format_args!("{months:+} mons {days:+} days "));
            let sign = if micros < 0 { '-' } else { '+' };
            let abs = micros.unsigned_abs();
            write_display(
                out,
                format_args!("{sign}{}.{:06} secs", abs / 1_000_000, abs % 1_000_000),
            );
        }
        Kind::Inet => inet_text(&mut r, out)?,
        Kind::MacAddr => hex_colons(r.take(6)?, out),
        Kind::MacAddr8 => hex_colons(r.take(8)?, out),
    }
    r.done()
}

fn write_display(out: &mut String, value: impl std::fmt::Display) {
    let _ = write!(out, "{value}");
}

fn utf8(bytes: &[u8]) -> Result<&str, Invalid> {
    std::str::from_utf8(bytes).map_err(|e| format!("text that is not UTF-8 ({e})"))
}

/// PostgreSQL's name of a float that has no digits; finite values are written as their shortest
/// round-trip digits, which PostgreSQL reads back exactly.
fn special_float(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value.is_infinite() {
        Some(if value > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}

/// `value` zero-padded to `width` digits (values with more digits are written whole).
fn push_padded(out: &mut String, value: u64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// `numeric`: digit count, weight (of the first base-10000 digit), sign, display scale, digits.
fn numeric_text(bytes: &[u8], out: &mut String) -> Result<(), Invalid> {
    let mut r = Reader(bytes);
    let count = r.i16()?;
    let weight = i32::from(r.i16()?);
    let sign = r.i16()? as u16;
    let scale = r.i16()?;
    let count = usize::try_from(count).map_err(|_| format!("numeric digit count {count}"))?;
    let digits = r.take(2 * count)?;
    r.done()?;
    match sign {
        0xC000 => {
            out.push_str("NaN");
            return Ok(());
        }
        0xD000 => {
            out.push_str("Infinity");
            return Ok(());
        }
        0xF000 => {
            out.push_str("-Infinity");
            return Ok(());
        }
        0x4000 => out.push('-'),
        0x0000 => {}
        other => return Err(format!("numeric sign {other:#x}")),
    }
    // The base-10000 digit at position `k` (k = 0 units, k = -1 the first four decimals).
    let digit = |k: i32| {
        usize::try_from(weight - k)
            .ok()
            .and_then(|i| digits.get(2 * i..2 * i + 2))
            .map_or(0, |d| u64::from(u16::from_be_bytes([d[0], d[1]])))
    };
    if weight < 0 {
        out.push('0');
    } else {
        push_padded(out, digit(weight), 1);
        for k in (0..weight).rev() {
            push_padded(out, digit(k), 4);
        }
    }
    let scale = usize::try_from(scale).map_err(|_| format!("numeric scale {scale}"))?;
    if scale > 0 {
        out.push('.');
        let mut fraction = String::with_capacity(scale + 4);
        let mut k = -1;
        while fraction.len() < scale {
            push_padded(&mut fraction, digit(k), 4);
            k -= 1;
        }
        fraction.truncate(scale);
        out.push_str(&fraction);
    }
    Ok(())
}

/// Days since 2000-01-01 (PostgreSQL's epoch) to a proleptic Gregorian (year, month, day), the year
/// astronomical (0 is 1 BC).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 10_957 + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD`, and whether the year is before Christ.
fn ymd_text(days: i64, out: &mut String) -> bool {
    let (year, month, day) = civil(days);
    let (shown, bc) = if year <= 0 {
        (1 - year, true)
    } else {
        (year, false)
    };
    push_padded(out, shown as u64, 4);
    out.push('-');
    push_padded(out, u64::from(month), 2);
    out.push('-');
    push_padded(out, u64::from(day), 2);
    bc
}

fn date_text(days: i32, out: &mut String) {
    match days {
        i32::MAX => out.push_str("infinity"),
        i32::MIN => out.push_str("-infinity"),
        days => {
            if ymd_text(i64::from(days), out) {
                out.push_str(" BC");
            }
        }
    }
}

/// `HH:MM:SS[.ffffff]` of microseconds since midnight (24:00:00 included).
fn time_text(micros: i64, out: &mut String) {
    let seconds = micros.div_euclid(1_000_000) as u64;
    let fraction = micros.rem_euclid(1_000_000) as u64;
    push_padded(out, seconds / 3600, 2);
    out.push(':');
    push_padded(out, seconds / 60 % 60, 2);
    out.push(':');
    push_padded(out, seconds % 60, 2);
    if fraction != 0 {
        out.push('.');
        push_padded(out, fraction, 6);
    }
}

/// `+HH:MM:SS` of an offset east of UTC in seconds.
fn offset_text(east: i32, out: &mut String) {
    let sign = if east < 0 { '-' } else { '+' };
    let abs = east.unsigned_abs();
    write_display(
        out,
        format_args!(
            "{sign}{:02}:{:02}:{:02}",
            abs / 3600,
            abs / 60 % 60,
            abs % 60
        ),
    );
}

fn timestamp_text(micros: i64, utc: bool, out: &mut String) {
    match micros {
        i64::MAX => return out.push_str("infinity"),
        i64::MIN => return out.push_str("-infinity"),
        _ => {}
    }
    let day = 86_400_000_000;
    let bc = ymd_text(micros.div_euclid(day), out);
    out.push(' ');
    time_text(micros.rem_euclid(day), out);
    if utc {
        out.push_str("+00");
    }
    if bc {
        out.push_str(" BC");
    }
}

/// `inet`/`cidr`: family (2 IPv4, 3 IPv6), prefix bits, whether cidr, address length, address.
fn inet_text(r: &mut Reader<'_>, out: &mut String) -> Result<(), Invalid> {
    let family = r.u8()?;
    let bits = r.u8()?;
    let _is_cidr = r.u8()?;
    let length = usize::from(r.u8()?);
    let address = r.take(length)?;
    match (family, address.len()) {
        (2, 4) => write_display(
            out,
            Ipv4Addr::new(address[0], address[1], address[2], address[3]),
        ),
        (3, 16) => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(address);
            write_display(out, Ipv6Addr::from(octets));
        }
        _ => return Err(format!("inet family {family} with {length} address bytes")),
    }
    write_display(out, format_args!("/{bits}"));
    Ok(())
}

fn hex_colons(bytes: &[u8], out: &mut String) {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        write_display(out, format_args!("{b:02x}"));
    }
}

/// An array's text (`{a,b}`, `[0:1]={a,b}`, nested braces for more dimensions).
pub(crate) fn array_text(kind: Kind, bytes: &[u8], out: &mut String) -> Result<(), Invalid> {
    let mut r = Reader(bytes);
    let dimensions = usize::try_from(r.i32()?).map_err(|_| "a negative dimension count")?;
    let _has_nulls = r.i32()?;
    let _element_type = r.i32()?;
    let mut sizes = Vec::with_capacity(dimensions);
    let mut lowers = Vec::with_capacity(dimensions);
    for _ in 0..dimensions {
        let size = r.i32()?;
        sizes.push(usize::try_from(size).map_err(|_| format!("array dimension {size}"))?);
        lowers.push((r.i32()?, size));
    }
    if dimensions == 0 || sizes.contains(&0) {
        out.push_str("{}");
        return r.done();
    }
    if lowers.iter().any(|(lower, _)| *lower != 1) {
        for (lower, size) in lowers {
            write_display(out, format_args!("[{lower}:{}]", lower + size - 1));
        }
        out.push('=');
    }
    let mut element = String::new();
    array_level(kind, &mut r, &sizes, out, &mut element)?;
    r.done()
}

/// One level of an array: `{` elements or sub-arrays `}`.
fn array_level(
    kind: Kind,
    r: &mut Reader<'_>,
    sizes: &[usize],
    out: &mut String,
    element: &mut String,
) -> Result<(), Invalid> {
    out.push('{');
    for i in 0..sizes[0] {
        if i > 0 {
            out.push(',');
        }
        if sizes.len() > 1 {
            array_level(kind, r, &sizes[1..], out, element)?;
            continue;
        }
        let length = r.i32()?;
        if length < 0 {
            out.push_str("NULL");
            continue;
        }
        element.clear();
        value_text(kind, r.take(length as usize)?, element)?;
        quote_element(element, out);
    }
    out.push('}');
    Ok(())
}

/// An array element, double-quoted when its text would otherwise read differently.
fn quote_element(text: &str, out: &mut String) {
    let plain = !text.is_empty()
        && !text.eq_ignore_ascii_case("NULL")
        && !text.bytes().any(|b| {
            matches!(
                b,
                b'{' | b'}' | b',' | b'"' | b'\\' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
            )
        });
    if plain {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// A writer taking a binary COPY stream and writing the same rows as COPY text to `inner`.
pub(crate) struct BinaryToText<W: Write> {
    columns: Vec<Column>,
    inner: W,
    /// Bytes received and not yet decoded (at most one tuple's, plus a chunk).
    pending: Vec<u8>,
    header_read: bool,
    finished: bool,
    line: Vec<u8>,
    value: String,
}

impl<W: Write> BinaryToText<W> {
    /// A decoder of rows whose fields are `columns`, in order.
    pub(crate) fn new(columns: Vec<Column>, inner: W) -> Self {
        Self {
            columns,
            inner,
            pending: Vec::new(),
            header_read: false,
            finished: false,
            line: Vec::new(),
            value: String::new(),
        }
    }

    /// Decodes every whole item of `bytes`, returning how many bytes were used.
    fn decode(&mut self, bytes: &[u8]) -> Result<usize, Invalid> {
        let mut at = 0;
        if !self.header_read {
            let Some(header) = bytes.get(..19) else {
                return Ok(0);
            };
            if &header[..11] != SIGNATURE {
                return Err("not a binary COPY stream (wrong signature)".into());
            }
            let extension = i32::from_be_bytes([header[15], header[16], header[17], header[18]]);
            let extension = usize::try_from(extension).map_err(|_| "negative header extension")?;
            if bytes.len() < 19 + extension {
                return Ok(0);
            }
            at = 19 + extension;
            self.header_read = true;
        }
        while let Some(used) = self.tuple(&bytes[at..])? {
            at += used;
        }
        Ok(at)
    }

    /// Decodes the tuple at the start of `bytes` into a text line, if it is whole.
    fn tuple(&mut self, bytes: &[u8]) -> Result<Option<usize>, Invalid> {
        if bytes.len() < 2 || self.finished {
            return Ok(None);
        }
        let count = i16::from_be_bytes([bytes[0], bytes[1]]);
        if count == -1 {
            self.finished = true;
            return Ok(Some(2));
        }
        if usize::try_from(count).ok() != Some(self.columns.len()) {
            return Err(format!(
                "a row of {count} fields where the table has {} columns",
                self.columns.len()
            ));
        }
        let mut at = 2;
        self.line.clear();
        for (i, column) in self.columns.iter().enumerate() {
            let Some(length) = bytes.get(at..at + 4) else {
                return Ok(None);
            };
            let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
            at += 4;
            if i > 0 {
                self.line.push(b'\t');
            }
            if length < 0 {
                self.line.extend_from_slice(b"\\N");
                continue;
            }
            let Some(value) = bytes.get(at..at + length as usize) else {
                return Ok(None);
            };
            at += length as usize;
            self.value.clear();
            match *column {
                Column::Scalar(kind) => value_text(kind, value, &mut self.value)?,
                Column::Array(kind) => array_text(kind, value, &mut self.value)?,
            }
            crate::sql::escape_copy_text(&self.value, &mut self.line);
        }
        self.line.push(b'\n');
        self.inner
            .write_all(&self.line)
            .map_err(|e| format!("writing a decoded row: {e}"))?;
        Ok(Some(at))
    }
}

impl<W: Write> Write for BinaryToText<W> {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<usize> {
        if self.finished && !chunk.is_empty() {
            return Err(std::io::Error::other("bytes after the binary COPY trailer"));
        }
        if self.pending.is_empty() {
            // The usual case: decode straight from the chunk, keep only its unfinished tail.
            let used = self.decode(chunk).map_err(std::io::Error::other)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            self.pending.extend_from_slice(chunk);
            let pending = std::mem::take(&mut self.pending);
            let used = self.decode(&pending);
            self.pending = pending;
            self.pending.drain(..used.map_err(std::io::Error::other)?);
        }
        if self.finished && !self.pending.is_empty() {
            return Err(std::io::Error::other("bytes after the binary COPY trailer"));
        }
        Ok(chunk.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The columns of `table` (an SQL name) in the order `names` lists them, as a binary stream's
/// decoder reads them, from the catalog of the database `client` is connected to; `Err` names the
/// first column whose type the decoder does not cover.
pub(crate) async fn columns_of(
    client: &tokio_postgres::Client,
    table: &str,
    names: &[String],
) -> std::result::Result<Vec<Column>, crate::Error> {
    let rows = client
        .query(
            "WITH RECURSIVE cols(name, typ) AS ( \
               SELECT a.attname::text, a.atttypid FROM pg_attribute a \
               WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
               UNION ALL \
               SELECT c.name, t.typbasetype FROM cols c JOIN pg_type t ON t.oid = c.typ \
               WHERE t.typtype = 'd') \
             SELECT c.name, t.oid, t.typtype::text, t.typcategory::text, t.typelem, \
                    format_type(t.oid, NULL) \
             FROM cols c JOIN pg_type t ON t.oid = c.typ WHERE t.typtype <> 'd'",
            &[&table],
        )
        .await
        .map_err(|e| crate::Error::postgres(format!("reading the column types of {table}"), e))?;
    let column_of = |name: &str| -> std::result::Result<Column, crate::Error> {
        let row = rows
            .iter()
            .find(|r| r.get::<_, String>(0) == name)
            .ok_or_else(|| crate::Error::Integrity {
                key: table.to_string(),
                reason: format!("the backup's column `{name}` is not in the restored table"),
            })?;
        let (oid, typtype, category, element): (u32, String, String, u32) =
            (row.get(1), row.get(2), row.get(3), row.get(4));
        let column = match (category.as_str(), typtype.as_str()) {
            ("A", _) if element != 0 => kind_of(element).map(Column::Array),
            (_, "e") => Some(Column::Scalar(Kind::Text)),
            _ => kind_of(oid).map(Column::Scalar),
        };
        column.ok_or_else(|| crate::Error::Refused {
            action: format!("read the binary rows of {table} as text"),
            reason: format!(
                "column `{name}` is of type {}, whose binary form dbops does not decode; take a \
                 backup with --copy-format text",
                row.get::<_, String>(5)
            ),
        })
    };
    names.iter().map(|name| column_of(name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary COPY stream of int4/text rows (`None` for NULL) with a 3-byte header extension.
    fn stream(rows: &[(Option<i32>, Option<&str>)]) -> Vec<u8> {
        let mut out = b"PGCOPY\n\xff\r\n\0".to_vec();
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&3i32.to_be_bytes());
        out.extend_from_slice(b"ext");
        for (number, text) in rows {
            out.extend_from_slice(&2i16.to_be_bytes());
            match number {
                Some(n) => {
                    out.extend_from_slice(&4i32.to_be_bytes());
                    out.extend_from_slice(&n.to_be_bytes());
                }
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            }
            match text {
                Some(t) => {
                    out.extend_from_slice(&(t.len() as i32).to_be_bytes());
                    out.extend_from_slice(t.as_bytes());
                }
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    fn decode_in_chunks(bytes: &[u8], chunk: usize) -> std::io::Result<String> {
        let columns = vec![Column::Scalar(Kind::Int4), Column::Scalar(Kind::Text)];
        let mut out = Vec::new();
        {
            let mut decoder = BinaryToText::new(columns, &mut out);
            for piece in bytes.chunks(chunk) {
                decoder.write_all(piece)?;
            }
        }
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn rows_decode_the_same_whatever_the_chunking() {
        let bytes = stream(&[
            (Some(-7), Some("tab\there\\ and\nnewline")),
            (None, None),
            (Some(42), Some("")),
        ]);
        let expected = "-7\ttab\\there\\\\ and\\nnewline\n\\N\t\\N\n42\t\n";
        for chunk in [1, 2, 3, 7, 19, 20, bytes.len()] {
            assert_eq!(
                decode_in_chunks(&bytes, chunk).unwrap(),
                expected,
                "{chunk}"
            );
        }
    }

    #[test]
    fn broken_streams_are_errors() {
        let mut bytes = stream(&[(Some(1), Some("a"))]);
        bytes[0] = b'X';
        let error = decode_in_chunks(&bytes, 64).unwrap_err().to_string();
        assert!(error.contains("wrong signature"), "{error}");
        let mut three_fields = stream(&[(Some(1), Some("a"))]);
        three_fields[22..24].copy_from_slice(&3i16.to_be_bytes());
        let error = decode_in_chunks(&three_fields, 64).unwrap_err().to_string();
        assert!(error.contains("3 fields where the table has 2"), "{error}");
        let mut trailing = stream(&[]);
        trailing.push(0);
        assert!(decode_in_chunks(&trailing, 64).is_err());
    }

    fn numeric(weight: i16, negative: bool, scale: i16, digits: &[i16]) -> String {
        let mut bytes = Vec::new();
        for v in [
            digits.len() as i16,
            weight,
            if negative { 0x4000 } else { 0 },
            scale,
        ] {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        for d in digits {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        let mut out = String::new();
        numeric_text(&bytes, &mut out).unwrap();
        out
    }

    #[test]
    fn numerics_keep_their_scale() {
        assert_eq!(numeric(0, false, 3, &[123, 4560]), "123.456");
        assert_eq!(numeric(-1, false, 7, &[1]), "0.0001000");
        assert_eq!(numeric(1, true, 0, &[1, 0]), "-10000");
        assert_eq!(numeric(2, false, 2, &[1]), "100000000.00");
        assert_eq!(numeric(-3, false, 12, &[5000]), "0.000000005000");
        assert_eq!(numeric(-3, false, 12, &[5]), "0.000000000005");
        assert_eq!(numeric(0, false, 0, &[]), "0");
    }

    #[test]
    fn dates_count_from_2000_and_years_before_1_are_bc() {
        let text = |days: i32| {
            let mut out = String::new();
            date_text(days, &mut out);
            out
        };
        assert_eq!(text(0), "2000-01-01");
        assert_eq!(text(-1), "1999-12-31");
        assert_eq!(text(59), "2000-02-29");
        assert_eq!(text(-730_119), "0001-01-01");
        assert_eq!(text(-730_120), "0001-12-31 BC");
        assert_eq!(text(i32::MAX), "infinity");
    }

    #[test]
    fn array_elements_are_quoted_where_they_would_read_otherwise() {
        let mut out = String::new();
        for element in ["plain", "", "null", "a b", "q\"uote", "{x}", "back\\slash"] {
            quote_element(element, &mut out);
            out.push(',');
        }
        assert_eq!(
            out,
            r#"plain,"","null","a b","q\"uote","{x}","back\\slash","#
        );
    }
}
