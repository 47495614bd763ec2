//! One hub process, embedded: the SQLite bus and store, the five stages, the NOMIS adapter and
//! the API, wired together. The demo and the end-to-end tests both start exactly this.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use anyhow::Context as _;
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};
use waymark_adapter_nomis::{AdapterContext, NomisConfig, RunningAdapter};
use waymark_bus::{Bus, Publisher, SqliteBus};
use waymark_core::Role;
use waymark_delivery::{
    DeliveryEvent, PayloadMode, RETRY_WINDOW, RestHook, RestHookConfig, Subscription,
};
use waymark_mapping::MappingSet;
use waymark_pipeline::{Hub, HubParts, INGEST, SubscriptionSet, Telemetry};
use waymark_policy::{Policy, Recipient};
use waymark_profile::Validator;
use waymark_store::SqliteStore;

mod health;

pub use health::HealthTap;
pub(crate) use health::from_delivery;
pub use waymark_health::{FeedRule, HealthBoard, HealthConfig};

/// Where a hub keeps its files and finds its data.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    /// Folder for `bus.db` and `store.db`.
    pub data_dir: PathBuf,
    /// The `mappings/` folder.
    pub mappings_dir: PathBuf,
    /// Base URL of the Prison API the NOMIS adapter enriches from.
    pub prison_api_url: String,
    /// Loopback port for the API (0: any free port).
    pub api_port: u16,
}

/// A running embedded hub.
pub struct EmbeddedHub {
    /// The bus.
    pub bus: Arc<SqliteBus>,
    /// The store.
    pub store: Arc<SqliteStore>,
    hub: Hub,
    adapter: RunningAdapter,
    adapter_stop: watch::Sender<bool>,
    api_addr: SocketAddr,
    api: JoinHandle<()>,
    /// Feed health, fed by every stage and delivery event.
    pub health: waymark_api::SharedHealth,
    /// The live subscriptions (kept in the store), shared by the API and the stages.
    pub subscriptions: Arc<SubscriptionSet>,
    tap: HealthTap,
}

impl EmbeddedHub {
    /// Opens the files, loads mappings, profile and policy, and starts every stage, the NOMIS
    /// adapter and the API.
    pub async fn start(
        opts: &EmbeddedOptions,
        subscriptions: Vec<Subscription>,
        telemetry: Telemetry,
        delivery_events: mpsc::UnboundedSender<DeliveryEvent>,
    ) -> anyhow::Result<Self> {
        let health = HealthConfig::default();
        Self::start_with_health(opts, subscriptions, telemetry, delivery_events, health).await
    }

    /// [`start`](Self::start) with feed-health rules of its own (expected intervals, thresholds).
    pub async fn start_with_health(
        opts: &EmbeddedOptions,
        subscriptions: Vec<Subscription>,
        telemetry: Telemetry,
        delivery_events: mpsc::UnboundedSender<DeliveryEvent>,
        health: HealthConfig,
    ) -> anyhow::Result<Self> {
        let board = Arc::new(Mutex::new(HealthBoard::new(health)));
        Self::start_with_board(opts, subscriptions, telemetry, delivery_events, board).await
    }

