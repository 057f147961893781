//! SQL fixtures: the queries tested like code, with inputs and expected
//! outputs a data engineer can read and extend (used by `wasnaker test` and
//! by the integration tests).
//!
//! A case is a folder:
//!
//! ```text
//! tests/queries/<case>/params.toml        month = "2026-10", as_of = "2026-11-02",
//!                                         optional sla_days, workers_per_inspector,
//!                                         companies_per_inspector_year
//! tests/queries/<case>/input/<view>.csv   rows of a lake view (docs/lake-views.md);
//!                                         columns left out are null; list<string>
//!                                         cells are space-separated
//! tests/queries/<case>/expected/<table>.csv  the exact CSV (query::to_csv) of a
//!                                         report table; only these are checked
//! tests/queries/<case>/README.md          how each expected row was worked out
//! ```
//!
//! Views without an input file are registered empty with their schema; the
//! reference tables (provinces, violations, complaint_statuses) are the
//! compiled-in ones and cannot be given as input. With `update`, the expected
//! files that exist are rewritten from the actual output — a convenience for
//! reviewing a change with `git diff`, never a way to write expectations.
//!
//! Every case runs in the report's own DataFusion context
//! ([`crate::lake::context::local_session`]), so a fixture sees the same SQL
//! dialect and settings as `wasnaker report`. [`run_suite`] runs a whole
//! folder (`wasnaker test`, and `cargo test` through `tests/it/queries.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, ListBuilder, RecordBatch, StringArray, StringBuilder, new_null_array};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionContext;
use serde::Deserialize;

use super::error::{QueryError, Result};
use super::load::QuerySet;
use super::output::to_csv;
use super::params::{ReportParams, ReportSettings};
use super::reference::{REFERENCE_TABLES, reference_tables};
use super::schemas::{view_names, view_schema};

/// `params.toml` of a case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseParams {
    month: String,
    as_of: String,
    sla_days: Option<i64>,
    workers_per_inspector: Option<i64>,
    companies_per_inspector_year: Option<i64>,
}

/// What happened to one expected table of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOutcome {
    /// Output equals `expected/<table>.csv`.
    Passed,
    /// Output differs; the text is a readable line diff.
    Failed(String),
    /// `expected/<table>.csv` was rewritten (update mode) because it differed.
    Updated,
}

/// The result of one fixture case.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// The case folder name.
    pub case: String,
    /// Each checked table with its outcome, in execution order.
    pub tables: Vec<(String, TableOutcome)>,
}

impl CaseReport {
    /// True when no table failed.
    pub fn passed(&self) -> bool {
        !self.tables.iter().any(|(_, o)| matches!(o, TableOutcome::Failed(_)))
    }

    /// A readable summary: one line per table, diffs below failed ones.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (table, outcome) in &self.tables {
            match outcome {
                TableOutcome::Passed => text.push_str(&format!("{}/{table}: ok\n", self.case)),
                TableOutcome::Updated => text.push_str(&format!("{}/{table}: expected file updated\n", self.case)),
                TableOutcome::Failed(diff) => text.push_str(&format!("{}/{table}: MISMATCH\n{diff}", self.case)),
            }
        }
        text
    }
}

/// The case folders under `root` (those holding a `params.toml`), sorted.
pub fn list_cases(root: &Path) -> Result<Vec<PathBuf>> {
    let read_err = |source| QueryError::Read {
        path: root.to_path_buf(),
        source,
    };
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(root).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.join("params.toml").is_file() {
            cases.push(path);
        }
    }
    cases.sort();
    Ok(cases)
}

/// Runs one case: loads its inputs, runs `queries`, compares the expected
/// tables (rewriting differing ones when `update`).
pub async fn run_case(queries: &QuerySet, case_dir: &Path, update: bool) -> Result<CaseReport> {
    let case = case_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let params = read_params(&case_dir.join("params.toml"))?;
    let expected = read_expected(queries, &case_dir.join("expected"))?;

    let ctx = crate::lake::context::local_session(None);
    register_inputs(&ctx, &case_dir.join("input"))?;
    let reports = queries.run(&ctx, &params).await?;

    let mut tables = Vec::new();
    for report in &reports {
        let Some((path, want)) = expected.get(&report.query.name) else {
            continue;
        };
        let got = to_csv(&report.schema, &report.batches)?;
        let outcome = if &got == want {
            TableOutcome::Passed
        } else if update {
            std::fs::write(path, &got).map_err(|source| QueryError::Write {
                path: path.clone(),
                source,
            })?;
            TableOutcome::Updated
        } else {
            TableOutcome::Failed(line_diff(&String::from_utf8_lossy(want), &String::from_utf8_lossy(&got)))
        };
        tables.push((report.query.name.clone(), outcome));
    }
    Ok(CaseReport { case, tables })
}

