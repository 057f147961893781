//! The monthly job: lake views for a month → the SQL of `queries/` → the
//! report tables (and the 12-month trend the report page draws), then the
//! files of `data/`. The library function behind `wasnaker report`, called
//! by the scheduler and the tests alike.
//!
//! It plans before it runs (month, `as_of`, snapshots, extracts), computes no
//! figure itself (every number comes from a query) and never writes the lake.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
use tracing::{info, warn};

use crate::clock::{Clock, Month};
use crate::config::Config;
use crate::lake::context::{self, ExtractUse, ViewError, ViewOptions};
use crate::lake::ledger::{Ledger, LedgerError};
use crate::query::dictionary::Dictionary;
use crate::query::plan::plan_all;
use crate::query::{QueryError, QueryFile, QueryKind, QuerySet, ReportParams, ReportSettings, ReportTable};
use crate::storage::{Location, StorageError};

/// The published tables of report.md, in publication order; tables added by
/// data engineers follow, by name.
pub const PUBLISHED_ORDER: &[&str] = &[
    "followup_by_province",
    "followup_by_violation",
    "supervision_map",
    "insurance_crosscheck",
    "data_quality",
];

/// Where a published table goes: the tables of report.md in their order,
/// then the others by name.
pub fn publication_rank(name: &str) -> (usize, String) {
    (
        PUBLISHED_ORDER.iter().position(|n| *n == name).unwrap_or(usize::MAX),
        name.to_string(),
    )
}

/// `names` in publication order ([`publication_rank`]).
pub fn publication_order<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.collect();
    names.sort_by_key(|n| publication_rank(n));
    names
}

#[derive(Debug, thiserror::Error)]
pub enum MonthlyError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Views(#[from] ViewError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("month {month} is not complete on {as_of} (as_of): its last day is {last}; pass an earlier --month or a later --as-of")]
    Incomplete { month: Month, as_of: NaiveDate, last: NaiveDate },
}

/// What to report.
#[derive(Debug, Clone, Default)]
pub struct MonthlyRequest {
    /// `None`: the last complete month before today (Jakarta).
    pub month: Option<Month>,
    /// `None`: the latest ingested extract date.
    pub as_of: Option<NaiveDate>,
    pub allow_stale_snapshot: bool,
}

/// One month's national follow-up figures, for the trend chart.
pub use crate::publish::TrendPoint as TrendRow;

/// The computed report of a month.
pub struct MonthlyReport {
    pub month: Month,
    pub as_of: NaiveDate,
    pub params: ReportParams,
    /// In publication order.
    pub tables: Vec<ReportTable>,
    pub snapshots: Vec<(&'static str, NaiveDate)>,
    pub warnings: Vec<String>,
    pub extracts: Vec<ExtractUse>,
    /// 12 months ending with `month`, oldest first.
    pub trend: Vec<TrendRow>,
    /// The data dictionary: lake tables, then the published tables.
    pub dictionary: Dictionary,
    /// The helper views the report tables read (kind `view`), in execution order.
    pub views: Vec<QueryFile>,
    /// Wall time of each step, in order (`wasnaker report --timings`).
    pub timings: Vec<StepTiming>,
}

/// How long one step of a monthly run took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTiming {
    /// e.g. `open lake views`, `report followup_by_province`, `trend: 2 queries × 11 months`.
    pub step: String,
    pub elapsed: Duration,
    /// Rows produced, for report queries.
    pub rows: Option<usize>,
}

impl StepTiming {
    fn since(step: impl Into<String>, started: Instant) -> StepTiming {
        StepTiming {
            step: step.into(),
            elapsed: started.elapsed(),
            rows: None,
        }
    }
}

/// The last complete month before today in Jakarta.
pub fn default_month(clock: &dyn Clock) -> Month {
    Month::of(clock.today_jakarta()).prev()
}

pub fn settings(cfg: &Config) -> ReportSettings {
    ReportSettings {
        sla_days: cfg.report.sla_days,
        workers_per_inspector: cfg.report.workers_per_inspector,
        companies_per_inspector_year: cfg.report.companies_per_inspector_year,
    }
}

