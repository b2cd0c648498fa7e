//! Walking a `COPY ... (FORMAT binary)` stream as it passes: the 19-byte header and its extension,
//! then tuples (a 16-bit field count, each field a 32-bit length, -1 for NULL, and its bytes) up to
//! the trailer (a field count of -1). Counts the tuples of a binary table dump, whose rows cannot be
//! counted by newlines. And the types a backup stores in binary.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::error::{Error, Result};

/// How a column's binary values are read, by the base type's OID (built-in OIDs are fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `bool`.
    Bool,
    /// `int2`.
    Int2,
    /// `int4`.
    Int4,
    /// `int8`.
    Int8,
    /// `oid`.
    Oid,
    /// `float4`.
    Float4,
    /// `float8`.
    Float8,
    /// `numeric`.
    Numeric,
    /// Bytes that are their own text: `text`, `varchar`, `bpchar`, `name`, `json`, enum labels.
    Text,
    /// `"char"`: one byte.
    Char,
    /// `jsonb`: a version byte, then its text.
    Jsonb,
    /// `bytea`.
    Bytea,
    /// `uuid`.
    Uuid,
    /// `date`.
    Date,
    /// `time`.
    Time,
    /// `timetz`.
    TimeTz,
    /// `timestamp`.
    Timestamp,
    /// `timestamptz`.
    TimestampTz,
    /// `interval`.
    Interval,
    /// `inet` and `cidr`.
    Inet,
    /// `macaddr`.
    MacAddr,
    /// `macaddr8`.
    MacAddr8,
}

/// The built-in types a backup may store in binary (restores can read each back as text), by OID.
pub(crate) const KINDS: &[(u32, Kind)] = &[
    (16, Kind::Bool),
    (17, Kind::Bytea),
    (18, Kind::Char),
    (19, Kind::Text),
    (20, Kind::Int8),
    (21, Kind::Int2),
    (23, Kind::Int4),
    (25, Kind::Text),
    (26, Kind::Oid),
    (114, Kind::Text),
    (650, Kind::Inet),
    (700, Kind::Float4),
    (701, Kind::Float8),
    (774, Kind::MacAddr8),
    (829, Kind::MacAddr),
    (869, Kind::Inet),
    (1042, Kind::Text),
    (1043, Kind::Text),
    (1082, Kind::Date),
    (1083, Kind::Time),
    (1114, Kind::Timestamp),
    (1184, Kind::TimestampTz),
    (1186, Kind::Interval),
    (1266, Kind::TimeTz),
    (1700, Kind::Numeric),
    (2950, Kind::Uuid),
    (3802, Kind::Jsonb),
];

/// The kind of a built-in base type.
pub(crate) fn kind_of(oid: u32) -> Option<Kind> {
    KINDS.iter().find(|(o, _)| *o == oid).map(|(_, k)| *k)
}

/// The OIDs of [`KINDS`].
pub(crate) fn kind_oids() -> Vec<u32> {
    KINDS.iter().map(|(oid, _)| *oid).collect()
}

/// The signature a binary COPY stream starts with.
pub(crate) const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Where the walker is in the stream.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// The signature, flags and extension length (19 bytes).
    Header,
    /// Bytes to skip: the header extension, or a field's value (then `fields` more fields of the
    /// tuple).
    Skip { bytes: usize, fields: usize },
    /// A tuple's field count (2 bytes).
    FieldCount,
    /// A field's length (4 bytes), `fields` more fields of the tuple after this one.
    FieldLength { fields: usize },
    /// After the trailer: nothing may follow.
    Done,
}

/// An incremental reader of a binary COPY stream's structure.
#[derive(Debug)]
pub(crate) struct BinaryWalker {
    state: State,
    /// The bytes of a fixed-size item split across chunks (at most the header's 19).
    partial: [u8; 19],
    filled: usize,
    /// Tuples seen so far.
    pub(crate) tuples: u64,
}

impl Default for BinaryWalker {
    fn default() -> Self {
        Self {
            state: State::Header,
            partial: [0; 19],
            filled: 0,
            tuples: 0,
        }
    }
}

impl BinaryWalker {
    /// Reads the next `chunk` of the stream.
    pub(crate) fn feed(&mut self, mut chunk: &[u8]) -> std::result::Result<(), String> {
        while !chunk.is_empty() {
            if let State::Skip { bytes, fields } = self.state {
                let n = bytes.min(chunk.len());
                chunk = &chunk[n..];
                self.state = match (bytes - n, fields) {
                    (0, 0) => State::FieldCount,
                    (0, fields) => State::FieldLength { fields: fields - 1 },
                    (bytes, fields) => State::Skip { bytes, fields },
                };
                continue;
            }
            let need = match self.state {
                State::Header => 19,
                State::FieldCount => 2,
                State::FieldLength { .. } => 4,
                State::Done => return Err("bytes after the binary COPY trailer".into()),
                State::Skip { .. } => unreachable!("handled above"),
            };
            if self.filled == 0 && chunk.len() >= need {
                // The whole item is in this chunk (the usual case): no copy.
                let (item, rest) = chunk.split_at(need);
                chunk = rest;
                self.state = self.after(item)?;
                continue;
            }
            let take = (need - self.filled).min(chunk.len());
            self.partial[self.filled..self.filled + take].copy_from_slice(&chunk[..take]);
            self.filled += take;
            chunk = &chunk[take..];
            if self.filled == need {
                self.filled = 0;
                let item = self.partial;
                self.state = self.after(&item[..need])?;
            }
        }
        Ok(())
    }

