//! The ledger: one JSON entry per delivery of a night, written last.
//!
//! A night's data files are invisible until its ledger entry exists; the
//! entry is written with a create-only put, so two writers cannot both commit
//! the same version. Entries are never changed or deleted: a re-delivery is a
//! new version, a rejected delivery is recorded as such.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::contract::{Kind, System, Table};
use crate::storage::{Location, StorageError};

pub const LEDGER_FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Ingested,
    Rejected,
}

/// Why a delivery was rejected: file, record, line and column where known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub file: Option<String>,
    pub record: Option<u64>,
    pub line: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            if let Some(l) = self.line {
                write!(f, ", line {l}")?;
            }
            if let Some(r) = self.record {
                write!(f, ", record {r}")?;
            }
            if let Some(c) = &self.column {
                write!(f, ", column {c}")?;
            }
            write!(f, ": ")?;
        }
        f.write_str(&self.message)
    }
}

/// A (night, version) pointer: the base of a snapshot change file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NightRef {
    #[serde(with = "crate::clock::date_serde")]
    pub night: NaiveDate,
    pub version: u32,
}

/// One contract file of an ingested delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub table: String,
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    /// Data records read (blank lines are not records).
    pub rows_read: u64,
    /// Records that passed validation and reached the lake.
    pub rows_accepted: u64,
    /// Records set aside in quarantine with a reason.
    pub rows_quarantined: u64,
    /// Rows written to the lake file (for snapshots: changes against `base`).
    pub rows_stored: u64,
    /// Lake file, relative to the lake root (`None` when nothing changed).
    pub data: Option<String>,
    /// Quarantine file, relative to the lake root (`None` when empty).
    pub quarantine: Option<String>,
    /// Snapshots only: the delivery this file's changes apply to.
    pub base: Option<NightRef>,
    /// Accepted-with-warning conditions (extra columns, unknown keys).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub format: u32,
    pub system: System,
    #[serde(with = "crate::clock::date_serde")]
    pub night: NaiveDate,
    pub version: u32,
    pub status: DeliveryStatus,
    /// SHA-256 of the `_DONE` file: the identity of a delivery.
    pub done_sha256: String,
    pub done_lists_checksums: bool,
    pub program_version: String,
    pub pseudonym_key_id: Option<String>,
    pub rejection: Option<Rejection>,
    pub files: Vec<FileEntry>,
    /// Unknown extra files in the night folder (ignored with a warning).
    pub ignored_files: Vec<String>,
}

impl LedgerEntry {
    pub fn path(&self) -> String {
        entry_path(self.system, self.night, self.version)
    }

    pub fn file(&self, table: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.table == table)
    }

    pub fn night_ref(&self) -> NightRef {
        NightRef {
            night: self.night,
            version: self.version,
        }
    }
}

pub fn entry_path(system: System, night: NaiveDate, version: u32) -> String {
    format!("ledger/{system}/{night}/v{version:04}.json")
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("ledger entry {path} is unreadable: {source}")]
    Corrupt {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("ledger entry {path} was committed by another writer at the same time; run again")]
    Conflict { path: String },
    #[error("cannot encode ledger entry: {0}")]
    Encode(#[source] serde_json::Error),
}

/// All ledger entries, by (system, night), versions ascending.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    nights: BTreeMap<(System, NaiveDate), Vec<LedgerEntry>>,
}

impl Ledger {
    /// Read every entry of the lake's ledger.
    pub async fn load(lake: &Location) -> Result<Ledger, LedgerError> {
        let files = lake.list_all("ledger").await?;
        let entries: Vec<LedgerEntry> = futures::stream::iter(files.into_iter().filter(|(p, _)| p.ends_with(".json")))
            .map(|(path, _)| async move {
                let bytes = lake.get(&path).await?;
                serde_json::from_slice::<LedgerEntry>(&bytes).map_err(|source| LedgerError::Corrupt { path, source })
            })
            .buffer_unordered(16)
            .try_collect()
            .await?;
        let mut ledger = Ledger::default();
        for e in entries {
            ledger.insert(e);
        }
        Ok(ledger)
    }

