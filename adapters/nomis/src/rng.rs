//! The mocks' shared SplitMix64 (`waymark_synth::MockRng`), under this crate's old name.

pub(crate) use waymark_synth::MockRng as SplitMix64;
