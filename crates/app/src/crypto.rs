//! Encryption of sensitive personal data at rest (M14): a keyring of AES-256-GCM keys from
//! configuration.
//!
//! What is sealed with it: fingerprints and face images when biometrics arrive, and any scanned
//! document image. Identity numbers and phones stay in clear inside the database because the
//! one-booking-per-identity index and the scalping signals must compare them; they are masked
//! on every way out instead (answers, pages, logs).
//!
//! Keys are configured as `WUJING_DATA_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"`: the
//! first key seals, every key opens. A sealed value names its key (`k2:<nonce+ciphertext>`), so
//! rotation is: put a new key first, keep the old ones, re-seal at leisure, then drop the old
//! key once nothing names it. `wujing keys generate` prints a fresh key.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("key entry {0:?} is not id:base64")]
    Malformed(String),
    #[error("key {0:?} is not 32 bytes of base64")]
    BadKey(String),
    #[error("key id {0:?} appears twice")]
    Duplicate(String),
    #[error("no data key is configured")]
    NoKey,
    #[error("the value names key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("the value is damaged or was sealed with another key")]
    Damaged,
}

#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(i, _)| i.as_str()).collect();
        write!(f, "Keyring({ids:?})")
    }
}

impl Keyring {
    /// Parses `id:base64,id:base64,…`; the first key is the active one. Empty: no keys.
    pub fn parse(spec: &str) -> Result<Self, KeyError> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, b64) = entry
                .split_once(':')
                .filter(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
                .ok_or_else(|| KeyError::Malformed(entry.chars().take(8).collect()))?;
            let bytes = B64.decode(b64).map_err(|_| KeyError::BadKey(id.into()))?;
            let cipher =
                Aes256Gcm::new_from_slice(&bytes).map_err(|_| KeyError::BadKey(id.into()))?;
            if keys.iter().any(|(k, _)| k == id) {
                return Err(KeyError::Duplicate(id.into()));
            }
            keys.push((id.to_string(), cipher));
        }
        Ok(Self { keys })
    }

    /// A new key entry `id:base64` for the configuration.
    pub fn generate_entry(id: &str) -> String {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        format!("{id}:{}", B64.encode(k))
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn active_id(&self) -> Option<&str> {
        self.keys.first().map(|(i, _)| i.as_str())
    }

    /// Seals with the active key: `id:base64(nonce ‖ ciphertext ‖ tag)`.
    pub fn seal(&self, plain: &[u8]) -> Result<String, KeyError> {
        let (id, cipher) = self.keys.first().ok_or(KeyError::NoKey)?;
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(&Nonce::from(nonce), plain)
            .map_err(|_| KeyError::Damaged)?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(format!("{id}:{}", B64.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let (id, b64) = sealed.split_once(':').ok_or(KeyError::Damaged)?;
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| k == id)
            .ok_or_else(|| KeyError::UnknownKey(id.into()))?;
        let raw = B64.decode(b64).map_err(|_| KeyError::Damaged)?;
        if raw.len() < 12 + 16 {
            return Err(KeyError::Damaged);
        }
        let (nonce, ct) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| KeyError::Damaged)?;
        cipher
            .decrypt(&Nonce::from(nonce), ct)
            .map_err(|_| KeyError::Damaged)
    }

    /// Re-seals a value with the active key (the rotation step).
    pub fn reseal(&self, sealed: &str) -> Result<String, KeyError> {
        self.seal(&self.open(sealed)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_rotate() {
        let old = Keyring::generate_entry("k1");
        let new = Keyring::generate_entry("k2");
        let ring1 = Keyring::parse(&old).unwrap();
        let sealed = ring1.seal(b"fingerprint template").unwrap();
        assert!(sealed.starts_with("k1:"));
        assert!(!sealed.contains("fingerprint"));
        assert_eq!(ring1.open(&sealed).unwrap(), b"fingerprint template");
        // Rotation: the new key first, the old one kept for opening.
        let ring2 = Keyring::parse(&format!("{new},{old}")).unwrap();
        assert_eq!(ring2.open(&sealed).unwrap(), b"fingerprint template");
        let resealed = ring2.reseal(&sealed).unwrap();
        assert!(resealed.starts_with("k2:"));
        // Once re-sealed, the old key can go.
        let ring3 = Keyring::parse(&new).unwrap();
        assert_eq!(ring3.open(&resealed).unwrap(), b"fingerprint template");
        assert_eq!(ring3.open(&sealed), Err(KeyError::UnknownKey("k1".into())));
    }

    #[test]
    fn tampering_and_bad_configuration_are_refused() {
        let ring = Keyring::parse(&Keyring::generate_entry("k1")).unwrap();
        let sealed = ring.seal(b"x").unwrap();
        let mut raw = B64.decode(&sealed[3..]).unwrap();
        raw[14] ^= 1;
        assert_eq!(
            ring.open(&format!("k1:{}", B64.encode(raw))),
            Err(KeyError::Damaged)
        );
        assert!(matches!(
            Keyring::parse("k1:abcd"),
            Err(KeyError::BadKey(_))
        ));
        assert!(matches!(
            Keyring::parse("nokey"),
            Err(KeyError::Malformed(_))
        ));
        let e = Keyring::generate_entry("k1");
        assert!(matches!(
            Keyring::parse(&format!("{e},{e}")),
            Err(KeyError::Duplicate(_))
        ));
        assert_eq!(Keyring::parse("").unwrap().seal(b"x"), Err(KeyError::NoKey));
    }
}
