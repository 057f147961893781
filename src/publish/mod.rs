//! Publish: turn a month's query results into a signed, self-checking bundle
//! and put it under `<publish root>/<YYYY-MM>/` (`report.md`, "The bundle").
//!
//! [`build`] lays out the bundle in memory: `report.html` (one self-contained
//! page in Bahasa Indonesia, charts as inline SVG), `report.xlsx` (one sheet
//! per table), the given `data/<table>.csv` and `data/<table>.parquet`,
//! `dictionary.csv` (the data dictionary), `manifest.json`, `SHA256SUMS` and,
//! with a [`Signer`], `SHA256SUMS.sig`.
//! The same [`BundleInput`] always gives byte-identical files: no clock, no
//! random ids, no hash-map order anywhere. [`publish`] then makes the bundle
//! visible all at once and regenerates the root's `index.html`.
//!
//! Publish **never computes a figure**: every number comes from the query
//! results (the lead's report orchestrator fills [`BundleInput`]). What it
//! derives is presentation only — Indonesian number formats, the change of a
//! headline figure against the previous month of the trend, a map tile's
//! colour class. It never writes to the lake and never reads the landing.
//!
//! ```no_run
//! # async fn f(input: wasnaker::publish::BundleInput, root: wasnaker::storage::Location) -> Result<(), wasnaker::publish::PublishError> {
//! use wasnaker::publish::{build, publish, Signer};
//! let signer = Signer::from_openssh_file(std::path::Path::new("/etc/wasnaker/signing_key"))?;
//! let bundle = build(&input, Some(&signer))?;
//! publish(&root, &bundle).await?;
//! # Ok(()) }
//! ```

pub mod charts;
pub mod format;
pub mod html;
pub mod index;
pub mod manifest;
pub mod sign;
pub mod store;
pub mod xlsx;

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;

use crate::clock::Month;
use crate::lake::context::ExtractUse;

pub use manifest::{MANIFEST, SIG, SUMS};

/// The data dictionary of the bundle: every lake table and published table,
/// one row per column (`crate::query::dictionary::Dictionary::to_csv`).
pub const DICTIONARY: &str = "dictionary.csv";
pub use sign::Signer;
pub use store::publish;

/// One published table: its query, its result and its files.
#[derive(Debug, Clone)]
pub struct ReportTable {
    /// File and sheet name, e.g. `followup_by_province`.
    pub name: String,
    pub title_id: String,
    pub title_en: String,
    /// The methodology paragraph(s) (blank line between paragraphs).
    pub description: String,
    /// e.g. `queries/followup_by_province.sql`.
    pub query_file: String,
    pub sql: String,
    pub sql_sha256: String,
    pub batches: Vec<RecordBatch>,
    /// `data/<name>.csv`, already formatted per `report.md`.
    pub csv: Vec<u8>,
    /// `data/<name>.parquet`, written reproducibly.
    pub parquet: Vec<u8>,
}

/// A helper view the report tables read (`-- kind: view`): not published as
/// a table, but its SQL goes into the manifest so the bundle can be
/// recomputed from the manifest alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySource {
    /// The view name, e.g. `complaint_state`.
    pub name: String,
    /// e.g. `queries/complaint_state.sql`.
    pub query_file: String,
    /// The whole file text, header included.
    pub sql: String,
    pub sql_sha256: String,
}

/// One month of the national 12-month trend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint {
    pub month: Month,
    pub received: i64,
    pub followed_up_in_month: i64,
    pub open_at_end: i64,
    pub open_not_followed_up: i64,
    /// Machine format, e.g. `12.5`; `None` when empty.
    pub median_days_to_follow_up: Option<String>,
    /// Machine format, e.g. `87.5`; `None` when empty.
    pub sla_met_pct: Option<String>,
}

/// Everything a bundle is made of.
#[derive(Debug, Clone)]
pub struct BundleInput {
    pub month: Month,
    pub as_of: NaiveDate,
    pub program_version: String,
    pub params: BTreeMap<String, serde_json::Value>,
    pub extracts: Vec<ExtractUse>,
    /// Snapshot table → night of the snapshot used.
    pub snapshots: Vec<(String, NaiveDate)>,
    /// Visible warnings (e.g. a stale snapshot that was allowed).
    pub warnings: Vec<String>,
    /// In publication order.
    pub tables: Vec<ReportTable>,
    /// The helper views the tables read, in execution order.
    pub views: Vec<QuerySource>,
    /// 12 months ending at `month`, oldest first.
    pub trend: Vec<TrendPoint>,
    /// The data dictionary (lake tables, then the published tables):
    /// `dictionary.csv`, the "Kamus data" section, and each table's sources
    /// in the methodology.
    pub dictionary: crate::query::dictionary::Dictionary,
}

