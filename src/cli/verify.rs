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
    // The config is needed for --recompute; for a bundle in an object store
    // its [storage] (endpoint, credential variables) is used when there is
    // one, else the cloud's standard environment variables; a folder needs none.
    let remote = crate::config::has_scheme(&args.bundle) && !args.bundle.starts_with("file:");
    let cfg = if args.recompute || config.is_some() || (remote && Path::new(crate::config::DEFAULT_FILE).exists()) {
        Some(super::load_config(config)?)
    } else {
        None
    };
    let storage = cfg.as_ref().map(|c| c.storage.clone()).unwrap_or_default();
    let loc = crate::storage::Location::open(&args.bundle, &storage)?;
    let mut report = crate::verify::verify(&loc, args.allowed_signers.as_deref()).await?;
    if let (true, Some(cfg)) = (args.recompute, &cfg) {
        let lake = crate::storage::Location::open(&cfg.lake, &cfg.storage)?;
        crate::verify::recompute_on(&cfg.engine, &mut report, &loc, &lake).await?;
    }
    println!("{report}");
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(4) })
}
