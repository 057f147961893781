//! Encoding generated tables into delivery files: gzip with a fixed header
//! (optionally several members), CSV in the night's style, JSON Lines, `_DONE`.
//!
//! Never writes anything that depends on the machine or the clock: the gzip
//! header has mtime 0, no file name and OS byte 255.

use flate2::{Compression, GzBuilder, write::GzEncoder};
use sha2::{Digest, Sha256};
use std::io::{self, Write};

use super::error::DemoError;
use super::time::{TsStyle, write_date, write_month, write_ts};

fn member(level: Compression) -> GzEncoder<Vec<u8>> {
    member_with(level, 0)
}

/// A member whose output buffer starts at `capacity` bytes: sized once from
/// the previous night's file instead of doubling, which keeps the process's
/// heap from fragmenting over hundreds of nights.
fn member_with(level: Compression, capacity: usize) -> GzEncoder<Vec<u8>> {
    GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::with_capacity(capacity), level)
}

/// Bytes of an empty gzip member.
fn empty_member(level: Compression) -> io::Result<Vec<u8>> {
    member(level).finish()
}

/// The compressing end of a gzip file: one member, or several when
/// `split_after` is set.
struct Members {
    level: Compression,
    done: Vec<u8>,
    enc: GzEncoder<Vec<u8>>,
    written: u64,
    /// Start a new member (after an empty one) once this many bytes were written.
    split_after: Option<u64>,
    split_done: bool,
}

impl Members {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<()> {
        if let (Some(at), false) = (self.split_after, self.split_done) {
            if self.written + buf.len() as u64 >= at {
                let first = (at - self.written.min(at)) as usize;
                self.enc.write_all(&buf[..first])?;
                self.written += first as u64;
                buf = &buf[first..];
                self.cut()?;
            }
        }
        self.enc.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(())
    }

    /// Finish the current member, append an empty member, start a new one.
    fn cut(&mut self) -> io::Result<()> {
        let old = std::mem::replace(&mut self.enc, member(self.level));
        self.done.extend_from_slice(&old.finish()?);
        self.done.extend_from_slice(&empty_member(self.level)?);
        self.split_done = true;
        Ok(())
    }

    fn finish(mut self) -> io::Result<Vec<u8>> {
        if self.split_after.is_some() && !self.split_done {
            // Too short to split: still deliver several members.
            self.cut()?;
        }
        let mut out = self.done;
        out.extend_from_slice(&self.enc.finish()?);
        Ok(out)
    }
}

/// A gzip file being written.
pub(crate) struct GzOut {
    members: Members,
    /// Hold back the last bytes so that a final line break can be dropped.
    hold_tail: bool,
    tail: Vec<u8>,
    /// Input gathered into large chunks: deflate is much faster fed that way.
    chunk: Vec<u8>,
}

const CHUNK: usize = 1 << 16;

impl GzOut {
    pub(crate) fn new(level: Compression, multi_member: bool, omit_final_newline: bool, capacity: usize) -> Self {
        let members = Members {
            level,
            done: Vec::new(),
            enc: member_with(level, capacity),
            written: 0,
            split_after: multi_member.then_some(777),
            split_done: false,
        };
        GzOut {
            members,
            hold_tail: omit_final_newline,
            tail: Vec::new(),
            chunk: Vec::with_capacity(CHUNK),
        }
    }

