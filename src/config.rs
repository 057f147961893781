//! The project configuration (`wasnaker.toml`).
//!
//! Two phases, like every serious config loader: serde reads the raw file
//! (`deny_unknown_fields`, so a misspelt key is an error naming the key and
//! the file), then [`Config::validate`] checks the values and reports *all*
//! problems at once. Relative paths are relative to the config file's folder.
//! This module never touches storage: it only says where things are.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::Engine;
use crate::storage::{AzureOptions, GcsOptions, RetryOptions, S3Options, StorageOptions};

/// Default config file name, looked up in the current directory.
pub const DEFAULT_FILE: &str = "wasnaker.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path} has {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid { path: PathBuf, problems: Vec<String> },
}

/// The raw file, as serde reads it.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    locations: Option<RawLocations>,
    pseudonymisation: Option<RawPseudonymisation>,
    ingest: Option<RawIngest>,
    report: Option<RawReport>,
    signing: Option<RawSigning>,
    scheduler: Option<RawScheduler>,
    storage: Option<RawStorage>,
    engine: Option<RawEngine>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    url: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    max_retries: Option<i64>,
    retry_timeout: Option<String>,
    request_timeout: Option<String>,
    connect_timeout: Option<String>,
    s3: Option<RawS3>,
    gcs: Option<RawGcs>,
    azure: Option<RawAzure>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawS3 {
    endpoint: Option<String>,
    region: Option<String>,
    allow_http: Option<bool>,
    virtual_hosted_style: Option<bool>,
    access_key_id_env: Option<String>,
    secret_access_key_env: Option<String>,
    session_token_env: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGcs {
    service_account_file: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAzure {
    account: Option<String>,
    access_key_env: Option<String>,
    endpoint: Option<String>,
    allow_http: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheduler {
    schedules_dir: Option<String>,
    state_dir: Option<String>,
    shutdown_grace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocations {
    landing: Option<String>,
    lake: Option<String>,
    publish: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPseudonymisation {
    key_file: Option<String>,
    key_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngest {
    late_after_hours: Option<i64>,
    work_dir: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    queries_dir: Option<String>,
    sla_days: Option<i64>,
    workers_per_inspector: Option<i64>,
    companies_per_inspector_year: Option<i64>,
    allow_stale_snapshot: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigning {
    key_file: Option<String>,
}

/// Where the pseudonymisation key comes from. The key itself is never kept
/// in the config struct, so a `Debug` print of the config cannot leak it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Env(String),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "file {}", p.display()),
            KeySource::Env(v) => write!(f, "environment variable {v}"),
        }
    }
}

/// Report parameters with the defaults of `report.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSettings {
    pub queries_dir: PathBuf,
    pub sla_days: i64,
    pub workers_per_inspector: i64,
    pub companies_per_inspector_year: i64,
    pub allow_stale_snapshot: bool,
}

/// Where the daemon finds its schedules and keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerSettings {
    pub schedules_dir: PathBuf,
    /// Run history and job locks; a local folder (locks are `flock`s).
    pub state_dir: PathBuf,
    /// How long a running job may go on after SIGTERM/SIGINT before it is
    /// abandoned (killed; it runs again at the next start).
    pub shutdown_grace: std::time::Duration,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (or the folder it pretends to be in).
    pub path: PathBuf,
    /// Landing location (URL or path), as written after resolving relative paths.
    pub landing: String,
    pub lake: String,
    pub publish: String,
    pub pseudonym_key: KeySource,
    pub late_after_hours: i64,
    /// Local scratch folder for ingest spill files; `None` = system temp dir.
    pub work_dir: Option<PathBuf>,
    pub report: ReportSettings,
    /// OpenSSH ed25519 private key used to sign bundles.
    pub signing_key: Option<PathBuf>,
    pub scheduler: SchedulerSettings,
    /// How to reach object stores (endpoints, names of credential variables, retries).
    pub storage: StorageOptions,
    /// Where the report's SQL runs (`[engine] url`): local, standalone or df://.
    pub engine: Engine,
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Parse and validate config text as if it were the file at `path`.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Self::validate(raw, path)
    }

    fn validate(raw: RawConfig, path: &Path) -> Result<Config, ConfigError> {
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut problems = Vec::new();
        let loc = raw.locations.unwrap_or(RawLocations {
            landing: None,
            lake: None,
            publish: None,
        });
        let location = |v: Option<String>, key: &str, default: &str, problems: &mut Vec<String>| {
            let v = v.unwrap_or_else(|| default.to_string());
            if v.trim().is_empty() {
                problems.push(format!(
                    "locations.{key} is empty: give a path or a URL (file://, s3://, gs://, az://, http(s)://)"
                ));
            }
            resolve_location(&v, &base)
        };
        let landing = location(loc.landing, "landing", "wasnaker-data/landing", &mut problems);
        let lake = location(loc.lake, "lake", "wasnaker-data/lake", &mut problems);
        let publish = location(loc.publish, "publish", "wasnaker-data/publish", &mut problems);
        if landing == lake || lake == publish || landing == publish {
            problems.push("locations.landing, locations.lake and locations.publish must be three different places".into());
        }
        for (key, value, writable) in [("landing", &landing, false), ("lake", &lake, true), ("publish", &publish, true)] {
            check_location_url(key, value, writable, &mut problems);
        }

        let pseudonym_key = match raw.pseudonymisation {
            Some(RawPseudonymisation {
                key_file: Some(_),
                key_env: Some(_),
            }) => {
                problems.push("pseudonymisation: set key_file or key_env, not both".into());
                KeySource::Env(String::new())
            }
            Some(RawPseudonymisation {
                key_file: Some(f),
                key_env: None,
            }) => KeySource::File(base.join(f)),
            Some(RawPseudonymisation {
                key_file: None,
                key_env: Some(v),
            }) => {
                check_env_name("pseudonymisation.key_env", &v, &mut problems);
                KeySource::Env(v)
            }
            _ => KeySource::Env("WASNAKER_PSEUDONYM_KEY".into()),
        };

        let ingest = raw.ingest.unwrap_or(RawIngest {
            late_after_hours: None,
            work_dir: None,
        });
        let late_after_hours = ingest.late_after_hours.unwrap_or(36);
        if late_after_hours < 0 {
            problems.push(format!(
                "ingest.late_after_hours = {late_after_hours}: expected a number of hours, 0 or more (default 36)"
            ));
        }

        let r = raw.report.unwrap_or(RawReport {
            queries_dir: None,
            sla_days: None,
            workers_per_inspector: None,
            companies_per_inspector_year: None,
            allow_stale_snapshot: None,
        });
        let positive = |v: Option<i64>, key: &str, default: i64, problems: &mut Vec<String>| {
            let v = v.unwrap_or(default);
            if v <= 0 {
                problems.push(format!("report.{key} = {v}: must be a positive whole number (default {default})"));
            }
            v
        };
        let report = ReportSettings {
            queries_dir: base.join(r.queries_dir.unwrap_or_else(|| "queries".into())),
            sla_days: positive(r.sla_days, "sla_days", 30, &mut problems),
            workers_per_inspector: positive(r.workers_per_inspector, "workers_per_inspector", 20_000, &mut problems),
            companies_per_inspector_year: positive(r.companies_per_inspector_year, "companies_per_inspector_year", 60, &mut problems),
            allow_stale_snapshot: r.allow_stale_snapshot.unwrap_or(false),
        };

        let sc = raw.scheduler.unwrap_or(RawScheduler {
            schedules_dir: None,
            state_dir: None,
            shutdown_grace: None,
        });
        let state_dir = sc.state_dir.unwrap_or_else(|| "wasnaker-data/state".into());
        if has_scheme(&state_dir) {
            problems.push(format!(
                "scheduler.state_dir = {state_dir:?}: must be a local folder (the job locks are file locks), not a URL"
            ));
        }
        let grace_text = sc.shutdown_grace.unwrap_or_else(|| "10m".into());
        let shutdown_grace = crate::schedule::parse_duration(&grace_text).unwrap_or_else(|e| {
            problems.push(format!("scheduler.shutdown_grace = {grace_text:?}: {e}"));
            std::time::Duration::ZERO
        });
        let scheduler = SchedulerSettings {
            schedules_dir: base.join(sc.schedules_dir.unwrap_or_else(|| "schedules".into())),
            state_dir: base.join(state_dir),
            shutdown_grace,
        };

        let storage = storage_options(raw.storage.unwrap_or_default(), &base, &mut problems);
        let engine = engine(raw.engine.unwrap_or_default(), &lake, &mut problems);

        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            });
        }
        Ok(Config {
            path: path.to_path_buf(),
            landing,
            lake,
            publish,
            pseudonym_key,
            late_after_hours,
            work_dir: ingest.work_dir.map(|w| base.join(w)),
            report,
            signing_key: raw.signing.and_then(|s| s.key_file).map(|k| base.join(k)),
            scheduler,
            storage,
            engine,
        })
    }
}

