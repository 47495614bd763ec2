//! `waymark demo`: the embedded hub, the five source systems' mocks (NOMIS, Athena, ExceliCare,
//! the SCR and SystmOne) each with its adapter, synthetic people (and a few bad messages), and
//! two mock receiving systems, running the pathway end to end.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use base64::Engine as _;
use chrono::Utc;
use clap::Args;
use tokio::sync::mpsc;
use waymark_adapter_nomis::{Faults, MockNomis, Population, PushOptions};
use waymark_bus::Bus;
use waymark_core::SourceSystem;
use waymark_delivery::{DeliveryEvent, mock::MockReceiver};
use waymark_pipeline::{PipelineEvent, Telemetry};
use waymark_store::Store;

use crate::embedded::{EmbeddedHub, EmbeddedOptions, demo_subscriptions};

mod report;
mod sources;

use report::{Tally, print_delivery, print_pipeline, print_reconciliation};
use sources::OtherSources;

/// Run the whole hub on this machine with the five source systems' mocks and two mock receiving
/// systems.
///
/// Prints one line per event as it moves through the hub, then the counts, and per source what
/// its adapter published against what was mapped and quarantined. Without --once it keeps
/// serving (API on 127.0.0.1:PORT) until Ctrl-C.
///
/// Example: waymark demo --once --people 20
#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Run the pathway once and exit: 0 when every good NOMIS event was delivered to every
    /// subscriber, every bad message is in quarantine, and for every source what its adapter
    /// published was mapped or quarantined; 1 otherwise.
    #[arg(long)]
    pub once: bool,
    /// People in the synthetic population.
    #[arg(long, default_value_t = 12)]
    pub people: usize,
    /// Seed of the synthetic population (the same seed gives the same people and events).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Keep the population's fixed 2024-2025 event dates. By default the same events are moved
    /// into the 30 days before the demo starts, the last a minute before, so feed-health lags
    /// read as minutes and days rather than years.
    #[arg(long)]
    pub historic: bool,
    /// Leave out the deliberately bad messages (NOMIS: malformed, unknown prisoner, Prison API
    /// 403, 3 MB; Athena: malformed, duplicate and out-of-order events; ExceliCare: truncated
    /// frames, wrong versions, missing MSH fields and more).
    #[arg(long)]
    pub no_bad: bool,
    /// A population written by `waymark synth`: its seed and size are used (instead of --seed
    /// and --people), after checking this build serves exactly the files it holds.
    #[arg(long)]
    pub population: Option<PathBuf>,
    /// Folder for the hub's files (default: a fresh temporary folder).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The mappings folder (default: ./mappings).
    #[arg(long)]
    pub mappings: Option<PathBuf>,
    /// API port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// With --once: give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

/// Runs the demo; returns the exit code.
pub fn run(args: DemoArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("waymark demo: cannot start the runtime: {err}");
            return 2;
        }
    };
    match runtime.block_on(demo(args)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("waymark demo: {err:#}");
            2
        }
    }
}

