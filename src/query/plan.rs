//! Planning every query against the lake's schemas, without data: what
//! `wasnaker check`, `wasnaker lineage` and the data dictionary stand on.
//!
//! Each lake view of `docs/lake-views.md` is registered with its exact
//! schema and no rows ([`super::fixture::register_empty_views`]), so this
//! works on an empty lake or with no lake at all. In execution order, each
//! query is planned by DataFusion (parse, bind the report parameters, analyse
//! and optimise, physical plan) in the one context constructor
//! ([`crate::lake::context::local_session`], which keeps SQL positions); its output
//! is registered, empty, for the queries that read it.
//!
//! Every problem is collected, not only the first: a missing parameter, each
//! DataFusion error (unknown column, type error, …) at the file's
//! `LINE:COLUMN` with DataFusion's message and a hint, a binary floating-point
//! column in a published table, and for a `report` every output column
//! without its `-- column` line (and every `-- column` line naming no output
//! column). A query that reads a query with a problem is not planned.
//!
//! From the optimised plans it derives lineage: which tables and columns each
//! query reads, and — through the queries it reads — which lake views and
//! columns each output column depends on (the columns needed to compute it,
//! filters and joins included). This module never reads the lake or a clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Column, DataFusionError, SchemaError};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, lit};

use super::error::{QueryError, Result, closest};
use super::fixture::register_empty_views;
use super::header::QueryKind;
use super::load::{QueryFile, QuerySet};
use super::params::{ReportParams, ReportSettings};
use super::run::{float_columns, missing_params};
use super::schemas::view_names;

/// Tables mapped to columns, both sorted.
pub type Sources = BTreeMap<String, BTreeSet<String>>;

/// Planning needs the parameters' types, not their values: any month does.
const PLAN_MONTH: &str = "2026-10";

/// One query that planned without a problem.
#[derive(Debug, Clone)]
pub struct PlannedQuery {
    /// The query file.
    pub query: QueryFile,
    /// Its output columns and their types.
    pub schema: SchemaRef,
    /// The tables it reads itself (lake views and other queries), each with
    /// the columns it reads of them.
    pub reads: Sources,
    /// The lake views it depends on, through the queries it reads, with the
    /// columns.
    pub sources: Sources,
    /// For each output column, in schema order, the lake views and columns
    /// it depends on.
    pub column_sources: Vec<Sources>,
    /// The lake views and columns that decide which rows it has.
    row_sources: Sources,
}

impl PlannedQuery {
    /// The queries it reads itself (not lake views), sorted.
    pub fn query_reads(&self) -> impl Iterator<Item = &str> {
        self.reads.keys().map(String::as_str).filter(|t| !view_names().contains(t))
    }
}

/// The result of planning a query set.
#[derive(Debug, Default)]
pub struct Planned {
    /// The queries that planned without a problem, in execution order.
    pub queries: Vec<PlannedQuery>,
    /// Every problem found, in execution order of the queries.
    pub problems: Vec<QueryError>,
}

impl Planned {
    /// The planned query declaring table `name`.
    pub fn get(&self, name: &str) -> Option<&PlannedQuery> {
        self.queries.iter().find(|q| q.query.name == name)
    }
}

/// Plans every query of `set` against the lake views' schemas, with the
/// parameters of `settings`; collects every problem.
pub async fn plan_all(set: &QuerySet, settings: ReportSettings) -> Result<Planned> {
    plan_all_on(&crate::lake::context::local_session(None), set, settings).await
}

/// [`plan_all`] on a given session (`wasnaker check` plans on the configured
/// engine's). The session gets empty tables with the views' schemas.
pub async fn plan_all_on(ctx: &SessionContext, set: &QuerySet, settings: ReportSettings) -> Result<Planned> {
    register_empty_views(ctx)?;
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default();
    let params = ReportParams::new(PLAN_MONTH, as_of, settings)?;
    let provided: BTreeSet<&str> = params.values().iter().map(|(n, _)| *n).collect();

    let mut planned = Planned::default();
    for query in set.queries() {
        let blocked = query
            .reads
            .iter()
            .any(|r| !view_names().contains(&r.as_str()) && planned.get(r).is_none());
        if blocked {
            continue;
        }
        let missing = missing_params(query, &provided);
        if !missing.is_empty() {
            planned.problems.extend(missing);
            continue;
        }
        let plan = match plan_query(ctx, query, &params).await {
            Ok(plan) => plan,
            Err(error) => {
                planned.problems.extend(error.iter().map(|e| planning_error(query, e)));
                continue;
            }
        };
        let schema = plan.schema().inner().clone();
        // Documentation and exactness problems do not stop the queries
        // that read this one from being planned.
        planned.problems.extend(output_problems(query, &schema));
        match lineage(ctx, query, &plan, &schema, &planned) {
            Ok(q) => planned.queries.push(q),
            Err(error) => {
                planned.problems.push(planning_error(query, &error));
                continue;
            }
        }
        let table = MemTable::try_new(schema, vec![Vec::new()]).map_err(|source| QueryError::DataFusion {
            file: query.path.clone(),
            source,
        })?;
        ctx.register_table(query.name.as_str(), Arc::new(table))
            .map_err(|source| QueryError::DataFusion {
                file: query.path.clone(),
                source,
            })?;
    }
    Ok(planned)
}

