//! The reference tables every query sees, compiled in from `spec/`:
//! `provinces` (spec/provinces.csv), `violations` (spec/violations.csv, with
//! its 1-based file order) and `complaint_statuses` (the status table of
//! spec/extracts.md).
//!
//! They are data of the build, not of a run: this module does no I/O, and a
//! malformed file is reported as a build defect naming the file and record.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};

use super::error::{QueryError, Result};
use super::schemas::view_schema;

const PROVINCES_CSV: &str = include_str!("../../spec/provinces.csv");
const VIOLATIONS_CSV: &str = include_str!("../../spec/violations.csv");

/// The complaint status codes of spec/extracts.md: code, Bahasa Indonesia
/// name, terminal, follow-up.
pub const COMPLAINT_STATUSES: [(&str, &str, bool, bool); 14] = [
    ("RECEIVED", "Diterima", false, false),
    ("VERIFIED", "Terverifikasi", false, false),
    ("REJECTED", "Ditolak / tidak memenuhi syarat", true, false),
    ("REDIRECTED", "Dialihkan", true, false),
    ("ASSIGNED", "Didisposisi", false, false),
    ("INSPECTED", "Diperiksa", false, true),
    ("NOTA_1", "Nota Pemeriksaan I", false, true),
    ("NOTA_2", "Nota Pemeriksaan II", false, true),
    ("SANCTION_RECOMMENDED", "Rekomendasi sanksi administratif", false, true),
    ("REFERRED_PPNS", "Dilimpahkan ke PPNS", false, true),
    ("RESOLVED", "Selesai", true, true),
    ("CLOSED_NO_VIOLATION", "Ditutup, tidak ada pelanggaran", true, true),
    ("WITHDRAWN", "Dicabut", true, false),
    ("CLOSED_UNRESOLVED", "Ditutup tanpa penyelesaian", true, false),
];

/// The names of the reference tables.
pub const REFERENCE_TABLES: [&str; 3] = ["provinces", "violations", "complaint_statuses"];

/// `(name, batch)` of each reference table, with the schemas of
/// [`view_schema`].
pub fn reference_tables() -> Result<Vec<(&'static str, RecordBatch)>> {
    Ok(vec![
        ("provinces", provinces()?),
        ("violations", violations()?),
        ("complaint_statuses", complaint_statuses()?),
    ])
}

fn provinces() -> Result<RecordBatch> {
    const FILE: &str = "spec/provinces.csv";
    let rows = read_csv(FILE, PROVINCES_CSV, &["code", "bps_code", "name", "tile_row", "tile_col"])?;
    let mut tile_row = Vec::with_capacity(rows.len());
    let mut tile_col = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        tile_row.push(parse_int(FILE, index + 1, "tile_row", &row[3])?);
        tile_col.push(parse_int(FILE, index + 1, "tile_col", &row[4])?);
    }
    batch(
        "provinces",
        vec![
            strings(&rows, 0),
            strings(&rows, 1),
            strings(&rows, 2),
            Arc::new(Int64Array::from(tile_row)),
            Arc::new(Int64Array::from(tile_col)),
        ],
    )
}

fn violations() -> Result<RecordBatch> {
    const FILE: &str = "spec/violations.csv";
    let rows = read_csv(FILE, VIOLATIONS_CSV, &["code", "name", "name_en"])?;
    let ord: Vec<i64> = (1..=rows.len() as i64).collect();
    batch(
        "violations",
        vec![
            strings(&rows, 0),
            strings(&rows, 1),
            strings(&rows, 2),
            Arc::new(Int64Array::from(ord)),
        ],
    )
}

fn complaint_statuses() -> Result<RecordBatch> {
    let s = &COMPLAINT_STATUSES;
    batch(
        "complaint_statuses",
        vec![
            Arc::new(StringArray::from_iter_values(s.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(s.iter().map(|r| r.1))),
            Arc::new(BooleanArray::from_iter(s.iter().map(|r| Some(r.2)))),
            Arc::new(BooleanArray::from_iter(s.iter().map(|r| Some(r.3)))),
        ],
    )
}

fn batch(name: &'static str, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    let schema = view_schema(name).ok_or_else(|| QueryError::Reference {
        file: name,
        message: "no schema in query::schemas".to_string(),
    })?;
    RecordBatch::try_new(schema, columns).map_err(|source| QueryError::Reference {
        file: name,
        message: source.to_string(),
    })
}

fn strings(rows: &[Vec<String>], column: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r[column].as_str())))
}

/// Reads a compiled-in CSV whose header must be exactly `header`.
fn read_csv(file: &'static str, text: &str, header: &[&str]) -> Result<Vec<Vec<String>>> {
    let bad = |message: String| QueryError::Reference { file, message };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let found: Vec<String> = reader
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if found != header {
        return Err(bad(format!("header is {found:?}; expected {header:?}")));
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(format!("record {}: {e}", index + 1)))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(rows)
}

fn parse_int(file: &'static str, record: usize, column: &str, text: &str) -> Result<i64> {
    text.parse().map_err(|_| QueryError::Reference {
        file,
        message: format!("record {record}, column `{column}`: `{text}` is not an integer"),
    })
}
