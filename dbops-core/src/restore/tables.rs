//! Restoring the `tables` format: the schema archive is verified into a private file and turned
//! into SQL by `pg_restore -f -` (no server access), then either
//! * in parallel (a new database, or `jobs > 1`): the pre-data SQL, then on `jobs` connections every
//!   table's rows streamed from the store into `COPY ... FROM STDIN`, each table's own indexes and
//!   constraints built as soon as its rows are in (while other tables still load) and the table
//!   analyzed, each foreign key between loaded tables added once both are complete (see
//!   [`super::pipeline`]), then the data SQL (sequence values, large objects) and the rest of the
//!   post-data section (triggers, partitioned indexes, ...: see [`super::post_data_rest`]) — not one
//!   transaction: a new database is built under a staging name and renamed into place; or
//! * in one transaction on one connection (into an existing database), all or nothing.
//!
//! Every table's stored bytes, decoded bytes and row count are checked against the manifest.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use futures::SinkExt;

use super::autovacuum::AutovacuumPaused;
use super::masking::{MaskingSummary, RestoreMasking};
use super::pipeline::Pipeline;
use super::post_data::PostDataSplit;
use super::post_data_rest::PostDataRest;
use super::stream::{self, Source};
use super::tools::RestoreTools;
use super::{RestoreOptions, restore_args};
use crate::backup::{BackupEntry, Manifest, TableObject};
use crate::config::DatabaseUrl;
use crate::error::{Error, Result};
use crate::storage::BackupStore;

/// What restoring a `tables` backup did.
pub(crate) struct TablesRestored {
    pub stored_bytes: u64,
    pub plaintext_bytes: u64,
    pub tables_checked: usize,
    /// Seconds per stage, in order.
    pub stages: Vec<(String, f64)>,
    /// What masking and subsetting did, when asked for.
    pub masking: Option<MaskingSummary>,
    /// Tables already analyzed (`schema.name`), as they were completed.
    pub analyzed: Vec<String>,
    /// Tables whose binary rows were loaded as text (`schema.name`).
    pub decoded_as_text: Vec<String>,
    /// Whether the backup's planner statistics were restored (no ANALYZE needed).
    pub statistics_restored: bool,
}

/// Session settings of the loading and index-building connections: no waiting for WAL flushes,
/// in-memory index sorts.
pub(super) const LOAD_SETTINGS: &str =
    "SET synchronous_commit = off; SET maintenance_work_mem = '256MB'; SET work_mem = '64MB';";

/// A `tables` backup's schema archive, verified into a private spool directory (removed when this
/// is dropped) and rendered to SQL: all a restore needs before it touches the server.
pub(crate) struct PreparedSchema {
    spool: tempfile::TempDir,
    tools: RestoreTools,
    decoded: stream::Decoded,
    sql: SchemaSql,
    seconds: f64,
}

/// The verified schema archive on local disk, and the programs that read it and load it.
pub(super) struct SchemaArchive {
    pub(super) path: std::path::PathBuf,
    pub(super) tools: RestoreTools,
}

