//! The `tables` dump format: the schema (and everything but table data) as one small `pg_dump -Fc`
//! archive, and every table's rows as its own object of COPY text (or, when asked for, COPY binary),
//! dumped on `jobs` connections that share one exported snapshot. Restores load the tables in
//! parallel straight from the store.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;

use super::encode::{Encoded, Encoding, Reporting, encode_stream};
use crate::catalog::{CopyFormat, TableObject};
use crate::config::{DatabaseUrl, quote_ident};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::storage::BackupStore;

/// A table to dump, as listed in the snapshot.
#[derive(Debug, Clone)]
pub(crate) struct TableToDump {
    pub schema: String,
    pub name: String,
    pub columns: Vec<String>,
    /// Whether every column's type is one a restore can read back from binary as text: a type of
    /// `copy_binary::KINDS`, an enum, a domain over one of them, or an array of one of the built-ins.
    pub binary_ok: bool,
}

impl TableToDump {
    /// A `pg_dump` pattern matching exactly this table (for `--exclude-table-data`).
    pub(crate) fn exact_pattern(&self) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        format!("{}.{}", quote(&self.schema), quote(&self.name))
    }
}

/// The user tables whose rows a `tables` backup dumps, largest first (extension members are left to
/// `pg_dump`, which dumps the configuration tables among them).
pub(crate) async fn list_tables(client: &tokio_postgres::Client) -> Result<Vec<TableToDump>> {
    let rows = client
        .query(
            "SELECT n.nspname, c.relname, \
                    coalesce(array_agg(a.attname::text ORDER BY a.attnum) \
                             FILTER (WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''), \
                             '{}'), \
                    coalesce(bool_and(coalesce(b.typtype = 'e' OR b.oid = ANY($1) \
                                               OR (e.typarray = b.oid AND e.oid = ANY($1)), false)) \
                             FILTER (WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''), \
                             true) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid \
             LEFT JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
             LEFT JOIN pg_type e ON e.oid = b.typelem \
             WHERE c.relkind = 'r' AND c.relpersistence <> 't' \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                               AND d.objid = c.oid AND d.deptype = 'e') \
             GROUP BY c.oid, n.nspname, c.relname \
             ORDER BY max(c.relpages) DESC, 1, 2",
            &[&super::copy_binary::kind_oids()],
        )
        .await
        .map_err(|e| Error::postgres("listing the tables to dump", e))?;
    Ok(rows
        .iter()
        .map(|row| TableToDump {
            schema: row.get(0),
            name: row.get(1),
            columns: row.get(2),
            binary_ok: row.get(3),
        })
        .collect())
}

/// Locks `tables` against DDL for the rest of the exporting transaction (what `pg_dump` does), so the
/// definitions dumped and the rows copied belong together.
pub(crate) async fn lock_tables(
    client: &tokio_postgres::Client,
    tables: &[TableToDump],
) -> Result<()> {
    for chunk in tables.chunks(500) {
        let names: Vec<String> = chunk
            .iter()
            .map(|t| format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.name)))
            .collect();
        client
            .batch_execute(&format!(
                "LOCK TABLE {} IN ACCESS SHARE MODE",
                names.join(", ")
            ))
            .await
            .map_err(|e| {
                Error::postgres(
                    "locking the tables to dump (another session holds a conflicting lock: nothing \
                     was published; run the backup again once it is released, or wait longer with \
                     a larger lock wait timeout)",
                    e,
                )
            })?;
    }
    Ok(())
}

/// What the table workers share.
pub(crate) struct TableDump<'a> {
    pub url: &'a DatabaseUrl,
    pub snapshot: &'a str,
    pub store: &'a dyn BackupStore,
    pub encoding: &'a Encoding,
    pub key_of: &'a (dyn Fn(usize) -> String + Sync),
    pub lock_timeout: Option<std::time::Duration>,
    pub progress: Option<&'a Progress>,
    /// The format asked for (binary only where every column allows it).
    pub format: CopyFormat,
    /// Each table's masker, for a masked backup.
    #[cfg(feature = "mask")]
    pub masking: Option<&'a crate::mask::MaskPlan>,
}

