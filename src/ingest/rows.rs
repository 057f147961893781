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
use super::pseudonym::{Pseudonymiser, RecordFingerprints};
use super::state::{KeySet, Met, RowState, SnapshotState};
use super::validate::{self, Json, NightBounds, Raw, RowError, Value};
use crate::contract::{Personal, Rule, Table};

/// Recognises the records of a snapshot file that hold what their key's row
/// in the base snapshot was made of: the same fields of the contract columns
/// (CSV), or the same parsed values (JSON Lines, see [`canonical_json`]),
/// compared by keyed fingerprint. Such a row is valid (validation depends
/// only on those and on the night, and a later night accepts whatever an
/// earlier one did), has the same pseudonyms and row hash, and is unchanged,
/// so it is not validated nor made again. Every record gets a fingerprint, so
/// that the rows of this file can be recognised the next night.
pub struct Recognise<'a> {
    fingerprints: RecordFingerprints,
    base: &'a SnapshotState,
    /// `None`: no record is recognised; otherwise not the records of these
    /// keys (their rows are needed whole: the keys are duplicated).
    avoid: Option<&'a KeySet>,
}

impl<'a> Recognise<'a> {
    pub fn new(table: &Table, pseudonymiser: &Pseudonymiser, base: &'a SnapshotState, avoid: Option<&'a KeySet>) -> Self {
        Recognise {
            fingerprints: pseudonymiser.record_fingerprints(table.name),
            base,
            avoid,
        }
    }

    pub fn fingerprint(&self, record: &[u8]) -> [u8; 16] {
        self.fingerprints.of(record)
    }

    /// Decide, for each record waiting in `lookups`, whether it is done
    /// with: recognised as its key's base row, unchanged (counted in
    /// `tally`), or recognised but to be read again because the file has
    /// another valid row of the key (in `tally.duplicated`). A record not
    /// done with is validated and made. It marks the base rows it recognises
    /// as met (see [`super::state::RowState`]).
    ///
    /// The look-ups come first, [`LOOKUP_BATCH`] at a time, then their
    /// marks: the look-ups of a batch are independent, so the processor
    /// overlaps their cache misses. One record at a time it waits for each:
    /// the next record's look-up is too far ahead (its parsing and
    /// fingerprint) to be started early.
    pub fn look_up(&self, lookups: &mut Lookups, tally: &mut Tally) {
        let n = lookups.fps.len();
        lookups.done.clear();
        let Some(avoid) = self.avoid else {
            lookups.done.resize(n, false);
            return;
        };
        let mut next = lookups.next;
        for start in (0..n).step_by(LOOKUP_BATCH) {
            let end = n.min(start + LOOKUP_BATCH);
            let mut found: [Option<&RowState>; LOOKUP_BATCH] = [None; LOOKUP_BATCH];
            for (i, slot) in (start..end).zip(found.iter_mut()) {
                *slot = lookups
                    .key(i)
                    .and_then(|key| find_in_order(self.base, key, &mut next))
                    .filter(|row| row.fp.as_ref() == Some(&lookups.fps[i]));
            }
            for (i, row) in (start..end).zip(found) {
                let done = match (row, lookups.key(i)) {
                    (Some(row), Some(key)) if !avoid.contains(key) => {
                        match row.meet(Met::Recognised) {
                            Met::Not => tally.recognised += 1,
                            _ => tally.duplicated.push(key.to_string()),
                        }
                        true
                    }
                    _ => false,
                };
                lookups.done.push(done);
            }
        }
        lookups.next = next;
    }
}

/// The base row of `key`. The keys of a snapshot file mostly come in the
/// order of the file its base was made of, the order of the base: the
/// entity after the previous record's (`next`, its position) is compared
/// first, a read in order that the processor prefetches, and the key is
/// looked up by its hash only when it is not that one.
fn find_in_order<'s>(base: &'s SnapshotState, key: &str, next: &mut usize) -> Option<&'s RowState> {
    if let Some((k, row)) = base.get_index(*next)
        && k.as_bytes() == key.as_bytes()
    {
        *next += 1;
        return Some(row);
    }
    let (at, _, row) = base.get_full(key.as_bytes())?;
    *next = at + 1;
    Some(row)
}

