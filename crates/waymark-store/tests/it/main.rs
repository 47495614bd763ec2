//! All integration tests of this crate in one binary (one link, less disk and build time).

mod backup;
#[cfg(feature = "postgres")]
mod backup_pg;
mod backup_support;
mod bulk_sqlite;
#[cfg(feature = "postgres")]
mod conformance_pg;
mod conformance_sqlite;
#[cfg(feature = "postgres")]
mod pg_support;
#[cfg(feature = "postgres")]
mod restart_pg;
mod sqlite;
