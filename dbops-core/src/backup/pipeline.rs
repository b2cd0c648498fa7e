//! The backup pipeline: `pg_dump` -> compression -> encryption -> multipart upload, streaming with
//! bounded memory, then the manifest as the commit marker.
//!
//! Threads: `pg_dump` (or a `COPY ... TO STDOUT` per table) streams to the async side, which hashes it;
//! a blocking thread per stream compresses and encrypts; the async side uploads the result. On any
//! failure the uploads are aborted or removed and no manifest is written, so nothing is published.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::encode::{Encoded, Encoding, Reporting, encode_stream, read_stream};
use super::tables;
use super::{BackupOptions, BackupReport};
use crate::catalog::{self as manifest, DumpFormat, MANIFEST_VERSION, Manifest, StoredObject};
use crate::cluster::ServerPrograms;
use crate::codec::ChannelSink;
use crate::config::{ChildEnv, DatabaseUrl, collect_stderr, quote_ident};
use crate::error::{Error, Result};
use crate::progress::{self, ProgressUnit};
use crate::storage::BackupStore;

/// Runs one backup of the database at `url` into `store`: plan, snapshot, dump (one archive, or the
/// schema plus one object per table), globals, manifest. Nothing is published unless every stage
/// succeeds.
pub(super) async fn run(
    url: &DatabaseUrl,
    shared_store: &Arc<dyn BackupStore>,
    options: &BackupOptions,
) -> Result<BackupReport> {
    let store = shared_store.as_ref();
    let started = Instant::now();
    #[cfg(feature = "mask")]
    if options.mask.is_some() && options.format != DumpFormat::Tables {
        return Err(Error::Refused {
            action: format!("masked backup in the {:?} format", options.format).to_lowercase(),
            reason: "masking streams each table's rows, which only the `tables` format (the \
                     default) stores apart; use --format tables"
                .into(),
        });
    }
    let unpublished = Arc::new(Unpublished::new(shared_store.clone()));
    let plan = Plan::new(url, options, unpublished.clone())?;
    let published = dump_and_publish(url, store, options, plan).await;
    let manifest = match published {
        Ok(manifest) => {
            unpublished.forget();
            manifest
        }
        Err(error) => {
            unpublished.remove().await;
            return Err(error);
        }
    };
    Ok(BackupReport {
        elapsed_secs: started.elapsed().as_secs_f64(),
        store: store.describe().to_string(),
        manifest,
    })
}

/// Snapshot, dump (one archive, or the schema plus one object per table), globals, manifest.
async fn dump_and_publish(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &BackupOptions,
    plan: Plan,
) -> Result<Manifest> {
    let snapshot = Snapshot::export(url, options).await?;
    // pg_dump and pg_dumpall of the server's major, else of the nearest newer one.
    let binaries = ServerPrograms::for_server(&snapshot.client).await?;
    let dumped = match options.format {
        DumpFormat::Tables => {
            dump_tables_format(url, store, options, &plan, &snapshot, &binaries).await
        }
        DumpFormat::Custom | DumpFormat::Plain => {
            dump_archive(url, store, options, &plan, &snapshot, &binaries).await
        }
    };
    let _ = snapshot.client.batch_execute("COMMIT").await;
    let dumped = dumped?;
    let globals = match options.globals {
        true => Some(dump_globals(url, store, &binaries, &plan).await?),
        false => None,
    };
    let manifest = plan
        .manifest(options, &snapshot, dumped, globals, &binaries)
        .await;
    publish(store, &manifest).await?;
    Ok(manifest)
}

/// The keys of the objects a backup stores before its manifest publishes them. Until then they are
/// removed again: by the backup itself when it fails ([`Unpublished::remove`]), and in the background
/// (tracked by [`crate::cleanup`]) when the backup is cancelled half-way.
struct Unpublished {
    store: Arc<dyn BackupStore>,
    keys: Mutex<Option<Vec<String>>>,
}

impl Unpublished {
    fn new(store: Arc<dyn BackupStore>) -> Self {
        Self {
            store,
            keys: Mutex::new(Some(Vec::new())),
        }
    }

    /// `key` is about to be written.
    fn add(&self, key: &str) {
        if let Some(keys) = self.keys.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            keys.push(key.to_string());
        }
    }

    /// The manifest is published: the objects are a backup now.
    fn forget(&self) {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    fn take(&self) -> Vec<String> {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }

    /// Deletes every object written so far (deleting one never written succeeds).
    async fn remove(&self) {
        remove_objects(self.store.as_ref(), &self.take()).await;
    }
}

