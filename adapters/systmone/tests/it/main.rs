//! The adapter's integration tests, in one binary: the conformance suite every adapter passes,
//! the mock's behaviour, the pull endpoint, the real GP Connect samples, and the population
//! through the SystmOne mapping and the HJMD profile.

mod client;
mod common;
mod conformance;
mod endpoint;
mod mapping;
mod mock;
mod real_samples;
