//! The testkit's integration tests: the fuzz corpus replayed on stable, and the validator's
//! hostile-input limits.

mod corpus;
mod limits;