/// How many records [`Recognise::look_up`] looks up at once (more did
/// no better in a micro-benchmark).
pub const LOOKUP_BATCH: usize = 16;

/// The keys and fingerprints of up to [`LOOKUP_BATCH`] records of a
/// snapshot file, in file order, waiting for [`Recognise::look_up`]; then
/// whether each is done with. The base of a national snapshot is hundreds
/// of MB, so nearly every look-up misses the caches: looked up one record
/// at a time, they were 21% of the samples of 3 recognised nights at ×4;
/// a batch at a time, 9%.
#[derive(Debug, Default)]
pub struct Lookups {
    /// The keys, one after the other.
    keys: String,
    /// Per record: where its key is in `keys` (`None`: the record has no key).
    spans: Vec<Option<(usize, usize)>>,
    fps: Vec<[u8; 16]>,
    /// Per record, after a look-up: whether it is done with.
    done: Vec<bool>,
    /// The base's position after the last key found (see [`find_in_order`]); kept
    /// from one batch to the next.
    next: usize,
}

impl Lookups {
    pub fn push(&mut self, key: Option<&str>, fp: [u8; 16]) {
        self.spans.push(key.map(|k| {
            let start = self.keys.len();
            self.keys.push_str(k);
            (start, self.keys.len())
        }));
        self.fps.push(fp);
    }

    pub fn is_full(&self) -> bool {
        self.fps.len() >= LOOKUP_BATCH
    }

    /// How many records wait.
    pub fn len(&self) -> usize {
        self.fps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fps.is_empty()
    }

    fn key(&self, i: usize) -> Option<&str> {
        let (start, end) = self.spans[i]?;
        self.keys.get(start..end)
    }

    /// The `i`-th record's fingerprint.
    pub fn fp(&self, i: usize) -> [u8; 16] {
        self.fps[i]
    }

    /// Whether the `i`-th record is done with (after [`Recognise::look_up`];
    /// not before).
    pub fn done(&self, i: usize) -> bool {
        self.done.get(i).copied().unwrap_or(false)
    }

    pub fn clear(&mut self) {
        self.keys.clear();
        self.spans.clear();
        self.fps.clear();
        self.done.clear();
    }
}

/// What recognition did with some records of a file.
#[derive(Debug, Default)]
pub struct Tally {
    /// Records recognised as unchanged rows of the base snapshot.
    pub recognised: u64,
    /// Keys of recognised records that the file has other valid rows of.
    pub duplicated: Vec<String>,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.recognised += other.recognised;
        self.duplicated.extend(other.duplicated);
    }
}

/// Makes spill rows out of raw records.
pub struct RowMaker<'a> {
    table: &'static Table,
    bounds: NightBounds,
    pseudonymiser: &'a Pseudonymiser,
    /// Snapshots: recognising unchanged rows.
    recognise: Option<Recognise<'a>>,
    /// Contract column indexes of the key's columns.
    key_cols: Vec<usize>,
    /// Accepted rows not yet taken.
    batcher: Batcher,
    /// Buffers reused for every row.
    values: Vec<Value>,
    row: Vec<Value>,
    hashed: Vec<u8>,
    fp_bytes: Vec<u8>,
    key_buf: String,
    /// JSON Lines: the keys and fingerprints of the records of a part
    /// waiting for their look-up (the records are in `jsonl_lines`).
    lookups: Lookups,
}

