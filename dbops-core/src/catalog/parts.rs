//! What a `tables` backup stores per table: the object of its rows and their COPY format.

use serde::{Deserialize, Serialize};

use super::StoredObject;
use crate::config::quote_ident;
use crate::error::{Error, Result};

/// How a `tables` backup stores each table's rows.
///
/// Binary is used for a table only when every column is of a type a restore can read back as text
/// (`copy_binary::KINDS`: the common built-in types, plus enums, domains over them and arrays of the
/// built-ins); other tables stay text. A restore loads binary rows as they are into the same
/// PostgreSQL major version, and decodes them to text for another major version or for masking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyFormat {
    /// COPY text: what a manifest without a format means (backups before binary rows existed).
    #[default]
    Text,
    /// COPY binary where the column types allow it: the server neither prints nor parses values, so
    /// tables load faster. What backups use by default.
    Binary,
}

impl CopyFormat {
    fn is_text(&self) -> bool {
        *self == CopyFormat::Text
    }

    /// The `COPY` option naming it (empty for text).
    pub(crate) fn copy_option(&self) -> &'static str {
        match self {
            CopyFormat::Text => "",
            CopyFormat::Binary => "FORMAT binary",
        }
    }
}

impl std::str::FromStr for CopyFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "text" => Ok(Self::Text),
            "binary" => Ok(Self::Binary),
            other => Err(Error::config(
                "copy format",
                format!("`{other}` is not a COPY format; use text or binary"),
            )),
        }
    }
}

/// One table's rows in a `tables` backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableObject {
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub name: String,
    /// Its columns in COPY order (every column but generated ones, by position).
    pub columns: Vec<String>,
    /// Rows dumped.
    pub rows: u64,
    /// The object holding them (COPY text or binary, compressed and encrypted like the rest).
    pub object: StoredObject,
    /// The COPY format of the object (absent in manifests: text).
    #[serde(default, skip_serializing_if = "CopyFormat::is_text")]
    pub format: CopyFormat,
}

impl TableObject {
    /// `schema.name`, as row counts are keyed.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The quoted name for SQL.
    pub fn sql_name(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}
