//! Scheduled operation: slots, catch-up, locks, retries, shutdown — with an
//! injected clock and a scripted runner in-process, and with the real
//! binary on real short intervals.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use wasnaker::clock::{Clock, FixedClock, SystemClock};
use wasnaker::schedule::daemon::{Daemon, Runner};
use wasnaker::schedule::history::{Event, History, Outcome, Record};
use wasnaker::schedule::job::AttemptResult;
use wasnaker::schedule::{self, Schedule};

use crate::cli::bin;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn sched(name: &str, body: &str) -> Schedule {
    Schedule::from_toml(body, Path::new(&format!("schedules/{name}.toml"))).unwrap()
}

/// A runner that follows a script per job and records every call.
#[derive(Default)]
struct Scripted {
    script: Mutex<HashMap<String, VecDeque<Outcome>>>,
    calls: Mutex<Vec<(String, DateTime<Utc>, u32, Instant)>>,
    /// How long each attempt takes.
    work: Duration,
    /// Jobs whose attempt panics.
    panics: Vec<String>,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl Scripted {
    fn calls(&self) -> Vec<(String, DateTime<Utc>, u32, Instant)> {
        self.calls.lock().unwrap().clone()
    }
    fn calls_of(&self, job: &str) -> Vec<(DateTime<Utc>, u32, Instant)> {
        self.calls().into_iter().filter(|c| c.0 == job).map(|c| (c.1, c.2, c.3)).collect()
    }
}

impl Runner for Scripted {
    fn attempt<'a>(&'a self, s: &'a Schedule, slot: DateTime<Utc>, attempt: u32, _stop: CancellationToken) -> BoxFuture<'a, AttemptResult> {
        Box::pin(async move {
            self.calls.lock().unwrap().push((s.name.clone(), slot, attempt, Instant::now()));
            if self.panics.contains(&s.name) {
                panic!("scripted panic in {}", s.name);
            }
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_running.fetch_max(now, Ordering::SeqCst);
            // Like a job process, the attempt finishes even when a stop is requested.
            tokio::time::sleep(self.work).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            let outcome = self
                .script
                .lock()
                .unwrap()
                .get_mut(&s.name)
                .and_then(|q| q.pop_front())
                .unwrap_or(Outcome::Ok);
            AttemptResult {
                outcome,
                rows: Some(7),
                detail: Some(format!("scripted {}", outcome.name())),
                error: (outcome == Outcome::Failed).then(|| "scripted failure".to_string()),
            }
        })
    }
}

fn daemon(state: &Path, schedules: Vec<Schedule>, runner: Arc<Scripted>, now: DateTime<Utc>) -> Daemon {
    Daemon {
        schedules,
        state_dir: state.to_path_buf(),
        runner,
        clock: Arc::new(FixedClock(now)),
    }
}

/// Run a daemon in the background until `done` says so (or 60 s pass).
async fn run_until(d: Daemon, done: impl Fn() -> bool) -> Duration {
    let stop = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move { d.run(stop).await }
    });
    while !done() && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    task.await.unwrap().unwrap();
    started.elapsed()
}

fn finished_last(state: &Path) -> Vec<Record> {
    History::new(state)
        .read()
        .unwrap()
        .records
        .into_iter()
        .filter(|r| r.event == Event::Finished && r.last)
        .collect()
}