/// The logical plan of `query` with its parameters bound, after DataFusion
/// has also analysed, optimised and physically planned it (each step finds
/// other mistakes).
async fn plan_query(ctx: &SessionContext, query: &QueryFile, params: &ReportParams) -> Result<LogicalPlan, DataFusionError> {
    let df = ctx
        .sql_with_options(&query.sql, crate::lake::adhoc::read_only())
        .await?
        .with_param_values(params.param_values())?;
    let plan = df.logical_plan().clone();
    df.create_physical_plan().await?;
    Ok(plan)
}

/// What lineage needs of one planned query: direct reads, and the sources of
/// each output column and of its rows.
fn lineage(
    ctx: &SessionContext,
    query: &QueryFile,
    plan: &LogicalPlan,
    schema: &SchemaRef,
    earlier: &Planned,
) -> Result<PlannedQuery, DataFusionError> {
    let state = ctx.state();
    let scans_of = |projection: Vec<Expr>| -> Result<Sources, DataFusionError> {
        let projected = LogicalPlanBuilder::from(plan.clone()).project(projection)?.build()?;
        scans(&state.optimize(&projected)?)
    };
    let reads = scans(&state.optimize(plan)?)?;
    let row_reads = scans_of(vec![lit(1).alias("_row")])?;
    let mut column_sources = Vec::with_capacity(schema.fields().len());
    for (qualifier, field) in plan.schema().iter() {
        let column = Column::new(qualifier.cloned(), field.name());
        column_sources.push(resolve(&scans_of(vec![Expr::Column(column)])?, earlier));
    }
    Ok(PlannedQuery {
        query: query.clone(),
        schema: schema.clone(),
        sources: resolve(&reads, earlier),
        row_sources: resolve(&row_reads, earlier),
        reads,
        column_sources,
    })
}

/// Replaces every query among `reads` by the lake sources of the columns read
/// of it (and of its rows).
fn resolve(reads: &Sources, earlier: &Planned) -> Sources {
    let mut out = Sources::new();
    for (table, columns) in reads {
        let Some(read) = earlier.get(table) else {
            out.entry(table.clone()).or_default().extend(columns.iter().cloned());
            continue;
        };
        let mut parts = vec![&read.row_sources];
        for (index, field) in read.schema.fields().iter().enumerate() {
            if columns.contains(field.name()) {
                parts.extend(read.column_sources.get(index));
            }
        }
        for part in parts {
            for (t, c) in part {
                out.entry(t.clone()).or_default().extend(c.iter().cloned());
            }
        }
    }
    out
}

