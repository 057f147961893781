//! The work on a row that needs nothing of the rest of the file: parse,
//! validate, pseudonymise, hash. It runs on any thread; what it makes is
//! consumed in file order by [`super::file`], which alone writes the spill
//! and the quarantine and counts keys.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use sha2::{Digest, Sha256};

use super::batch::Batcher;
use super::file::{QUARANTINE_VALUE_CHARS, truncate};
use super::jsonl::{self, Line, LineReader};
use super::pseudonym::Pseudonymiser;
use super::validate::{self, NightBounds, Raw, RowError, Value};
use crate::contract::{Personal, Table};

/// Makes spill rows out of raw records.
pub struct RowMaker<'a> {
    table: &'static Table,
    bounds: NightBounds,
    pseudonymiser: &'a Pseudonymiser,
    /// Contract column indexes of the key's columns.
    key_cols: Vec<usize>,
    /// Accepted rows not yet taken.
    batcher: Batcher,
    /// Buffers reused for every row.
    values: Vec<Value>,
    row: Vec<Value>,
    hashed: Vec<u8>,
}

/// What some consecutive records of a file came to, in file order.
#[derive(Default)]
pub struct Made {
    /// Records read (blank lines are not records).
    pub rows_read: u64,
    /// Accepted rows, in the spill's schema: the lake columns, then
    /// `_record`, `_line`, the row hash and the key.
    pub rows: Option<RecordBatch>,
    pub quarantined: Vec<Quarantined>,
    /// Unknown JSON keys, in order of first appearance (at most [`jsonl::MAX_UNKNOWN`]).
    pub unknown: Vec<String>,
}

/// A record set aside in pass 1.
pub struct Quarantined {
    pub record: u64,
    pub line: u64,
    pub err: RowError,
    /// Non-personal values, as JSON text.
    pub values: String,
    /// The record's key when it could be read: the entity keeps its previous version.
    pub key: Option<String>,
}

impl<'a> RowMaker<'a> {
    pub fn new(table: &'static Table, night: chrono::NaiveDate, pseudonymiser: &'a Pseudonymiser, spill_schema: SchemaRef) -> Self {
        RowMaker {
            table,
            bounds: NightBounds::new(night),
            pseudonymiser,
            key_cols: table.key.iter().filter_map(|k| table.column_index(k)).collect(),
            batcher: Batcher::new(spill_schema),
            values: Vec::new(),
            row: Vec::new(),
            hashed: Vec::new(),
        }
    }

    /// Accepted rows made since the last call.
    pub fn take_rows(&mut self) -> Result<Option<RecordBatch>, arrow::error::ArrowError> {
        if self.batcher.is_empty() {
            return Ok(None);
        }
        self.batcher.finish().map(Some)
    }

    /// Accepted rows waiting to be taken.
    pub fn rows_made(&self) -> usize {
        self.batcher.len()
    }

