//! Scheduled operation: schedules as files, the run history, the job lock
//! and the daemon that fires jobs on time.
//!
//! A schedule (`schedules/<name>.toml`) says *when* (a cron expression in a
//! time zone) and *what* (a [`JobKind`]), plus retries, a timeout and whether
//! missed slots are caught up. A **slot** is one instant the cron expression
//! names; a job runs at most once per slot, however many daemons are started
//! and however often they are restarted (see [`history`] and [`lock`]).
//!
//! Reading a schedule is pure (no I/O beyond reading the files), so
//! `wasnaker schedules`, `wasnaker check` and the daemon agree on what a file
//! means.

pub mod daemon;
pub mod history;
pub mod job;
pub mod lock;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::Deserialize;

/// What a schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// The nightly ingest of every complete night in the landing area. The
    /// run is *complete* when both systems' extracts of the night before the
    /// slot (Jakarta date) are in the lake; otherwise it is retried while
    /// retries last, then recorded `incomplete` (the night shows as missing
    /// in the report's data quality until it arrives and is ingested).
    Ingest,
    /// Compute, sign and publish the bundle of the month before the slot.
    Report,
    /// Re-check the latest published bundle (checksums, signature, manifest)
    /// so tampering with the publication site is noticed.
    Verify,
}

impl JobKind {
    pub const ALL: [JobKind; 3] = [JobKind::Ingest, JobKind::Report, JobKind::Verify];

    pub fn name(self) -> &'static str {
        match self {
            JobKind::Ingest => "ingest",
            JobKind::Report => "report",
            JobKind::Verify => "verify",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for JobKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<_> = JobKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown job {s:?}: expected one of {}", names.join(", "))
        })
    }
}

/// Retries of a failed (or, for ingest, incomplete) run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included (1 = no retry).
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each later one.
    pub backoff: Duration,
    /// The wait never exceeds this.
    pub max_backoff: Duration,
}

impl Retry {
    /// The wait after failed attempt `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let doubled = self
            .backoff
            .saturating_mul(1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX));
        doubled.min(self.max_backoff)
    }
}

/// One validated schedule file.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The job's name: the file stem unless the file says `name = "…"`.
    pub name: String,
    pub file: PathBuf,
    pub description: String,
    /// The cron expression as written.
    pub cron_text: String,
    cron: Cron,
    pub timezone: Tz,
    pub job: JobKind,
    pub catch_up: bool,
    /// At most this many missed slots are caught up (the newest ones).
    pub max_catch_up: usize,
    pub timeout: Duration,
    pub retry: Retry,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    name: Option<String>,
    description: Option<String>,
    cron: Option<String>,
    timezone: Option<String>,
    job: Option<String>,
    catch_up: Option<bool>,
    max_catch_up: Option<usize>,
    timeout: Option<String>,
    retry: Option<RawRetry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    attempts: Option<u32>,
    backoff: Option<String>,
    max_backoff: Option<String>,
}

/// Problems in the schedule files, all of them, each naming its file.
#[derive(Debug, thiserror::Error)]
#[error("{} schedule problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ScheduleError {
    pub problems: Vec<String>,
}

/// The time zone a schedule uses when it names none.
pub const DEFAULT_TIMEZONE: &str = "Asia/Jakarta";

