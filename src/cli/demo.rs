//! `wasnaker demo`: synthetic landing data through the whole pipeline.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::demo::{DemoOptions, Scale};
use crate::ingest::NightOutcome;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScaleArg {
    Demo,
    National,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for the demo's landing, lake, bundles, config and keys.
    #[arg(long, default_value = "wasnaker-data/demo")]
    pub out: PathBuf,
    /// `demo` (seconds) or `national` (Indonesia's size, for benchmarks).
    #[arg(long, value_enum, default_value = "demo")]
    pub scale: ScaleArg,
    /// Multiply the national data (benchmarks).
    #[arg(long, default_value_t = 1)]
    pub multiplier: u32,
    /// Seed of the generator.
    #[arg(long)]
    pub seed: Option<u64>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut opts = match args.scale {
        ScaleArg::Demo => DemoOptions::demo(),
        ScaleArg::National => DemoOptions::national(),
    };
    opts.multiplier = args.multiplier;
    if let Some(s) = args.seed {
        opts.seed = s;
    }
    let scale = if opts.scale == Scale::Demo { "demo" } else { "national" };
    eprintln!(
        "generating the {scale}-scale landing ({} .. {}) in {}",
        opts.first_night,
        opts.last_night(),
        args.out.display()
    );
    let progress = super::output::BarProgress::new();
    let outcome = crate::demo::run::run(&args.out, &opts, &progress).await?;
    let s = &outcome.summary;
    println!(
        "generated {} files ({:.1} MB) for {} .. {}",
        s.files,
        s.bytes as f64 / 1e6,
        s.first_night,
        s.last_night
    );
    // Per-night summary: one line per month and system, and every notable night.
    let mut months: BTreeMap<(String, &str), (u32, u64, u64, u64)> = BTreeMap::new();
    let mut notable = Vec::new();
    for report in &outcome.ingests {
        for r in &report.results {
            let m = months.entry((r.night.format("%Y-%m").to_string(), r.system.name())).or_default();
            match &r.outcome {
                NightOutcome::Ingested { files, .. } => {
                    m.0 += 1;
                    m.1 += files.iter().map(|f| f.rows_read).sum::<u64>();
                    m.2 += files.iter().map(|f| f.rows_accepted).sum::<u64>();
                    m.3 += files.iter().map(|f| f.rows_quarantined).sum::<u64>();
                    if r.version > 1 {
                        notable.push(format!(
                            "{} {} re-delivered: version {} supersedes the first",
                            r.system, r.night, r.version
                        ));
                    }
                }
                NightOutcome::Rejected(rej) => notable.push(format!("{} {} REJECTED: {rej}", r.system, r.night)),
                NightOutcome::Failed(e) => notable.push(format!("{} {} FAILED: {e}", r.system, r.night)),
            }
        }
        for n in &report.plan.nights {
            if let crate::ingest::Action::Late { hours } = n.action {
                notable.push(format!(
                    "{} {} missing: no delivery {hours} h after the night ended (shows in data_quality)",
                    n.system, n.night
                ));
            }
        }
    }
    println!(
        "\n{:<8} {:<11} {:>7} {:>10} {:>10} {:>12}",
        "month", "system", "nights", "rows read", "accepted", "quarantined"
    );
    for ((month, system), (n, read, acc, q)) in &months {
        println!("{month:<8} {system:<11} {n:>7} {read:>10} {acc:>10} {q:>12}");
    }
    notable.sort();
    notable.dedup();
    if !notable.is_empty() {
        println!("\nnotable nights:");
        for n in &notable {
            println!("  {n}");
        }
    }
    let nights_file = outcome.out.join("ingest-summary.txt");
    let mut f = std::fs::File::create(&nights_file)?;
    for report in &outcome.ingests {
        super::output::write_ingest(&mut f, report, false)?;
    }
    println!("\nper-night summary of every ingested night: {}", nights_file.display());
    let cfg = outcome.out.join("wasnaker.toml");
    if let Some(last) = outcome.published.last() {
        println!(
            "\npublished {} signed monthly bundles ({} .. {last}) in {}",
            outcome.published.len(),
            outcome.published[0],
            outcome.config.publish
        );
        println!("newest report: {}/{last}/report.html", outcome.config.publish);
        println!(
            "verify:        wasnaker verify {}/{last} --allowed-signers {}",
            outcome.config.publish,
            outcome.allowed_signers.display()
        );
    }
    println!("\nlake:      {}", outcome.config.lake);
    println!("landing:   {}", outcome.config.landing);
    println!(
        "try:       wasnaker --config {} query \"SELECT province_code, count(*) FROM complaints GROUP BY 1 ORDER BY 2 DESC\"",
        cfg.display()
    );
    Ok(ExitCode::SUCCESS)
}
