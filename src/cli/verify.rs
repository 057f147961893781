//! `wasnaker verify BUNDLE`: check a published bundle offline.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle folder or URL (…/YYYY-MM/).
    pub bundle: String,
    /// An ssh `allowed_signers` file naming the ministry's key (default: the key the manifest names).
    #[arg(long)]
    pub allowed_signers: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loc = crate::storage::Location::parse(&args.bundle)?;
    let report = crate::verify::verify(&loc, args.allowed_signers.as_deref()).await?;
    println!("{report}");
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(4) })
}
