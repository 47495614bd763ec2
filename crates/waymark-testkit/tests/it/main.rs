//! The testkit's integration tests: the fuzz corpus replayed on stable, the validator's
//! hostile-input limits and the fault-injecting TCP proxy.

mod corpus;
mod limits;
mod proxy;