/// Dumps every table on `jobs` connections (each takes the next table, largest first). Every
/// object is finished on success; on error the backup removes the ones already stored (their keys
/// come from `key_of`, which records them).
pub(crate) async fn dump_tables(
    dump: &TableDump<'_>,
    tables: Vec<TableToDump>,
    jobs: usize,
) -> Result<Vec<TableObject>> {
    let queue = Arc::new(std::sync::Mutex::new(
        tables.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let workers = (0..jobs.max(1)).map(|_| worker(dump, queue.clone()));
    let results = futures::future::join_all(workers).await;
    let mut done = Vec::new();
    let mut failure = None;
    for result in results {
        match result {
            Ok(objects) => done.extend(objects),
            Err(error) => failure = failure.or(Some(error)),
        }
    }
    if let Some(error) = failure {
        return Err(error);
    }
    done.sort_by_key(|(index, _)| *index);
    Ok(done.into_iter().map(|(_, table)| table).collect())
}

type Queue = Arc<std::sync::Mutex<Vec<(usize, TableToDump)>>>;

/// One connection in the dump's snapshot, dumping tables from the queue until it is empty.
async fn worker(dump: &TableDump<'_>, queue: Queue) -> Result<Vec<(usize, TableObject)>> {
    let client = dump.url.connect_for_work().await?;
    let mut setup = format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}; \
         SET row_security = off; SET datestyle = ISO; \
         SELECT pg_catalog.set_config('search_path', '', false);",
        crate::config::quote_literal(dump.snapshot)
    );
    if let Some(timeout) = dump.lock_timeout {
        setup.push_str(&format!(" SET lock_timeout = '{}ms';", timeout.as_millis()));
    }
    client
        .batch_execute(&setup)
        .await
        .map_err(|e| Error::postgres("joining the dump's snapshot", e))?;
    let mut done = Vec::new();
    loop {
        // Largest first: the list is sorted by size, so take from the front.
        let next = {
            let mut queue = queue.lock().map_err(|_| Error::Cancelled {
                action: "dumping tables (a worker panicked)".into(),
            })?;
            (!queue.is_empty()).then(|| queue.remove(0))
        };
        let Some((index, table)) = next else { break };
        let object = dump_table(dump, &client, &table, &(dump.key_of)(index)).await?;
        done.push((index, object));
    }
    client.batch_execute("COMMIT").await.ok();
    Ok(done)
}

/// `COPY table TO STDOUT` through the encoding stage into `key`.
async fn dump_table(
    dump: &TableDump<'_>,
    client: &tokio_postgres::Client,
    table: &TableToDump,
    key: &str,
) -> Result<TableObject> {
    let qualified = format!(
        "{}.{}",
        quote_ident(&table.schema),
        quote_ident(&table.name)
    );
    let what = format!("copying the rows of {}.{}", table.schema, table.name);
    #[cfg(feature = "mask")]
    let masker = dump
        .masking
        .and_then(|plan| plan.masker(&format!("{}.{}", table.schema, table.name)));
    #[cfg(not(feature = "mask"))]
    let masker: Option<()> = None;
    // Masking reads and writes COPY text.
    let format = if dump.format == CopyFormat::Binary && table.binary_ok && masker.is_none() {
        CopyFormat::Binary
    } else {
        CopyFormat::Text
    };
    let options = match format {
        CopyFormat::Text => String::new(),
        binary => format!(" ({})", binary.copy_option()),
    };
    let stream = client
        .copy_out(&format!("COPY {qualified} TO STDOUT{options}"))
        .await
        .map_err(|e| Error::postgres(what.clone(), e))?;
    let rows: futures::stream::BoxStream<'static, Result<Bytes>> =
        Box::pin(stream.map(move |chunk: std::result::Result<Bytes, _>| {
            chunk.map_err(|e| Error::postgres(what.clone(), e))
        }));
    #[cfg(feature = "mask")]
    let rows = match masker {
        Some(masker) => crate::mask::mask_stream(masker, rows),
        None => rows,
    };

    let source: futures::stream::BoxStream<'static, Result<Bytes>> =
        Box::pin(super::encode::coalesce(rows));
    let tuples = super::copy_binary::TupleCount::default();
    let source = match format {
        CopyFormat::Binary => tuples.count(source, format!("{}.{}", table.schema, table.name)),
        CopyFormat::Text => source,
    };
    let reporting = Reporting {
        progress: dump.progress,
        stage: "dumping",
        estimate: None,
    };
    let Encoded {
        upload,
        object,
        newlines,
    } = encode_stream(dump.store, key, dump.encoding, source, reporting).await?;
    if let Err(error) = crate::failpoint::failpoint("backup::before_upload_finish") {
        upload.abort().await.ok();
        return Err(error);
    }
    upload.finish().await?;
    Ok(TableObject {
        schema: table.schema.clone(),
        name: table.name.clone(),
        columns: table.columns.clone(),
        rows: match format {
            CopyFormat::Binary => tuples.get(),
            CopyFormat::Text => newlines,
        },
        object,
        format,
    })
}
