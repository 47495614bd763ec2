//! The Waymark binary's library half: the wiring of a whole embedded hub ([`embedded`]), the
//! demo ([`demo`]) and the one-shot commands ([`commands`]). `main.rs` only parses arguments.
//!
//! This is the one place that knows every adapter (the closed registry); nothing else may
//! depend on this crate.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// This crate is the command line: printing to stdout and stderr is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod commands;
pub mod config_cmd;
pub mod demo;
pub mod embedded;
mod exit;
pub mod mappings_cmd;
mod paths;
pub mod replay;
pub mod run_cmd;
mod sources;
pub mod synth_cmd;

pub use paths::mappings_dir;