    /// Validate a record: `raw(i)` is the field of contract column `i`.
    /// A valid record becomes a spill row; `Err` says why it is not.
    pub fn make<'r>(&mut self, record: u64, line: u64, mut raw: impl FnMut(usize) -> Raw<'r>) -> Result<(), RowError> {
        let table = self.table;
        let mut values = std::mem::take(&mut self.values);
        values.clear();
        let checked = table
            .columns
            .iter()
            .enumerate()
            .try_for_each(|(i, col)| {
                values.push(validate::field(col, raw(i), &self.bounds)?);
                Ok(())
            })
            .and_then(|()| validate::row_rules(table, &values));
        if checked.is_ok() {
            self.accept(record, line, &mut values);
        }
        self.values = values;
        checked
    }

    /// A valid row (taken out of `values`): pseudonymise, hash, append to the rows made.
    fn accept(&mut self, record: u64, line: u64, values: &mut Vec<Value>) {
        let key = key_string(&self.key_cols, values);
        let mut hashed = std::mem::take(&mut self.hashed);
        hashed.clear();
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        for (col, v) in self.table.columns.iter().zip(values.drain(..)) {
            let v = match (col.personal, v) {
                (Personal::Drop, _) => continue,
                (Personal::Pseudonymise(domain), Value::Str(s)) => Value::Str(self.pseudonymiser.pseudonym(domain, &s)),
                (_, v) => v,
            };
            hash_value(&mut hashed, &v);
            row.push(v);
        }
        let digest = Sha256::digest(&hashed);
        self.hashed = hashed;
        let mut h = [0u8; 16];
        h.copy_from_slice(&digest[..16]);
        row.push(Value::Int(record as i64));
        row.push(Value::Int(line as i64));
        row.push(Value::Hash(h));
        row.push(Value::Str(key));
        self.batcher.push(&row);
        self.row = row;
    }

    /// Whole lines of a JSON Lines file (each ending in `\n`, but perhaps the
    /// file's last), the first of which is line `first_line`.
    pub fn jsonl_lines(&mut self, reader: &mut LineReader, text: &[u8], first_line: u64) -> Result<Made, arrow::error::ArrowError> {
        let mut out = Made::default();
        if text.is_empty() {
            return Ok(out);
        }
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        for (line_no, content) in (first_line..).zip(body.split(|&b| b == b'\n')) {
            if content.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                continue;
            }
            out.rows_read += 1;
            let record = line_no;
            let set_aside = |out: &mut Made, reason: String| {
                out.quarantined.push(Quarantined {
                    record,
                    line: line_no,
                    err: RowError::row(reason),
                    values: "{}".into(),
                    key: None,
                })
            };
            let Ok(text) = std::str::from_utf8(content) else {
                set_aside(&mut out, "is not valid UTF-8".into());
                continue;
            };
            let fields = match reader.read(text, &out.unknown) {
                Ok(Line::Object { fields, unknown }) => {
                    for k in unknown {
                        if out.unknown.len() < jsonl::MAX_UNKNOWN {
                            out.unknown.push(k);
                        }
                    }
                    fields
                }
                Ok(Line::NotObject) => {
                    set_aside(&mut out, "is not a JSON object".into());
                    continue;
                }
                Err(e) => {
                    set_aside(&mut out, format!("is not valid JSON ({})", json_error_position(&e)));
                    continue;
                }
            };
            if let Err(err) = self.make(record, line_no, |ci| Raw::Json(Some(&fields[ci]))) {
                out.quarantined.push(self.quarantine_json(record, line_no, text, err));
            }
        }
        out.rows = self.take_rows()?;
        Ok(out)
    }

    /// Rare: the quarantine record of a JSON line is made from a
    /// `serde_json::Value` of it, as it always was (same text for every value).
    fn quarantine_json(&self, record: u64, line: u64, text: &str, err: RowError) -> Quarantined {
        let obj = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(o)) => o,
            // Not reached: the same parser read the line as an object.
            _ => serde_json::Map::new(),
        };
        Quarantined {
            record,
            line,
            err,
            values: json_values(self.table, &obj),
            key: key_of_json(self.table, &obj),
        }
    }
}

/// The key's string values joined by U+001F (a null part is left out).
fn key_string(key_cols: &[usize], values: &[Value]) -> String {
    let mut key = String::new();
    for (n, part) in key_cols.iter().filter_map(|&i| values[i].as_str()).enumerate() {
        if n > 0 {
            key.push('\u{1f}');
        }
        key.push_str(part);
    }
    key
}

fn key_of_json(table: &Table, obj: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let parts: Option<Vec<&str>> = table.key.iter().map(|k| obj.get(*k).and_then(|v| v.as_str())).collect();
    parts.map(|p| p.join("\u{1f}"))
}

/// Append a value's bytes of the row hash to `h`. The row hash is SHA-256
/// over these bytes of every lake value; they are gathered per row and
/// hashed at once (the same digest as many small `update`s, at less cost).
fn hash_value(h: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => h.push(0u8),
        Value::Str(s) => {
            h.push(1u8);
            h.extend_from_slice(&(s.len() as u64).to_le_bytes());
            h.extend_from_slice(s.as_bytes());
        }
        Value::Int(i) => {
            h.push(2u8);
            h.extend_from_slice(&i.to_le_bytes());
        }
        Value::Bool(b) => h.extend_from_slice(&[3u8, *b as u8]),
        Value::Ts(t) => {
            h.push(4u8);
            h.extend_from_slice(&t.to_le_bytes());
        }
        Value::Date(d) => {
            h.push(5u8);
            h.extend_from_slice(&d.to_le_bytes());
        }
        Value::List(items) => {
            h.push(6u8);
            h.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for it in items {
                h.extend_from_slice(&(it.len() as u64).to_le_bytes());
                h.extend_from_slice(it.as_bytes());
            }
        }
        Value::Hash(x) => {
            h.push(7u8);
            h.extend_from_slice(x);
        }
    }
}

/// Non-personal values of a JSON row, as JSON text (truncated).
fn json_values(table: &Table, obj: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut out = serde_json::Map::new();
    for col in table.columns.iter().filter(|c| !c.is_personal()) {
        if let Some(v) = obj.get(col.name) {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(
                col.name.to_string(),
                serde_json::Value::String(truncate(&text, QUARANTINE_VALUE_CHARS)),
            );
        }
    }
    serde_json::Value::Object(out).to_string()
}

/// Where serde_json stopped, without echoing the input.
fn json_error_position(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of line",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "invalid data",
        serde_json::error::Category::Io => "read error",
    };
    format!("{kind} at column {}", e.column())
}
