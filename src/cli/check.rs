//! `wasnaker check`: validate the config, every query (planned against the
//! lake's schemas, no data needed) and the other declarative parts; exit 1
//! when anything has a problem.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::DEFAULT_FILE;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(config: Option<&Path>, _args: Args) -> anyhow::Result<ExitCode> {
    // Without --config, a missing ./wasnaker.toml means "the defaults".
    let (path, required) = match config {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_FILE), false),
    };
    let report = crate::check::check(&path, required).await;
    print!("{}", report.render());
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
