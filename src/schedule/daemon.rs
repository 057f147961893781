//! `wasnaker run`: fire every schedule at its slots, catch up what was
//! missed, one run of a job at a time, retries with back-off, a clean stop.
//!
//! Timing is tokio-cron-scheduler's: each schedule is armed as a one-shot
//! job at its next slot, re-armed after it fires. The slot itself is computed
//! here (croner, in the schedule's IANA zone) rather than by the library's
//! cron jobs, because the library turns a zone into the fixed offset of the
//! moment the job is created, which is wrong across a daylight-saving change.
//!
//! Each job has a worker that takes its slots in order. For a slot it:
//! takes the job's [`JobLock`] (waiting while another process holds it),
//! re-reads the history and skips the slot if it is done, then runs attempts
//! through a [`Runner`] — by default a separate `wasnaker job-exec` process,
//! so a panic, a leak or an out-of-memory kill in a job never takes the
//! daemon down, and a timeout is a clean kill: the lake and the publish root
//! commit last, so a killed job leaves nothing half-visible.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, warn};

use super::Schedule;
use super::history::{Contents, Event, History, HistoryError, Outcome, Record};
use super::job::AttemptResult;
use super::lock::JobLock;
use crate::clock::Clock;

/// Runs one attempt of a job for a slot.
pub trait Runner: Send + Sync {
    /// Run attempt `attempt` of `schedule` for `slot`. When `stop` is
    /// cancelled the runner lets the attempt finish or abandons it
    /// (`Outcome::Abandoned`); it enforces `schedule.timeout` itself.
    fn attempt<'a>(
        &'a self,
        schedule: &'a Schedule,
        slot: DateTime<Utc>,
        attempt: u32,
        stop: CancellationToken,
    ) -> BoxFuture<'a, AttemptResult>;
}

/// The slot as written in logs, the history and on job command lines.
pub fn slot_text(slot: DateTime<Utc>) -> String {
    slot.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("the timer (tokio-cron-scheduler) failed: {0}")]
    Timer(String),
}

/// The daemon's parts; everything it touches on disk is under `state_dir`.
pub struct Daemon {
    pub schedules: Vec<Schedule>,
    pub state_dir: PathBuf,
    pub runner: Arc<dyn Runner>,
    pub clock: Arc<dyn Clock>,
}

impl Daemon {
    pub fn history(&self) -> History {
        History::new(&self.state_dir)
    }

    pub fn locks_dir(state_dir: &Path) -> PathBuf {
        state_dir.join("locks")
    }

    /// The slots to run at start for each schedule, oldest first: slots
    /// started but not done (interrupted), then — for schedules that catch
    /// up — the slots between the last one the history knows of and `now`.
    /// A job the history has never seen has nothing to catch up.
    pub fn catch_up_plan(&self, contents: &Contents, now: DateTime<Utc>) -> Vec<Vec<DateTime<Utc>>> {
        self.schedules
            .iter()
            .map(|s| {
                let mut slots: BTreeSet<DateTime<Utc>> = contents.unfinished(&s.name).into_iter().filter(|t| *t <= now).collect();
                if s.catch_up
                    && let Some(since) = contents.watched_until(&s.name)
                {
                    slots.extend(s.slots_between(since, now, s.max_catch_up));
                }
                slots.into_iter().filter(|t| !contents.is_done(&s.name, *t)).collect()
            })
            .collect()
    }