impl Drop for Unpublished {
    fn drop(&mut self) {
        let keys = self.take();
        if keys.is_empty() {
            return;
        }
        let store = self.store.clone();
        crate::cleanup::spawn(
            format!("deleting the {} objects of a cancelled backup", keys.len()),
            Box::pin(async move { remove_objects(store.as_ref(), &keys).await }),
        );
    }
}

/// Names and settings fixed before any work starts.
struct Plan {
    started_at: chrono::DateTime<Utc>,
    database: String,
    id: String,
    encoding: Encoding,
    /// What the manifest records about the encryption (with a passphrase, the sealed identity).
    encryption_info: super::EncryptionInfo,
    /// Every key handed out, until the manifest is published.
    unpublished: Arc<Unpublished>,
}

impl Plan {
    fn new(
        url: &DatabaseUrl,
        options: &BackupOptions,
        unpublished: Arc<Unpublished>,
    ) -> Result<Self> {
        let level = options
            .compression_level
            .unwrap_or_else(|| options.compression.default_level());
        options.compression.validate_level(level)?;
        options.encryption.validate()?;
        let (encryption, encryption_info) = options.encryption.for_one_backup()?;
        let started_at = Utc::now();
        Ok(Self {
            encryption_info,
            unpublished,
            started_at,
            database: url.database(),
            id: manifest::new_id(started_at),
            encoding: Encoding {
                compression: options.compression,
                level,
                threads: options.compression_threads,
                encryption,
            },
        })
    }

    fn encrypted(&self) -> bool {
        !matches!(self.encoding.encryption, super::Encryption::None)
    }

    /// Hands out `key` for an object of this backup: it is removed again unless the backup is
    /// published.
    fn claim(&self, key: String) -> String {
        self.unpublished.add(&key);
        key
    }

    fn data_key(&self, format: DumpFormat) -> String {
        self.claim(manifest::data_key(
            &self.database,
            &self.id,
            format,
            self.encoding.compression,
            self.encrypted(),
        ))
    }

    fn part_key(&self, index: usize) -> String {
        self.claim(manifest::part_key(
            &self.database,
            &self.id,
            index,
            self.encoding.compression,
            self.encrypted(),
        ))
    }

    fn globals_key(&self) -> String {
        self.claim(manifest::globals_key(
            &self.database,
            &self.id,
            self.encoding.compression,
            self.encrypted(),
        ))
    }

    async fn manifest(
        self,
        options: &BackupOptions,
        snapshot: &Snapshot,
        dumped: Dumped,
        globals: Option<StoredObject>,
        binaries: &ServerPrograms,
    ) -> Manifest {
        Manifest {
            manifest_version: if self.encryption_info.sealed_identity.is_some() {
                MANIFEST_VERSION
            } else if dumped.parts.is_empty() {
                1
            } else if dumped
                .parts
                .iter()
                .any(|p| p.format == crate::catalog::CopyFormat::Binary)
            {
                3
            } else {
                2
            },
            id: self.id,
            database: self.database,
            server_version: snapshot.server_version.clone(),
            pg_dump_version: match binaries.program("pg_dump") {
                Ok(pg_dump) => tool_version(&pg_dump).await,
                Err(_) => "unknown".into(),
            },
            dbops_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: self.started_at,
            finished_at: Utc::now(),
            format: options.format,
            compression: options.compression,
            compression_level: self.encoding.level,
            encryption: self.encryption_info,
            data: dumped.data,
            globals,
            tables: dumped.rows,
            labels: options.labels.clone(),
            parts: dumped.parts,
            statistics: carries_statistics(options, binaries),
        }
    }
}

/// The exporting transaction: a repeatable-read snapshot that `pg_dump` and the table workers share,
/// so the row counts and the rows describe exactly one moment.
struct Snapshot {
    client: tokio_postgres::Client,
    id: String,
    server_version: String,
    database_size: i64,
}

impl Snapshot {
    async fn export(url: &DatabaseUrl, options: &BackupOptions) -> Result<Self> {
        let client = url.connect_for_work().await?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| Error::postgres("starting the snapshot transaction", e))?;
        let row = client
            .query_one(
                "SELECT pg_export_snapshot(), current_setting('server_version'), \
                 pg_database_size(current_database())",
                &[],
            )
            .await
            .map_err(|e| Error::postgres("exporting a snapshot for pg_dump", e))?;
        if let Some(timeout) = options.lock_wait_timeout {
            client
                .batch_execute(&format!(
                    "SET LOCAL lock_timeout = '{}ms'",
                    timeout.as_millis()
                ))
                .await
                .map_err(|e| Error::postgres("setting the lock timeout", e))?;
        }
        Ok(Self {
            id: row.get(0),
            server_version: row.get(1),
            database_size: row.get(2),
            client,
        })
    }
}

