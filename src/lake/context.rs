//! The DataFusion context and the tables a query sees (`docs/lake-views.md`).
//!
//! [`session`] is the one place that creates a DataFusion context, local or
//! on a Ballista cluster; it registers the lake's object store, so the views
//! read Parquet from S3 as from a folder. [`open`] registers the lake's
//! files as tables that already apply the rules of `report.md`: extracts up
//! to `as_of`, each night's latest ingested delivery only, latest extract
//! wins per key for incremental tables, snapshots as of the report month
//! (stale ones refused unless allowed), insurance provinces mapped from BPS
//! to Kemendagri codes. The views are plain SQL (`CREATE VIEW`), and the
//! small bookkeeping and reference tables are views over `VALUES`, so a
//! Ballista cluster can run every plan ([`crate::engine`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Date32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use datafusion::config::TableParquetOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{LogicalPlanBuilder, col, lit};
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;

use super::ledger::{DeliveryStatus, Ledger};
use crate::clock::Month;
use crate::contract::reference::{STATUSES, provinces, violations};
use crate::contract::{EXTRACT_DATE, Kind, OP, System, TABLES, Table};
use crate::engine::{Engine, EngineError};
use crate::ingest::validate::days_since_epoch;
use crate::storage::Location;

/// Snapshots older than this many days before the month's last day are stale.
pub const MAX_SNAPSHOT_AGE_DAYS: i64 = 7;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("the lake has no ingested extract yet: run `wasnaker ingest` first")]
    EmptyLake,
    #[error("{table}: no snapshot on or before {day} (as_of {as_of}) for month {month}; ingest the nights of that month first")]
    NoSnapshot {
        table: &'static str,
        month: String,
        day: NaiveDate,
        as_of: NaiveDate,
    },
    #[error(
        "{table}: the latest snapshot on or before {day} (as_of {as_of}) is from {night}, {age} days older than the month's last day (at most {MAX_SNAPSHOT_AGE_DAYS} allowed) for month {month}; ingest a later night or pass --allow-stale-snapshot"
    )]
    StaleSnapshot {
        table: &'static str,
        month: String,
        day: NaiveDate,
        as_of: NaiveDate,
        night: NaiveDate,
        age: i64,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "writing a scratch copy of {what} in {}: {message}; make room there or point TMPDIR at a folder with space",
        dir.display()
    )]
    Scratch { what: String, dir: PathBuf, message: String },
    #[error("registering lake table {table}: {source}")]
    DataFusion {
        table: String,
        #[source]
        source: DataFusionError,
    },
}

/// What to show: which month's snapshots and which extracts.
#[derive(Debug, Clone, Default)]
pub struct ViewOptions {
    /// The report month; `None` = snapshots as of `as_of` (ad-hoc queries).
    pub month: Option<Month>,
    /// Latest extract date used; `None` = the latest ingested night.
    pub as_of: Option<NaiveDate>,
    pub allow_stale_snapshot: bool,
    /// Register only these lake tables (their views and `lake_` tables);
    /// `None` = all. The trend reads two tables of seven.
    pub only: Option<Vec<&'static str>>,
}

/// One extract file the views use (for the bundle's manifest).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExtractUse {
    pub source: System,
    pub table: &'static str,
    #[serde(with = "crate::clock::date_serde")]
    pub night: NaiveDate,
    pub version: u32,
    pub sha256: String,
    pub rows: u64,
}

