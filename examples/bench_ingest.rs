//! Ingest benchmark: `cargo run --release --example bench_ingest [-- --multiplier N] [--dir D]`
//!
//! Generates the national-scale demo landing (unless `--dir` already holds
//! one), then measures, for each table of one night, one file at a time
//! (a JSON Lines file is parsed on the ingest's worker threads), its
//! throughput (rows/s, compressed and uncompressed MB/s) and the peak RSS
//! that table adds; finally the whole ingest of every night (wall time,
//! rows/s, peak RSS). Figures are printed; nothing is asserted.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use wasnaker::clock::FixedClock;
use wasnaker::contract::TABLES;
use wasnaker::demo::{DemoOptions, dir_sink};
use wasnaker::ingest::file::{FileFailure, FileTask, process};
use wasnaker::ingest::pseudonym::Pseudonymiser;
use wasnaker::ingest::state::SnapshotState;
use wasnaker::ingest::{IngestOptions, NoProgress};
use wasnaker::storage::Location;

/// The allocator of the `wasnaker` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Peak resident set size so far, in MB (Linux).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Reset the peak RSS counter (Linux ≥ 4.0).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    wasnaker::tune_allocator();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let multiplier: u32 = arg("--multiplier").map_or(Ok(1), |m| m.parse())?;
    let dir = arg("--dir")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("wasnaker-bench-x{multiplier}")));
    let landing = dir.join("landing");
    let mut opts = DemoOptions::national();
    opts.multiplier = multiplier;
    if !landing.join("inspection").exists() {
        let t = Instant::now();
        std::fs::create_dir_all(&landing)?;
        wasnaker::demo::generate(&opts, &mut dir_sink(&landing))?;
        eprintln!("generated national x{multiplier} landing in {:.1} s", t.elapsed().as_secs_f64());
    }
    let night = opts.last_night();
    let pseudo = Pseudonymiser::new(b"bench-key-0123456789abcdef0123456789");
    let work = dir.join("work");
    std::fs::create_dir_all(&work)?;
    println!("# ingest benchmark, national x{multiplier}, night {night}, one file at a time");
    println!(
        "{:<18} {:>10} {:>9} {:>10} {:>9} {:>9} {:>11} {:>12}",
        "table", "rows", "MB gz", "MB csv", "seconds", "rows/s", "MB/s (raw)", "peak +MB RSS"
    );
    let empty = SnapshotState::default();
    for table in TABLES.iter() {
        let path = landing.join(table.system.name()).join(night.to_string()).join(table.file);
        let gz_bytes = std::fs::metadata(&path)?.len();
        let mut raw = 0u64;
        {
            let mut d = flate2::read::MultiGzDecoder::new(std::fs::File::open(&path)?);
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = d.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                raw += n as u64;
            }
        }
        let base_rss = rss_mb();
        reset_peak();
        let task = FileTask {
            table,
            night,
            expected_sha256: None,
            pseudonymiser: &pseudo,
            work_dir: &work,
            base_rows_read: None,
            base_state: (table.kind == wasnaker::contract::Kind::Snapshot).then_some(&empty),
        };
        let t = Instant::now();
        let open = || -> Result<Box<dyn Read>, FileFailure> {
            let f = std::fs::File::open(&path).map_err(|e| FileFailure::Transient(e.to_string()))?;
            Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
        };
        let out = process(&task, &open).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let secs = t.elapsed().as_secs_f64();
        let peak = peak_rss_mb() - base_rss;
        println!(
            "{:<18} {:>10} {:>9.1} {:>10.1} {:>9.2} {:>9.0} {:>11.1} {:>12.0}",
            table.name,
            out.rows_read,
            gz_bytes as f64 / 1e6,
            raw as f64 / 1e6,
            secs,
            out.rows_read as f64 / secs,
            raw as f64 / 1e6 / secs,
            peak.max(0.0)
        );
    }
    // The whole ingest of every night, as `wasnaker ingest` runs it.
    let lake_dir = dir.join("lake");
    let _ = std::fs::remove_dir_all(&lake_dir);
    let lake = Location::parse(lake_dir.to_str().unwrap_or("lake"))?;
    let landing_loc = Location::parse(landing.to_str().unwrap_or("landing"))?;
    reset_peak();
    let t = Instant::now();
    let clock = FixedClock(wasnaker::clock::jakarta_midnight(night.succ_opt().unwrap_or(night)));
    let report = wasnaker::ingest::ingest(
        &landing_loc,
        &lake,
        Some(Arc::new(pseudo)),
        &work,
        &clock,
        36,
        &IngestOptions::default(),
        &NoProgress,
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    let rows: u64 = report
        .results
        .iter()
        .filter_map(|r| match &r.outcome {
            wasnaker::ingest::NightOutcome::Ingested { files, .. } => Some(files.iter().map(|f| f.rows_read).sum::<u64>()),
            _ => None,
        })
        .sum();
    let gz: u64 = walk_size(&landing);
    println!(
        "\n# full ingest: {} nights, {rows} rows, {:.0} MB gz in {secs:.1} s = {:.0} rows/s, {:.1} MB/s gz; peak RSS {:.0} MB; lake {:.0} MB",
        report.ingested(),
        gz as f64 / 1e6,
        rows as f64 / secs,
        gz as f64 / 1e6 / secs,
        peak_rss_mb(),
        walk_size(&lake_dir) as f64 / 1e6
    );
    Ok(())
}

fn walk_size(p: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else { return 0 };
    rd.filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk_size(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}
