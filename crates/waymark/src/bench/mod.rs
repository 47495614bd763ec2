//! `waymark bench`: the hub against this machine's ceilings and against peer pipelines, in one
//! run (issue 12, method in `docs/benchmarks.md`). Sections run in a fixed order — ceilings
//! first — each filling the [`report::Report`]; a progress line per step goes to stderr.

pub mod broker;
pub mod db;
pub mod e2e;
pub mod fixtures;
pub mod goals;
pub mod hub;
pub mod local;
pub mod machine;
pub mod peers;
pub mod recovery;
pub mod report;
pub mod run_ceilings;
pub mod run_e2e;
pub mod run_scaling;
pub mod scaling;
pub mod services;
pub mod stages;
pub mod stats;
pub mod subs;

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use waymark_mapping::MappingSet;
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_record::Topics;

/// A part of the run (`--only`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Section {
    /// Broker, database, loopback HTTP, JSON and fsync alone.
    Ceilings,
    /// Envelopes/s end to end on both backends.
    EndToEnd,
    /// Latency at 25/50/75/90 % of the maximum.
    Latency,
    /// 10 k → 1 M people in the store.
    Scaling,
    /// 1 → 1,000 subscriptions, 1 % slow and 1 % failing.
    Subscriptions,
    /// Draining a backlog queued while no stage runs; RSS per 10 k in-flight envelopes.
    Recovery,
    /// Each stage alone, µs per record.
    Stages,
    /// The Node.js and Python pipelines and the per-stage peers.
    Peers,
}

impl Section {
    /// Every section, in the order they run.
    pub const ALL: [Self; 8] = [
        Self::Ceilings,
        Self::EndToEnd,
        Self::Latency,
        Self::Scaling,
        Self::Subscriptions,
        Self::Recovery,
        Self::Stages,
        Self::Peers,
    ];
}

/// How a run is done.
#[derive(Clone, Debug)]
pub struct Options {
    /// Smaller sizes (about 3 minutes).
    pub quick: bool,
    /// Synthetic people whose NOMIS envelopes go through the hub.
    pub people: usize,
    /// Sections to run.
    pub only: Vec<Section>,
    /// Where the report (and the peers' installs and fixtures) go.
    pub out: PathBuf,
    /// Only what needs no service (no RabbitMQ, PostgreSQL, npm or PyPI).
    pub embedded_only: bool,
    /// Workers per stage.
    pub workers: usize,
    /// Envelopes in the recovery backlog.
    pub backlog: usize,
    /// The repository root (for `deploy/local/` and `bench/peers/`).
    pub repo: PathBuf,
}

impl Options {
    /// Whether `section` runs.
    pub fn runs(&self, section: Section) -> bool {
        self.only.is_empty() || self.only.contains(&section)
    }
}

/// What every section shares: the hub's loaded data files.
pub struct Shared {
    /// Mappings.
    pub mappings: Arc<MappingSet>,
    /// The profile validator.
    pub validator: Arc<Validator>,
    /// The role policy.
    pub policy: Arc<Policy>,
    /// Pathway topics.
    pub topics: Arc<Topics>,
}

impl Shared {
    /// Loads the mappings from `mappings` and the built-in profile, policy and topics.
    pub fn load(mappings: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Self {
            mappings: Arc::new(MappingSet::load(mappings)?),
            validator: Arc::new(Validator::r4()?),
            policy: Arc::new(Policy::builtin()?),
            topics: Arc::new(Topics::builtin()?),
        })
    }
}

/// A progress line on stderr: elapsed time, the section, what is being done.
pub struct Progress {
    start: Instant,
}

impl Progress {
    /// Starts the clock.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    /// Prints one line.
    pub fn say(&self, section: &str, what: &str) {
        let t = self.start.elapsed();
        eprintln!("[bench {:>4}s] {section}: {what}", t.as_secs());
    }

    /// Seconds since the start.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs the chosen sections and returns the report (not yet written).
pub async fn run(opts: &Options, command: &str) -> anyhow::Result<report::Report> {
    let progress = Progress::new();
    let mut report = report::Report::new(machine::facts(), command);
    let services = services::Services::resolve(opts, &mut report, &progress)?;
    progress.say(
        "setup",
        "loading mappings, profile and policy; capturing envelopes",
    );
    let shared = Shared::load(&crate::paths::mappings_dir(None))?;
    let fixtures =
        fixtures::Fixtures::build(opts.people, &shared.mappings, &shared.validator).await?;
    report.set(&["fixtures"], fixtures_json(&fixtures, opts));
    let mut cx = Context {
        opts,
        shared: &shared,
        fixtures: &fixtures,
        services: &services,
        progress: &progress,
        report: &mut report,
    };
    for section in Section::ALL {
        if !opts.runs(section) {
            cx.report
                .skip(&format!("{section:?}"), "not asked for (--only)");
            continue;
        }
        let name = format!("{section:?}");
        cx.progress.say(&name, "start");
        let outcome = match section {
            Section::Ceilings => run_ceilings::run(&mut cx).await,
            Section::EndToEnd => run_e2e::throughput(&mut cx).await,
            Section::Latency => run_e2e::latency(&mut cx).await,
            Section::Scaling => run_scaling::people(&mut cx).await,
            Section::Subscriptions => run_scaling::subscriptions(&mut cx).await,
            Section::Recovery => recovery::run(&mut cx).await,
            Section::Stages => run_e2e::stages(&mut cx).await,
            Section::Peers => peers::run(&mut cx).await,
        };
        if let Err(err) = outcome {
            cx.progress.say(&name, &format!("FAILED: {err:#}"));
            cx.report.skip(&name, &format!("failed: {err:#}"));
        }
    }
    goals::evaluate(&mut report);
    report.set(
        &["duration_s"],
        serde_json::json!(progress.elapsed().as_secs_f64()),
    );
    Ok(report)
}

fn fixtures_json(f: &fixtures::Fixtures, opts: &Options) -> serde_json::Value {
    serde_json::json!({"source": "NOMIS (mock NOMIS → the real adapter), seed 42",
        "people": f.people, "envelopes": f.messages.len(), "mapped": f.bundles.len(),
        "workers_per_stage": opts.workers, "quick": opts.quick})
}

/// What a section runs with.
pub struct Context<'a> {
    /// The options.
    pub opts: &'a Options,
    /// Loaded data files.
    pub shared: &'a Shared,
    /// The envelopes.
    pub fixtures: &'a fixtures::Fixtures,
    /// RabbitMQ and PostgreSQL, where available.
    pub services: &'a services::Services,
    /// Progress lines.
    pub progress: &'a Progress,
    /// The report being filled.
    pub report: &'a mut report::Report,
}
