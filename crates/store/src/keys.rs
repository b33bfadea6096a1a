//! The keys that protect personal data at rest (M14), kept outside the database.
//!
//! - `data`: a keyring of AES-256-GCM keys. Identity numbers, names and phones of bookings,
//!   lottery entries and registry records, and the recipients and texts of outgoing messages,
//!   are stored sealed with it (`id:base64(nonce ‖ ciphertext ‖ tag)`). The first key seals,
//!   every key opens; a sealed value names its key, so rotation is: put a new key first, keep
//!   the old ones, re-seal at leisure, drop the old key once nothing names it.
//! - `index`: an HMAC-SHA-256 key for *blind indexes*: the equality lookups and unique
//!   constraints that used to compare clear values (one active booking per identity, a phone's
//!   code limits, the registry's primary key, shared-phone signals) compare a keyed hash
//!   instead. Without the key a copy of the database cannot test a guessed number against it.
//! - `audit`: the HMAC key of the audit chain and of its checkpoints, so that whoever owns the
//!   database cannot rewrite the trail and re-hash it into a chain that verifies.
//! - `links`: the HMAC key of slip links, so that a copy of the database cannot forge them.
//!
//! The keys live in a key file (`wujing.keys` by default, mode 0600), never in the database;
//! `WUJING_DATA_KEYS` may add data keys from the environment. The file format is
//! `name = value` lines; see `docs/OPERATIONS.md`.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
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
    #[error("the key file has no {0:?} line")]
    Missing(String),
    #[error("the value names key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("the value is damaged or was sealed with another key")]
    Damaged,
}

#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
    /// The configuration entries (`id:base64`), in order, to write a key file back.
    entries: Vec<String>,
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
        let mut entries = Vec::new();
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
            entries.push(entry.to_string());
        }
        Ok(Self { keys, entries })
    }

    /// A new key entry `id:base64` for the configuration.
    pub fn generate_entry(id: &str) -> String {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        format!("{id}:{}", B64.encode(k))
    }

    /// The keyring as configured: `id:base64,id:base64`.
    pub fn entries(&self) -> String {
        self.entries.join(",")
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

/// Length of an HMAC key in a key file.
const MAC_KEY_BYTES: usize = 32;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Every key of a deployment. Cloning is cheap enough (a handful of ciphers); share it in an
/// `Arc`.
#[derive(Clone)]
pub struct Keys {
    pub data: Keyring,
    index: [u8; MAC_KEY_BYTES],
    audit: [u8; MAC_KEY_BYTES],
    links: [u8; MAC_KEY_BYTES],
    /// Audit entries up to this sequence number were written before the chain was keyed
    /// (plain SHA-256); recorded in the key file when it was made, so the database cannot
    /// move it.
    pub audit_keyed_from: i64,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Keys({:?}, audit keyed from {})",
            self.data, self.audit_keyed_from
        )
    }
}

fn random_key() -> [u8; MAC_KEY_BYTES] {
    let mut k = [0u8; MAC_KEY_BYTES];
    rand::thread_rng().fill_bytes(&mut k);
    k
}

impl Keys {
    /// A fresh set of keys; `audit_keyed_from` is the newest audit entry of an existing
    /// database (0 for a new one).
    pub fn generate(audit_keyed_from: i64) -> Self {
        Self {
            data: Keyring::parse(&Keyring::generate_entry("k1")).expect("a fresh key parses"),
            index: random_key(),
            audit: random_key(),
            links: random_key(),
            audit_keyed_from,
        }
    }

    /// Keys derived from a fixed seed: for tests that open one database twice.
    pub fn for_tests(seed: u8) -> Self {
        let k = |n: u8| [seed.wrapping_mul(31).wrapping_add(n); MAC_KEY_BYTES];
        Self {
            data: Keyring::parse(&format!("t1:{}", B64.encode(k(1)))).expect("fixed key"),
            index: k(2),
            audit: k(3),
            links: k(4),
            audit_keyed_from: 0,
        }
    }

