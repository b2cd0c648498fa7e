//! The masking and subset steps of a `tables` restore: the rules are checked against the target's
//! schema right after its pre-data section (before any row), each table's rows pass through its
//! masker on their way into COPY, and the subset is cut before the constraints are created.

use std::io::Write;

use crate::backup::{Manifest, TableObject};
use crate::error::Result;

/// What masking and subsetting did, for the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[non_exhaustive]
pub struct MaskingSummary {
    /// Tables whose rows were masked.
    pub masked_tables: usize,
    /// Columns masked.
    pub masked_columns: usize,
    /// What the rules check noticed without refusing.
    pub notes: Vec<String>,
    /// Rows the subset removed per table (see [`Self::subset`]).
    #[cfg(feature = "mask")]
    subset: Option<crate::mask::SubsetReport>,
}

#[cfg(feature = "mask")]
#[cfg_attr(docsrs, doc(cfg(feature = "mask")))]
impl MaskingSummary {
    /// Rows the subset removed per table, when the restore was a subset.
    pub fn subset(&self) -> Option<&crate::mask::SubsetReport> {
        self.subset.as_ref()
    }
}

/// The masking of one restore (nothing without the `mask` feature or without rules).
#[derive(Default)]
pub(super) struct RestoreMasking {
    /// Binary parts whose rows are decoded to COPY text on the way (for their maskers), by table.
    as_text: std::collections::BTreeMap<String, Vec<super::binary_text::Column>>,
    #[cfg(feature = "mask")]
    plan: Option<crate::mask::MaskPlan>,
    #[cfg(feature = "mask")]
    shape: Option<crate::mask::DatabaseShape>,
}

impl RestoreMasking {
    /// Whether the options ask for masking or a subset.
    pub(super) fn wanted(options: &super::RestoreOptions) -> bool {
        #[cfg(feature = "mask")]
        {
            options.mask.is_some() || !options.subset.is_empty()
        }
        #[cfg(not(feature = "mask"))]
        {
            let _ = options;
            false
        }
    }

    /// Whether the options ask for a subset (rows are removed after every table is loaded).
    pub(super) fn subset_wanted(options: &super::RestoreOptions) -> bool {
        #[cfg(feature = "mask")]
        {
            !options.subset.is_empty()
        }
        #[cfg(not(feature = "mask"))]
        {
            let _ = options;
            false
        }
    }

    /// Checks the rules against the target (its tables created, no rows yet) and builds the maskers;
    /// picks the binary parts to decode to text: all of them when the target runs another major
    /// version than the backup's server (binary forms are only guaranteed within one), else those of
    /// masked tables.
    #[cfg_attr(not(feature = "mask"), allow(unused_variables))]
    pub(super) async fn prepare(
        client: &tokio_postgres::Client,
        options: &super::RestoreOptions,
        manifest: &Manifest,
        data_sql: &str,
        post_data: &str,
        target: &str,
    ) -> Result<Self> {
        let mut as_text = std::collections::BTreeMap::new();
        if other_major_version(client, manifest).await? {
            decode_as_text(client, manifest.binary_parts(), &mut as_text).await?;
        }
        #[cfg(feature = "mask")]
        {
            if !Self::wanted(options) {
                return Ok(Self {
                    as_text,
                    ..Self::default()
                });
            }
            if options.mask.is_some() && data_sql.contains("lowrite(") {
                return Err(crate::Error::Refused {
                    action: format!("masked restore into `{target}`"),
                    reason: "the backup holds large objects, which masking rules cannot reach; \
                             take a masked backup (dbops backup --mask, which leaves them out) \
                             and restore that"
                        .into(),
                });
            }
            let shape = crate::mask::DatabaseShape::read_with_post_data(client, post_data).await?;
            let action = format!("masked restore into `{target}`");
            if options.mask.is_some()
                && let Some(tables) = copied_tables(data_sql)
            {
                return Err(crate::Error::Refused {
                    action,
                    reason: format!(
                        "the backup's schema archive holds rows of {tables} (tables of an \
                         extension, dumped with the schema), which masking rules cannot reach; \
                         nothing was written"
                    ),
                });
            }
            let streams: std::collections::BTreeMap<String, Vec<String>> = manifest
                .parts
                .iter()
                .map(|p| (p.qualified(), p.columns.clone()))
                .collect();
            let plan = match &options.mask {
                Some(masking) => Some(masking.plan(client, &shape, &streams, &action).await?),
                None => None,
            };
            // Masking reads values: binary rows of masked tables are decoded to text first.
            let masked = manifest.binary_parts().filter(|p| {
                plan.as_ref()
                    .is_some_and(|m| m.masker(&p.qualified()).is_some())
            });
            decode_as_text(client, masked, &mut as_text).await?;
            Ok(Self {
                as_text,
                plan,
                shape: Some(shape),
            })
        }
        #[cfg(not(feature = "mask"))]
        Ok(Self { as_text })
    }

