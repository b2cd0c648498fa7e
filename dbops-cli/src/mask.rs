//! `dbops mask ...`: lint masking rules against a database or a backup, draft rules for a database.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Context;
use super::backup::{KeyArgs, StoreArgs};
use dbops::backup::BackupSelector;
use dbops::error::{Error, Result};
use dbops::mask::{MaskCheck, MaskRules, Masking};
use dbops::restore::{PgRestorer, RestoreOptions};

/// `dbops mask ...`
#[derive(Debug, Subcommand)]
pub enum MaskCommand {
    /// Check rules against the database (DATABASE_URL) or, with --store, a backup's schema: personal
    /// columns without a rule, schema changes, rules that do not fit their column. No key needed.
    Check(CheckArgs),
    /// Draft complete rules for the database (every table and column; a transformer suggested for
    /// each column that looks personal) to review and commit.
    Init(InitArgs),
}

/// `dbops mask check RULES ...`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The rules file (TOML).
    rules: PathBuf,
    /// Let a column that looks personal through unmasked (TABLE.COLUMN); repeatable.
    #[arg(long, value_name = "TABLE.COLUMN")]
    allow_unmasked: Vec<String>,
    /// Check against a backup in this store instead of the live database (its schema is restored into
    /// a scratch database on the DATABASE_URL server and dropped again).
    #[arg(long)]
    store: Option<String>,
    /// Store option KEY=VALUE; repeatable.
    #[arg(long = "store-option", value_name = "KEY=VALUE", requires = "store")]
    store_options: Vec<String>,
    /// Backup id (default: the latest).
    #[arg(long, requires = "store")]
    id: Option<String>,
    /// Whose backups: the database name they were taken of (default: DATABASE_URL's).
    #[arg(long, requires = "store")]
    from_database: Option<String>,
    #[command(flatten)]
    keys: KeyArgs,
}

/// `dbops mask init ...`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Write the draft here instead of printing it (an existing file is refused).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
}

/// Runs `dbops mask ...`.
pub async fn run(command: MaskCommand, ctx: &Context) -> Result<()> {
    match command {
        MaskCommand::Check(args) => check(args, ctx).await,
        MaskCommand::Init(args) => init(args, ctx).await,
    }
}

async fn check(args: CheckArgs, ctx: &Context) -> Result<()> {
    let rules = MaskRules::from_file(&args.rules)?;
    let source = rules.source.clone();
    let masking = Masking::check_only(rules).allow_unmasked(args.allow_unmasked.iter().cloned());
    let url = ctx.database_url().await?;
    let (checked, report) = match &args.store {
        Some(store) => {
            let store = StoreArgs {
                store: store.clone(),
                store_options: args.store_options.clone(),
            }
            .open()?;
            let options = RestoreOptions::default()
                .with_selector(
                    args.id
                        .clone()
                        .map(BackupSelector::Id)
                        .unwrap_or(BackupSelector::Latest),
                )
                .with_source_database(args.from_database.clone())
                .with_decryption(args.keys.decryption()?)
                .with_mask(std::sync::Arc::new(masking));
            let what = "the backup's schema".to_string();
            (
                what,
                PgRestorer::new(url, store).check_mask(&options).await?,
            )
        }
        None => {
            let what = format!("database `{}`", url.database());
            (what, dbops::mask::check_database(&url, &masking).await?)
        }
    };
    ctx.print(&report, || check_text(&report, &source, &checked))?;
    report.into_result(&format!("checking {source} against {checked}"), &source)
}

fn check_text(report: &MaskCheck, source: &str, checked: &str) -> String {
    let mut text = String::new();
    for note in &report.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    if report.ok() {
        text.push_str(&format!(
            "{source} fits {checked}: {} tables, {} masked columns",
            report.tables, report.masked_columns
        ));
    }
    text
}

async fn init(args: InitArgs, ctx: &Context) -> Result<()> {
    let url = ctx.database_url().await?;
    let draft = dbops::mask::draft_for_database(&url).await?;
    match &args.output {
        None => {
            print!("{draft}");
            Ok(())
        }
        Some(path) => {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| Error::io("creating the rules file (it must not exist)", path, e))?;
            file.write_all(draft.as_bytes())
                .map_err(|e| Error::io("writing the rules file", path, e))?;
            eprintln!(
                "wrote {}: review every rule, then `dbops mask check {}`",
                path.display(),
                path.display()
            );
            Ok(())
        }
    }
}
