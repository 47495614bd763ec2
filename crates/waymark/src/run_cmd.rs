//! `waymark run`: one hub process running the stages it is told to, on a bus and a store named
//! by URL. Several processes, each with some stages, make one hub (RabbitMQ + PostgreSQL).
//!
//! Work sharing across processes (ADR 0005): the map and record queues are unordered, so every
//! map (record) process takes a share; the release queue is ordered, so one release process
//! is active and the others stand by; delivery is sharded by subscription (`--shard I/N`: the
//! subscriptions whose stable hash of the id, mod N, is I), and two processes of one shard are
//! active / standby on each of its subscription queues.
//!
//! Logs go to stderr and never hold patient data. Every second it prints a `handled` line of
//! counts (messages mapped, recorded, ... by this process) when they changed, and a `stopped`
//! line with the final counts on exit.

use std::{net::IpAddr, path::PathBuf};

use clap::{Args, ValueEnum};

use crate::exit::{OK, REFUSED, UNREADABLE};

#[path = "run/counts.rs"]
mod counts;
#[path = "run/load.rs"]
mod load;
#[path = "run/process.rs"]
mod process;
pub(crate) use load::load_subscriptions;
#[path = "run/health.rs"]
mod health;
#[path = "run/settings.rs"]
mod settings;
#[path = "run/shard.rs"]
mod shard;

pub use counts::Counts;
pub use settings::RunSettings;
pub use shard::Shard;

/// A stage `waymark run` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum RunStage {
    /// The NOMIS adapter's SNS endpoint, publishing envelopes to the ingest queue.
    Ingest,
    /// Envelopes → validated canonical bundles (work shared among map processes).
    Map,
    /// Canonical bundles → the person's record (work shared among record processes).
    Record,
    /// Pathway events → each subscription's queue (one active process, others stand by).
    Release,
    /// Subscription queues → rest-hook deliveries (sharded by `--shard`).
    Deliver,
    /// The FHIR API on `--port`.
    Api,
    /// Every stage above.
    All,
}

/// Run hub stages as one process, on a shared bus and store.
///
/// Several processes may run the same stage: map and record share the work; release and each
/// subscription's deliveries run in one process at a time (the others stand by); `--shard I/N`
/// spreads subscriptions over delivery processes. Stops cleanly on SIGTERM or Ctrl-C (each
/// worker finishes its current message). Exit 0 after a clean stop, 1 when the hub failed while
/// running, 2 when the configuration is wrong or a service cannot be reached.
///
/// Settings come from the flags (or their environment variables), then the configuration file
/// given by --config (`waymark config check FILE` explains it), then the defaults shown.
///
/// Example: waymark run --stage map --stage record --bus amqp://guest:guest@127.0.0.1:5672/%2f --store postgres://waymark@127.0.0.1/waymark --workers 2
///
/// Example: waymark run --config /etc/waymark/waymark.toml --stage deliver --shard 1/2 --health-port 9090
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A stage to run (repeat for more): ingest, map, record, release, deliver, api, all.
    #[arg(
        long = "stage",
        value_enum,
        required = true,
        env = "WAYMARK_STAGES",
        value_delimiter = ','
    )]
    pub stages: Vec<RunStage>,
    /// The configuration file (TOML, version 1; see deploy/config/).
    #[arg(long, env = "WAYMARK_CONFIG")]
    pub config: Option<PathBuf>,
    /// The bus: `amqp://...` (RabbitMQ) or `sqlite://PATH` (one process only).
    #[arg(
        long,
        env = "WAYMARK_BUS_URL",
        hide_env_values = true,
        required_unless_present = "config"
    )]
    pub bus: Option<String>,
    /// The store: `postgres://...` or `sqlite://PATH`.
    #[arg(
        long,
        env = "WAYMARK_STORE_URL",
        hide_env_values = true,
        required_unless_present = "config"
    )]
    pub store: Option<String>,
    /// The mappings folder (default: ./mappings).
    #[arg(long, env = "WAYMARK_MAPPINGS")]
    pub mappings: Option<PathBuf>,
    /// A JSON file holding an array of subscriptions (version 1); none when absent.
    #[arg(long, env = "WAYMARK_SUBSCRIPTIONS")]
    pub subscriptions: Option<PathBuf>,
    /// The API's authentication file (JSON); without it, the development issuer of
    /// WAYMARK_DATA_DIR (default hub-data), which production refuses.
    #[arg(long, env = "WAYMARK_AUTH_CONFIG")]
    pub auth: Option<PathBuf>,
    /// Concurrent workers per stage (per subscription for deliver) [default: 1].
    #[arg(long, env = "WAYMARK_WORKERS")]
    pub workers: Option<usize>,
    /// The delivery shard `I/N`: deliver for the subscriptions whose id hashes to I mod N
    /// [default: 0/1].
    #[arg(long, env = "WAYMARK_SHARD")]
    pub shard: Option<Shard>,
    /// The API's port (0: any free port) [default: 8080].
    #[arg(long, env = "WAYMARK_PORT")]
    pub port: Option<u16>,
    /// The address the API, the ingest endpoint and the health endpoint listen on
    /// [default: 127.0.0.1].
    #[arg(long, env = "WAYMARK_LISTEN")]
    pub listen: Option<IpAddr>,
    /// The ingest endpoint's port (0: any free port; the endpoint is logged) [default: 0].
    #[arg(long, env = "WAYMARK_INGEST_PORT")]
    pub ingest_port: Option<u16>,
    /// Base URL of the Prison API the NOMIS adapter enriches from (needed by ingest).
    #[arg(long, env = "WAYMARK_PRISON_API_URL")]
    pub prison_api: Option<String>,
    /// Serve `GET /health` (bus link and store; 200 or 503) on this port, for the probes of a
    /// process without the API.
    #[arg(long, env = "WAYMARK_HEALTH_PORT")]
    pub health_port: Option<u16>,
}

/// Runs `waymark run` until SIGTERM or Ctrl-C; returns the exit code.
pub fn run(args: RunArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("waymark run: cannot start the runtime: {error}");
            return REFUSED;
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let settings = match settings::resolve(args, &env) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("waymark run: {error:#}");
            return UNREADABLE;
        }
    };
    match runtime.block_on(process::run(settings)) {
        Ok(()) => OK,
        Err(process::RunError::Setup(error)) => {
            eprintln!("waymark run: {error:#}");
            UNREADABLE
        }
        Err(process::RunError::Running(error)) => {
            eprintln!("waymark run: {error:#}");
            REFUSED
        }
    }
}
