//! `wasnaker demo` end to end: generate the synthetic landing, then run the
//! real pipeline on it (ingest; report and publish as they are available),
//! with a clock fixed just after the last night so the output is the same
//! on every machine.
//!
//! A re-delivered night is staged aside while the first delivery is
//! ingested, then put in place and ingested again, as it would happen in
//! production.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};

use super::{DemoError, DemoOptions, DemoSummary, GeneratedFile};
use crate::clock::{FixedClock, jakarta_midnight};
use crate::config::Config;
use crate::ingest::pseudonym::Pseudonymiser;
use crate::ingest::{self, IngestOptions, IngestReport, Progress};

/// Marker file that makes a folder safe for `demo` to wipe.
pub const MARKER: &str = ".wasnaker-demo";

#[derive(Debug, thiserror::Error)]
pub enum DemoRunError {
    #[error("{0} exists and was not made by `wasnaker demo` (no {MARKER} in it); choose another --out or remove it")]
    NotADemoFolder(PathBuf),
    #[error("demo folder {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Generate(#[from] DemoError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    #[error("publishing the demo month {month}: {source}")]
    Report {
        month: crate::clock::Month,
        #[source]
        source: crate::monthly::PublishMonthError,
    },
}

/// What the demo did.
pub struct DemoOutcome {
    pub out: PathBuf,
    pub config: Config,
    pub summary: DemoSummary,
    /// The first ingest (every night) and the one after the re-deliveries.
    pub ingests: Vec<IngestReport>,
    pub clock: FixedClock,
    /// Months published, oldest first.
    pub published: Vec<crate::clock::Month>,
    /// The `allowed_signers` file for `ssh-keygen -Y verify` / `wasnaker verify`.
    pub allowed_signers: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoRunError + '_ {
    move |source| DemoRunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The config the demo writes into its folder.
pub fn demo_config_text() -> &'static str {
    "# Written by `wasnaker demo`: the demo's own locations and keys.\n\
     [locations]\nlanding = \"landing\"\nlake = \"lake\"\npublish = \"publish\"\n\n\
     [pseudonymisation]\nkey_file = \"keys/pseudonym.key\"\n\n\
     [signing]\nkey_file = \"keys/signing_ed25519\"\n\n\
     [ingest]\nwork_dir = \"work\"\n\n\
     [report]\nqueries_dir = \"../../queries\"\n\n\
     [scheduler]\nschedules_dir = \"../../schedules\"\nstate_dir = \"state\"\n"
}