/// `[engine]`: the engine, and whether its executors can read the lake.
fn engine(raw: RawEngine, lake: &str, problems: &mut Vec<String>) -> Engine {
    let Some(text) = raw.url else { return Engine::Local };
    let engine = match Engine::parse(&text) {
        Ok(e) => e,
        Err(e) => {
            problems.push(format!("engine.url = {e}"));
            return Engine::Local;
        }
    };
    if !engine.available() {
        problems.push(format!(
            "engine.url = {text:?}: this wasnaker was built without the `ballista` feature; rebuild with the default features"
        ));
    }
    if engine.is_remote() {
        let shared = has_scheme(lake) && !lake.starts_with("file://") && !lake.starts_with("memory://");
        if !shared {
            problems.push(format!(
                "engine.url = {text:?} runs the queries on Ballista executors on other machines, but locations.lake = {lake:?} is on this machine's disk (or in its memory), which they cannot read: put the lake on s3://, gs:// or az:// storage every executor can reach, or use engine.url = \"local\""
            ));
        }
    }
    engine
}

/// An environment variable name a key gives.
fn check_env_name(key: &str, v: &str, problems: &mut Vec<String>) {
    if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        problems.push(format!("{key} = {v:?} is not an environment variable name (letters, digits, _)"));
    }
}

