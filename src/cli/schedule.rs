//! `wasnaker schedules`, `wasnaker run`, `wasnaker status` and the hidden
//! `wasnaker job-exec` the daemon starts for each attempt.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::schedule::daemon::{Daemon, ProcessRunner, slot_text};
use crate::schedule::history::{History, Outcome, Run};
use crate::schedule::lock::JobLock;
use crate::schedule::{self, Schedule, job};

#[derive(Debug, clap::Args)]
pub struct SchedulesArgs {
    /// How many upcoming fire times to show per job.
    #[arg(long, default_value_t = 3)]
    pub next: usize,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct JobExecArgs {
    /// The job (schedule name).
    pub job: String,
    /// The slot (RFC 3339, UTC).
    #[arg(long)]
    pub slot: DateTime<Utc>,
    #[arg(long, default_value_t = 1)]
    pub attempt: u32,
}

fn load(cfg: &Config) -> anyhow::Result<Vec<Schedule>> {
    Ok(schedule::load_dir(&cfg.scheduler.schedules_dir)?)
}

pub fn schedules(cfg: &Config, args: SchedulesArgs) -> anyhow::Result<ExitCode> {
    let list = load(cfg)?;
    let now = SystemClock.now();
    println!("{} schedule(s) in {}", list.len(), cfg.scheduler.schedules_dir.display());
    for s in &list {
        println!();
        println!("{}  ({})", s.name, s.file.display());
        if !s.description.is_empty() {
            println!("  {}", s.description);
        }
        println!("  job       {}", s.job);
        println!("  cron      {}  in {}", s.cron_text, s.timezone.name());
        if s.retry.attempts > 1 {
            println!(
                "  retry     {} attempts in all, back-off {}s doubling up to {}s",
                s.retry.attempts,
                s.retry.backoff.as_secs(),
                s.retry.max_backoff.as_secs()
            );
        } else {
            println!("  retry     none");
        }
        println!("  timeout   {}s per attempt", s.timeout.as_secs());
        println!(
            "  catch-up  {}",
            if s.catch_up {
                format!("yes (at most {} missed slots)", s.max_catch_up)
            } else {
                "no".into()
            }
        );
        let mut t = now;
        for i in 0..args.next {
            let Some(next) = s.next_after(t) else { break };
            println!(
                "  {}  {}  ({})",
                if i == 0 { "next     " } else { "         " },
                s.local(next),
                slot_text(next)
            );
            t = next;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(cfg: &Config, config_path: PathBuf, log_filter: String, _args: RunArgs) -> anyhow::Result<ExitCode> {
    let schedules = load(cfg)?;
    anyhow::ensure!(
        !schedules.is_empty(),
        "no schedules in {}: add a *.toml per job (see the README, section Scheduled operation)",
        cfg.scheduler.schedules_dir.display()
    );
    let exe = std::env::current_exe().context("finding the wasnaker executable to run jobs with")?;
    let daemon = Daemon {
        schedules,
        state_dir: cfg.scheduler.state_dir.clone(),
        runner: Arc::new(ProcessRunner {
            exe,
            config: std::path::absolute(&config_path).unwrap_or(config_path),
            log_filter,
            grace: cfg.scheduler.shutdown_grace,
        }),
        clock: Arc::new(SystemClock),
    };
    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    tracing::info!(
        schedules = daemon.schedules.len(),
        state = %cfg.scheduler.state_dir.display(),
        pid = std::process::id(),
        "wasnaker daemon started"
    );
    daemon.run(stop).await?;
    Ok(ExitCode::SUCCESS)
}

async fn stop_on_signal(stop: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot listen for SIGTERM/SIGINT; stop the daemon with SIGKILL");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "shutdown requested");
    stop.cancel();
}

pub async fn job_exec(cfg: &Config, args: JobExecArgs) -> anyhow::Result<ExitCode> {
    let list = load(cfg)?;
    let s = list
        .iter()
        .find(|s| s.name == args.job)
        .with_context(|| format!("no schedule named {:?} in {}", args.job, cfg.scheduler.schedules_dir.display()))?;
    let span = tracing::info_span!("job", job = %s.name, slot = %slot_text(args.slot), attempt = args.attempt);
    let _enter = span.enter();
    let result = job::execute(cfg, s, args.slot, &SystemClock).await;
    println!("{}", serde_json::to_string(&result)?);
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct JobStatus {
    job: String,
    kind: String,
    cron: String,
    timezone: String,
    next: Option<DateTime<Utc>>,
    /// Pid of the process running the job now.
    running_pid: Option<u32>,
    last_run: Option<Run>,
    /// State of the last run: ok, incomplete, failed, retrying, running, pending, interrupted.
    last_state: Option<String>,
    /// Failed runs among the last 30.
    recent_failures: usize,
}

#[derive(Debug, Serialize)]
struct StatusReport {
    history: String,
    unreadable_history_lines: usize,
    jobs: Vec<JobStatus>,
}

pub fn status(cfg: &Config, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let list = load(cfg)?;
    let history = History::new(&cfg.scheduler.state_dir);
    let contents = history.read()?;
    let runs = contents.runs();
    let now = SystemClock.now();
    let locks = Daemon::locks_dir(&cfg.scheduler.state_dir);
    let mut jobs = Vec::new();
    for s in &list {
        let mine: Vec<&Run> = runs.iter().filter(|r| r.job == s.name).collect();
        let running_pid = JobLock::holder(&locks, &s.name).ok().flatten();
        let last = mine.iter().max_by_key(|r| r.slot).map(|r| (*r).clone());
        let recent_failures = mine
            .iter()
            .rev()
            .take(30)
            .filter(|r| r.done && r.outcome == Some(Outcome::Failed))
            .count();
        jobs.push(JobStatus {
            job: s.name.clone(),
            kind: s.job.to_string(),
            cron: s.cron_text.clone(),
            timezone: s.timezone.name().to_string(),
            next: s.next_after(now),
            running_pid,
            last_state: last.as_ref().map(|r| r.state(running_pid.is_some()).to_string()),
            last_run: last,
            recent_failures,
        });
    }
    let failing: Vec<String> = jobs
        .iter()
        .filter(|j| j.last_state.as_deref() == Some("failed"))
        .map(|j| j.job.clone())
        .collect();
    let report = StatusReport {
        history: history.path().display().to_string(),
        unreadable_history_lines: contents.skipped_lines,
        jobs,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_status(&report, &list);
    }
    if !failing.is_empty() {
        eprintln!("last run failed: {}", failing.join(", "));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(report: &StatusReport, list: &[Schedule]) {
    println!("run history: {}", report.history);
    if report.unreadable_history_lines > 0 {
        println!("  ({} unreadable line(s) ignored)", report.unreadable_history_lines);
    }
    for (j, s) in report.jobs.iter().zip(list) {
        println!();
        print!("{} ({})", j.job, j.kind);
        if let Some(pid) = j.running_pid {
            print!("  RUNNING, pid {pid}");
        }
        println!();
        match &j.last_run {
            None => println!("  last run   none yet"),
            Some(r) => {
                println!(
                    "  last run   slot {}  {}  ({} attempt(s))",
                    s.local(r.slot),
                    j.last_state.as_deref().unwrap_or("?").to_uppercase(),
                    r.attempts
                );
                if let (Some(a), Some(b)) = (r.started, r.ended) {
                    println!("  took       {}s (ended {})", (b - a).num_seconds(), s.local(b));
                }
                if let Some(rows) = r.rows {
                    println!("  rows       {rows}");
                }
                if let Some(d) = &r.detail {
                    println!("  detail     {d}");
                }
                if let Some(e) = &r.error {
                    println!("  error      {e}");
                }
            }
        }
        if j.recent_failures > 0 {
            println!("  failures   {} of the last 30 runs", j.recent_failures);
        }
        if let Some(n) = j.next {
            println!("  next       {}", s.local(n));
        }
    }
}
