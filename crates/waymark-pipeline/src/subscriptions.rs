//! The live set of subscriptions, shared by the release stage, the delivery supervisor and the
//! API: readers take a cheap snapshot; a writer replaces the whole set and bumps a version that
//! watchers (the delivery supervisor) wait on.
//!
//! A set built with [`SubscriptionSet::from_store`] is backed by the store's subscription table:
//! [`SubscriptionSet::refresh`] re-reads it (the API calls it after each write; a multi-process
//! hub also runs [`SubscriptionSet::poll`] every [`POLL_EVERY`]). A [`SubscriptionSet::fixed`] set has no store.

use std::{
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use tokio::sync::{Mutex, watch};
use waymark_core::ErrorCode;
use waymark_delivery::{Subscription, SubscriptionStatus};
use waymark_store::{Store, StoreError, StoredSubscription};

/// How often a `waymark run` process re-reads the subscriptions from the store.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// The hub's subscriptions as of the last change. Snapshots are immutable: a release in
/// progress finishes with the set it started with.
pub struct SubscriptionSet {
    current: RwLock<Arc<Vec<Subscription>>>,
    version: watch::Sender<u64>,
    store: Option<Arc<dyn Store>>,
    /// Serialises refreshes, so an older read never replaces a newer one.
    refreshing: Mutex<()>,
}

impl std::fmt::Debug for SubscriptionSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.snapshot().iter().map(|s| s.id.clone()).collect();
        f.debug_struct("SubscriptionSet")
            .field("ids", &ids)
            .field("stored", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl SubscriptionSet {
    /// A set holding `subscriptions` (sorted by id), version 0, with no store:
    /// [`refresh`](Self::refresh) does nothing.
    pub fn fixed(subscriptions: Vec<Subscription>) -> Arc<Self> {
        Arc::new(Self::new(subscriptions, None))
    }

    /// The set kept in `store`: each `seed` subscription (the configuration file's, the demo's)
    /// is written to the store first, unless the stored body is the same (so a status the store
    /// holds, e.g. `off` after a `410 Gone`, survives a restart with an unchanged file); then
    /// the whole set is read from the store.
    pub async fn from_store(
        store: Arc<dyn Store>,
        seed: Vec<Subscription>,
    ) -> Result<Arc<Self>, StoreError> {
        for sub in &seed {
            seed_one(store.as_ref(), sub).await?;
        }
        let set = Self::new(Vec::new(), Some(store));
        let read = set.read().await?;
        *set.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(sorted(read));
        Ok(Arc::new(set))
    }

    fn new(subscriptions: Vec<Subscription>, store: Option<Arc<dyn Store>>) -> Self {
        let (version, _) = watch::channel(0);
        Self {
            current: RwLock::new(Arc::new(sorted(subscriptions))),
            version,
            store,
            refreshing: Mutex::new(()),
        }
    }

    /// The subscriptions now, by id.
    pub fn snapshot(&self) -> Arc<Vec<Subscription>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// One subscription by id.
    pub fn get(&self, id: &str) -> Option<Subscription> {
        self.snapshot().iter().find(|s| s.id == id).cloned()
    }

    /// Replaces the whole set and tells the watchers.
    pub fn replace(&self, subscriptions: Vec<Subscription>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(sorted(subscriptions));
        self.version.send_modify(|v| *v += 1);
    }

    /// A receiver that sees the version change on every [`SubscriptionSet::replace`] (and
    /// every [`refresh`](Self::refresh) that found a change).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Re-reads the set from the store and, when it differs, replaces it. A stored row that
    /// does not read as a subscription is skipped with a warning naming its id only; the row's
    /// status column wins over the status in its body. A fixed set: nothing to do.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        if self.store.is_none() {
            return Ok(());
        }
        let _one_at_a_time = self.refreshing.lock().await;
        let read = self.read().await?;
        if !same(&self.snapshot(), &read) {
            self.replace(read);
        }
        Ok(())
    }

    /// Sets subscription `id`'s status (e.g. `off` after a `410 Gone`): in the store and then
    /// [`refresh`](Self::refresh); in a fixed set, in memory. False when there is no such
    /// subscription.
    pub async fn set_status(
        &self,
        id: &str,
        status: SubscriptionStatus,
    ) -> Result<bool, StoreError> {
        if let Some(store) = &self.store {
            let found = store.set_subscription_status(id, status.code()).await?;
            self.refresh().await?;
            return Ok(found);
        }
        let mut all: Vec<Subscription> = self.snapshot().as_ref().clone();
        let Some(sub) = all.iter_mut().find(|s| s.id == id) else {
            return Ok(false);
        };
        sub.status = status;
        self.replace(all);
        Ok(true)
    }

    /// Re-reads the set from its store every `every` until `shutdown` turns `true` (or its sender
    /// is dropped). A failed read is logged (its code) and tried again at the next tick.
    pub async fn poll(self: Arc<Self>, every: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Err(e) = self.refresh().await {
                        tracing::warn!(code = e.code(), error = %e, "re-reading the subscriptions failed");
                    }
                }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return;
                    }
                }
            }
        }
    }

    async fn read(&self) -> Result<Vec<Subscription>, StoreError> {
        let Some(store) = &self.store else {
            return Ok(self.snapshot().as_ref().clone());
        };
        let rows = store.subscriptions().await?;
        Ok(sorted(rows.iter().filter_map(parse_row).collect()))
    }
}

/// Writes `sub` to the store unless its stored body is the same.
async fn seed_one(store: &dyn Store, sub: &Subscription) -> Result<(), StoreError> {
    let body = serde_json::to_value(sub).unwrap_or(serde_json::Value::Null);
    if let Some(stored) = store.subscription(&sub.id).await? {
        let stored: serde_json::Value =
            serde_json::from_str(stored.body.expose()).unwrap_or(serde_json::Value::Null);
        if stored == body {
            return Ok(());
        }
    }
    store
        .put_subscription(&sub.id, &body.to_string(), sub.status.code(), None)
        .await?;
    Ok(())
}

/// A stored row as a subscription, with the row's status; `None` (warned, id only) when the
/// body or the status does not read.
fn parse_row(row: &StoredSubscription) -> Option<Subscription> {
    let Ok(mut sub) = serde_json::from_str::<Subscription>(row.body.expose()) else {
        tracing::warn!(subscription = %row.id, "a stored subscription does not read; skipped");
        return None;
    };
    let Some(status) = SubscriptionStatus::from_code(&row.status) else {
        tracing::warn!(subscription = %row.id, "a stored subscription has an unknown status; skipped");
        return None;
    };
    if sub.id != row.id {
        tracing::warn!(subscription = %row.id, "a stored subscription names another id; skipped");
        return None;
    }
    sub.status = status;
    Some(sub)
}

/// Whether two sets hold the same subscriptions (compared as their JSON: secrets included).
fn same(a: &[Subscription], b: &[Subscription]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.id == y.id && serde_json::to_value(x).ok() == serde_json::to_value(y).ok()
        })
}

fn sorted(mut subscriptions: Vec<Subscription>) -> Vec<Subscription> {
    subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
    subscriptions
}
