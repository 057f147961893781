//! Nightly ingest: landing folders → validated, pseudonymised lake files.
//!
//! For each system, every night folder with a `_DONE` whose delivery has not
//! been seen is ingested, in date order: all contract files are read and
//! checked, bad rows go to quarantine, and only when every file of the night
//! succeeded are the files uploaded and the ledger entry committed — so a
//! night becomes visible entirely or not at all, and a crash at any moment
//! leaves the lake as it was (a retry rewrites the same invisible files).
//! A broken delivery is recorded as rejected and changes nothing else.
//!
//! Paths are built only from the contract's file names and from night dates
//! this module formats itself: never from a name found in `_DONE` or in a
//! listing. Nothing outside `<landing>/<system>/<date>/` is read.

pub mod batch;
pub mod cache;
pub mod done;
pub mod file;
pub mod jsonl;
pub mod pseudonym;
pub mod rows;
pub mod state;
pub mod validate;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tracing::{Instrument, info, warn};

use crate::clock::{Clock, jakarta_midnight};
use crate::config::Config;
use crate::contract::{Kind, System};
use crate::lake::ledger::{DeliveryStatus, FileEntry, LEDGER_FORMAT, Ledger, LedgerEntry, LedgerError, NightRef, Rejection};
use crate::lake::{self, LakeError};
use crate::storage::{Location, StorageError};
use cache::StateCache;
use file::{FileFailure, FileOutput, FileTask};
use pseudonym::{KeyError, Pseudonymiser};
use state::SnapshotState;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("scratch folder {path}: {source}")]
    Scratch {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ingest worker stopped unexpectedly: {0}")]
    Worker(String),
}

/// `_DONE` files read at the same time while planning.
const DONE_READS: usize = 16;
/// Lake files of a night uploaded at the same time.
const UPLOADS: usize = 4;

/// Which nights to consider and whether to write.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub dry_run: bool,
}

impl IngestOptions {
    fn admits(&self, d: NaiveDate) -> bool {
        self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t)
    }
}

/// What the plan says about a night folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new delivery: ingest it as this version.
    Ingest { version: u32 },
    /// This exact delivery (same `_DONE`) was seen before.
    Seen { version: u32, status: DeliveryStatus },
    /// Folder without `_DONE`: still being written.
    Waiting,
    /// No complete delivery this long after the night ended.
    Late { hours: i64 },
}

#[derive(Debug, Clone)]
pub struct PlannedNight {
    pub system: System,
    pub night: NaiveDate,
    pub action: Action,
    done: Option<bytes::Bytes>,
}

/// What a run will do, computed before it does anything.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub nights: Vec<PlannedNight>,
    /// Folders under a system that are not `YYYY-MM-DD` (ignored).
    pub ignored_folders: Vec<String>,
}

impl Plan {
    pub fn to_ingest(&self) -> usize {
        self.nights.iter().filter(|n| matches!(n.action, Action::Ingest { .. })).count()
    }
}

/// The outcome of one delivery processed by this run.
#[derive(Debug, Clone)]
pub struct NightResult {
    pub system: System,
    pub night: NaiveDate,
    pub version: u32,
    pub outcome: NightOutcome,
}

#[derive(Debug, Clone)]
pub enum NightOutcome {
    Ingested {
        files: Vec<FileEntry>,
        ignored_files: Vec<String>,
        /// Records of snapshot files recognised as their entity's unchanged
        /// row, and so not validated again (see [`file`]).
        rows_recognised: u64,
    },
    Rejected(Rejection),
    /// The landing or scratch space failed; nothing was recorded; the next run retries.
    Failed(String),
}

#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub plan: Plan,
    pub results: Vec<NightResult>,
    pub pseudonym_key_id: Option<String>,
    /// The deadline used for "late", in hours after a night ended.
    pub late_after_hours: i64,
}

impl IngestReport {
    pub fn rejected(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, NightOutcome::Rejected(_)))
            .count()
    }
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| matches!(r.outcome, NightOutcome::Failed(_))).count()
    }
    pub fn ingested(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, NightOutcome::Ingested { .. }))
            .count()
    }
}

