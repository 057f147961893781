//! One contract file of one night: decompress, parse, validate,
//! pseudonymise, set bad rows aside, and write the lake file and the
//! quarantine file to local scratch space. Nothing here is visible in the
//! lake: the caller uploads the outputs and commits the ledger entry only
//! when every file of the night succeeded.
//!
//! Two passes keep memory bounded whatever the file's size: pass 1 streams
//! the records into a local Arrow IPC spill file and counts keys; pass 2
//! drops every row of a key seen twice (quarantine) and, for snapshots, keeps
//! only the rows that changed against the base snapshot.
//!
//! A snapshot record that holds what its key's row in the base snapshot held
//! (same keyed fingerprint, see [`Recognise`]) is recognised in pass 1 and
//! only its key is counted: most of a nightly snapshot is unchanged. When a
//! recognised row's key turns out to be duplicated, the file is read again
//! with those keys' rows made whole, so that the quarantine shows their
//! values: the lake and quarantine rows are the same as when nothing is
//! recognised. The base's fingerprints come from the previous night of the
//! run, or from the state the previous run left in the work folder
//! ([`super::cache`]); a base rebuilt from the lake has none.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex, mpsc};

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::NaiveDate;
use flate2::read::MultiGzDecoder;
use parquet::arrow::ArrowWriter;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use super::batch::{BATCH_BYTES, BATCH_ROWS, Batcher};
use super::jsonl::{self, LineReader};
use super::pseudonym::Pseudonymiser;
use super::rows::{LOOKUP_BATCH, Lookups, Made, Recognise, RowMaker, Tally};
use super::state::{Key, KeySet, Met, RowState, SnapshotState, StateChanges};
use super::validate::{self, Raw, RowError, Value};
use crate::contract::{self, Format, Kind, Table};
use crate::lake::ledger::Rejection;

/// Longest value kept (per column) in a quarantine record.
pub const QUARANTINE_VALUE_CHARS: usize = 200;
/// Decompressed bytes of a JSON Lines file per part handed to a worker
/// (about 2,000 lines of an employers extract).
const PART_BYTES: usize = 512 << 10;
/// Threads parsing one JSON Lines file.
const MAX_WORKERS: usize = 8;
/// CSV rows made before they are consumed.
const CSV_ROWS_AT_ONCE: usize = 1024;

type KeyCounts = foldhash::HashMap<String, u32>;

/// What the caller knows before reading the file.
pub struct FileTask<'a> {
    pub table: &'static Table,
    pub night: NaiveDate,
    /// From `_DONE`, when it lists checksums.
    pub expected_sha256: Option<&'a str>,
    pub pseudonymiser: &'a Pseudonymiser,
    pub work_dir: &'a Path,
    /// Snapshots: records of the base snapshot file (collapse check).
    pub base_rows_read: Option<u64>,
    /// Snapshots: the base snapshot (empty for the first snapshot ever).
    pub base_state: Option<&'a SnapshotState>,
}

/// The outcome of a file that can be ingested.
#[derive(Debug)]
pub struct FileOutput {
    pub sha256: String,
    pub bytes: u64,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_quarantined: u64,
    pub rows_stored: u64,
    /// Snapshots: accepted records recognised as unchanged (see [`Recognise`]).
    pub rows_recognised: u64,
    pub data: Option<NamedTempFile>,
    pub quarantine: Option<NamedTempFile>,
    pub warnings: Vec<String>,
    /// Snapshots: what makes the base snapshot the snapshot as of this night.
    pub new_state: Option<StateChanges>,
}

/// Why a file could not be ingested.
#[derive(Debug)]
pub enum FileFailure {
    /// The delivery breaks the contract: reject the night.
    Reject(Rejection),
    /// The landing or the scratch space failed (I/O): retry later; nothing is recorded.
    Transient(String),
}

type Fail<T> = Result<T, FileFailure>;

fn transient(what: &str, e: impl std::fmt::Display) -> FileFailure {
    FileFailure::Transient(format!("{what}: {e}"))
}

/// Hashes and counts the compressed bytes as they are read, and remembers
/// whether the underlying store failed (as opposed to bad gzip data).
struct Tap<R> {
    inner: R,
    state: Rc<RefCell<TapState>>,
}

#[derive(Default)]
struct TapState {
    sha: Sha256,
    bytes: u64,
    io_error: Option<String>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                let mut s = self.state.borrow_mut();
                s.sha.update(&buf[..n]);
                s.bytes += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.state.borrow_mut().io_error = Some(e.to_string());
                Err(e)
            }
        }
    }
}

/// What one reading of a file came to.
enum Attempt {
    Done(FileOutput),
    /// Rows recognised as unchanged have keys that the file duplicates.
    Duplicated(KeySet),
}

/// Process one file. `open` yields the file's compressed bytes (a second
/// time in the rare case described in the module's documentation).
pub fn process(task: &FileTask<'_>, open: &dyn Fn() -> Fail<Box<dyn Read>>) -> Fail<FileOutput> {
    let nothing = KeySet::default();
    let keys = match process_once(task, open()?, Some(&nothing))? {
        Attempt::Done(out) => return Ok(out),
        Attempt::Duplicated(keys) => keys,
    };
    // The first reading found the file sound: a reading that does not
    // means the file changed meanwhile, and the night is retried.
    let again = |avoid: Option<&KeySet>| match process_once(task, open()?, avoid) {
        Err(FileFailure::Reject(r)) => Err(FileFailure::Transient(format!(
            "{} changed while it was being read ({r}); the night is retried",
            task.table.file
        ))),
        other => other,
    };
    match again(Some(&keys))? {
        Attempt::Done(out) => Ok(out),
        // Only if the file changed between the readings: recognise nothing.
        Attempt::Duplicated(_) => match again(None)? {
            Attempt::Done(out) => Ok(out),
            Attempt::Duplicated(_) => Err(transient(task.table.file, "recognised rows with no base")),
        },
    }
}

