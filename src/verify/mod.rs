//! Verify: check a published bundle offline, with no secret and no network.
//!
//! [`verify`] reads a bundle folder (any [`Location`]: a local folder, or the
//! month's prefix in an object store) and checks, naming the file for every
//! problem:
//! - every line of `SHA256SUMS` matches its file (a missing file is named);
//! - every file of the folder is listed in `SHA256SUMS` (an extra file is
//!   named), except `SHA256SUMS` and `SHA256SUMS.sig` themselves;
//! - `SHA256SUMS.sig` is a valid SSHSIG (namespace `file`) of `SHA256SUMS` by
//!   a key of the `allowed_signers` file (OpenSSH format:
//!   `<principals> [options] <keytype> <base64> [comment]`). Without an
//!   allowed_signers file, the signature is checked against the public key
//!   the bundle's own `manifest.json` names: that proves the bundle is intact
//!   and signed by that key, not that the key is the publisher's, and the
//!   report says so. An unsigned bundle is a problem only when an
//!   allowed_signers file was given (the caller expects a signature) or the
//!   manifest says it is signed;
//! - `manifest.json`'s `outputs` match the files (bytes and sha256), and
//!   every file but the manifest and the checksum files is among them.
//!
//! [`recompute`] (`wasnaker verify --recompute`) goes further: it re-derives
//! every table from the lake extracts the manifest lists, with the manifest's
//! SQL, parameters and `as_of`, and compares them with the bundle byte for
//! byte.
//!
//! It never needs the config's secrets (pseudonymisation key, signing key);
//! a recomputation needs the lake's location only.

pub mod allowed_signers;
pub mod recompute;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use ssh_key::{PublicKey, SshSig};

use crate::publish::manifest::{parse_sha256sums, sha256_hex};
use crate::publish::sign::NAMESPACE;
use crate::publish::{MANIFEST, SIG, SUMS};
use crate::storage::{Location, StorageError};

pub use allowed_signers::AllowedSigner;
pub use recompute::{recompute, recompute_on};

/// Errors that stop verification altogether (as opposed to problems found
/// in the bundle, which [`VerifyReport`] lists).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("reading the bundle: {0}")]
    Storage(#[from] StorageError),
    #[error("cannot read allowed_signers file {path}: {source}")]
    AllowedSignersFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("allowed_signers file {path}, line {line}: {message}")]
    AllowedSigners { path: PathBuf, line: usize, message: String },
    #[error("reading the lake's ledger: {0}")]
    Ledger(#[from] crate::lake::ledger::LedgerError),
    #[error("re-serialising a recomputed table: {0}")]
    Serialise(#[source] crate::query::QueryError),
}

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckKind {
    /// A line of `SHA256SUMS` against its file.
    Checksum,
    /// A file of the folder is listed in `SHA256SUMS`.
    Listed,
    /// `SHA256SUMS.sig`.
    Signature,
    /// `manifest.json` against the files.
    Manifest,
    /// An input extract the manifest lists, against the lake (`--recompute`).
    Input,
    /// A table recomputed from the lake, against the bundle (`--recompute`).
    Recompute,
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckKind::Checksum => "checksum",
            CheckKind::Listed => "listed",
            CheckKind::Signature => "signature",
            CheckKind::Manifest => "manifest",
            CheckKind::Input => "input",
            CheckKind::Recompute => "recompute",
        })
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    /// Not a failure, but worth saying (e.g. unsigned, key not independently trusted).
    Note,
}

/// One check of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Path relative to the bundle folder.
    pub file: String,
    pub kind: CheckKind,
    pub status: Status,
    pub detail: String,
}

/// Everything [`verify`] checked.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub bundle: String,
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// True only when no check failed.
    pub fn ok(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Failed)
    }

    pub fn problems(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Failed)
    }

    /// The names of the files with a failed check.
    pub fn problem_files(&self) -> BTreeSet<&str> {
        self.problems().map(|c| c.file.as_str()).collect()
    }

    fn push(&mut self, file: &str, kind: CheckKind, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            file: file.to_string(),
            kind,
            status,
            detail: detail.into(),
        });
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "bundle {}", self.bundle)?;
        for c in &self.checks {
            let mark = match c.status {
                Status::Passed => "ok  ",
                Status::Failed => "FAIL",
                Status::Note => "note",
            };
            writeln!(f, "{mark} {:<9} {}: {}", c.kind.to_string(), c.file, c.detail)?;
        }
        let n = self.problems().count();
        if n == 0 {
            write!(f, "bundle OK")
        } else {
            write!(f, "{n} problem(s)")
        }
    }
}

