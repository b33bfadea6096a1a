//! The audit trail's hash chain (M14).
//!
//! Every entry carries the hash of the entry before it and a hash of its own fields and that
//! previous hash, so editing any entry changes its hash (and breaks the next entry's link),
//! and deleting one leaves a gap in the sequence numbers or a head that no longer matches.
//! The chain proves tampering after the fact; the database's append-only triggers and grants
//! are what make tampering hard in the first place.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash the first entry links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the trail, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// 1, 2, 3, … without gaps: assigned by the appender, not by a sequence, so that a
    /// deleted entry shows as a gap.
    pub seq: i64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// `staff:<id>`, `device:<id>`, `cli` or `system`.
    pub actor: String,
    /// The actor's name at the time (staff user name, device name).
    pub actor_name: String,
    /// What was done, e.g. `staff.create`, `identity.reveal`, `capacity.change`.
    pub action: String,
    /// What it was done to, e.g. `staff:3`, `hall:gz-tianhe`, `booking:K7Q2…`.
    pub subject: String,
    /// The identity key of the citizen concerned, when there is one (searchable by auditors).
    pub citizen: Option<String>,
    /// A JSON object with the change (before/after). Never a password or a password hash.
    pub detail: String,
    pub client_addr: Option<String>,
    /// The counter window or device the actor used, when known.
    pub station: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

fn field(h: &mut Sha256, s: &str) {
    // Length-prefixed, so that moving characters between two fields changes the hash.
    h.update((s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

fn opt(h: &mut Sha256, s: Option<&str>) {
    match s {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            field(h, s);
        }
    }
}

/// The hash of an entry: SHA-256 over its sequence number, every field and the previous hash.
pub fn entry_hash(e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(b"wujing-audit-v1");
    h.update(e.seq.to_be_bytes());
    h.update(e.at_ms.to_be_bytes());
    field(&mut h, &e.actor);
    field(&mut h, &e.actor_name);
    field(&mut h, &e.action);
    field(&mut h, &e.subject);
    opt(&mut h, e.citizen.as_deref());
    field(&mut h, &e.detail);
    opt(&mut h, e.client_addr.as_deref());
    opt(&mut h, e.station.as_deref());
    field(&mut h, &e.prev_hash);
    hex(&h.finalize())
}

/// Links `entry` to the chain whose newest entry is `head` (`(seq, hash)`, `None` for an
/// empty chain): it gets the next sequence number, the head's hash as its link, and its own
/// hash. Its own `seq`, `prev_hash` and `hash` are ignored.
pub fn link(head: Option<(i64, String)>, mut entry: AuditEntry) -> AuditEntry {
    let (prev_seq, prev_hash) = head.unwrap_or_else(|| (0, GENESIS.to_string()));
    entry.seq = prev_seq + 1;
    entry.prev_hash = prev_hash;
    entry.hash = entry_hash(&entry);
    entry
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreak {
    /// The entry's fields no longer give its hash: it was edited.
    Edited { seq: i64 },
    /// The entry does not link to the hash of the entry before it (that one was edited and
    /// re-hashed, or replaced).
    Relinked { seq: i64 },
    /// Entries `from..=to` are missing.
    Missing { from: i64, to: i64 },
    /// The head records more entries (or another last hash) than the table holds: the newest
    /// entries were deleted.
    TailMissing { head_seq: i64, last_seq: i64 },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Edited { seq } => write!(f, "entry {seq} was edited (its hash does not match its fields)"),
            Self::Relinked { seq } => write!(f, "entry {seq} does not link to entry {}: the chain was rewritten there", seq - 1),
            Self::Missing { from, to } if from == to => write!(f, "entry {from} was deleted"),
            Self::Missing { from, to } => write!(f, "entries {from} to {to} were deleted"),
            Self::TailMissing { head_seq, last_seq } => write!(
                f,
                "the newest entries were deleted or altered: the head records entry {head_seq}, the table ends at {last_seq}"
            ),
        }
    }
}

/// Checks a chain given in sequence order, and its recorded head `(seq, hash)`. Returns the
/// first break.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
    head: Option<(i64, &str)>,
) -> Result<u64, ChainBreak> {
    let mut prev_seq = 0;
    let mut prev_hash = GENESIS.to_string();
    let mut n = 0;
    for e in entries {
        if e.seq != prev_seq + 1 {
            return Err(ChainBreak::Missing {
                from: prev_seq + 1,
                to: e.seq - 1,
            });
        }
        if entry_hash(e) != e.hash {
            return Err(ChainBreak::Edited { seq: e.seq });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainBreak::Relinked { seq: e.seq });
        }
        prev_seq = e.seq;
        prev_hash = e.hash.clone();
        n += 1;
    }
    let (head_seq, head_hash) = head.unwrap_or((0, GENESIS));
    if head_seq != prev_seq || head_hash != prev_hash {
        return Err(ChainBreak::TailMissing {
            head_seq,
            last_seq: prev_seq,
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    at_ms: 1_700_000_000_000 + seq,
                    actor: "staff:1".into(),
                    actor_name: "admin".into(),
                    action: "staff.create".into(),
                    subject: format!("staff:{}", seq + 1),
                    citizen: None,
                    detail: "{}".into(),
                    client_addr: Some("127.0.0.1".into()),
                    station: None,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = entry_hash(&e);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn head(c: &[AuditEntry]) -> Option<(i64, &str)> {
        c.last().map(|e| (e.seq, e.hash.as_str()))
    }

    #[test]
    fn linking_continues_the_chain() {
        let c = chain(3);
        let mut next = c[2].clone();
        next.action = "hall.update".into();
        next.seq = 99; // ignored
        let linked = link(Some((c[2].seq, c[2].hash.clone())), next);
        assert_eq!(
            (linked.seq, linked.prev_hash.as_str()),
            (4, c[2].hash.as_str())
        );
        assert_eq!(linked.hash, entry_hash(&linked));
        let mut all = c.clone();
        all.push(linked.clone());
        assert_eq!(verify_chain(&all, Some((4, linked.hash.as_str()))), Ok(4));
        let first = link(None, c[0].clone());
        assert_eq!(first, c[0], "the first entry links to GENESIS");
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify_chain(&c, head(&c)), Ok(5));
        assert_eq!(verify_chain(&[], None), Ok(0));
    }

    #[test]
    fn every_kind_of_tampering_is_located() {
        let c = chain(6);
        let h = (6, c[5].hash.clone());
        let mut edited = c.clone();
        edited[2].detail = r#"{"x":1}"#.into();
        assert_eq!(
            verify_chain(&edited, Some((h.0, &h.1))),
            Err(ChainBreak::Edited { seq: 3 })
        );
        // Re-hashing the edited entry moves the break to the link after it.
        edited[2].hash = entry_hash(&edited[2]);
        assert_eq!(
            verify_chain(&edited, Some((h.0, &h.1))),
            Err(ChainBreak::Relinked { seq: 4 })
        );
        let mut deleted = c.clone();
        deleted.drain(1..3);
        assert_eq!(
            verify_chain(&deleted, Some((h.0, &h.1))),
            Err(ChainBreak::Missing { from: 2, to: 3 })
        );
        let tail = &c[..4];
        assert_eq!(
            verify_chain(tail, Some((h.0, &h.1))),
            Err(ChainBreak::TailMissing {
                head_seq: 6,
                last_seq: 4
            })
        );
    }

    #[test]
    fn field_boundaries_matter() {
        let c = chain(1);
        let mut e = c[0].clone();
        e.actor = "staff:1a".into();
        e.actor_name = "dmin".into();
        assert_ne!(entry_hash(&e), c[0].hash);
    }
}