/// Whether the backup carries the planner statistics: asked for (the default), the server (and so
/// the `pg_dump` chosen for it) of PostgreSQL 18 or newer, an archive format (a restore into an
/// older server leaves them out of an archive; a plain script would fail there), and not turned off
/// in the `pg_dump` arguments.
fn carries_statistics(options: &BackupOptions, binaries: &ServerPrograms) -> bool {
    options.statistics
        && binaries.major() >= 18
        && options.format != DumpFormat::Plain
        && !options.pg_dump_args.iter().any(|a| a == "--no-statistics")
}

/// `--statistics` when the backup carries them.
fn statistics_args(
    options: &BackupOptions,
    binaries: &ServerPrograms,
) -> impl Iterator<Item = String> {
    carries_statistics(options, binaries)
        .then(|| "--statistics".to_string())
        .into_iter()
}

/// The data objects of a dump (all finished) and the row counts.
struct Dumped {
    data: StoredObject,
    parts: Vec<crate::catalog::TableObject>,
    rows: BTreeMap<String, i64>,
}

/// Removes objects of a backup that will not be published.
async fn remove_objects(store: &dyn BackupStore, keys: &[String]) {
    for key in keys {
        store.delete(key).await.ok();
    }
}

/// The manifest is the commit marker: without it the data is not a backup (on failure the caller
/// removes the data again, so nothing is left behind).
async fn publish(store: &dyn BackupStore, manifest: &Manifest) -> Result<()> {
    let body = serde_json::to_vec_pretty(manifest)
        .map_err(|e| Error::config("manifest", e.to_string()))?;
    crate::failpoint::failpoint("backup::before_manifest")?;
    store.put(&manifest.key(), Bytes::from(body)).await
}

/// `pg_dump` in `format` (custom or plain; or the schema of the `tables` format) into `key`.
struct ArchiveDump<'a> {
    key: String,
    format: DumpFormat,
    extra_args: Vec<String>,
    estimate: Option<u64>,
    progress: Option<&'a crate::progress::Progress>,
}

/// The `custom` and `plain` formats: one `pg_dump` archive, row counts taken in the snapshot while it
/// runs.
async fn dump_archive(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &BackupOptions,
    plan: &Plan,
    snapshot: &Snapshot,
    binaries: &ServerPrograms,
) -> Result<Dumped> {
    let dump = ArchiveDump {
        key: plan.data_key(options.format),
        format: options.format,
        extra_args: statistics_args(options, binaries)
            .chain(options.pg_dump_args.iter().cloned())
            .collect(),
        estimate: u64::try_from(snapshot.database_size).ok(),
        progress: options.progress.as_ref(),
    };
    let counting = async {
        if options.row_counts {
            count_rows(&snapshot.client).await
        } else {
            Ok(BTreeMap::new())
        }
    };
    let dumping = pg_dump_into(url, store, options, plan, snapshot, binaries, &dump);
    let (dumped, counts) = tokio::join!(dumping, counting);
    let encoded = dumped?;
    let rows = match counts {
        Ok(rows) => rows,
        Err(error) => {
            encoded.upload.abort().await.ok();
            return Err(error);
        }
    };
    crate::failpoint::failpoint("backup::before_upload_finish")?;
    encoded.upload.finish().await?;
    report_uploaded(options, encoded.object.plaintext_size);
    Ok(Dumped {
        data: encoded.object,
        parts: Vec::new(),
        rows,
    })
}