/// Check a bundle folder; `allowed_signers` is an OpenSSH allowed_signers file.
pub async fn verify(bundle: &Location, allowed_signers: Option<&Path>) -> Result<VerifyReport, VerifyError> {
    let mut report = VerifyReport {
        bundle: bundle.url().to_string(),
        checks: Vec::new(),
    };
    let trusted = match allowed_signers {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| VerifyError::AllowedSignersFile {
                path: path.to_path_buf(),
                source,
            })?;
            Some(
                allowed_signers::parse(&text).map_err(|(line, message)| VerifyError::AllowedSigners {
                    path: path.to_path_buf(),
                    line,
                    message,
                })?,
            )
        }
        None => None,
    };

    // The files of the folder, by relative path.
    let listing: BTreeMap<String, u64> = bundle.list_all("").await?.into_iter().collect();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for path in listing.keys() {
        contents.insert(path.clone(), bundle.get(path).await?.to_vec());
    }

    // SHA256SUMS against the files, and every file listed.
    let sums_text = contents.get(SUMS).map(|b| String::from_utf8_lossy(b).into_owned());
    match &sums_text {
        None => report.push(SUMS, CheckKind::Checksum, Status::Failed, "missing: the bundle has no SHA256SUMS"),
        Some(text) => match parse_sha256sums(text) {
            Err(line) => report.push(
                SUMS,
                CheckKind::Checksum,
                Status::Failed,
                format!("line {line} is not `<sha256>  <path>`"),
            ),
            Ok(lines) => {
                let mut listed = BTreeSet::new();
                for (hash, path) in &lines {
                    listed.insert(path.clone());
                    match contents.get(path) {
                        None => report.push(path, CheckKind::Checksum, Status::Failed, "listed in SHA256SUMS but missing"),
                        Some(bytes) => {
                            let actual = sha256_hex(bytes);
                            if &actual == hash {
                                report.push(path, CheckKind::Checksum, Status::Passed, "sha256 matches");
                            } else {
                                report.push(
                                    path,
                                    CheckKind::Checksum,
                                    Status::Failed,
                                    format!("sha256 is {actual}, SHA256SUMS says {hash}"),
                                );
                            }
                        }
                    }
                }
                for path in contents.keys().filter(|p| *p != SUMS && *p != SIG) {
                    if !listed.contains(path) {
                        report.push(path, CheckKind::Listed, Status::Failed, "extra file: not listed in SHA256SUMS");
                    }
                }
            }
        },
    }

    // The manifest.
    let manifest: Option<serde_json::Value> = match contents.get(MANIFEST) {
        None => {
            report.push(
                MANIFEST,
                CheckKind::Manifest,
                Status::Failed,
                "missing: the bundle has no manifest.json",
            );
            None
        }
        Some(bytes) => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => Some(v),
            Err(err) => {
                report.push(MANIFEST, CheckKind::Manifest, Status::Failed, format!("not valid JSON: {err}"));
                None
            }
        },
    };
    if let Some(m) = &manifest {
        check_manifest(&mut report, m, &contents);
    }

    // The signature.
    let manifest_key = manifest
        .as_ref()
        .and_then(|m| m.pointer("/signature/public_key"))
        .and_then(|k| k.as_str())
        .map(str::to_string);
    let manifest_signed = manifest
        .as_ref()
        .and_then(|m| m.pointer("/signature/status"))
        .and_then(|s| s.as_str())
        == Some("signed");
    match (contents.get(SIG), &sums_text) {
        (None, _) => {
            if trusted.is_some() || manifest_signed {
                report.push(SIG, CheckKind::Signature, Status::Failed, "missing: the bundle is not signed");
            } else {
                report.push(SIG, CheckKind::Signature, Status::Note, "the bundle is unsigned (manifest says so)");
            }
        }
        (Some(_), None) => report.push(SIG, CheckKind::Signature, Status::Failed, "nothing to check: SHA256SUMS is missing"),
        (Some(sig_bytes), Some(sums)) => check_signature(&mut report, sig_bytes, sums.as_bytes(), trusted.as_deref(), manifest_key),
    }
    Ok(report)
}

