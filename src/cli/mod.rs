//! Command-line verbs: one file each, thin. Each verb parses its flags,
//! calls the library function behind it and prints the result; anything a
//! test or the scheduler needs lives in the library, not here.

mod check;
mod demo;
mod ingest;
mod lineage;
mod output;
mod query;
mod report;
mod schedule;
mod tables;
mod test;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, DEFAULT_FILE};

#[derive(Debug, Parser)]
#[command(
    name = "wasnaker",
    version,
    about = "Labour-inspection complaint follow-up: nightly ingest and monthly report"
)]
pub struct Cli {
    /// Config file (default: ./wasnaker.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log level filter (e.g. info, debug, wasnaker=debug).
    #[arg(long, global = true, default_value = "info", value_name = "FILTER")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate synthetic landing data and run the whole pipeline on it.
    Demo(demo::Args),
    /// Ingest every complete, not yet ingested night of the landing area.
    Ingest(ingest::Args),
    /// Compute a month's report and publish its signed bundle.
    Report(report::Args),
    /// Validate the config and every query (planned against the lake's schemas); exit 1 on any problem.
    Check(check::Args),
    /// Run the query tests (input and expected CSVs per folder); show a diff of each mismatch.
    Test(test::Args),
    /// Show which queries, lake tables and columns a table depends on (text, Mermaid or DOT).
    Lineage(lineage::Args),
    /// Run a read-only SQL query over the lake views.
    Query(query::Args),
    /// List the tables a query sees and the published tables; --describe prints the data dictionary.
    Tables(tables::Args),
    /// Check a published bundle: checksums, signature, manifest; --recompute re-derives it from the lake.
    Verify(verify::Args),
    /// List the schedules (schedules/*.toml) with their next fire times.
    Schedules(schedule::SchedulesArgs),
    /// The daemon: run the schedules until SIGTERM/SIGINT.
    Run(schedule::RunArgs),
    /// Last run of each scheduled job; exits 1 if a job's last run failed.
    Status(schedule::StatusArgs),
    /// Run one attempt of a scheduled job (started by `wasnaker run`).
    #[command(hide = true)]
    JobExec(schedule::JobExecArgs),
}

/// Entry point of the binary.
pub fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    init_logging(&cli.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let config_path = cli.config.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Ingest(args) => ingest::run(&load_config(cli.config.as_deref())?, args).await,
            Command::Report(args) => report::run(&load_config(cli.config.as_deref())?, args).await,
            Command::Check(args) => check::run(cli.config.as_deref(), args).await,
            Command::Test(args) => test::run(&load_config(cli.config.as_deref())?, args).await,
            Command::Lineage(args) => lineage::run(&load_config(cli.config.as_deref())?, args).await,
            Command::Query(args) => query::run(&load_config(cli.config.as_deref())?, args).await,
            Command::Verify(args) => verify::run(cli.config.as_deref(), args).await,
            Command::Tables(args) => tables::run(&load_config(cli.config.as_deref())?, args).await,
            Command::Schedules(args) => schedule::schedules(&load_config(cli.config.as_deref())?, args),
            Command::Run(args) => schedule::run(&load_config(cli.config.as_deref())?, config_path, cli.log, args).await,
            Command::Status(args) => schedule::status(&load_config(cli.config.as_deref())?, args),
            Command::JobExec(args) => schedule::job_exec(&load_config(cli.config.as_deref())?, args).await,
        }
    })
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let path = path.map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    Ok(Config::load(&path)?)
}
