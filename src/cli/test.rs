//! `wasnaker test [CASE…]`: run the query tests (`tests/queries/<case>/`:
//! input CSVs, expected CSVs) and show a readable diff of each mismatch;
//! `--update` rewrites the expected files that differ, for review.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;
use crate::query::QuerySet;
use crate::query::fixture::run_suite;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only these cases (folder names); default: every case of the folder.
    pub cases: Vec<String>,
    /// The folder of query tests (default: tests/queries next to the config file).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Rewrite each expected file that differs from the actual output (review with `git diff`).
    #[arg(long)]
    pub update: bool,
}

pub async fn run(cfg: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let queries = QuerySet::load_dir(&cfg.report.queries_dir)?;
    let dir = args
        .dir
        .unwrap_or_else(|| cfg.path.parent().unwrap_or(std::path::Path::new("")).join("tests/queries"));
    let report = run_suite(&queries, &dir, args.update, &args.cases).await?;
    print!("{}", report.render());
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