/// The result of every case of a folder (`wasnaker test`).
#[derive(Debug)]
pub struct SuiteReport {
    /// Each case's folder name and its report, or the error that stopped it
    /// (a malformed case, or a query that failed to run).
    pub cases: Vec<(String, Result<CaseReport>)>,
}

impl SuiteReport {
    /// True when there was at least one case, and every case ran and every
    /// checked table matched (or was updated).
    pub fn passed(&self) -> bool {
        !self.cases.is_empty() && self.cases.iter().all(|(_, r)| r.as_ref().is_ok_and(CaseReport::passed))
    }

    /// Every case's lines (diffs under mismatches, the error of a case that
    /// could not run), then a summary line.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let (mut tables, mut failed, mut updated, mut errors) = (0, 0, 0, 0);
        for (case, result) in &self.cases {
            match result {
                Ok(report) => {
                    text.push_str(&report.render());
                    tables += report.tables.len();
                    failed += report.tables.iter().filter(|(_, o)| matches!(o, TableOutcome::Failed(_))).count();
                    updated += report.tables.iter().filter(|(_, o)| *o == TableOutcome::Updated).count();
                }
                Err(error) => {
                    text.push_str(&format!("{case}: ERROR: {error}\n"));
                    errors += 1;
                }
            }
        }
        let verdict = if self.passed() { "ok" } else { "FAILED" };
        text.push_str(&format!(
            "{verdict}: {} case(s), {tables} table(s) checked: {} passed, {failed} failed, {updated} updated; {errors} case(s) could not run\n",
            self.cases.len(),
            tables - failed - updated,
        ));
        text
    }
}

/// Runs every case under `root` (each folder with a `params.toml`), in name
/// order, or only the cases named in `only`; a case that cannot run is
/// reported and the others still run.
pub async fn run_suite(queries: &QuerySet, root: &Path, update: bool, only: &[String]) -> Result<SuiteReport> {
    let all = list_cases(root)?;
    let names: Vec<String> = all.iter().map(|p| stem(p)).collect();
    if let Some(unknown) = only.iter().find(|o| !names.contains(o)) {
        return Err(QueryError::Fixture {
            file: root.join(unknown),
            message: format!(
                "no such case (a folder with a params.toml); the cases are {}{}",
                names.join(", "),
                super::error::did_you_mean(unknown, names.iter().map(String::as_str))
            ),
        });
    }
    let mut cases = Vec::new();
    for (path, name) in all.iter().zip(names) {
        if only.is_empty() || only.contains(&name) {
            cases.push((name, run_case(queries, path, update).await));
        }
    }
    Ok(SuiteReport { cases })
}

fn read_params(path: &Path) -> Result<ReportParams> {
    let text = std::fs::read_to_string(path).map_err(|source| QueryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |message: String| QueryError::Fixture {
        file: path.to_path_buf(),
        message,
    };
    let raw: CaseParams = toml::from_str(&text).map_err(|source| QueryError::FixtureToml {
        file: path.to_path_buf(),
        source,
    })?;
    let as_of = NaiveDate::parse_from_str(&raw.as_of, "%Y-%m-%d")
        .map_err(|_| bad(format!("as_of `{}` is not a date; expected `YYYY-MM-DD`", raw.as_of)))?;
    let defaults = ReportSettings::default();
    let settings = ReportSettings {
        sla_days: raw.sla_days.unwrap_or(defaults.sla_days),
        workers_per_inspector: raw.workers_per_inspector.unwrap_or(defaults.workers_per_inspector),
        companies_per_inspector_year: raw.companies_per_inspector_year.unwrap_or(defaults.companies_per_inspector_year),
    };
    ReportParams::new(&raw.month, as_of, settings).map_err(|e| bad(e.to_string()))
}

/// `table name → (path, bytes)` of every expected file; each must name a
/// report table.
fn read_expected(queries: &QuerySet, dir: &Path) -> Result<BTreeMap<String, (PathBuf, Vec<u8>)>> {
    let mut expected = BTreeMap::new();
    for path in csv_files(dir)? {
        let name = stem(&path);
        if !queries.reports().any(|q| q.name == name) {
            let reports: Vec<&str> = queries.reports().map(|q| q.name.as_str()).collect();
            return Err(QueryError::Fixture {
                file: path,
                message: format!(
                    "`{name}` is not a report table; expected files are named after one of: {}",
                    reports.join(", ")
                ),
            });
        }
        let bytes = std::fs::read(&path).map_err(|source| QueryError::Read {
            path: path.clone(),
            source,
        })?;
        expected.insert(name, (path, bytes));
    }
    if expected.is_empty() {
        return Err(QueryError::Fixture {
            file: dir.to_path_buf(),
            message: "no expected/<table>.csv: a case must check at least one table".to_string(),
        });
    }
    Ok(expected)
}

/// The `*.csv` files of `dir`, sorted; none when `dir` does not exist.
fn csv_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let read_err = |source| QueryError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "csv") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Registers every view of `docs/lake-views.md` in `ctx`: the reference
/// tables compiled in, the others from `input/<view>.csv` or empty.
pub fn register_inputs(ctx: &SessionContext, input_dir: &Path) -> Result<()> {
    let mut given: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in csv_files(input_dir)? {
        let name = stem(&path);
        if REFERENCE_TABLES.contains(&name.as_str()) {
            return Err(QueryError::Fixture {
                file: path,
                message: format!("`{name}` is a reference table compiled in from spec/; remove this file"),
            });
        }
        if !view_names().contains(&name.as_str()) {
            return Err(QueryError::Fixture {
                file: path,
                message: format!(
                    "`{name}` is not a lake view; input files are named after one of: {}",
                    view_names().join(", ")
                ),
            });
        }
        given.insert(name, path);
    }
    register_views(ctx, input_dir, &given, fixture_schema)
}

