//! Keyed pseudonyms for personal columns.
//!
//! HMAC-SHA256 with a secret key that is read from a file or an environment
//! variable and never stored in the lake; only the key's id (a fingerprint)
//! is recorded in the ledger. The same person gets the same pseudonym across
//! nights; without the key a pseudonym cannot be reversed or recomputed from
//! a guessed NIK. Each kind of value (`nik`, `nip`, `name`, `phone`) is its
//! own domain.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::KeySource;

/// Shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("pseudonymisation key: cannot read {source_desc}: {source}")]
    Read {
        source_desc: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "pseudonymisation key: environment variable {0} is not set; set it to a secret of at least {MIN_KEY_BYTES} bytes (e.g. `openssl rand -hex 32`) or set pseudonymisation.key_file in the config"
    )]
    EnvMissing(String),
    #[error("pseudonymisation key from {0} is shorter than {MIN_KEY_BYTES} bytes; generate one with `openssl rand -hex 32`")]
    TooShort(String),
}

#[derive(Clone)]
pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
    key_id: String,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonymiser")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Pseudonymiser {
    pub fn from_source(source: &KeySource) -> Result<Self, KeyError> {
        let key = match source {
            KeySource::File(p) => std::fs::read(p).map_err(|e| KeyError::Read {
                source_desc: source.to_string(),
                source: e,
            })?,
            KeySource::Env(v) => std::env::var(v).map_err(|_| KeyError::EnvMissing(v.clone()))?.into_bytes(),
        };
        let key = key.trim_ascii();
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(source.to_string()));
        }
        Ok(Self::new(key))
    }

    pub fn new(key: &[u8]) -> Self {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        let mut h = Sha256::new();
        h.update(b"wasnaker pseudonym key id\0");
        h.update(key);
        let key_id = hex::encode(&h.finalize()[..8]);
        Pseudonymiser { mac, key_id }
    }

    /// Public fingerprint of the key (recorded in the ledger).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Keyed fingerprints of the raw records of `table`'s files. Two records
    /// with one fingerprint hold the same bytes (HMAC-SHA256, 128 bits), and
    /// without the key a fingerprint tells nothing about the record: it may
    /// be kept in scratch space although the record holds personal data.
    pub fn record_fingerprints(&self, table: &str) -> RecordFingerprints {
        let mut mac = self.mac.clone();
        mac.update(b"wasnaker raw record\0");
        mac.update(table.as_bytes());
        mac.update(&[0]);
        RecordFingerprints { mac }
    }

    /// A MAC for the snapshot state files kept in the work folder.
    pub fn state_mac(&self) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(b"wasnaker snapshot state file\0");
        mac
    }

    /// The pseudonym of `value` in `domain`: 32 hex characters (128 bits).
    pub fn pseudonym(&self, domain: &str, value: &str) -> String {
        let mut m = self.mac.clone();
        m.update(domain.as_bytes());
        m.update(&[0]);
        m.update(value.as_bytes());
        hex::encode(&m.finalize().into_bytes()[..16])
    }
}

/// See [`Pseudonymiser::record_fingerprints`].
#[derive(Clone)]
pub struct RecordFingerprints {
    mac: Hmac<Sha256>,
}

impl RecordFingerprints {
    pub fn of(&self, record: &[u8]) -> [u8; 16] {
        let mut m = self.mac.clone();
        m.update(record);
        let mut fp = [0u8; 16];
        fp.copy_from_slice(&m.finalize().into_bytes()[..16]);
        fp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_keyed_and_domain_separated() {
        let a = Pseudonymiser::new(&[7u8; 32]);
        let b = Pseudonymiser::new(&[8u8; 32]);
        let nik = "9901010101010001";
        assert_eq!(a.pseudonym("nik", nik), a.pseudonym("nik", nik));
        assert_ne!(a.pseudonym("nik", nik), b.pseudonym("nik", nik));
        assert_ne!(a.pseudonym("nik", nik), a.pseudonym("phone", nik));
        assert_eq!(a.pseudonym("nik", nik).len(), 32);
        assert!(!a.pseudonym("nik", nik).contains(nik));
        assert_ne!(a.key_id(), b.key_id());
    }

    #[test]
    fn record_fingerprints_are_keyed_and_per_table() {
        let a = Pseudonymiser::new(&[7u8; 32]);
        let b = Pseudonymiser::new(&[8u8; 32]);
        let line = br#"{"npp":"1","nik":"9901010101010001"}"#;
        assert_eq!(
            a.record_fingerprints("employers").of(line),
            a.record_fingerprints("employers").of(line)
        );
        assert_ne!(
            a.record_fingerprints("employers").of(line),
            b.record_fingerprints("employers").of(line)
        );
        assert_ne!(
            a.record_fingerprints("employers").of(line),
            a.record_fingerprints("companies").of(line)
        );
        assert_ne!(
            a.record_fingerprints("employers").of(line),
            a.record_fingerprints("employers").of(&line[1..])
        );
    }
}
