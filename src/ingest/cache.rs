//! Snapshot states kept in the work folder between runs.
//!
//! A run recognises the unchanged rows of a snapshot file against the state
//! of its base delivery (see [`super::file`]); the fingerprints that make
//! that possible are not in the lake. So that a nightly run (one night per
//! run) recognises them too, each run leaves the last state of every
//! snapshot table in `<work_dir>/state/<table>-<lake>.state`, and the next
//! run takes it instead of replaying the table's change files from the lake
//! — only when it describes exactly the delivery the ledger names as the
//! base, with the same chain of earlier deliveries, in this lake, made by a
//! program with the same row-making code and contract, and the same
//! pseudonymisation key. Anything else (no file, another base or history, a
//! damaged or forged file, other code) and the state is rebuilt from the
//! lake as before, without fingerprints: that night's rows are all
//! validated again.
//!
//! The file holds keys, row hashes and keyed fingerprints: no personal data
//! (keys are company and employer numbers; the fingerprints cannot be
//! reversed without the key). It ends with an HMAC under the
//! pseudonymisation key, so a file made without the key is not used.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::pseudonym::Pseudonymiser;
use super::state::{Key, RowState, SnapshotState};
use crate::contract::Table;
use crate::lake::ledger::{Ledger, NightRef};
use crate::storage::Location;

const MAGIC: &[u8; 16] = b"wasnaker state 2";

/// The code that decides whether a record is valid and what row, row hash,
/// key and fingerprint it makes: a state made by other code is not used
/// (the program's version number does not change with every such change).
static CODE: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for source in [
        include_str!("validate.rs"),
        include_str!("rows.rs"),
        include_str!("jsonl.rs"),
        include_str!("file.rs"),
        include_str!("state.rs"),
        include_str!("pseudonym.rs"),
        include_str!("batch.rs"),
        include_str!("../contract/mod.rs"),
        include_str!("../contract/reference.rs"),
    ] {
        h.update((source.len() as u64).to_le_bytes());
        h.update(source.as_bytes());
    }
    hex::encode(h.finalize())
});

/// Where the states live, and what a state must have been made by to be used.
#[derive(Clone)]
pub struct StateCache {
    dir: PathBuf,
    lake: String,
    pseudonymiser: Arc<Pseudonymiser>,
}

impl StateCache {
    pub fn new(work_dir: &Path, lake: &Location, pseudonymiser: Arc<Pseudonymiser>) -> Self {
        StateCache {
            dir: work_dir.join("state"),
            lake: lake.url().to_string(),
            pseudonymiser,
        }
    }

    /// One file per table and lake (several lakes may share a work folder).
    fn path(&self, table: &Table) -> PathBuf {
        let lake = hex::encode(&Sha256::digest(self.lake.as_bytes())[..6]);
        self.dir.join(format!("{}-{lake}.state", table.name))
    }

    /// What the state of `table` as of delivery `at` depends on: the lake,
    /// every delivery of its chain (each file's checksum, counts, lake file
    /// and base), the key, and the code. `None` if the ledger lacks `at`.
    pub fn identity(&self, table: &Table, ledger: &Ledger, at: NightRef) -> Option<String> {
        let mut chain = Sha256::new();
        let mut cursor = Some(at);
        while let Some(r) = cursor {
            let entry = ledger.deliveries(table.system, r.night).iter().find(|e| e.version == r.version)?;
            let file = entry.file(table.name)?;
            let link = serde_json::to_string(&(entry.night, entry.version, &entry.done_sha256, file)).ok()?;
            chain.update((link.len() as u64).to_le_bytes());
            chain.update(link.as_bytes());
            cursor = file.base;
        }
        Some(format!(
            "lake={}\ntable={}\nat={} v{}\nchain={}\nkey={}\ncode={}\ncontract={}\n",
            self.lake,
            table.name,
            at.night,
            at.version,
            hex::encode(chain.finalize()),
            self.pseudonymiser.key_id(),
            *CODE,
            hex::encode(Sha256::digest(format!("{table:?}").as_bytes())),
        ))
    }

    /// The state with this identity, if the folder holds it intact.
    pub fn load(&self, table: &Table, identity: &str) -> Option<SnapshotState> {
        let path = self.path(table);
        let mut bytes = Vec::new();
        std::fs::File::open(&path).ok()?.read_to_end(&mut bytes).ok()?;
        match decode(&bytes, identity, self.pseudonymiser.state_mac()) {
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
        create_private_dir(&self.dir)?;
        let tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        {
            let mut w = HashingWriter {
                inner: BufWriter::with_capacity(1 << 20, tmp.as_file()),
                mac: self.pseudonymiser.state_mac(),
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
            let sum = w.mac.clone().finalize().into_bytes();
            w.inner.write_all(&sum)?;
            w.inner.flush()?;
        }
        // Not synced: after a crash a torn file fails its checksum and is not used.
        tmp.persist(self.path(table)).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The state folder, readable by its owner only (where the platform says so).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

struct HashingWriter<W: Write> {
    inner: W,
    mac: hmac::Hmac<Sha256>,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.mac.update(&buf[..n]);
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

fn decode(bytes: &[u8], identity: &str, mut mac: hmac::Hmac<Sha256>) -> Result<SnapshotState, &'static str> {
    let Some(body_len) = bytes.len().checked_sub(32) else {
        return Err("too short");
    };
    let (body, sum) = bytes.split_at(body_len);
    mac.update(body);
    if mac.verify_slice(sum).is_err() {
        return Err("damaged, or not made with this pseudonymisation key");
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
        state.insert(Key::from(key), RowState::new(hash, fp));
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
        let cache = StateCache::new(dir.path(), &lake, Arc::new(Pseudonymiser::new(&[7u8; 32])));
        let table = crate::contract::table("companies").unwrap();
        cache.store(table, "id-1", &state()).unwrap();
        assert!(same(&cache.load(table, "id-1").unwrap(), &state()));
        assert!(cache.load(table, "id-2").is_none(), "another base");
        // A file made with another key (or without one) is not used.
        let other = StateCache::new(dir.path(), &lake, Arc::new(Pseudonymiser::new(&[8u8; 32])));
        assert!(other.load(table, "id-1").is_none(), "another key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&cache.dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "state folder {mode:o}");
        }
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