/// A context with the lake's tables registered, and what went into it.
pub struct LakeViews {
    pub ctx: SessionContext,
    pub as_of: NaiveDate,
    /// Snapshot table → night of the snapshot used.
    pub snapshots: Vec<(&'static str, NaiveDate)>,
    /// Visible warnings (stale snapshots that were allowed).
    pub warnings: Vec<String>,
    pub extracts: Vec<ExtractUse>,
}

/// Marks a context whose plans run outside this process ([`is_distributed`]).
#[derive(Debug)]
struct Distributed;

/// The one constructor of a DataFusion session, for every engine. The lake's
/// object store (S3, GCS, Azure, memory) is registered under its URL
/// (`s3://bucket`), so the tables' Parquet files are read from it with ranged
/// GETs; local folders need no registration. It keeps the SQL's source
/// positions, so a planning error names the line and column of its query
/// file (`wasnaker check`).
fn session_state(distributed: bool, lake: Option<&Location>, runtime: Option<Arc<RuntimeEnv>>) -> SessionState {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .set_str("datafusion.sql_parser.dialect", "PostgreSQL")
        .set_bool("datafusion.sql_parser.collect_spans", true);
    if distributed {
        // Ballista runs a plan as stages in separate tasks. A dynamic filter
        // (filled at run time by a hash join's build side, a top-k or an
        // aggregate, and read by a scan of the same plan) does not cross a
        // stage boundary, and Ballista's join reordering asserts on joins that
        // carry one ("Cannot swap HashJoinExec inputs"): the job then never
        // finishes. They only prune reads; results are the same without them.
        config = config.with_extension(Arc::new(Distributed));
        for key in [
            "datafusion.optimizer.enable_dynamic_filter_pushdown",
            "datafusion.optimizer.enable_join_dynamic_filter_pushdown",
            "datafusion.optimizer.enable_topk_dynamic_filter_pushdown",
            "datafusion.optimizer.enable_aggregate_dynamic_filter_pushdown",
        ] {
            config = config.set_bool(key, false);
        }
        config = static_distributed_planner(config);
    }
    let runtime = runtime.unwrap_or_default();
    if let Some(lake) = lake.filter(|l| l.local_root().is_none()) {
        runtime.register_object_store(&lake.store_url(), lake.store());
    }
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build();
    // DataFusion's first_value/last_value with a faster grouped accumulator
    // (same results, see `first_last`).
    for f in super::first_last::functions() {
        if let Err(e) = datafusion::execution::FunctionRegistry::register_udaf(&mut state, f) {
            tracing::warn!(error = %e, "DataFusion's own first_value/last_value are used");
        }
    }
    if !distributed {
        return state;
    }
    // After DataFusion's own rules (their list is copied, then appended to).
    SessionStateBuilder::new_from_existing(state)
        .with_optimizer_rule(Arc::new(crate::engine::LiteralRowsAsValues))
        .build()
}

/// Ballista 55's adaptive planner re-plans a stage while its tasks run and
/// then rejects their metrics ("task metrics array size 6 does not equal
/// the stage metrics array size 5"), and the job never finishes; the static
/// distributed planner runs every report query.
#[cfg(feature = "ballista")]
fn static_distributed_planner(config: SessionConfig) -> SessionConfig {
    use ballista::prelude::SessionConfigExt;
    config.upgrade_for_ballista().with_ballista_adaptive_query_planner(false)
}

#[cfg(not(feature = "ballista"))]
fn static_distributed_planner(config: SessionConfig) -> SessionConfig {
    config
}

/// A context that runs everything in this process (fixtures, planning).
pub fn local_session(lake: Option<&Location>) -> SessionContext {
    SessionContext::new_with_state(session_state(false, lake, None))
}

/// A context on `engine`. For Ballista, the same session state is upgraded
/// with Ballista's query planner, which sends each plan to the scheduler;
/// one test query proves the scheduler and an executor answer before any
/// report query runs, so a wrong `engine.url` is reported as such.
pub async fn session(engine: &Engine, lake: Option<&Location>) -> Result<SessionContext, EngineError> {
    if !engine.is_distributed() {
        return Ok(local_session(lake));
    }
    distributed(engine, session_state(true, lake, None)).await
}

/// True when `ctx`'s plans are executed outside this process: in-memory
/// tables cannot be sent there, so a report table read by a later query is
/// registered as `VALUES` (or a view).
pub fn is_distributed(ctx: &SessionContext) -> bool {
    ctx.state().config().get_extension::<Distributed>().is_some()
}

/// How long the test query of a new Ballista session may take.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(feature = "ballista")]
async fn distributed(engine: &Engine, state: SessionState) -> Result<SessionContext, EngineError> {
    use ballista::prelude::SessionContextExt;
    let start = |e: DataFusionError| EngineError::Start {
        engine: engine.to_string(),
        message: e.to_string(),
    };
    let ctx = match engine {
        Engine::Standalone => SessionContext::standalone_with_state(state).await.map_err(start)?,
        _ => SessionContext::remote_with_state(&engine.to_string(), state).await.map_err(start)?,
    };
    let unreachable = |message: String| EngineError::Unreachable {
        engine: engine.to_string(),
        message,
    };
    let probe = async { ctx.sql("SELECT 1 AS probe").await?.collect().await };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => Ok(ctx),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable(format!("no answer within {} s", PROBE_TIMEOUT.as_secs()))),
    }
}