/// Compute a month's report tables from the lake.
pub async fn compute(cfg: &Config, clock: &dyn Clock, req: &MonthlyRequest) -> Result<MonthlyReport, MonthlyError> {
    let lake = Location::open(&cfg.lake, &cfg.storage)?;
    let ledger = Ledger::load(&lake).await?;
    let queries = QuerySet::load_dir(&cfg.report.queries_dir)?;
    let month = req.month.unwrap_or_else(|| default_month(clock));
    let opts = ViewOptions {
        month: Some(month),
        as_of: req.as_of,
        allow_stale_snapshot: req.allow_stale_snapshot || cfg.report.allow_stale_snapshot,
        ..Default::default()
    };
    let mut timings = Vec::new();
    let started = Instant::now();
    let views = context::open(&cfg.engine, &lake, &ledger, &opts).await?;
    timings.push(StepTiming::since("open lake views", started));
    info!(month = %month, as_of = %views.as_of, snapshots = ?views.snapshots, extracts = views.extracts.len(), "plan: report");
    for w in &views.warnings {
        warn!(month = %month, "{w}");
    }
    let params = ReportParams::new(&month.to_string(), views.as_of, settings(cfg))?;
    let started = Instant::now();
    let (mut tables, query_timings) = queries.run_timed(&views.ctx, &params).await?;
    info!(ms = started.elapsed().as_millis() as u64, "report tables computed");
    timings.extend(query_timings.into_iter().map(|t| StepTiming {
        step: format!("{} {}", t.kind.as_str(), t.name),
        elapsed: t.elapsed,
        rows: t.rows,
    }));
    tables.sort_by_key(|t| publication_rank(&t.query.name));
    // The dictionary and lineage come from planning the same files against
    // the lake's schemas (no data: a few hundred milliseconds of one core),
    // while the trend runs.
    let published: Vec<&str> = tables.iter().map(|t| t.query.name.as_str()).collect();
    let plan = async {
        let started = Instant::now();
        let planned = plan_all(&queries, settings(cfg)).await?;
        Ok::<_, MonthlyError>((
            planned,
            StepTiming::since("plan queries for the data dictionary (during the trend)", started),
        ))
    };
    let mut trend_timings = Vec::new();
    let trend = trend(
        &cfg.engine,
        &lake,
        &ledger,
        &queries,
        month,
        &tables,
        &views,
        settings(cfg),
        &mut trend_timings,
    );
    let ((planned, plan_timing), trend) = tokio::try_join!(plan, trend)?;
    timings.push(plan_timing);
    timings.extend(trend_timings);
    let dictionary = Dictionary::build(&planned, &published)?;
    Ok(MonthlyReport {
        month,
        as_of: views.as_of,
        params,
        tables,
        snapshots: views.snapshots,
        warnings: views.warnings,
        extracts: views.extracts,
        trend,
        dictionary,
        views: queries.queries().iter().filter(|q| q.kind == QueryKind::View).cloned().collect(),
        timings,
    })
}

