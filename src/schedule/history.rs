//! The run history: every attempt of every job, durably, in one
//! append-only JSON Lines file (`<state>/runs.jsonl`).
//!
//! Each line is one event, written with a single `write` under an exclusive
//! `flock` and flushed to disk (`fdatasync`) before the run goes on, so a
//! crash loses at most the line being written. A torn last line (power cut
//! mid-write) is skipped when reading and counted, never fatal. Events are
//! facts, never rewritten: a run's state is derived by reading them in order.
//!
//! A **run** is a (job, slot) pair. It is *done* when an attempt finished
//! with `last: true`. A run that came due (fired, or found missed) and is not
//! done was interrupted — the daemon was killed or stopped before or during
//! it — and is run again at the next start.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rustix::fs::{FlockOperation, flock};
use serde::{Deserialize, Serialize};

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Did everything it should.
    Ok,
    /// Ran without error, but upstream data it waits for is not there yet
    /// (ingest: a night not delivered, or delivered and rejected).
    Incomplete,
    /// An error (including a timeout, a crash of the job process).
    Failed,
    /// Stopped by a shutdown before it finished; run again at the next start.
    Abandoned,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Incomplete => "incomplete",
            Outcome::Failed => "failed",
            Outcome::Abandoned => "abandoned",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A daemon started watching the job (catch-up starts from here).
    Watching,
    /// The slot came due (fired, or found missed at start): until it is
    /// done, every start of a daemon runs it.
    Due,
    Started,
    Finished,
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub job: String,
    pub event: Event,
    /// The slot (for `watching`: the instant the daemon started).
    pub slot: DateTime<Utc>,
    /// 1-based; 0 for `watching`.
    pub attempt: u32,
    /// When the event happened.
    pub at: DateTime<Utc>,
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// No further attempt follows (the run is done).
    #[serde(default)]
    pub last: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Record {
    pub fn new(job: &str, event: Event, slot: DateTime<Utc>, attempt: u32, at: DateTime<Utc>) -> Record {
        Record {
            job: job.to_string(),
            event,
            slot,
            attempt,
            at,
            pid: std::process::id(),
            outcome: None,
            last: false,
            rows: None,
            detail: None,
            error: None,
        }
    }
}

/// A run (job, slot) as the history tells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub job: String,
    pub slot: DateTime<Utc>,
    /// Start of the first attempt (`None`: due, not started yet).
    pub started: Option<DateTime<Utc>>,
    /// End of the last finished attempt.
    pub ended: Option<DateTime<Utc>>,
    pub attempts: u32,
    /// Outcome of the last finished attempt (`None`: none finished).
    pub outcome: Option<Outcome>,
    /// The last attempt finished with `last: true`.
    pub done: bool,
    pub rows: Option<u64>,
    pub detail: Option<String>,
    pub error: Option<String>,
}

impl Run {
    /// `ok`, `incomplete`, `failed`, `retrying` (an attempt failed, more
    /// follow), `running` (started, not finished), `pending` (due, never
    /// started) or `interrupted`.
    pub fn state(&self, in_progress: bool) -> &'static str {
        match (self.done, self.outcome) {
            (true, Some(o)) => o.name(),
            _ if in_progress => "running",
            _ if self.attempts == 0 => "pending",
            (false, Some(Outcome::Failed | Outcome::Incomplete)) => "retrying",
            _ => "interrupted",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("run history {path}: {source}")]
pub struct HistoryError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The history file of a state folder.
#[derive(Debug, Clone)]
pub struct History {
    path: PathBuf,
}

/// What reading the history found.
#[derive(Debug, Default)]
pub struct Contents {
    pub records: Vec<Record>,
    /// Lines that could not be read (a torn last line after a crash).
    pub skipped_lines: usize,
}

impl Contents {
    /// Runs in the order they were first recorded.
    pub fn runs(&self) -> Vec<Run> {
        let mut order: Vec<(String, DateTime<Utc>)> = Vec::new();
        let mut runs: BTreeMap<(String, DateTime<Utc>), Run> = BTreeMap::new();
        for r in &self.records {
            if r.event == Event::Watching {
                continue;
            }
            let key = (r.job.clone(), r.slot);
            let run = runs.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                Run {
                    job: r.job.clone(),
                    slot: r.slot,
                    started: None,
                    ended: None,
                    attempts: 0,
                    outcome: None,
                    done: false,
                    rows: None,
                    detail: None,
                    error: None,
                }
            });
            match r.event {
                Event::Started => {
                    run.started.get_or_insert(r.at);
                    run.attempts = run.attempts.max(r.attempt);
                    // A new attempt after an interrupted or abandoned one reopens the run.
                    if !run.done {
                        run.outcome = None;
                    }
                }
                Event::Finished => {
                    run.ended = Some(r.at);
                    run.outcome = r.outcome;
                    run.done = r.last;
                    run.rows = r.rows;
                    run.detail = r.detail.clone();
                    run.error = r.error.clone();
                }
                Event::Watching | Event::Due => {}
            }
        }
        order.into_iter().filter_map(|k| runs.remove(&k)).collect()
    }

    /// Whether (job, slot) is done: never run it again.
    pub fn is_done(&self, job: &str, slot: DateTime<Utc>) -> bool {
        self.records
            .iter()
            .any(|r| r.job == job && r.slot == slot && r.event == Event::Finished && r.last)
    }

    /// The latest instant up to which the job's slots were looked after: its
    /// latest recorded slot or the latest start of a daemon watching it.
    pub fn watched_until(&self, job: &str) -> Option<DateTime<Utc>> {
        self.records.iter().filter(|r| r.job == job).map(|r| r.slot).max()
    }

    /// Slots of the job that were started but are not done, oldest first.
    pub fn unfinished(&self, job: &str) -> Vec<DateTime<Utc>> {
        let mut v: Vec<DateTime<Utc>> = self
            .runs()
            .into_iter()
            .filter(|r| r.job == job && !r.done)
            .map(|r| r.slot)
            .collect();
        v.sort();
        v
    }
}

