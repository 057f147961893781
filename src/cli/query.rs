//! `wasnaker query "SQL"`: an ad-hoc read-only query over the lake views.

use std::process::ExitCode;

use chrono::NaiveDate;

use crate::clock::Month;
use crate::config::Config;
use crate::lake::context::{self, ViewOptions};
use crate::lake::ledger::Ledger;
use crate::storage::Location;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The SQL (SELECT only).
    pub sql: String,
    /// Snapshot tables as of the end of this month (YYYY-MM); default: as of `as_of`.
    #[arg(long)]
    pub month: Option<Month>,
    /// Use extracts up to this date (default: the latest ingested).
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(cfg: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let lake = Location::open(&cfg.lake, &cfg.storage)?;
    let ledger = Ledger::load(&lake).await?;
    let opts = ViewOptions {
        month: args.month,
        as_of: args.as_of,
        allow_stale_snapshot: true,
        ..Default::default()
    };
    let views = context::open(&cfg.engine, &lake, &ledger, &opts).await?;
    for w in &views.warnings {
        eprintln!("warning: {w}");
    }
    let (_, batches) = crate::lake::adhoc::run(&views.ctx, &args.sql).await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Table => {
            let text = arrow::util::pretty::pretty_format_batches(&batches)?;
            use std::io::Write;
            writeln!(out, "{text}")?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
            for b in &batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::ArrayWriter::new(&mut out);
            for b in &batches {
                w.write(b)?;
            }
            w.finish()?;
            use std::io::Write;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
