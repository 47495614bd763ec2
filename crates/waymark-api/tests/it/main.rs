//! All integration tests of this crate in one binary (one link, less disk and build time).

mod audit;
mod auth;
mod auth_jwks;
mod auth_support;
mod dashboard;
mod dry_run;
mod fhir_audit_event;
mod fhir_client;
mod fhir_consent;
mod fhir_everything;
mod fhir_http;
mod fhir_matrix;
mod fhir_read;
mod fhir_tokens;
mod fhir_world;
mod identity;
mod ingest;
mod limits;
mod openapi;
mod pull_sample;
mod python;
mod quarantine;
mod router;
mod schemathesis;
mod subscriptions;
mod support;
