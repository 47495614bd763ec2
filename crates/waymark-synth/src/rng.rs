//! SplitMix64, the crate's only source of randomness, and a keyed permutation used to hand out
//! unique identifiers. Both are written out here so that their output never changes with a
//! dependency's version: same seed, same population, on every machine and every release.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for test data.
#[derive(Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// An independent stream for `(seed, a, b)`, e.g. one per person and observation.
    pub(crate) fn stream(seed: u64, a: u64, b: u64) -> Self {
        let mut s = Self(seed ^ 0x5851_F42D_4C95_7F2D);
        let x = s.next_u64() ^ a.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut s = Self(x);
        let y = s.next_u64() ^ b.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
        Self(y)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift, no modulo bias worth the name); 0 when `n` is 0.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(n);
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    /// Uniform index into a slice of length `len` (0 when empty).
    pub(crate) fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }

    /// Uniform in `[0, 1)`, exactly reproducible (53 random bits).
    pub(crate) fn unit(&mut self) -> f64 {
        let bits = self.next_u64() >> 11;
        // 2^53 fits an f64 exactly; the conversion of a 53-bit integer is exact.
        #[allow(clippy::cast_precision_loss)]
        let x = bits as f64;
        x / 9_007_199_254_740_992.0
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.index(items.len())).copied()
    }

    /// A UUID-shaped hex string.
    pub(crate) fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// A bijection of `0..n` (an affine map `x ↦ a·x + c mod n` with `gcd(a, n) = 1`), so distinct
/// inputs give distinct outputs: how each person gets identifiers no one else has.
#[derive(Clone, Copy)]
pub(crate) struct Permutation {
    n: u64,
    a: u64,
    c: u64,
}

impl Permutation {
    pub(crate) fn new(n: u64, salt: u64) -> Self {
        let n = n.max(1);
        let mut mix = SplitMix64::new(salt);
        let mut a = mix.next_u64() % n;
        while gcd(a, n) != 1 {
            a = (a + 1) % n;
        }
        Self {
            n,
            a,
            c: mix.next_u64() % n,
        }
    }

    /// The image of `x` (taken modulo `n`).
    pub(crate) fn apply(self, x: u64) -> u64 {
        let wide = u128::from(self.a) * u128::from(x % self.n) + u128::from(self.c);
        u64::try_from(wide % u128::from(self.n)).unwrap_or(0)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u64, 7, 100, 676, 1000] {
            let p = Permutation::new(n, 42);
            let mut seen = vec![false; usize::try_from(n).unwrap()];
            for x in 0..n {
                let y = usize::try_from(p.apply(x)).unwrap();
                assert!(!seen[y], "collision at n = {n}");
                seen[y] = true;
            }
        }
    }

    #[test]
    fn unit_stays_in_range_and_chance_follows_p() {
        let mut rng = SplitMix64::new(7);
        let hits = (0..100_000).filter(|_| rng.chance(0.25)).count();
        assert!((24_000..26_000).contains(&hits), "{hits}");
        assert!((0..1000).all(|_| (0.0..1.0).contains(&rng.unit())));
    }
}
