//! The delivery supervisor: keeps one set of deliver workers running per live subscription of
//! this process's shard, following the [`SubscriptionSet`] as it changes.
//!
//! On every change of the set (and every [`RECHECK`], to retry a queue that could not be
//! declared) the running workers are compared with the set: a subscription that became live
//! gets its queue declared (`queue_spec_for(sub, retry_window)`) and its workers started; one
//! that was deleted, disabled or is no longer `active` has its workers stopped (each finishes
//! the delivery in hand); one that changed (endpoint, secret, headers, ...) is restarted with
//! the new settings. Its queue is kept throughout: nothing queued is lost.
//!
//! Every [`DeliveryEvent`] of the workers passes through here on its way to the caller: on
//! `Deactivated` (the endpoint answered `410 Gone`; the worker has returned) the subscription's
//! status is set to `off` in the store and the set refreshed, so no process releases to it or
//! delivers it again until it is switched back on.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use tokio::{
    sync::{
        mpsc::{self, UnboundedSender},
        watch,
    },
    task::JoinSet,
};
use waymark_bus::Bus;
use waymark_core::ErrorCode;
use waymark_delivery::{DeliveryEvent, RestHook, Subscription, SubscriptionStatus};

use crate::SubscriptionSet;

/// How often the running workers are compared with the set even without a change.
pub const RECHECK: Duration = Duration::from_secs(5);

/// Which subscriptions a process delivers for (its shard): a predicate on the subscription id.
#[derive(Clone)]
pub struct SubscriptionFilter(Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl SubscriptionFilter {
    /// Every subscription.
    pub fn all() -> Self {
        Self(Arc::new(|_| true))
    }

    /// The subscriptions whose id `serves` accepts.
    pub fn new(serves: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(serves))
    }

    /// Whether subscription `id` is served.
    pub fn serves(&self, id: &str) -> bool {
        (self.0)(id)
    }
}

impl Default for SubscriptionFilter {
    fn default() -> Self {
        Self::all()
    }
}

impl std::fmt::Debug for SubscriptionFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubscriptionFilter")
    }
}

/// What the supervisor runs with.
pub(crate) struct Supervisor {
    pub bus: Arc<dyn Bus>,
    pub hook: RestHook,
    pub set: Arc<SubscriptionSet>,
    pub serves: SubscriptionFilter,
    pub workers: usize,
    pub retry_window: Duration,
    pub events: UnboundedSender<DeliveryEvent>,
}

/// The workers of one subscription.
struct Running {
    /// The subscription as the workers were started with (its JSON).
    settings: serde_json::Value,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Supervisor {
    /// Runs until `shutdown` turns `true` (or its sender is dropped), then stops every worker.
    pub(crate) async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut changes = self.set.changes();
        let (events_tx, mut events_rx) = mpsc::unbounded_channel();
        let mut running: BTreeMap<String, Running> = BTreeMap::new();
        let mut recheck = tokio::time::interval(RECHECK);
        loop {
            tokio::select! {
                _ = recheck.tick() => self.reconcile(&mut running, &events_tx).await,
                changed = changes.changed() => {
                    if changed.is_ok() {
                        changes.borrow_and_update();
                        self.reconcile(&mut running, &events_tx).await;
                    }
                }
                Some(event) = events_rx.recv() => self.pass_on(event, &mut running).await,
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
        for (_, workers) in std::mem::take(&mut running) {
            workers.stop().await;
        }
        while let Ok(event) = events_rx.try_recv() {
            let _ = self.events.send(event);
        }
    }

    /// Starts, stops and restarts workers so that exactly the live subscriptions of this shard
    /// run, each with its current settings.
    async fn reconcile(
        &self,
        running: &mut BTreeMap<String, Running>,
        events: &UnboundedSender<DeliveryEvent>,
    ) {
        let wanted: BTreeMap<String, Subscription> = self
            .set
            .snapshot()
            .iter()
            .filter(|s| s.is_live() && self.serves.serves(&s.id))
            .map(|s| (s.id.clone(), s.clone()))
            .collect();
        let stale: Vec<String> = running
            .iter()
            .filter(|(id, r)| wanted.get(*id).is_none_or(|s| settings(s) != r.settings))
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            if let Some(workers) = running.remove(&id) {
                tracing::info!(subscription = %id, "stopping the deliveries of a subscription that changed or is no longer live");
                workers.stop().await;
            }
        }
        for (id, sub) in wanted {
            if running.contains_key(&id) {
                continue;
            }
            if let Some(workers) = self.start(&sub, events).await {
                running.insert(id, workers);
            }
        }
    }

    /// Declares the subscription's queue and starts its workers; `None` (logged, retried at
    /// the next check) when the queue cannot be declared.
    async fn start(
        &self,
        sub: &Subscription,
        events: &UnboundedSender<DeliveryEvent>,
    ) -> Option<Running> {
        let spec = waymark_delivery::queue_spec_for(sub, self.retry_window);
        if let Err(e) = self.bus.declare(&spec).await {
            tracing::warn!(subscription = %sub.id, code = e.code(), error = %e, "declaring a delivery queue failed; retrying later");
            return None;
        }
        let (stop, stopping) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for _ in 0..self.workers.max(1) {
            tasks.spawn(waymark_delivery::run_deliveries(
                self.bus.clone(),
                sub.clone(),
                self.hook.clone(),
                events.clone(),
                stopping.clone(),
            ));
        }
        tracing::info!(subscription = %sub.id, workers = self.workers.max(1), "delivering");
        Some(Running {
            settings: settings(sub),
            stop,
            tasks,
        })
    }

    /// Acts on a worker's event (a `410 Gone` switches the subscription off), then passes it on.
    /// Its workers are stopped at once; should the store refuse the new status, the next check
    /// starts them again and the next `410` tries again.
    async fn pass_on(&self, event: DeliveryEvent, running: &mut BTreeMap<String, Running>) {
        if let DeliveryEvent::Deactivated { subscription, .. } = &event {
            if let Some(workers) = running.remove(subscription) {
                workers.stop().await;
            }
            match self
                .set
                .set_status(subscription, SubscriptionStatus::Off)
                .await
            {
                Ok(_) => {
                    tracing::warn!(%subscription, "the endpoint answered 410 Gone: subscription switched off");
                }
                Err(e) => {
                    tracing::error!(%subscription, code = e.code(), error = %e, "switching off a gone subscription failed");
                }
            }
        }
        // A dropped receiver only means nobody is listening.
        let _ = self.events.send(event);
    }
}

/// What a worker's behaviour depends on: the whole subscription.
fn settings(sub: &Subscription) -> serde_json::Value {
    serde_json::to_value(sub).unwrap_or(serde_json::Value::Null)
}