    /// Whether the trailer was read.
    pub(crate) fn complete(&self) -> bool {
        self.state == State::Done
    }

    fn after(&mut self, item: &[u8]) -> std::result::Result<State, String> {
        let be32 = |b: &[u8]| i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        Ok(match self.state {
            State::Header => {
                if &item[..11] != SIGNATURE {
                    return Err("not a binary COPY stream (wrong signature)".into());
                }
                match usize::try_from(be32(&item[15..19])) {
                    Ok(0) => State::FieldCount,
                    Ok(bytes) => State::Skip { bytes, fields: 0 },
                    Err(_) => return Err("negative header extension length".into()),
                }
            }
            State::FieldCount => match i16::from_be_bytes([item[0], item[1]]) {
                -1 => State::Done,
                0 => {
                    self.tuples += 1;
                    State::FieldCount
                }
                n if n > 0 => {
                    self.tuples += 1;
                    State::FieldLength {
                        fields: n as usize - 1,
                    }
                }
                n => return Err(format!("invalid field count {n}")),
            },
            State::FieldLength { fields } => match be32(item) {
                -1 | 0 if fields == 0 => State::FieldCount,
                -1 | 0 => State::FieldLength { fields: fields - 1 },
                n if n > 0 => State::Skip {
                    bytes: n as usize,
                    fields,
                },
                n => return Err(format!("invalid field length {n}")),
            },
            State::Skip { .. } | State::Done => unreachable!("no fixed-size item here"),
        })
    }
}

/// The number of tuples of a binary COPY stream, counted as it passes (see [`TupleCount::count`]).
#[derive(Debug, Default, Clone)]
pub(crate) struct TupleCount(Arc<Mutex<BinaryWalker>>);

impl TupleCount {
    /// `rows` unchanged, counting its tuples; a stream that is not binary COPY, or ends before its
    /// trailer, fails, naming `table`.
    pub(crate) fn count(
        &self,
        rows: BoxStream<'static, Result<Bytes>>,
        table: String,
    ) -> BoxStream<'static, Result<Bytes>> {
        let walker = self.0.clone();
        let at_end = self.0.clone();
        let invalid = move |table: &str, reason: String| Error::Integrity {
            key: table.to_string(),
            reason: format!("the binary COPY stream of {table}: {reason}"),
        };
        let name = table.clone();
        let counted = rows.map(move |chunk| {
            let chunk = chunk?;
            lock(&walker)
                .feed(&chunk)
                .map_err(|reason| invalid(&name, reason))?;
            Ok(chunk)
        });
        let trailer = futures::stream::once(async move {
            if lock(&at_end).complete() {
                Ok(Bytes::new())
            } else {
                Err(invalid(&table, "it ends before its trailer".into()))
            }
        });
        Box::pin(counted.chain(trailer))
    }

    /// The tuples counted so far.
    pub(crate) fn get(&self) -> u64 {
        lock(&self.0).tuples
    }
}

fn lock(walker: &Mutex<BinaryWalker>) -> std::sync::MutexGuard<'_, BinaryWalker> {
    walker
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary COPY stream of `tuples` (each a list of fields, `None` for NULL), with a header
    /// extension of `extension` bytes.
    fn stream(tuples: &[Vec<Option<&[u8]>>], extension: usize) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&(extension as i32).to_be_bytes());
        out.extend(std::iter::repeat_n(7u8, extension));
        for tuple in tuples {
            out.extend_from_slice(&(tuple.len() as i16).to_be_bytes());
            for field in tuple {
                match field {
                    Some(bytes) => {
                        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                        out.extend_from_slice(bytes);
                    }
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    #[test]
    fn counts_tuples_across_every_chunk_boundary() {
        let tuples = vec![
            vec![
                Some(&b"\x00\x00\x00\x2a"[..]),
                None,
                Some(&b"hello\nworld"[..]),
            ],
            vec![Some(&b""[..]), Some(&b"\xff\xff"[..]), None],
            vec![],
            vec![Some(&[0u8; 300][..]), None, None],
        ];
        let bytes = stream(&tuples, 5);
        for size in [1, 2, 3, 5, 7, 19, 64, bytes.len()] {
            let mut walker = BinaryWalker::default();
            for chunk in bytes.chunks(size) {
                walker.feed(chunk).unwrap();
            }
            assert_eq!(walker.tuples, 4, "chunks of {size}");
            assert!(walker.complete(), "chunks of {size}");
        }
    }

    #[test]
    fn refuses_what_is_not_binary_copy() {
        let mut walker = BinaryWalker::default();
        let error = walker.feed(b"1\tone\n2\ttwo\n3\tthree\n").unwrap_err();
        assert!(error.contains("signature"), "{error}");
        let mut bytes = stream(&[vec![None]], 0);
        bytes.push(0);
        let mut walker = BinaryWalker::default();
        assert!(walker.feed(&bytes).unwrap_err().contains("after"));
        let truncated = &stream(&[vec![Some(&b"abc"[..])]], 0)[..25];
        let mut walker = BinaryWalker::default();
        walker.feed(truncated).unwrap();
        assert!(!walker.complete());
    }
}