/// Progress callbacks (a terminal bar, or nothing).
pub trait Progress: Send + Sync {
    fn start(&self, _total: usize) {}
    fn night(&self, _system: System, _night: NaiveDate) {}
    fn done(&self) {}
}

/// No progress display.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Compute what a run would do, without writing anything.
pub async fn plan(
    landing: &Location,
    ledger: &Ledger,
    clock: &dyn Clock,
    late_after_hours: i64,
    opts: &IngestOptions,
) -> Result<Plan, IngestError> {
    let mut plan = Plan::default();
    let now = clock.now();
    for system in System::ALL {
        let mut folders: BTreeSet<NaiveDate> = BTreeSet::new();
        for name in landing.list_dirs(system.name()).await? {
            match NaiveDate::parse_from_str(&name, "%Y-%m-%d") {
                Ok(d) if d.format("%Y-%m-%d").to_string() == name => {
                    folders.insert(d);
                }
                _ => plan.ignored_folders.push(format!("{system}/{}", file::truncate(&name, 40))),
            }
        }
        let mut complete: BTreeSet<NaiveDate> = BTreeSet::new();
        // Every run reads every night's `_DONE` (a re-delivery changes it):
        // concurrently, so a landing of years of nights on S3 stays quick.
        let nights: Vec<NaiveDate> = folders.iter().copied().filter(|d| opts.admits(*d)).collect();
        let dones: Vec<Option<bytes::Bytes>> = futures::stream::iter(nights.iter())
            .map(|night| async move { landing.get_opt(&format!("{system}/{night}/_DONE")).await })
            .buffered(DONE_READS)
            .try_collect()
            .await?;
        for (night, done) in nights.into_iter().zip(dones) {
            let action = match &done {
                None => Action::Waiting,
                Some(bytes) => {
                    complete.insert(night);
                    let sha = hex::encode(Sha256::digest(bytes));
                    match ledger.find_done(system, night, &sha) {
                        Some(e) => Action::Seen {
                            version: e.version,
                            status: e.status,
                        },
                        None => Action::Ingest {
                            version: ledger.next_version(system, night),
                        },
                    }
                }
            };
            plan.nights.push(PlannedNight {
                system,
                night,
                action,
                done,
            });
        }
        // Late nights: from the first night ever seen to the last whose deadline passed.
        let first = ledger.nights(system).chain(folders.iter().copied()).min();
        if let Some(first) = first {
            let mut d = first;
            loop {
                let deadline = jakarta_midnight(d + Duration::days(1)) + Duration::hours(late_after_hours);
                if deadline > now {
                    break;
                }
                let delivered = ledger.deliveries(system, d).iter().any(|_| true) || complete.contains(&d);
                if !delivered && opts.admits(d) {
                    let hours = (now - jakarta_midnight(d + Duration::days(1))).num_hours();
                    match plan.nights.iter_mut().find(|n| n.system == system && n.night == d) {
                        Some(n) => n.action = Action::Late { hours },
                        None => plan.nights.push(PlannedNight {
                            system,
                            night: d,
                            action: Action::Late { hours },
                            done: None,
                        }),
                    }
                }
                d += Duration::days(1);
            }
        }
    }
    plan.nights.sort_by_key(|n| (n.night, n.system));
    Ok(plan)
}

/// Run the nightly ingest with the config's locations.
pub async fn run(cfg: &Config, clock: &dyn Clock, opts: &IngestOptions, progress: &dyn Progress) -> Result<IngestReport, IngestError> {
    let landing = Location::open(&cfg.landing, &cfg.storage)?;
    let lake = Location::open(&cfg.lake, &cfg.storage)?;
    let work_dir = cfg.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&work_dir).map_err(|source| IngestError::Scratch {
        path: work_dir.clone(),
        source,
    })?;
    let pseudonymiser = if opts.dry_run {
        None
    } else {
        Some(Arc::new(Pseudonymiser::from_source(&cfg.pseudonym_key)?))
    };
    ingest(
        &landing,
        &lake,
        pseudonymiser,
        &work_dir,
        clock,
        cfg.late_after_hours,
        opts,
        progress,
    )
    .await
}

