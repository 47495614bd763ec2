//! SplitMix64: the mock's only source of randomness, seeded from (seed, person, stream), so
//! every population renders the same bytes on every machine.

/// SplitMix64 (Steele, Lea, Flood 2014).
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64, person: u64, stream: u64) -> Self {
        let mut rng =
            Self(seed ^ person.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.rotate_left(32));
        rng.next_u64();
        rng
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A stable number in `0..100` for (seed, key, stream): which fault a request meets.
pub(crate) fn bucket(seed: u64, key: &str, stream: u64) -> u8 {
    let folded = key.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    });
    let mut rng = SplitMix64::new(seed, folded, stream);
    u8::try_from(rng.below(100)).unwrap_or(0)
}