/// Prepare `out` (wiping an earlier demo), generate, ingest.
pub async fn run(out: &Path, opts: &DemoOptions, progress: &dyn Progress) -> Result<DemoOutcome, DemoRunError> {
    prepare(out)?;
    let keys = out.join("keys");
    std::fs::create_dir_all(&keys).map_err(io(&keys))?;
    // A fixed, public demo key: the demo's pseudonyms are reproducible. Never use it for real data.
    let key_path = keys.join("pseudonym.key");
    std::fs::write(&key_path, format!("wasnaker-demo-key-not-secret-{:016x}\n", opts.seed)).map_err(io(&key_path))?;
    // A deterministic demo signing key (public in effect: derived from the seed).
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&opts.seed.to_le_bytes());
    let signer = crate::publish::Signer::generate_demo(seed, "wasnaker-demo");
    signer.write_private_openssh(&keys.join("signing_ed25519"))?;
    let allowed_signers = keys.join("allowed_signers");
    std::fs::write(&allowed_signers, format!("{}\n", signer.allowed_signers_line("wasnaker-demo"))).map_err(io(&allowed_signers))?;
    let cfg_path = out.join("wasnaker.toml");
    let mut cfg_text = demo_config_text().to_string();
    let queries = std::path::absolute("queries").unwrap_or_else(|_| PathBuf::from("queries"));
    cfg_text = cfg_text.replace("\"../../queries\"", &format!("{:?}", queries.to_string_lossy()));
    // The shipped schedules, so `wasnaker --config <demo>/wasnaker.toml run` drives the demo.
    let schedules = std::path::absolute("schedules").unwrap_or_else(|_| PathBuf::from("schedules"));
    cfg_text = cfg_text.replace("\"../../schedules\"", &format!("{:?}", schedules.to_string_lossy()));
    std::fs::write(&cfg_path, &cfg_text).map_err(io(&cfg_path))?;
    let config = Config::load(&cfg_path)?;

    // Generate: first deliveries into the landing, re-deliveries aside.
    let landing = out.join("landing");
    let redelivery = out.join("redelivery");
    let mut staged: Vec<String> = Vec::new();
    let summary = super::generate(opts, &mut |file: GeneratedFile| {
        let target = landing.join(&file.path);
        let (dest, is_redelivery) = if target.exists() || staged.iter().any(|p| p.starts_with(parent_of(&file.path))) {
            (redelivery.join(&file.path), true)
        } else {
            (target, false)
        };
        if is_redelivery && !staged.contains(&file.path) {
            staged.push(file.path.clone());
        }
        let wrap = |e: std::io::Error| DemoError::Sink {
            path: file.path.clone(),
            source: Box::new(e),
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(wrap)?;
        }
        std::fs::write(&dest, &file.bytes).map_err(wrap)
    })?;

    // The run happens the morning after the last night (02:30 WIB + 1 day).
    let now = jakarta_midnight(summary.last_night + Duration::days(1)) + Duration::hours(26);
    let clock = FixedClock(Utc.from_utc_datetime(&now.naive_utc()));
    let lake = crate::storage::Location::open(&config.lake, &config.storage).map_err(ingest::IngestError::from)?;
    let landing_loc = crate::storage::Location::open(&config.landing, &config.storage).map_err(ingest::IngestError::from)?;
    let pseudo = Arc::new(Pseudonymiser::from_source(&config.pseudonym_key).map_err(ingest::IngestError::from)?);
    let work = out.join("work");
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    let mut ingests = Vec::new();
    let late = config.late_after_hours;
    let run_ingest = |clock: FixedClock| {
        let (landing_loc, lake, pseudo, work) = (landing_loc.clone(), lake.clone(), pseudo.clone(), work.clone());
        async move {
            ingest::ingest(
                &landing_loc,
                &lake,
                Some(pseudo),
                &work,
                &clock,
                late,
                &IngestOptions::default(),
                progress,
            )
            .await
        }
    };
    ingests.push(run_ingest(clock).await?);
    if !staged.is_empty() {
        // Put the re-deliveries in place: files first, `_DONE` last.
        staged.sort_by_key(|p| p.ends_with("/_DONE"));
        for p in &staged {
            let to = landing.join(p);
            std::fs::rename(redelivery.join(p), &to).map_err(io(&to))?;
        }
        std::fs::remove_dir_all(&redelivery).map_err(io(&redelivery))?;
        ingests.push(run_ingest(clock).await?);
    }
    // Publish a signed bundle for every complete month that has its snapshots.
    let mut published = Vec::new();
    let mut month = crate::clock::Month::of(summary.first_night);
    while month.last_day() <= summary.last_night {
        let req = crate::monthly::MonthlyRequest {
            month: Some(month),
            as_of: None,
            allow_stale_snapshot: false,
        };
        crate::monthly::publish_month(&config, &clock, &req)
            .await
            .map_err(|source| DemoRunError::Report { month, source })?;
        published.push(month);
        month = month.next();
    }
    Ok(DemoOutcome {
        out: out.to_path_buf(),
        config,
        summary,
        ingests,
        clock,
        published,
        allowed_signers,
    })
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Create `out`, or wipe an earlier demo in it.
fn prepare(out: &Path) -> Result<(), DemoRunError> {
    if out.exists() {
        let is_demo = out.join(MARKER).exists();
        let is_empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !is_demo && !is_empty {
            return Err(DemoRunError::NotADemoFolder(out.to_path_buf()));
        }
        for sub in ["landing", "lake", "publish", "work", "redelivery", "keys", "state"] {
            let p = out.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p).map_err(io(&p))?;
            }
        }
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let marker = out.join(MARKER);
    std::fs::write(&marker, "made by `wasnaker demo`; safe to delete\n").map_err(io(&marker))?;
    Ok(())
}