/// Starts a one-machine Ballista cluster, a scheduler and one executor, in
/// this process and returns the scheduler's address (on localhost): what
/// `standalone` starts for itself, reachable by other processes as
/// `df://127.0.0.1:PORT`. The executor reads the lake with this process's
/// storage settings. It runs until this process's Tokio runtime stops. For
/// tests and trials; a real cluster runs Ballista's own `ballista-scheduler`
/// and `ballista-executor` (README, "Scale-out").
#[cfg(feature = "ballista")]
pub async fn start_cluster(lake: Option<&Location>) -> Result<std::net::SocketAddr, EngineError> {
    use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
    let err = |message: String| EngineError::Start {
        engine: "standalone".into(),
        message,
    };
    let state = session_state(true, lake, None);
    let addr = ballista_scheduler::standalone::new_standalone_scheduler_from_state(&state)
        .await
        .map_err(|e| err(e.to_string()))?;
    let url = format!("http://127.0.0.1:{}", addr.port());
    let started = std::time::Instant::now();
    let scheduler = loop {
        match SchedulerGrpcClient::connect(url.clone()).await {
            Ok(client) => break client,
            Err(e) if started.elapsed() > PROBE_TIMEOUT => return Err(err(format!("the scheduler at {url} does not answer: {e}"))),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    ballista_executor::new_standalone_executor_from_state(scheduler, cores, &state)
        .await
        .map_err(|e| err(e.to_string()))?;
    Ok(addr)
}

#[cfg(not(feature = "ballista"))]
async fn distributed(engine: &Engine, _state: SessionState) -> Result<SessionContext, EngineError> {
    let _ = PROBE_TIMEOUT;
    Err(EngineError::NotBuilt {
        engine: engine.to_string(),
    })
}

fn df_err(table: &str) -> impl FnOnce(DataFusionError) -> ViewError + '_ {
    move |source| ViewError::DataFusion {
        table: table.to_string(),
        source,
    }
}

/// Register the lake's tables and views on a session of `engine`.
pub async fn open(engine: &Engine, lake: &Location, ledger: &Ledger, opts: &ViewOptions) -> Result<LakeViews, ViewError> {
    let as_of = match opts.as_of.or_else(|| ledger.latest_night()) {
        Some(d) => d,
        None => return Err(ViewError::EmptyLake),
    };
    let ctx = session(engine, Some(lake)).await?;
    let mut views = LakeViews {
        ctx,
        as_of,
        snapshots: Vec::new(),
        warnings: Vec::new(),
        extracts: Vec::new(),
    };
    register_reference(&views.ctx)?;
    register_bookkeeping(&views.ctx, ledger, as_of)?;
    let wanted = |t: &&Table| opts.only.as_ref().is_none_or(|only| only.contains(&t.name));
    for table in TABLES.iter().filter(wanted) {
        let files = match table.kind {
            Kind::Incremental => {
                for e in ledger.effective_nights(table.system, as_of) {
                    if let Some(f) = e.file(table.name) {
                        views.extracts.push(extract_use(table, e.night, e.version, f));
                    }
                }
                ledger
                    .effective_nights(table.system, as_of)
                    .into_iter()
                    .filter_map(|e| e.file(table.name).and_then(|f| f.data.clone()))
                    .collect::<Vec<_>>()
            }
            Kind::Snapshot => {
                let day = opts.month.map_or(as_of, |m| m.last_day().min(as_of));
                let month = opts.month.map_or_else(|| format!("as of {as_of}"), |m| m.to_string());
                let Some(e) = ledger.effective_nights(table.system, day).into_iter().last() else {
                    if opts.month.is_some() {
                        return Err(ViewError::NoSnapshot {
                            table: table.name,
                            month,
                            day,
                            as_of,
                        });
                    }
                    // Ad-hoc queries: an empty table, with a warning.
                    views
                        .warnings
                        .push(format!("{}: no snapshot on or before {day}; the table is empty", table.name));
                    register_files(&views.ctx, lake, table, &[]).await?;
                    create_views(&views.ctx, table).await?;
                    continue;
                };
                if let Some(m) = opts.month {
                    let age = (m.last_day() - e.night).num_days();
                    if age > MAX_SNAPSHOT_AGE_DAYS {
                        let err = ViewError::StaleSnapshot {
                            table: table.name,
                            month,
                            day: m.last_day(),
                            as_of,
                            night: e.night,
                            age,
                        };
                        if !opts.allow_stale_snapshot {
                            return Err(err);
                        }
                        views.warnings.push(format!(
                            "Snapshot {} memakai ekstrak {} ({age} hari sebelum akhir bulan) / snapshot {} uses the extract of {}",
                            table.name, e.night, table.name, e.night
                        ));
                    }
                }
                if let Some(f) = e.file(table.name) {
                    views.extracts.push(extract_use(table, e.night, e.version, f));
                }
                views.snapshots.push((table.name, e.night));
                ledger.snapshot_chain(table, e.night_ref())
            }
        };
        register_files(&views.ctx, lake, table, &files).await?;
        create_views(&views.ctx, table).await?;
    }
    Ok(views)
}

fn extract_use(table: &'static Table, night: NaiveDate, version: u32, f: &super::ledger::FileEntry) -> ExtractUse {
    ExtractUse {
        source: table.system,
        table: table.name,
        night,
        version,
        sha256: f.sha256.clone(),
        rows: f.rows_read,
    }
}

/// `lake_<table>`: the table's Parquet files, scanned by every query that
/// reads them. Nothing is read into memory ahead: a query holds only what
/// its own operators need (within a session DataFusion caches the files'
/// footers, so re-opening a night's small file costs little).
async fn register_files(ctx: &SessionContext, lake: &Location, table: &Table, files: &[String]) -> Result<(), ViewError> {
    let name = format!("lake_{}", table.name);
    let schema = table.lake_schema();
    let provider: Arc<dyn datafusion::catalog::TableProvider> = if files.is_empty() {
        Arc::new(EmptyTable::new(schema))
    } else {
        let urls = files
            .iter()
            .map(|f| ListingTableUrl::parse(lake.url_of(f)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(df_err(&name))?;
        parquet_table(urls, schema).map_err(df_err(&name))?
    };
    ctx.register_table(name.as_str(), provider).map_err(df_err(&name))?;
    Ok(())
}

/// Parquet files read as one table of `schema` (the files' own types are
/// cast to it, e.g. strings are not read as views).
fn parquet_table(urls: Vec<ListingTableUrl>, schema: SchemaRef) -> Result<Arc<dyn datafusion::catalog::TableProvider>, DataFusionError> {
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// A relation of one session written to a scratch Parquet file, to be read
/// by other sessions under the same name ([`session_over`]).
#[derive(Debug, Clone)]
pub struct Materialized {
    name: String,
    path: PathBuf,
    schema: SchemaRef,
}

/// Writes the rows of each relation `names` of `ctx` (lake views, reference
/// tables) once to an uncompressed Parquet file in `dir`. The trend runs the
/// same queries for 11 months over the same views as of `as_of`: reading
/// these files spares each month the latest-row selection over the lake.
pub async fn materialize(ctx: &SessionContext, names: &[String], dir: &Path) -> Result<Vec<Materialized>, ViewError> {
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let df = ctx.table(name.as_str()).await.map_err(df_err(name))?;
        out.push(write_scratch(df, name, dir.join(format!("{i}.parquet"))).await?);
    }
    Ok(out)
}

/// Writes the rows of `df` to the uncompressed Parquet file `path`, to be
/// read under `name` ([`Materialized::table`]).
pub async fn write_scratch(df: DataFrame, name: &str, path: PathBuf) -> Result<Materialized, ViewError> {
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let mut parquet = TableParquetOptions::default();
    parquet.global.compression = Some("uncompressed".into());
    let options = DataFrameWriteOptions::new().with_single_file_output(true);
    df.write_parquet(&path.to_string_lossy(), options, Some(parquet))
        .await
        .map_err(|e| ViewError::Scratch {
            what: name.to_string(),
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            message: e.to_string(),
        })?;
    Ok(Materialized {
        name: name.to_string(),
        path,
        schema,
    })
}

impl Materialized {
    /// The written rows as a table (read when a query runs).
    pub fn table(&self) -> Result<Arc<dyn datafusion::catalog::TableProvider>, ViewError> {
        let url = ListingTableUrl::parse(self.path.to_string_lossy()).map_err(df_err(&self.name))?;
        parquet_table(vec![url], self.schema.clone()).map_err(df_err(&self.name))
    }
}

/// A local session whose only tables are `tables` (see [`materialize`]), on
/// `runtime` when given (sessions over the same files then share the
/// footers they read).
pub fn session_over(tables: &[Materialized], runtime: Option<Arc<RuntimeEnv>>) -> Result<SessionContext, ViewError> {
    let ctx = SessionContext::new_with_state(session_state(false, None, runtime));
    for t in tables {
        ctx.register_table(t.name.as_str(), t.table()?).map_err(df_err(&t.name))?;
    }
    Ok(ctx)
}

/// `(…) AS _latest …`: the rows of `lake_<table>` from the latest extract of
/// each key (then `filter`). A key has at most one row per extract (duplicates
/// are quarantined), so joining on the key's latest extract date picks exactly
/// the row a `row_number()` window would, in a third of the time (a hash
/// aggregate and a hash join instead of sorting every key's rows).
fn latest_rows(table: &Table, filter: &str) -> String {
    let name = table.name;
    let key = table.key.join(", ");
    let on: Vec<String> = table.key.iter().map(|k| format!("t.{k} = m.{k}")).collect();
    format!(
        "(SELECT t.* FROM lake_{name} t JOIN (SELECT {key}, max({EXTRACT_DATE}) AS _latest FROM lake_{name} GROUP BY {key}) m \
         ON {} AND t.{EXTRACT_DATE} = m._latest){filter}",
        on.join(" AND ")
    )
}

/// The view over `lake_<table>` with the spec's semantics.
async fn create_views(ctx: &SessionContext, table: &Table) -> Result<(), ViewError> {
    let cols: Vec<String> = table.lake_columns().filter_map(|(_, c)| c.lake_name()).collect();
    let list = cols.join(", ");
    let name = table.name;
    let sqls: Vec<String> = match table.kind {
        Kind::Incremental => vec![
            format!("CREATE VIEW {name}_history AS SELECT {list}, {EXTRACT_DATE} FROM lake_{name}"),
            format!(
                "CREATE VIEW {name} AS SELECT {list}, {EXTRACT_DATE} FROM {}",
                latest_rows(table, "")
            ),
        ],
        Kind::Snapshot => {
            let latest = latest_rows(table, &format!(" WHERE {OP} = 'U'"));
            if name == "employers" {
                let sel: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        if c == "province_code" {
                            "p.code AS province_code, e.province_code AS province_code_bps".to_string()
                        } else {
                            format!("e.{c}")
                        }
                    })
                    .collect();
                vec![format!(
                    "CREATE VIEW {name} AS SELECT {}, e.{EXTRACT_DATE} FROM (SELECT * FROM {latest}) e JOIN provinces p ON p.bps_code = e.province_code",
                    sel.join(", ")
                )]
            } else {
                vec![format!("CREATE VIEW {name} AS SELECT {list}, {EXTRACT_DATE} FROM {latest}")]
            }
        }
    };
    for sql in sqls {
        ctx.sql(&sql).await.map_err(df_err(name))?;
    }
    Ok(())
}

fn mem(ctx: &SessionContext, name: &str, schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<(), ViewError> {
    let batch = RecordBatch::try_new(schema, columns).map_err(|e| df_err(name)(e.into()))?;
    register_values(ctx, name, &batch).map_err(df_err(name))
}

/// Registers `batch` as a view over `VALUES` named `name`: a plan any
/// engine can serialise and send to its executors (an in-memory table
/// cannot be), flat, however long the plan that computed the rows. Columns
/// keep their types and are nullable, as `VALUES` makes them on every
/// engine. For small tables: every value is a literal of the plan.
pub fn register_values(ctx: &SessionContext, name: &str, batch: &RecordBatch) -> Result<(), DataFusionError> {
    let schema = batch.schema();
    let mut rows = Vec::with_capacity(batch.num_rows().max(1));
    for row in 0..batch.num_rows() {
        let values = batch.columns().iter().map(|c| ScalarValue::try_from_array(c, row).map(lit));
        rows.push(values.collect::<Result<Vec<_>, _>>()?);
    }
    // VALUES needs a row: an empty table is one typed NULL row, filtered out.
    let empty = rows.is_empty();
    if empty {
        let nulls = schema.fields().iter().map(|f| ScalarValue::try_from(f.data_type()).map(lit));
        rows.push(nulls.collect::<Result<Vec<_>, _>>()?);
    }
    let mut plan = LogicalPlanBuilder::values(rows)?;
    if empty {
        plan = plan.filter(lit(false))?;
    }
    let named = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| col(format!("column{}", i + 1)).alias(f.name()));
    let plan = plan.project(named)?.build()?;
    ctx.register_table(name, Arc::new(datafusion::catalog::view::ViewTable::new(plan, None)))?;
    Ok(())
}

fn strings<'a>(it: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

fn register_reference(ctx: &SessionContext) -> Result<(), ViewError> {
    let p = provinces();
    mem(
        ctx,
        "provinces",
        Arc::new(Schema::new(vec![
            Field::new("code", DataType::Utf8, false),
            Field::new("bps_code", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("tile_row", DataType::Int64, false),
            Field::new("tile_col", DataType::Int64, false),
        ])),
        vec![
            strings(p.iter().map(|x| x.code.as_str())),
            strings(p.iter().map(|x| x.bps_code.as_str())),
            strings(p.iter().map(|x| x.name.as_str())),
            Arc::new(Int64Array::from_iter_values(p.iter().map(|x| x.tile_row))),
            Arc::new(Int64Array::from_iter_values(p.iter().map(|x| x.tile_col))),
        ],
    )?;
    let v = violations();
    mem(
        ctx,
        "violations",
        Arc::new(Schema::new(vec![
            Field::new("code", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("name_en", DataType::Utf8, false),
            Field::new("ord", DataType::Int64, false),
        ])),
        vec![
            strings(v.iter().map(|x| x.code.as_str())),
            strings(v.iter().map(|x| x.name.as_str())),
            strings(v.iter().map(|x| x.name_en.as_str())),
            Arc::new(Int64Array::from_iter_values(1..=v.len() as i64)),
        ],
    )?;
    mem(
        ctx,
        "complaint_statuses",
        Arc::new(Schema::new(vec![
            Field::new("code", DataType::Utf8, false),
            Field::new("name_id", DataType::Utf8, false),
            Field::new("terminal", DataType::Boolean, false),
            Field::new("follow_up", DataType::Boolean, false),
        ])),
        vec![
            strings(STATUSES.iter().map(|s| s.code)),
            strings(STATUSES.iter().map(|s| s.name_id)),
            Arc::new(BooleanArray::from(STATUSES.iter().map(|s| s.terminal).collect::<Vec<_>>())),
            Arc::new(BooleanArray::from(STATUSES.iter().map(|s| s.follow_up).collect::<Vec<_>>())),
        ],
    )
}

fn register_bookkeeping(ctx: &SessionContext, ledger: &Ledger, as_of: NaiveDate) -> Result<(), ViewError> {
    let mut n_source = Vec::new();
    let mut n_date = Vec::new();
    let mut n_state = Vec::new();
    let mut t = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for system in System::ALL {
        for night in ledger.nights(system).filter(|n| *n <= as_of) {
            let eff = ledger.effective(system, night);
            n_source.push(system.name());
            n_date.push(days_since_epoch(night));
            n_state.push(if eff.is_some() { "ingested" } else { "rejected" });
            let Some(e) = eff else { continue };
            debug_assert_eq!(e.status, DeliveryStatus::Ingested);
            for table in system.tables() {
                if let Some(f) = e.file(table.name) {
                    t.0.push(system.name());
                    t.1.push(table.name);
                    t.2.push(table.order as i64);
                    t.3.push(days_since_epoch(night));
                    t.4.push(f.rows_read as i64);
                    t.5.push(f.rows_accepted as i64);
                    t.6.push(f.rows_quarantined as i64);
                }
            }
        }
    }
    mem(
        ctx,
        "nights",
        Arc::new(Schema::new(vec![
            Field::new("source", DataType::Utf8, false),
            Field::new("extract_date", DataType::Date32, false),
            Field::new("state", DataType::Utf8, false),
        ])),
        vec![
            strings(n_source.into_iter()),
            Arc::new(Date32Array::from(n_date)),
            strings(n_state.into_iter()),
        ],
    )?;
    mem(
        ctx,
        "night_tables",
        Arc::new(Schema::new(vec![
            Field::new("source", DataType::Utf8, false),
            Field::new("table_name", DataType::Utf8, false),
            Field::new("table_order", DataType::Int64, false),
            Field::new("extract_date", DataType::Date32, false),
            Field::new("rows_read", DataType::Int64, false),
            Field::new("rows_accepted", DataType::Int64, false),
            Field::new("rows_quarantined", DataType::Int64, false),
        ])),
        vec![
            strings(t.0.into_iter()),
            strings(t.1.into_iter()),
            Arc::new(Int64Array::from(t.2)),
            Arc::new(Date32Array::from(t.3)),
            Arc::new(Int64Array::from(t.4)),
            Arc::new(Int64Array::from(t.5)),
            Arc::new(Int64Array::from(t.6)),
        ],
    )
}
