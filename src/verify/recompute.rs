//! `wasnaker verify --recompute`: re-derive a bundle's tables from the lake
//! extracts its manifest lists and compare them with the bundle, byte for byte.
//!
//! Everything comes from the bundle's `manifest.json` — never from the local
//! `queries/` folder or the config's report settings:
//! 1. each query's SQL is checked against the sha256 the manifest gives it;
//! 2. every listed input extract must still be in the lake's ledger as an
//!    ingested delivery with that sha256 and row count;
//! 3. the lake views for the manifest's month and `as_of` must use exactly the
//!    listed extracts and snapshots (a night re-delivered since publication, or
//!    a lost one, shows here with the night and version);
//! 4. the manifest's SQL (report tables and helper views) is rerun with the
//!    manifest's parameters;
//! 5. each table is serialised again and compared with `data/<table>.csv` and
//!    `data/<table>.parquet`; a difference names the first differing row and
//!    column (Parquet is compared by schema and values too, so a re-encoded
//!    file with equal values is told apart from changed figures).
//!
//! It needs the lake's location only: no pseudonymisation or signing key.
//! Findings are checks of the [`VerifyReport`]; only an unreadable lake or
//! bundle stops it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::NaiveDate;
use datafusion::common::ScalarValue;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;

use super::{CheckKind, Status, VerifyError, VerifyReport};
use crate::clock::Month;
use crate::contract::System;
use crate::engine::Engine;
use crate::lake::context::{self, ViewOptions};
use crate::lake::ledger::{DeliveryStatus, Ledger};
use crate::publish::MANIFEST;
use crate::publish::manifest::sha256_hex;
use crate::query::{QuerySet, ReportParams, ReportSettings, to_csv, to_parquet};
use crate::storage::Location;

/// The parts of `manifest.json` a recomputation reads.
#[derive(Debug, Deserialize)]
struct BundleManifest {
    month: String,
    as_of: String,
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    snapshots: Vec<SnapshotUse>,
    extracts: Vec<ExtractUse>,
    queries: Vec<QueryUse>,
}

#[derive(Debug, Deserialize)]
struct SnapshotUse {
    table: String,
    night: String,
}

#[derive(Debug, Deserialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ExtractUse {
    source: String,
    table: String,
    night: String,
    version: u32,
    sha256: String,
    rows: u64,
}

impl ExtractUse {
    fn label(&self) -> String {
        format!("extract {}/{}/{} v{}", self.source, self.night, self.table, self.version)
    }
}

#[derive(Debug, Deserialize)]
struct QueryUse {
    file: String,
    sha256: String,
    sql: String,
}

/// Recompute the bundle at `bundle` from the lake at `lake`, adding the
/// findings to `report`.
pub async fn recompute(report: &mut VerifyReport, bundle: &Location, lake: &Location) -> Result<(), VerifyError> {
    recompute_on(&Engine::Local, report, bundle, lake).await
}

