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
    /// Print the time of each step and query, and the peak memory, to stderr.
    #[arg(long)]
    pub timings: bool,
}

pub async fn run(cfg: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
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
    if args.timings {
        eprint!("{}", timings_table(&report.timings, started.elapsed()));
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    println!("report {} (as_of {}):", report.month, report.as_of);
    for t in &report.tables {
        println!("  {:<24} {:>4} rows  {}", t.query.name, t.num_rows(), t.query.title_id);
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--timings` table: one line per step, the total and the peak RSS.
fn timings_table(steps: &[monthly::StepTiming], total: std::time::Duration) -> String {
    let mut out = format!("{:<52} {:>9} {:>6}\n", "step", "seconds", "rows");
    for t in steps {
        let rows = t.rows.map_or(String::new(), |r| r.to_string());
        out.push_str(&format!("{:<52} {:>9.3} {:>6}\n", t.step, t.elapsed.as_secs_f64(), rows));
    }
    out.push_str(&format!("{:<52} {:>9.3}\n", "total (wall, whole command)", total.as_secs_f64()));
    if let Some(kb) = peak_rss_kb() {
        out.push_str(&format!("{:<52} {:>9.0} MB\n", "peak RSS", kb as f64 / 1024.0));
    }
    out
}

/// Peak resident set size of this process (Linux `VmHWM`), in kB.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}
