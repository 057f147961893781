//! One attempt of a job for a slot: what `wasnaker job-exec` runs in the
//! job process the daemon starts. The result goes back to the daemon as one
//! JSON line on stdout.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::history::Outcome;
use super::{JobKind, Schedule};
use crate::clock::{Clock, Month, jakarta};
use crate::config::Config;
use crate::contract::System;
use crate::ingest::{self, IngestOptions, NightOutcome, NoProgress};
use crate::lake::ledger::{DeliveryStatus, Ledger};
use crate::monthly::{self, MonthlyRequest};
use crate::storage::Location;

/// What one attempt did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptResult {
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// A short, personal-data-free account ("3 nights ingested; waiting for …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AttemptResult {
    pub fn failed(error: impl Into<String>) -> AttemptResult {
        AttemptResult {
            outcome: Outcome::Failed,
            rows: None,
            detail: None,
            error: Some(error.into()),
        }
    }
}

/// The extract night a nightly ingest at `slot` waits for: the Jakarta day
/// before the slot's Jakarta date.
pub fn expected_night(slot: DateTime<Utc>) -> NaiveDate {
    slot.with_timezone(&jakarta()).date_naive() - Duration::days(1)
}

/// The month a report at `slot` publishes: the month before the slot's
/// Jakarta date.
pub fn report_month(slot: DateTime<Utc>) -> Month {
    Month::of(slot.with_timezone(&jakarta()).date_naive()).prev()
}

/// Run one attempt; errors become a `failed` result, never a panic.
pub async fn execute(cfg: &Config, schedule: &Schedule, slot: DateTime<Utc>, clock: &dyn Clock) -> AttemptResult {
    let result = match schedule.job {
        JobKind::Ingest => run_ingest(cfg, slot, clock).await,
        JobKind::Report => run_report(cfg, slot, clock).await,
        JobKind::Verify => run_verify(cfg).await,
    };
    result.unwrap_or_else(|e| AttemptResult::failed(crate::error_chain(&e)))
}

async fn run_ingest(cfg: &Config, slot: DateTime<Utc>, clock: &dyn Clock) -> anyhow::Result<AttemptResult> {
    let report = ingest::run(cfg, clock, &IngestOptions::default(), &NoProgress).await?;
    let mut rows = 0u64;
    let mut failed = Vec::new();
    for r in &report.results {
        match &r.outcome {
            NightOutcome::Ingested { files, .. } => rows += files.iter().map(|f| f.rows_read).sum::<u64>(),
            NightOutcome::Failed(e) => failed.push(format!("{} {}: {e}", r.system, r.night)),
            NightOutcome::Rejected(_) => {}
        }
    }
    let mut detail = format!("{} night(s) ingested, {} rejected", report.ingested(), report.rejected());
    if !failed.is_empty() {
        return Ok(AttemptResult {
            outcome: Outcome::Failed,
            rows: Some(rows),
            detail: Some(detail),
            error: Some(failed.join("; ")),
        });
    }
    let night = expected_night(slot);
    let ledger = Ledger::load(&Location::open(&cfg.lake, &cfg.storage)?).await?;
    let mut waiting = Vec::new();
    for system in System::ALL {
        if ledger.effective(system, night).is_some() {
            continue;
        }
        let rejected = ledger
            .deliveries(system, night)
            .iter()
            .any(|e| e.status == DeliveryStatus::Rejected);
        waiting.push(format!(
            "{system} {night}{}",
            if rejected {
                " (rejected: needs a new delivery)"
            } else {
                " (not delivered)"
            }
        ));
    }
    let outcome = if waiting.is_empty() {
        Outcome::Ok
    } else {
        detail.push_str(&format!("; waiting for {}", waiting.join(", ")));
        Outcome::Incomplete
    };
    Ok(AttemptResult {
        outcome,
        rows: Some(rows),
        detail: Some(detail),
        error: None,
    })
}

async fn run_report(cfg: &Config, slot: DateTime<Utc>, clock: &dyn Clock) -> anyhow::Result<AttemptResult> {
    let month = report_month(slot);
    let req = MonthlyRequest {
        month: Some(month),
        as_of: None,
        allow_stale_snapshot: cfg.report.allow_stale_snapshot,
    };
    let (report, bundle) = monthly::publish_month(cfg, clock, &req).await?;
    let rows: usize = report.tables.iter().map(|t| t.num_rows()).sum();
    Ok(AttemptResult {
        outcome: Outcome::Ok,
        rows: Some(rows as u64),
        detail: Some(format!("published {month} (as_of {}), {} files", report.as_of, bundle.files.len())),
        error: None,
    })
}

async fn run_verify(cfg: &Config) -> anyhow::Result<AttemptResult> {
    let root = Location::open(&cfg.publish, &cfg.storage)?;
    let mut months: Vec<Month> = root.list_dirs("").await?.iter().filter_map(|d| Month::parse(d)).collect();
    months.sort();
    let Some(latest) = months.last() else {
        return Ok(AttemptResult {
            outcome: Outcome::Ok,
            rows: Some(0),
            detail: Some("nothing published yet".into()),
            error: None,
        });
    };
    let bundle = root.join(&latest.to_string());
    // With a signing key configured, the signature must be by that key (its
    // public half as the only allowed signer), not merely by the key the
    // bundle names: a re-signed, tampered bundle must fail.
    let trusted = match &cfg.signing_key {
        Some(path) => {
            let signer = crate::publish::Signer::from_openssh_file(path)?;
            let mut file = tempfile::NamedTempFile::new()?;
            std::io::Write::write_all(&mut file, signer.allowed_signers_line("wasnaker-publisher").as_bytes())?;
            Some(file)
        }
        None => None,
    };
    let report = crate::verify::verify(&bundle, trusted.as_ref().map(|f| f.path())).await?;
    let problems: Vec<String> = report.problems().map(|c| format!("{} {}: {}", c.kind, c.file, c.detail)).collect();
    Ok(AttemptResult {
        outcome: if problems.is_empty() { Outcome::Ok } else { Outcome::Failed },
        rows: Some(report.checks.len() as u64),
        detail: Some(format!("bundle {latest}: {} checks", report.checks.len())),
        error: (!problems.is_empty()).then(|| problems.join("; ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_dates_are_jakarta_dates() {
        // 02:30 WIB on 29 Nov is 19:30 UTC on 28 Nov: the night waited for is 28 Nov.
        let slot = DateTime::parse_from_rfc3339("2026-11-28T19:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(expected_night(slot), NaiveDate::from_ymd_opt(2026, 11, 28).unwrap());
        // 06:00 WIB on 2 Dec is 23:00 UTC on 1 Dec: the month is November.
        let slot = DateTime::parse_from_rfc3339("2026-12-01T23:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(report_month(slot).to_string(), "2026-11");
    }
}