/// [`recompute`], running the SQL on `engine` (the config's).
pub async fn recompute_on(engine: &Engine, report: &mut VerifyReport, bundle: &Location, lake: &Location) -> Result<(), VerifyError> {
    let Some(bytes) = bundle.get_opt(MANIFEST).await? else {
        report.push(MANIFEST, CheckKind::Recompute, Status::Failed, "missing: nothing to recompute from");
        return Ok(());
    };
    let manifest: BundleManifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(err) => {
            report.push(
                MANIFEST,
                CheckKind::Recompute,
                Status::Failed,
                format!("cannot recompute: the manifest lacks what it needs ({err})"),
            );
            return Ok(());
        }
    };
    let (Some(month), Ok(as_of)) = (Month::parse(&manifest.month), manifest.as_of.parse::<NaiveDate>()) else {
        report.push(
            MANIFEST,
            CheckKind::Recompute,
            Status::Failed,
            format!(
                "cannot recompute: month {:?} or as_of {:?} is not YYYY-MM / YYYY-MM-DD",
                manifest.month, manifest.as_of
            ),
        );
        return Ok(());
    };

    // 1. The SQL is the SQL the manifest vouches for.
    for q in &manifest.queries {
        let actual = sha256_hex(q.sql.as_bytes());
        if actual != q.sha256 {
            report.push(
                MANIFEST,
                CheckKind::Recompute,
                Status::Failed,
                format!("query {}: its SQL hashes to {actual}, the manifest says {}", q.file, q.sha256),
            );
        }
    }

    // 2. Every listed extract is still in the lake as it was.
    let ledger = Ledger::load(lake).await?;
    let mut input_problems = 0;
    for e in &manifest.extracts {
        if let Err(problem) = check_extract(&ledger, e) {
            report.push(&e.label(), CheckKind::Input, Status::Failed, problem);
            input_problems += 1;
        }
    }
    if input_problems == 0 {
        report.push(
            "lake",
            CheckKind::Input,
            Status::Passed,
            format!(
                "all {} extracts the manifest lists are in the lake's ledger with their sha256 and rows",
                manifest.extracts.len()
            ),
        );
    }

    // 3. The lake views for the month use exactly those extracts.
    let opts = ViewOptions {
        month: Some(month),
        as_of: Some(as_of),
        // A stale snapshot was allowed when the bundle was made (it could not exist otherwise); the manifest's warnings say so.
        allow_stale_snapshot: true,
        ..Default::default()
    };
    let views = match context::open(engine, lake, &ledger, &opts).await {
        Ok(v) => v,
        Err(err) => {
            report.push(
                "lake",
                CheckKind::Recompute,
                Status::Failed,
                format!("cannot open the lake views for {month} as of {as_of}: {err}"),
            );
            return Ok(());
        }
    };
    let listed: BTreeSet<(String, String, String, u32)> = manifest
        .extracts
        .iter()
        .map(|e| (e.source.clone(), e.table.clone(), e.night.clone(), e.version))
        .collect();
    let used: BTreeSet<(String, String, String, u32)> = views
        .extracts
        .iter()
        .map(|e| (e.source.name().to_string(), e.table.to_string(), e.night.to_string(), e.version))
        .collect();
    for (source, table, night, version) in listed.difference(&used) {
        let now = System::ALL
            .iter()
            .find(|s| s.name() == source)
            .zip(night.parse::<NaiveDate>().ok())
            .and_then(|(s, n)| ledger.effective(*s, n))
            .map_or_else(
                || "no delivery of that night is in use".to_string(),
                |e| format!("the lake now uses v{}", e.version),
            );
        report.push(
            &format!("extract {source}/{night}/{table} v{version}"),
            CheckKind::Input,
            Status::Failed,
            format!("listed in the manifest but not used for {month} as of {as_of}: {now}"),
        );
    }
    for (source, table, night, version) in used.difference(&listed) {
        report.push(
            &format!("extract {source}/{night}/{table} v{version}"),
            CheckKind::Input,
            Status::Failed,
            format!("used for {month} as of {as_of} but not listed in the manifest (ingested or re-delivered after publication?)"),
        );
    }
    let snapshots_now: BTreeMap<&str, String> = views.snapshots.iter().map(|(t, d)| (*t, d.to_string())).collect();
    for s in &manifest.snapshots {
        match snapshots_now.get(s.table.as_str()) {
            Some(night) if *night == s.night => {}
            other => report.push(
                &format!("snapshot {}", s.table),
                CheckKind::Input,
                Status::Failed,
                format!(
                    "the manifest used the extract of {}, the lake now gives {}",
                    s.night,
                    other.map_or("none", String::as_str)
                ),
            ),
        }
    }

    // 4. Rerun the manifest's SQL with the manifest's parameters.
    let sources: Vec<(PathBuf, Vec<u8>)> = manifest
        .queries
        .iter()
        .map(|q| (PathBuf::from(&q.file), q.sql.clone().into_bytes()))
        .collect();
    let queries = match QuerySet::from_sources(sources) {
        Ok(q) => q,
        Err(err) => {
            report.push(
                MANIFEST,
                CheckKind::Recompute,
                Status::Failed,
                format!("the manifest's SQL does not load: {err}"),
            );
            return Ok(());
        }
    };
    let values = match bind_params(&manifest.params) {
        Ok(v) => v,
        Err(problem) => {
            report.push(MANIFEST, CheckKind::Recompute, Status::Failed, problem);
            return Ok(());
        }
    };
    let mut tables = match queries.run_with_values(&views.ctx, values).await {
        Ok((tables, _)) => tables,
        Err(err) => {
            report.push(
                MANIFEST,
                CheckKind::Recompute,
                Status::Failed,
                format!("rerunning the manifest's SQL failed: {err}"),
            );
            return Ok(());
        }
    };

    // In the manifest's (publication) order.
    tables.sort_by_key(|t| manifest.queries.iter().position(|q| Path::new(&q.file) == t.query.path));

    // 5. Byte for byte against the bundle's data files.
    let in_bundle: BTreeSet<String> = bundle.list_all("data").await?.into_iter().map(|(p, _)| p).collect();
    let mut recomputed = BTreeSet::new();
    for t in &tables {
        let rows = t.num_rows();
        let csv = to_csv(&t.schema, &t.batches).map_err(VerifyError::Serialise)?;
        let parquet = to_parquet(&t.schema, &t.batches).map_err(VerifyError::Serialise)?;
        for (ext, bytes) in [("csv", csv), ("parquet", parquet)] {
            let path = format!("data/{}.{ext}", t.query.name);
            recomputed.insert(path.clone());
            let Some(published) = bundle.get_opt(&path).await? else {
                report.push(
                    &path,
                    CheckKind::Recompute,
                    Status::Failed,
                    "recomputed, but missing from the bundle",
                );
                continue;
            };
            if published.as_ref() == bytes.as_slice() {
                report.push(
                    &path,
                    CheckKind::Recompute,
                    Status::Passed,
                    format!("byte-identical to the table recomputed from the lake ({rows} rows)"),
                );
                continue;
            }
            let detail = if ext == "csv" {
                diff_csv(&published, &t.schema, &t.batches)
            } else {
                diff_parquet(&published, &t.schema, &t.batches)
            };
            report.push(&path, CheckKind::Recompute, Status::Failed, detail);
        }
    }
    for path in in_bundle.difference(&recomputed) {
        report.push(
            path,
            CheckKind::Recompute,
            Status::Failed,
            "in the bundle, but no query of the manifest produces it",
        );
    }
    Ok(())
}