/// What some consecutive records of a file came to, in file order.
#[derive(Default)]
pub struct Made {
    /// Records read (blank lines are not records).
    pub rows_read: u64,
    /// Accepted rows, in the spill's schema: the lake columns, then
    /// `_record`, `_line`, the row hash, the key and the record's
    /// fingerprint (null when the row may not be recognised later).
    pub rows: Option<RecordBatch>,
    pub tally: Tally,
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
    pub fn new(
        table: &'static Table,
        night: chrono::NaiveDate,
        pseudonymiser: &'a Pseudonymiser,
        spill_schema: SchemaRef,
        recognise: Option<Recognise<'a>>,
    ) -> Self {
        RowMaker {
            table,
            bounds: NightBounds::new(night),
            pseudonymiser,
            recognise,
            key_cols: table.key.iter().filter_map(|k| table.column_index(k)).collect(),
            batcher: Batcher::new(spill_schema),
            values: Vec::new(),
            row: Vec::new(),
            hashed: Vec::new(),
            fp_bytes: Vec::new(),
            key_buf: String::new(),
            lookups: Lookups::default(),
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

    pub fn recognise(&self) -> Option<&Recognise<'a>> {
        self.recognise.as_ref()
    }

    /// Validate a record: `raw(i)` is the field of contract column `i`;
    /// `fp`, its fingerprint when its row may be recognised later. A valid
    /// record becomes a spill row; `Err` says why it is not.
    pub fn make<'r>(
        &mut self,
        record: u64,
        line: u64,
        fp: Option<[u8; 16]>,
        mut raw: impl FnMut(usize) -> Raw<'r>,
    ) -> Result<(), RowError> {
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
            self.accept(record, line, fp, &mut values);
        }
        self.values = values;
        checked
    }

    /// A valid row (taken out of `values`): pseudonymise, hash, append to the rows made.
    fn accept(&mut self, record: u64, line: u64, fp: Option<[u8; 16]>, values: &mut Vec<Value>) {
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
        row.push(fp.map_or(Value::Null, Value::Hash));
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
        // Snapshots: parsed records waiting for their key's look-up (see [`Lookups`]).
        let mut waiting: Vec<JsonRecord<'_>> = Vec::with_capacity(LOOKUP_BATCH);
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        for (line_no, content) in (first_line..).zip(body.split(|&b| b == b'\n')) {
            if content.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                continue;
            }
            out.rows_read += 1;
            let record = line_no;
            let parsed = match std::str::from_utf8(content) {
                Err(_) => Err("is not valid UTF-8".to_string()),
                Ok(text) => match reader.read(text, &out.unknown) {
                    Ok(Line::Object { fields, unknown }) => {
                        for k in unknown {
                            if out.unknown.len() < jsonl::MAX_UNKNOWN {
                                out.unknown.push(k);
                            }
                        }
                        Ok(JsonRecord {
                            record,
                            line: line_no,
                            text,
                            fields,
                        })
                    }
                    Ok(Line::NotObject) => Err("is not a JSON object".to_string()),
                    Err(e) => Err(format!("is not valid JSON ({})", json_error_position(&e))),
                },
            };
            let rec = match parsed {
                Ok(rec) => rec,
                Err(reason) => {
                    // After the records before it, in file order.
                    self.make_waiting(&mut waiting, &mut out);
                    out.quarantined.push(Quarantined {
                        record,
                        line: line_no,
                        err: RowError::row(reason),
                        values: "{}".into(),
                        key: None,
                    });
                    continue;
                }
            };
            // Unknown keys were collected above (for the file's warning);
            // they are no part of the row, nor of its fingerprint.
            match &self.recognise {
                Some(r) => {
                    self.fp_bytes.clear();
                    for (col, v) in self.table.columns.iter().zip(&rec.fields) {
                        canonical_json(v, matches!(col.rule, Rule::SubsetOf(_)), &mut self.fp_bytes);
                    }
                    let fp = r.fingerprint(&self.fp_bytes);
                    self.lookups.push(json_key(&self.key_cols, &rec.fields, &mut self.key_buf), fp);
                    waiting.push(rec);
                    if self.lookups.is_full() {
                        self.make_waiting(&mut waiting, &mut out);
                    }
                }
                None => self.make_json(&rec, None, &mut out),
            }
        }
        self.make_waiting(&mut waiting, &mut out);
        out.rows = self.take_rows()?;
        Ok(out)
    }

    /// Look up the waiting records, then make those not done with, in file order.
    fn make_waiting(&mut self, waiting: &mut Vec<JsonRecord<'_>>, out: &mut Made) {
        if waiting.is_empty() {
            return;
        }
        if let Some(r) = &self.recognise {
            r.look_up(&mut self.lookups, &mut out.tally);
        }
        debug_assert_eq!(waiting.len(), self.lookups.len());
        for (i, rec) in waiting.drain(..).enumerate() {
            if !self.lookups.done(i) {
                let fp = self.lookups.fp(i);
                self.make_json(&rec, Some(fp), out);
            }
        }
        self.lookups.clear();
    }

    fn make_json(&mut self, rec: &JsonRecord<'_>, fp: Option<[u8; 16]>, out: &mut Made) {
        if let Err(err) = self.make(rec.record, rec.line, fp, |ci| Raw::Json(Some(&rec.fields[ci]))) {
            out.quarantined.push(self.quarantine_json(rec.record, rec.line, rec.text, err));
        }
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

/// A parsed JSON line.
struct JsonRecord<'t> {
    record: u64,
    line: u64,
    text: &'t str,
    fields: Vec<Json<'t>>,
}

