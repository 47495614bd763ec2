//! Starting every stage worker of one hub process.

use std::sync::Arc;

use tokio::{
    sync::{mpsc, watch},
    task::JoinSet,
};
use waymark_bus::{Bus, BusError};
use waymark_delivery::{DeliveryEvent, RestHook, Subscription};
use waymark_mapping::MappingSet;
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_store::Store;

use crate::{
    INGEST, MapStage, RECORD, RELEASE, RecordStage, ReleaseStage, Telemetry, declare_all,
    run_worker,
};

/// Everything a hub process runs with.
pub struct HubParts {
    /// The bus.
    pub bus: Arc<dyn Bus>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Loaded mappings.
    pub mappings: Arc<MappingSet>,
    /// The profile validator.
    pub validator: Arc<Validator>,
    /// The role policy.
    pub policy: Arc<Policy>,
    /// Subscriptions.
    pub subscriptions: Vec<Subscription>,
    /// The rest-hook client.
    pub hook: RestHook,
    /// Stage telemetry.
    pub telemetry: Telemetry,
    /// Delivery telemetry.
    pub delivery_events: mpsc::UnboundedSender<DeliveryEvent>,
}

/// The running stage workers.
pub struct Hub {
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Hub {
    /// Declares the queues and starts one worker per stage and one per subscription.
    pub async fn start(parts: HubParts) -> Result<Self, BusError> {
        declare_all(parts.bus.as_ref(), &parts.subscriptions).await?;
        let (shutdown, watch_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let subscriptions = Arc::new(parts.subscriptions);
        let map = MapStage {
            mappings: parts.mappings,
            validator: parts.validator.clone(),
            store: parts.store.clone(),
            bus: parts.bus.clone(),
            telemetry: parts.telemetry.clone(),
        };
        let record = RecordStage {
            validator: parts.validator.clone(),
            store: parts.store.clone(),
            bus: parts.bus.clone(),
            telemetry: parts.telemetry.clone(),
        };
        let release = ReleaseStage {
            validator: parts.validator,
            policy: parts.policy,
            subscriptions: subscriptions.clone(),
            store: parts.store,
            bus: parts.bus.clone(),
            telemetry: parts.telemetry,
        };
        tasks.spawn(run_worker(
            parts.bus.clone(),
            INGEST,
            Arc::new(map),
            watch_rx.clone(),
        ));
        tasks.spawn(run_worker(
            parts.bus.clone(),
            RECORD,
            Arc::new(record),
            watch_rx.clone(),
        ));
        tasks.spawn(run_worker(
            parts.bus.clone(),
            RELEASE,
            Arc::new(release),
            watch_rx.clone(),
        ));
        for sub in subscriptions.iter() {
            tasks.spawn(waymark_delivery::run_deliveries(
                parts.bus.clone(),
                sub.clone(),
                parts.hook.clone(),
                parts.delivery_events.clone(),
                watch_rx.clone(),
            ));
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
