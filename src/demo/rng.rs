//! Deterministic randomness: keyed hashes for entities that are recomputed every
//! night (companies, employers, contributions) and small sampling helpers.
//!
//! Never uses floating-point functions from the platform's libm (`ln`, `exp`,
//! `powf`): their last bit may differ between platforms, and the output must be
//! byte-identical for the same options everywhere.

use rand::{Rng, RngCore};

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 finaliser: a good 64-bit mixer.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a seed, a tag (what is being drawn) and two keys.
pub(crate) fn h(seed: u64, tag: u64, a: u64, b: u64) -> u64 {
    mix(mix(mix(seed ^ tag.wrapping_mul(GOLDEN)).wrapping_add(a)) ^ b.wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// A uniform number in `[0, 1)` from a hash.
pub(crate) fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A cheap RNG stream keyed by a hash, for attributes that are recomputed
/// instead of stored (one per company, employer, ...).
pub(crate) struct KeyedRng(u64);

impl KeyedRng {
    pub(crate) fn new(key: u64) -> Self {
        KeyedRng(key)
    }
}

impl RngCore for KeyedRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Cumulative weights for sampling an index.
#[derive(Debug, Clone)]
pub(crate) struct Weighted {
    cum: Vec<f64>,
}

impl Weighted {
    pub(crate) fn new(weights: &[f64]) -> Self {
        let mut total = 0.0;
        let cum = weights
            .iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Weighted { cum }
    }

    /// Index for a uniform `u` in `[0, 1)`.
    pub(crate) fn pick_unit(&self, u: f64) -> usize {
        let total = self.cum.last().copied().unwrap_or(0.0);
        let x = u * total;
        let i = self.cum.partition_point(|&c| c <= x);
        i.min(self.cum.len().saturating_sub(1))
    }

    pub(crate) fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        self.pick_unit(rng.random::<f64>())
    }
}

/// A skewed draw in `[lo, hi]`: most values near `lo`, a long tail towards `hi`.
pub(crate) fn skewed<R: Rng + ?Sized>(rng: &mut R, lo: i64, hi: i64, power: u32) -> i64 {
    let u: f64 = rng.random();
    let mut p = 1.0;
    for _ in 0..power {
        p *= u;
    }
    lo + ((hi - lo) as f64 * p).round() as i64
}

/// Pick one element of a non-empty slice.
pub(crate) fn choose<'a, T, R: Rng + ?Sized>(rng: &mut R, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}
