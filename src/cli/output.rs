//! What the verbs print: summary tables and the terminal progress bar.

use std::process::ExitCode;

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};

use crate::contract::System;
use crate::ingest::{Action, IngestReport, NightOutcome, Progress};

/// A progress bar on a terminal; hidden (plain log lines only) otherwise.
pub struct BarProgress {
    bar: ProgressBar,
}

impl BarProgress {
    pub fn new() -> Self {
        let bar = ProgressBar::hidden();
        BarProgress { bar }
    }
}

impl Progress for BarProgress {
    fn start(&self, total: usize) {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) && total > 0 {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.bar.set_length(total as u64);
            if let Ok(style) = ProgressStyle::with_template("{spinner} ingest [{bar:30}] {pos}/{len} nights  {msg}  ({elapsed})") {
                self.bar.set_style(style.progress_chars("=> "));
            }
        }
    }
    fn night(&self, system: System, night: NaiveDate) {
        self.bar.set_message(format!("{system} {night}"));
        self.bar.inc(1);
    }
    fn done(&self) {
        self.bar.finish_and_clear();
    }
}

/// Print the per-night summary of an ingest run (or its plan).
pub fn print_ingest(report: &IngestReport, dry_run: bool) {
    let mut out = std::io::stdout().lock();
    let _ = write_ingest(&mut out, report, dry_run);
}

/// Write the per-night summary of an ingest run (or its plan).
pub fn write_ingest(out: &mut dyn std::io::Write, report: &IngestReport, dry_run: bool) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<10} {:<11} {:<8} {:>9} {:>9} {:>11}  note",
        "system", "night", "status", "read", "accepted", "quarantined"
    )?;
    let mut shown = 0usize;
    for n in &report.plan.nights {
        let result = report.results.iter().find(|r| r.system == n.system && r.night == n.night);
        let (status, read, acc, q, note) = match (result, &n.action) {
            (Some(r), _) => match &r.outcome {
                NightOutcome::Ingested { files, ignored_files, .. } => {
                    let mut notes: Vec<String> = files.iter().flat_map(|f| f.warnings.clone()).collect();
                    if !ignored_files.is_empty() {
                        notes.push(format!("ignored unknown file(s): {}", ignored_files.join(", ")));
                    }
                    if r.version > 1 {
                        notes.insert(0, format!("re-delivery v{} supersedes earlier", r.version));
                    }
                    (
                        "ingested".to_string(),
                        files.iter().map(|f| f.rows_read).sum::<u64>().to_string(),
                        files.iter().map(|f| f.rows_accepted).sum::<u64>().to_string(),
                        files.iter().map(|f| f.rows_quarantined).sum::<u64>().to_string(),
                        notes.join("; "),
                    )
                }
                NightOutcome::Rejected(rej) => ("REJECTED".into(), String::new(), String::new(), String::new(), rej.to_string()),
                NightOutcome::Failed(e) => (
                    "FAILED".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!("{e} (retried next run)"),
                ),
            },
            (None, Action::Ingest { version }) => {
                let s = if dry_run { "plan" } else { "skipped" };
                (
                    s.into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!("would ingest as v{version}"),
                )
            }
            (None, Action::Seen { version, status }) => {
                if !dry_run {
                    continue;
                }
                (
                    "seen".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!("delivery already {status:?} as v{version}; nothing to do").to_lowercase(),
                )
            }
            (None, Action::Waiting) => (
                "waiting".into(),
                String::new(),
                String::new(),
                String::new(),
                "no _DONE yet: still being written".into(),
            ),
            (None, Action::Late { .. }) => continue,
        };
        shown += 1;
        writeln!(
            out,
            "{:<10} {:<11} {:<8} {:>9} {:>9} {:>11}  {}",
            n.system.name(),
            n.night.to_string(),
            status,
            read,
            acc,
            q,
            note
        )?;
    }
    for system in System::ALL {
        let late: Vec<(NaiveDate, i64)> = report
            .plan
            .nights
            .iter()
            .filter_map(|n| match n.action {
                Action::Late { hours } if n.system == system => Some((n.night, hours)),
                _ => None,
            })
            .collect();
        if let Some((first, hours)) = late.first() {
            let dates: Vec<String> = late.iter().take(8).map(|(d, _)| d.to_string()).collect();
            let more = if late.len() > 8 {
                format!(" and {} more", late.len() - 8)
            } else {
                String::new()
            };
            writeln!(
                out,
                "LATE {system}: {} night(s) without a complete delivery {} h or more after they ended: {}{more} (the oldest {hours} h late since {first})",
                late.len(),
                report.late_after_hours,
                dates.join(" ")
            )?;
        }
    }
    if !report.plan.ignored_folders.is_empty() {
        writeln!(out, "ignored folders (not YYYY-MM-DD): {}", report.plan.ignored_folders.join(", "))?;
    }
    let seen = report
        .plan
        .nights
        .iter()
        .filter(|n| matches!(n.action, Action::Seen { .. }))
        .count();
    if dry_run {
        writeln!(
            out,
            "dry run: {} night(s) would be ingested; nothing was written",
            report.plan.to_ingest()
        )?;
    } else if report.results.is_empty() {
        writeln!(out, "nothing to ingest: {seen} night(s) already ingested, no new delivery")?;
    } else {
        writeln!(
            out,
            "{} ingested, {} rejected, {} failed; {seen} already seen earlier; {shown} row(s) above",
            report.ingested(),
            report.rejected(),
            report.failed(),
        )?;
    }
    Ok(())
}

/// 0 when everything landed; 2 when a night was rejected; 3 when a night
/// failed on I/O (retry).
pub fn ingest_exit_code(report: &IngestReport) -> ExitCode {
    if report.failed() > 0 {
        ExitCode::from(3)
    } else if report.rejected() > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
