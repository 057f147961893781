//! The snapshot state the ingest keeps per snapshot table: each entity's
//! key, row hash and record fingerprint, as of one delivery; the marks a
//! file being read leaves on its base; and how a file changes it.

use std::sync::atomic::{AtomicU8, Ordering};

/// Snapshot state: key → row of every entity of the base snapshot, in the
/// order the entities came in the file it was made of (then new keys at
/// the end, and a removed key's place taken by the last key): a file that
/// lists its keys in the same order as the night before reads the state
/// in order (see [`super::rows::Recognise::look_up`]).
/// The per-row key maps use foldhash, randomly seeded per map (SipHash was a
/// tenth of the ingest's time; keys come from deliveries, so the seed stays
/// random).
/// Looked up by the key's bytes (`state.get(key.as_bytes())`).
pub type SnapshotState = indexmap::IndexMap<Key, RowState, foldhash::fast::RandomState>;
pub type KeySet = foldhash::HashSet<String>;

/// An entity's key in a [`SnapshotState`]: up to 22 bytes (every key of the
/// contract's snapshots) are kept in the map's own entry, so a look-up does
/// not follow a pointer to compare them (at national scale the snapshot maps
/// hold millions of keys, and every record of a night looks one up).
#[derive(Debug, Clone)]
pub struct Key(KeyRepr);

#[derive(Debug, Clone)]
enum KeyRepr {
    Inline { len: u8, bytes: [u8; 22] },
    Heap(Box<str>),
}

impl Key {
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            KeyRepr::Inline { len, bytes } => &bytes[..*len as usize],
            KeyRepr::Heap(s) => s.as_bytes(),
        }
    }

    /// The key as text (made from a `&str`, so valid UTF-8).
    pub fn to_text(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        if s.len() <= 22 {
            let mut bytes = [0u8; 22];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Key(KeyRepr::Inline { len: s.len() as u8, bytes })
        } else {
            Key(KeyRepr::Heap(s.into()))
        }
    }
}

impl std::borrow::Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::hash::Hash for Key {
    /// As its bytes hash, so that a map of keys is looked up by bytes.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// Byte order: the order of the keys as strings.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// How a file changes its base snapshot: rows entered (new or changed row,
/// or a new fingerprint) and keys that left. An entity keeps its base row
/// when it was recognised, had only bad rows (held back) or duplicated rows.
#[derive(Debug, Default)]
pub struct StateChanges {
    pub upserts: Vec<(Key, RowState)>,
    pub removed: Vec<Key>,
}

impl StateChanges {
    /// Turn the base (in place) into the new snapshot.
    pub fn apply(self, state: &mut SnapshotState) {
        for k in &self.removed {
            state.swap_remove(k.as_bytes());
        }
        for (k, row) in self.upserts {
            state.insert(k, row);
        }
    }
}

/// An entity's row in a snapshot.
#[derive(Debug)]
pub struct RowState {
    /// The row hash stored in the lake.
    pub hash: [u8; 16],
    /// The keyed fingerprint of the record it was made of (see
    /// [`super::rows::Recognise`]); `None` when the state was rebuilt from the lake, or
    /// the record may not be recognised.
    pub fp: Option<[u8; 16]>,
    /// While the base of a file: how the file met the entity so far (a
    /// [`Met`]), set from any thread reading the file.
    met: AtomicU8,
}

/// How a file being read met an entity of its base snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Met {
    Not = 0,
    /// A record recognised as its unchanged row.
    Recognised = 1,
    /// A valid row made of a record.
    Made = 2,
}

impl RowState {
    pub fn new(hash: [u8; 16], fp: Option<[u8; 16]>) -> Self {
        RowState {
            hash,
            fp,
            met: AtomicU8::new(Met::Not as u8),
        }
    }

    /// Record that the file met the entity `how`; how it had met it before.
    pub fn meet(&self, how: Met) -> Met {
        match self.met.swap(how as u8, Ordering::Relaxed) {
            0 => Met::Not,
            1 => Met::Recognised,
            _ => Met::Made,
        }
    }

    /// Forget how earlier readings met the entity.
    pub(super) fn reset(&self) {
        self.met.store(Met::Not as u8, Ordering::Relaxed);
    }

    pub(super) fn met(&self) -> bool {
        self.met.load(Ordering::Relaxed) != Met::Not as u8
    }
}

impl Clone for RowState {
    /// A copy not met by any file.
    fn clone(&self) -> Self {
        RowState::new(self.hash, self.fp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_short_and_long_are_found_by_their_bytes_and_sort_as_text() {
        let long = "K".repeat(23);
        let mut state = SnapshotState::default();
        for k in ["CMP-0000002", "", "CMP-0000001", long.as_str(), "CMP-0000001\u{1f}X"] {
            state.insert(Key::from(k), RowState::new([k.len() as u8; 16], None));
        }
        for k in ["CMP-0000002", "", "CMP-0000001", long.as_str(), "CMP-0000001\u{1f}X"] {
            assert_eq!(state.get(k.as_bytes()).map(|r| r.hash[0]), Some(k.len() as u8), "{k:?}");
            assert_eq!(Key::from(k).to_text(), k);
        }
        assert!(state.get("CMP-000000".as_bytes()).is_none());
        assert!(state.get(&long.as_bytes()[..22]).is_none());
        let mut keys: Vec<&Key> = state.keys().collect();
        keys.sort();
        let text: Vec<String> = keys.iter().map(|k| k.to_text()).collect();
        let mut expected = text.clone();
        expected.sort();
        assert_eq!(text, expected);
        assert!(matches!(Key::from(long.as_str()).0, KeyRepr::Heap(_)));
        assert!(matches!(Key::from("CMP-0000001").0, KeyRepr::Inline { .. }));
    }
}