const NIGHTLY: &str = "job = \"ingest\"\ncron = \"30 2 * * *\"\n[retry]\nattempts = 1\n";
const MONTHLY: &str = "job = \"report\"\ncron = \"0 6 2 * *\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn catch_up_after_downtime_runs_each_missed_slot_once_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let h = History::new(state);
    // The daemon watched both jobs from 20 Nov and last ran the ingest of 21 Nov 02:30 WIB.
    for job in ["nightly-ingest", "monthly-report"] {
        h.append(&Record::new(
            job,
            Event::Watching,
            t("2026-11-20T00:00:00Z"),
            0,
            t("2026-11-20T00:00:00Z"),
        ))
        .unwrap();
    }
    let done_slot = t("2026-11-20T19:30:00Z");
    h.append(&Record::new("nightly-ingest", Event::Started, done_slot, 1, done_slot))
        .unwrap();
    let mut fin = Record::new("nightly-ingest", Event::Finished, done_slot, 1, done_slot);
    fin.outcome = Some(Outcome::Ok);
    fin.last = true;
    h.append(&fin).unwrap();

    // It comes back on 3 Dec at 08:00 WIB.
    let now = t("2026-12-03T01:00:00Z");
    let schedules = vec![sched("nightly-ingest", NIGHTLY), sched("monthly-report", MONTHLY)];
    let runner = Arc::new(Scripted::default());
    let d = daemon(state, schedules.clone(), runner.clone(), now);
    let plan = d.catch_up_plan(&h.read().unwrap(), now);
    assert_eq!(plan[0].len(), 12, "21 Nov .. 2 Dec");
    assert_eq!(plan[0][0], t("2026-11-21T19:30:00Z"));
    assert_eq!(plan[0][11], t("2026-12-02T19:30:00Z"));
    assert_eq!(plan[1], vec![t("2026-12-01T23:00:00Z")], "06:00 WIB on 2 Dec");
    let r = runner.clone();
    run_until(d, move || r.calls().len() >= 13).await;
    let ingest: Vec<DateTime<Utc>> = runner.calls_of("nightly-ingest").iter().map(|c| c.0).collect();
    assert_eq!(ingest, plan[0], "each missed slot once, oldest first");
    assert_eq!(runner.calls_of("monthly-report").len(), 1);
    assert_eq!(finished_last(state).len(), 14);

    // A second start at the same instant has nothing left to do.
    let again = Arc::new(Scripted::default());
    let d = daemon(state, schedules, again.clone(), now);
    assert!(d.catch_up_plan(&h.read().unwrap(), now).iter().all(Vec::is_empty));
    let deadline = Instant::now() + Duration::from_millis(700);
    run_until(d, move || Instant::now() > deadline).await;
    assert!(again.calls().is_empty(), "{:?}", again.calls());
}

