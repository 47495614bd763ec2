//! A whole hub in this process (`Hub::start_plan`, every stage) on one of the two backends,
//! with mock receiving systems, fed the fixtures' envelopes: as fast as the publishers go, or at
//! a fixed arrival rate.

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use anyhow::Context as _;
use tokio::task::{JoinHandle, JoinSet};
use waymark_bus::{Bus, Message, RabbitBus, RabbitBusOptions, SqliteBus};
use waymark_delivery::{RestHook, RestHookConfig, Subscription};
use waymark_pipeline::{Hub, HubParts, INGEST, PipelineEvent, RELEASE, StagePlan, Telemetry};
use waymark_store::{AuditLog, PgStore, SqliteStore, Store};

use super::{Shared, db::FreshDb, subs::Receivers};

/// Which bus and store.
#[derive(Clone, Debug)]
pub enum Backend {
    /// The embedded pair: SQLite bus (WAL, `synchronous=FULL`) and SQLite store.
    Embedded,
    /// RabbitMQ (quorum queues) and PostgreSQL (`synchronous_commit=on`, a database per run).
    Services {
        /// `WAYMARK_AMQP_URL`.
        amqp: String,
        /// `WAYMARK_PG_URL` (the owner role; a fresh database is made from it).
        pg: String,
    },
}

impl Backend {
    /// A short name for the report.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Services { .. } => "rabbitmq_postgres",
        }
    }
}

/// A running hub, its receivers and what it has released so far.
pub struct HubRun {
    hub: Hub,
    /// The bus.
    pub bus: Arc<dyn Bus>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The receiving systems.
    pub receivers: Receivers,
    released: Arc<AtomicUsize>,
    tally: JoinHandle<()>,
    records_before: u64,
    _dir: tempfile::TempDir,
    db: Option<FreshDb>,
    amqp: Option<String>,
}

/// The store of a run as its own type: a population is bulk-loaded through it.
pub enum Concrete {
    /// SQLite, and its file.
    Sqlite(SqliteStore, std::path::PathBuf),
    /// PostgreSQL.
    Postgres(PgStore),
}

impl Concrete {
    /// Applies `changes` in one transaction with the statements of `Store::apply`.
    pub async fn bulk_load(
        &self,
        changes: Vec<waymark_store::RecordChange>,
    ) -> Result<u64, waymark_store::StoreError> {
        match self {
            Self::Sqlite(s, _) => s.bulk_load(changes).await,
            Self::Postgres(s) => s.bulk_load(changes).await,
        }
    }
}

/// Starts a hub on `backend` delivering to `receivers`' subscriptions, `workers` per stage.
/// `prepare` runs on the empty store and the bus before the stages start (e.g. a pre-loaded
/// population, or a backlog queued while no stage runs).
pub async fn start(
    backend: &Backend,
    shared: &Shared,
    receivers: Receivers,
    workers: usize,
    prepare: impl AsyncFnOnce(&Concrete, &Arc<dyn Bus>) -> anyhow::Result<()>,
) -> anyhow::Result<HubRun> {
    let dir = tempfile::tempdir()?;
    let (bus, concrete, db): (Arc<dyn Bus>, _, _) = match backend {
        Backend::Embedded => {
            let path = dir.path().join("store.db");
            let store = SqliteStore::open(&path).await?;
            let bus = SqliteBus::open(&dir.path().join("bus.db")).await?;
            (Arc::new(bus), Concrete::Sqlite(store, path), None)
        }
        Backend::Services { amqp, pg } => {
            super::broker::clear_stage_queues(amqp).await?;
            let db = FreshDb::create(pg).await?;
            let store = PgStore::connect(&db.url).await?;
            let bus = RabbitBus::connect(amqp, RabbitBusOptions::default()).await?;
            (Arc::new(bus), Concrete::Postgres(store), Some(db))
        }
    };
    prepare(&concrete, &bus).await?;
    let (store, audit): (Arc<dyn Store>, Arc<dyn AuditLog>) = match concrete {
        Concrete::Sqlite(s, _) => (Arc::new(s.clone()), Arc::new(s)),
        Concrete::Postgres(s) => (Arc::new(s.clone()), Arc::new(s)),
    };
    let records_before = store.counts().await?.records;
    let (telemetry, mut events) = Telemetry::channel();
    let healthy: HashSet<String> = receivers.healthy_ids().into_iter().collect();
    let released = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&released);
    let tally = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let PipelineEvent::Released { subscription, .. } = event
                && healthy.contains(&subscription)
            {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let parts = parts(
        shared,
        &bus,
        &store,
        audit,
        receivers.subscriptions(),
        telemetry,
    )?;
    let plan = StagePlan {
        workers,
        ..StagePlan::all()
    };
    let hub = Hub::start_plan(parts, &plan).await?;
    Ok(HubRun {
        hub,
        bus,
        store,
        receivers,
        released,
        tally,
        records_before,
        _dir: dir,
        db,
        amqp: match backend {
            Backend::Services { amqp, .. } => Some(amqp.clone()),
            Backend::Embedded => None,
        },
    })
}