/// One reading of the file; `avoid`: see [`Recognise`].
fn process_once(task: &FileTask<'_>, reader: Box<dyn Read>, avoid: Option<&KeySet>) -> Fail<Attempt> {
    let state = Rc::new(RefCell::new(TapState::default()));
    let tap = Tap {
        inner: reader,
        state: state.clone(),
    };
    let mut p = Pass1::new(task, avoid)?;
    let result = match task.table.format {
        Format::Csv => p.read_csv(tap),
        Format::JsonLines => p.read_jsonl(tap),
    };
    let (sha256, bytes) = {
        let mut s = state.borrow_mut();
        if let Some(e) = s.io_error.take() {
            return Err(FileFailure::Transient(format!("reading {}: {e}", task.table.file)));
        }
        (hex::encode(std::mem::take(&mut s.sha).finalize()), s.bytes)
    };
    // A scratch-space failure stopped the reading early: the checksum
    // cannot be judged, and the night is retried.
    let result = match result {
        Err(Stop::Fail(f)) => return Err(f),
        other => other,
    };
    // A checksum mismatch explains any other problem of the file: report it first.
    if let Some(expected) = task.expected_sha256 {
        if expected != sha256 {
            return Err(reject(
                task,
                None,
                None,
                None,
                format!(
                    "checksum mismatch: _DONE lists sha256 {expected}, the file has {sha256}; the night is rejected until it is re-delivered"
                ),
            ));
        }
    }
    if bytes == 0 {
        return Err(reject(
            task,
            None,
            None,
            None,
            "the file is empty (0 bytes): not gzip, no header".into(),
        ));
    }
    match result {
        Err(Stop::Reject(r)) => return Err(FileFailure::Reject(r)),
        Err(Stop::Fail(f)) => return Err(f),
        Ok(()) => {}
    }
    if task.table.kind == Kind::Snapshot {
        if p.rows_read == 0 {
            return Err(reject(
                task,
                None,
                None,
                None,
                "snapshot has 0 data records: a snapshot must not collapse".into(),
            ));
        }
        if let Some(prev) = task.base_rows_read {
            if p.rows_read * 2 < prev {
                return Err(reject(
                    task,
                    None,
                    None,
                    None,
                    format!(
                        "snapshot has {} data records, fewer than half of the {prev} of the previous ingested snapshot: a snapshot must not collapse",
                        p.rows_read
                    ),
                ));
            }
        }
    }
    p.finish(sha256, bytes)
}

/// What the workers made, handed out in the order of the parts.
struct InOrder<T> {
    rx: mpsc::Receiver<(u64, T)>,
    waiting: BTreeMap<u64, T>,
    next: u64,
}

impl<T> InOrder<T> {
    /// The next part's rows, waiting for them when `wait`. `None` when they
    /// are not there yet (`!wait`), or will never come (the workers stopped).
    fn take(&mut self, wait: bool) -> Option<T> {
        loop {
            if let Some(made) = self.waiting.remove(&self.next) {
                self.next += 1;
                return Some(made);
            }
            let (seq, made) = if wait { self.rx.recv().ok()? } else { self.rx.try_recv().ok()? };
            self.waiting.insert(seq, made);
        }
    }
}

/// Append about [`PART_BYTES`] of decompressed data to `part`, and more until
/// it holds a newline. `Ok(true)` at the end of the data; on an error, what
/// was read before it is in `part`.
fn read_part(decoded: &mut impl Read, part: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut scanned = 0;
    loop {
        let want = PART_BYTES.saturating_sub(part.len()).max(64 << 10);
        let n = decoded.by_ref().take(want as u64).read_to_end(part)?;
        if n < want {
            return Ok(true);
        }
        if part[scanned..].contains(&b'\n') {
            return Ok(false);
        }
        scanned = part.len();
    }
}

fn reject(task: &FileTask<'_>, record: Option<u64>, line: Option<u64>, column: Option<String>, message: String) -> FileFailure {
    FileFailure::Reject(Rejection {
        file: Some(task.table.file.to_string()),
        record,
        line,
        column,
        message,
    })
}

enum Stop {
    Reject(Rejection),
    Fail(FileFailure),
}

impl From<FileFailure> for Stop {
    fn from(f: FileFailure) -> Self {
        match f {
            FileFailure::Reject(r) => Stop::Reject(r),
            other => Stop::Fail(other),
        }
    }
}

/// Schema of the spill file: lake columns + bookkeeping.
fn spill_schema(table: &Table) -> SchemaRef {
    let mut fields: Vec<Field> = table
        .lake_columns()
        .filter_map(|(_, c)| c.lake_name().map(|n| Field::new(n, c.lake_type(), true)))
        .collect();
    fields.push(Field::new("_record", DataType::Int64, false));
    fields.push(Field::new("_line", DataType::Int64, false));
    fields.push(Field::new(contract::ROW_HASH, DataType::FixedSizeBinary(16), false));
    fields.push(Field::new("_key", DataType::Utf8, false));
    fields.push(Field::new("_fp", DataType::FixedSizeBinary(16), true));
    Arc::new(Schema::new(fields))
}