    /// Run until `stop` is cancelled, then let running jobs finish or
    /// abandon them, and return.
    pub async fn run(&self, stop: CancellationToken) -> Result<(), DaemonError> {
        let history = self.history();
        let contents = history.read()?;
        if contents.skipped_lines > 0 {
            warn!(
                file = %history.path().display(),
                lines = contents.skipped_lines,
                "run history has unreadable lines (a crash mid-write); they are ignored"
            );
        }
        let now = self.clock.now();
        let plan = self.catch_up_plan(&contents, now);
        let mut workers = Vec::new();
        let mut senders = Vec::new();
        for (schedule, missed) in self.schedules.iter().zip(plan) {
            history.append(&Record::new(&schedule.name, Event::Watching, now, 0, now))?;
            let (tx, rx) = mpsc::unbounded_channel();
            if !missed.is_empty() {
                info!(job = %schedule.name, slots = missed.len(), first = %slot_text(missed[0]), "catching up missed slots");
            }
            for slot in missed {
                history.append(&Record::new(&schedule.name, Event::Due, slot, 0, now))?;
                let _ = tx.send(slot);
            }
            let worker = Worker {
                schedule: schedule.clone(),
                history: history.clone(),
                locks_dir: Self::locks_dir(&self.state_dir),
                runner: self.runner.clone(),
                clock: self.clock.clone(),
                stop: stop.clone(),
            };
            workers.push(tokio::spawn(worker.run(rx)));
            senders.push(tx);
        }

        let timer = tokio_cron_scheduler::JobScheduler::new()
            .await
            .map_err(|e| DaemonError::Timer(e.to_string()))?;
        timer.start().await.map_err(|e| DaemonError::Timer(e.to_string()))?;
        let mut armers = Vec::new();
        for (schedule, tx) in self.schedules.iter().zip(senders) {
            if let Some(next) = schedule.next_after(now) {
                info!(job = %schedule.name, next = %schedule.local(next), "scheduled");
            }
            armers.push(tokio::spawn(arm(
                timer.clone(),
                schedule.clone(),
                self.clock.clone(),
                now,
                tx,
                history.clone(),
                stop.clone(),
            )));
        }

        stop.cancelled().await;
        info!("stopping: no new runs; waiting for running jobs");
        for a in armers {
            let _ = a.await;
        }
        for w in workers {
            if let Err(e) = w.await {
                error!(error = %e, "a job worker ended abnormally");
            }
        }
        let mut timer = timer;
        let _ = timer.shutdown().await;
        info!("stopped");
        Ok(())
    }
}

/// Arm the schedule's next slot as a one-shot timer job; when it fires,
/// hand the slot to the worker and arm the following one.
async fn arm(
    timer: tokio_cron_scheduler::JobScheduler,
    schedule: Schedule,
    clock: Arc<dyn Clock>,
    mut cursor: DateTime<Utc>,
    worker: mpsc::UnboundedSender<DateTime<Utc>>,
    history: History,
    stop: CancellationToken,
) {
    while let Some(slot) = schedule.next_after(cursor) {
        let wait = (slot - clock.now()).to_std().unwrap_or(Duration::ZERO);
        let (fired_tx, fired_rx) = tokio::sync::oneshot::channel::<()>();
        let fired_tx = Arc::new(Mutex::new(Some(fired_tx)));
        let job = tokio_cron_scheduler::Job::new_one_shot_at_instant_async(std::time::Instant::now() + wait, move |_id, _timer| {
            let tx = fired_tx.lock().ok().and_then(|mut g| g.take());
            Box::pin(async move {
                if let Some(tx) = tx {
                    let _ = tx.send(());
                }
            })
        });
        let id = match job {
            Ok(job) => match timer.add(job).await {
                Ok(id) => id,
                Err(e) => {
                    error!(job = %schedule.name, error = %e, "cannot arm the timer; the job is not scheduled any more");
                    return;
                }
            },
            Err(e) => {
                error!(job = %schedule.name, error = %e, "cannot arm the timer; the job is not scheduled any more");
                return;
            }
        };
        tokio::select! {
            fired = fired_rx => {
                if fired.is_err() {
                    return;
                }
                // The library rounds the wait down to whole seconds: never start before the slot.
                if let Ok(early) = (slot - clock.now()).to_std() {
                    tokio::time::sleep(early).await;
                }
                // Due before queued: a slot queued behind a long run survives a restart.
                if let Err(e) = history.append(&Record::new(&schedule.name, Event::Due, slot, 0, clock.now())) {
                    error!(job = %schedule.name, error = %e, "cannot record the slot in the history");
                }
                if worker.send(slot).is_err() {
                    return;
                }
                cursor = slot;
            }
            () = stop.cancelled() => {
                let _ = timer.remove(&id).await;
                return;
            }
        }
    }
}

