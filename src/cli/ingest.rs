//! `wasnaker ingest`: ingest complete nights; print the plan or a summary.

use std::process::ExitCode;

use chrono::NaiveDate;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::ingest::{self, IngestOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this extract date (YYYY-MM-DD).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub date: Option<NaiveDate>,
    /// First extract date to consider.
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last extract date to consider.
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Print the plan and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(cfg: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let opts = IngestOptions {
        from: args.date.or(args.from),
        to: args.date.or(args.to),
        dry_run: args.dry_run,
    };
    let progress = super::output::BarProgress::new();
    let report = ingest::run(cfg, &SystemClock, &opts, &progress).await?;
    super::output::print_ingest(&report, args.dry_run);
    Ok(super::output::ingest_exit_code(&report))
}
