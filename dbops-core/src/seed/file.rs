//! `dbops seed --file F.sql`: a team's own seed file, in one transaction, with file/line errors.

use std::path::Path;

use serde::Serialize;

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};
use crate::sql::{self, TxRequirement};

/// What a seed file run did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FileReport {
    /// The file.
    pub file: String,
    /// Statements run.
    pub statements: usize,
    /// Whether they ran in one transaction (files with their own BEGIN/COMMIT run as written).
    pub transactional: bool,
}

/// Runs every statement of `path` against `url`, in one transaction unless the file manages its own.
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use std::path::Path;
/// use dbops::seed::run_sql_file;
///
/// // A failing statement's error names its file and line; nothing is written then.
/// let report = run_sql_file(&url, Path::new("seeds/dev.sql")).await?;
/// println!("{} statements, in one transaction: {}", report.statements, report.transactional);
/// # Ok(()) }
/// ```
pub async fn run_sql_file(url: &DatabaseUrl, path: &Path) -> Result<FileReport> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("reading seed file", path, e))?;
    let statements = sql::split(&text);
    let file = path.display().to_string();
    if statements.is_empty() {
        return Err(Error::MigrationSource {
            path: file,
            reason: "has no SQL statements".into(),
        });
    }
    let transactional = statements.iter().all(|s| {
        !matches!(
            sql::tx_requirement(&s.sql),
            TxRequirement::TransactionControl | TxRequirement::NoTransaction
        )
    });
    let client = url.connect_for_work().await?;
    if transactional {
        client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| Error::postgres("starting the seed transaction", e))?;
    }
    for (i, statement) in statements.iter().enumerate() {
        if let Err(source) = client.batch_execute(&statement.sql).await {
            if transactional {
                let _ = client.batch_execute("ROLLBACK").await;
            }
            let message = source.as_db_error().map_or_else(
                || source.to_string(),
                |db| {
                    let mut m = db.message().to_string();
                    if let Some(d) = db.detail() {
                        m.push_str(&format!(" ({d})"));
                    }
                    m
                },
            );
            return Err(Error::MigrationFailed {
                version: 0,
                file: file.clone(),
                line: statement.line,
                statement: statement.sql.chars().take(200).collect(),
                message,
                after: if transactional {
                    "\n  nothing was written: the file ran in one transaction that was rolled back"
                        .into()
                } else {
                    format!(
                        "\n  the file manages its own transactions; the {i} statement(s) before this one may be committed"
                    )
                },
                source,
            });
        }
    }
    if transactional {
        client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| Error::postgres("committing the seed file", e))?;
    }
    Ok(FileReport {
        file,
        statements: statements.len(),
        transactional,
    })
}

/// SQL seed files of your own schema as a [`Seeder`](super::Seeder): each file runs like
/// [`run_sql_file`], in order. The report has one line per file (its statements count as rows).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqlFileSeed {
    /// The files, run in this order.
    pub paths: Vec<std::path::PathBuf>,
    /// Reports each file run. Default: none.
    pub progress: Option<crate::progress::Progress>,
}

crate::setters::with_setters!(SqlFileSeed {
    with_progress => progress: opt crate::progress::Progress,
});

impl SqlFileSeed {
    /// Seeds with these files, in order.
    pub fn new(paths: impl IntoIterator<Item = impl Into<std::path::PathBuf>>) -> Self {
        Self {
            paths: paths.into_iter().map(Into::into).collect(),
            progress: None,
        }
    }
}

#[async_trait::async_trait]
impl super::Seeder for SqlFileSeed {
    /// The files' names and contents: an edited file builds a new template.
    fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        for path in &self.paths {
            hash.update(path.display().to_string().as_bytes());
            hash.update(std::fs::read(path).unwrap_or_default());
        }
        format!("sql-files:{}", hex::encode(hash.finalize()))
    }

    async fn seed(&self, url: &DatabaseUrl) -> Result<super::SeedReport> {
        let progress = self.progress.as_ref();
        let started = std::time::Instant::now();
        let mut report = super::SeedReport::default();
        for path in &self.paths {
            let file = run_sql_file(url, path).await?;
            report.rows += file.statements as u64;
            report.tables.push((file.file, file.statements as u64));
            crate::progress::report(
                progress,
                "seed file",
                report.tables.len() as u64,
                Some(self.paths.len() as u64),
                crate::progress::ProgressUnit::Steps,
            );
        }
        report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(report)
    }
}