struct Worker {
    schedule: Schedule,
    history: History,
    locks_dir: PathBuf,
    runner: Arc<dyn Runner>,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
}

impl Worker {
    async fn run(self, mut slots: mpsc::UnboundedReceiver<DateTime<Utc>>) {
        let this = Arc::new(self);
        loop {
            let slot = tokio::select! {
                biased;
                () = this.stop.cancelled() => break,
                s = slots.recv() => match s { Some(s) => s, None => break },
            };
            let span = tracing::info_span!("run", job = %this.schedule.name, slot = %slot_text(slot));
            // A bug here must not end the worker: the run is its own task.
            let task = tokio::spawn({
                let this = this.clone();
                async move { this.run_slot(slot).await }.instrument(span.clone())
            });
            if let Err(e) = task.await {
                let _enter = span.enter();
                error!(error = %e, "the run ended abnormally; recorded as failed");
                let mut r = Record::new(&this.schedule.name, Event::Finished, slot, 0, this.clock.now());
                r.outcome = Some(Outcome::Failed);
                r.last = true;
                r.error = Some(format!("internal error: {e}"));
                if let Err(e) = this.history.append(&r) {
                    error!(error = %e, "cannot record the run");
                }
            }
        }
    }

    async fn lock(&self) -> Option<JobLock> {
        let mut told = false;
        loop {
            match JobLock::try_acquire(&self.locks_dir, &self.schedule.name) {
                Ok(Some(lock)) => return Some(lock),
                Ok(None) => {
                    if !told {
                        let pid = JobLock::holder(&self.locks_dir, &self.schedule.name).ok().flatten();
                        info!(holder_pid = pid, "another process is running this job: waiting for it");
                        told = true;
                    }
                }
                Err(e) => {
                    error!(dir = %self.locks_dir.display(), error = %e, "cannot take the job lock");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = self.stop.cancelled() => return None,
            }
        }
    }

    fn record(&self, r: &Record) {
        if let Err(e) = self.history.append(r) {
            error!(error = %e, "cannot record the run in the history");
        }
    }

    async fn run_slot(&self, slot: DateTime<Utc>) {
        let Some(_lock) = self.lock().await else { return };
        let contents = match self.history.read() {
            Ok(c) => c,
            Err(e) => {
                error!(error = %e, "cannot read the run history; the slot is not run");
                return;
            }
        };
        if contents.is_done(&self.schedule.name, slot) {
            info!("slot already done (by this or another daemon): skipped");
            return;
        }
        let previous = contents
            .records
            .iter()
            .filter(|r| r.job == self.schedule.name && r.slot == slot)
            .map(|r| r.attempt)
            .max()
            .unwrap_or(0);
        let name = &self.schedule.name;
        let budget = self.schedule.retry.attempts;
        for n in 1..=budget {
            if self.stop.is_cancelled() {
                return;
            }
            let attempt = previous + n;
            self.record(&Record::new(name, Event::Started, slot, attempt, self.clock.now()));
            info!(attempt, "started");
            let started = std::time::Instant::now();
            let res = self.runner.attempt(&self.schedule, slot, attempt, self.stop.clone()).await;
            let last = match res.outcome {
                Outcome::Ok => true,
                Outcome::Abandoned => false,
                Outcome::Failed | Outcome::Incomplete => n == budget,
            };
            let mut r = Record::new(name, Event::Finished, slot, attempt, self.clock.now());
            r.outcome = Some(res.outcome);
            r.last = last;
            r.rows = res.rows;
            r.detail = res.detail.clone();
            r.error = res.error.clone();
            self.record(&r);
            let secs = started.elapsed().as_secs_f64();
            match res.outcome {
                Outcome::Ok => info!(
                    attempt,
                    seconds = secs,
                    rows = res.rows,
                    detail = res.detail.as_deref(),
                    "finished: ok"
                ),
                Outcome::Abandoned => {
                    warn!(attempt, "abandoned by shutdown: it runs again at the next start");
                    return;
                }
                Outcome::Incomplete => warn!(attempt, seconds = secs, detail = res.detail.as_deref(), "finished: incomplete"),
                Outcome::Failed => error!(attempt, seconds = secs, error = res.error.as_deref(), "finished: failed"),
            }
            if last {
                if res.outcome != Outcome::Ok {
                    warn!(attempts = n, outcome = res.outcome.name(), "no attempts left: recorded");
                }
                return;
            }
            let wait = self.schedule.retry.delay_after(n);
            info!(seconds = wait.as_secs(), "retrying after back-off");
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.stop.cancelled() => {
                    info!("shutdown during back-off: the slot runs again at the next start");
                    return;
                }
            }
        }
    }
}