/// A location URL: no password in it; http(s) only where nothing is written.
fn check_location_url(key: &str, value: &str, writable: bool, problems: &mut Vec<String>) {
    if !has_scheme(value) {
        return;
    }
    let Ok(url) = url::Url::parse(value) else {
        problems.push(format!("locations.{key} = {value:?} is not a valid URL"));
        return;
    };
    if url.password().is_some() {
        problems.push(format!(
            "locations.{key}: the URL holds a password; give credentials in the environment ([storage] names the variables)"
        ));
    }
    let http = matches!(
        object_store::ObjectStoreScheme::parse(&url),
        Ok((object_store::ObjectStoreScheme::Http, _))
    );
    if writable && http {
        problems.push(format!(
            "locations.{key} = {value:?}: http(s) locations are read-only; the {key} needs s3://, gs://, az:// or a folder"
        ));
    }
}

/// `[storage]`, validated: endpoints, credential variable names, retries.
fn storage_options(raw: RawStorage, base: &Path, problems: &mut Vec<String>) -> StorageOptions {
    let defaults = RetryOptions::default();
    let mut duration = |v: Option<String>, key: &str, default: std::time::Duration| match v {
        None => default,
        Some(text) => crate::schedule::parse_duration(&text).unwrap_or_else(|e| {
            problems.push(format!("storage.{key} = {text:?}: {e}"));
            default
        }),
    };
    let retry = RetryOptions {
        max_retries: defaults.max_retries,
        retry_timeout: duration(raw.retry_timeout, "retry_timeout", defaults.retry_timeout),
        request_timeout: duration(raw.request_timeout, "request_timeout", defaults.request_timeout),
        connect_timeout: duration(raw.connect_timeout, "connect_timeout", defaults.connect_timeout),
    };
    let max_retries = match raw.max_retries {
        None => defaults.max_retries,
        Some(n) if (0..=100).contains(&n) => n as usize,
        Some(n) => {
            problems.push(format!("storage.max_retries = {n}: expected 0 to 100 (default 10)"));
            defaults.max_retries
        }
    };
    let retry = RetryOptions { max_retries, ..retry };
    let endpoint = |key: &str, v: &Option<String>, allow_http: bool, problems: &mut Vec<String>| {
        let Some(e) = v else { return };
        match url::Url::parse(e) {
            Ok(u) if u.scheme() == "https" => {}
            Ok(u) if u.scheme() == "http" && allow_http => {}
            Ok(u) if u.scheme() == "http" => problems.push(format!(
                "{key}.endpoint = {e:?} is plain http: set {key}.allow_http = true to allow it (test servers only)"
            )),
            _ => problems.push(format!(
                "{key}.endpoint = {e:?}: expected an http(s) URL such as https://s3.example.go.id"
            )),
        }
    };
    let s3 = raw.s3.unwrap_or_default();
    let s3_allow_http = s3.allow_http.unwrap_or(false);
    endpoint("storage.s3", &s3.endpoint, s3_allow_http, problems);
    for (key, v) in [
        ("storage.s3.access_key_id_env", &s3.access_key_id_env),
        ("storage.s3.secret_access_key_env", &s3.secret_access_key_env),
        ("storage.s3.session_token_env", &s3.session_token_env),
    ] {
        if let Some(v) = v {
            check_env_name(key, v, problems);
        }
    }
    if s3.access_key_id_env.is_some() != s3.secret_access_key_env.is_some() {
        problems.push("storage.s3: set access_key_id_env and secret_access_key_env together (or neither, for AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)".into());
    }
    let az = raw.azure.unwrap_or_default();
    let az_allow_http = az.allow_http.unwrap_or(false);
    endpoint("storage.azure", &az.endpoint, az_allow_http, problems);
    if let Some(v) = &az.access_key_env {
        check_env_name("storage.azure.access_key_env", v, problems);
    }
    StorageOptions {
        s3: S3Options {
            endpoint: s3.endpoint,
            region: s3.region,
            allow_http: s3_allow_http,
            virtual_hosted_style: s3.virtual_hosted_style.unwrap_or(false),
            access_key_id_env: s3.access_key_id_env,
            secret_access_key_env: s3.secret_access_key_env,
            session_token_env: s3.session_token_env,
        },
        gcs: GcsOptions {
            service_account_file: raw.gcs.and_then(|g| g.service_account_file).map(|f| base.join(f)),
        },
        azure: AzureOptions {
            account: az.account,
            access_key_env: az.access_key_env,
            endpoint: az.endpoint,
            allow_http: az_allow_http,
        },
        retry,
    }
}