impl PreparedSchema {
    /// Fetches and renders the schema archive of the `tables` backup `entry`, for a target server
    /// of `target_major`.
    pub(crate) async fn prepare(
        store: &dyn BackupStore,
        entry: &BackupEntry,
        options: &RestoreOptions,
        target_major: u32,
    ) -> Result<Self> {
        let started = Instant::now();
        let spool = crate::cluster::owned_temp_dir(super::SPOOL_PREFIX)
            .map_err(|e| Error::io("creating a spool directory", std::env::temp_dir(), e))?;
        let archive = SchemaArchive {
            path: archive_in(spool.path()),
            tools: RestoreTools::for_backup_async(entry, Some(target_major)).await?,
        };
        let decoded = fetch_schema(store, entry, options, &archive.path).await?;
        let sql = SchemaSql::render(&archive, options).await?;
        Ok(Self {
            spool,
            tools: archive.tools,
            decoded,
            sql,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The schema rendered to SQL.
    #[cfg_attr(not(feature = "mask"), allow(dead_code))] // used by masking only
    pub(super) fn sql(&self) -> &SchemaSql {
        &self.sql
    }

    /// The verified schema archive.
    fn archive(&self) -> SchemaArchive {
        SchemaArchive {
            path: archive_in(self.spool.path()),
            tools: self.tools.clone(),
        }
    }
}

/// Where a spool directory holds the schema archive.
fn archive_in(spool: &Path) -> std::path::PathBuf {
    spool.join("schema.dump")
}

/// Restores the `tables` backup `entry` into `target`, on `jobs` connections (1: one transaction),
/// from its `schema` (prepared here when not given). `staging`: `target` is a database this restore
/// created, dropped if it fails.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn restore(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    manifest: &Manifest,
    target: &DatabaseUrl,
    options: &RestoreOptions,
    jobs: usize,
    staging: bool,
    schema: Option<PreparedSchema>,
) -> Result<TablesRestored> {
    let schema = match schema {
        Some(schema) => schema,
        None => {
            let major = crate::cluster::server_major(&target.connect_for_work().await?).await?;
            PreparedSchema::prepare(store, entry, options, major).await?
        }
    };
    let mut stages = vec![("schema".to_string(), schema.seconds)];
    let (sql, archive) = (&schema.sql, schema.archive());
    let loaded = if jobs > 1 {
        restore_parallel(
            store,
            manifest,
            target,
            options,
            sql,
            &archive,
            jobs,
            staging,
            &mut stages,
        )
        .await?
    } else {
        restore_in_one_transaction(store, manifest, target, options, sql, &mut stages).await?
    };
    Ok(TablesRestored {
        stored_bytes: schema.decoded.stored_bytes + loaded.stored_bytes,
        plaintext_bytes: schema.decoded.plaintext_bytes + loaded.plaintext_bytes,
        tables_checked: manifest.parts.len(),
        stages,
        masking: loaded.masking,
        analyzed: loaded.analyzed,
        decoded_as_text: loaded.decoded_as_text,
        statistics_restored: schema.tools.keeps_statistics(),
    })
}

/// The schema archive, verified, into a private file.
async fn fetch_schema(
    store: &dyn BackupStore,
    entry: &BackupEntry,
    options: &RestoreOptions,
    path: &Path,
) -> Result<stream::Decoded> {
    let (decoded, _) = stream::decode_into_private_file(
        store,
        entry,
        &options.decryption,
        None,
        path,
        "the schema archive",
    )
    .await?;
    Ok(decoded)
}

/// The schema archive's sections as SQL, rendered by `pg_restore -f -` without a server, and the
/// post-data section's table of contents.
pub(super) struct SchemaSql {
    pub(super) pre_data: String,
    pub(super) data: String,
    pub(super) post_data: String,
    /// `pg_restore -l --section=post-data`, in the form `-L` reads back.
    pub(super) post_data_list: String,
}

impl SchemaSql {
    /// Runs the `pg_restore` renderings side by side (each reads the archive only).
    pub(super) async fn render(archive: &SchemaArchive, options: &RestoreOptions) -> Result<Self> {
        let drops = async {
            if !options.clean {
                return Ok(None);
            }
            let script = section_sql(archive, None, options, true).await?;
            Ok::<_, Error>(Some(drops_only(&script)))
        };
        let (drops, pre_data, data, post_data, post_data_list) = futures::try_join!(
            drops,
            section_sql(archive, Some("pre-data"), options, false),
            section_sql(archive, Some("data"), options, false),
            section_sql(archive, Some("post-data"), options, false),
            post_data_list(archive, options),
        )?;
        let pre_data = match drops {
            Some(drops) => format!("{drops}\n{pre_data}"),
            None => pre_data,
        };
        Ok(Self {
            pre_data,
            data,
            post_data,
            post_data_list,
        })
    }
}

/// The leading part of a `--clean` script: its settings and the drops of every object (constraints
/// and indexes first, in the dependency order `pg_restore` chose), up to the first statement that
/// creates something.
fn drops_only(script: &str) -> String {
    let mut kept = Vec::new();
    for line in script.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        let drop = trimmed.starts_with("DROP ")
            || (trimmed.starts_with("ALTER ") && trimmed.contains(" DROP "))
            || trimmed.starts_with("SET ")
            || trimmed.starts_with("SELECT pg_catalog.set_config(");
        if !drop {
            break;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// One section of the archive (or all of it) as SQL.
async fn section_sql(
    archive: &SchemaArchive,
    section: Option<&str>,
    options: &RestoreOptions,
    with_clean: bool,
) -> Result<String> {
    let name = section.unwrap_or("whole");
    let mut args = vec!["--file".to_string(), "-".to_string()];
    args.extend(section.map(|s| format!("--section={s}")));
    let script = pg_restore_output(archive, &args, options, with_clean, name).await?;
    Ok(super::compat::session_script(&script))
}

/// The post-data section's table of contents (`pg_restore -l`), in the form `-L` reads back.
async fn post_data_list(archive: &SchemaArchive, options: &RestoreOptions) -> Result<String> {
    let args = ["--list".to_string(), "--section=post-data".to_string()];
    pg_restore_output(archive, &args, options, false, "post-data").await
}

/// What `pg_restore ARGS ARCHIVE` prints, reading the archive only (no server).
pub(super) async fn pg_restore_output(
    archive: &SchemaArchive,
    extra: &[String],
    options: &RestoreOptions,
    with_clean: bool,
    name: &str,
) -> Result<String> {
    crate::failpoint::failpoint("restore::before_pg_restore_start")?;
    let program = archive.tools.reader()?;
    let args: Vec<&str> = restore_args(options, &archive.tools)
        .into_iter()
        .filter(|a| with_clean || (*a != "--clean" && *a != "--if-exists"))
        .filter(|a| *a != "--no-password" && *a != "--exit-on-error")
        .collect();
    let mut command = tokio::process::Command::new(&program);
    command.args(args).args(extra).arg(&archive.path);
    let action = format!("rendering the {name} section of the schema archive");
    let stdout = crate::cluster::output_of(command, &program, &action).await?;
    String::from_utf8(stdout).map_err(|e| Error::Integrity {
        key: archive.path.display().to_string(),
        reason: format!("the {name} section is not UTF-8 ({e})"),
    })
}

/// Bytes streamed for the tables.
#[derive(Default)]
pub(super) struct Loaded {
    pub(super) stored_bytes: u64,
    pub(super) plaintext_bytes: u64,
    pub(super) masking: Option<MaskingSummary>,
    pub(super) analyzed: Vec<String>,
    pub(super) decoded_as_text: Vec<String>,
}

/// Everything on one connection in one transaction: all or nothing.
async fn restore_in_one_transaction(
    store: &dyn BackupStore,
    manifest: &Manifest,
    target: &DatabaseUrl,
    options: &RestoreOptions,
    sql: &SchemaSql,
    stages: &mut Vec<(String, f64)>,
) -> Result<Loaded> {
    let client = target.connect_for_work().await?;
    let started = Instant::now();
    let execute = |script: &str, what: &'static str| {
        let client = &client;
        let script = script.to_string();
        async move {
            client
                .batch_execute(&script)
                .await
                .map_err(|e| Error::postgres(what, e))
        }
    };
    execute("BEGIN", "starting the restore transaction").await?;
    execute(
        LOAD_SETTINGS.replace("SET ", "SET LOCAL ").as_str(),
        "setting up the restore",
    )
    .await?;
    execute(&sql.pre_data, "creating the schema (pre-data)").await?;
    let masking = RestoreMasking::prepare(
        &client,
        options,
        manifest,
        &sql.data,
        &sql.post_data,
        &target.database(),
    )
    .await?;
    let mut loaded = Loaded {
        decoded_as_text: masking.decoded_as_text(),
        ..Loaded::default()
    };
    for part in &manifest.parts {
        let decoded = load_table(&client, store, manifest, part, options, &masking, false).await?;
        loaded.stored_bytes += decoded.stored_bytes;
        loaded.plaintext_bytes += decoded.plaintext_bytes;
    }
    if RestoreMasking::wanted(options) {
        loaded.masking = Some(masking.cut_subset(&client, options).await?);
    }
    stages.push(("data".to_string(), started.elapsed().as_secs_f64()));
    let started = Instant::now();
    execute(&sql.data, "restoring sequence values and large objects").await?;
    crate::failpoint::failpoint("restore::before_post_data")?;
    execute(
        &sql.post_data,
        "creating indexes and constraints (post-data)",
    )
    .await?;
    execute("COMMIT", "committing the restore").await?;
    stages.push(("post-data".to_string(), started.elapsed().as_secs_f64()));
    Ok(loaded)
}

/// The pre-data SQL, then the tables on `jobs` connections (each table's own indexes and constraints
/// built, and the table analyzed, as soon as its rows are in), the data SQL, and the rest of the
/// post-data section (see [`PostDataRest`]). In a `staging` database autovacuum is kept away
/// meanwhile (see [`AutovacuumPaused`]).
#[allow(clippy::too_many_arguments)]
async fn restore_parallel(
    store: &dyn BackupStore,
    manifest: &Manifest,
    target: &DatabaseUrl,
    options: &RestoreOptions,
    sql: &SchemaSql,
    archive: &SchemaArchive,
    jobs: usize,
    staging: bool,
    stages: &mut Vec<(String, f64)>,
) -> Result<Loaded> {
    let client = target.connect_for_work().await?;
    client
        .batch_execute(&sql.pre_data)
        .await
        .map_err(|e| Error::postgres("creating the schema (pre-data)", e))?;
    let autovacuum = if staging {
        Some(AutovacuumPaused::pause(&client, manifest).await?)
    } else {
        None
    };
    let masking = RestoreMasking::prepare(
        &client,
        options,
        manifest,
        &sql.data,
        &sql.post_data,
        &target.database(),
    )
    .await?;
    // A subset removes rows once every table is in: indexes and statistics wait for it.
    let split = if RestoreMasking::subset_wanted(options) {
        None
    } else {
        Some(split_post_data(&client, manifest, sql).await?)
    };
    let rest = PostDataRest::new(split.as_ref(), archive)?;
    let started = Instant::now();
    // The backup's own statistics make ANALYZE needless (they come with the data section).
    let analyze = options.analyze && !archive.tools.keeps_statistics();
    let pipeline = Pipeline::new(manifest, split, analyze);
    // The rest of the post-data section is rendered while the tables load.
    let (mut loaded, rest) = futures::try_join!(
        pipeline.run(store, manifest, target, options, &masking, jobs),
        rest.render(archive, options)
    )?;
    loaded.decoded_as_text = masking.decoded_as_text();
    if RestoreMasking::wanted(options) {
        loaded.masking = Some(masking.cut_subset(&client, options).await?);
    }
    client
        .batch_execute(&sql.data)
        .await
        .map_err(|e| Error::postgres("restoring sequence values and large objects", e))?;
    stages.push(("data".to_string(), started.elapsed().as_secs_f64()));
    let started = Instant::now();
    rest.run(&client, target, options, archive, jobs).await?;
    if let Some(autovacuum) = autovacuum {
        autovacuum.resume(&client).await?;
    }
    stages.push(("post-data".to_string(), started.elapsed().as_secs_f64()));
    Ok(loaded)
}

/// Splits the post-data section: the loaded plain tables' own indexes and constraints, and the rest.
async fn split_post_data(
    client: &tokio_postgres::Client,
    manifest: &Manifest,
    sql: &SchemaSql,
) -> Result<PostDataSplit> {
    let names: Vec<String> = manifest.parts.iter().map(TableObject::sql_name).collect();
    let rows = client
        .query(
            "SELECT n.nspname || '.' || c.relname FROM unnest($1::text[]) AS t(name) \
             JOIN pg_class c ON c.oid = to_regclass(t.name) \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'",
            &[&names],
        )
        .await
        .map_err(|e| Error::postgres("listing the tables to load", e))?;
    let plain: HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let rows = client
        .query(
            "SELECT DISTINCT n.nspname || '.' || c.relname FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhparent \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'",
            &[],
        )
        .await
        .map_err(|e| Error::postgres("listing the tables with inheritance children", e))?;
    let parents: HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let split = PostDataSplit::new(&sql.post_data, &sql.post_data_list, &plain, &parents);
    tracing::debug!(
        early = split.early(),
        "post-data entries built as their tables complete"
    );
    Ok(split)
}

/// What the decoder hands the COPY: chunks, then `End` once every byte is verified.
enum Message {
    Chunk(Bytes),
    End,
}

/// The decoder's writer: buffers to about a megabyte and hands chunks to the COPY.
struct CopyFeed {
    sender: tokio::sync::mpsc::Sender<Message>,
    buffer: Vec<u8>,
}

impl Write for CopyFeed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= crate::codec::CHUNK {
            self.flush()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.sender
            .blocking_send(Message::Chunk(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the COPY stopped"))
    }
}

/// Loads one table. An ordinary table is emptied in the loading transaction first (it is empty
/// anyway: just created) so that `COPY ... (FREEZE)` may write its rows frozen and all-visible: no
/// hint bits to set and no visibility map to build by the index builds, ANALYZE and the first
/// queries that read them afterwards (and no WAL at `wal_level = minimal`). With `own_transaction`
/// the table is committed on its own, only after its hashes and row count matched.
pub(super) async fn load_table(
    client: &tokio_postgres::Client,
    store: &dyn BackupStore,
    manifest: &Manifest,
    part: &TableObject,
    options: &RestoreOptions,
    masking: &RestoreMasking,
    own_transaction: bool,
) -> Result<stream::Decoded> {
    let what = || format!("preparing {} for loading", part.qualified());
    let relkind: Option<String> = client
        .query_one(
            "SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)",
            &[&part.sql_name()],
        )
        .await
        .map_err(|e| Error::postgres(what(), e))?
        .get(0);
    let freeze = relkind.as_deref() == Some("r");
    let mut prepare = String::new();
    if own_transaction {
        prepare.push_str("BEGIN;");
    }
    if freeze {
        prepare.push_str(&format!("TRUNCATE ONLY {};", part.sql_name()));
    }
    if !prepare.is_empty() {
        client
            .batch_execute(&prepare)
            .await
            .map_err(|e| Error::postgres(what(), e))?;
    }
    let decoded = load_part(client, store, manifest, part, options, masking, freeze).await?;
    if own_transaction {
        client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| Error::postgres(format!("committing {}", part.qualified()), e))?;
    }
    Ok(decoded)
}

/// Streams one table's object from the store into `COPY table FROM STDIN`, checking its hashes and its
/// row count. A failed check aborts the COPY (nothing of the table is committed).
async fn load_part(
    client: &tokio_postgres::Client,
    store: &dyn BackupStore,
    manifest: &Manifest,
    part: &TableObject,
    options: &RestoreOptions,
    masking: &RestoreMasking,
    freeze: bool,
) -> Result<stream::Decoded> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Message>(4);
    let end = sender.clone();
    let source = Source::of_object(&part.object, manifest);
    let feed = masking.feed(
        part,
        CopyFeed {
            sender,
            buffer: Vec::with_capacity(crate::codec::CHUNK),
        },
    );
    let decoding = async move {
        let (decoded, feed) =
            stream::decode_source_into(store, &source, &options.decryption, None, move || Ok(feed))
                .await?;
        drop(feed);
        end.send(Message::End).await.ok();
        Ok::<_, Error>(decoded)
    };
    let copying = copy_in(client, part, masking.load_format(part), receiver, freeze);
    let (decoded, rows) = tokio::join!(decoding, copying);
    let decoded = decoded?;
    let rows = rows?;
    if rows != part.rows {
        return Err(Error::Integrity {
            key: part.object.key.clone(),
            reason: format!(
                "{} received {rows} rows, the manifest says {}",
                part.qualified(),
                part.rows
            ),
        });
    }
    Ok(decoded)
}

/// ` (a, b, c)`: the columns in the order the backup copied them (empty for a table without any).
/// Named, so rows land in their columns even where the new table orders them otherwise (a child
/// table's inherited columns), and a masker's positions are those of the stream.
fn column_list(part: &TableObject) -> String {
    if part.columns.is_empty() {
        return String::new();
    }
    let names: Vec<String> = part
        .columns
        .iter()
        .map(|c| crate::config::quote_ident(c))
        .collect();
    format!(" ({})", names.join(", "))
}

/// `COPY table FROM STDIN` (in `format`) of what arrives, committed only after `End`.
async fn copy_in(
    client: &tokio_postgres::Client,
    part: &TableObject,
    format: crate::backup::CopyFormat,
    mut receiver: tokio::sync::mpsc::Receiver<Message>,
    freeze: bool,
) -> Result<u64> {
    let what = || format!("loading the rows of {}", part.qualified());
    let with: Vec<&str> = [format.copy_option(), if freeze { "FREEZE" } else { "" }]
        .into_iter()
        .filter(|o| !o.is_empty())
        .collect();
    let options = if with.is_empty() {
        String::new()
    } else {
        format!(" ({})", with.join(", "))
    };
    let sink = client
        .copy_in::<_, Bytes>(&format!(
            "COPY {}{} FROM STDIN{options}",
            part.sql_name(),
            column_list(part)
        ))
        .await
        .map_err(|e| Error::postgres(what(), e))?;
    futures::pin_mut!(sink);
    loop {
        match receiver.recv().await {
            Some(Message::Chunk(chunk)) => {
                sink.send(chunk)
                    .await
                    .map_err(|e| Error::postgres(what(), e))?;
            }
            Some(Message::End) => break,
            // The decoder failed: dropping the sink aborts the COPY; its error is reported.
            None => {
                return Err(Error::Cancelled { action: what() });
            }
        }
    }
    sink.as_mut()
        .finish()
        .await
        .map_err(|e| Error::postgres(what(), e))
}