    /// Parses a key file's text: `name = value` lines, `#` comments.
    pub fn parse_file(text: &str) -> Result<Self, KeyError> {
        let mut data = None;
        let (mut index, mut audit, mut links, mut from) = (None, None, None, None);
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .map(|(n, v)| (n.trim(), v.trim()))
                .ok_or_else(|| KeyError::Malformed(line.chars().take(8).collect()))?;
            let mac = |v: &str| -> Result<[u8; MAC_KEY_BYTES], KeyError> {
                B64.decode(v)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| KeyError::BadKey(name.to_string()))
            };
            match name {
                "data" => data = Some(Keyring::parse(value)?),
                "index" => index = Some(mac(value)?),
                "audit" => audit = Some(mac(value)?),
                "links" => links = Some(mac(value)?),
                "audit_keyed_from" => {
                    from = Some(
                        value
                            .parse::<i64>()
                            .map_err(|_| KeyError::BadKey(name.to_string()))?,
                    )
                }
                _ => return Err(KeyError::Malformed(name.chars().take(16).collect())),
            }
        }
        let missing = |n: &str| KeyError::Missing(n.to_string());
        let data = data.ok_or_else(|| missing("data"))?;
        if data.is_empty() {
            return Err(KeyError::NoKey);
        }
        Ok(Self {
            data,
            index: index.ok_or_else(|| missing("index"))?,
            audit: audit.ok_or_else(|| missing("audit"))?,
            links: links.ok_or_else(|| missing("links"))?,
            audit_keyed_from: from.unwrap_or(0),
        })
    }

    /// Reads a key file.
    pub fn read_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the key file {}: {e}", path.display()))?;
        Self::parse_file(&text).map_err(|e| format!("the key file {}: {e}", path.display()))
    }

    /// Writes these keys to a new key file, readable by its owner only; refuses to replace
    /// an existing one (that would make everything sealed with it unreadable).
    pub fn write_new_file(&self, path: &std::path::Path) -> Result<(), String> {
        use std::io::Write;
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o
            .open(path)
            .map_err(|e| format!("cannot create the key file {}: {e}", path.display()))?;
        f.write_all(self.to_file().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("cannot write the key file {}: {e}", path.display()))
    }

    /// The key file's text for these keys.
    pub fn to_file(&self) -> String {
        format!(
            "# Wujing keys. Keep this file outside the database and its backups, readable only by\n\
             # the service; without it sealed personal data cannot be read. See docs/OPERATIONS.md.\n\
             data = {}\nindex = {}\naudit = {}\nlinks = {}\naudit_keyed_from = {}\n",
            self.data.entries(),
            B64.encode(self.index),
            B64.encode(self.audit),
            B64.encode(self.links),
            self.audit_keyed_from
        )
    }

    /// Adds data keys (e.g. from `WUJING_DATA_KEYS`) in front: the first of them seals.
    pub fn with_data_keys_first(mut self, extra: &Keyring) -> Self {
        let mut spec = extra.entries.clone();
        for (e, (id, _)) in self.data.entries.iter().zip(&self.data.keys) {
            if !extra.keys.iter().any(|(x, _)| x == id) {
                spec.push(e.clone());
            }
        }
        self.data = Keyring::parse(&spec.join(",")).expect("entries that parsed once parse again");
        self
    }

    /// Seals a text with the active data key.
    pub fn seal(&self, plain: &str) -> String {
        self.data
            .seal(plain.as_bytes())
            .expect("a key set always has a data key")
    }

    pub fn seal_opt(&self, plain: Option<&str>) -> Option<String> {
        plain.map(|p| self.seal(p))
    }

    /// Opens a sealed text.
    pub fn open(&self, sealed: &str) -> Result<String, KeyError> {
        String::from_utf8(self.data.open(sealed)?).map_err(|_| KeyError::Damaged)
    }

    fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        use hmac::{KeyInit, Mac};
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
        for p in parts {
            // Length-prefixed, so that two parts cannot trade characters.
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// The blind index of `value` in the namespace `what` (`identity`, `phone`, `rate`…):
    /// 128 bits of HMAC-SHA-256, URL-safe base64 (22 characters). Equal inputs give equal
    /// indexes; without the key nothing about the input can be tested.
    pub fn index(&self, what: &str, value: &str) -> String {
        let m = Self::mac(&self.index, &[what.as_bytes(), value.as_bytes()]);
        B64URL.encode(&m[..16])
    }

    /// The stored form of an identity key (`R:<number>` or `P:<nationality>:<number>`): the
    /// kind letter stays readable (a foreigner's ticket goes to the foreigners' queue), the
    /// rest becomes a blind index.
    pub fn identity_key(&self, clear_key: &str) -> String {
        let kind = clear_key.split(':').next().unwrap_or("X");
        format!("{kind}:{}", self.index("identity", clear_key))
    }

    /// A value that identifies this key set to a database without revealing anything of it:
    /// the database keeps the first one it saw, and a store opened with other keys refuses
    /// to migrate (a second app server started with a freshly made key file would otherwise
    /// seal with keys nobody else has).
    pub fn check_value(&self) -> String {
        B64URL.encode(&Self::mac(&self.index, &[b"wujing-key-check"])[..16])
    }

    /// The key the audit chain and its checkpoints are hashed with.
    pub fn chain_key(&self) -> wujing_domain::audit::ChainKey<'_> {
        wujing_domain::audit::ChainKey {
            key: &self.audit,
            keyed_after: self.audit_keyed_from,
        }
    }

    /// The MAC of a slip link's payload.
    pub fn link_mac(&self, payload: &[u8]) -> [u8; 32] {
        Self::mac(&self.links, &[b"wujing-slip-link", payload])
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