/// A built bundle: relative path → bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub month: Month,
    pub files: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The input cannot make a bundle (a bug in the caller, or a bad table name).
    #[error("cannot build the bundle: {message}")]
    Input { message: String },
    #[error("drawing the {chart} chart: {source}")]
    Chart {
        chart: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("writing report.xlsx ({what}): {source}")]
    Xlsx {
        what: &'static str,
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
    #[error("writing {DICTIONARY}: {source}")]
    Dictionary {
        #[source]
        source: crate::query::QueryError,
    },
    #[error("writing manifest.json: {source}")]
    Json {
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read the signing key {path}: {source}")]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("signing key {path}: {source} (expected an OpenSSH ed25519 private key, e.g. from `ssh-keygen -t ed25519 -N '' -f key`)")]
    Key {
        path: PathBuf,
        #[source]
        source: ssh_key::Error,
    },
    #[error(
        "signing key {path} is encrypted; the publisher runs unattended, so give it an unencrypted copy (`ssh-keygen -p -N '' -f copy`) readable only by the service user"
    )]
    KeyEncrypted { path: PathBuf },
    #[error("signing key {path} is {algorithm}; only ssh-ed25519 keys are supported")]
    KeyAlgorithm { path: PathBuf, algorithm: String },
    #[error("signing SHA256SUMS: {source}")]
    Sign {
        #[source]
        source: ssh_key::Error,
    },
    #[error("publishing to {url}: {source}")]
    Storage {
        url: String,
        #[source]
        source: Box<crate::storage::StorageError>,
    },
    #[error("{op} {path}: {source}")]
    Local {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A table name usable as a file name (`data/<name>.csv`) and sheet name.
fn valid_table_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.starts_with('_')
}

/// Lay out a month's bundle in memory.
pub fn build(input: &BundleInput, signer: Option<&Signer>) -> Result<Bundle, PublishError> {
    let mut names = std::collections::BTreeSet::new();
    for t in &input.tables {
        if !valid_table_name(&t.name) {
            return Err(PublishError::Input {
                message: format!("table name {:?} is not a file name: use lower-case letters, digits and `_`", t.name),
            });
        }
        if !names.insert(t.name.as_str()) {
            return Err(PublishError::Input {
                message: format!("table {:?} appears twice", t.name),
            });
        }
    }
    let grids: Vec<format::Grid> = input.tables.iter().map(|t| format::Grid::from_batches(&t.batches)).collect();

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    for (t, grid) in input.tables.iter().zip(&grids) {
        for (ext, bytes) in [("csv", &t.csv), ("parquet", &t.parquet)] {
            let path = format!("data/{}.{ext}", t.name);
            rows.insert(path.clone(), grid.rows.len() as u64);
            files.insert(path, bytes.clone());
        }
    }
    let dictionary = input.dictionary.to_csv().map_err(|source| PublishError::Dictionary { source })?;
    files.insert(DICTIONARY.to_string(), dictionary);
    files.insert("report.html".to_string(), html::render(input, &grids)?.into_bytes());
    files.insert("report.xlsx".to_string(), xlsx::build(input, &grids)?);

    let signature = match signer {
        Some(s) => manifest::Signature {
            status: "signed",
            file: Some(SIG),
            format: Some("sshsig"),
            namespace: Some(sign::NAMESPACE),
            public_key: Some(s.public_key_openssh()),
            fingerprint: Some(s.fingerprint()),
        },
        None => manifest::Signature {
            status: "unsigned",
            file: None,
            format: None,
            namespace: None,
            public_key: None,
            fingerprint: None,
        },
    };
    let manifest_bytes = manifest::build(input, &files, &rows, signature)?;
    files.insert(MANIFEST.to_string(), manifest_bytes);
    let sums = manifest::sha256sums(&files);
    if let Some(s) = signer {
        files.insert(SIG.to_string(), s.sign(&sums)?.into_bytes());
    }
    files.insert(SUMS.to_string(), sums);
    Ok(Bundle { month: input.month, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_must_be_file_names() {
        assert!(valid_table_name("followup_by_province"));
        assert!(!valid_table_name("../x"));
        assert!(!valid_table_name("A"));
        assert!(!valid_table_name(""));
        assert!(!valid_table_name("_x"));
    }
}