/// The table scans of an optimised plan: table → columns read (projected or
/// used by a pushed-down filter).
fn scans(plan: &LogicalPlan) -> Result<Sources, DataFusionError> {
    let mut out = Sources::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let columns = out.entry(scan.table_name.table().to_string()).or_default();
            columns.extend(scan.projected_schema.fields().iter().map(|f| f.name().clone()));
            for filter in &scan.filters {
                columns.extend(filter.column_refs().into_iter().map(|c| c.name.clone()));
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(out)
}

/// Problems of the output columns: binary floating point in a published
/// table, and header documentation that does not match the columns.
fn output_problems(query: &QueryFile, schema: &SchemaRef) -> Vec<QueryError> {
    let mut problems = Vec::new();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if query.kind == QueryKind::Report {
        for field in float_columns(schema) {
            let (line, column) = output_position(query, field.name());
            problems.push(QueryError::Planning {
                file: query.path.clone(),
                line,
                column,
                message: format!(
                    "column `{}` is {}: published figures must be exact",
                    field.name(),
                    field.data_type()
                ),
                hint: Some("compute it as DECIMAL(18, 1), rounding half away from zero (see spec/report.md, \"Rounding\")".to_string()),
            });
        }
        for name in &names {
            if !query.columns.iter().any(|d| d.name == *name) {
                let (line, column) = output_position(query, name);
                problems.push(QueryError::Planning {
                    file: query.path.clone(),
                    line,
                    column,
                    message: format!("published column `{name}` has no `-- column {name}:` line in the header"),
                    hint: Some(format!(
                        "add `-- column {name}: <what it holds>` after `-- description:`; it is the column's entry in the data dictionary"
                    )),
                });
            }
        }
    }
    for doc in &query.columns {
        if !names.contains(&doc.name.as_str()) {
            let suggestion = closest(&doc.name, names.iter().copied()).map(|c| format!("did you mean `{c}`? "));
            problems.push(QueryError::Planning {
                file: query.path.clone(),
                line: doc.line as u64,
                column: 4,
                message: format!("`-- column {}:` documents a column the query does not output", doc.name),
                hint: Some(format!(
                    "{}the output columns are {}",
                    suggestion.unwrap_or_default(),
                    names.join(", ")
                )),
            });
        }
    }
    problems
}

/// Where output column `name` is named in the SELECT list; else where the
/// statement starts.
fn output_position(query: &QueryFile, name: &str) -> (u64, u64) {
    query
        .outputs
        .iter()
        .find(|o| o.name == name)
        .map_or_else(|| statement_start(query), |o| (o.line, o.column))
}

/// The first line of SQL after the header, column 1.
fn statement_start(query: &QueryFile) -> (u64, u64) {
    let line = query
        .sql
        .lines()
        .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
        .map_or(1, |i| i as u64 + 1);
    (line, 1)
}

/// How DataFusion begins the useful part of a function signature error.
const NO_FUNCTION_MATCHES: &str = "No function matches the given name and argument types";

/// The position of the call of the function DataFusion's message names
/// (`... argument types 'sum(...)'` or `Function 'sum' ...`); with a hint
/// naming the other calls when there are several.
fn function_position(query: &QueryFile, message: &str) -> Option<((u64, u64), Option<String>)> {
    let name = message
        .split_once("argument types '")
        .map(|(_, rest)| rest)
        .or_else(|| message.split_once("Function '").map(|(_, rest)| rest))?
        .split(['(', '\''])
        .next()?
        .to_lowercase();
    let calls: Vec<_> = query.calls.iter().filter(|c| c.name == name).collect();
    let first = calls.first()?;
    let hint = (calls.len() > 1).then(|| {
        let at: Vec<String> = calls.iter().map(|c| format!("{}:{}", c.line, c.column)).collect();
        format!(
            "`{name}` is called {} times, at {}; the position above is the first",
            calls.len(),
            at.join(", ")
        )
    });
    Some(((first.line, first.column), hint))
}

/// A DataFusion error of `query` as a problem at the position DataFusion
/// names (else the statement's start), with DataFusion's message and a hint.
fn planning_error(query: &QueryFile, error: &DataFusionError) -> QueryError {
    let diagnostic = error.diagnostic();
    let mut datafusion_message = error.to_string();
    let mut hints: Vec<String> = diagnostic
        .map(|d| d.helps.iter().map(|h| h.message.clone()).collect())
        .unwrap_or_default();
    // A function called with the wrong types has no position in DataFusion's
    // error: find the call by its name; keep the useful part of the message.
    if let Some(at) = datafusion_message.find(NO_FUNCTION_MATCHES) {
        datafusion_message = datafusion_message[at..].to_string();
    }
    let position = diagnostic
        .and_then(|d| d.span)
        .map(|s| (s.start.line.max(1), s.start.column.max(1)))
        .or_else(|| {
            let (position, hint) = function_position(query, &datafusion_message)?;
            hints.extend(hint);
            Some(position)
        });
    let (line, column) = position.unwrap_or_else(|| statement_start(query));
    if let DataFusionError::SchemaError(schema_error, _) = error.find_root()
        && let SchemaError::FieldNotFound { field, valid_fields } = schema_error.as_ref()
    {
        // DataFusion lists the valid fields on further lines; the hint
        // lists them shorter.
        if let Some((first, _)) = datafusion_message.split_once('\n') {
            datafusion_message = first.to_string();
        }
        let mut valid: Vec<&str> = Vec::new();
        for f in valid_fields {
            if !valid.contains(&f.name.as_str()) && !f.name.starts_with("__") {
                valid.push(f.name.as_str());
            }
        }
        let suggestion = closest(&field.name, valid.iter().copied()).map(|c| format!("did you mean `{c}`? "));
        hints.push(format!(
            "{}the columns here are {}",
            suggestion.unwrap_or_default(),
            valid.join(", ")
        ));
    }
    let datafusion_message = datafusion_message.replace(['\n', '\t'], " ").replace("  ", " ");
    let message = match diagnostic {
        Some(d) if !datafusion_message.contains(&d.message) => format!("{}: {datafusion_message}", d.message),
        _ => datafusion_message,
    };
    QueryError::Planning {
        file: query.path.clone(),
        line,
        column,
        message,
        hint: (!hints.is_empty()).then(|| hints.join("; ")),
    }
}
