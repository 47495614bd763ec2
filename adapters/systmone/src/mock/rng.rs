//! SplitMix64: the mock's only source of randomness, seeded from (seed, person), so every
//! record is reproducible byte for byte.

/// SplitMix64 (Steele, Lea, Flood 2014).
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream for one use (`tag`) of one person's randomness.
    pub(crate) fn stream(seed: u64, person: u64, tag: u64) -> Self {
        let mut rng = Self(seed ^ tag.rotate_left(17));
        let mixed = rng.next_u64() ^ person.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Self(mixed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub(crate) fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A UUID-shaped hex string.
    pub(crate) fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 52) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    /// A 14-digit provider data identifier, as GP Connect providers write them.
    pub(crate) fn data_id(&mut self) -> String {
        format!("{:014}", self.below(100_000_000_000_000))
    }
}
