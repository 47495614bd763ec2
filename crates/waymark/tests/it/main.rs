//! All integration tests of this crate in one binary (one link, less disk and build time).

mod backup;
mod canary;
mod cli;
mod common;
mod completeness;
mod config_cli;
mod dashboard;
mod demo_cli;
mod deploy;
mod mappings_cli;
mod pathway;
mod processes;
mod redrive;
mod restart;
mod run_health;
mod synth;
