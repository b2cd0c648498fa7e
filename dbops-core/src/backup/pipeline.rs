//! The backup pipeline: `pg_dump` -> compression -> encryption -> multipart upload, streaming with
//! bounded memory, then the manifest as the commit marker.
//!
//! Threads: `pg_dump` runs as its own process; one blocking thread reads its output, hashes it and
//! runs the compression and encryption layers; the async side hashes and uploads the result. On any
//! failure the upload is aborted and no manifest is written, so nothing is published.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Instant;

use bytes::Bytes;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::codec::{CHUNK, ChannelSink};
use super::manifest::{self, MANIFEST_VERSION, Manifest, StoredObject};
use super::{BackupOptions, BackupReport};
use crate::cluster::PgBinaries;
use crate::config::{ChildEnv, DatabaseUrl, collect_stderr, quote_ident};
use crate::error::{Error, Result};
use crate::progress::{self, ProgressUnit};
use crate::storage::BackupStore;

/// Runs one backup of the database at `url` into `store`.
pub(super) async fn run(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &BackupOptions,
) -> Result<BackupReport> {
    let started = Instant::now();
    let started_at = Utc::now();
    let level = options
        .compression_level
        .unwrap_or_else(|| options.compression.default_level());
    options.compression.validate_level(level)?;
    options.encryption.validate()?;
    let database = url.database();
    let id = manifest::new_id(started_at);
    let encrypted = !matches!(options.encryption, super::Encryption::None);
    let data_key = manifest::data_key(
        &database,
        &id,
        options.format,
        options.compression,
        encrypted,
    );

    // A repeatable-read snapshot shared with pg_dump, so the row counts describe exactly what is dumped.
    let client = url.connect().await?;
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
    let snapshot: String = row.get(0);
    let server_version: String = row.get(1);
    let database_size: i64 = row.get(2);

    let binaries = PgBinaries::discover()?;
    let pg_dump = binaries.program("pg_dump");
    let pg_dump_version = tool_version(&pg_dump).await;
    let env = ChildEnv::for_url(url)?;
    let mut command = tokio::process::Command::new(&pg_dump);
    env.apply(&mut command);
    command
        .arg("--no-password")
        .arg(format!("--snapshot={snapshot}"))
        .args(match options.format {
            super::DumpFormat::Custom => &["--format=custom", "--compress=0"][..],
            super::DumpFormat::Plain => &["--format=plain"][..],
        })
        .args(
            options
                .lock_wait_timeout
                .map(|t| format!("--lock-wait-timeout={}ms", t.as_millis())),
        )
        .args(&options.pg_dump_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| Error::Command {
        program: pg_dump.display().to_string(),
        action: format!("dumping `{database}`"),
        status: format!("could not start: {e}"),
        stderr: String::new(),
    })?;
    let stdout = child.stdout.take().ok_or_else(|| Error::Command {
        program: "pg_dump".into(),
        action: "dumping".into(),
        status: "no stdout pipe".into(),
        stderr: String::new(),
    })?;
    let stderr_task = collect_stderr(&mut child);
    crate::failpoint::failpoint("backup::after_pg_dump_start")?;
    let stdout = stdout
        .into_owned_fd()
        .map_err(|e| Error::io("reading pg_dump's output", &pg_dump, e))?;

    // The encoding thread: read, hash, compress, encrypt, hand chunks to the uploader.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
    let sink = options
        .encryption
        .wrap(Box::new(ChannelSink::new(sender)))?;
    let mut writer = options
        .compression
        .wrap(sink, level, options.compression_threads)?;
    let progress = options.progress.clone();
    let estimate = u64::try_from(database_size).ok();
    let encoder = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, String)> {
        let mut input = std::fs::File::from(stdout);
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        let mut buf = vec![0u8; CHUNK];
        let mut last_report = Instant::now();
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            writer.write_all(&buf[..n])?;
            total += n as u64;
            crate::failpoint::failpoint("backup::mid_stream")
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            if last_report.elapsed().as_millis() >= 200 {
                last_report = Instant::now();
                progress::report(
                    progress.as_ref(),
                    "dumping",
                    total,
                    estimate,
                    ProgressUnit::Bytes,
                );
            }
        }
        writer.finish_all()?;
        Ok((total, hex::encode(hasher.finalize())))
    });

    // Row counts in the snapshot, while pg_dump runs.
    let counting = async {
        if options.row_counts {
            count_rows(&client).await
        } else {
            Ok(BTreeMap::new())
        }
    };

    let uploading = crate::storage::upload_chunks(store, &data_key, &mut receiver);

    let (upload_result, counts) = tokio::join!(uploading, counting);
    if upload_result.is_err() || counts.is_err() {
        // No point dumping further; the error of the failed stage is reported below.
        let _ = child.start_kill();
    }
    // The uploader stops early only on error; dropping its receiver stops the encoder too.
    let encoded = encoder.await;
    let status = child.wait().await;
    let stderr_text = stderr_task.await.unwrap_or_default();
    let _ = client.batch_execute("COMMIT").await;

    let dump_error = match &status {
        Ok(s) if s.success() => None,
        Ok(s) => Some(s.to_string()),
        Err(e) => Some(format!("could not be waited for: {e}")),
    };
    let (upload, stored_size, stored_sha) = match upload_result {
        Ok(parts) => parts,
        Err(e) => {
            return Err(e);
        }
    };
    // A failed encoder is reported before pg_dump's status: pg_dump then only died of the closed pipe.
    let failure = match (&encoded, dump_error) {
        (Ok(Err(e)), _) => Some(Error::io(
            "compressing and encrypting the dump",
            &data_key,
            std::io::Error::new(e.kind(), e.to_string()),
        )),
        (Err(e), _) => Some(Error::Cancelled {
            action: format!("the encoding thread ({e})"),
        }),
        (Ok(Ok(_)), Some(status)) => Some(Error::Command {
            program: pg_dump.display().to_string(),
            action: format!(
                "dumping `{database}`; the upload was aborted and nothing was published: fix the \
                 cause below and run the backup again"
            ),
            status,
            stderr: crate::cluster::last_lines(&stderr_text, 10),
        }),
        (Ok(Ok(_)), None) => None,
    };
    if let Some(error) = failure {
        upload.abort().await.ok();
        return Err(error);
    }
    let tables = match counts {
        Ok(tables) => tables,
        Err(e) => {
            upload.abort().await.ok();
            return Err(e);
        }
    };
    let Ok(Ok((plain_size, plain_sha))) = encoded else {
        upload.abort().await.ok();
        return Err(Error::Cancelled {
            action: "the backup".into(),
        });
    };
    crate::failpoint::failpoint("backup::before_upload_finish")?;
    upload.finish().await?;
    progress::report(
        options.progress.as_ref(),
        "uploaded",
        plain_size,
        Some(plain_size),
        ProgressUnit::Bytes,
    );

    let globals = if options.globals {
        Some(
            dump_globals(
                url, store, options, &binaries, &database, &id, level, encrypted,
            )
            .await?,
        )
    } else {
        None
    };

    let manifest = Manifest {
        manifest_version: MANIFEST_VERSION,
        id,
        database: database.clone(),
        server_version,
        pg_dump_version,
        dbops_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at,
        finished_at: Utc::now(),
        format: options.format,
        compression: options.compression,
        compression_level: level,
        encryption: options.encryption.info(),
        data: StoredObject {
            key: data_key,
            size: stored_size,
            sha256: stored_sha,
            plaintext_size: plain_size,
            plaintext_sha256: plain_sha,
        },
        globals,
        tables,
        labels: options.labels.clone(),
    };
    let body = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::config("manifest", e.to_string()))?;
    // The manifest is the commit marker: without it the data is not a backup. Remove the data again
    // so a failed publication leaves nothing behind.
    let published = match crate::failpoint::failpoint("backup::before_manifest") {
        Ok(()) => store.put(&manifest.key(), Bytes::from(body)).await,
        Err(e) => Err(e),
    };
    if let Err(error) = published {
        store.delete(&manifest.data.key).await.ok();
        if let Some(globals) = &manifest.globals {
            store.delete(&globals.key).await.ok();
        }
        return Err(error);
    }
    Ok(BackupReport {
        elapsed_secs: started.elapsed().as_secs_f64(),
        store: store.describe().to_string(),
        manifest,
    })
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

