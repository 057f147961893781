//! Snapshot states kept in the work folder between runs.
//!
//! A run recognises the unchanged rows of a snapshot file against the state
//! of its base delivery (see [`super::file`]); the fingerprints that make
//! that possible are not in the lake. So that a nightly run (one night per
//! run) recognises them too, each run leaves the last state of every
//! snapshot table in `<work_dir>/state/<table>.state`, and the next run takes
//! it instead of replaying the table's change files from the lake — only
//! when it describes exactly the delivery the ledger names as the base, in
//! this lake, made by this program with this pseudonymisation key and
//! contract. Anything else (no file, another base, a damaged file, another
//! version) and the state is rebuilt from the lake as before, without
//! fingerprints: that night's rows are all validated again.
//!
//! The file holds keys, row hashes and keyed fingerprints: no personal data
//! (keys are company and employer numbers; the fingerprints cannot be
//! reversed without the key). It ends with its own SHA-256.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::file::{RowState, SnapshotState};
use crate::contract::Table;
use crate::lake::ledger::LedgerEntry;
use crate::storage::Location;

const MAGIC: &[u8; 16] = b"wasnaker state 1";

/// Where the states live, and what a state must have been made by to be used.
#[derive(Debug, Clone)]
pub struct StateCache {
    dir: PathBuf,
    lake: String,
    key_id: String,
}

impl StateCache {
    pub fn new(work_dir: &Path, lake: &Location, key_id: &str) -> Self {
        StateCache {
            dir: work_dir.join("state"),
            lake: lake.url().to_string(),
            key_id: key_id.to_string(),
        }
    }

    fn path(&self, table: &Table) -> PathBuf {
        self.dir.join(format!("{}.state", table.name))
    }

    /// What a state as of `entry` is: everything it depends on.
    pub fn identity(&self, table: &Table, entry: &LedgerEntry) -> String {
        let file = entry.file(table.name);
        format!(
            "lake={}\ntable={}\nnight={} v{}\ndone={}\nfile={} rows={}\nkey={}\nprogram={}\ncontract={}\n",
            self.lake,
            table.name,
            entry.night,
            entry.version,
            entry.done_sha256,
            file.map_or("", |f| f.sha256.as_str()),
            file.map_or(0, |f| f.rows_read),
            self.key_id,
            env!("CARGO_PKG_VERSION"),
            hex::encode(Sha256::digest(format!("{table:?}").as_bytes())),
        )
    }

    /// The state with this identity, if the folder holds it intact.
    pub fn load(&self, table: &Table, identity: &str) -> Option<SnapshotState> {
        let path = self.path(table);
        let mut bytes = Vec::new();
        std::fs::File::open(&path).ok()?.read_to_end(&mut bytes).ok()?;
        match decode(&bytes, identity) {
            Ok(state) => Some(state),
            Err(why) => {
                tracing::info!(file = %path.display(), why, "snapshot state in the work folder not used; rebuilt from the lake");
                None
            }
        }
    }

    /// Keep `state` (with this identity) for the next run: written to a
    /// temporary file, then renamed over the previous one.
    pub fn store(&self, table: &Table, identity: &str, state: &SnapshotState) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        {
            let mut w = HashingWriter {
                inner: BufWriter::with_capacity(1 << 20, tmp.as_file()),
                sha: Sha256::new(),
            };
            w.write_all(MAGIC)?;
            w.write_all(&(identity.len() as u64).to_le_bytes())?;
            w.write_all(identity.as_bytes())?;
            w.write_all(&(state.len() as u64).to_le_bytes())?;
            for (key, row) in state {
                w.write_all(&(key.as_bytes().len() as u32).to_le_bytes())?;
                w.write_all(key.as_bytes())?;
                w.write_all(&row.hash)?;
                match &row.fp {
                    Some(fp) => {
                        w.write_all(&[1])?;
                        w.write_all(fp)?;
                    }
                    None => w.write_all(&[0])?,
                }
            }
            let sum = std::mem::take(&mut w.sha).finalize();
            w.inner.write_all(&sum)?;
            w.inner.flush()?;
        }
        // Not synced: after a crash a torn file fails its checksum and is not used.
        tmp.persist(self.path(table)).map_err(|e| e.error)?;
        Ok(())
    }
}

struct HashingWriter<W: Write> {
    inner: W,
    sha: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Reads the fields of a state file in order; `None` past its end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn array16(&mut self) -> Option<[u8; 16]> {
        self.take(16)?.try_into().ok()
    }
}

fn decode(bytes: &[u8], identity: &str) -> Result<SnapshotState, &'static str> {
    let Some(body_len) = bytes.len().checked_sub(32) else {
        return Err("too short");
    };
    let (body, sum) = bytes.split_at(body_len);
    if Sha256::digest(body).as_slice() != sum {
        return Err("damaged (its checksum does not match)");
    }
    let mut c = Cursor(body);
    if c.take(MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err("not a state file of this format");
    }
    let id_len = c.u64().ok_or("truncated")? as usize;
    if c.take(id_len) != Some(identity.as_bytes()) {
        return Err("describes another base delivery, lake, key or program");
    }
    let n = c.u64().ok_or("truncated")? as usize;
    let mut state = SnapshotState::with_capacity_and_hasher(n.min(body.len() / 34), Default::default());
    for _ in 0..n {
        let key_len = c.u32().ok_or("truncated")? as usize;
        let key = std::str::from_utf8(c.take(key_len).ok_or("truncated")?).map_err(|_| "a key is not UTF-8")?;
        let hash = c.array16().ok_or("truncated")?;
        let fp = match c.take(1).ok_or("truncated")? {
            [0] => None,
            [1] => Some(c.array16().ok_or("truncated")?),
            _ => return Err("malformed"),
        };
        state.insert(key.into(), RowState::new(hash, fp));
    }
    if !c.0.is_empty() {
        return Err("malformed (bytes after the last entry)");
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SnapshotState {
        let mut s = SnapshotState::default();
        s.insert("CMP-0000001".into(), RowState::new([1; 16], Some([2; 16])));
        s.insert("CMP-0000002".into(), RowState::new([3; 16], None));
        s
    }

    fn same(a: &SnapshotState, b: &SnapshotState) -> bool {
        a.len() == b.len() && (a.iter()).all(|(k, r)| b.get(k.as_bytes()).is_some_and(|o| o.hash == r.hash && o.fp == r.fp))
    }

    #[test]
    fn a_state_comes_back_only_intact_and_with_its_identity() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Location::parse(dir.path().join("lake").to_str().unwrap()).unwrap();
        let cache = StateCache::new(dir.path(), &lake, "k1");
        let table = crate::contract::table("companies").unwrap();
        cache.store(table, "id-1", &state()).unwrap();
        assert!(same(&cache.load(table, "id-1").unwrap(), &state()));
        assert!(cache.load(table, "id-2").is_none(), "another base");
        let path = cache.path(table);
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(cache.load(table, "id-1").is_none(), "damaged");
        std::fs::write(&path, &bytes[..10]).unwrap();
        assert!(cache.load(table, "id-1").is_none(), "truncated");
        // Storing again replaces the damaged file.
        cache.store(table, "id-1", &state()).unwrap();
        assert!(same(&cache.load(table, "id-1").unwrap(), &state()));
    }
}