/// Runs each attempt as a `wasnaker job-exec` child process.
pub struct ProcessRunner {
    /// The `wasnaker` executable (normally the running one).
    pub exe: PathBuf,
    pub config: PathBuf,
    pub log_filter: String,
    /// How long a running job may go on after a shutdown request.
    pub grace: Duration,
}

impl ProcessRunner {
    async fn run_child(&self, schedule: &Schedule, slot: DateTime<Utc>, attempt: u32, stop: CancellationToken) -> AttemptResult {
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--log")
            .arg(&self.log_filter)
            .arg("job-exec")
            .arg(&schedule.name)
            .arg("--slot")
            .arg(slot_text(slot))
            .arg("--attempt")
            .arg(attempt.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            // Its own process group: a Ctrl-C at the terminal reaches the
            // daemon, which decides what happens to the job.
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
        // The job dies with the daemon (even on `kill -9`), so a restarted
        // daemon never runs the same slot beside an orphan.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return AttemptResult::failed(format!("cannot start the job process {}: {e}", self.exe.display())),
        };
        let mut stdout = child.stdout.take();
        let reader = tokio::spawn(async move {
            let mut s = String::new();
            if let Some(out) = stdout.as_mut() {
                let _ = tokio::io::AsyncReadExt::read_to_string(out, &mut s).await;
            }
            s
        });
        let status = tokio::select! {
            s = child.wait() => s,
            () = tokio::time::sleep(schedule.timeout) => {
                let _ = child.kill().await;
                return AttemptResult::failed(format!("timed out after {}s: the job process was killed", schedule.timeout.as_secs()));
            }
            () = stop.cancelled() => {
                info!(grace_seconds = self.grace.as_secs(), "shutdown requested: letting the running job finish");
                tokio::select! {
                    s = child.wait() => s,
                    () = tokio::time::sleep(self.grace) => {
                        let _ = child.kill().await;
                        return AttemptResult {
                            outcome: Outcome::Abandoned,
                            rows: None,
                            detail: Some(format!("killed {}s after the shutdown request", self.grace.as_secs())),
                            error: None,
                        };
                    }
                }
            }
        };
        let out = reader.await.unwrap_or_default();
        let reported = out.lines().rev().find_map(|l| serde_json::from_str::<AttemptResult>(l).ok());
        match (status, reported) {
            (_, Some(r)) => r,
            (Ok(st), None) => AttemptResult::failed(format!("the job process ended ({st}) without a result; its log is above")),
            (Err(e), None) => AttemptResult::failed(format!("waiting for the job process: {e}")),
        }
    }
}

impl Runner for ProcessRunner {
    fn attempt<'a>(
        &'a self,
        schedule: &'a Schedule,
        slot: DateTime<Utc>,
        attempt: u32,
        stop: CancellationToken,
    ) -> BoxFuture<'a, AttemptResult> {
        Box::pin(self.run_child(schedule, slot, attempt, stop))
    }
}
