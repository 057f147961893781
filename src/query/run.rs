//! Running a [`QuerySet`] in a DataFusion context that already holds the lake
//! views.
//!
//! In execution order, each query is planned from its file's SQL (no DDL, no
//! DML, no statements), its `$parameters` are bound by DataFusion, and then:
//! a `view` is registered as a view (`DataFrame::into_view`) for later
//! queries, or, when several later queries read it and the engine is local,
//! computed once and its rows written to an uncompressed scratch Parquet file
//! that they read (if that fails, e.g. no space, it stays a view, with a
//! warning; after the run every view from the first written one on is
//! planned again from its SQL, and the files are removed); a `report` is
//! executed, collected, registered as an in-memory table (so a later query
//! reads exactly the published numbers) and returned. Each query's wall
//! time is measured ([`QueryTiming`]): a view's is its planning only, since a
//! view is evaluated inside the reports that read it, or that and its
//! computing when it is written once.
//! Running never writes a file but those scratch files, and never formats
//! anything for people.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionContext;
use datafusion::physical_plan::collect;
use datafusion::prelude::DataFrame;

use super::error::{QueryError, Result, did_you_mean};
use super::header::QueryKind;
use super::load::{QueryFile, QuerySet};
use super::params::ReportParams;

/// The result of one report query.
#[derive(Debug, Clone)]
pub struct ReportTable {
    /// The query file that produced it (name, titles, description, SQL,
    /// SHA-256).
    pub query: QueryFile,
    /// The output schema (also valid when there are no rows).
    pub schema: SchemaRef,
    /// The rows, in the query's ORDER BY order.
    pub batches: Vec<RecordBatch>,
}

impl ReportTable {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// How long one query took.
#[derive(Debug, Clone)]
pub struct QueryTiming {
    pub name: String,
    pub kind: QueryKind,
    /// Reports: planning, execution and collection; views: planning only,
    /// or planning, computing and writing for a view read by several queries
    /// (see [`QuerySet::run`]).
    pub elapsed: Duration,
    /// Reports only: rows produced.
    pub rows: Option<usize>,
}

/// On a distributed engine, a published table of at most this many rows
/// that a later query reads is sent to the executors as `VALUES`.
pub const VALUES_MAX_ROWS: usize = 10_000;

impl QuerySet {
    /// Runs every query in order against `ctx` with `params`, returning the
    /// report tables in execution order.
    pub async fn run(&self, ctx: &SessionContext, params: &ReportParams) -> Result<Vec<ReportTable>> {
        Ok(self.run_timed(ctx, params).await?.0)
    }

    /// [`QuerySet::run`], with the time each query took.
    pub async fn run_timed(&self, ctx: &SessionContext, params: &ReportParams) -> Result<(Vec<ReportTable>, Vec<QueryTiming>)> {
        let values = params.values().into_iter().map(|(n, v)| (n.to_string(), v)).collect();
        self.run_with_values(ctx, values).await
    }

    /// Runs with explicit parameter values (names without `$`), e.g. those
    /// recorded in a bundle's manifest.
    pub async fn run_with_values(
        &self,
        ctx: &SessionContext,
        values: Vec<(String, ScalarValue)>,
    ) -> Result<(Vec<ReportTable>, Vec<QueryTiming>)> {
        let provided: BTreeSet<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
        // Check every query before running any, so a missing parameter
        // never leaves half a report.
        for query in self.queries() {
            if let Some(missing) = missing_params(query, &provided).into_iter().next() {
                return Err(missing);
            }
        }
        let param_values = ParamValues::from(values.into_iter().collect::<std::collections::HashMap<String, ScalarValue>>());
        let mut written = WrittenViews::default();
        let result = self.run_in_order(ctx, &param_values, &mut written).await;
        // The views are views again whatever happened (their scratch files
        // are then removed).
        written.restore(self, ctx, &param_values).await;
        result
    }