/// Publishes every message onto `bus`'s ingest queue from `publishers` concurrent publishers
/// (each awaiting its confirm). Returns when the last publish was confirmed.
pub async fn publish_all(
    bus: &Arc<dyn Bus>,
    messages: &[Message],
    publishers: usize,
) -> anyhow::Result<()> {
    let messages = Arc::new(messages.to_vec());
    let mut tasks = JoinSet::new();
    for p in 0..publishers {
        let (bus, messages) = (Arc::clone(bus), Arc::clone(&messages));
        tasks.spawn(async move {
            for m in messages.iter().skip(p).step_by(publishers) {
                bus.publish(INGEST, m.clone()).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

fn parts(
    shared: &Shared,
    bus: &Arc<dyn Bus>,
    store: &Arc<dyn Store>,
    audit: Arc<dyn AuditLog>,
    subscriptions: Vec<Subscription>,
    telemetry: Telemetry,
) -> anyhow::Result<HubParts> {
    let (delivery_events, _) = tokio::sync::mpsc::unbounded_channel();
    let config = RestHookConfig::default();
    Ok(HubParts {
        bus: Arc::clone(bus),
        store: Arc::clone(store),
        audit,
        mappings: Arc::clone(&shared.mappings),
        validator: Arc::clone(&shared.validator),
        policy: Arc::clone(&shared.policy),
        topics: Arc::clone(&shared.topics),
        subscriptions: waymark_pipeline::SubscriptionSet::fixed(subscriptions),
        retry_window: config.retry_window,
        hook: RestHook::new(&config)?,
        telemetry,
        delivery_events,
    })
}

impl HubRun {
    /// Publishes every message onto the ingest queue from `publishers` concurrent publishers
    /// (each awaiting its confirm). Returns when the last publish was confirmed.
    pub async fn publish_all(&self, messages: &[Message], publishers: usize) -> anyhow::Result<()> {
        publish_all(&self.bus, messages, publishers).await
    }

    /// Publishes message `i` at `start + i / rate` (each publish its own task, so a slow
    /// confirm never delays the schedule). Returns each message's intended send time.
    pub async fn publish_at_rate(
        &self,
        messages: &[Message],
        rate: f64,
    ) -> anyhow::Result<Vec<SystemTime>> {
        let (t0, wall0) = (tokio::time::Instant::now(), SystemTime::now());
        let mut intended = Vec::with_capacity(messages.len());
        let mut tasks = JoinSet::new();
        for (i, m) in messages.iter().enumerate() {
            let offset = Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(t0 + offset).await;
            intended.push(wall0 + offset);
            let (bus, m) = (Arc::clone(&self.bus), m.clone());
            tasks.spawn(async move { bus.publish(INGEST, m).await });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(intended)
    }

    /// Waits until `envelopes` more records are stored, the release queue is empty and every
    /// notification released to a healthy subscription reached its receiver (twice in a row,
    /// 25 ms apart). Fails after `limit`.
    pub async fn wait_done(&self, envelopes: usize, limit: Duration) -> anyhow::Result<Instant> {
        let start = Instant::now();
        let mut settled = 0;
        let mut done_at = Instant::now();
        while settled < 2 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            anyhow::ensure!(
                start.elapsed() < limit,
                "the hub did not finish within {limit:?}"
            );
            let recorded = self.store.counts().await?.records - self.records_before;
            let waiting = self.bus.depth(RELEASE).await?.total();
            let done = recorded as usize >= envelopes
                && waiting == 0
                && self.receivers.healthy_delivered() >= self.released.load(Ordering::Relaxed);
            if done && settled == 0 {
                done_at = Instant::now();
            }
            settled = if done { settled + 1 } else { 0 };
        }
        Ok(done_at)
    }

    /// Notifications released to healthy subscriptions so far.
    pub fn released(&self) -> usize {
        self.released.load(Ordering::Relaxed)
    }

    /// Stops the hub; on RabbitMQ + PostgreSQL, deletes the run's queues and database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.hub.stop().await;
        self.tally.abort();
        if let Some(amqp) = &self.amqp {
            let mut queues: Vec<String> = ["waymark.ingest", "waymark.record", "waymark.release"]
                .map(str::to_owned)
                .to_vec();
            let subscriptions = self.receivers.subscriptions();
            queues.extend(
                subscriptions
                    .iter()
                    .map(|s| waymark_delivery::queue_name(&s.id)),
            );
            super::broker::delete_queues(amqp, &queues).await?;
        }
        if let Some(db) = self.db {
            db.drop_now().await.context("drop the run's database")?;
        }
        Ok(())
    }
}
