//! The reference a citizen is shown for an application that has no number of its own (one made
//! at the 申请易 kiosk has no booking code and no document number yet). Its row number was shown
//! before: "受理编号 1" tells anyone how many applications the service took, and looks wrong.
//!
//! The reference is the row number through a keyed permutation (a four-round Feistel network
//! over 38 bits, HMAC-SHA256 under a named store secret as its round function), written as eight
//! characters of the booking codes' alphabet: stable (the same application always has the same
//! reference, so a printed form and the screen agree), distinct for distinct applications (a
//! permutation), and without the key neither the count nor the order can be read from it. No
//! schema change: the reference is computed, never stored.

use crate::booking::CODE_ALPHABET;
use crate::{App, AppResult};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The store secret keying the permutation (created on first use).
const SECRET: &str = "application_reference";
/// Half of the permuted width: 2^38 applications, and 31^8 > 2^38 fits in eight characters.
const HALF_BITS: u32 = 19;
const MASK: u64 = (1 << HALF_BITS) - 1;
const ROUNDS: u8 = 4;
const CHARS: usize = 8;

impl App {
    /// The application's reference as citizens see it, `XXXX-XXXX` ([module](self)).
    pub async fn application_reference(&self, id: i64) -> AppResult<String> {
        Ok(reference(self.reference_key().await?.as_bytes(), id))
    }

    /// The permutation's key.
    pub(crate) async fn reference_key(&self) -> AppResult<String> {
        Ok(self
            .store
            .secret(SECRET, &crate::auth::random_token())
            .await?)
    }
}

/// The reference of `id` under `key`.
pub(crate) fn reference(key: &[u8], id: i64) -> String {
    let n = u64::try_from(id).unwrap_or_default();
    // Beyond 2^38 rows the permutation's width would be exceeded; the row number is then shown
    // rather than a reference that could collide (it does not happen at any realistic volume).
    if n >> (2 * HALF_BITS) != 0 {
        return id.to_string();
    }
    let mut v = permute(key, n);
    let base = CODE_ALPHABET.len() as u64;
    let mut out = [b'2'; CHARS];
    for c in out.iter_mut().rev() {
        *c = CODE_ALPHABET[(v % base) as usize];
        v /= base;
    }
    let s = String::from_utf8(out.to_vec()).expect("the alphabet is ASCII");
    format!("{}-{}", &s[..4], &s[4..])
}

fn round(key: &[u8], i: u8, half: u64) -> u64 {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(&[i]);
    mac.update(&half.to_be_bytes());
    let out = mac.finalize().into_bytes();
    let mut first = [0u8; 8];
    first.copy_from_slice(&out[..8]);
    u64::from_be_bytes(first) & MASK
}

/// A Feistel network: a bijection of the 38-bit numbers whatever the round function.
fn permute(key: &[u8], n: u64) -> u64 {
    let (mut l, mut r) = (n >> HALF_BITS, n & MASK);
    for i in 0..ROUNDS {
        let next = l ^ round(key, i, r);
        l = r;
        r = next;
    }
    (l << HALF_BITS) | r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn references_are_stable_distinct_and_do_not_count() {
        let key = b"a test key";
        assert_eq!(reference(key, 1), reference(key, 1), "stable");
        let refs: Vec<String> = (1..=20_000).map(|id| reference(key, id)).collect();
        let distinct: HashSet<&String> = refs.iter().collect();
        assert_eq!(distinct.len(), refs.len(), "one reference per application");
        for r in &refs[..50] {
            assert_eq!(r.len(), 9, "{r}");
            assert!(
                r.bytes()
                    .enumerate()
                    .all(|(i, b)| (i == 4 && b == b'-') || CODE_ALPHABET.contains(&b)),
                "{r}"
            );
        }
        // The order does not show: consecutive applications' references are in order about
        // half the time, as for random ones (a counter would be in order every time).
        let ascending = refs.windows(2).filter(|w| w[0] < w[1]).count();
        assert!(
            (8_000..12_000).contains(&ascending),
            "about half ascending: {ascending}"
        );
        // Another key, other references.
        assert_ne!(reference(b"another key", 1), refs[0]);
    }
}