impl Schedule {
    /// Parse one schedule file's text; `file` names it in every problem.
    pub fn from_toml(text: &str, file: &Path) -> Result<Schedule, Vec<String>> {
        let shown = file.display();
        let raw: RawSchedule = toml::from_str(text).map_err(|e| vec![format!("{shown}: {}", e.to_string().trim_end())])?;
        let mut problems = Vec::new();
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let name = raw.name.unwrap_or(stem);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            problems.push(format!("{shown}: name {name:?}: use lower-case letters, digits, '-' and '_'"));
        }
        let cron_text = raw.cron.unwrap_or_default();
        let cron = match parse_cron(&cron_text) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(format!("{shown}: cron = {cron_text:?}: {e}"));
                None
            }
        };
        let tz_text = raw.timezone.unwrap_or_else(|| DEFAULT_TIMEZONE.to_string());
        let timezone = match Tz::from_str(&tz_text) {
            Ok(tz) => Some(tz),
            Err(_) => {
                problems.push(format!(
                    "{shown}: timezone = {tz_text:?} is not an IANA time zone name (e.g. Asia/Jakarta, Asia/Makassar, Asia/Jayapura, UTC)"
                ));
                None
            }
        };
        let job = match raw.job.as_deref() {
            None => {
                problems.push(format!("{shown}: job is missing: expected one of ingest, report, verify"));
                None
            }
            Some(j) => match j.parse::<JobKind>() {
                Ok(k) => Some(k),
                Err(e) => {
                    problems.push(format!("{shown}: {e}"));
                    None
                }
            },
        };
        let mut duration = |key: &str, v: Option<String>, default: &str| -> Option<Duration> {
            let v = v.unwrap_or_else(|| default.to_string());
            parse_duration(&v)
                .map_err(|e| problems.push(format!("{shown}: {key} = {v:?}: {e}")))
                .ok()
        };
        let timeout = duration("timeout", raw.timeout, "6h");
        let r = raw.retry.unwrap_or(RawRetry {
            attempts: None,
            backoff: None,
            max_backoff: None,
        });
        let backoff = duration("retry.backoff", r.backoff, "5m").unwrap_or_default();
        let max_backoff = duration("retry.max_backoff", r.max_backoff, "1h").unwrap_or_default();
        let attempts = r.attempts.unwrap_or(1);
        if attempts == 0 {
            problems.push(format!("{shown}: retry.attempts = 0: give 1 (no retry) or more"));
        }
        if timeout == Some(Duration::ZERO) {
            problems.push(format!("{shown}: timeout must be longer than zero"));
        }
        let timeout = timeout.unwrap_or_default();
        match (problems.is_empty(), cron, timezone, job) {
            (true, Some(cron), Some(timezone), Some(job)) => Ok(Schedule {
                name,
                file: file.to_path_buf(),
                description: raw.description.unwrap_or_default(),
                cron_text,
                cron,
                timezone,
                job,
                catch_up: raw.catch_up.unwrap_or(true),
                max_catch_up: raw.max_catch_up.unwrap_or(31),
                timeout,
                retry: Retry {
                    attempts,
                    backoff,
                    max_backoff: max_backoff.max(backoff),
                },
            }),
            _ => Err(problems),
        }
    }

    /// The first slot strictly after `t`.
    ///
    /// The cron expression is matched against the wall clock of the zone.
    /// A wall-clock time skipped by a daylight-saving change runs at the
    /// first instant after the gap; one that happens twice runs once, at
    /// its first occurrence. (croner's own zone handling is not used: it
    /// fires a 01:30 job a second time at the end of the spring-forward gap.)
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut wall = t.with_timezone(&self.timezone).naive_local();
        // A slot in a repeated hour can need a few steps; a year of them is plenty.
        for _ in 0..100_000 {
            // Wall-clock times carried as UTC values: UTC has no gaps or folds.
            let next = self
                .cron
                .find_next_occurrence(&Utc.from_utc_datetime(&wall), false)
                .ok()?
                .naive_utc();
            let instant = wall_to_instant(&self.timezone, next)?;
            if instant > t {
                return Some(instant);
            }
            wall = next;
        }
        None
    }

    /// The slots in `(after, until]`, oldest first, at most `limit` of them
    /// (the newest ones if there are more).
    pub fn slots_between(&self, after: DateTime<Utc>, until: DateTime<Utc>, limit: usize) -> Vec<DateTime<Utc>> {
        let mut out = std::collections::VecDeque::new();
        let mut t = after;
        while let Some(next) = self.next_after(t) {
            if next > until {
                break;
            }
            if out.len() == limit {
                out.pop_front();
            }
            out.push_back(next);
            t = next;
        }
        out.into()
    }

    /// A slot shown in the schedule's own time zone.
    pub fn local(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.timezone).format("%Y-%m-%d %H:%M:%S %Z").to_string()
    }
}

