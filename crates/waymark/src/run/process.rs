//! The process `waymark run` starts: open the bus and the store, load the configuration, start
//! the planned stages, wait for SIGTERM or Ctrl-C, stop cleanly.

use std::{collections::BTreeSet, net::SocketAddr, path::Path, sync::Arc};

use anyhow::{Context as _, anyhow};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};
use waymark_adapter_nomis::{AdapterContext, NomisConfig, RunningAdapter};
use waymark_bus::{Bus, Publisher};
use waymark_delivery::{DeliveryEvent, RestHook, RestHookConfig, Subscription};
use waymark_mapping::MappingSet;
use waymark_pipeline::{Hub, HubParts, INGEST, Stage, StagePlan, Telemetry};
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_store::Store;

use super::{Counts, RunSettings as RunArgs, RunStage, Shard, counts, health};

/// Why `waymark run` ended badly.
pub(super) enum RunError {
    /// The configuration is wrong, or the bus or store cannot be reached (exit 2).
    Setup(anyhow::Error),
    /// The hub failed while running (exit 1).
    Running(anyhow::Error),
}

/// Runs the process until a stop signal.
pub(super) async fn run(args: RunArgs) -> Result<(), RunError> {
    let stages = expand(&args.stages);
    let bus = waymark_bus::open(&args.bus)
        .await
        .context("opening the bus")
        .map_err(RunError::Setup)?;
    let store = waymark_store::open(&args.store)
        .await
        .context("opening the store")
        .map_err(RunError::Setup)?;
    let subscriptions =
        load_subscriptions(args.subscriptions.as_deref()).map_err(RunError::Setup)?;
    let (telemetry, pipeline_rx) = Telemetry::channel();
    let (delivery_tx, delivery_rx) = mpsc::unbounded_channel();
    let counts = Arc::new(Counts::default());
    let tally = counts::tally(Arc::clone(&counts), pipeline_rx, delivery_rx);
    let policy = load_policy(args.policy.as_deref()).map_err(RunError::Setup)?;
    let wiring = Wiring {
        bus,
        policy,
        store,
        subscriptions,
        telemetry,
        delivery_tx,
    };
    let running = start(&args, &stages, wiring)
        .await
        .map_err(RunError::Setup)?;
    let names: Vec<&str> = stages.iter().map(|s| name(*s)).collect();
    eprintln!(
        "waymark run: ready stages={} shard={} workers={} pid={}",
        names.join(","),
        args.shard,
        args.workers.max(1),
        std::process::id()
    );
    let stopped = stop_signal().await;
    eprintln!("waymark run: stopping (finishing current messages)");
    running.stop().await;
    tally.abort();
    eprintln!("waymark run: stopped {}", counts.line());
    stopped.map_err(RunError::Running)
}

/// The requested stages, `all` expanded.
fn expand(requested: &[RunStage]) -> BTreeSet<RunStage> {
    if requested.contains(&RunStage::All) {
        return [
            RunStage::Ingest,
            RunStage::Map,
            RunStage::Record,
            RunStage::Release,
            RunStage::Deliver,
            RunStage::Api,
        ]
        .into();
    }
    requested.iter().copied().collect()
}

fn name(stage: RunStage) -> &'static str {
    match stage {
        RunStage::Ingest => "ingest",
        RunStage::Map => "map",
        RunStage::Record => "record",
        RunStage::Release => "release",
        RunStage::Deliver => "deliver",
        RunStage::Api => "api",
        RunStage::All => "all",
    }
}

/// Reads and validates the subscription file: a JSON array of version-1 subscriptions with
/// distinct ids. No file: no subscriptions.
pub(crate) fn load_subscriptions(path: Option<&Path>) -> anyhow::Result<Vec<Subscription>> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the subscriptions file {}", path.display()))?;
    let subs: Vec<Subscription> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an array of subscriptions", path.display()))?;
    let mut ids = BTreeSet::new();
    for sub in &subs {
        sub.validate()
            .with_context(|| format!("subscription `{}` is invalid", sub.id))?;
        if !ids.insert(sub.id.as_str()) {
            return Err(anyhow!("subscription id `{}` appears twice", sub.id));
        }
    }
    Ok(subs)
}