    async fn run_in_order(
        &self,
        ctx: &SessionContext,
        param_values: &ParamValues,
        written: &mut WrittenViews,
    ) -> Result<(Vec<ReportTable>, Vec<QueryTiming>)> {
        let options = crate::lake::adhoc::read_only();
        let distributed = crate::lake::context::is_distributed(ctx);
        let mut reports = Vec::new();
        let mut timings = Vec::new();
        for (i, query) in self.queries().iter().enumerate() {
            let df_err = |source| QueryError::DataFusion {
                file: query.path.clone(),
                source,
            };
            let started = Instant::now();
            let df = ctx
                .sql_with_options(&query.sql, options)
                .await
                .map_err(df_err)?
                .with_param_values(param_values.clone())
                .map_err(df_err)?;
            let rows = match query.kind {
                QueryKind::View => {
                    // Read by several queries: computed once, locally, and
                    // read from a scratch file by each of them.
                    let readers = self.queries()[i + 1..].iter().filter(|q| q.reads.contains(&query.name)).count();
                    if distributed || readers < 2 || !written.write(ctx, i, query, &df).await {
                        ctx.register_table(query.name.as_str(), df.into_view()).map_err(df_err)?;
                    }
                    None
                }
                QueryKind::Report => {
                    let view = distributed.then(|| df.clone().into_view());
                    let task_ctx = Arc::new(df.task_ctx());
                    let plan = df.create_physical_plan().await.map_err(df_err)?;
                    let schema = plan.schema();
                    check_exact(query, &schema)?;
                    let batches = collect(plan, task_ctx).await.map_err(df_err)?;
                    let rows = batches.iter().map(RecordBatch::num_rows).sum();
                    // A later query may read this table. Locally its rows are
                    // kept in memory. A distributed engine cannot be sent an
                    // in-memory table: a small table goes as VALUES (a view of
                    // its plan would be computed again, and nests so deep that
                    // Ballista cannot decode the plans that read it), a large
                    // one as that view.
                    match view {
                        None => {
                            let table = MemTable::try_new(schema.clone(), vec![batches.clone()]).map_err(df_err)?;
                            ctx.register_table(query.name.as_str(), Arc::new(table)).map_err(df_err)?;
                        }
                        Some(_) if rows <= VALUES_MAX_ROWS => {
                            let all = datafusion::arrow::compute::concat_batches(&schema, &batches).map_err(|e| df_err(e.into()))?;
                            crate::lake::context::register_values(ctx, query.name.as_str(), &all).map_err(df_err)?;
                        }
                        Some(view) => {
                            ctx.register_table(query.name.as_str(), view).map_err(df_err)?;
                        }
                    }
                    reports.push(ReportTable {
                        query: query.clone(),
                        schema,
                        batches,
                    });
                    Some(rows)
                }
            };
            let elapsed = started.elapsed();
            tracing::debug!(query = %query.name, kind = query.kind.as_str(), ms = elapsed.as_millis() as u64, rows, "query done");
            timings.push(QueryTiming {
                name: query.name.clone(),
                kind: query.kind,
                elapsed,
                rows,
            });
        }
        Ok((reports, timings))
    }
}

/// The views of one run whose rows were written once to a scratch folder.
/// A view is otherwise evaluated inside every query that reads it:
/// `complaint_state` (every complaint's events aggregated) would be computed
/// three times per report.
#[derive(Default)]
struct WrittenViews {
    dir: Option<tempfile::TempDir>,
    /// Run position of the first view written: the views planned from there
    /// on may read a scratch file.
    first: Option<usize>,
}

impl WrittenViews {
    /// Computes the view `df` of `query` (at run position `position`) once
    /// and registers its rows under the view's name. False when that could
    /// not be done, with a warning: the caller then registers the view
    /// itself, and each query that reads it evaluates it (and reports any
    /// error it meets, as without this).
    async fn write(&mut self, ctx: &SessionContext, position: usize, query: &QueryFile, df: &DataFrame) -> bool {
        match self.try_write(ctx, query, df.clone()).await {
            Ok(()) => {
                self.first.get_or_insert(position);
                true
            }
            Err(message) => {
                tracing::warn!(
                    view = %query.name,
                    file = %query.path.display(),
                    "{message}; each query that reads the view evaluates it"
                );
                false
            }
        }
    }

    async fn try_write(&mut self, ctx: &SessionContext, query: &QueryFile, df: DataFrame) -> std::result::Result<(), String> {
        let dir = match &mut self.dir {
            Some(dir) => dir,
            empty => empty.insert(
                tempfile::Builder::new()
                    .prefix("wasnaker-views-")
                    .tempdir()
                    .map_err(|e| format!("cannot make a scratch folder in {} (TMPDIR): {e}", std::env::temp_dir().display()))?,
            ),
        };
        let path = dir.path().join(format!("{}.parquet", query.name));
        let rows = crate::lake::context::write_scratch(df, &query.name, path)
            .await
            .map_err(|e| e.to_string())?;
        let table = rows.table().map_err(|e| e.to_string())?;
        ctx.register_table(query.name.as_str(), table).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Plans again, from their SQL, the views registered from the first
    /// written one on, so that none reads a scratch file; then removes the
    /// folder.
    async fn restore(self, set: &QuerySet, ctx: &SessionContext, param_values: &ParamValues) {
        let Some(first) = self.first else { return };
        for query in set.queries()[first..].iter().filter(|q| q.kind == QueryKind::View) {
            if !ctx.table_exist(query.name.as_str()).unwrap_or(false) {
                continue; // not reached by a run that stopped early
            }
            let again = async {
                let view = ctx
                    .sql_with_options(&query.sql, crate::lake::adhoc::read_only())
                    .await?
                    .with_param_values(param_values.clone())?
                    .into_view();
                ctx.deregister_table(query.name.as_str())?;
                ctx.register_table(query.name.as_str(), view)
            };
            if let Err(e) = again.await {
                tracing::warn!(view = %query.name, error = %e, "the view could not be planned again after the run");
            }
        }
    }
}

/// One error for each parameter `query` uses that is not in `provided`.
pub(crate) fn missing_params(query: &QueryFile, provided: &BTreeSet<&str>) -> Vec<QueryError> {
    query
        .param_uses
        .iter()
        .filter(|used| !provided.contains(used.name.as_str()))
        .map(|used| QueryError::MissingParam {
            file: query.path.clone(),
            line: used.line,
            column: used.column,
            name: used.name.clone(),
            suggestion: did_you_mean(
                &format!("${}", used.name),
                provided
                    .iter()
                    .map(|p| format!("${p}"))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
            provided: provided.iter().map(|p| format!("${p}")).collect::<Vec<_>>().join(", "),
        })
        .collect()
}

/// Refuses binary floating point in a published table.
fn check_exact(query: &QueryFile, schema: &SchemaRef) -> Result<()> {
    match float_columns(schema).next() {
        Some(field) => Err(QueryError::FloatResult {
            file: query.path.clone(),
            column: field.name().clone(),
            data_type: field.data_type().clone(),
        }),
        None => Ok(()),
    }
}

/// The binary floating-point columns of `schema`, which a published table
/// may not have.
pub(crate) fn float_columns(
    schema: &datafusion::arrow::datatypes::Schema,
) -> impl Iterator<Item = &datafusion::arrow::datatypes::FieldRef> {
    schema
        .fields()
        .iter()
        .filter(|f| matches!(f.data_type(), DataType::Float16 | DataType::Float32 | DataType::Float64))
}