/// The problem with one listed extract, if any.
fn check_extract(ledger: &Ledger, e: &ExtractUse) -> Result<(), String> {
    let system = System::ALL
        .into_iter()
        .find(|s| s.name() == e.source)
        .ok_or_else(|| format!("unknown source {:?}: expected inspection or insurance", e.source))?;
    let night: NaiveDate = e.night.parse().map_err(|_| format!("night {:?} is not YYYY-MM-DD", e.night))?;
    let delivery = ledger
        .deliveries(system, night)
        .iter()
        .find(|d| d.version == e.version)
        .ok_or_else(|| {
            format!(
                "not in the lake: its ledger has no delivery v{} of {system} night {night}",
                e.version
            )
        })?;
    if delivery.status != DeliveryStatus::Ingested {
        return Err(format!("the lake's ledger records delivery v{} of {night} as rejected", e.version));
    }
    let file = delivery
        .file(&e.table)
        .ok_or_else(|| format!("the lake's delivery v{} of {night} has no {} file", e.version, e.table))?;
    if file.sha256 != e.sha256 {
        return Err(format!(
            "{}: sha256 in the lake's ledger is {}, the manifest says {}",
            file.file, file.sha256, e.sha256
        ));
    }
    if file.rows_read != e.rows {
        return Err(format!(
            "{}: {} rows in the lake's ledger, the manifest says {}",
            file.file, file.rows_read, e.rows
        ));
    }
    Ok(())
}

/// The manifest's parameters as DataFusion values, typed as this program's
/// parameters of the same name (a parameter it does not know stays text).
fn bind_params(params: &BTreeMap<String, serde_json::Value>) -> Result<Vec<(String, ScalarValue)>, String> {
    let day = NaiveDate::from_ymd_opt(2000, 1, 31).unwrap_or_default();
    let known: BTreeMap<&str, DataType> = ReportParams::new("2000-01", day, ReportSettings::default())
        .map_err(|e| e.to_string())?
        .values()
        .into_iter()
        .map(|(n, v)| (n, v.data_type()))
        .collect();
    let mut out = Vec::new();
    for (name, value) in params {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => return Err(format!("params.{name} = {other}: expected a string or a number")),
        };
        let scalar = match known.get(name.as_str()) {
            None => ScalarValue::Utf8(Some(text)),
            Some(DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, tz)) => match text.parse::<i64>() {
                Ok(ns) => ScalarValue::TimestampNanosecond(Some(ns), tz.clone()),
                Err(_) => ScalarValue::try_from_string(text.clone(), &known[name.as_str()])
                    .map_err(|e| format!("params.{name} = {text:?} is not an instant: {e}"))?,
            },
            Some(dt) => {
                ScalarValue::try_from_string(text.clone(), dt).map_err(|e| format!("params.{name} = {text:?} is not a {dt}: {e}"))?
            }
        };
        out.push((name.clone(), scalar));
    }
    Ok(out)
}

