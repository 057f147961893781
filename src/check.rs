//! `wasnaker check`: validate everything declarative without running a job —
//! the config, every query (parsed, and planned against the lake's schemas
//! with no data, so it works on an empty lake), and whatever
//! [`EXTRA_CHECKS`] adds (the scheduler's `schedules/*.toml`).
//!
//! With a Ballista engine (`[engine] url`), the queries are planned again
//! on a session of that engine, after a test query has run on its
//! executors.
//!
//! Every problem of every part is collected, not only the first; each names
//! its file (and line and column where there is one) and says how to fix it.
//! Checking never reads the lake, the landing or a secret, and writes
//! nothing.
//!
//! ```no_run
//! # async fn f() {
//! let report = wasnaker::check::check(std::path::Path::new("wasnaker.toml"), false).await;
//! print!("{}", report.render());
//! assert!(report.passed());
//! # }
//! ```

use std::fmt;
use std::path::Path;

use crate::config::{Config, ConfigError};
use crate::query::{QueryError, QueryKind, QuerySet};

/// One problem: where it is and what is wrong, and what would fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `file[:line[:column]]: message`.
    pub text: String,
    /// What would fix it, when something more than the message can be said.
    pub hint: Option<String>,
}

impl Problem {
    /// A problem with no hint.
    pub fn new(text: impl Into<String>) -> Problem {
        Problem {
            text: text.into(),
            hint: None,
        }
    }
}

impl From<&QueryError> for Problem {
    fn from(error: &QueryError) -> Problem {
        Problem {
            text: error.to_string(),
            hint: error.hint().map(str::to_string),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// One checked part of the project (`config`, `queries`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// What was checked, e.g. `queries queries/`.
    pub name: String,
    /// What it holds, e.g. `6 files: 5 published tables, 1 helper view`.
    pub summary: String,
    pub problems: Vec<Problem>,
}

/// Everything `check` found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckReport {
    pub sections: Vec<Section>,
}

impl CheckReport {
    /// Every problem, in section order.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.sections.iter().flat_map(|s| s.problems.iter())
    }

    /// True when no part has a problem.
    pub fn passed(&self) -> bool {
        self.problems().next().is_none()
    }

    /// Every problem (with its hint), then one line per section and a
    /// verdict.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for problem in self.problems() {
            out.push_str(&format!("{problem}\n"));
        }
        if !self.passed() {
            out.push('\n');
        }
        for section in &self.sections {
            let verdict = match section.problems.len() {
                0 => "ok".to_string(),
                n => format!("{n} problem(s)"),
            };
            out.push_str(&format!("{}: {verdict} ({})\n", section.name, section.summary));
        }
        let total = self.problems().count();
        if total == 0 {
            out.push_str("check passed\n");
        } else {
            out.push_str(&format!("check FAILED: {total} problem(s)\n"));
        }
        out
    }
}

/// A check of one more declarative part, given the validated config (or the
/// defaults when the config has problems); `None` when the project has no
/// such part (e.g. no schedules folder).
pub type ExtraCheck = fn(&Config) -> Option<Section>;

/// The parts checked after the config and the queries. The scheduler adds
/// its check of `schedules/*.toml` here.
pub const EXTRA_CHECKS: &[ExtraCheck] = &[crate::schedule::check_section];

/// Checks the config at `config_path` (when it does not exist and is not
/// `required`, the defaults as if it were there), its queries, and
/// [`EXTRA_CHECKS`].
pub async fn check(config_path: &Path, required: bool) -> CheckReport {
    check_with(config_path, required, EXTRA_CHECKS).await
}

/// [`check`] with another list of extra checks.
pub async fn check_with(config_path: &Path, required: bool, extra: &[ExtraCheck]) -> CheckReport {
    let (config_section, config) = check_config(config_path, required);
    let mut report = CheckReport {
        sections: vec![config_section],
    };
    let Some(config) = config else { return report };
    report.sections.push(check_queries(&config).await);
    if config.engine.is_distributed() {
        let mut engine = check_engine(&config).await;
        // A query that does not plan locally is already listed once.
        let local: Vec<Problem> = report.problems().cloned().collect();
        engine.problems.retain(|p| !local.contains(p));
        report.sections.push(engine);
    }
    report.sections.extend(extra.iter().filter_map(|check| check(&config)));
    report
}