/// The instant a wall-clock time of `tz` names: the earlier one in a fold,
/// the end of the gap for a time that a daylight-saving change skips.
fn wall_to_instant(tz: &Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(d) => Some(d.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            // Transitions fall on whole minutes: the first valid minute is the gap's end.
            let start = wall.with_second(0)?;
            (1..=24 * 60).find_map(|m| {
                tz.from_local_datetime(&(start + chrono::Duration::minutes(m)))
                    .earliest()
                    .map(|d| d.with_timezone(&Utc))
            })
        }
    }
}

/// Cron with 5 fields (minute hour day-of-month month day-of-week) or 6
/// (seconds first). As in classic cron, when both day fields are restricted a
/// day matching either runs.
fn parse_cron(text: &str) -> Result<Cron, String> {
    if text.trim().is_empty() {
        return Err("missing: give 5 fields (min hour day month weekday) or 6 (with seconds first)".into());
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .dom_and_dow(false)
        .build()
        .parse(text)
        .map_err(|e| format!("{e} (expected 5 fields: min hour day month weekday, or 6 with seconds first)"))
}

/// `90s`, `15m`, `2h`, `1d`, or combinations such as `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration: write e.g. 90s, 15m, 2h or 1h30m".into());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("unexpected {c:?}: write e.g. 90s, 15m, 2h or 1h30m")),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("a number must come before {c:?}: write e.g. 90s, 15m, 2h or 1h30m"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("{t:?} has no unit: write e.g. {t}s or {t}m"));
    }
    Ok(Duration::from_secs(total))
}

/// Read every `*.toml` of a folder, sorted by file name. All problems are
/// reported at once; two files with the same job name are a problem.
pub fn load_dir(dir: &Path) -> Result<Vec<Schedule>, ScheduleError> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            return Err(ScheduleError {
                problems: vec![format!("{}: cannot read the schedules folder: {e}", dir.display())],
            });
        }
    };
    files.sort();
    let mut problems = Vec::new();
    let mut out: Vec<Schedule> = Vec::new();
    for f in files {
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{}: cannot read: {e}", f.display()));
                continue;
            }
        };
        match Schedule::from_toml(&text, &f) {
            Ok(s) => {
                if let Some(other) = out.iter().find(|o| o.name == s.name) {
                    problems.push(format!(
                        "{}: job name {:?} is already used by {}",
                        f.display(),
                        s.name,
                        other.file.display()
                    ));
                } else {
                    out.push(s);
                }
            }
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ScheduleError { problems })
    }
}