/// The national row of `followup_by_province` for the 12 months ending with
/// the report month, with the same `as_of` as the report's `views` (only the
/// queries it needs are run). The report month's row is the one of the
/// report's own table (`report_tables`), computed from the same SQL,
/// parameters and extracts.
#[allow(clippy::too_many_arguments)]
async fn trend(
    engine: &crate::engine::Engine,
    lake: &Location,
    ledger: &Ledger,
    queries: &QuerySet,
    month: Month,
    report_tables: &[ReportTable],
    report_views: &context::LakeViews,
    settings: ReportSettings,
    timings: &mut Vec<StepTiming>,
) -> Result<Vec<TrendRow>, MonthlyError> {
    const SOURCE: &str = "followup_by_province";
    let Some(_) = queries.get(SOURCE) else { return Ok(Vec::new()) };
    // The query and what it depends on.
    let mut needed: BTreeSet<String> = BTreeSet::new();
    let mut reads: BTreeSet<String> = BTreeSet::new();
    let mut todo = vec![SOURCE.to_string()];
    while let Some(n) = todo.pop() {
        reads.insert(n.clone());
        if let Some(q) = queries.get(&n)
            && needed.insert(n)
        {
            todo.extend(q.reads.iter().cloned());
        }
    }
    // The lake tables behind the views they read.
    let lake_tables: BTreeSet<&'static str> = reads
        .iter()
        .filter_map(|r| crate::contract::table_of_view(r))
        .map(|t| t.name)
        .collect();
    let sources: Vec<(PathBuf, Vec<u8>)> = queries
        .queries()
        .iter()
        .filter(|q| needed.contains(&q.name))
        .map(|q| (q.path.clone(), q.sql.clone().into_bytes()))
        .collect();
    let subset = QuerySet::from_sources(sources)?;
    // Every month sees the lake as of `as_of` (a snapshot table, if these
    // queries read one, too).
    let reads_snapshot = lake_tables
        .iter()
        .any(|t| crate::contract::table(t).is_some_and(|t| t.kind == crate::contract::Kind::Snapshot));
    let as_of = report_views.as_of;
    let options = ViewOptions {
        month: None,
        as_of: Some(as_of),
        allow_stale_snapshot: true,
        only: Some(lake_tables.into_iter().collect()),
    };
    // The report month's row is already in the report, computed on the same
    // basis unless a snapshot is read (the report's is as of the month's
    // end): then all 12 months are computed.
    let reported = if reads_snapshot {
        None
    } else {
        report_tables
            .iter()
            .find(|t| t.query.name == SOURCE)
            .and_then(|t| national_row(t, month))
    };
    let first_computed = u32::from(reported.is_some());
    let months: Vec<Month> = (first_computed..12).rev().map(|k| month.minus(k)).collect();
    let started = Instant::now();
    let rows: Vec<Option<TrendRow>> = if engine.is_distributed() {
        // Each open starts a Ballista session: one set of views, a month at a time.
        let views = context::open(engine, lake, ledger, &options).await?;
        timings.push(StepTiming::since("trend: open lake views", started));
        let mut rows = Vec::new();
        for m in months {
            rows.push(trend_month(&views.ctx, &subset, m, as_of, settings).await?);
        }
        rows
    } else {
        // Locally, what the queries read (the lake views as of `as_of`, the
        // reference tables) is the same for every month: it is written once
        // to scratch Parquet files, and each month's session reads those
        // instead of selecting the latest rows of the lake again. As many
        // months as cores run at once: one month's small queries leave
        // cores idle.
        let views = context::open(engine, lake, ledger, &options).await?;
        let inputs: Vec<String> = reads.iter().filter(|r| !needed.contains(*r)).cloned().collect();
        let scratch = tempfile::Builder::new()
            .prefix("wasnaker-trend-")
            .tempdir()
            .map_err(|e| ViewError::Scratch {
                what: "the trend's inputs".into(),
                dir: std::env::temp_dir(),
                message: e.to_string(),
            })?;
        let tables = context::materialize(&views.ctx, &inputs, scratch.path()).await?;
        timings.push(StepTiming::since(
            format!("trend: {} inputs as of {as_of} written once", tables.len()),
            started,
        ));
        let runtime = views.ctx.runtime_env();
        futures::stream::iter(months)
            .map(|m| {
                let (tables, subset, runtime) = (&tables, &subset, runtime.clone());
                async move {
                    let ctx = context::session_over(tables, Some(runtime))?;
                    trend_month(&ctx, subset, m, as_of, settings).await
                }
            })
            .buffered(std::thread::available_parallelism().map_or(2, |n| n.get()))
            .try_collect()
            .await?
    };
    timings.push(StepTiming::since(
        format!("trend: {} queries × {} months", subset.queries().len(), 12 - first_computed),
        started,
    ));
    Ok(rows.into_iter().chain(std::iter::once(reported)).flatten().collect())
}

/// The national row of one month of the trend, from the queries of `subset`
/// run on `ctx` (its report tables of another month are replaced).
async fn trend_month(
    ctx: &datafusion::prelude::SessionContext,
    subset: &QuerySet,
    m: Month,
    as_of: NaiveDate,
    settings: ReportSettings,
) -> Result<Option<TrendRow>, MonthlyError> {
    const SOURCE: &str = "followup_by_province";
    let params = ReportParams::new(&m.to_string(), as_of, settings)?;
    for q in subset.queries() {
        ctx.deregister_table(q.name.as_str()).map_err(|source| QueryError::DataFusion {
            file: q.path.clone(),
            source,
        })?;
    }
    let t0 = Instant::now();
    let tables = subset.run(ctx, &params).await?;
    tracing::debug!(month = %m, ms = t0.elapsed().as_millis() as u64, "trend month");
    Ok(tables.iter().find(|t| t.query.name == SOURCE).and_then(|t| national_row(t, m)))
}

fn national_row(t: &ReportTable, month: Month) -> Option<TrendRow> {
    use arrow::array::{Array, AsArray};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let b = t.batches.iter().find(|b| b.num_rows() > 0)?;
    let int = |name: &str| -> Option<i64> {
        let c = b.column_by_name(name)?;
        let a = arrow::compute::cast(c, &arrow::datatypes::DataType::Int64).ok()?;
        let a = a.as_primitive::<arrow::datatypes::Int64Type>();
        (!a.is_null(0)).then(|| a.value(0))
    };
    let text = |name: &str| -> Option<String> {
        let c = b.column_by_name(name)?;
        if c.is_null(0) {
            return None;
        }
        let f = ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()).ok()?;
        Some(f.value(0).to_string())
    };
    let code = b.column_by_name("province_code")?.as_string_opt::<i32>()?.value(0).to_string();
    (code == "00").then(|| TrendRow {
        month,
        received: int("received").unwrap_or(0),
        followed_up_in_month: int("followed_up_in_month").unwrap_or(0),
        open_at_end: int("open_at_end").unwrap_or(0),
        open_not_followed_up: int("open_not_followed_up").unwrap_or(0),
        median_days_to_follow_up: text("median_days_to_follow_up"),
        sla_met_pct: text("sla_met_pct"),
    })
}