/// Positions of the bookkeeping columns of a spill batch (after the lake columns).
struct SpillCols {
    record: usize,
    line: usize,
    hash: usize,
    key: usize,
    fp: usize,
}

impl SpillCols {
    fn of(table: &Table) -> Self {
        let n = table.lake_columns().filter(|(_, c)| c.lake_name().is_some()).count();
        SpillCols {
            record: n,
            line: n + 1,
            hash: n + 2,
            key: n + 3,
            fp: n + 4,
        }
    }
}

fn recognise<'a>(task: &FileTask<'a>, avoid: Option<&'a KeySet>) -> Option<Recognise<'a>> {
    task.base_state
        .map(|base| Recognise::new(task.table, task.pseudonymiser, base, avoid))
}

pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(contract::EXTRACT_DATE, DataType::Date32, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("record", DataType::Int64, false),
        Field::new("line", DataType::Int64, false),
        Field::new("column", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
        Field::new("values", DataType::Utf8, false),
    ]))
}

/// Quarantine rows, streamed to a local Parquet file.
struct Quarantine {
    table: &'static Table,
    night: i32,
    batcher: Batcher,
    writer: Option<(ArrowWriter<File>, NamedTempFile)>,
    work_dir: std::path::PathBuf,
    rows: u64,
}