/// The ingest itself, with explicit locations (tests call this).
#[allow(clippy::too_many_arguments)]
pub async fn ingest(
    landing: &Location,
    lake: &Location,
    pseudonymiser: Option<Arc<Pseudonymiser>>,
    work_dir: &std::path::Path,
    clock: &dyn Clock,
    late_after_hours: i64,
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestReport, IngestError> {
    let ledger = Ledger::load(lake).await?;
    let plan = plan(landing, &ledger, clock, late_after_hours, opts).await?;
    let mut report = IngestReport {
        pseudonym_key_id: pseudonymiser.as_ref().map(|p| p.key_id().to_string()),
        late_after_hours,
        ..Default::default()
    };
    info!(to_ingest = plan.to_ingest(), dry_run = opts.dry_run, "plan");
    for n in &plan.nights {
        match &n.action {
            Action::Ingest { version } => tracing::debug!(system = %n.system, night = %n.night, version, "planned: ingest"),
            Action::Seen { version, .. } => tracing::debug!(system = %n.system, night = %n.night, version, "planned: already seen, skip"),
            Action::Waiting => info!(system = %n.system, night = %n.night, "no _DONE yet: waiting"),
            Action::Late { hours } => warn!(system = %n.system, night = %n.night, hours, "late: no complete delivery"),
        }
    }
    let Some(pseudonymiser) = pseudonymiser.filter(|_| !opts.dry_run) else {
        report.plan = plan;
        return Ok(report);
    };
    progress.start(plan.to_ingest());
    // The two systems share nothing but the ledger (different landing
    // folders, tables, lake files and ledger paths; a snapshot's base and
    // state are looked up within its own system), so their nights are read
    // and checked by two concurrent sequences, each in its own night order,
    // and both cores work. Their lake writes still happen night by night in
    // plan order (see [`Turns`]). The ledger is locked only for short reads
    // and for each commit.
    let ledger = tokio::sync::Mutex::new(ledger);
    let turns = Turns::new();
    let cache = StateCache::new(work_dir, lake, pseudonymiser.clone());
    let [first, second] = System::ALL.map(|system| {
        ingest_system(
            system,
            &plan,
            landing,
            lake,
            &ledger,
            &pseudonymiser,
            work_dir,
            &cache,
            progress,
            &turns,
        )
    });
    let (first, second) = futures::join!(first, second);
    let (mut results, second) = match (first, second) {
        (Ok(a), Ok(b)) => (a, b),
        // The error a one-by-one run would have met first.
        (Err((ta, a)), Err((tb, b))) => return Err(if ta <= tb { a } else { b }),
        (Err((_, e)), _) | (_, Err((_, e))) => return Err(e),
    };
    results.extend(second);
    // Reported in plan order, as when the nights ran one after the other.
    results.sort_by_key(|(i, _)| *i);
    report.results = results.into_iter().map(|(_, r)| r).collect();
    progress.done();
    report.plan = plan;
    Ok(report)
}

/// The order of the lake writes of the two concurrent sequences: each night
/// to ingest has a turn (its rank in plan order), and its uploads and ledger
/// commit wait until every earlier night is done. So the lake, after a run
/// that stops at any moment, holds exactly what a run taking the nights one
/// after the other would have left: a night is written only if every earlier
/// one was, and an error stops every later night before it writes anything.
struct Turns {
    /// The turn that may write now, and the first turn that stopped with an
    /// error (`usize::MAX`: none).
    state: tokio::sync::watch::Sender<(usize, usize)>,
}

impl Turns {
    fn new() -> Self {
        Turns {
            state: tokio::sync::watch::Sender::new((0, usize::MAX)),
        }
    }

    /// Wait until `turn` may write; false when an earlier night stopped the
    /// run (then nothing of this night may be written).
    async fn wait(&self, turn: usize) -> bool {
        let mut rx = self.state.subscribe();
        let ready = rx.wait_for(|&(now, failed)| now == turn || failed < turn).await;
        ready.is_ok_and(|s| s.0 == turn)
    }

    /// `turn` is over (its writes are done, or it had none).
    fn done(&self, turn: usize) {
        self.state.send_modify(|s| {
            if s.0 == turn {
                s.0 = turn + 1;
            }
        });
    }

    /// `turn` stopped with an error: no later night may write.
    fn failed(&self, turn: usize) {
        self.state.send_modify(|s| s.1 = s.1.min(turn));
    }
}

/// A night's place in [`Turns`].
#[derive(Clone, Copy)]
struct Turn<'a> {
    turns: &'a Turns,
    turn: usize,
}

