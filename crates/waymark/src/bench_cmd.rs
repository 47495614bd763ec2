//! `waymark bench`: the hub against this machine's ceilings and against peer pipelines, one
//! command, one report (`target/bench/report.json`, `report.md`, a table on stdout).

use std::path::{Path, PathBuf};

use clap::Args;

use crate::exit::{OK, UNREADABLE};

/// The benchmark harness itself (its own folder).
#[path = "bench/mod.rs"]
pub mod bench;

pub use bench::Section;

/// Measure the hub end to end against this machine's ceilings and against Node.js and Python
/// pipelines doing the same job, in one run; write a JSON and Markdown report.
///
/// Uses RabbitMQ and PostgreSQL from WAYMARK_AMQP_URL / WAYMARK_PG_URL, else starts them with
/// deploy/local/; installs the peers from npm and PyPI into <out>/peers when missing.
///
/// Example: waymark bench --quick
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Smaller sizes: about 3 minutes (no 1 M people, no 1,000 subscriptions).
    #[arg(long)]
    pub quick: bool,
    /// Synthetic people whose NOMIS envelopes go through the hub (about 3 envelopes each);
    /// default 300, 100 with --quick.
    #[arg(long)]
    pub people: Option<usize>,
    /// Run only these sections (comma separated; repeatable).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Section>,
    /// Where the report goes.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
    /// Measure only what needs no service: no RabbitMQ, PostgreSQL, npm or PyPI (the report
    /// lists what was skipped).
    #[arg(long)]
    pub embedded_only: bool,
    /// Workers per stage.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Envelopes queued with no stage running, then drained (the recovery section);
    /// default 5000, 500 with --quick.
    #[arg(long)]
    pub backlog: Option<usize>,
    /// Internal: pre-load `--people` persons into this SQLite store file, print persons/s and
    /// exit (the scaling section runs its setup in a child process this way).
    #[arg(long, hide = true)]
    pub preload_into: Option<PathBuf>,
}

/// `waymark bench`.
pub fn run(args: &BenchArgs) -> u8 {
    let opts = bench::Options {
        quick: args.quick,
        people: args
            .people
            .unwrap_or(if args.quick { 100 } else { 300 })
            .max(1),
        only: args.only.clone(),
        out: args.out.clone(),
        embedded_only: args.embedded_only,
        workers: args.workers.max(1),
        backlog: args
            .backlog
            .unwrap_or(if args.quick { 500 } else { 5_000 })
            .max(1),
        repo: repo_root(),
    };
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("waymark bench: cannot start the runtime: {err}");
            return UNREADABLE;
        }
    };
    if let Some(path) = &args.preload_into {
        let people = args.people.unwrap_or(0) as u64;
        return match runtime.block_on(bench::scaling::preload_file(path, people)) {
            Ok(rate) => {
                println!("{rate}");
                OK
            }
            Err(err) => {
                eprintln!("waymark bench: pre-load failed: {err:#}");
                UNREADABLE
            }
        };
    }
    let report = match runtime.block_on(bench::run(&opts, &command)) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("waymark bench: {err:#}");
            return UNREADABLE;
        }
    };
    print!("{}", report.table());
    if let Err(err) = report.write(&opts.out) {
        eprintln!("waymark bench: cannot write the report: {err}");
        return UNREADABLE;
    }
    eprintln!("report: {}/report.json, report.md", opts.out.display());
    OK
}

/// The repository root: the working directory when it holds `bench/peers`, else the source
/// tree this binary was built from.
fn repo_root() -> PathBuf {
    if Path::new("bench/peers").is_dir() {
        return PathBuf::from(".");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