/// A location with a URL scheme stays as written; a plain path is made
/// absolute against the config file's folder.
fn resolve_location(v: &str, base: &Path) -> String {
    if has_scheme(v) {
        v.to_string()
    } else {
        let p = base.join(v);
        let p = std::path::absolute(&p).unwrap_or(p);
        p.to_string_lossy().into_owned()
    }
}

/// `s3://…`, `file:///…`: a scheme of two or more letters (so `C:\` is a path).
pub fn has_scheme(v: &str) -> bool {
    match v.split_once("://") {
        Some((scheme, _)) => scheme.len() >= 2 && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_key_and_file() {
        let err = Config::from_toml("[locations]\nlandnig = \"x\"\n", Path::new("/etc/w.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/etc/w.toml"), "{msg}");
        assert!(msg.contains("landnig"), "{msg}");
    }

    #[test]
    fn all_problems_at_once() {
        let err = Config::from_toml(
            "[report]\nsla_days = 0\nworkers_per_inspector = -1\n[ingest]\nlate_after_hours = -5\n",
            Path::new("w.toml"),
        )
        .unwrap_err();
        match err {
            ConfigError::Invalid { problems, .. } => assert_eq!(problems.len(), 3, "{problems:?}"),
            other => panic!("expected Invalid, got {other}"),
        }
    }

    #[test]
    fn storage_section_is_validated_with_every_problem() {
        let text = "[locations]\nlake = \"https://example.org/lake\"\npublish = \"s3://b/p\"\nlanding = \"https://u:pw@example.org/l\"\n\
                    [storage]\nmax_retries = -1\nretry_timeout = \"soon\"\n\
                    [storage.s3]\nendpoint = \"http://127.0.0.1:9000\"\naccess_key_id_env = \"MY KEY\"\n";
        let err = Config::from_toml(text, Path::new("w.toml")).unwrap_err();
        let ConfigError::Invalid { problems, .. } = err else {
            panic!("expected Invalid")
        };
        let all = problems.join("\n");
        for expected in [
            "locations.lake = \"https://example.org/lake\": http(s) locations are read-only",
            "locations.landing: the URL holds a password",
            "storage.max_retries = -1",
            "storage.retry_timeout = \"soon\"",
            "storage.s3.endpoint = \"http://127.0.0.1:9000\" is plain http: set storage.s3.allow_http = true",
            "storage.s3.access_key_id_env = \"MY KEY\" is not an environment variable name",
            "storage.s3: set access_key_id_env and secret_access_key_env together",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
        assert_eq!(problems.len(), 7, "{all}");
    }

    #[test]
    fn storage_settings_hold_variable_names_never_secrets() {
        let text = "[locations]\nlake = \"s3://lake-bucket/lake\"\npublish = \"s3://pub-bucket/\"\n\
                    [storage]\nmax_retries = 3\nretry_timeout = \"30s\"\n\
                    [storage.s3]\nendpoint = \"https://s3.example.go.id\"\nregion = \"id-jkt-1\"\nvirtual_hosted_style = true\n\
                    access_key_id_env = \"WASNAKER_S3_KEY_ID\"\nsecret_access_key_env = \"WASNAKER_S3_SECRET\"\n";
        let c = Config::from_toml(text, Path::new("/srv/w.toml")).unwrap();
        assert_eq!(c.storage.retry.max_retries, 3);
        assert_eq!(c.storage.retry.retry_timeout, std::time::Duration::from_secs(30));
        assert_eq!(c.storage.s3.endpoint.as_deref(), Some("https://s3.example.go.id"));
        assert!(c.storage.s3.virtual_hosted_style && !c.storage.s3.allow_http);
        assert_eq!(c.storage.s3.secret_access_key_env.as_deref(), Some("WASNAKER_S3_SECRET"));
        let d = Config::from_toml("", Path::new("/srv/w.toml")).unwrap();
        assert_eq!(d.storage, crate::storage::StorageOptions::default());
        assert_eq!(d.storage.retry.max_retries, 10);
    }

    #[test]
    fn defaults_and_relative_paths() {
        let c = Config::from_toml("", Path::new("/srv/w/wasnaker.toml")).unwrap();
        assert_eq!(c.landing, "/srv/w/wasnaker-data/landing");
        assert_eq!(c.report.sla_days, 30);
        assert_eq!(c.report.workers_per_inspector, 20_000);
        assert_eq!(c.report.companies_per_inspector_year, 60);
        assert_eq!(c.late_after_hours, 36);
        assert_eq!(c.pseudonym_key, KeySource::Env("WASNAKER_PSEUDONYM_KEY".into()));
        let s3 = Config::from_toml("[locations]\nlake = \"s3://bucket/lake\"\n", Path::new("/srv/w.toml")).unwrap();
        assert_eq!(s3.lake, "s3://bucket/lake");
    }
    #[test]
    fn engine_defaults_to_local_and_a_remote_engine_needs_a_shared_lake() {
        let c = Config::from_toml("", Path::new("/srv/w.toml")).unwrap();
        assert_eq!(c.engine, Engine::Local);
        let s = Config::from_toml("[engine]\nurl = \"standalone\"\n", Path::new("/srv/w.toml")).unwrap();
        assert_eq!(
            s.engine,
            Engine::Standalone,
            "standalone executors share this process, and its disk"
        );
        let remote = "[locations]\nlake = \"s3://lake-bucket/lake\"\n[engine]\nurl = \"df://sched:50050\"\n";
        if cfg!(feature = "ballista") {
            let r = Config::from_toml(remote, Path::new("/srv/w.toml")).unwrap();
            assert_eq!(r.engine.to_string(), "df://sched:50050");
        }
        for lake in ["/srv/lake", "file:///srv/lake", "memory://lake"] {
            let text = format!("[locations]\nlake = \"{lake}\"\n[engine]\nurl = \"df://sched\"\n");
            let ConfigError::Invalid { problems, .. } = Config::from_toml(&text, Path::new("/srv/w.toml")).unwrap_err() else {
                panic!("expected Invalid")
            };
            let all = problems.join("\n");
            assert!(all.contains("cannot read: put the lake on s3://, gs:// or az://"), "{lake}: {all}");
        }
        let ConfigError::Invalid { problems, .. } = Config::from_toml("[engine]\nurl = \"spark://x\"\n", Path::new("w.toml")).unwrap_err()
        else {
            panic!("expected Invalid")
        };
        assert!(
            problems[0].starts_with("engine.url = \"spark://x\": a Ballista scheduler URL starts with df://"),
            "{problems:?}"
        );
    }
}