impl Turn<'_> {
    async fn wait(self) -> bool {
        self.turns.wait(self.turn).await
    }
}

/// The planned nights of one system, in plan (date) order; each result is
/// paired with its night's position in the plan. An error comes with the
/// night's turn.
#[allow(clippy::too_many_arguments)]
async fn ingest_system(
    system: System,
    plan: &Plan,
    landing: &Location,
    lake: &Location,
    ledger: &tokio::sync::Mutex<Ledger>,
    pseudonymiser: &Arc<Pseudonymiser>,
    work_dir: &std::path::Path,
    cache: &StateCache,
    progress: &dyn Progress,
    turns: &Turns,
) -> Result<Vec<(usize, NightResult)>, (usize, IngestError)> {
    // Snapshot states made by this run: table → (delivery it describes,
    // state, its identity in the work folder's cache). Tables belong to one
    // system, so each sequence keeps its own.
    let mut states: States = HashMap::new();
    let mut results = Vec::new();
    let to_ingest = plan
        .nights
        .iter()
        .enumerate()
        .filter_map(|(i, planned)| match (&planned.action, &planned.done) {
            (Action::Ingest { version }, Some(done)) => Some((i, planned, *version, done)),
            _ => None,
        });
    for (turn, (i, planned, version, done)) in to_ingest.enumerate() {
        if planned.system != system {
            continue;
        }
        let turn = Turn { turns, turn };
        progress.night(planned.system, planned.night);
        let span = tracing::info_span!("night", system = %planned.system, night = %planned.night, version);
        // `instrument`, not `enter`: the other system's night runs on the
        // same task between this one's awaits.
        let outcome = async {
            let outcome = ingest_night(
                landing,
                lake,
                ledger,
                &mut states,
                pseudonymiser,
                work_dir,
                cache,
                planned,
                version,
                done,
                turn,
            )
            .await?;
            match &outcome {
                Some(NightOutcome::Ingested {
                    files, rows_recognised, ..
                }) => {
                    let read: u64 = files.iter().map(|f| f.rows_read).sum();
                    let q: u64 = files.iter().map(|f| f.rows_quarantined).sum();
                    info!(rows_read = read, rows_quarantined = q, rows_recognised, "night ingested");
                }
                Some(NightOutcome::Rejected(r)) => warn!(reason = %r, "night rejected"),
                Some(NightOutcome::Failed(e)) => warn!(error = %e, "night not ingested (will retry)"),
                None => {}
            }
            Ok::<_, IngestError>(outcome)
        }
        .instrument(span)
        .await;
        let outcome = match outcome {
            Ok(Some(o)) => o,
            // An earlier night stopped the run: this one wrote nothing.
            Ok(None) => break,
            Err(e) => {
                turns.failed(turn.turn);
                keep_states(cache, &states).await;
                return Err((turn.turn, e));
            }
        };
        // A night without writes (failed) also waits for its turn to end it.
        if !turn.wait().await {
            break;
        }
        turns.done(turn.turn);
        results.push((
            i,
            NightResult {
                system: planned.system,
                night: planned.night,
                version,
                outcome,
            },
        ));
    }
    keep_states(cache, &states).await;
    Ok(results)
}