/// A table as text: header and cells (null = empty).
#[derive(Debug, PartialEq, Eq)]
struct Grid {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn arrow_grid(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Grid, String> {
    let header = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    let options = FormatOptions::default();
    for b in batches {
        let formatters = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        for i in 0..b.num_rows() {
            rows.push(formatters.iter().map(|f| f.value(i).to_string()).collect());
        }
    }
    Ok(Grid { header, rows })
}

fn csv_grid(bytes: &[u8]) -> Result<Grid, String> {
    let mut r = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(bytes);
    let header = r.headers().map_err(|e| e.to_string())?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        rows.push(rec.map_err(|e| e.to_string())?.iter().map(str::to_string).collect());
    }
    Ok(Grid { header, rows })
}

fn diff_csv(published: &[u8], schema: &SchemaRef, batches: &[RecordBatch]) -> String {
    let ours = match to_csv(schema, batches).map_err(|e| e.to_string()).and_then(|b| csv_grid(&b)) {
        Ok(g) => g,
        Err(e) => return format!("differs from the recomputed table (which cannot be re-read: {e})"),
    };
    match csv_grid(published) {
        Err(e) => format!("differs from the recomputed table: the bundle's file is not a readable CSV ({e})"),
        Ok(theirs) => first_difference(&theirs, &ours).unwrap_or_else(|| {
            "same header and values as the recomputed table, but different bytes (quoting, line ends or number format)".to_string()
        }),
    }
}

fn diff_parquet(published: &bytes::Bytes, schema: &SchemaRef, batches: &[RecordBatch]) -> String {
    let read = ParquetRecordBatchReaderBuilder::try_new(published.clone()).and_then(|b| {
        let file_schema = b.schema().clone();
        let created_by = b.metadata().file_metadata().created_by().map(str::to_string);
        let batches = b.build()?.collect::<Result<Vec<_>, _>>()?;
        Ok((file_schema, created_by, batches))
    });
    let (their_schema, created_by, their_batches) = match read {
        Ok(x) => x,
        Err(e) => return format!("differs from the recomputed table: the bundle's file is not readable Parquet ({e})"),
    };
    for (i, ours) in schema.fields().iter().enumerate() {
        match their_schema.fields().get(i) {
            None => {
                return format!(
                    "schema: the bundle's file has {} columns, recomputed {}",
                    their_schema.fields().len(),
                    schema.fields().len()
                );
            }
            Some(theirs) if theirs.name() != ours.name() || theirs.data_type() != ours.data_type() => {
                return format!(
                    "schema: column {} is {} {} in the bundle, {} {} recomputed",
                    i + 1,
                    theirs.name(),
                    theirs.data_type(),
                    ours.name(),
                    ours.data_type()
                );
            }
            Some(_) => {}
        }
    }
    if their_schema.fields().len() != schema.fields().len() {
        return format!(
            "schema: the bundle's file has {} columns, recomputed {}",
            their_schema.fields().len(),
            schema.fields().len()
        );
    }
    let grids = arrow_grid(&their_schema, &their_batches).and_then(|t| Ok((t, arrow_grid(schema, batches)?)));
    match grids {
        Err(e) => format!("differs from the recomputed table (values cannot be compared: {e})"),
        Ok((theirs, ours)) => first_difference(&theirs, &ours).unwrap_or_else(|| {
            format!(
                "same schema and values as the recomputed table, but different bytes (encoding or writer metadata; created_by {})",
                created_by.as_deref().unwrap_or("absent")
            )
        }),
    }
}

/// The first difference between the bundle's table and the recomputed one:
/// header column, or row (1-based, with the CSV line) and column.
fn first_difference(bundle: &Grid, recomputed: &Grid) -> Option<String> {
    if bundle.header != recomputed.header {
        let i = bundle
            .header
            .iter()
            .zip(&recomputed.header)
            .position(|(a, b)| a != b)
            .unwrap_or(bundle.header.len().min(recomputed.header.len()));
        let cell = |h: &[String]| h.get(i).map_or("nothing".to_string(), |c| format!("{c:?}"));
        return Some(format!(
            "header: column {} is {} in the bundle, {} recomputed",
            i + 1,
            cell(&bundle.header),
            cell(&recomputed.header)
        ));
    }
    let n = bundle.rows.len().max(recomputed.rows.len());
    let differing: Vec<usize> = (0..n).filter(|i| bundle.rows.get(*i) != recomputed.rows.get(*i)).collect();
    let &first = differing.first()?;
    let more = match differing.len() {
        1 => String::new(),
        k => format!(" ({k} rows differ)"),
    };
    let (Some(a), Some(b)) = (bundle.rows.get(first), recomputed.rows.get(first)) else {
        return Some(format!(
            "the bundle has {} rows, the recomputed table {}; first difference at row {} (line {}){more}",
            bundle.rows.len(),
            recomputed.rows.len(),
            first + 1,
            first + 2
        ));
    };
    let key = row_key(&recomputed.header, b);
    let col = (0..a.len().max(b.len())).find(|j| a.get(*j) != b.get(*j)).unwrap_or(0);
    let cell = |r: &[String]| r.get(col).map_or("nothing".to_string(), |c| format!("{c:?}"));
    Some(format!(
        "row {} (line {}{key}), column {}: the bundle has {}, recomputed {}{more}",
        first + 1,
        first + 2,
        recomputed.header.get(col).map_or("?", String::as_str),
        cell(a),
        cell(b)
    ))
}

/// What identifies a row to a reader: its first two columns after `period`.
fn row_key(header: &[String], row: &[String]) -> String {
    let parts: Vec<String> = header
        .iter()
        .zip(row)
        .filter(|(h, _)| *h != "period")
        .take(2)
        .map(|(h, v)| format!("{h} {v}"))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(header: &[&str], rows: &[&[&str]]) -> Grid {
        Grid {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect(),
        }
    }

    #[test]
    fn first_difference_names_row_line_key_and_column() {
        let h = ["period", "province_code", "province_name", "received"];
        let a = grid(&h, &[&["2026-10", "00", "INDONESIA", "3"], &["2026-10", "11", "ACEH", "1"]]);
        let b = grid(&h, &[&["2026-10", "00", "INDONESIA", "2"], &["2026-10", "11", "ACEH", "1"]]);
        assert_eq!(
            first_difference(&a, &b).as_deref(),
            Some("row 1 (line 2: province_code 00, province_name INDONESIA), column received: the bundle has \"3\", recomputed \"2\"")
        );
        assert_eq!(first_difference(&a, &a), None);
        let short = grid(&h, &[&["2026-10", "00", "INDONESIA", "3"]]);
        assert_eq!(
            first_difference(&short, &a).as_deref(),
            Some("the bundle has 1 rows, the recomputed table 2; first difference at row 2 (line 3)")
        );
        let renamed = grid(&["period", "province_code", "province_name", "recieved"], &[]);
        assert_eq!(
            first_difference(&renamed, &a).as_deref(),
            Some("header: column 4 is \"recieved\" in the bundle, \"received\" recomputed")
        );
    }

    #[test]
    fn manifest_params_bind_with_their_types() {
        let mut p = BTreeMap::new();
        p.insert("month_start".to_string(), serde_json::json!("1790787600000000000"));
        p.insert("month_first_day".to_string(), serde_json::json!("2026-10-01"));
        p.insert("sla_days".to_string(), serde_json::json!(30));
        p.insert("period".to_string(), serde_json::json!("2026-10"));
        let v: BTreeMap<String, ScalarValue> = bind_params(&p).unwrap_or_default().into_iter().collect();
        assert_eq!(
            v["month_start"],
            ScalarValue::TimestampNanosecond(Some(1_790_787_600_000_000_000), Some("UTC".into()))
        );
        assert_eq!(v["month_first_day"].to_string(), "2026-10-01");
        assert_eq!(v["sla_days"], ScalarValue::Int64(Some(30)));
        assert_eq!(v["period"], ScalarValue::Utf8(Some("2026-10".into())));
        p.insert("sla_days".to_string(), serde_json::json!("thirty"));
        assert!(bind_params(&p).is_err_and(|e| e.contains("params.sla_days")));
    }
}