/// The key a valid row of these fields gets ([`key_string`]), when every part
/// is a string.
fn json_key<'b>(key_cols: &[usize], fields: &[Json<'_>], buf: &'b mut String) -> Option<&'b str> {
    buf.clear();
    for (n, &i) in key_cols.iter().enumerate() {
        let Json::Str(s) = fields.get(i)? else { return None };
        if n > 0 {
            buf.push('\u{1f}');
        }
        buf.push_str(s);
    }
    Some(buf)
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

/// Append the bytes of a parsed JSON value that its record's fingerprint is
/// taken of. Two lines with the same bytes for every contract column are
/// validated alike and make the same row, whatever their key order,
/// whitespace or escapes: numbers and strings keep what validation sees of
/// them; the items of a set (`set`: a `SubsetOf` column, stored in contract
/// order whatever the order delivered) are sorted. A float or an object
/// keeps only its kind: no column accepts one.
fn canonical_json(v: &Json<'_>, set: bool, out: &mut Vec<u8>) {
    match v {
        Json::Null => out.push(0),
        Json::Bool(b) => out.extend_from_slice(&[1, *b as u8]),
        Json::PosInt(u) => {
            out.push(2);
            out.extend_from_slice(&u.to_le_bytes());
        }
        Json::NegInt(i) => {
            out.push(3);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Json::Float => out.push(4),
        Json::Str(s) => {
            out.push(5);
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Json::Array(items) => {
            out.push(6);
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            let strings: Option<Vec<&str>> = items
                .iter()
                .map(|it| match it {
                    Json::Str(s) => Some(s.as_ref()),
                    _ => None,
                })
                .collect();
            match strings {
                Some(mut strings) if set => {
                    strings.sort_unstable();
                    for s in strings {
                        out.push(5);
                        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                        out.extend_from_slice(s.as_bytes());
                    }
                }
                _ => items.iter().for_each(|it| canonical_json(it, false, out)),
            }
        }
        Json::Object => out.push(7),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::state::Key;

    /// Keys in the base's order, out of it, missing, and again from the
    /// start: each is found as by its hash, and `next` is the position
    /// after the key found (unchanged for a key not in the base).
    #[test]
    fn keys_are_found_in_the_base_order_first_then_by_hash() {
        let mut base = SnapshotState::default();
        for (i, k) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            base.insert(Key::from(k), RowState::new([i as u8; 16], None));
        }
        let mut next = 0;
        let found: Vec<(Option<u8>, usize)> = ["a", "b", "d", "c", "x", "d", "e", "a", "b"]
            .into_iter()
            .map(|k| (find_in_order(&base, k, &mut next).map(|r| r.hash[0]), next))
            .collect();
        let expected = [
            (Some(0), 1),
            (Some(1), 2),
            (Some(3), 4),
            (Some(2), 3),
            (None, 3),
            (Some(3), 4),
            (Some(4), 5),
            (Some(0), 1),
            (Some(1), 2),
        ];
        assert_eq!(found, expected);
    }
}