type States = HashMap<&'static str, (NightRef, Arc<SnapshotState>, String)>;

/// Leave this run's last snapshot states in the work folder for the next
/// run; a failure only costs the next run the fingerprints (a warning).
async fn keep_states(cache: &StateCache, states: &States) {
    for (name, (_, state, identity)) in states {
        let Some(table) = crate::contract::table(name).filter(|_| !identity.is_empty()) else {
            continue;
        };
        let (cache, state, identity) = (cache.clone(), state.clone(), identity.clone());
        let kept = tokio::task::spawn_blocking(move || cache.store(table, &identity, &state)).await;
        match kept {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(table = %name, error = %e, "snapshot state not kept in the work folder; the next run validates every row"),
            Err(e) => warn!(table = %name, error = %e, "snapshot state not kept in the work folder"),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn ingest_night(
    landing: &Location,
    lake: &Location,
    ledger: &tokio::sync::Mutex<Ledger>,
    states: &mut States,
    pseudonymiser: &Arc<Pseudonymiser>,
    work_dir: &std::path::Path,
    cache: &StateCache,
    planned: &PlannedNight,
    version: u32,
    done_bytes: &bytes::Bytes,
    turn: Turn<'_>,
) -> Result<Option<NightOutcome>, IngestError> {
    let system = planned.system;
    let night = planned.night;
    let dir = format!("{system}/{night}");
    let done_sha256 = hex::encode(Sha256::digest(done_bytes));
    let mut entry = LedgerEntry {
        format: LEDGER_FORMAT,
        system,
        night,
        version,
        status: DeliveryStatus::Rejected,
        done_sha256: done_sha256.clone(),
        done_lists_checksums: false,
        program_version: env!("CARGO_PKG_VERSION").to_string(),
        pseudonym_key_id: Some(pseudonymiser.key_id().to_string()),
        rejection: None,
        files: Vec::new(),
        ignored_files: Vec::new(),
    };

    let rejected = |mut entry: LedgerEntry, r: Rejection| {
        entry.rejection = Some(r);
        entry
    };
    // 1. _DONE
    let parsed = match done::parse(system, done_bytes) {
        Ok(d) => d,
        Err(e) => {
            let r = Rejection {
                file: Some("_DONE".into()),
                record: None,
                line: e.line,
                column: None,
                message: e.message,
            };
            return commit_rejection(lake, ledger, rejected(entry, r), turn).await;
        }
    };
    entry.done_lists_checksums = parsed.checksums.is_some();
    // 2. Symbolic links anywhere in the night folder.
    let links = landing.symlinks_in(&dir)?;
    if let Some(link) = links.first() {
        let r = Rejection {
            file: Some(file::truncate(link, 80)),
            record: None,
            line: None,
            column: None,
            message: "is a symbolic link; no file in a night folder may be a link".into(),
        };
        return commit_rejection(lake, ledger, rejected(entry, r), turn).await;
    }
    // 3. Contract files present; anything else is ignored with a warning.
    // One listing of the folder gives names, sizes and versions.
    let listing = match landing.list_dir(&dir).await {
        Ok(l) => l,
        // Like a failed read: nothing is recorded, the next run tries again.
        Err(e) => return Ok(Some(NightOutcome::Failed(e.to_string()))),
    };
    let contract_files: Vec<&str> = system.tables().map(|t| t.file).collect();
    entry.ignored_files = listing
        .files
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != "_DONE" && !contract_files.contains(n))
        .chain(listing.dirs.iter().map(String::as_str))
        .map(|n| file::truncate(n, 80))
        .collect();
    for f in &entry.ignored_files {
        warn!(file = %f, "unknown file in the night folder, ignored");
    }
    let mut metas = Vec::new();
    for t in system.tables() {
        match listing.files.iter().find(|(n, _)| n == t.file) {
            Some((_, m)) => metas.push((t, m.clone())),
            None => {
                let r = Rejection {
                    file: Some(t.file.into()),
                    record: None,
                    line: None,
                    column: None,
                    message: "contract file missing from the night folder".into(),
                };
                return commit_rejection(lake, ledger, rejected(entry, r), turn).await;
            }
        }
    }
    // 4. Snapshot bases.
    let mut bases: HashMap<&'static str, (Option<NightRef>, Option<u64>, Arc<SnapshotState>)> = HashMap::new();
    for t in system.tables().filter(|t| t.kind == Kind::Snapshot) {
        let (base_ref, base_rows) = {
            let ledger = ledger.lock().await;
            let base_entry = ledger.snapshot_base(t, night);
            (
                base_entry.map(LedgerEntry::night_ref),
                base_entry.and_then(|e| e.file(t.name)).map(|f| f.rows_read),
            )
        };
        let state = match (base_ref, states.get(t.name)) {
            (None, _) => Arc::new(SnapshotState::default()),
            (Some(b), Some((at, s, _))) if *at == b => s.clone(),
            (Some(b), _) => {
                // The first night of a run: the state the previous run left,
                // or else rebuilt from the lake (read from a copy of the
                // ledger, so that the other system's commits do not wait).
                let identity = cache.identity(t, &*ledger.lock().await, b);
                let kept = match identity {
                    Some(identity) => {
                        let c = cache.clone();
                        (tokio::task::spawn_blocking(move || c.load(t, &identity)).await).map_err(|e| IngestError::Worker(e.to_string()))?
                    }
                    None => None,
                };
                match kept {
                    Some(s) => Arc::new(s),
                    None => {
                        let view = ledger.lock().await.clone();
                        Arc::new(lake::snapshot_state(lake, &view, t, b).await?)
                    }
                }
            }
        };
        bases.insert(t.name, (base_ref, base_rows, state));
    }
    // 5. Read every file (in parallel), in a blocking thread pool.
    let handle = tokio::runtime::Handle::current();
    let jobs: Vec<_> = metas
        .into_iter()
        .map(|(t, meta)| {
            let expected = parsed.checksums.as_ref().and_then(|c| c.get(t.file).cloned());
            let base = bases.get(t.name).cloned();
            (t, meta, expected, base)
        })
        .collect();
    let landing2 = landing.clone();
    let pseudo = pseudonymiser.clone();
    let work = work_dir.to_path_buf();
    let dir2 = dir.clone();
    let outputs: Vec<(&'static crate::contract::Table, Result<FileOutput, FileFailure>)> = tokio::task::spawn_blocking(move || {
        std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(t, meta, expected, base)| {
                    let landing = &landing2;
                    let pseudo = &pseudo;
                    let work = &work;
                    let dir = &dir2;
                    let handle = handle.clone();
                    s.spawn(move || {
                        let task = FileTask {
                            table: t,
                            night,
                            expected_sha256: expected.as_deref(),
                            pseudonymiser: pseudo,
                            work_dir: work,
                            base_rows_read: base.as_ref().and_then(|b| b.1),
                            base_state: base.as_ref().map(|b| b.2.as_ref()),
                        };
                        let open = || {
                            landing
                                .open_blocking(&format!("{dir}/{}", t.file), meta, handle.clone())
                                .map(|r| r as Box<dyn std::io::Read>)
                                .map_err(|e| FileFailure::Transient(e.to_string()))
                        };
                        file::process(&task, &open)
                    })
                })
                .collect();
            jobs.iter()
                .zip(handles)
                .map(|((t, ..), h)| {
                    let r = h
                        .join()
                        .unwrap_or_else(|_| Err(FileFailure::Transient(format!("worker for {} panicked", t.file))));
                    (*t, r)
                })
                .collect()
        })
    })
    .await
    .map_err(|e| IngestError::Worker(e.to_string()))?;

    // 6. Any failure: nothing of the night becomes visible.
    if let Some(msg) = outputs.iter().find_map(|(_, r)| match r {
        Err(FileFailure::Transient(m)) => Some(m.clone()),
        _ => None,
    }) {
        return Ok(Some(NightOutcome::Failed(msg)));
    }
    if let Some(r) = outputs.iter().find_map(|(_, r)| match r {
        Err(FileFailure::Reject(r)) => Some(r.clone()),
        _ => None,
    }) {
        return commit_rejection(lake, ledger, rejected(entry, r), turn).await;
    }
    // 7. Upload (a few files at a time), then commit the ledger entry last;
    // after every earlier night of the plan.
    if !turn.wait().await {
        return Ok(None);
    }
    let uploads: Vec<(&std::path::Path, String)> = outputs
        .iter()
        .filter_map(|(t, r)| r.as_ref().ok().map(|out| (t, out)))
        .flat_map(|(t, out)| {
            let data = out
                .data
                .as_ref()
                .map(|tmp| (tmp.path(), lake::data_path(t.name, night, version, &done_sha256)));
            let quarantine = (out.quarantine.as_ref()).map(|tmp| (tmp.path(), lake::quarantine_path(t.name, night, version, &done_sha256)));
            data.into_iter().chain(quarantine)
        })
        .collect();
    futures::stream::iter(uploads.iter())
        .map(|(tmp, rel)| lake.upload_file(tmp, rel))
        .buffer_unordered(UPLOADS)
        .try_collect::<Vec<()>>()
        .await?;
    drop(uploads);
    let mut new_states = Vec::new();
    let mut rows_recognised = 0;
    for (t, r) in outputs {
        let Ok(out) = r else { continue };
        let data = out.data.as_ref().map(|_| lake::data_path(t.name, night, version, &done_sha256));
        let quarantine = out
            .quarantine
            .as_ref()
            .map(|_| lake::quarantine_path(t.name, night, version, &done_sha256));
        for w in &out.warnings {
            warn!(warning = %w, "accepted with a warning");
        }
        let base = bases.get(t.name).and_then(|b| b.0);
        if let Some(changes) = out.new_state {
            new_states.push((t.name, changes));
        }
        rows_recognised += out.rows_recognised;
        entry.files.push(FileEntry {
            table: t.name.to_string(),
            file: t.file.to_string(),
            sha256: out.sha256,
            bytes: out.bytes,
            rows_read: out.rows_read,
            rows_accepted: out.rows_accepted,
            rows_quarantined: out.rows_quarantined,
            rows_stored: out.rows_stored,
            data,
            quarantine,
            base,
            warnings: out.warnings,
        });
    }
    entry.status = DeliveryStatus::Ingested;
    let files = entry.files.clone();
    let ignored_files = entry.ignored_files.clone();
    let at = entry.night_ref();
    let mut ledger = ledger.lock().await;
    ledger.commit(lake, entry).await?;
    for (name, changes) in new_states {
        // The base becomes the new snapshot in place (no copy of millions of
        // keys a night) once nothing else holds it; until the commit it was
        // kept as it was, for the next night if this one had failed.
        let Some((_, _, mut state)) = bases.remove(name) else { continue };
        states.remove(name);
        changes.apply(Arc::make_mut(&mut state));
        // Without an identity (not reached: the entry was just committed)
        // the state is used by this run only.
        let identity = crate::contract::table(name).and_then(|t| cache.identity(t, &ledger, at));
        states.insert(name, (at, state, identity.unwrap_or_default()));
    }
    Ok(Some(NightOutcome::Ingested {
        files,
        ignored_files,
        rows_recognised,
    }))
}

async fn commit_rejection(
    lake: &Location,
    ledger: &tokio::sync::Mutex<Ledger>,
    entry: LedgerEntry,
    turn: Turn<'_>,
) -> Result<Option<NightOutcome>, IngestError> {
    if !turn.wait().await {
        return Ok(None);
    }
    let r = entry.rejection.clone().unwrap_or_else(|| Rejection {
        file: None,
        record: None,
        line: None,
        column: None,
        message: "rejected".into(),
    });
    ledger.lock().await.commit(lake, entry).await?;
    Ok(Some(NightOutcome::Rejected(r)))
}