#[tokio::test(flavor = "multi_thread")]
async fn first_start_catches_up_nothing_and_catch_up_false_skips_missed_slots() {
    let dir = tempfile::tempdir().unwrap();
    let h = History::new(dir.path());
    let now = t("2026-12-03T01:00:00Z");
    let no_catch_up = sched("weekly-verify", "job = \"verify\"\ncron = \"0 7 * * 1\"\ncatch_up = false\n");
    let d = daemon(
        dir.path(),
        vec![sched("nightly-ingest", NIGHTLY), no_catch_up],
        Arc::new(Scripted::default()),
        now,
    );
    assert!(d.catch_up_plan(&h.read().unwrap(), now).iter().all(Vec::is_empty));
    for job in ["nightly-ingest", "weekly-verify"] {
        h.append(&Record::new(
            job,
            Event::Watching,
            t("2026-11-01T00:00:00Z"),
            0,
            t("2026-11-01T00:00:00Z"),
        ))
        .unwrap();
    }
    let plan = d.catch_up_plan(&h.read().unwrap(), now);
    assert_eq!(plan[0].len(), 31, "max_catch_up keeps the newest 31 of 32 missed nights");
    assert!(plan[1].is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_with_back_off_then_records_failure_and_other_jobs_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let slot = t("2026-11-28T19:30:00Z");
    let now = t("2026-11-29T01:00:00Z");
    let h = History::new(state);
    for job in ["flaky", "crashy", "steady"] {
        h.append(&Record::new(job, Event::Due, slot, 0, slot)).unwrap();
    }
    let retrying = "job = \"ingest\"\ncron = \"30 2 * * *\"\n[retry]\nattempts = 3\nbackoff = \"1s\"\nmax_backoff = \"10s\"\n";
    let schedules = vec![sched("flaky", retrying), sched("crashy", retrying), sched("steady", NIGHTLY)];
    let runner = Arc::new(Scripted {
        panics: vec!["crashy".into()],
        ..Default::default()
    });
    runner.script.lock().unwrap().insert(
        "flaky".into(),
        VecDeque::from([Outcome::Incomplete, Outcome::Failed, Outcome::Failed]),
    );
    let d = daemon(state, schedules, runner.clone(), now);
    let st = state.to_path_buf();
    run_until(d, move || finished_last(&st).len() >= 3).await;

    let flaky = runner.calls_of("flaky");
    assert_eq!(flaky.iter().map(|c| c.1).collect::<Vec<_>>(), [1, 2, 3]);
    let gap1 = flaky[1].2 - flaky[0].2;
    let gap2 = flaky[2].2 - flaky[1].2;
    assert!(
        gap1 >= Duration::from_secs(1) && gap2 >= Duration::from_secs(2),
        "back-off doubles: {gap1:?} then {gap2:?}"
    );
    let runs: BTreeMap<String, _> = h.read().unwrap().runs().into_iter().map(|r| (r.job.clone(), r)).collect();
    assert_eq!(
        (runs["flaky"].outcome, runs["flaky"].done, runs["flaky"].attempts),
        (Some(Outcome::Failed), true, 3)
    );
    assert_eq!(runs["crashy"].outcome, Some(Outcome::Failed));
    assert!(
        runs["crashy"].error.as_deref().unwrap().contains("internal error"),
        "{:?}",
        runs["crashy"]
    );
    assert_eq!(runs["steady"].outcome, Some(Outcome::Ok), "a failing job never stops the others");
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_lets_the_running_attempt_finish_and_queued_slots_wait_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let h = History::new(state);
    let s1 = t("2026-11-27T19:30:00Z");
    let s2 = t("2026-11-28T19:30:00Z");
    h.append(&Record::new("nightly-ingest", Event::Due, s1, 0, s1)).unwrap();
    h.append(&Record::new("nightly-ingest", Event::Due, s2, 0, s2)).unwrap();
    let now = t("2026-11-29T01:00:00Z");
    let runner = Arc::new(Scripted {
        work: Duration::from_millis(1500),
        ..Default::default()
    });
    let d = daemon(state, vec![sched("nightly-ingest", NIGHTLY)], runner.clone(), now);
    let r = runner.clone();
    // Ask for the stop as soon as the first attempt is running.
    let took = run_until(d, move || !r.calls().is_empty()).await;
    assert!(took >= Duration::from_millis(1400), "the running attempt was waited for ({took:?})");
    let runs = h.read().unwrap().runs();
    assert_eq!(runs[0].outcome, Some(Outcome::Ok));
    assert_eq!(runs[1].state(false), "pending", "{runs:?}");
    // The next start runs the slot that was still queued.
    let next = Arc::new(Scripted::default());
    let d = daemon(state, vec![sched("nightly-ingest", NIGHTLY)], next.clone(), now);
    let n = next.clone();
    run_until(d, move || !n.calls().is_empty()).await;
    assert_eq!(next.calls_of("nightly-ingest").iter().map(|c| c.0).collect::<Vec<_>>(), [s2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_daemons_on_one_state_never_overlap_and_run_each_slot_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let h = History::new(state);
    let slots: Vec<DateTime<Utc>> = (20..26).map(|d| t(&format!("2026-11-{d}T19:30:00Z"))).collect();
    for s in &slots {
        h.append(&Record::new("nightly-ingest", Event::Due, *s, 0, *s)).unwrap();
    }
    // Before the next slot (26 Nov 02:30 WIB): only the six due slots run.
    let now = t("2026-11-26T01:00:00Z");
    let mk = || {
        Arc::new(Scripted {
            work: Duration::from_millis(200),
            ..Default::default()
        })
    };
    let (a, b) = (mk(), mk());
    let (da, db) = (
        daemon(state, vec![sched("nightly-ingest", NIGHTLY)], a.clone(), now),
        daemon(state, vec![sched("nightly-ingest", NIGHTLY)], b.clone(), now),
    );
    let st = state.to_path_buf();
    let done = move || finished_last(&st).len() >= 6;
    tokio::join!(run_until(da, done.clone()), run_until(db, done));
    let total = a.calls().len() + b.calls().len();
    assert_eq!(
        total,
        6,
        "each slot ran once: a {:?}, b {:?}",
        a.calls_of("nightly-ingest"),
        b.calls_of("nightly-ingest")
    );
    // No two attempts overlapped in time, across both daemons.
    let mut spans: Vec<(Instant, Instant)> = a
        .calls()
        .iter()
        .chain(b.calls().iter())
        .map(|c| (c.3, c.3 + Duration::from_millis(200)))
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].1 - Duration::from_millis(5), "overlap: {w:?}");
    }
    let mut per_slot: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
    for r in finished_last(state) {
        *per_slot.entry(r.slot).or_default() += 1;
    }
    assert!(per_slot.values().all(|n| *n == 1), "{per_slot:?}");
}

// ---------------------------------------------------------------------------
// The real binary on real short intervals.

