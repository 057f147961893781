//! `wasnaker demo`: synthetic landing data through the whole pipeline.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("demo: not wired yet")
}