    /// The writer a table's decoded rows go to: `feed`, behind the table's masker when it has one,
    /// behind a binary-to-text decoder when its binary rows are loaded as text.
    pub(super) fn feed<W: Write + Send + 'static>(
        &self,
        part: &TableObject,
        feed: W,
    ) -> Box<dyn Write + Send> {
        let rows = self.masked(part, feed);
        match self.as_text.get(&part.qualified()) {
            Some(columns) => Box::new(super::binary_text::BinaryToText::new(columns.clone(), rows)),
            None => rows,
        }
    }

    fn masked<W: Write + Send + 'static>(
        &self,
        part: &TableObject,
        feed: W,
    ) -> Box<dyn Write + Send> {
        #[cfg(feature = "mask")]
        if let Some(masker) = self.plan.as_ref().and_then(|p| p.masker(&part.qualified())) {
            return Box::new(crate::mask::MaskingWriter::new(masker, feed));
        }
        let _ = part;
        Box::new(feed)
    }

    /// The tables whose binary rows are loaded as text (`schema.name`).
    pub(super) fn decoded_as_text(&self) -> Vec<String> {
        self.as_text.keys().cloned().collect()
    }

    /// The COPY format a table's rows are loaded in: text where binary rows are decoded.
    pub(super) fn load_format(&self, part: &TableObject) -> crate::backup::CopyFormat {
        if self.as_text.contains_key(&part.qualified()) {
            crate::backup::CopyFormat::Text
        } else {
            part.format
        }
    }

    /// Cuts the subset (when asked for) on the loaded rows, before constraints exist.
    #[cfg_attr(not(feature = "mask"), allow(unused_variables))]
    pub(super) async fn cut_subset(
        &self,
        client: &tokio_postgres::Client,
        options: &super::RestoreOptions,
    ) -> Result<MaskingSummary> {
        #[allow(unused_mut)]
        let mut summary = MaskingSummary::default();
        #[cfg(feature = "mask")]
        {
            if let Some(plan) = &self.plan {
                summary.masked_tables = plan.maskers.len();
                summary.masked_columns = plan.maskers.values().map(|m| m.columns.len()).sum();
                summary.notes = plan.notes.clone();
            }
            if let (Some(shape), false) = (&self.shape, options.subset.is_empty()) {
                summary.subset =
                    Some(crate::mask::apply_subset(client, shape, &options.subset).await?);
            }
        }
        Ok(summary)
    }
}

/// Adds `parts` to the tables whose binary rows are decoded to text, with their columns as the
/// target's catalog types them (a table already there is read once).
async fn decode_as_text(
    client: &tokio_postgres::Client,
    parts: impl Iterator<Item = &TableObject>,
    as_text: &mut std::collections::BTreeMap<String, Vec<super::binary_text::Column>>,
) -> Result<()> {
    for part in parts {
        if let std::collections::btree_map::Entry::Vacant(entry) = as_text.entry(part.qualified()) {
            entry.insert(
                super::binary_text::columns_of(client, &part.sql_name(), &part.columns).await?,
            );
        }
    }
    Ok(())
}

/// Whether the backup has binary rows and the server of `client` runs another major version than the
/// backup's.
async fn other_major_version(client: &tokio_postgres::Client, manifest: &Manifest) -> Result<bool> {
    if manifest.binary_parts().next().is_none() {
        return Ok(false);
    }
    let target: String = client
        .query_one("SHOW server_version_num", &[])
        .await
        .map_err(|e| crate::Error::postgres("reading the target's server version", e))?
        .get(0);
    let target_major = target.parse::<u32>().map_or(0, |n| n / 10_000);
    Ok(Some(target_major) != super::tools::major_of_version_text(&manifest.server_version))
}

/// The tables whose rows a rendered data section copies (`COPY t (...) FROM stdin;`), if any.
#[cfg(feature = "mask")]
fn copied_tables(data_sql: &str) -> Option<String> {
    let tables: Vec<&str> = data_sql
        .lines()
        .filter_map(|line| line.strip_prefix("COPY "))
        .filter_map(|rest| rest.split([' ', '(']).next())
        .collect();
    (!tables.is_empty()).then(|| tables.join(", "))
}

/// Checks `options.mask`'s rules against the schema of the backup `entry` without restoring its rows:
/// the schema goes into a scratch database on the server of `url` (dropped again afterwards).
#[cfg(feature = "mask")]
pub(super) async fn check_backup(
    url: &crate::config::DatabaseUrl,
    store: &dyn crate::storage::BackupStore,
    entry: &crate::backup::BackupEntry,
    options: &super::RestoreOptions,
) -> Result<crate::mask::MaskCheck> {
    use crate::error::Error;
    let masking = options
        .mask
        .as_ref()
        .ok_or_else(|| Error::config("mask check", "which rules? set RestoreOptions::mask"))?;
    let manifest = entry
        .manifest
        .as_ref()
        .filter(|m| m.format == crate::backup::DumpFormat::Tables)
        .ok_or_else(|| Error::Refused {
            action: format!("check masking rules against `{}`", entry.key),
            reason: "only backups in the `tables` format (the default) can be masked".into(),
        })?;
    let scratch = super::staging::staging_name();
    super::staging::create_database(url, &scratch, "a masking rules check").await?;
    let checked = async {
        let schema_options = super::RestoreOptions {
            decryption: options.decryption.clone(),
            no_owner: true,
            no_acl: true,
            ..Default::default()
        };
        let major = super::target_server_major(url).await?;
        let schema =
            super::tables::PreparedSchema::prepare(store, entry, &schema_options, major).await?;
        let sql = schema.sql();
        let client = url.with_database(&scratch).connect_for_work().await?;
        client
            .batch_execute(&sql.pre_data)
            .await
            .map_err(|e| Error::postgres("creating the backup's schema to check the rules", e))?;
        let shape =
            crate::mask::DatabaseShape::read_with_post_data(&client, &sql.post_data).await?;
        let tables: std::collections::BTreeSet<String> =
            manifest.parts.iter().map(TableObject::qualified).collect();
        Ok::<_, Error>(masking.check(&shape, Some(&tables)))
    }
    .await;
    if let Err(error) = super::staging::drop_database(url, &scratch).await {
        tracing::warn!(%error, database = %scratch, "could not drop the scratch database of a rules check");
    }
    checked
}