/// A landing of demo extracts for the 45 nights up to yesterday (Jakarta),
/// so that "the month before the slot" is fully covered whatever today is.
fn live_setup(dir: &Path, schedules: &[(&str, &str)]) -> PathBuf {
    live_setup_nights(dir, schedules, 45)
}

/// [`live_setup`] with a landing of `nights` nights (more: a longer ingest).
fn live_setup_nights(dir: &Path, schedules: &[(&str, &str)], nights: u32) -> PathBuf {
    let today = SystemClock.today_jakarta();
    let mut opts = wasnaker::demo::DemoOptions::demo();
    opts.nights = nights;
    opts.first_night = today - chrono::Duration::days(i64::from(nights));
    wasnaker::demo::generate(&opts, &mut wasnaker::demo::dir_sink(&dir.join("landing"))).unwrap();
    std::fs::write(dir.join("pseudonym.key"), crate::common::KEY).unwrap();
    std::fs::create_dir_all(dir.join("schedules")).unwrap();
    for (name, body) in schedules {
        std::fs::write(dir.join("schedules").join(format!("{name}.toml")), body).unwrap();
    }
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let cfg = dir.join("wasnaker.toml");
    std::fs::write(
        &cfg,
        format!(
            "[locations]\nlanding = \"landing\"\nlake = \"lake\"\npublish = \"publish\"\n\n[pseudonymisation]\nkey_file = \"pseudonym.key\"\n\n\
             [ingest]\nwork_dir = \"work\"\n\n[report]\nqueries_dir = {:?}\n\n[scheduler]\nstate_dir = \"state\"\nshutdown_grace = \"60s\"\n",
            queries.to_string_lossy()
        ),
    )
    .unwrap();
    cfg
}

fn start_daemon(cfg: &Path, log: &Path) -> Child {
    bin()
        .arg("--config")
        .arg(cfg)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on a child we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(start.elapsed() < limit, "the daemon did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn runs_of(state: &Path, job: &str) -> Vec<wasnaker::schedule::history::Run> {
    History::new(state)
        .read()
        .unwrap()
        .runs()
        .into_iter()
        .filter(|r| r.job == job)
        .collect()
}

/// Job processes (`wasnaker job-exec`) whose command line mentions `needle`.
fn job_processes(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(needle)
            && String::from_utf8_lossy(&cmd).contains("job-exec")
        {
            out.push(pid);
        }
    }
    out
}

