//! `wasnaker report`: compute a month's tables and publish its bundle.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;

use crate::clock::{Month, SystemClock};
use crate::config::Config;
use crate::monthly::{self, MonthlyRequest};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The month (YYYY-MM); default: the last complete month.
    #[arg(long)]
    pub month: Option<Month>,
    /// Use extracts up to this date (default: the latest ingested), to reproduce an earlier run.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Accept a snapshot more than 7 days older than the month's end (the report shows a warning).
    #[arg(long)]
    pub allow_stale_snapshot: bool,
    /// Only write `data/<table>.csv|parquet` into this folder (no bundle, no publish).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub async fn run(cfg: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let req = MonthlyRequest {
        month: args.month,
        as_of: args.as_of,
        allow_stale_snapshot: args.allow_stale_snapshot,
    };
    let report = match &args.out {
        Some(out) => {
            let report = monthly::compute(cfg, &SystemClock, &req).await?;
            let loc = crate::storage::Location::parse(&out.to_string_lossy())?;
            for (path, bytes) in monthly::data_files(&report)? {
                loc.put(&path, bytes).await?;
            }
            println!("written to {}", loc.url());
            report
        }
        None => {
            let (report, bundle) = monthly::publish_month(cfg, &SystemClock, &req).await?;
            println!("published {} files to {}/{}/", bundle.files.len(), cfg.publish, report.month);
            report
        }
    };
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    println!("report {} (as_of {}):", report.month, report.as_of);
    for t in &report.tables {
        println!("  {:<24} {:>4} rows  {}", t.query.name, t.num_rows(), t.query.title_id);
    }
    Ok(ExitCode::SUCCESS)
}
