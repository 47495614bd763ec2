//! The process `waymark run` starts: open the bus and the store, load the configuration, start
//! the planned stages, wait for SIGTERM or Ctrl-C, stop cleanly.

use std::{collections::BTreeSet, net::SocketAddr, sync::Arc};

use anyhow::{Context as _, anyhow};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};
use waymark_adapter_nomis::{AdapterContext, NomisConfig, RunningAdapter};
use waymark_bus::{Bus, Publisher};
use waymark_delivery::{DeliveryEvent, Subscription};
use waymark_mapping::MappingSet;
use waymark_pipeline::{
    Hub, HubParts, INGEST, POLL_EVERY, Stage, StagePlan, SubscriptionFilter, SubscriptionSet,
    Telemetry,
};
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_store::{AuditLog, Store};

use super::{
    Counts, RunSettings as RunArgs, RunStage, Shard, counts, health,
    load::{endpoint_policy, load_policy, rest_hook, subscription_set},
};

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
    let bus = open_bus(&args.bus)
        .await
        .context("opening the bus")
        .map_err(RunError::Setup)?;
    let store = waymark_store::open(&args.store)
        .await
        .context("opening the store")
        .map_err(RunError::Setup)?;
    let audit = waymark_store::open_audit(&args.store)
        .await
        .context("opening the audit log")
        .map_err(RunError::Setup)?;
    let subscriptions = subscription_set(&args, &store)
        .await
        .map_err(RunError::Setup)?;
    let (telemetry, pipeline_rx) = Telemetry::channel();
    let (delivery_tx, delivery_rx) = mpsc::unbounded_channel();
    let counts = Arc::new(Counts::default());
    let tally = counts::tally(Arc::clone(&counts), pipeline_rx, delivery_rx);
    let policy = load_policy(args.policy.as_deref()).map_err(RunError::Setup)?;
    let wiring = Wiring {
        bus,
        policy,
        store,
        audit,
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

/// What the stages are started with.
struct Wiring {
    bus: Arc<dyn Bus>,
    policy: Arc<Policy>,
    store: Arc<dyn Store>,
    audit: Arc<dyn AuditLog>,
    subscriptions: Arc<SubscriptionSet>,
    telemetry: Telemetry,
    delivery_tx: mpsc::UnboundedSender<DeliveryEvent>,
}

/// What runs, to stop in order: input first, then the stages, then the API.
struct Running {
    adapter: Option<(watch::Sender<bool>, RunningAdapter)>,
    hubs: Vec<Hub>,
    api: Option<JoinHandle<()>>,
    health: Option<JoinHandle<()>>,
    poll: Option<(watch::Sender<bool>, JoinHandle<()>)>,
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
        if let Some((stop, poll)) = self.poll {
            let _ = stop.send(true);
            let _ = poll.await;
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
        poll: None,
    };
    // Other processes (and this one's API) change the subscriptions in the store.
    let (stop_poll, poll_shutdown) = watch::channel(false);
    let set = Arc::clone(&wiring.subscriptions);
    running.poll = Some((stop_poll, tokio::spawn(set.poll(POLL_EVERY, poll_shutdown))));
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
    // The API checks subscriptions written through it with the same endpoint policy the
    // deliveries use, and handshakes with the same client.
    let endpoints = endpoint_policy(args.endpoints);
    let hook = rest_hook(args)?;
    Ok(waymark_api::ApiState {
        store: Arc::clone(&wiring.store),
        bus: Arc::clone(&wiring.bus),
        mappings,
        validator,
        auth: Arc::new(auth),
        audit: Arc::clone(&wiring.audit),
        policy: Arc::clone(&wiring.policy),
        subscriptions: Arc::clone(&wiring.subscriptions),
        endpoints,
        hook,
    })
}

/// One hub for map / record / release (release fans out to every subscription), one for the
/// deliveries of this process's shard; both follow the same live set.
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
        let plan = StagePlan::of(pipeline, args.workers);
        hubs.push(start_plan(parts(args, wiring, mappings, validator)?, &plan).await?);
    }
    if stages.contains(&RunStage::Deliver) {
        report_shard(&wiring.subscriptions.snapshot(), args.shard);
        let shard = args.shard;
        let plan = StagePlan {
            deliver_for: SubscriptionFilter::new(move |id| shard.serves(id)),
            ..StagePlan::of(vec![Stage::Deliver], args.workers)
        };
        hubs.push(start_plan(parts(args, wiring, mappings, validator)?, &plan).await?);
    }
    Ok(hubs)
}

/// Prints which of the subscriptions known at start shard `shard` delivers for (the set may
/// change later: the supervisor follows it).
fn report_shard(subscriptions: &[Subscription], shard: Shard) {
    let ids: Vec<&str> = subscriptions
        .iter()
        .filter(|s| shard.serves(&s.id))
        .map(|s| s.id.as_str())
        .collect();
    eprintln!(
        "waymark run: shard {shard} delivers for {} of {} subscriptions: {}",
        ids.len(),
        subscriptions.len(),
        ids.join(",")
    );
}

async fn start_plan(parts: HubParts, plan: &StagePlan) -> anyhow::Result<Hub> {
    wait_for_bus(&parts).await;
    Hub::start_plan(parts, plan)
        .await
        .context("declaring the queues and starting the stages")
}

fn parts(
    args: &RunArgs,
    wiring: &Wiring,
    mappings: &Arc<MappingSet>,
    validator: &Arc<Validator>,
) -> anyhow::Result<HubParts> {
    Ok(HubParts {
        bus: Arc::clone(&wiring.bus),
        store: Arc::clone(&wiring.store),
        audit: Arc::clone(&wiring.audit),
        mappings: Arc::clone(mappings),
        validator: Arc::clone(validator),
        policy: Arc::clone(&wiring.policy),
        topics: Arc::new(waymark_record::Topics::builtin().context("loading the topics")?),
        subscriptions: Arc::clone(&wiring.subscriptions),
        hook: rest_hook(args)?,
        retry_window: args.retry_window,
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

/// A broker that has only just started may refuse declarations for a few seconds (its quorum
/// queues' replicas are still starting: `INTERNAL_ERROR`): the queues are declared again, once a
/// second, for up to [`BUS_READY_WITHIN`] before the stages start; a bus still refusing then is
/// reported by the start itself.
async fn wait_for_bus(parts: &HubParts) {
    let subscriptions = parts.subscriptions.snapshot();
    let declared = until_bus_ready("the bus refused the queues", || {
        waymark_pipeline::declare_all(parts.bus.as_ref(), &subscriptions)
    });
    let _ = declared.await;
}

/// How long `waymark run` waits for a bus that refuses it at start-up.
const BUS_READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Opens the bus, trying again while a just-started broker refuses (its registry queue
/// answers `noproc` for a few seconds).
async fn open_bus(url: &str) -> Result<Arc<dyn Bus>, waymark_bus::BusError> {
    until_bus_ready("the bus is not ready", || waymark_bus::open(url)).await
}

/// `attempt` once a second while it fails transiently (a broker not ready yet), until it
/// succeeds or [`BUS_READY_WITHIN`] has passed; its last result. A permanent refusal (a queue
/// declared with other rules, an invalid URL) returns at once.
async fn until_bus_ready<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, waymark_bus::BusError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, waymark_bus::BusError>>,
{
    use waymark_core::ErrorCode as _;
    let deadline = std::time::Instant::now() + BUS_READY_WITHIN;
    loop {
        match attempt().await {
            Err(e) if e.is_transient() && std::time::Instant::now() < deadline => {
                eprintln!("waymark run: {what} ({}); retrying", e.code());
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}