/// The `data/<table>.csv` and `data/<table>.parquet` files of a report.
pub fn data_files(report: &MonthlyReport) -> Result<Vec<(String, Vec<u8>)>, MonthlyError> {
    let mut files = Vec::new();
    for t in &report.tables {
        files.push((format!("data/{}.csv", t.query.name), crate::query::to_csv(&t.schema, &t.batches)?));
        files.push((
            format!("data/{}.parquet", t.query.name),
            crate::query::to_parquet(&t.schema, &t.batches)?,
        ));
    }
    Ok(files)
}

/// The bundle input of a computed report (publish formats, never computes).
pub fn bundle_input(report: &MonthlyReport) -> Result<crate::publish::BundleInput, MonthlyError> {
    use crate::publish::{BundleInput, ReportTable as PubTable};
    let mut tables = Vec::new();
    for t in &report.tables {
        tables.push(PubTable {
            name: t.query.name.clone(),
            title_id: t.query.title_id.clone(),
            title_en: t.query.title_en.clone(),
            description: t.query.description.clone(),
            query_file: crate::query::lineage::query_file(&t.query.name),
            sql: t.query.sql.clone(),
            sql_sha256: t.query.sha256.clone(),
            batches: t.batches.clone(),
            csv: crate::query::to_csv(&t.schema, &t.batches)?,
            parquet: crate::query::to_parquet(&t.schema, &t.batches)?,
        });
    }
    let params = report
        .params
        .values()
        .into_iter()
        .map(|(name, value)| (name.to_string(), serde_json::Value::String(value.to_string())))
        .collect();
    let views = report
        .views
        .iter()
        .map(|q| crate::publish::QuerySource {
            name: q.name.clone(),
            query_file: format!("queries/{}.sql", q.name),
            sql: q.sql.clone(),
            sql_sha256: q.sha256.clone(),
        })
        .collect();
    Ok(BundleInput {
        month: report.month,
        as_of: report.as_of,
        program_version: env!("CARGO_PKG_VERSION").to_string(),
        params,
        extracts: report.extracts.clone(),
        snapshots: report.snapshots.iter().map(|(t, d)| (t.to_string(), *d)).collect(),
        warnings: report.warnings.clone(),
        tables,
        views,
        trend: report.trend.clone(),
        dictionary: report.dictionary.clone(),
    })
}

/// Compute, build, sign and publish a month's bundle under the config's
/// publish root; returns the report and the bundle.
pub async fn publish_month(
    cfg: &Config,
    clock: &dyn Clock,
    req: &MonthlyRequest,
) -> Result<(MonthlyReport, crate::publish::Bundle), PublishMonthError> {
    let root = Location::open(&cfg.publish, &cfg.storage)?;
    publish_month_to(cfg, clock, req, &root).await
}

/// [`publish_month`] to an explicit publish root (the config's
/// `locations.publish` is not used): the same path, for a root whose store
/// the caller holds.
pub async fn publish_month_to(
    cfg: &Config,
    clock: &dyn Clock,
    req: &MonthlyRequest,
    root: &Location,
) -> Result<(MonthlyReport, crate::publish::Bundle), PublishMonthError> {
    let mut report = compute(cfg, clock, req).await?;
    let started = Instant::now();
    let signer = match &cfg.signing_key {
        Some(p) => Some(crate::publish::Signer::from_openssh_file(p)?),
        None => None,
    };
    let bundle = crate::publish::build(&bundle_input(&report)?, signer.as_ref())?;
    report
        .timings
        .push(StepTiming::since("build bundle (html, xlsx, manifest, signature)", started));
    let started = Instant::now();
    crate::publish::publish(root, &bundle).await?;
    report.timings.push(StepTiming::since("publish (bundle, then index.html)", started));
    info!(month = %report.month, as_of = %report.as_of, files = bundle.files.len(), signed = signer.is_some(), "bundle published");
    Ok((report, bundle))
}

#[derive(Debug, thiserror::Error)]
pub enum PublishMonthError {
    #[error(transparent)]
    Monthly(#[from] MonthlyError),
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}
