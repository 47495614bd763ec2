//! Starting every stage worker of one hub process.

use std::{sync::Arc, time::Duration};

use tokio::{
    sync::{mpsc, watch},
    task::JoinSet,
};
use waymark_bus::{Bus, BusError};
use waymark_delivery::{DeliveryEvent, RestHook};
use waymark_mapping::MappingSet;
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_record::Topics;
use waymark_store::{AuditLog, Store};

use crate::{
    INGEST, MapStage, RECORD, RELEASE, RecordStage, ReleaseStage, SubscriptionFilter,
    SubscriptionSet, Telemetry, declare_all, run_worker, supervisor::Supervisor,
};

/// Everything a hub process runs with.
pub struct HubParts {
    /// The bus.
    pub bus: Arc<dyn Bus>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The audit trail: the release stage records each pushed release's manifest in it.
    pub audit: Arc<dyn AuditLog>,
    /// Loaded mappings.
    pub mappings: Arc<MappingSet>,
    /// The profile validator.
    pub validator: Arc<Validator>,
    /// The role policy.
    pub policy: Arc<Policy>,
    /// The pathway topics (`Topics::builtin()`: the HJMD package's).
    pub topics: Arc<Topics>,
    /// The live subscriptions.
    pub subscriptions: Arc<SubscriptionSet>,
    /// The rest-hook client.
    pub hook: RestHook,
    /// How long a notification is retried before it is dead-lettered (the hook's
    /// `RestHookConfig::retry_window`): delivery queues are declared with it.
    pub retry_window: Duration,
    /// Stage telemetry.
    pub telemetry: Telemetry,
    /// Delivery telemetry.
    pub delivery_events: mpsc::UnboundedSender<DeliveryEvent>,
}

/// A stage a hub process can run (ingest runs in the adapters, the API in `waymark-api`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Envelopes → validated canonical bundles.
    Map,
    /// Canonical bundles → the person's record and pathway events.
    Record,
    /// Pathway events → role-scoped payloads on each subscription's queue.
    Release,
    /// Subscription queues → rest-hook deliveries.
    Deliver,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Self; 4] = [Self::Map, Self::Record, Self::Release, Self::Deliver];

    /// The stage's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Map => "map",
            Self::Record => "record",
            Self::Release => "release",
            Self::Deliver => "deliver",
        }
    }
}

impl std::str::FromStr for Stage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| format!("unknown stage `{s}` (map, record, release, deliver)"))
    }
}

/// Which stages a process runs, and how many workers each.
#[derive(Clone, Debug)]
pub struct StagePlan {
    /// The stages.
    pub stages: Vec<Stage>,
    /// Concurrent workers per stage (per subscription for `deliver`); at least 1.
    pub workers: usize,
    /// The subscriptions `deliver` serves (`waymark run --shard I/N`); the others are left to
    /// other processes. Release always fans out to every subscription.
    pub deliver_for: SubscriptionFilter,
}

impl StagePlan {
    /// Every stage, one worker each, every subscription: the embedded hub.
    pub fn all() -> Self {
        Self::of(Stage::ALL.to_vec(), 1)
    }

    /// `stages` with `workers` each, delivering for every subscription.
    pub fn of(stages: Vec<Stage>, workers: usize) -> Self {
        Self {
            stages,
            workers,
            deliver_for: SubscriptionFilter::all(),
        }
    }

    fn runs(&self, stage: Stage) -> bool {
        self.stages.contains(&stage)
    }
}

/// The running stage workers.
pub struct Hub {
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Hub {
    /// Declares the queues and starts one worker per stage and the delivery supervisor (one
    /// worker per live subscription, following the set as it changes).
    pub async fn start(parts: HubParts) -> Result<Self, BusError> {
        Self::start_plan(parts, &StagePlan::all()).await
    }

    /// Declares the queues and starts the planned stages' workers. Several processes may run
    /// the same stage on one bus: the bus shares the work and keeps per-key order. With
    /// `deliver` planned, a supervisor keeps `plan.workers` deliver workers running for each live
    /// subscription `plan.deliver_for` serves, as the set changes (see `supervisor`).
    pub async fn start_plan(parts: HubParts, plan: &StagePlan) -> Result<Self, BusError> {
        declare_all(parts.bus.as_ref(), &[]).await?;
        for sub in parts.subscriptions.snapshot().iter() {
            let spec = waymark_delivery::queue_spec_for(sub, parts.retry_window);
            parts.bus.declare(&spec).await?;
        }
        let (shutdown, watch_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let workers = plan.workers.max(1);
        for (stage, queue, handler) in handlers(&parts, plan) {
            tracing::info!(stage = stage.as_str(), workers, "starting stage workers");
            for _ in 0..workers {
                let (bus, handler) = (parts.bus.clone(), handler.clone());
                tasks.spawn(run_worker(bus, queue, handler, watch_rx.clone()));
            }
        }
        if plan.runs(Stage::Deliver) {
            let supervisor = Supervisor {
                bus: parts.bus.clone(),
                hook: parts.hook.clone(),
                set: parts.subscriptions.clone(),
                serves: plan.deliver_for.clone(),
                workers,
                retry_window: parts.retry_window,
                events: parts.delivery_events.clone(),
            };
            tasks.spawn(supervisor.run(watch_rx.clone()));
        }
        Ok(Self { shutdown, tasks })
    }

    /// Asks every worker to stop after its current message, and waits for them.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Stops every worker at once, wherever it is (what a crash does; used by tests).
    pub async fn abort(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

type StageHandler = (Stage, &'static str, Arc<dyn crate::Handler>);

/// The queue handlers of the planned stages (delivery runs per subscription instead).
fn handlers(parts: &HubParts, plan: &StagePlan) -> Vec<StageHandler> {
    let mut out: Vec<StageHandler> = Vec::new();
    if plan.runs(Stage::Map) {
        let map = MapStage {
            mappings: parts.mappings.clone(),
            validator: parts.validator.clone(),
            store: parts.store.clone(),
            bus: parts.bus.clone(),
            telemetry: parts.telemetry.clone(),
        };
        out.push((Stage::Map, INGEST, Arc::new(map)));
    }
    if plan.runs(Stage::Record) {
        let record = RecordStage::new(
            parts.validator.clone(),
            parts.store.clone(),
            parts.bus.clone(),
            parts.telemetry.clone(),
            parts.topics.clone(),
        );
        out.push((Stage::Record, RECORD, Arc::new(record)));
    }
    if plan.runs(Stage::Release) {
        let release = ReleaseStage {
            validator: parts.validator.clone(),
            policy: parts.policy.clone(),
            subscriptions: parts.subscriptions.clone(),
            store: parts.store.clone(),
            audit: parts.audit.clone(),
            bus: parts.bus.clone(),
            retry_window: parts.retry_window,
            telemetry: parts.telemetry.clone(),
        };
        out.push((Stage::Release, RELEASE, Arc::new(release)));
    }
    out
}