    /// Commit an entry: create-only, so a concurrent commit of the same
    /// version fails instead of overwriting.
    pub async fn commit(&mut self, lake: &Location, entry: LedgerEntry) -> Result<(), LedgerError> {
        let mut bytes = serde_json::to_vec_pretty(&entry).map_err(LedgerError::Encode)?;
        bytes.push(b'\n');
        let path = entry.path();
        if !lake.put_new(&path, bytes).await? {
            return Err(LedgerError::Conflict { path });
        }
        self.insert(entry);
        Ok(())
    }

    fn insert(&mut self, e: LedgerEntry) {
        let v = self.nights.entry((e.system, e.night)).or_default();
        v.push(e);
        v.sort_by_key(|e| e.version);
    }

    pub fn entries(&self) -> impl Iterator<Item = &LedgerEntry> {
        self.nights.values().flatten()
    }

    /// Every delivery of a night, versions ascending.
    pub fn deliveries(&self, system: System, night: NaiveDate) -> &[LedgerEntry] {
        self.nights.get(&(system, night)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The delivery in use for a night: its latest ingested version.
    pub fn effective(&self, system: System, night: NaiveDate) -> Option<&LedgerEntry> {
        self.deliveries(system, night)
            .iter()
            .rev()
            .find(|e| e.status == DeliveryStatus::Ingested)
    }

    /// The delivery with this `_DONE`, if it was seen before.
    pub fn find_done(&self, system: System, night: NaiveDate, done_sha256: &str) -> Option<&LedgerEntry> {
        self.deliveries(system, night).iter().find(|e| e.done_sha256 == done_sha256)
    }

    pub fn next_version(&self, system: System, night: NaiveDate) -> u32 {
        self.deliveries(system, night).last().map_or(1, |e| e.version + 1)
    }

    /// Nights of a system with at least one delivery (ingested or rejected).
    pub fn nights(&self, system: System) -> impl Iterator<Item = NaiveDate> + '_ {
        self.nights.keys().filter(move |(s, _)| *s == system).map(|(_, n)| *n)
    }

    /// Effective deliveries of a system with night `<= as_of`, ascending.
    pub fn effective_nights(&self, system: System, as_of: NaiveDate) -> Vec<&LedgerEntry> {
        self.nights(system)
            .filter(|n| *n <= as_of)
            .filter_map(|n| self.effective(system, n))
            .collect()
    }

    /// The latest ingested extract date of either system.
    pub fn latest_night(&self) -> Option<NaiveDate> {
        System::ALL
            .iter()
            .flat_map(|s| self.nights(*s).filter(|n| self.effective(*s, *n).is_some()))
            .max()
    }

    /// For a snapshot table, the effective delivery of the greatest night
    /// before `night`: the base a new snapshot's changes are computed against.
    pub fn snapshot_base(&self, table: &Table, night: NaiveDate) -> Option<&LedgerEntry> {
        debug_assert_eq!(table.kind, Kind::Snapshot);
        self.nights(table.system)
            .filter(|n| *n < night)
            .filter_map(|n| self.effective(table.system, n))
            .last()
    }

    /// For a snapshot table, the change files that rebuild the snapshot of
    /// delivery `at`, oldest first: follow the `base` links back.
    pub fn snapshot_chain(&self, table: &Table, at: NightRef) -> Vec<String> {
        let mut files = Vec::new();
        let mut cursor = Some(at);
        while let Some(r) = cursor {
            let Some(entry) = self.deliveries(table.system, r.night).iter().find(|e| e.version == r.version) else {
                break;
            };
            let Some(f) = entry.file(table.name) else { break };
            if let Some(d) = &f.data {
                files.push(d.clone());
            }
            cursor = f.base;
        }
        files.reverse();
        files
    }
}
