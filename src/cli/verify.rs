//! `wasnaker verify BUNDLE`: check a published bundle offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle folder or URL (…/YYYY-MM/).
    pub bundle: String,
    /// An ssh `allowed_signers` file naming the ministry's key (default: the key the manifest names).
    #[arg(long)]
    pub allowed_signers: Option<PathBuf>,
    /// Also re-derive every table from the lake (`locations.lake` of --config) with the
    /// manifest's SQL, parameters and as_of, and compare it byte for byte with the bundle.
    #[arg(long)]
    pub recompute: bool,
}

pub async fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let loc = crate::storage::Location::parse(&args.bundle)?;
    let mut report = crate::verify::verify(&loc, args.allowed_signers.as_deref()).await?;
    if args.recompute {
        let cfg = super::load_config(config)?;
        let lake = crate::storage::Location::parse(&cfg.lake)?;
        crate::verify::recompute(&mut report, &loc, &lake).await?;
    }
    println!("{report}");
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(4) })
}