/// The role policy: the file given (`hub.policy`), with the built-in derived alerts, or the
/// built-in policy.
fn load_policy(path: Option<&Path>) -> anyhow::Result<Arc<Policy>> {
    let Some(path) = path else {
        return Ok(Arc::new(
            Policy::builtin().context("loading the role policy")?,
        ));
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the role policy {}", path.display()))?;
    let alerts = waymark_policy::DerivedAlerts::builtin().context("loading the derived alerts")?;
    let policy =
        Policy::from_json(&text).with_context(|| format!("the role policy {}", path.display()))?;
    Ok(Arc::new(policy.with_derived_alerts(alerts)))
}

/// What the stages are started with.
struct Wiring {
    bus: Arc<dyn Bus>,
    policy: Arc<Policy>,
    store: Arc<dyn Store>,
    subscriptions: Vec<Subscription>,
    telemetry: Telemetry,
    delivery_tx: mpsc::UnboundedSender<DeliveryEvent>,
}

/// What runs, to stop in order: input first, then the stages, then the API.
struct Running {
    adapter: Option<(watch::Sender<bool>, RunningAdapter)>,
    hubs: Vec<Hub>,
    api: Option<JoinHandle<()>>,
    health: Option<JoinHandle<()>>,
}

impl Running {
    async fn stop(self) {
        if let Some((stop, adapter)) = self.adapter {
            let _ = stop.send(true);
            if let Err(error) = adapter.stopped().await {
                tracing::warn!(error = %error, "the ingest endpoint stopped with an error");
            }
        }
        for hub in self.hubs {
            hub.stop().await;
        }
        if let Some(api) = self.api {
            api.abort();
        }
        if let Some(health) = self.health {
            health.abort();
        }
    }
}

async fn start(
    args: &RunArgs,
    stages: &BTreeSet<RunStage>,
    wiring: Wiring,
) -> anyhow::Result<Running> {
    let mappings = Arc::new(
        MappingSet::load(&crate::mappings_dir(args.mappings.as_deref()))
            .context("loading the mappings")?,
    );
    let validator = Arc::new(Validator::r4().context("loading the profile")?);
    let mut running = Running {
        adapter: None,
        hubs: Vec::new(),
        api: None,
        health: None,
    };
    if let Some(port) = args.health_port {
        let (bus, store) = (Arc::clone(&wiring.bus), Arc::clone(&wiring.store));
        running.health = Some(health::serve(args.listen, port, bus, store).await?);
    }
    running.hubs = start_hubs(args, stages, &wiring, &mappings, &validator).await?;
    if stages.contains(&RunStage::Ingest) {
        running.adapter = Some(start_ingest(args, Arc::clone(&wiring.bus)).await?);
    }
    if stages.contains(&RunStage::Api) {
        let state = api_state(args, &wiring, mappings, validator).await?;
        running.api = Some(start_api(waymark_api::router(state), args).await?);
    }
    Ok(running)
}

/// The API's parts: authentication from `--auth` / `WAYMARK_AUTH_CONFIG` (a JSON auth config file) or,
/// without it, the development issuer kept in `WAYMARK_DATA_DIR` (default `hub-data`, as for
/// `waymark token`); the audit log in the store; the built-in role policy.
async fn api_state(
    args: &RunArgs,
    wiring: &Wiring,
    mappings: Arc<MappingSet>,
    validator: Arc<Validator>,
) -> anyhow::Result<waymark_api::ApiState> {
    let config = args.auth.clone();
    let data_dir = std::env::var_os("WAYMARK_DATA_DIR").map_or_else(
        || std::path::PathBuf::from("hub-data"),
        std::path::PathBuf::from,
    );
    let auth = waymark_api::auth::hub_authenticator(config.as_deref(), &data_dir)
        .await
        .context("loading the API's authentication")?;
    let audit = waymark_store::open_audit(&args.store)
        .await
        .context("opening the audit log")?;
    Ok(waymark_api::ApiState {
        store: Arc::clone(&wiring.store),
        bus: Arc::clone(&wiring.bus),
        mappings,
        validator,
        auth: Arc::new(auth),
        audit,
        policy: Arc::clone(&wiring.policy),
        subscriptions: Arc::new(wiring.subscriptions.clone()),
    })
}

/// One hub for map / record / release (with every subscription: release fans out to all), one
/// for the deliveries of this process's shard.
async fn start_hubs(
    args: &RunArgs,
    stages: &BTreeSet<RunStage>,
    wiring: &Wiring,
    mappings: &Arc<MappingSet>,
    validator: &Arc<Validator>,
) -> anyhow::Result<Vec<Hub>> {
    let pipeline: Vec<Stage> = [
        (RunStage::Map, Stage::Map),
        (RunStage::Record, Stage::Record),
        (RunStage::Release, Stage::Release),
    ]
    .into_iter()
    .filter(|(run, _)| stages.contains(run))
    .map(|(_, stage)| stage)
    .collect();
    let mut hubs = Vec::new();
    if !pipeline.is_empty() {
        let parts = parts(wiring, mappings, validator, wiring.subscriptions.clone())?;
        hubs.push(start_plan(parts, pipeline, args.workers).await?);
    }
    if stages.contains(&RunStage::Deliver) {
        let mine = shard_of(&wiring.subscriptions, args.shard);
        let parts = parts(wiring, mappings, validator, mine)?;
        hubs.push(start_plan(parts, vec![Stage::Deliver], args.workers).await?);
    }
    Ok(hubs)
}

/// The subscriptions shard `shard` delivers for.
fn shard_of(subscriptions: &[Subscription], shard: Shard) -> Vec<Subscription> {
    let mine: Vec<Subscription> = subscriptions
        .iter()
        .filter(|s| shard.serves(&s.id))
        .cloned()
        .collect();
    let ids: Vec<&str> = mine.iter().map(|s| s.id.as_str()).collect();
    eprintln!(
        "waymark run: shard {shard} delivers for {} of {} subscriptions: {}",
        mine.len(),
        subscriptions.len(),
        ids.join(",")
    );
    mine
}

async fn start_plan(parts: HubParts, stages: Vec<Stage>, workers: usize) -> anyhow::Result<Hub> {
    let plan = StagePlan { stages, workers };
    Hub::start_plan(parts, &plan)
        .await
        .context("declaring the queues and starting the stages")
}

fn parts(
    wiring: &Wiring,
    mappings: &Arc<MappingSet>,
    validator: &Arc<Validator>,
    subscriptions: Vec<Subscription>,
) -> anyhow::Result<HubParts> {
    Ok(HubParts {
        bus: Arc::clone(&wiring.bus),
        store: Arc::clone(&wiring.store),
        mappings: Arc::clone(mappings),
        validator: Arc::clone(validator),
        policy: Arc::clone(&wiring.policy),
        topics: Arc::new(waymark_record::Topics::builtin().context("loading the topics")?),
        subscriptions,
        hook: RestHook::new(&RestHookConfig::default()).context("the webhook client")?,
        telemetry: wiring.telemetry.clone(),
        delivery_events: wiring.delivery_tx.clone(),
    })
}

/// The NOMIS adapter's SNS endpoint, publishing to the ingest queue.
async fn start_ingest(
    args: &RunArgs,
    bus: Arc<dyn Bus>,
) -> anyhow::Result<(watch::Sender<bool>, RunningAdapter)> {
    let prison_api = args
        .prison_api
        .as_deref()
        .ok_or_else(|| anyhow!("the ingest stage needs --prison-api (the Prison API's URL)"))?;
    waymark_pipeline::declare_all(bus.as_ref(), &[])
        .await
        .context("declaring the queues")?;
    let (stop, shutdown) = watch::channel(false);
    let cx = AdapterContext {
        publisher: Publisher::new(bus, INGEST),
        shutdown,
    };
    let listen = SocketAddr::new(args.listen, args.ingest_port);
    let adapter = NomisConfig::new(listen, prison_api)
        .build(cx)
        .await
        .context("starting the NOMIS endpoint")?;
    eprintln!("waymark run: ingest endpoint {}", adapter.endpoint());
    Ok((stop, adapter))
}

async fn start_api(app: axum::Router, args: &RunArgs) -> anyhow::Result<JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind((args.listen, args.port))
        .await
        .with_context(|| format!("binding the API to {}:{}", args.listen, args.port))?;
    eprintln!("waymark run: api on http://{}", listener.local_addr()?);
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(error = %error, "the API stopped");
        }
    }))
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            ctrl_c = tokio::signal::ctrl_c() => ctrl_c.context("listening for Ctrl-C"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("listening for Ctrl-C")
    }
}
