//! `manifest.json` (what went in and what came out) and `SHA256SUMS`.
//!
//! The manifest's key order is fixed by the structs below and it is
//! pretty-printed, so it is byte-stable. `outputs` lists every file of the
//! bundle except `manifest.json` itself (a file cannot hold its own hash),
//! `SHA256SUMS` and `SHA256SUMS.sig`; `SHA256SUMS` covers `manifest.json`.
//! `queries` holds every SQL file that ran — the report tables, then the
//! helper views they read — so `wasnaker verify --recompute` can rerun the
//! bundle from its manifest alone.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{BundleInput, PublishError};
use crate::lake::context::ExtractUse;

pub const MANIFEST: &str = "manifest.json";
pub const SUMS: &str = "SHA256SUMS";
pub const SIG: &str = "SHA256SUMS.sig";

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, Serialize)]
pub struct Manifest<'a> {
    pub month: String,
    pub as_of: String,
    pub program_version: &'a str,
    pub params: &'a BTreeMap<String, serde_json::Value>,
    pub snapshots: Vec<SnapshotUse<'a>>,
    pub extracts: &'a [ExtractUse],
    pub queries: Vec<QueryUse<'a>>,
    pub outputs: Vec<Output>,
    pub warnings: &'a [String],
    pub signature: Signature,
}

#[derive(Debug, Serialize)]
pub struct SnapshotUse<'a> {
    pub table: &'a str,
    pub night: String,
}

#[derive(Debug, Serialize)]
pub struct QueryUse<'a> {
    pub file: &'a str,
    pub table: &'a str,
    /// `report` (a published table) or `view` (a helper the reports read).
    pub kind: &'static str,
    pub sha256: &'a str,
    pub sql: &'a str,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// Whether and how `SHA256SUMS` is signed.
#[derive(Debug, Serialize)]
pub struct Signature {
    /// `signed` or `unsigned`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'static str>,
    /// The signing key's public half (`ssh-ed25519 AAAA… comment`). It lets
    /// anyone check the bundle is intact; whether the key is the ministry's
    /// is for an `allowed_signers` file obtained elsewhere to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Build `manifest.json` from the input and the files built so far
/// (`files` holds every output: HTML, XLSX, data files).
pub fn build(
    input: &BundleInput,
    files: &BTreeMap<String, Vec<u8>>,
    rows: &BTreeMap<String, u64>,
    signature: Signature,
) -> Result<Vec<u8>, PublishError> {
    let manifest = Manifest {
        month: input.month.to_string(),
        as_of: input.as_of.format("%Y-%m-%d").to_string(),
        program_version: &input.program_version,
        params: &input.params,
        snapshots: input
            .snapshots
            .iter()
            .map(|(t, d)| SnapshotUse {
                table: t,
                night: d.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        extracts: &input.extracts,
        queries: input
            .tables
            .iter()
            .map(|t| QueryUse {
                file: &t.query_file,
                table: &t.name,
                kind: "report",
                sha256: &t.sql_sha256,
                sql: &t.sql,
            })
            .chain(input.views.iter().map(|v| QueryUse {
                file: &v.query_file,
                table: &v.name,
                kind: "view",
                sha256: &v.sql_sha256,
                sql: &v.sql,
            }))
            .collect(),
        outputs: files
            .iter()
            .map(|(path, bytes)| Output {
                path: path.clone(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(bytes),
                rows: rows.get(path).copied(),
            })
            .collect(),
        warnings: &input.warnings,
        signature,
    };
    let mut out = serde_json::to_vec_pretty(&manifest).map_err(|source| PublishError::Json { source })?;
    out.push(b'\n');
    Ok(out)
}

/// `SHA256SUMS` in coreutils format: `<hex>  <path>`, sorted by path.
pub fn sha256sums(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut out = String::new();
    for (path, bytes) in files {
        if path == SUMS || path == SIG {
            continue;
        }
        out.push_str(&sha256_hex(bytes));
        out.push_str("  ");
        out.push_str(path);
        out.push('\n');
    }
    out.into_bytes()
}

/// Parse `SHA256SUMS` lines (`<hex>  <path>` or `<hex> *<path>`); the error
/// names the first bad line (1-based).
pub fn parse_sha256sums(text: &str) -> Result<Vec<(String, String)>, usize> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (hash, rest) = line.split_at_checked(64).ok_or(i + 1)?;
        let path = rest.strip_prefix("  ").or_else(|| rest.strip_prefix(" *")).ok_or(i + 1)?;
        if !hash.bytes().all(|b| b.is_ascii_hexdigit()) || path.is_empty() {
            return Err(i + 1);
        }
        out.push((hash.to_ascii_lowercase(), path.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_sorted_coreutils_lines_and_parse_back() {
        let mut files = BTreeMap::new();
        files.insert("b.txt".to_string(), b"b".to_vec());
        files.insert("a/x.csv".to_string(), b"".to_vec());
        files.insert(SUMS.to_string(), b"ignored".to_vec());
        let sums = String::from_utf8(sha256sums(&files)).unwrap();
        assert_eq!(
            sums,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a/x.csv\n\
             3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  b.txt\n"
        );
        let parsed = parse_sha256sums(&sums).unwrap();
        assert_eq!(parsed[1].1, "b.txt");
        assert_eq!(parse_sha256sums("zz  a\n"), Err(1));
    }
}