/// The masking of a masked backup: the rules checked against the snapshot's schema before anything
/// is written.
#[cfg(feature = "mask")]
async fn mask_plan(
    options: &BackupOptions,
    plan: &Plan,
    snapshot: &Snapshot,
    tables: &[tables::TableToDump],
) -> Result<Option<crate::mask::MaskPlan>> {
    let Some(masking) = &options.mask else {
        return Ok(None);
    };
    let action = format!("masked backup of `{}`", plan.database);
    let configured: i64 = snapshot
        .client
        .query_one(
            "SELECT count(*) FROM pg_extension WHERE extconfig IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| Error::postgres("looking for extension configuration tables", e))?
        .get(0);
    if configured > 0 {
        return Err(Error::Refused {
            action,
            reason: "an extension of the database keeps configuration tables, whose rows pg_dump \
                     writes with the schema, beyond the masking rules' reach; nothing was written"
                .into(),
        });
    }
    let shape = crate::mask::DatabaseShape::read(&snapshot.client).await?;
    let streams: std::collections::BTreeMap<String, Vec<String>> = tables
        .iter()
        .map(|t| (format!("{}.{}", t.schema, t.name), t.columns.clone()))
        .collect();
    Ok(Some(
        masking
            .plan(&snapshot.client, &shape, &streams, &action)
            .await?,
    ))
}

/// The `tables` format: the schema archive (without table data), then every table's rows on `jobs`
/// connections in the same snapshot; row counts come from the copies themselves.
async fn dump_tables_format(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &BackupOptions,
    plan: &Plan,
    snapshot: &Snapshot,
    binaries: &ServerPrograms,
) -> Result<Dumped> {
    let tables = tables::list_tables(&snapshot.client).await?;
    tables::lock_tables(&snapshot.client, &tables).await?;
    #[cfg(feature = "mask")]
    let masking = mask_plan(options, plan, snapshot, &tables).await?;
    let mut extra_args: Vec<String> = tables
        .iter()
        .map(|t| format!("--exclude-table-data={}", t.exact_pattern()))
        .collect();
    #[cfg(feature = "mask")]
    if masking.is_some() {
        // Large objects are beyond the rules' reach: a masked backup leaves them out.
        extra_args.push("-B".into()); // --no-blobs (--no-large-objects from 16 on)
    }
    extra_args.extend(statistics_args(options, binaries));
    extra_args.extend(options.pg_dump_args.iter().cloned());
    let schema = ArchiveDump {
        key: plan.data_key(DumpFormat::Tables),
        format: DumpFormat::Custom,
        extra_args,
        estimate: None,
        progress: None,
    };
    let encoded = pg_dump_into(url, store, options, plan, snapshot, binaries, &schema).await?;
    encoded.upload.finish().await?;
    let key_of = |index: usize| plan.part_key(index);
    let dump = tables::TableDump {
        url,
        snapshot: &snapshot.id,
        store,
        encoding: &plan.encoding,
        key_of: &key_of,
        lock_timeout: options.lock_wait_timeout,
        progress: options.progress.as_ref(),
        format: options.copy_format,
        #[cfg(feature = "mask")]
        masking: masking.as_ref(),
    };
    let parts = tables::dump_tables(&dump, tables, options.jobs()).await?;
    let rows = parts
        .iter()
        .map(|p| (p.qualified(), p.rows as i64))
        .collect();
    let plaintext: u64 = parts.iter().map(|p| p.object.plaintext_size).sum();
    report_uploaded(options, encoded.object.plaintext_size + plaintext);
    Ok(Dumped {
        data: encoded.object,
        parts,
        rows,
    })
}

fn report_uploaded(options: &BackupOptions, bytes: u64) {
    progress::report(
        options.progress.as_ref(),
        "uploaded",
        bytes,
        Some(bytes),
        ProgressUnit::Bytes,
    );
}

/// Runs `pg_dump` in the snapshot and streams its output through the encoding stage into the dump's
/// key. Returns the unfinished upload; a failed `pg_dump` aborts it.
#[allow(clippy::too_many_arguments)]
async fn pg_dump_into(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &BackupOptions,
    plan: &Plan,
    snapshot: &Snapshot,
    binaries: &ServerPrograms,
    dump: &ArchiveDump<'_>,
) -> Result<Encoded> {
    let pg_dump = binaries.program("pg_dump")?;
    let (mut command, env) = pg_dump_command(url, options, &snapshot.id, &pg_dump, dump)?;
    let mut process = env.spawn(&mut command).map_err(|e| Error::Command {
        program: pg_dump.display().to_string(),
        action: format!("dumping `{}`", plan.database),
        status: format!("could not start: {e}"),
        stderr: String::new(),
    })?;
    let child = &mut process.child;
    let stdout = child.stdout.take().ok_or_else(|| Error::Command {
        program: "pg_dump".into(),
        action: "dumping".into(),
        status: "no stdout pipe".into(),
        stderr: String::new(),
    })?;
    let stderr_task = collect_stderr(child);
    crate::failpoint::failpoint("backup::after_pg_dump_start")?;
    let reporting = Reporting {
        progress: dump.progress,
        stage: "dumping",
        estimate: dump.estimate,
    };
    let source = read_stream(stdout, "reading pg_dump's output");
    let encoded = encode_stream(store, &dump.key, &plan.encoding, source, reporting).await;
    if encoded.is_err() {
        // No point dumping further; the error of the failed stage is reported below.
        let _ = child.start_kill();
    }
    let status = child.wait().await;
    let stderr = stderr_task.await.unwrap_or_default();
    let encoded = encoded?;
    let failed = match &status {
        Ok(s) if s.success() => None,
        Ok(s) => Some(s.to_string()),
        Err(e) => Some(format!("could not be waited for: {e}")),
    };
    if let Some(status) = failed {
        encoded.upload.abort().await.ok();
        return Err(Error::Command {
            program: pg_dump.display().to_string(),
            action: format!(
                "dumping `{}`; the upload was aborted and nothing was published: fix the cause \
                 below and run the backup again",
                plan.database
            ),
            status,
            stderr: crate::cluster::last_lines(&stderr, 10),
        });
    }
    Ok(encoded)
}

/// The `pg_dump` command of `dump`, and the environment (with its password file) to start it in.
fn pg_dump_command(
    url: &DatabaseUrl,
    options: &BackupOptions,
    snapshot: &str,
    pg_dump: &std::path::Path,
    dump: &ArchiveDump<'_>,
) -> Result<(tokio::process::Command, ChildEnv)> {
    let env = ChildEnv::for_url(url)?;
    let mut command = tokio::process::Command::new(pg_dump);
    command
        .arg("--no-password")
        .arg(format!("--snapshot={snapshot}"))
        .args(match dump.format {
            DumpFormat::Plain => &["--format=plain"][..],
            DumpFormat::Custom | DumpFormat::Tables => &["--format=custom", "--compress=0"][..],
        })
        .args(
            options
                .lock_wait_timeout
                .map(|t| format!("--lock-wait-timeout={}ms", t.as_millis())),
        )
        .args(&dump.extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    Ok((command, env))
}

/// Exact row counts of every ordinary table (partitions counted through their leaves), keyed
/// `schema.table`.
pub(crate) async fn count_rows(client: &tokio_postgres::Client) -> Result<BTreeMap<String, i64>> {
    let rows = client
        .query(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                             AND d.objid = c.oid AND d.deptype = 'e') \
             ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(|e| Error::postgres("listing tables to count rows", e))?;
    let mut counts = BTreeMap::new();
    for row in rows {
        let schema: String = row.get(0);
        let table: String = row.get(1);
        let count: i64 = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM ONLY {}.{}",
                    quote_ident(&schema),
                    quote_ident(&table)
                ),
                &[],
            )
            .await
            .map_err(|e| Error::postgres(format!("counting rows of {schema}.{table}"), e))?
            .get(0);
        counts.insert(format!("{schema}.{table}"), count);
    }
    Ok(counts)
}