/// The config section, and the config the other parts are checked with: the
/// file's when it is valid, else the defaults as if at its place.
fn check_config(path: &Path, required: bool) -> (Section, Option<Config>) {
    let name = format!("config {}", path.display());
    let defaults = || Config::from_toml("", path).ok();
    if !required && !path.exists() {
        let section = Section {
            name,
            summary: "no such file: checking the defaults".to_string(),
            problems: Vec::new(),
        };
        return (section, defaults());
    }
    match Config::load(path) {
        Ok(config) => (
            Section {
                name,
                summary: "valid".to_string(),
                problems: Vec::new(),
            },
            Some(config),
        ),
        Err(error) => {
            let problems = match &error {
                ConfigError::Invalid { path, problems } => {
                    problems.iter().map(|p| Problem::new(format!("{}: {p}", path.display()))).collect()
                }
                other => vec![Problem::new(other.to_string())],
            };
            let section = Section {
                name,
                summary: "invalid; the queries are checked with the defaults".to_string(),
                problems,
            };
            (section, defaults())
        }
    }
}

/// Reaches the configured Ballista engine (a test query runs on an executor)
/// and plans every query on a session of it.
async fn check_engine(config: &Config) -> Section {
    let mut section = Section {
        name: format!("engine {}", config.engine),
        summary: String::new(),
        problems: Vec::new(),
    };
    let lake = match crate::storage::Location::open(&config.lake, &config.storage) {
        Ok(lake) => lake,
        Err(error) => {
            section.summary = "not reached".to_string();
            section.problems.push(Problem::new(error.to_string()));
            return section;
        }
    };
    let started = std::time::Instant::now();
    let ctx = match crate::lake::context::session(&config.engine, Some(&lake)).await {
        Ok(ctx) => ctx,
        Err(error) => {
            section.summary = "not reached".to_string();
            section.problems.push(Problem::new(error.to_string()));
            return section;
        }
    };
    let reached_ms = started.elapsed().as_millis();
    let Ok(loaded) = QuerySet::load_dir_all(&config.report.queries_dir) else {
        section.summary = format!("a test query ran on the executors in {reached_ms} ms");
        return section;
    };
    match crate::query::plan::plan_all_on(&ctx, &loaded.set, crate::monthly::settings(config)).await {
        Ok(planned) => {
            section.summary = format!(
                "a test query ran on the executors in {reached_ms} ms; {} of {} queries planned on it",
                planned.queries.len(),
                loaded.set.queries().len()
            );
            section.problems.extend(planned.problems.iter().map(Problem::from));
        }
        Err(error) => {
            section.summary = format!("a test query ran on the executors in {reached_ms} ms");
            section.problems.push(Problem::from(&error));
        }
    }
    section
}

/// Loads every query file (all problems of all files) and plans every query
/// that loaded against the lake views' schemas.
async fn check_queries(config: &Config) -> Section {
    let dir = &config.report.queries_dir;
    let mut section = Section {
        name: format!("queries in {}", dir.display()),
        summary: String::new(),
        problems: Vec::new(),
    };
    let loaded = match QuerySet::load_dir_all(dir) {
        Ok(loaded) => loaded,
        Err(error) => {
            section.summary = "not readable".to_string();
            section.problems.push(Problem::from(&error));
            return section;
        }
    };
    section.problems.extend(loaded.problems.iter().map(Problem::from));
    match crate::query::plan::plan_all(&loaded.set, crate::monthly::settings(config)).await {
        Ok(planned) => section.problems.extend(planned.problems.iter().map(Problem::from)),
        Err(error) => section.problems.push(Problem::from(&error)),
    }
    let queries = loaded.set.queries();
    let published = queries.iter().filter(|q| q.kind == QueryKind::Report).count();
    section.summary = format!(
        "{} file(s) loaded: {published} published table(s), {} helper view(s)",
        queries.len(),
        queries.len() - published
    );
    section
}
