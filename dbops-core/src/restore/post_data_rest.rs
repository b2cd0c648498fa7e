//! The post-data entries a pipelined restore leaves to the end (see [`super::post_data`]). When they
//! only change the catalog (triggers, rules, policies, comments, grants, publications, extended
//! statistics), their SQL, rendered from the archive while the tables load, runs on the restore's
//! own connection: no `pg_restore` and its connections for a few statements. When one builds or
//! scans something (a partitioned index, a constraint left late, a materialized view's data), the
//! rest follows with `pg_restore --jobs -L`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::compat::session_script;
use super::post_data::{PostDataSplit, catalog_only_entries};
use super::tables::{SchemaArchive, pg_restore_output};
use super::{RestoreOptions, restore_args};
use crate::cluster::{output_of, server_major};
use crate::config::{ChildEnv, DatabaseUrl};
use crate::error::{Error, Result};

/// What is left of the post-data section once the loading connections are done.
pub(super) enum PostDataRest {
    /// Every entry was built early.
    Nothing,
    /// The `pg_restore -L` list of the entries left (all of the section without a split), not yet
    /// looked at.
    Listed(Option<PathBuf>),
    /// Catalog changes only: their SQL and `TYPE name` of each.
    InSession { sql: String, entries: Vec<String> },
}

impl PostDataRest {
    /// The rest `split` leaves (the whole section without one), its list written next to `archive`.
    pub(super) fn new(split: Option<&PostDataSplit>, archive: &SchemaArchive) -> Result<Self> {
        let Some(split) = split else {
            return Ok(Self::Listed(None));
        };
        if split.nothing_left() {
            return Ok(Self::Nothing);
        }
        let path = archive.path.with_file_name("post-data.list");
        std::fs::write(&path, &split.rest_list)
            .map_err(|e| Error::io("writing the post-data list", &path, e))?;
        Ok(Self::Listed(Some(path)))
    }

    /// Renders a listed rest (no server access) and keeps its SQL when it only changes the catalog.
    pub(super) async fn render(
        self,
        archive: &SchemaArchive,
        options: &RestoreOptions,
    ) -> Result<Self> {
        let Self::Listed(Some(list)) = &self else {
            return Ok(self);
        };
        let args = [
            "--file".to_string(),
            "-".to_string(),
            "--section=post-data".to_string(),
            format!("--use-list={}", list.display()),
        ];
        let script = pg_restore_output(archive, &args, options, false, "post-data").await?;
        let sql = session_script(&script);
        Ok(match catalog_only_entries(&sql) {
            Some(entries) => Self::InSession { sql, entries },
            None => self,
        })
    }

    /// Restores the rest: on `client` (connected to `target`) when it only changes the catalog,
    /// otherwise with `pg_restore --jobs`.
    pub(super) async fn run(
        &self,
        client: &tokio_postgres::Client,
        target: &DatabaseUrl,
        options: &RestoreOptions,
        archive: &SchemaArchive,
        jobs: usize,
    ) -> Result<()> {
        match self {
            Self::Nothing => Ok(()),
            Self::Listed(list) => {
                let target_major = server_major(client).await?;
                let (program, major) = archive.tools.loader("pg_restore", target_major)?;
                if super::compat::connects_badly(major, target_major) {
                    // This pg_restore cannot connect to the older server: its script runs here.
                    return in_session(client, options, archive, list.as_deref()).await;
                }
                let run = PostDataRun {
                    program: &program,
                    tools: &archive.tools,
                    archive: &archive.path,
                    list: list.as_deref(),
                    jobs,
                };
                post_data_in_parallel(target, options, &run).await
            }
            Self::InSession { sql, entries } => {
                crate::failpoint::failpoint("restore::before_post_data")?;
                client.batch_execute(sql).await.map_err(|e| {
                    Error::postgres(
                        format!(
                            "restoring the last post-data entries ({})",
                            first_few(entries)
                        ),
                        e,
                    )
                })
            }
        }
    }
}

/// The rest of the post-data section (the entries of `list`, or all of it) rendered and run on
/// `client`, one statement after the other.
async fn in_session(
    client: &tokio_postgres::Client,
    options: &RestoreOptions,
    archive: &SchemaArchive,
    list: Option<&Path>,
) -> Result<()> {
    let mut args = vec![
        "--file".to_string(),
        "-".to_string(),
        "--section=post-data".to_string(),
    ];
    args.extend(list.map(|l| format!("--use-list={}", l.display())));
    let script = pg_restore_output(archive, &args, options, false, "post-data").await?;
    client
        .batch_execute(&session_script(&script))
        .await
        .map_err(|e| Error::postgres("creating indexes and constraints (post-data)", e))
}

/// The first five of `entries`, and how many more there are.
fn first_few(entries: &[String]) -> String {
    let shown = entries
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match entries.len().saturating_sub(5) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// The `pg_restore` of the post-data rest: the program, the archive, the entries (`-L`; all of the
/// section without a list) and its connections.
struct PostDataRun<'a> {
    program: &'a Path,
    tools: &'a super::tools::RestoreTools,
    archive: &'a Path,
    list: Option<&'a Path>,
    jobs: usize,
}

/// `pg_restore --section=post-data --jobs` against the target: indexes and constraints built in
/// parallel, with large in-memory sorts; only the entries of the list when there is one (`-L`).
async fn post_data_in_parallel(
    target: &DatabaseUrl,
    options: &RestoreOptions,
    run: &PostDataRun<'_>,
) -> Result<()> {
    crate::failpoint::failpoint("restore::before_post_data")?;
    let PostDataRun {
        program,
        tools,
        archive,
        list,
        jobs,
    } = *run;
    let env = ChildEnv::for_url(target)?;
    let mut command = tokio::process::Command::new(program);
    env.apply(&mut command);
    let args: Vec<&str> = restore_args(options, tools)
        .into_iter()
        .filter(|a| *a != "--clean" && *a != "--if-exists")
        .collect();
    command
        .args(args)
        .env(
            "PGOPTIONS",
            "-c maintenance_work_mem=256MB -c synchronous_commit=off",
        )
        .arg("--section=post-data")
        .args(list.map(|l| format!("--use-list={}", l.display())))
        .arg(format!("--jobs={jobs}"))
        .arg(format!("--dbname={}", target.database()))
        .arg(archive)
        .stdout(Stdio::null());
    output_of(
        command,
        program,
        "creating indexes and constraints (post-data) in parallel",
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_names_the_first_five_entries_and_counts_the_others() {
        let entries: Vec<String> = (1..=7).map(|i| format!("TRIGGER t{i}")).collect();
        assert_eq!(
            first_few(&entries),
            "TRIGGER t1, TRIGGER t2, TRIGGER t3, TRIGGER t4, TRIGGER t5 and 2 more"
        );
        assert_eq!(first_few(&entries[..2]), "TRIGGER t1, TRIGGER t2");
    }
}
