//! All integration tests of this crate in one binary (one link, less disk and build time).

mod backup;
mod bench_cli;
mod canary;
mod cli;
mod common;
mod completeness;
mod config_cli;
mod dashboard;
mod demo_cli;
mod deploy;
mod faults;
mod json_output;
mod mappings_cli;
mod migrate;
mod pathway;
mod processes;
mod redrive;
mod restart;
mod run_health;
mod shutdown;
mod synth;
mod tls;
mod tls_binding;
mod worked_example;