#[allow(clippy::too_many_arguments)]
async fn dump_globals(
    url: &DatabaseUrl,
    store: &dyn BackupStore,
    options: &BackupOptions,
    binaries: &PgBinaries,
    database: &str,
    id: &str,
    level: i32,
    encrypted: bool,
) -> Result<StoredObject> {
    let program = binaries.program("pg_dumpall");
    let env = ChildEnv::for_url(url)?;
    let mut command = tokio::process::Command::new(&program);
    env.apply(&mut command);
    command
        .args(["--globals-only", "--no-role-passwords", "--no-password"])
        .arg(format!("--database={}", url.database()))
        .kill_on_drop(true);
    let output = command.output().await.map_err(|e| Error::Command {
        program: program.display().to_string(),
        action: "dumping roles and tablespaces".into(),
        status: format!("could not start: {e}"),
        stderr: String::new(),
    })?;
    if !output.status.success() {
        return Err(Error::Command {
            program: program.display().to_string(),
            action: "dumping roles and tablespaces".into(),
            status: output.status.to_string(),
            stderr: crate::cluster::last_lines(&String::from_utf8_lossy(&output.stderr), 10),
        });
    }
    let key = manifest::globals_key(database, id, options.compression, encrypted);
    let plain = output.stdout;
    let encoded = encode_in_memory(&plain, options, level).await?;
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
pub(crate) async fn encode_in_memory(
    plain: &[u8],
    options: &BackupOptions,
    level: i32,
) -> Result<Vec<u8>> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(1024);
    let sink = options
        .encryption
        .wrap(Box::new(ChannelSink::new(sender)))?;
    let mut writer = options.compression.wrap(sink, level, 1)?;
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
