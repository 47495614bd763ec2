//! A faithful mock of SystmOne as a GP Connect provider, for tests, benchmarks and demos.

mod bundle;
mod clinical;
mod faults;
mod population;
mod rng;
mod server;

pub use bundle::UNKNOWN_EXTENSION;
pub use faults::{Fault, MockFaults};
pub use population::{MockData, MockRecord};
pub use server::MockSystmOne;

impl MockSystmOne {
    /// The SystmOne records of `waymark_synth::Population::generate(seed, people)`, with
    /// `faults`, served on a free loopback port.
    pub async fn synthetic(seed: u64, people: usize, faults: &MockFaults) -> std::io::Result<Self> {
        let data = MockData::synthetic(seed, people, faults);
        Self::start(data, faults.slow, faults.disordered_feed).await
    }
}
