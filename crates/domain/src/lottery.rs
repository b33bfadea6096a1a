//! The lottery release (NOTES.md §4): everyone who enters before the release has the same
//! chance, so arriving first or scripting faster gains nothing.
//!
//! The order is a Fisher–Yates shuffle driven by SplitMix64 from a recorded seed. Both are
//! specified here, not borrowed from a crate whose algorithm may change between versions: an
//! auditor must be able to recompute a past draw from its seed and the entries, years later.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` without modulo bias (rejection sampling).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0);
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }
}

/// The draw order of `entries` (given in a canonical order, e.g. by entry id) for `seed`.
pub fn draw_order<T: Clone>(entries: &[T], seed: u64) -> Vec<T> {
    let mut v = entries.to_vec();
    let mut rng = SplitMix64::new(seed);
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs for seed 0 of the reference implementation.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn the_order_is_a_reproducible_permutation() {
        let entries: Vec<u32> = (0..1000).collect();
        let a = draw_order(&entries, 42);
        assert_eq!(a, draw_order(&entries, 42));
        assert_ne!(a, draw_order(&entries, 43));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, entries, "each entry exactly once");
        assert_ne!(a, entries, "shuffled");
    }

    #[test]
    fn every_position_is_equally_likely() {
        // Entry 0 should land in each of 4 places about a quarter of the time.
        let mut counts = [0u32; 4];
        for seed in 0..40_000 {
            let o = draw_order(&[0, 1, 2, 3], seed);
            counts[o.iter().position(|x| *x == 0).unwrap()] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}