/// `wasnaker check`'s section for the schedules: every file of the
/// schedules folder parsed and validated, all problems at once.
/// A project that is not scheduled has no schedules folder: nothing to check.
pub fn check_section(cfg: &crate::config::Config) -> Option<crate::check::Section> {
    let dir = &cfg.scheduler.schedules_dir;
    if !dir.exists() {
        return None;
    }
    let (summary, problems) = match load_dir(dir) {
        Ok(list) => (
            format!(
                "{} schedule(s): {}",
                list.len(),
                list.iter()
                    .map(|s| format!("{} ({})", s.name, s.job))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Vec::new(),
        ),
        Err(e) => (String::new(), e.problems.into_iter().map(crate::check::Problem::new).collect()),
    };
    Some(crate::check::Section {
        name: format!("schedules {}", dir.display()),
        summary,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(body: &str) -> Schedule {
        Schedule::from_toml(body, Path::new("schedules/t.toml")).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn wib_0230_is_1930_utc_the_day_before() {
        let s = sched("job = \"ingest\"\ncron = \"30 2 * * *\"\n");
        assert_eq!(s.timezone, chrono_tz::Asia::Jakarta);
        assert_eq!(s.next_after(utc("2026-11-29T00:00:00Z")), Some(utc("2026-11-29T19:30:00Z")));
        assert_eq!(s.next_after(utc("2026-11-29T19:30:00Z")), Some(utc("2026-11-30T19:30:00Z")));
    }

    #[test]
    fn monthly_on_the_second_at_six_wib() {
        let s = sched("job = \"report\"\ncron = \"0 6 2 * *\"\n");
        assert_eq!(s.next_after(utc("2026-11-29T00:00:00Z")), Some(utc("2026-12-01T23:00:00Z")));
        let slots = s.slots_between(utc("2026-01-01T00:00:00Z"), utc("2026-04-30T00:00:00Z"), 100);
        let shown: Vec<String> = slots.iter().map(|t| s.local(*t)).collect();
        assert_eq!(
            shown,
            [
                "2026-01-02 06:00:00 WIB",
                "2026-02-02 06:00:00 WIB",
                "2026-03-02 06:00:00 WIB",
                "2026-04-02 06:00:00 WIB"
            ]
        );
    }

    #[test]
    fn zones_with_dst_fire_at_local_wall_time() {
        // New York: EST (UTC-5) until 2026-03-08, EDT (UTC-4) after.
        let s = sched("job = \"ingest\"\ncron = \"30 1 * * *\"\ntimezone = \"America/New_York\"\n");
        let slots = s.slots_between(utc("2026-03-06T12:00:00Z"), utc("2026-03-10T12:00:00Z"), 10);
        assert_eq!(
            slots,
            [
                utc("2026-03-07T06:30:00Z"),
                utc("2026-03-08T06:30:00Z"),
                utc("2026-03-09T05:30:00Z"),
                utc("2026-03-10T05:30:00Z")
            ]
        );
        // 02:30 does not exist on 2026-03-08 (spring forward): it runs once, right after the gap.
        let gap = sched("job = \"ingest\"\ncron = \"30 2 * * *\"\ntimezone = \"America/New_York\"\n");
        let day = gap.slots_between(utc("2026-03-08T00:00:00Z"), utc("2026-03-09T00:00:00Z"), 10);
        assert_eq!(day.len(), 1, "{day:?}");
        assert_eq!(gap.local(day[0]), "2026-03-08 03:00:00 EDT");
        // 01:30 happens twice on 2026-11-01 (fall back): it runs once.
        let fold = s.slots_between(utc("2026-11-01T00:00:00Z"), utc("2026-11-02T00:00:00Z"), 10);
        assert_eq!(fold.len(), 1, "{fold:?}");
    }

    #[test]
    fn seconds_field() {
        let s = sched("job = \"verify\"\ncron = \"*/2 * * * * *\"\ntimezone = \"UTC\"\n");
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 3).unwrap();
        assert_eq!(s.next_after(t), Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 4).unwrap()));
        assert_eq!(s.slots_between(t, t + chrono::Duration::seconds(20), 3).len(), 3);
    }

    #[test]
    fn every_problem_names_the_file() {
        let err = Schedule::from_toml(
            "job = \"ingset\"\ncron = \"61 * * * *\"\ntimezone = \"Asia/Jakata\"\ntimeout = \"2 hours\"\n[retry]\nattempts = 0\n",
            Path::new("schedules/bad.toml"),
        )
        .unwrap_err();
        assert_eq!(err.len(), 5, "{err:#?}");
        assert!(err.iter().all(|p| p.starts_with("schedules/bad.toml: ")), "{err:#?}");
        assert!(err.iter().any(|p| p.contains("unknown job \"ingset\"")), "{err:#?}");
        let unknown_key = Schedule::from_toml("job = \"ingest\"\ncron = \"0 1 * * *\"\ncorn = 1\n", Path::new("x.toml")).unwrap_err();
        assert!(unknown_key[0].contains("corn"), "{unknown_key:?}");
    }

    #[test]
    fn durations_and_backoff() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("").is_err());
        let r = Retry {
            attempts: 5,
            backoff: Duration::from_secs(60),
            max_backoff: Duration::from_secs(300),
        };
        let waits: Vec<u64> = (1..=5).map(|a| r.delay_after(a).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 300, 300]);
    }

    #[test]
    fn catch_up_limit_keeps_the_newest() {
        let s = sched("job = \"ingest\"\ncron = \"0 0 * * *\"\ntimezone = \"UTC\"\n");
        let slots = s.slots_between(utc("2026-01-01T00:00:00Z"), utc("2026-01-11T00:00:00Z"), 3);
        assert_eq!(
            slots,
            [
                utc("2026-01-09T00:00:00Z"),
                utc("2026-01-10T00:00:00Z"),
                utc("2026-01-11T00:00:00Z")
            ]
        );
    }
}