    fn buffered(&mut self, buf: &[u8]) -> io::Result<()> {
        self.chunk.extend_from_slice(buf);
        if self.chunk.len() >= CHUNK {
            self.members.write(&self.chunk)?;
            self.chunk.clear();
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<Vec<u8>> {
        if self.hold_tail {
            let mut tail = std::mem::take(&mut self.tail);
            if tail.ends_with(b"\r\n") {
                tail.truncate(tail.len() - 2);
            } else if tail.ends_with(b"\n") {
                tail.truncate(tail.len() - 1);
            }
            self.chunk.extend_from_slice(&tail);
        }
        self.members.write(&self.chunk)?;
        self.members.finish()
    }
}

impl Write for GzOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.hold_tail {
            self.tail.extend_from_slice(buf);
            if self.tail.len() > 2 {
                let keep = self.tail.split_off(self.tail.len() - 2);
                let out = std::mem::replace(&mut self.tail, keep);
                self.buffered(&out)?;
            }
        } else {
            self.buffered(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What a cell holds: decides how CSV and JSON write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Text,
    /// A JSON number or boolean: written without quotes in JSON.
    Raw,
}

/// One record being filled, in the contract's column order.
pub(crate) struct Rec {
    pub kinds: Vec<Kind>,
    pub texts: Vec<String>,
}

impl Rec {
    pub(crate) fn new(columns: usize) -> Self {
        Rec {
            kinds: vec![Kind::Null; columns],
            texts: vec![String::new(); columns],
        }
    }
    pub(crate) fn clear(&mut self) {
        for (k, t) in self.kinds.iter_mut().zip(self.texts.iter_mut()) {
            *k = Kind::Null;
            t.clear();
        }
    }
    pub(crate) fn null(&mut self, i: usize) {
        self.kinds[i] = Kind::Null;
        self.texts[i].clear();
    }
    pub(crate) fn text(&mut self, i: usize) -> &mut String {
        self.kinds[i] = Kind::Text;
        self.texts[i].clear();
        &mut self.texts[i]
    }
    pub(crate) fn str(&mut self, i: usize, s: &str) {
        self.text(i).push_str(s);
    }
    pub(crate) fn opt(&mut self, i: usize, s: Option<&str>) {
        match s {
            Some(s) => self.str(i, s),
            None => self.null(i),
        }
    }
    pub(crate) fn int(&mut self, i: usize, v: u64) {
        use std::fmt::Write as _;
        self.kinds[i] = Kind::Raw;
        self.texts[i].clear();
        let _ = write!(self.texts[i], "{v}");
    }
    pub(crate) fn opt_int(&mut self, i: usize, v: Option<u64>) {
        match v {
            Some(v) => self.int(i, v),
            None => self.null(i),
        }
    }
    pub(crate) fn bool(&mut self, i: usize, v: bool) {
        self.kinds[i] = Kind::Raw;
        self.texts[i].clear();
        self.texts[i].push_str(if v { "true" } else { "false" });
    }
    pub(crate) fn ts(&mut self, i: usize, ms: i64, style: TsStyle) {
        write_ts(self.text(i), ms, style);
    }
    pub(crate) fn date(&mut self, i: usize, day: i64) {
        write_date(self.text(i), day);
    }
    pub(crate) fn month(&mut self, i: usize, month: i64) {
        write_month(self.text(i), month);
    }
    /// Preformatted JSON (an array).
    pub(crate) fn raw(&mut self, i: usize, json: &str) {
        self.kinds[i] = Kind::Raw;
        self.texts[i].clear();
        self.texts[i].push_str(json);
    }
}

/// How a CSV file of one night is written (all valid per the contract).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CsvStyle {
    pub bom: bool,
    pub crlf: bool,
    /// Write the columns in a different order than the contract lists them.
    pub reorder: bool,
    pub all_quoted: bool,
    pub blank_line_before_header: bool,
    pub no_final_newline: bool,
    pub multi_member: bool,
}

/// A CSV table file being written.
pub(crate) struct CsvFile {
    path: String,
    w: csv::Writer<GzOut>,
    order: Vec<usize>,
    rows: u64,
}

impl CsvFile {
    pub(crate) fn new(path: String, columns: &[&str], style: CsvStyle, level: Compression, capacity: usize) -> Result<Self, DemoError> {
        let mut out = GzOut::new(level, style.multi_member, style.no_final_newline, capacity);
        let io_err = |e| DemoError::Compress {
            path: path.clone(),
            source: e,
        };
        if style.bom {
            out.write_all("\u{feff}".as_bytes()).map_err(io_err)?;
        } else if style.blank_line_before_header {
            out.write_all(if style.crlf { b"\r\n" } else { b"\n" }).map_err(io_err)?;
        }
        let mut order: Vec<usize> = (0..columns.len()).collect();
        if style.reorder {
            order.reverse();
            order.rotate_left(columns.len() / 3);
        }
        let w = csv::WriterBuilder::new()
            .terminator(if style.crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .quote_style(if style.all_quoted {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .from_writer(out);
        let mut f = CsvFile { path, w, order, rows: 0 };
        let header: Vec<&str> = f.order.iter().map(|&i| columns[i]).collect();
        f.w.write_record(&header).map_err(|e| DemoError::Csv {
            path: f.path.clone(),
            source: e,
        })?;
        Ok(f)
    }

    pub(crate) fn write(&mut self, rec: &Rec) -> Result<(), DemoError> {
        let fields = self.order.iter().map(|&i| rec.texts[i].as_bytes());
        self.w.write_record(fields).map_err(|e| DemoError::Csv {
            path: self.path.clone(),
            source: e,
        })?;
        self.rows += 1;
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<(String, Vec<u8>, u64), DemoError> {
        let path = self.path;
        let out = self.w.into_inner().map_err(|e| DemoError::Compress {
            path: path.clone(),
            source: e.into_error(),
        })?;
        let bytes = out.finish().map_err(|e| DemoError::Compress {
            path: path.clone(),
            source: e,
        })?;
        Ok((path, bytes, self.rows))
    }
}

/// How nulls are written in a JSON line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NullForm {
    Explicit,
    Absent,
}

/// A JSON Lines table file being written.
pub(crate) struct JsonlFile {
    path: String,
    out: GzOut,
    keys: Vec<&'static str>,
    order: Vec<usize>,
    line: Vec<u8>,
    rows: u64,
}

impl JsonlFile {
    pub(crate) fn new(path: String, keys: &[&'static str], reorder: bool, multi_member: bool, level: Compression, capacity: usize) -> Self {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        if reorder {
            order.reverse();
        }
        JsonlFile {
            path,
            out: GzOut::new(level, multi_member, false, capacity),
            keys: keys.to_vec(),
            order,
            line: Vec::new(),
            rows: 0,
        }
    }

    pub(crate) fn write(&mut self, rec: &Rec, nulls: NullForm) -> Result<(), DemoError> {
        self.line.clear();
        self.line.push(b'{');
        let mut first = true;
        for &i in &self.order {
            if rec.kinds[i] == Kind::Null && nulls == NullForm::Absent {
                continue;
            }
            if !first {
                self.line.push(b',');
            }
            first = false;
            self.line.push(b'"');
            self.line.extend_from_slice(self.keys[i].as_bytes());
            self.line.extend_from_slice(b"\":");
            match rec.kinds[i] {
                Kind::Null => self.line.extend_from_slice(b"null"),
                Kind::Raw => self.line.extend_from_slice(rec.texts[i].as_bytes()),
                Kind::Text => serde_json::to_writer(&mut self.line, rec.texts[i].as_str()).map_err(|e| DemoError::Compress {
                    path: self.path.clone(),
                    source: io::Error::other(e),
                })?,
            }
        }
        self.line.extend_from_slice(b"}\n");
        self.out.write_all(&self.line).map_err(|e| DemoError::Compress {
            path: self.path.clone(),
            source: e,
        })?;
        self.rows += 1;
        Ok(())
    }

    /// A blank line (spaces, a tab and `\r`): skipped by readers, not a row.
    pub(crate) fn blank_line(&mut self) -> Result<(), DemoError> {
        self.out.write_all(b" \t \r\n").map_err(|e| DemoError::Compress {
            path: self.path.clone(),
            source: e,
        })
    }

    pub(crate) fn finish(self) -> Result<(String, Vec<u8>, u64), DemoError> {
        let bytes = self.out.finish().map_err(|e| DemoError::Compress {
            path: self.path.clone(),
            source: e,
        })?;
        Ok((self.path, bytes, self.rows))
    }
}

/// Lowercase hex SHA-256 of a file's bytes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Body of a `_DONE` listing checksums (coreutils `sha256sum` format);
/// `binary[i]` writes the line in binary mode (`*name`).
pub(crate) fn done_with_checksums(entries: &[(&str, String)], binary: &[bool]) -> Vec<u8> {
    let mut s = String::new();
    for (i, (name, sum)) in entries.iter().enumerate() {
        s.push_str(sum);
        s.push_str(if binary.get(i).copied().unwrap_or(false) { " *" } else { "  " });
        s.push_str(name);
        s.push('\n');
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::MultiGzDecoder;
    use std::io::Read;

    fn gunzip(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let r = MultiGzDecoder::new(b).read_to_end(&mut out);
        assert!(r.is_ok());
        out
    }

    #[test]
    fn multi_member_and_dropped_final_newline_round_trip() -> Result<(), DemoError> {
        let style = CsvStyle {
            multi_member: true,
            no_final_newline: true,
            crlf: true,
            ..CsvStyle::default()
        };
        let mut f = CsvFile::new("t.csv.gz".into(), &["a", "b"], style, Compression::fast(), 0)?;
        let mut rec = Rec::new(2);
        for i in 0..200 {
            rec.clear();
            rec.str(0, "x, \"y\"\nz");
            rec.int(1, i);
            f.write(&rec)?;
        }
        let (_, bytes, rows) = f.finish()?;
        assert_eq!(rows, 200);
        // At least three members: first part, the empty one, the rest.
        let members = bytes.windows(3).filter(|w| w == &[0x1f, 0x8b, 8]).count();
        assert!(members >= 3, "members: {members}");
        let text = gunzip(&bytes);
        assert!(text.starts_with(b"a,b\r\n"));
        assert!(text.ends_with(b",199"));
        Ok(())
    }

    #[test]
    fn gzip_header_is_fixed() -> Result<(), DemoError> {
        let f = JsonlFile::new("x.jsonl.gz".into(), &["k"], false, false, Compression::fast(), 0);
        let (_, bytes, _) = f.finish()?;
        assert_eq!(&bytes[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
        Ok(())
    }
}