async fn demo(mut args: DemoArgs) -> anyhow::Result<u8> {
    if let Some(dir) = &args.population {
        let (seed, people) = crate::synth_cmd::verify(dir)?;
        println!(
            "waymark demo: population {} (seed {seed}, {people} people)",
            dir.display()
        );
        (args.seed, args.people) = (seed, people);
    }
    let temp = tempfile::tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    let mut population = if args.historic {
        Population::synthetic(args.seed, args.people)
    } else {
        Population::synthetic_at(args.seed, args.people, Utc::now())
    };
    if !args.no_bad {
        population = population.with_faults(Faults { bad_events: true });
    }
    let expected = population.expected();
    let nomis = MockNomis::start(population).await?;
    let secret = demo_secret();
    let healthcare = MockReceiver::start(vec![secret.clone()]).await?;
    let probation = MockReceiver::start(vec![secret.clone()]).await?;
    let subscriptions = demo_subscriptions(&healthcare.url(), &probation.url(), &secret);
    let (telemetry, pipeline_rx) = Telemetry::channel();
    let (delivery_tx, delivery_rx) = mpsc::unbounded_channel();
    let opts = EmbeddedOptions {
        data_dir,
        mappings_dir: crate::mappings_dir(args.mappings.as_deref()),
        prison_api_url: nomis.base_url(),
        api_port: args.port,
    };
    let hub = EmbeddedHub::start(&opts, subscriptions, telemetry, delivery_tx).await?;
    println!(
        "waymark demo: hub on {}, API http://{}",
        opts.data_dir.display(),
        hub.api_addr()
    );
    println!(
        "  mock NOMIS: {} people, {} notifications ({} good, of which {} change a record; {} bad); \
         2 subscribers",
        args.people, expected.sent, expected.good, expected.changes, expected.bad
    );
    let tally = Tally::default();
    let printer = tokio::spawn(print_events(pipeline_rx, delivery_rx, tally.clone()));
    let started = Instant::now();
    let bus: Arc<dyn Bus> = hub.bus.clone();
    let others =
        OtherSources::start(bus, &opts.data_dir, args.seed, args.people, !args.no_bad).await?;
    println!("  mock Athena, ExceliCare, SCR and SystmOne: the same seed, their own records");
    let pushed = nomis
        .push_to(&hub.nomis_endpoint(), PushOptions::default())
        .await;
    let want_delivered = expected.changes * 2;
    let published = || {
        let mut all = vec![(SourceSystem::Nomis, pushed.acknowledged as u64)];
        all.extend(others.progress().map(|p| (p.source, p.published)));
        all
    };
    let done = wait_until(args.timeout, || async {
        let quarantined = hub.store.counts().await.map(|c| c.quarantined).unwrap_or(0);
        let nomis_done = tally.of_source(SourceSystem::Nomis);
        let sources_done = others.progress().iter().all(|p| {
            let (mapped, quarantined) = tally.of_source(p.source);
            p.finished && mapped + quarantined == p.published
        }) && nomis_done.0 + nomis_done.1 == pushed.acknowledged as u64;
        healthcare.unique_ids().len() + probation.unique_ids().len() >= want_delivered
            && quarantined as usize >= expected.bad
            && sources_done
            && tally.settled()
    })
    .await;
    let elapsed = started.elapsed();
    let counts = hub.store.counts().await?;
    let all_published = published().iter().map(|(_, n)| *n as usize).sum();
    tally.print_summary(all_published, counts, [&healthcare, &probation], elapsed);
    let reconciled = print_reconciliation(&tally, &published());
    let leaks = report::clinical_leaks(&probation);
    if leaks > 0 {
        println!("  FAIL: the probation subscriber received {leaks} clinical resources");
    }
    let ok = done && reconciled && leaks == 0 && pushed.failed == 0;
    if !args.once {
        println!(
            "serving until Ctrl-C (API http://{0}/health, feed health http://{0}/dashboard)",
            hub.api_addr()
        );
        tokio::signal::ctrl_c().await?;
    }
    others.stop().await;
    hub.stop().await;
    nomis.stop().await;
    printer.abort();
    Ok(if ok { 0 } else { 1 })
}

async fn print_events(
    mut pipeline: mpsc::UnboundedReceiver<PipelineEvent>,
    mut delivery: mpsc::UnboundedReceiver<DeliveryEvent>,
    tally: Tally,
) {
    loop {
        tokio::select! {
            Some(event) = pipeline.recv() => { tally.count_pipeline(&event); print_pipeline(&event) }
            Some(event) = delivery.recv() => { tally.count_delivery(&event); print_delivery(&event) }
            else => break,
        }
    }
}

/// Polls `check` every 100 ms until it is true or `timeout_secs` pass.
async fn wait_until<F, Fut>(timeout_secs: u64, check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A fresh Standard Webhooks secret for this run.
fn demo_secret() -> String {
    let bytes: Vec<u8> = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .copied()
        .collect();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}