    /// [`start`](Self::start) feeding an existing health board, e.g. the one of a hub stopped
    /// before, so completeness and alerts carry across the restart (a mapping change, say).
    pub async fn start_with_board(
        opts: &EmbeddedOptions,
        subscriptions: Vec<Subscription>,
        telemetry: Telemetry,
        delivery_events: mpsc::UnboundedSender<DeliveryEvent>,
        board: waymark_api::SharedHealth,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&opts.data_dir).context("creating the data folder")?;
        let bus = Arc::new(SqliteBus::open(&opts.data_dir.join("bus.db")).await?);
        let store = Arc::new(SqliteStore::open(&opts.data_dir.join("store.db")).await?);
        let mappings = Arc::new(MappingSet::load(&opts.mappings_dir)?);
        let validator = Arc::new(Validator::r4()?);
        let policy = Arc::new(Policy::builtin()?);
        // The given subscriptions are written to the store; those created through the API are
        // already there: both survive a restart.
        let live = SubscriptionSet::from_store(store.clone(), subscriptions).await?;
        let hook = RestHook::new(&RestHookConfig::default())?;
        let api_state = waymark_api::ApiState {
            store: store.clone(),
            bus: bus.clone(),
            mappings: mappings.clone(),
            validator: validator.clone(),
            auth: Arc::new(authenticator(&opts.data_dir).await?),
            audit: store.clone(),
            policy: policy.clone(),
            subscriptions: live.clone(),
            endpoints: waymark_delivery::EndpointPolicy::local(),
            hook: hook.clone(),
        };
        let tap = HealthTap::attach(board, live.clone(), bus.clone(), telemetry, delivery_events);
        let parts = HubParts {
            bus: bus.clone(),
            store: store.clone(),
            audit: store.clone(),
            mappings,
            validator,
            policy,
            topics: Arc::new(waymark_record::Topics::builtin()?),
            subscriptions: live.clone(),
            hook,
            retry_window: RETRY_WINDOW,
            telemetry: tap.telemetry.clone(),
            delivery_events: tap.delivery_events.clone(),
        };
        let hub = Hub::start(parts).await?;
        let (adapter_stop, adapter) = start_nomis(bus.clone(), &opts.prison_api_url).await?;
        let app = waymark_api::router(api_state)
            // Break-glass reads raise the privacy officer's alert on this board.
            .layer(axum::Extension(tap.board.clone()))
            .merge(waymark_api::health_routes(tap.board.clone()));
        let (api_addr, api) = start_api(app, opts.api_port).await?;
        Ok(Self {
            health: tap.board.clone(),
            subscriptions: live,
            tap,
            bus,
            store,
            hub,
            adapter,
            adapter_stop,
            api_addr,
            api,
        })
    }

    /// Where the NOMIS adapter takes SNS notifications.
    pub fn nomis_endpoint(&self) -> String {
        self.adapter.endpoint()
    }

    /// The API's address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Stops taking input, lets every worker finish its current message, and closes the files.
    pub async fn stop(self) {
        let _ = self.adapter_stop.send(true);
        let _ = self.adapter.stopped().await;
        self.hub.stop().await;
        self.tap.stop();
        self.api.abort();
        self.bus.close().await;
    }

    /// Stops everything at once, wherever it is, as a crash would (for tests of recovery).
    pub async fn crash(self) {
        let _ = self.adapter_stop.send(true);
        let _ = self.adapter.stopped().await;
        self.hub.abort().await;
        self.tap.stop();
        self.api.abort();
        self.bus.close().await;
    }
}

async fn start_nomis(
    bus: Arc<SqliteBus>,
    prison_api_url: &str,
) -> anyhow::Result<(watch::Sender<bool>, RunningAdapter)> {
    let (stop, shutdown) = watch::channel(false);
    let bus: Arc<dyn Bus> = bus;
    let cx = AdapterContext {
        publisher: Publisher::new(bus, INGEST),
        shutdown,
    };
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let adapter = NomisConfig::new(listen, prison_api_url).build(cx).await?;
    Ok((stop, adapter))
}

/// The auth config file of an embedded hub, if its data folder holds one; without it the hub
/// trusts the development issuer of the data folder (`waymark token --data-dir DIR`).
pub const AUTH_CONFIG_FILE: &str = "auth.json";

async fn authenticator(data_dir: &std::path::Path) -> anyhow::Result<waymark_api::Authenticator> {
    let config = data_dir.join(AUTH_CONFIG_FILE);
    let config = config.exists().then_some(config);
    waymark_api::auth::hub_authenticator(config.as_deref(), data_dir)
        .await
        .context("loading the API's authentication")
}

async fn start_api(app: axum::Router, port: u16) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("binding the API to 127.0.0.1:{port}"))?;
    let addr = listener.local_addr()?;
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "the API stopped");
        }
    });
    Ok((addr, task))
}

/// The demo's two receiving systems: the prison healthcare team (sees everything) and a
/// probation service (never sees a clinical class). Both subscribe to every change.
pub fn demo_subscriptions(
    healthcare_url: &str,
    probation_url: &str,
    secret: &str,
) -> Vec<Subscription> {
    let sub = |id: &str, url: &str, role: Role, organisation: &str, registered: bool| {
        let recipient = Recipient {
            organisation: organisation.to_owned(),
            role,
            registered,
            purpose: "continuity-of-care".to_owned(),
        };
        let topic = waymark_pipeline::EVERY_CHANGE;
        Subscription::new(id, topic, url, recipient, secret, PayloadMode::FullResource)
    };
    vec![
        sub(
            "hmp-healthcare",
            healthcare_url,
            Role::PrisonHealthcare,
            "hmp-moorland-healthcare",
            true,
        ),
        sub(
            "probation-yorkshire",
            probation_url,
            Role::Probation,
            "probation-yorkshire",
            false,
        ),
    ]
}