/// Registers every view of `docs/lake-views.md` in `ctx` with its exact
/// schema and no rows (the reference tables with their compiled-in rows):
/// what `wasnaker check` plans against.
pub fn register_empty_views(ctx: &SessionContext) -> Result<()> {
    register_views(ctx, Path::new("query::schemas"), &BTreeMap::new(), exact_schema)
}

/// Registers the reference tables, then every other view from its file in
/// `given` or empty, with the schema `schema_of` gives.
fn register_views(
    ctx: &SessionContext,
    input_dir: &Path,
    given: &BTreeMap<String, PathBuf>,
    schema_of: fn(&str) -> Result<SchemaRef>,
) -> Result<()> {
    let register = |name: &str, file: &Path, schema: SchemaRef, batches: Vec<RecordBatch>| {
        let reg_err = |source| QueryError::Register {
            file: file.to_path_buf(),
            table: name.to_string(),
            source,
        };
        let table = MemTable::try_new(schema, vec![batches]).map_err(reg_err)?;
        ctx.register_table(name, Arc::new(table)).map_err(reg_err)?;
        Ok::<(), QueryError>(())
    };

    for (name, batch) in reference_tables()? {
        register(name, Path::new("spec"), batch.schema(), vec![batch])?;
    }
    for name in view_names() {
        if REFERENCE_TABLES.contains(name) {
            continue;
        }
        let schema = schema_of(name)?;
        match given.get(*name) {
            Some(path) => {
                let batch = read_input(path, &schema)?;
                register(name, path, schema, vec![batch])?;
            }
            None => register(name, input_dir, schema, Vec::new())?,
        }
    }
    Ok(())
}

/// The view's schema as the lake registers it.
fn exact_schema(name: &str) -> Result<SchemaRef> {
    view_schema(name).ok_or_else(|| QueryError::Reference {
        file: "query::schemas",
        message: format!("no schema for view `{name}`"),
    })
}

