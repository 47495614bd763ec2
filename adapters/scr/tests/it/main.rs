//! Integration tests of the SCR adapter (one binary): the adapter against the mock SCR on
//! loopback, publishing to a real embedded bus (`SqliteBus` in a temp dir).

mod common;
mod conformance;
mod limits;
mod mock;
