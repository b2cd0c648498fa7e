//! `dbops seed ...` and `dbops db reset`.

use std::path::PathBuf;

use clap::Args;

use super::Context;
use dbops::db::{ResetOptions, reset};
use dbops::error::Result;
use dbops::migrate::MigrationSource;
use dbops::seed::{Existing, Profile, ReferenceSeed, SeedOptions, Seeder, run_sql_file};

/// `dbops seed [light|medium|heavy] [--scale K] [--seed N] | --file F.sql`
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// light (11 users, 9 rides), medium (52 users, 200 rides) or heavy (710 users, 5000 rides).
    #[arg(value_parser = ["light", "medium", "heavy"], required_unless_present = "file")]
    profile: Option<String>,
    /// Multiply the profile (heavy --scale 100: 500k rides).
    #[arg(long, default_value_t = 1)]
    scale: u64,
    /// Random seed: the same profile, scale and seed give identical data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Add to existing data instead of refusing.
    #[arg(long, conflicts_with = "truncate")]
    append: bool,
    /// Empty the seeded tables first instead of refusing.
    #[arg(long)]
    truncate: bool,
    /// Run your own seed SQL file instead of a profile (one transaction, errors name the line).
    #[arg(long, conflicts_with = "profile")]
    file: Option<PathBuf>,
    /// Skip the ANALYZE of the seeded tables.
    #[arg(long)]
    no_analyze: bool,
}

/// `dbops db reset`
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Migrations directory.
    #[arg(long, short, env = "DBOPS_MIGRATIONS", default_value = "migrations")]
    source: PathBuf,
    /// Seed this profile afterwards.
    #[arg(long, value_parser = ["light", "medium", "heavy"])]
    seed: Option<String>,
    /// Reset even a database that looks like production.
    #[arg(long)]
    force: bool,
}

/// Runs `dbops seed ...`.
pub async fn run_seed(args: SeedArgs, ctx: &Context) -> Result<()> {
    let url = ctx.database_url().await?;
    if let Some(file) = &args.file {
        let report = run_sql_file(&url, file).await?;
        return ctx.print(&report, || {
            format!("ran {} statements from {}", report.statements, report.file)
        });
    }
    let profile: Profile = args.profile.as_deref().unwrap_or("light").parse()?;
    let seeder = ReferenceSeed {
        profile,
        options: SeedOptions::default()
            .with_scale(args.scale)
            .with_seed(args.seed)
            .with_existing(Existing::from_switches(args.append, args.truncate)?)
            .with_analyze(!args.no_analyze)
            .with_progress(ctx.progress("seed")),
    };
    let report = seeder.seed(&url).await?;
    ctx.print(&report, || {
        let mut out = String::new();
        for (table, rows) in &report.tables {
            out.push_str(&format!("{table:<28} {rows:>10}\n"));
        }
        let rate = report.rows as f64 / (report.elapsed_ms / 1000.0).max(1e-9);
        out.push_str(&format!(
            "{} rows in {:.0} ms ({:.0} rows/s)",
            report.rows, report.elapsed_ms, rate
        ));
        out
    })
}

/// Runs `dbops db reset`.
pub async fn run_reset(args: ResetArgs, ctx: &Context) -> Result<()> {
    let url = ctx.database_url().await?;
    let source = MigrationSource::from_dir(&args.source)?;
    let options = ResetOptions::default()
        .with_force(args.force)
        .with_seed(args.seed.as_deref().map(str::parse).transpose()?);
    let report = reset(&url, source, &options).await?;
    ctx.print(&report, || {
        format!(
            "reset `{}`: terminated {} session(s), {}, migrated to {}{}",
            report.database,
            report.terminated_sessions,
            if report.dropped {
                "dropped and recreated"
            } else {
                "created"
            },
            report.migrations.to.map_or("nil".into(), |v| v.to_string()),
            report
                .seed
                .as_ref()
                .map_or(String::new(), |s| format!(", seeded {} rows", s.rows))
        )
    })
}