/// `pg_dumpall --globals-only --no-role-passwords` (roles and tablespaces) as one small object.
async fn dump_globals(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    binaries: &ServerPrograms,
    plan: &Plan,
) -> Result<StoredObject> {
    let program = binaries.program("pg_dumpall")?;
    let env = ChildEnv::for_url(url)?;
    let mut command = tokio::process::Command::new(&program);
    env.apply(&mut command);
    command
        .args(["--globals-only", "--no-role-passwords", "--no-password"])
        .arg(format!("--database={}", url.database()));
    let plain =
        crate::cluster::output_of(command, &program, "dumping roles and tablespaces").await?;
    let key = plan.globals_key();
    let encoded = encode_in_memory(&plain, &plan.encoding).await?;
    let object = StoredObject {
        key: key.clone(),
        size: encoded.len() as u64,
        sha256: hex::encode(Sha256::digest(&encoded)),
        plaintext_size: plain.len() as u64,
        plaintext_sha256: hex::encode(Sha256::digest(&plain)),
    };
    store.put(&key, Bytes::from(encoded)).await?;
    Ok(object)
}

/// Compresses and encrypts a small payload in memory, through the same layers as the dump.
pub(crate) async fn encode_in_memory(plain: &[u8], encoding: &Encoding) -> Result<Vec<u8>> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(1024);
    let sink = encoding
        .encryption
        .wrap(Box::new(ChannelSink::new(sender)))?;
    let mut writer = encoding.compression.wrap(sink, encoding.level, 1)?;
    let plain = plain.to_vec();
    let encoding = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        writer.write_all(&plain)?;
        writer.finish_all()
    });
    let mut out = Vec::new();
    while let Some(chunk) = receiver.recv().await {
        out.extend_from_slice(&chunk);
    }
    encoding
        .await
        .map_err(|e| Error::Cancelled {
            action: format!("encoding ({e})"),
        })?
        .map_err(|e| Error::io("encoding in memory", "", e))?;
    Ok(out)
}

/// `program --version`, or `unknown`.
pub(crate) async fn tool_version(program: &std::path::Path) -> String {
    match tokio::process::Command::new(program)
        .arg("--version")
        .output()
        .await
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        _ => "unknown".into(),
    }
}
