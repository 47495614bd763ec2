//! All integration tests of this crate in one binary (one link, less disk and build time).

mod audit;
mod auth;
mod auth_jwks;
mod auth_support;
mod dashboard;
mod dry_run;
mod identity;
mod quarantine;
mod router;
