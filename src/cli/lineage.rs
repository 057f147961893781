//! `wasnaker lineage [TABLE]`: which queries, lake views and columns a table
//! depends on (a query) or feeds (a lake view), as text, Mermaid or DOT.

use std::process::ExitCode;

use crate::config::Config;
use crate::query::QuerySet;
use crate::query::lineage::{LineageFormat, render};
use crate::query::plan::plan_all;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Mermaid,
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A query (upstream lineage) or a lake view (what depends on it); default: every published table.
    pub table: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub async fn run(cfg: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let loaded = QuerySet::load_dir_all(&cfg.report.queries_dir)?;
    let planned = plan_all(&loaded.set, crate::monthly::settings(cfg)).await?;
    let problems = loaded.problems.len() + planned.problems.len();
    if problems > 0 {
        eprintln!("warning: {problems} problem(s) in the queries; those queries are left out (run `wasnaker check`)");
    }
    let format = match args.format {
        Format::Text => LineageFormat::Text,
        Format::Mermaid => LineageFormat::Mermaid,
        Format::Dot => LineageFormat::Dot,
    };
    print!("{}", render(&planned, args.table.as_deref(), format)?);
    Ok(ExitCode::SUCCESS)
}