/// The view's schema with every field nullable (a fixture may leave columns
/// out).
fn fixture_schema(name: &str) -> Result<SchemaRef> {
    let schema = exact_schema(name)?;
    let fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// Reads an input CSV into a batch of `schema`: header names must be columns
/// of the view (any order, any subset); an empty cell is null.
fn read_input(path: &Path, schema: &SchemaRef) -> Result<RecordBatch> {
    let bad = |message: String| QueryError::Fixture {
        file: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|source| QueryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let csv_err = |source| QueryError::FixtureCsv {
        file: path.to_path_buf(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes.as_slice());
    let header: Vec<String> = reader.headers().map_err(csv_err)?.iter().map(str::to_string).collect();
    for (i, name) in header.iter().enumerate() {
        if schema.field_with_name(name).is_err() {
            let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(bad(format!(
                "column `{name}` is not a column of this view; its columns are {}",
                columns.join(", ")
            )));
        }
        if header[..i].contains(name) {
            return Err(bad(format!("column `{name}` is named twice")));
        }
    }
    let mut records: Vec<csv::StringRecord> = Vec::new();
    for record in reader.records() {
        records.push(record.map_err(csv_err)?);
    }

    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let Some(index) = header.iter().position(|h| h == field.name()) else {
            columns.push(new_null_array(field.data_type(), records.len()));
            continue;
        };
        let cells: Vec<Option<&str>> = records.iter().map(|r| r.get(index).filter(|c| !c.is_empty())).collect();
        columns.push(typed_column(path, field, &cells)?);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|source| QueryError::Arrow { source })
}

fn typed_column(path: &Path, field: &Field, cells: &[Option<&str>]) -> Result<ArrayRef> {
    if let DataType::List(_) = field.data_type() {
        let mut builder = ListBuilder::new(StringBuilder::new());
        for cell in cells {
            for item in cell.unwrap_or("").split_whitespace() {
                builder.values().append_value(item);
            }
            builder.append(true);
        }
        // The builder's item field (`item`, nullable Utf8) is the schema's.
        let list = builder.finish();
        return Ok(Arc::new(list));
    }
    let strings: ArrayRef = Arc::new(StringArray::from(cells.to_vec()));
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    match cast_with_options(&strings, field.data_type(), &options) {
        Ok(array) => Ok(array),
        Err(_) => {
            // Find the first cell that does not convert, for the message.
            for (i, cell) in cells.iter().enumerate() {
                let Some(value) = cell else { continue };
                let one: ArrayRef = Arc::new(StringArray::from(vec![*value]));
                if let Err(source) = cast_with_options(&one, field.data_type(), &options) {
                    return Err(QueryError::FixtureValue {
                        file: path.to_path_buf(),
                        record: i + 1,
                        column: field.name().clone(),
                        value: value.to_string(),
                        data_type: field.data_type().clone(),
                        source: Box::new(source),
                    });
                }
            }
            Err(QueryError::Fixture {
                file: path.to_path_buf(),
                message: format!("column `{}` cannot be read as {}", field.name(), field.data_type()),
            })
        }
    }
}

/// A line diff of `expected` and `actual` (longest common subsequence):
/// `-` lines are expected but missing, `+` lines are produced but not
/// expected, each with its line number; the header line is shown for
/// context. When a `-` and a `+` line pair up, the differing columns are
/// named below them.
pub fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j] = LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let header = a.first().or(b.first()).copied().unwrap_or("");
    let mut out = format!("    header: {header}\n");
    let (mut i, mut j) = (0, 0);
    let mut removed: Vec<(usize, &str)> = Vec::new();
    let mut added: Vec<(usize, &str)> = Vec::new();
    let flush = |out: &mut String, removed: &mut Vec<(usize, &str)>, added: &mut Vec<(usize, &str)>| {
        // Pair the k-th removed line with the k-th added one.
        for k in 0..removed.len().max(added.len()) {
            if let Some((n, line)) = removed.get(k) {
                out.push_str(&format!("  - {n:>3} expected: {line}\n"));
            }
            if let Some((n, line)) = added.get(k) {
                out.push_str(&format!("  + {n:>3} actual:   {line}\n"));
            }
            if let (Some((_, e)), Some((_, g))) = (removed.get(k), added.get(k)) {
                let cols = differing_columns(header, e, g);
                if !cols.is_empty() {
                    out.push_str(&format!("        differs in: {cols}\n"));
                }
            }
        }
        removed.clear();
        added.clear();
    };
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            flush(&mut out, &mut removed, &mut added);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            added.push((j + 1, b[j]));
            j += 1;
        } else {
            removed.push((i + 1, a[i]));
            i += 1;
        }
    }
    flush(&mut out, &mut removed, &mut added);
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str("  (the files differ in their final line end)\n");
    }
    out
}

/// `column (expected X, actual Y)` for each differing field of two CSV lines.
fn differing_columns(header: &str, expected: &str, actual: &str) -> String {
    let split = |line: &str| -> Vec<String> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next()
            .and_then(|r| r.ok())
            .map(|r| r.iter().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let names = split(header);
    let e = split(expected);
    let g = split(actual);
    let n = e.len().max(g.len());
    let mut parts = Vec::new();
    for k in 0..n {
        let ev = e.get(k).map_or("", String::as_str);
        let gv = g.get(k).map_or("", String::as_str);
        if ev != gv {
            let name = names.get(k).map_or("?", String::as_str);
            parts.push(format!("{name} (expected `{ev}`, actual `{gv}`)"));
        }
    }
    parts.join(", ")
}