impl Quarantine {
    fn push(&mut self, record: u64, line: u64, err: &RowError, values: String) -> Fail<()> {
        self.batcher.push(&[
            Value::Date(self.night),
            Value::Str(self.table.file.to_string()),
            Value::Int(record as i64),
            Value::Int(line as i64),
            err.column.map_or(Value::Null, |c| Value::Str(c.to_string())),
            Value::Str(err.reason.clone()),
            Value::Str(values),
        ]);
        self.rows += 1;
        if self.batcher.is_full() {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Fail<()> {
        if self.batcher.is_empty() {
            return Ok(());
        }
        let batch = self.batcher.finish().map_err(|e| transient("quarantine batch", e))?;
        if self.writer.is_none() {
            let tmp = NamedTempFile::new_in(&self.work_dir).map_err(|e| transient("scratch file", e))?;
            let f = tmp.reopen().map_err(|e| transient("scratch file", e))?;
            let w = ArrowWriter::try_new(f, quarantine_schema(), Some(crate::lake::parquet_properties()))
                .map_err(|e| transient("quarantine writer", e))?;
            self.writer = Some((w, tmp));
        }
        if let Some((w, _)) = &mut self.writer {
            w.write(&batch).map_err(|e| transient("quarantine write", e))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Fail<Option<NamedTempFile>> {
        self.flush()?;
        match self.writer {
            Some((w, tmp)) => {
                w.close().map_err(|e| transient("quarantine close", e))?;
                Ok(Some(tmp))
            }
            None => Ok(None),
        }
    }
}

struct Pass1<'a> {
    task: &'a FileTask<'a>,
    spill: FileWriter<File>,
    spill_file: NamedTempFile,
    spill_schema: SchemaRef,
    /// Rows for the next spill batch, and their count and string bytes:
    /// the spill is cut into batches where one [`Batcher`] would cut it.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    quarantine: Quarantine,
    /// Keys of valid rows met so far that are not in the base (those are
    /// counted by the base's marks).
    keys: KeySet,
    /// Keys of more than one valid row → how many (few).
    dups: KeyCounts,
    /// Keys of rows quarantined in pass 1 (snapshots keep their old version).
    held: KeySet,
    /// Records recognised, and keys with a recognised row and another valid row.
    tally: Tally,
    avoid: Option<&'a KeySet>,
    /// CSV: the bytes a record's fingerprint is taken of, and its key.
    fp_bytes: Vec<u8>,
    key_buf: String,
    /// CSV snapshots: the keys and fingerprints of the records waiting for
    /// their look-up, and their record and line numbers (the records
    /// themselves are in `read_csv`).
    lookups: Lookups,
    waiting_at: Vec<(u64, u64)>,
    /// CSV: rows are made and consumed on this thread.
    maker: RowMaker<'a>,
    rows_read: u64,
    /// JSON Lines: unknown keys, in order of first appearance.
    unknown: Vec<String>,
    warnings: Vec<String>,
    /// Contract column index → where its value is in a record.
    positions: Vec<usize>,
    header_len: usize,
}

impl<'a> Pass1<'a> {
    fn new(task: &'a FileTask<'a>, avoid: Option<&'a KeySet>) -> Fail<Self> {
        // The base's marks are this reading's. A base without fingerprints
        // (rebuilt from the lake) recognises nothing: no look-up per record.
        let mut fingerprints = false;
        for row in task.base_state.into_iter().flat_map(|b| b.values()) {
            row.reset();
            fingerprints |= row.fp.is_some();
        }
        let avoid = avoid.filter(|_| fingerprints);
        let spill_schema = spill_schema(task.table);
        let spill_file = NamedTempFile::new_in(task.work_dir).map_err(|e| transient("scratch file", e))?;
        let f = spill_file.reopen().map_err(|e| transient("scratch file", e))?;
        let spill = FileWriter::try_new(f, &spill_schema).map_err(|e| transient("spill writer", e))?;
        Ok(Pass1 {
            task,
            spill,
            spill_file,
            maker: RowMaker::new(
                task.table,
                task.night,
                task.pseudonymiser,
                spill_schema.clone(),
                recognise(task, avoid),
            ),
            spill_schema,
            pending: Vec::new(),
            pending_rows: 0,
            pending_bytes: 0,
            quarantine: Quarantine {
                table: task.table,
                night: validate::days_since_epoch(task.night),
                batcher: Batcher::new(quarantine_schema()),
                writer: None,
                work_dir: task.work_dir.to_path_buf(),
                rows: 0,
            },
            // A snapshot has about as many keys as its base: no rehashing.
            keys: KeySet::default(),
            dups: KeyCounts::default(),
            held: KeySet::default(),
            tally: Tally::default(),
            avoid,
            fp_bytes: Vec::new(),
            key_buf: String::new(),
            lookups: Lookups::default(),
            waiting_at: Vec::with_capacity(LOOKUP_BATCH),
            rows_read: 0,
            unknown: Vec::new(),
            warnings: Vec::new(),
            positions: Vec::new(),
            header_len: 0,
        })
    }

    fn gzip_error(&self, e: &dyn std::fmt::Display, record: u64) -> Stop {
        Stop::Reject(Rejection {
            file: Some(self.task.table.file.to_string()),
            record: (record > 0).then_some(record),
            line: None,
            column: None,
            message: format!(
                "gzip data is truncated or corrupt, or bytes follow the last gzip member ({e}) after {record} data record(s); the night is rejected"
            ),
        })
    }

    fn read_csv(&mut self, tap: Tap<Box<dyn Read>>) -> Result<(), Stop> {
        let mut decoded = BufReader::with_capacity(1 << 20, MultiGzDecoder::new(tap));
        // A leading UTF-8 byte order mark is allowed.
        let starts_with_bom = decoded
            .fill_buf()
            .map(|b| b.starts_with(&[0xEF, 0xBB, 0xBF]))
            .map_err(|e| self.gzip_error(&e, 0))?;
        if starts_with_bom {
            decoded.consume(3);
        }
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(decoded);
        let mut rec = csv::ByteRecord::new();
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {
                if let Err(stop) = self.csv_header(&rec) {
                    // Read (and hash) the rest: a checksum mismatch, when there
                    // is one, explains the header and is reported instead.
                    let _ = std::io::copy(rdr.get_mut(), &mut std::io::sink());
                    return Err(stop);
                }
            }
            Ok(false) => return Err(Stop::Reject(self.file_rejection(None, "the file is empty: no header row"))),
            Err(e) => return Err(self.gzip_error(&e, 0)),
        }
        // Snapshots: records waiting for their key's look-up (see [`Lookups`]), in
        // `recs[..self.waiting_at.len()]`, with their record and line numbers in `self.waiting_at`.
        let mut recs = vec![csv::ByteRecord::new(); LOOKUP_BATCH];
        loop {
            let waiting = self.waiting_at.len();
            let rec = &mut recs[waiting];
            match rdr.read_byte_record(rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(self.gzip_error(&e, self.rows_read)),
            }
            self.rows_read += 1;
            let record = self.rows_read;
            let line = rec.position().map_or(0, |p| p.line());
            if rec.len() != self.header_len {
                let err = RowError::row(format!("has {} fields but the header has {}", rec.len(), self.header_len));
                // After the records before it, in file order.
                self.make_waiting(&recs[..waiting])?;
                self.quarantine_csv(record, line, &recs[waiting], &err)?;
                continue;
            }
            // The fingerprint covers the contract columns' fields, in contract
            // order: the same whatever the header's order and extra columns.
            let Some(r) = self.maker.recognise() else {
                self.make_csv(record, line, rec, None)?;
                continue;
            };
            self.fp_bytes.clear();
            for &pos in &self.positions {
                self.fp_bytes.extend_from_slice(&(rec[pos].len() as u64).to_le_bytes());
                self.fp_bytes.extend_from_slice(&rec[pos]);
            }
            let fp = r.fingerprint(&self.fp_bytes);
            self.lookups
                .push(csv_key(self.task.table, &self.positions, rec, &mut self.key_buf), fp);
            self.waiting_at.push((record, line));
            if self.lookups.is_full() {
                self.make_waiting(&recs[..=waiting])?;
            }
        }
        let waiting = self.waiting_at.len();
        self.make_waiting(&recs[..waiting])?;
        self.consume_csv_rows()
    }

    /// Look up the waiting records `recs`, then make those not done with, in file order.
    fn make_waiting(&mut self, recs: &[csv::ByteRecord]) -> Result<(), Stop> {
        if self.lookups.is_empty() {
            return Ok(());
        }
        if let Some(r) = self.maker.recognise() {
            r.look_up(&mut self.lookups, &mut self.tally);
        }
        let at = std::mem::take(&mut self.waiting_at);
        debug_assert_eq!((recs.len(), at.len()), (self.lookups.len(), self.lookups.len()));
        for (i, (rec, &(record, line))) in recs.iter().zip(&at).enumerate() {
            if !self.lookups.done(i) {
                self.make_csv(record, line, rec, Some(self.lookups.fp(i)))?;
            }
        }
        self.waiting_at = at;
        self.waiting_at.clear();
        self.lookups.clear();
        Ok(())
    }

    /// Validate a record and make its row, or set it aside; `fp`: its
    /// fingerprint when its row may be recognised later.
    fn make_csv(&mut self, record: u64, line: u64, rec: &csv::ByteRecord, fp: Option<[u8; 16]>) -> Result<(), Stop> {
        if let Some(ci) = self.positions.iter().position(|&pos| std::str::from_utf8(&rec[pos]).is_err()) {
            let col = &self.task.table.columns[ci];
            let err = RowError {
                column: Some(col.name),
                reason: "is not valid UTF-8".into(),
            };
            return self.quarantine_csv(record, line, rec, &err).map_err(Stop::from);
        }
        let positions = &self.positions;
        let made = self.maker.make(record, line, fp, |ci| {
            // Valid UTF-8: checked just above.
            let s = std::str::from_utf8(&rec[positions[ci]]).unwrap_or_default();
            Raw::Text((!s.is_empty()).then_some(s))
        });
        if let Err(err) = made {
            self.quarantine_csv(record, line, rec, &err)?;
        }
        if self.maker.rows_made() >= CSV_ROWS_AT_ONCE {
            self.consume_csv_rows()?;
        }
        Ok(())
    }

    fn consume_csv_rows(&mut self) -> Result<(), Stop> {
        let rows = self.maker.take_rows().map_err(|e| transient("spill batch", e))?;
        self.consume(Made { rows, ..Made::default() })
    }

    fn file_rejection(&self, line: Option<u64>, message: &str) -> Rejection {
        Rejection {
            file: Some(self.task.table.file.to_string()),
            record: None,
            line,
            column: None,
            message: message.to_string(),
        }
    }

    fn csv_header(&mut self, rec: &csv::ByteRecord) -> Result<(), Stop> {
        let line = rec.position().map(|p| p.line());
        let mut names = Vec::with_capacity(rec.len());
        for f in rec.iter() {
            match std::str::from_utf8(f) {
                Ok(s) => names.push(s.to_string()),
                Err(_) => return Err(Stop::Reject(self.file_rejection(line, "the header row is not valid UTF-8"))),
            }
        }
        let table = self.task.table;
        let mut positions = Vec::with_capacity(table.columns.len());
        let mut missing = Vec::new();
        for c in table.columns {
            let found: Vec<usize> = names.iter().enumerate().filter(|(_, n)| *n == c.name).map(|(i, _)| i).collect();
            match found.as_slice() {
                [i] => positions.push(*i),
                [] => missing.push(c.name),
                _ => {
                    return Err(Stop::Reject(Rejection {
                        file: Some(table.file.to_string()),
                        record: None,
                        line,
                        column: Some(c.name.to_string()),
                        message: format!(
                            "the header names contract column {} {} times; each column appears once",
                            c.name,
                            found.len()
                        ),
                    }));
                }
            }
        }
        if !missing.is_empty() {
            let delimiter_hint = if names.len() == 1 && (names[0].contains(';') || names[0].contains('\t') || names[0].contains('|')) {
                " — the header looks separated by something other than commas (wrong delimiter)"
            } else {
                ""
            };
            return Err(Stop::Reject(Rejection {
                file: Some(table.file.to_string()),
                record: None,
                line,
                column: Some(missing.join(", ")),
                message: format!(
                    "the header lacks contract column(s) {} (missing or renamed){delimiter_hint}; expected the columns {}",
                    missing.join(", "),
                    table.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                ),
            }));
        }
        let extra: Vec<String> = names
            .iter()
            .filter(|n| table.column(n).is_none())
            .map(|n| truncate(n, 60))
            .collect();
        if !extra.is_empty() {
            self.warnings
                .push(format!("{}: extra column(s) ignored: {}", table.file, extra.join(", ")));
        }
        self.positions = positions;
        self.header_len = names.len();
        Ok(())
    }

    /// JSON Lines are parsed and validated on several threads, a part of
    /// the file at a time; this thread decompresses and cuts the parts, and
    /// consumes what the workers made in file order. At most a few parts are
    /// in flight, so memory stays bounded; the outputs are the same as on
    /// one thread, byte for byte.
    fn read_jsonl(&mut self, tap: Tap<Box<dyn Read>>) -> Result<(), Stop> {
        let mut decoded = MultiGzDecoder::new(tap);
        let task = self.task;
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, MAX_WORKERS);
        let max_ahead = 2 * workers as u64 + 1;
        let (part_tx, part_rx) = mpsc::sync_channel::<(u64, u64, Vec<u8>)>(workers);
        let part_rx = Mutex::new(part_rx);
        let (made_tx, made_rx) = mpsc::channel::<(u64, Result<Made, String>)>();
        std::thread::scope(|s| -> Result<(), Stop> {
            for _ in 0..workers {
                let (part_rx, made_tx) = (&part_rx, made_tx.clone());
                let spill_schema = self.spill_schema.clone();
                let avoid = self.avoid;
                s.spawn(move || {
                    let mut maker = RowMaker::new(task.table, task.night, task.pseudonymiser, spill_schema, recognise(task, avoid));
                    let mut reader = LineReader::new(task.table);
                    let mut broken = false;
                    // Ends when the parts end, or when the consumer stopped.
                    while let Some((seq, first_line, part)) = part_rx.lock().ok().and_then(|rx| rx.recv().ok()) {
                        // A panic fails this part, and every later part this
                        // worker takes (its state is lost): the consumer stops
                        // at the first failed part in file order, and no part
                        // is left unanswered for it to wait on.
                        let made = if broken {
                            Err(format!("a worker reading {} failed earlier", task.table.file))
                        } else {
                            match std::panic::catch_unwind(AssertUnwindSafe(|| maker.jsonl_lines(&mut reader, &part, first_line))) {
                                Ok(made) => made.map_err(|e| format!("reading {}: {e}", task.table.file)),
                                Err(_) => {
                                    broken = true;
                                    Err(format!("a worker reading {} panicked", task.table.file))
                                }
                            }
                        };
                        if made_tx.send((seq, made)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(made_tx);
            let mut order = InOrder {
                rx: made_rx,
                waiting: BTreeMap::new(),
                next: 0,
            };
            let (mut sent, mut next_line) = (0u64, 1u64);
            let mut carry = Vec::new();
            loop {
                let mut part = std::mem::take(&mut carry);
                let (eof, error) = match read_part(&mut decoded, &mut part) {
                    Ok(eof) => (eof, None),
                    Err(e) => (true, Some(e)),
                };
                let last_newline = part.iter().rposition(|&b| b == b'\n');
                if !eof {
                    // `read_part` stops after a newline.
                    carry = part.split_off(last_newline.map_or(0, |i| i + 1));
                } else if error.is_some() {
                    // The line being read when the data broke was never read whole.
                    part.truncate(last_newline.map_or(0, |i| i + 1));
                }
                let lines = part.iter().filter(|&&b| b == b'\n').count() as u64 + u64::from(part.last().is_some_and(|&b| b != b'\n'));
                if !part.is_empty() {
                    while sent - order.next >= max_ahead {
                        self.consume_part(order.take(true))?;
                    }
                    if part_tx.send((sent, next_line, part)).is_err() {
                        return self.consume_part(None);
                    }
                    sent += 1;
                    next_line += lines;
                }
                while let Some(made) = order.take(false) {
                    self.consume_part(Some(made))?;
                }
                if eof {
                    drop(part_tx);
                    while order.next < sent {
                        self.consume_part(order.take(true))?;
                    }
                    return match error {
                        Some(e) => Err(self.gzip_error(&e, self.rows_read)),
                        None => Ok(()),
                    };
                }
            }
        })?;
        if !self.unknown.is_empty() {
            let names: Vec<String> = self.unknown.iter().map(|u| truncate(u, 60)).collect();
            self.warnings
                .push(format!("{}: unknown key(s) ignored: {}", task.table.file, names.join(", ")));
        }
        Ok(())
    }

    /// A worker's result for the next part in file order; `None`: the
    /// workers are gone without one.
    fn consume_part(&mut self, made: Option<Result<Made, String>>) -> Result<(), Stop> {
        match made {
            Some(Ok(made)) => self.consume(made),
            Some(Err(e)) => Err(Stop::Fail(FileFailure::Transient(e))),
            None => Err(Stop::Fail(FileFailure::Transient(format!(
                "the workers reading {} stopped",
                self.task.table.file
            )))),
        }
    }

    /// What a worker (or this thread, for CSV) made of some records, in file
    /// order: set bad rows aside, append the valid ones to the spill, count keys.
    fn consume(&mut self, made: Made) -> Result<(), Stop> {
        self.rows_read += made.rows_read;
        for q in made.quarantined {
            if let Some(k) = q.key {
                self.held.insert(k);
            }
            self.quarantine.push(q.record, q.line, &q.err, q.values)?;
        }
        self.tally.add(made.tally);
        if let Some(rows) = made.rows {
            self.spill_rows(rows)?;
        }
        for k in made.unknown {
            if self.unknown.len() < jsonl::MAX_UNKNOWN && !self.unknown.contains(&k) {
                self.unknown.push(k);
            }
        }
        Ok(())
    }

    /// Count the keys of accepted rows and append them to the spill, in
    /// batches cut after the row that fills one (rows or string bytes).
    fn spill_rows(&mut self, rows: RecordBatch) -> Fail<()> {
        let strings: Vec<&StringArray> = rows.columns().iter().filter_map(|c| c.as_string_opt::<i32>()).collect();
        let at = SpillCols::of(self.task.table);
        let Some(keys) = rows.columns().get(at.key).and_then(|c| c.as_string_opt::<i32>()) else {
            return Err(transient("spill batch", "no key column"));
        };
        let mut start = 0;
        for i in 0..rows.num_rows() {
            let key = keys.value(i);
            // A key of the base is counted in the base (its mark), a new one in `keys`.
            match self.task.base_state.and_then(|b| b.get(key.as_bytes())) {
                Some(row) => match row.meet(Met::Made) {
                    Met::Not => {}
                    Met::Recognised => {
                        self.tally.duplicated.push(key.to_string());
                    }
                    Met::Made => *self.dups.entry(key.to_string()).or_insert(1) += 1,
                },
                None => {
                    if !self.keys.insert(key.to_string()) {
                        *self.dups.entry(key.to_string()).or_insert(1) += 1;
                    }
                }
            }
            self.pending_rows += 1;
            self.pending_bytes += strings.iter().map(|c| c.value_length(i) as usize).sum::<usize>();
            if self.pending_rows >= BATCH_ROWS || self.pending_bytes >= BATCH_BYTES {
                self.pending.push(rows.slice(start, i + 1 - start));
                start = i + 1;
                self.flush_spill()?;
            }
        }
        if start < rows.num_rows() {
            self.pending.push(rows.slice(start, rows.num_rows() - start));
        }
        Ok(())
    }

    fn flush_spill(&mut self) -> Fail<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = concat_batches(&self.spill_schema, &self.pending).map_err(|e| transient("spill batch", e))?;
        self.pending.clear();
        self.pending_rows = 0;
        self.pending_bytes = 0;
        self.spill.write(&batch).map_err(|e| transient("spill write", e))
    }

    fn quarantine_csv(&mut self, record: u64, line: u64, rec: &csv::ByteRecord, err: &RowError) -> Fail<()> {
        let table = self.task.table;
        let mut obj = serde_json::Map::new();
        for (ci, col) in table.columns.iter().enumerate() {
            if col.is_personal() {
                continue;
            }
            let Some(&pos) = self.positions.get(ci) else { continue };
            if let Some(bytes) = rec.get(pos) {
                obj.insert(
                    col.name.to_string(),
                    serde_json::Value::String(truncate(&String::from_utf8_lossy(bytes), QUARANTINE_VALUE_CHARS)),
                );
            }
        }
        let key: Option<String> = table
            .key
            .iter()
            .map(|k| {
                let pos = *self.positions.get(table.column_index(k)?)?;
                let s = std::str::from_utf8(rec.get(pos)?).ok()?;
                (!s.is_empty()).then(|| s.to_string())
            })
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join("\u{1f}"));
        if let Some(k) = key {
            self.held.insert(k);
        }
        self.quarantine.push(record, line, err, serde_json::Value::Object(obj).to_string())
    }

    /// Pass 2: drop duplicate keys, compute snapshot changes, write the lake file.
    fn finish(mut self, sha256: String, bytes: u64) -> Fail<Attempt> {
        self.flush_spill()?;
        self.spill.finish().map_err(|e| transient("spill close", e))?;
        let table = self.task.table;
        if !self.tally.duplicated.is_empty() {
            return Ok(Attempt::Duplicated(self.tally.duplicated.drain(..).collect()));
        }
        let dups = std::mem::take(&mut self.dups);
        let recognised = self.tally.recognised;
        tracing::debug!(file = table.file, recognised, "records recognised as unchanged");
        let empty = SnapshotState::default();
        let base = self.task.base_state.unwrap_or(&empty);
        let is_snapshot = table.kind == Kind::Snapshot;
        let mut changes = StateChanges::default();
        let lake_schema = table.lake_schema();
        let n_lake = table.lake_columns().count();
        let night = validate::days_since_epoch(self.task.night);
        let data_tmp = NamedTempFile::new_in(self.task.work_dir).map_err(|e| transient("scratch file", e))?;
        let f = data_tmp.reopen().map_err(|e| transient("scratch file", e))?;
        let mut writer = ArrowWriter::try_new(f, lake_schema.clone(), Some(crate::lake::parquet_properties()))
            .map_err(|e| transient("lake writer", e))?;
        let mut lake_rows = Rechunk::new(lake_schema.clone());
        let spill = File::open(self.spill_file.path()).map_err(|e| transient("spill reopen", e))?;
        let reader = FileReader::try_new(spill, None).map_err(|e| transient("spill read", e))?;
        let mut accepted = recognised;
        let mut stored = 0u64;
        let at = SpillCols::of(table);
        let (record_col, line_col, hash_col) = (at.record, at.line, at.hash);
        for batch in reader {
            let batch = batch.map_err(|e| transient("spill read", e))?;
            let batch_keys = batch.column(at.key).as_string::<i32>();
            let hashes = batch.column(hash_col).as_fixed_size_binary();
            let fps = batch.column(at.fp).as_fixed_size_binary();
            let mut keep = Vec::with_capacity(batch.num_rows());
            let mut dup_rows = Vec::new();
            for i in 0..batch.num_rows() {
                let k = batch_keys.value(i);
                if !dups.is_empty() && dups.contains_key(k) {
                    keep.push(false);
                    dup_rows.push(i);
                    continue;
                }
                accepted += 1;
                if is_snapshot {
                    let mut hash = [0u8; 16];
                    hash.copy_from_slice(hashes.value(i));
                    let fp = fps.is_valid(i).then(|| {
                        let mut fp = [0u8; 16];
                        fp.copy_from_slice(fps.value(i));
                        fp
                    });
                    let old = base.get(k.as_bytes());
                    keep.push(old.is_none_or(|row| row.hash != hash));
                    if old.is_none_or(|row| row.hash != hash || row.fp != fp) {
                        changes.upserts.push((Key::from(k), RowState::new(hash, fp)));
                    }
                } else {
                    keep.push(true);
                }
            }
            for i in dup_rows {
                let k = batch_keys.value(i);
                let n = dups.get(k).copied().unwrap_or(2);
                let err = RowError::row(format!(
                    "duplicate key ({}): {n} rows of this file have it, all are quarantined and the entity keeps its previous version",
                    table.key.join(", ")
                ));
                let record = batch.column(record_col).as_primitive::<arrow::datatypes::Int64Type>().value(i) as u64;
                let line = batch.column(line_col).as_primitive::<arrow::datatypes::Int64Type>().value(i) as u64;
                let values = batch_row_values(table, &batch, i);
                self.quarantine.push(record, line, &err, values)?;
            }
            let kept = filter_record_batch(&batch, &BooleanArray::from(keep)).map_err(|e| transient("filter", e))?;
            if kept.num_rows() == 0 {
                continue;
            }
            let mut cols: Vec<Arc<dyn Array>> = kept.columns()[..n_lake].to_vec();
            cols.push(Arc::new(arrow::array::Date32Array::from(vec![night; kept.num_rows()])));
            if is_snapshot {
                cols.push(Arc::new(arrow::array::StringArray::from(vec!["U"; kept.num_rows()])));
                cols.push(kept.column(hash_col).clone());
            }
            let out = RecordBatch::try_new(lake_schema.clone(), cols).map_err(|e| transient("lake batch", e))?;
            stored += out.num_rows() as u64;
            lake_rows.push(out, &mut writer)?;
        }
        lake_rows.flush(&mut writer)?;
        if is_snapshot {
            // Keys of the base that left the snapshot: no valid row, and no
            // bad row held them back (held keys keep their base version).
            let held = |k: &Key| !self.held.is_empty() && std::str::from_utf8(k.as_bytes()).is_ok_and(|k| self.held.contains(k));
            let mut gone: Vec<&Key> = (base.iter()).filter(|(k, row)| !row.met() && !held(k)).map(|(k, _)| k).collect();
            gone.sort();
            changes.removed = gone.iter().map(|k| (*k).clone()).collect();
            let key_idx = table.column_index(table.key[0]).unwrap_or(0);
            let key_lake_pos = table.lake_columns().position(|(i, _)| i == key_idx).unwrap_or(0);
            let mut tomb = Batcher::new(lake_schema.clone());
            for chunk in gone.chunks(8192) {
                for k in chunk {
                    let mut row = vec![Value::Null; lake_schema.fields().len()];
                    row[key_lake_pos] = Value::Str(k.to_text());
                    row[n_lake] = Value::Date(night);
                    row[n_lake + 1] = Value::Str("D".into());
                    tomb.push(&row);
                }
                let b = tomb.finish().map_err(|e| transient("tombstones", e))?;
                stored += b.num_rows() as u64;
                lake_rows.push(b, &mut writer)?;
            }
            lake_rows.flush(&mut writer)?;
        }
        writer.close().map_err(|e| transient("lake close", e))?;
        let rows_quarantined = self.quarantine.rows;
        let quarantine = self.quarantine.finish()?;
        Ok(Attempt::Done(FileOutput {
            sha256,
            bytes,
            rows_read: self.rows_read,
            rows_accepted: accepted,
            rows_quarantined,
            rows_stored: stored,
            rows_recognised: recognised,
            data: (stored > 0).then_some(data_tmp),
            quarantine,
            warnings: self.warnings,
            new_state: is_snapshot.then_some(changes),
        }))
    }
}

/// The key a valid row of this CSV record gets (see `key_string` in
/// [`super::rows`]), when every part is a non-empty UTF-8 field.
fn csv_key<'b>(table: &Table, positions: &[usize], rec: &csv::ByteRecord, buf: &'b mut String) -> Option<&'b str> {
    buf.clear();
    for (n, k) in table.key.iter().enumerate() {
        let field = rec.get(*positions.get(table.column_index(k)?)?)?;
        let s = std::str::from_utf8(field).ok().filter(|s| !s.is_empty())?;
        if n > 0 {
            buf.push('\u{1f}');
        }
        buf.push_str(s);
    }
    Some(buf)
}

/// Lake rows are handed to the Parquet writer in batches cut where a
/// [`Batcher`] cuts them (after the row that reaches [`BATCH_ROWS`] rows or
/// [`BATCH_BYTES`] of strings), whatever the spill's batches: the file's
/// pages depend on its rows only, not on how many rows around them were
/// recognised, and a batch stays bounded in memory.
struct Rechunk {
    schema: SchemaRef,
    pending: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
}

impl Rechunk {
    fn new(schema: SchemaRef) -> Self {
        Rechunk {
            schema,
            pending: Vec::new(),
            rows: 0,
            bytes: 0,
        }
    }

    fn push(&mut self, batch: RecordBatch, writer: &mut ArrowWriter<File>) -> Fail<()> {
        let strings: Vec<&StringArray> = batch.columns().iter().filter_map(|c| c.as_string_opt::<i32>()).collect();
        let mut start = 0;
        for i in 0..batch.num_rows() {
            self.rows += 1;
            self.bytes += strings.iter().map(|c| c.value_length(i) as usize).sum::<usize>();
            if self.rows >= BATCH_ROWS || self.bytes >= BATCH_BYTES {
                self.pending.push(batch.slice(start, i + 1 - start));
                start = i + 1;
                self.flush(writer)?;
            }
        }
        if start < batch.num_rows() {
            self.pending.push(batch.slice(start, batch.num_rows() - start));
        }
        Ok(())
    }

    fn flush(&mut self, writer: &mut ArrowWriter<File>) -> Fail<()> {
        if self.rows > 0 {
            let all = concat_batches(&self.schema, &self.pending).map_err(|e| transient("lake batch", e))?;
            writer.write(&all).map_err(|e| transient("lake write", e))?;
        }
        self.pending.clear();
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }
}

/// Non-personal lake values of a spilled row, as JSON text.
fn batch_row_values(table: &Table, batch: &RecordBatch, row: usize) -> String {
    let mut out = serde_json::Map::new();
    let opts = FormatOptions::default();
    for (pos, (_, col)) in table.lake_columns().enumerate() {
        if col.is_personal() {
            continue;
        }
        let arr = batch.column(pos);
        if arr.is_null(row) {
            continue;
        }
        if let Ok(f) = ArrayFormatter::try_new(arr.as_ref(), &opts) {
            out.insert(
                col.name.to_string(),
                serde_json::Value::String(truncate(&f.value(row).to_string(), QUARANTINE_VALUE_CHARS)),
            );
        }
    }
    serde_json::Value::Object(out).to_string()
}

pub fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
