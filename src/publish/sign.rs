//! Signing `SHA256SUMS` with an ed25519 SSH key, in the SSHSIG format that
//! `ssh-keygen -Y verify -n file` accepts (namespace `file`, SHA-512).
//!
//! The key is read from an unencrypted OpenSSH private-key file; encrypted
//! keys are refused with a message that says how to decrypt one for the
//! scheduler. Ed25519 signatures are deterministic, so a re-run gives the
//! same `SHA256SUMS.sig`. This module never logs or prints key material.

use std::path::Path;

use ssh_key::private::Ed25519Keypair;
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey};

use super::PublishError;

/// The SSHSIG namespace of bundle signatures (`ssh-keygen -Y … -n file`).
pub const NAMESPACE: &str = "file";

/// An ed25519 signing key.
#[derive(Clone)]
pub struct Signer {
    key: PrivateKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("public_key", &self.public_key_openssh()).finish()
    }
}

impl Signer {
    /// Read an unencrypted OpenSSH ed25519 private key
    /// (`ssh-keygen -t ed25519 -N '' -f key`).
    pub fn from_openssh_file(path: &Path) -> Result<Self, PublishError> {
        let pem = std::fs::read_to_string(path).map_err(|source| PublishError::KeyFile {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_openssh(&pem, path)
    }

    /// Parse an OpenSSH private key; `path` only names it in errors.
    pub fn from_openssh(pem: &str, path: &Path) -> Result<Self, PublishError> {
        let key = PrivateKey::from_openssh(pem).map_err(|source| PublishError::Key {
            path: path.to_path_buf(),
            source,
        })?;
        if key.is_encrypted() {
            return Err(PublishError::KeyEncrypted { path: path.to_path_buf() });
        }
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(PublishError::KeyAlgorithm {
                path: path.to_path_buf(),
                algorithm: key.algorithm().to_string(),
            });
        }
        Ok(Signer { key })
    }

    /// A deterministic key from a 32-byte seed (for `wasnaker demo` and tests;
    /// never for a real publication).
    pub fn generate_demo(seed: [u8; 32], comment: &str) -> Self {
        let keypair = Ed25519Keypair::from_seed(&seed);
        let mut key = PrivateKey::from(keypair);
        key.set_comment(comment);
        Signer { key }
    }

    /// The public key, one line: `ssh-ed25519 AAAA… comment`.
    pub fn public_key_openssh(&self) -> String {
        // Encoding an in-memory ed25519 public key cannot fail.
        self.key.public_key().to_openssh().unwrap_or_default()
    }

    /// `SHA256:…` fingerprint of the public key.
    pub fn fingerprint(&self) -> String {
        self.key.public_key().fingerprint(HashAlg::Sha256).to_string()
    }

    /// One line of an `allowed_signers` file for this key.
    pub fn allowed_signers_line(&self, principal: &str) -> String {
        let public = self.key.public_key();
        let base = public.to_openssh().unwrap_or_default();
        // `<principal> namespaces="file" ssh-ed25519 AAAA…` (comment dropped).
        let key_only: Vec<&str> = base.split_whitespace().take(2).collect();
        format!("{principal} namespaces=\"{NAMESPACE}\" {}\n", key_only.join(" "))
    }

    /// Write the private key as an OpenSSH file, mode 0600.
    pub fn write_private_openssh(&self, path: &Path) -> Result<(), PublishError> {
        self.key
            .write_openssh_file(path, LineEnding::LF)
            .map_err(|source| PublishError::Key {
                path: path.to_path_buf(),
                source,
            })
    }

    /// An SSHSIG (PEM, `-----BEGIN SSH SIGNATURE-----`) of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String, PublishError> {
        let sig = self
            .key
            .sign(NAMESPACE, HashAlg::Sha512, message)
            .map_err(|source| PublishError::Sign { source })?;
        sig.to_pem(LineEnding::LF).map_err(|source| PublishError::Sign { source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_key_is_deterministic_and_signs_verifiably() {
        let a = Signer::generate_demo([7; 32], "demo@wasnaker");
        let b = Signer::generate_demo([7; 32], "demo@wasnaker");
        assert_eq!(a.public_key_openssh(), b.public_key_openssh());
        assert!(a.public_key_openssh().starts_with("ssh-ed25519 AAAA"));
        assert!(a.public_key_openssh().ends_with(" demo@wasnaker"));
        let s1 = a.sign(b"hello\n").unwrap();
        assert_eq!(s1, b.sign(b"hello\n").unwrap());
        assert!(s1.starts_with("-----BEGIN SSH SIGNATURE-----\n"));
        let sig = ssh_key::SshSig::from_pem(&s1).unwrap();
        a.key.public_key().verify(NAMESPACE, b"hello\n", &sig).unwrap();
        assert!(a.key.public_key().verify(NAMESPACE, b"hello!\n", &sig).is_err());
    }

    #[test]
    fn private_key_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let a = Signer::generate_demo([1; 32], "x");
        a.write_private_openssh(&path).unwrap();
        let b = Signer::from_openssh_file(&path).unwrap();
        assert_eq!(a.public_key_openssh(), b.public_key_openssh());
        assert!(matches!(Signer::from_openssh("nonsense", &path), Err(PublishError::Key { .. })));
    }
}