fn check_manifest(report: &mut VerifyReport, m: &serde_json::Value, contents: &BTreeMap<String, Vec<u8>>) {
    let Some(outputs) = m.get("outputs").and_then(|o| o.as_array()) else {
        report.push(MANIFEST, CheckKind::Manifest, Status::Failed, "has no `outputs` list");
        return;
    };
    let mut described = BTreeSet::new();
    for o in outputs {
        let Some(path) = o.get("path").and_then(|p| p.as_str()) else {
            report.push(MANIFEST, CheckKind::Manifest, Status::Failed, "an output has no `path`");
            continue;
        };
        described.insert(path.to_string());
        let Some(bytes) = contents.get(path) else {
            report.push(path, CheckKind::Manifest, Status::Failed, "in manifest.json outputs but missing");
            continue;
        };
        let want_sha = o.get("sha256").and_then(|s| s.as_str()).unwrap_or("");
        let want_len = o.get("bytes").and_then(|b| b.as_u64());
        let actual = sha256_hex(bytes);
        if want_sha != actual {
            report.push(
                path,
                CheckKind::Manifest,
                Status::Failed,
                format!("sha256 is {actual}, manifest.json says {want_sha}"),
            );
        } else if want_len != Some(bytes.len() as u64) {
            report.push(
                path,
                CheckKind::Manifest,
                Status::Failed,
                format!(
                    "{} bytes, manifest.json says {}",
                    bytes.len(),
                    want_len.map_or("nothing".into(), |n| n.to_string())
                ),
            );
        } else {
            report.push(path, CheckKind::Manifest, Status::Passed, "bytes and sha256 match manifest.json");
        }
    }
    for path in contents.keys().filter(|p| *p != MANIFEST && *p != SUMS && *p != SIG) {
        if !described.contains(path) {
            report.push(path, CheckKind::Manifest, Status::Failed, "not among manifest.json outputs");
        }
    }
}

/// A signature that does not verify cannot tell which of the two files
/// changed, so both are named.
const NOT_AS_SIGNED: &str = "does not match its signature: SHA256SUMS or SHA256SUMS.sig was changed after signing";

fn check_signature(
    report: &mut VerifyReport,
    sig_bytes: &[u8],
    message: &[u8],
    trusted: Option<&[AllowedSigner]>,
    manifest_key: Option<String>,
) {
    let sig = match SshSig::from_pem(sig_bytes) {
        Ok(s) => s,
        Err(err) => {
            report.push(SIG, CheckKind::Signature, Status::Failed, format!("not an SSH signature: {err}"));
            return;
        }
    };
    if sig.namespace() != NAMESPACE {
        report.push(
            SIG,
            CheckKind::Signature,
            Status::Failed,
            format!("namespace is {:?}, expected {NAMESPACE:?}", sig.namespace()),
        );
        return;
    }
    match trusted {
        Some(signers) => {
            let candidates: Vec<&AllowedSigner> = signers.iter().filter(|s| s.allows_namespace(NAMESPACE)).collect();
            match candidates.iter().find(|s| s.key.verify(NAMESPACE, message, &sig).is_ok()) {
                Some(s) => report.push(
                    SIG,
                    CheckKind::Signature,
                    Status::Passed,
                    format!(
                        "valid signature of SHA256SUMS by {} ({})",
                        s.principals,
                        s.key.fingerprint(Default::default())
                    ),
                ),
                None => {
                    report.push(
                        SIG,
                        CheckKind::Signature,
                        Status::Failed,
                        format!(
                            "no key of the allowed_signers file ({} usable) verifies SHA256SUMS",
                            candidates.len()
                        ),
                    );
                    report.push(SUMS, CheckKind::Signature, Status::Failed, NOT_AS_SIGNED);
                }
            }
        }
        None => {
            let Some(key) = manifest_key.and_then(|k| PublicKey::from_openssh(&k).ok()) else {
                report.push(
                    SIG,
                    CheckKind::Signature,
                    Status::Failed,
                    "manifest.json names no usable public key and no allowed_signers file was given",
                );
                return;
            };
            match key.verify(NAMESPACE, message, &sig) {
                Ok(()) => {
                    report.push(
                        SIG,
                        CheckKind::Signature,
                        Status::Passed,
                        "valid signature of SHA256SUMS by the key manifest.json names",
                    );
                    report.push(
                        SIG,
                        CheckKind::Signature,
                        Status::Note,
                        format!(
                            "key {} was taken from the bundle itself; pass an allowed_signers file to check it is the publisher's",
                            key.fingerprint(Default::default())
                        ),
                    );
                }
                Err(err) => {
                    report.push(
                        SIG,
                        CheckKind::Signature,
                        Status::Failed,
                        format!("does not verify SHA256SUMS: {err}"),
                    );
                    report.push(SUMS, CheckKind::Signature, Status::Failed, NOT_AS_SIGNED);
                }
            }
        }
    }
}