#[test]
fn two_daemons_run_ingest_and_report_unattended_without_overlap_and_stop_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = live_setup(
        dir.path(),
        &[
            (
                "nightly-ingest",
                "job = \"ingest\"\ncron = \"*/2 * * * * *\"\ntimezone = \"UTC\"\ntimeout = \"5m\"\n",
            ),
            (
                "monthly-report",
                "job = \"report\"\ncron = \"*/3 * * * * *\"\ntimezone = \"Asia/Jakarta\"\ntimeout = \"5m\"\n",
            ),
        ],
    );
    let state = dir.path().join("state");
    let mut a = start_daemon(&cfg, &dir.path().join("a.log"));
    let mut b = start_daemon(&cfg, &dir.path().join("b.log"));
    wait_for("a published report", Duration::from_secs(240), || {
        state.join("runs.jsonl").exists() && runs_of(&state, "monthly-report").iter().any(|r| r.outcome == Some(Outcome::Ok))
    });
    signal(&a, libc::SIGTERM);
    signal(&b, libc::SIGTERM);
    assert!(wait_exit(&mut a, Duration::from_secs(120)).success(), "SIGTERM → exit 0");
    assert!(wait_exit(&mut b, Duration::from_secs(120)).success(), "SIGTERM → exit 0");

    // The ingest ran and filled the lake; the report of last month is published and verifies.
    let ingest = runs_of(&state, "nightly-ingest");
    assert!(ingest.iter().any(|r| r.rows.unwrap_or(0) > 0), "{ingest:?}");
    let month = wasnaker::schedule::job::report_month(Utc::now()).to_string();
    let bundle = dir.path().join("publish").join(&month);
    assert!(bundle.join("SHA256SUMS").exists() && dir.path().join("publish/index.html").exists());
    let v = bin().arg("verify").arg(&bundle).output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));

    // Never two runs of one job at once, across the two daemons; each slot done once.
    let records = History::new(&state).read().unwrap().records;
    for job in ["nightly-ingest", "monthly-report"] {
        let mut open: Option<(DateTime<Utc>, u32)> = None;
        let mut done: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
        for r in records.iter().filter(|r| r.job == job) {
            match r.event {
                Event::Started => {
                    assert!(open.is_none(), "{job}: attempt for {} started while {open:?} was running", r.slot);
                    open = Some((r.slot, r.attempt));
                }
                Event::Finished => {
                    assert_eq!(open.take(), Some((r.slot, r.attempt)), "{job}: finish without its start");
                    if r.last {
                        *done.entry(r.slot).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        assert!(done.values().all(|n| *n == 1), "{job}: {done:?}");
    }
    let pids: std::collections::BTreeSet<u32> = records.iter().map(|r| r.pid).collect();
    assert!(pids.len() >= 2, "both daemons recorded");

    // status shows both jobs and exits 0 (the last report run is ok).
    let st = bin().arg("--config").arg(&cfg).arg("status").arg("--json").output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    let jobs = json["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs.iter().all(|j| j["next"].is_string() && j["last_run"].is_object()), "{json:#}");
    let logs = std::fs::read_to_string(dir.path().join("a.log")).unwrap() + &std::fs::read_to_string(dir.path().join("b.log")).unwrap();
    assert!(logs.contains("run{job=nightly-ingest slot="), "a span per run in the logs");
    for p in crate::common::PERSONAL {
        assert!(!logs.contains(p), "logs contain {p:?}");
    }
}

#[test]
fn kill_9_during_a_run_then_restart_reruns_the_interrupted_slot() {
    let dir = tempfile::tempdir().unwrap();
    // Fires once a day at a time that has passed: only the catch-up runs it.
    let cfg = live_setup(
        dir.path(),
        &[("nightly-ingest", "job = \"ingest\"\ncron = \"0 0 1 1 *\"\ntimezone = \"UTC\"\n")],
    );
    let state = dir.path().join("state");
    let h = History::new(&state);
    let slot = t("2026-01-01T00:00:00Z");
    h.append(&Record::new("nightly-ingest", Event::Due, slot, 0, slot)).unwrap();
    let mut d = start_daemon(&cfg, &dir.path().join("1.log"));
    let needle = dir.path().to_string_lossy().to_string();
    wait_for("the ingest to start", Duration::from_secs(60), || {
        runs_of(&state, "nightly-ingest").iter().any(|r| r.started.is_some()) && !job_processes(&needle).is_empty()
    });
    // Once part of the lake is written (the first nights committed), kill the daemon outright.
    let ledger = dir.path().join("lake/ledger/inspection");
    wait_for("the first committed night", Duration::from_secs(60), || {
        std::fs::read_dir(&ledger).map(|d| d.count() > 0).unwrap_or(false)
    });
    signal(&d, libc::SIGKILL);
    let _ = d.wait();
    wait_for("the job process to die with its daemon", Duration::from_secs(10), || {
        job_processes(&needle).is_empty()
    });
    let runs = runs_of(&state, "nightly-ingest");
    assert!(!runs[0].done, "{runs:?}");

    let mut d = start_daemon(&cfg, &dir.path().join("2.log"));
    wait_for("the interrupted slot to be run again", Duration::from_secs(120), || {
        runs_of(&state, "nightly-ingest").first().is_some_and(|r| r.done)
    });
    signal(&d, libc::SIGTERM);
    assert!(wait_exit(&mut d, Duration::from_secs(60)).success());
    let run = &runs_of(&state, "nightly-ingest")[0];
    assert_eq!(run.slot, slot);
    assert!(run.attempts >= 2, "{run:?}");
    // The lake is consistent: a further ingest finds nothing to do.
    let out = bin().arg("--config").arg(&cfg).arg("ingest").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing to ingest"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn schedules_lists_the_shipped_files_and_names_a_bad_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = schedule::load_dir(&root.join("schedules")).unwrap();
    let names: Vec<&str> = shipped.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["monthly-report", "nightly-ingest", "weekly-verify"]);
    let out = bin()
        .arg("--config")
        .arg(root.join("wasnaker.toml"))
        .arg("schedules")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("nightly-ingest") && text.contains("30 2 * * *  in Asia/Jakarta"),
        "{text}"
    );
    assert!(text.contains("02:30:00 WIB"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("schedules")).unwrap();
    std::fs::write(
        dir.path().join("schedules/nightly.toml"),
        "job = \"ingest\"\ncron = \"30 25 * * *\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("schedules/other.toml"), "job = \"publish\"\ncron = \"0 6 2 * *\"\n").unwrap();
    std::fs::write(dir.path().join("wasnaker.toml"), "").unwrap();
    let out = bin()
        .arg("--config")
        .arg(dir.path().join("wasnaker.toml"))
        .arg("schedules")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("schedules/nightly.toml: cron = \"30 25 * * *\""), "{err}");
    assert!(err.contains("schedules/other.toml: unknown job \"publish\""), "{err}");
}

#[test]
fn status_exits_non_zero_when_the_last_run_of_a_job_failed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("schedules")).unwrap();
    std::fs::write(dir.path().join("schedules/nightly-ingest.toml"), NIGHTLY).unwrap();
    std::fs::write(dir.path().join("wasnaker.toml"), "[scheduler]\nstate_dir = \"state\"\n").unwrap();
    let h = History::new(&dir.path().join("state"));
    let status = || {
        bin()
            .arg("--config")
            .arg(dir.path().join("wasnaker.toml"))
            .arg("status")
            .output()
            .unwrap()
    };
    assert!(status().status.success(), "no runs yet is not a failure");
    let slot = t("2026-11-28T19:30:00Z");
    h.append(&Record::new("nightly-ingest", Event::Started, slot, 1, slot)).unwrap();
    let mut r = Record::new("nightly-ingest", Event::Finished, slot, 1, slot + chrono::Duration::seconds(42));
    r.outcome = Some(Outcome::Failed);
    r.last = true;
    r.error = Some("landing unreachable".into());
    h.append(&r).unwrap();
    let out = status();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAILED") && text.contains("landing unreachable") && text.contains("took       42s"),
        "{text}"
    );
    let next = t("2026-11-29T19:30:00Z");
    h.append(&Record::new("nightly-ingest", Event::Started, next, 1, next)).unwrap();
    let mut ok = Record::new("nightly-ingest", Event::Finished, next, 1, next);
    ok.outcome = Some(Outcome::Ok);
    ok.last = true;
    h.append(&ok).unwrap();
    assert!(status().status.success(), "the last run is ok again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_night_missing_at_the_deadline_is_recorded_incomplete_and_ingested_when_it_arrives() {
    use crate::common::{Done, Fixture};
    let f = Fixture::new();
    let cfg = wasnaker::config::Config::load(&crate::cli::write_config(&f)).unwrap();
    let nightly = sched("nightly-ingest", NIGHTLY);
    // 02:30 WIB on 4 Oct waits for the night of 3 Oct; only the inspection system delivered it.
    let slot = t("2026-10-03T19:30:00Z");
    let clock = FixedClock(t("2026-10-04T00:00:00Z"));
    f.inspection("2026-10-03", &[], Done::Empty);
    let r = wasnaker::schedule::job::execute(&cfg, &nightly, slot, &clock).await;
    assert_eq!(r.outcome, Outcome::Incomplete, "{r:?}");
    let detail = r.detail.unwrap();
    assert!(
        detail.contains("1 night(s) ingested") && detail.contains("waiting for insurance 2026-10-03 (not delivered)"),
        "{detail}"
    );
    assert!(r.rows.unwrap() > 0);
    // A broken delivery is not "arrived": it needs a new one.
    f.insurance("2026-10-03", &[("employers.jsonl.gz", "")], Done::Empty);
    let r = wasnaker::schedule::job::execute(&cfg, &nightly, slot, &clock).await;
    assert_eq!(r.outcome, Outcome::Incomplete);
    assert!(r.detail.unwrap().contains("insurance 2026-10-03 (rejected: needs a new delivery)"));
    // The re-delivery arrives: the next attempt ingests it and the run is complete.
    f.insurance("2026-10-03", &[], Done::Sums);
    let r = wasnaker::schedule::job::execute(&cfg, &nightly, slot, &clock).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(
        f.ledger()
            .await
            .deliveries(wasnaker::contract::System::Insurance, crate::common::date("2026-10-03"))
            .len(),
        2
    );
}

#[test]
fn a_run_over_its_timeout_is_killed_and_failed_and_a_stop_past_the_grace_abandons_it() {
    let dir = tempfile::tempdir().unwrap();
    // Enough nights that neither 1 s attempt finishes them (both systems are
    // ingested side by side, so 45 nights were nearly done after 2 s).
    let cfg = live_setup_nights(
        dir.path(),
        &[(
            "nightly-ingest",
            "job = \"ingest\"\ncron = \"0 0 1 1 *\"\ntimezone = \"UTC\"\ntimeout = \"1s\"\n[retry]\nattempts = 2\nbackoff = \"1s\"\n",
        )],
        150,
    );
    let state = dir.path().join("state");
    let h = History::new(&state);
    let slot = t("2026-01-01T00:00:00Z");
    h.append(&Record::new("nightly-ingest", Event::Due, slot, 0, slot)).unwrap();
    let mut d = start_daemon(&cfg, &dir.path().join("1.log"));
    wait_for("two timed-out attempts", Duration::from_secs(60), || {
        runs_of(&state, "nightly-ingest").first().is_some_and(|r| r.done)
    });
    let run = runs_of(&state, "nightly-ingest").remove(0);
    assert_eq!((run.outcome, run.attempts), (Some(Outcome::Failed), 2), "{run:?}");
    assert!(run.error.as_deref().unwrap().contains("timed out after 1s"), "{run:?}");
    let st = bin().arg("--config").arg(&cfg).arg("status").output().unwrap();
    assert_eq!(st.status.code(), Some(1), "monitoring sees the failure");

    // A stop while an attempt runs, past the grace: it is killed and recorded
    // abandoned. No grace (0s), so that this does not depend on how long the
    // attempt takes (with 1 s, the rest of these small nights was done in
    // about 1 s: the attempt sometimes finished within the grace).
    signal(&d, libc::SIGTERM);
    assert!(wait_exit(&mut d, Duration::from_secs(30)).success());
    std::fs::write(
        dir.path().join("schedules/nightly-ingest.toml"),
        "job = \"ingest\"\ncron = \"0 0 1 1 *\"\ntimezone = \"UTC\"\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("shutdown_grace = \"60s\"", "shutdown_grace = \"0s\"");
    std::fs::write(&cfg, text).unwrap();
    let slot2 = t("2026-01-02T00:00:00Z");
    h.append(&Record::new("nightly-ingest", Event::Due, slot2, 0, slot2)).unwrap();
    let mut d = start_daemon(&cfg, &dir.path().join("2.log"));
    let needle = dir.path().to_string_lossy().to_string();
    wait_for("the attempt to start", Duration::from_secs(30), || {
        !job_processes(&needle).is_empty()
    });
    let asked = Instant::now();
    signal(&d, libc::SIGTERM);
    assert!(wait_exit(&mut d, Duration::from_secs(30)).success(), "exit 0 after abandoning");
    assert!(asked.elapsed() < Duration::from_secs(10));
    assert!(job_processes(&needle).is_empty(), "no job process left behind");
    let run = runs_of(&state, "nightly-ingest").into_iter().find(|r| r.slot == slot2).unwrap();
    assert_eq!((run.outcome, run.done), (Some(Outcome::Abandoned), false), "{run:?}");
    // Nothing half-visible: an ingest now finishes the nights (the demo's broken ones are rejected, exit 2) …
    let out = bin().arg("--config").arg(&cfg).arg("ingest").output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 2)), "{}", String::from_utf8_lossy(&out.stdout));
    // … and then there is nothing left to do.
    let out = bin().arg("--config").arg(&cfg).arg("ingest").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing to ingest"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn check_names_a_bad_schedule_file_and_passes_without_a_schedules_folder() {
    let dir = tempfile::tempdir().unwrap();
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let cfg = dir.path().join("wasnaker.toml");
    std::fs::write(&cfg, format!("[report]\nqueries_dir = {:?}\n", queries.to_string_lossy())).unwrap();
    let report = wasnaker::check::check(&cfg, true).await;
    assert!(
        report.problems().next().is_none() && report.sections.len() == 2,
        "{}",
        report.render()
    );
    std::fs::create_dir_all(dir.path().join("schedules")).unwrap();
    std::fs::write(
        dir.path().join("schedules/nightly.toml"),
        "job = \"ingest\"\ncron = \"30 2 * * 8\"\n",
    )
    .unwrap();
    let report = wasnaker::check::check(&cfg, true).await;
    let problems: Vec<String> = report.problems().map(|p| p.text.clone()).collect();
    assert_eq!(problems.len(), 1, "{}", report.render());
    assert!(
        problems[0].contains("schedules/nightly.toml: cron = \"30 2 * * 8\""),
        "{problems:?}"
    );
}