impl History {
    pub fn new(state_dir: &Path) -> History {
        History {
            path: state_dir.join("runs.jsonl"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: std::io::Error) -> HistoryError {
        HistoryError {
            path: self.path.clone(),
            source,
        }
    }

    /// Append one record durably.
    pub fn append(&self, record: &Record) -> Result<(), HistoryError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
        }
        let mut line = serde_json::to_string(record).map_err(|e| self.err(e.into()))?;
        line.push('\n');
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| self.err(e))?;
        flock(&f, FlockOperation::LockExclusive).map_err(|e| self.err(e.into()))?;
        // A torn last line (crash mid-write) must not swallow this record.
        let len = f.metadata().map_err(|e| self.err(e))?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            f.seek(SeekFrom::Start(len - 1)).map_err(|e| self.err(e))?;
            f.read_exact(&mut last).map_err(|e| self.err(e))?;
            if last[0] != b'\n' {
                line.insert(0, '\n');
            }
        }
        f.write_all(line.as_bytes()).map_err(|e| self.err(e))?;
        f.sync_data().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Read every record; a missing file is an empty history.
    pub fn read(&self) -> Result<Contents, HistoryError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Contents::default()),
            Err(e) => return Err(self.err(e)),
        };
        let mut c = Contents::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<Record>(line) {
                Ok(r) => c.records.push(r),
                Err(_) => c.skipped_lines += 1,
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn finished(job: &str, slot: DateTime<Utc>, attempt: u32, outcome: Outcome, last: bool) -> Record {
        let mut r = Record::new(job, Event::Finished, slot, attempt, slot);
        r.outcome = Some(outcome);
        r.last = last;
        r
    }

    #[test]
    fn runs_are_derived_from_events_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::new(dir.path());
        let s1 = t("2026-11-27T19:30:00Z");
        let s2 = t("2026-11-28T19:30:00Z");
        h.append(&Record::new("ingest", Event::Started, s1, 1, s1)).unwrap();
        h.append(&finished("ingest", s1, 1, Outcome::Incomplete, false)).unwrap();
        h.append(&Record::new("ingest", Event::Started, s1, 2, s1)).unwrap();
        h.append(&finished("ingest", s1, 2, Outcome::Ok, true)).unwrap();
        h.append(&Record::new("ingest", Event::Started, s2, 1, s2)).unwrap();
        // A crash mid-write leaves half a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(h.path())
            .unwrap()
            .write_all(b"{\"job\":\"ing")
            .unwrap();
        h.append(&Record::new("report", Event::Watching, s2, 0, s2)).unwrap();
        h.append(&Record::new("report", Event::Due, s1, 0, s2)).unwrap();
        let c = h.read().unwrap();
        assert_eq!(c.skipped_lines, 1);
        assert_eq!(c.records.len(), 7);
        let runs = c.runs();
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[2].state(false), "pending");
        assert_eq!(c.unfinished("report"), vec![s1]);
        assert_eq!((runs[0].attempts, runs[0].outcome, runs[0].done), (2, Some(Outcome::Ok), true));
        assert_eq!(runs[1].state(false), "interrupted");
        assert_eq!(runs[1].state(true), "running");
        assert!(c.is_done("ingest", s1));
        assert!(!c.is_done("ingest", s2));
        assert_eq!(c.unfinished("ingest"), vec![s2]);
        assert_eq!(c.watched_until("report"), Some(s2));
        assert_eq!(c.watched_until("other"), None);
    }
}
