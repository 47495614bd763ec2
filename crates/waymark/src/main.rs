//! `waymark`: the command line of the Waymark hub.
//!
//! Exit codes (every command): 0 success; 1 the input was refused (invalid bundle, mapping
//! failure, demo incomplete); 2 the input could not be read or the arguments are wrong.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use waymark::{commands, demo};

/// Waymark: a FHIR R4 integration hub for the health and justice pathway.
#[derive(Parser)]
#[command(
    name = "waymark",
    version,
    about = "Waymark: a FHIR R4 integration hub for the health and justice pathway",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Demo(demo::DemoArgs),
    Map(commands::MapArgs),
    Validate(commands::ValidateArgs),
    Redact(commands::RedactArgs),
    Replay(waymark::replay::ReplayArgs),
    Mappings(waymark::mappings_cmd::MappingsArgs),
    Token(commands::token_cmd::TokenArgs),
    Backup(commands::backup_cmd::BackupArgs),
    Restore(commands::backup_cmd::RestoreArgs),
    Audit(commands::audit_cmd::AuditArgs),
    Run(waymark::run_cmd::RunArgs),
    Config(waymark::config_cmd::ConfigArgs),
    Synth(waymark::synth_cmd::SynthArgs),
    Bench(commands::bench_cmd::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The bench's failing and slow endpoints make expected retry warnings: errors only there.
    init_tracing(if matches!(cli.command, Command::Bench(_)) {
        "error"
    } else {
        "warn"
    });
    let code = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Map(args) => commands::map(&args),
        Command::Validate(args) => commands::validate(&args),
        Command::Redact(args) => commands::redact(&args),
        Command::Replay(args) => waymark::replay::run(&args),
        Command::Mappings(args) => waymark::mappings_cmd::run(&args),
        Command::Token(args) => commands::token_cmd::run(&args),
        Command::Backup(args) => commands::backup_cmd::run_backup(&args),
        Command::Restore(args) => commands::backup_cmd::run_restore(&args),
        Command::Audit(args) => commands::audit_cmd::run(&args),
        Command::Run(args) => waymark::run_cmd::run(args),
        Command::Config(args) => waymark::config_cmd::run(&args),
        Command::Synth(args) => waymark::synth_cmd::run(&args),
        Command::Bench(args) => commands::bench_cmd::run(&args),
    };
    ExitCode::from(code)
}

/// Logs go to stderr, warnings and above (errors only for `bench`) unless `RUST_LOG` says
/// otherwise. Stdout is the
/// command's output.
fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
