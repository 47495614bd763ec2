//! Shared harness: the real embedded bus (`SqliteBus` in a temp dir) behind a gate that can
//! refuse or hold publishes and records what it confirmed, the mock Athena, and the adapter.
#![allow(dead_code)]

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::{Notify, watch};
use waymark_adapter_athena::{
    AdapterContext, AthenaConfig, Checkpoint, Feed, FeedFaults, HttpFaults, MOCK_CLIENT_ID,
    MOCK_CLIENT_SECRET, MockAthena, RunningAdapter, TelemetrySnapshot, envelope_for_event,
};
use waymark_bus::{
    Bus, BusError, Delivery, Disposition, Message, Published, Publisher, QueueDepth, QueueSpec,
    SqliteBus,
};
use waymark_core::{Envelope, MessageId};

pub const QUEUE: &str = "waymark.ingest";
pub const WAIT: Duration = Duration::from_secs(60);

/// What the gate does with publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Passes them to the bus.
    Open,
    /// Fails them with a backend error (the bus is down).
    Refuse,
    /// Holds them until the mode changes (the bus is blocked).
    Hold,
}

/// The embedded bus behind a gate.
pub struct GateBus {
    inner: SqliteBus,
    mode: watch::Sender<Mode>,
    confirmed: Mutex<Vec<Message>>,
    refused: AtomicUsize,
    held: AtomicUsize,
    fail_next: AtomicUsize,
    changed: Notify,
}

impl GateBus {
    pub async fn open(path: &Path) -> Arc<Self> {
        let inner = SqliteBus::open(path).await.unwrap();
        inner.declare(&QueueSpec::new(QUEUE)).await.unwrap();
        Arc::new(Self {
            inner,
            mode: watch::channel(Mode::Open).0,
            confirmed: Mutex::default(),
            refused: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
            fail_next: AtomicUsize::new(0),
            changed: Notify::new(),
        })
    }

    pub fn set_mode(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// The next `n` publishes fail.
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn publisher(self: &Arc<Self>) -> Publisher {
        Publisher::new(self.clone(), QUEUE)
    }

    /// Every message the bus confirmed (new or duplicate), in order.
    pub fn confirmed(&self) -> Vec<Message> {
        self.confirmed.lock().unwrap().clone()
    }

    pub fn confirmed_ids(&self) -> Vec<MessageId> {
        self.confirmed().into_iter().map(|m| m.id).collect()
    }

    pub fn envelopes(&self) -> Vec<Envelope> {
        let confirmed = self.confirmed();
        confirmed
            .iter()
            .map(|m| Envelope::from_bytes(m.body.expose()).unwrap())
            .collect()
    }

    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    /// Waits until `done` holds for (refused, held), at most [`WAIT`].
    pub async fn wait_for(&self, done: impl Fn(usize, usize) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let changed = self.changed.notified();
            if done(self.refused(), self.held()) {
                return;
            }
            assert!(
                tokio::time::timeout_at(deadline, changed).await.is_ok(),
                "gate condition not reached"
            );
        }
    }

    /// How many messages the bus holds (each id once).
    pub async fn depth(&self) -> u64 {
        self.inner.depth(QUEUE).await.unwrap().total()
    }

    async fn gate(&self) -> Result<(), BusError> {
        let refuse = || {
            self.refused.fetch_add(1, Ordering::SeqCst);
            self.changed.notify_waiters();
            Err(BusError::Backend("bus down (test)".into()))
        };
        if self.fail_next.load(Ordering::SeqCst) > 0 {
            self.fail_next.fetch_sub(1, Ordering::SeqCst);
            return refuse();
        }
        let mut mode = self.mode.subscribe();
        let now = *mode.borrow();
        match now {
            Mode::Open => Ok(()),
            Mode::Refuse => refuse(),
            Mode::Hold => {
                self.held.fetch_add(1, Ordering::SeqCst);
                self.changed.notify_waiters();
                let _ = mode.wait_for(|m| *m != Mode::Hold).await;
                self.held.fetch_sub(1, Ordering::SeqCst);
                if *mode.borrow() == Mode::Refuse {
                    refuse()
                } else {
                    Ok(())
                }
            }
        }
    }
}

#[async_trait]
impl Bus for GateBus {
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        self.inner.declare(spec).await
    }

    async fn publish(&self, queue: &str, message: Message) -> Result<Published, BusError> {
        self.gate().await?;
        let published = self.inner.publish(queue, message.clone()).await?;
        self.confirmed.lock().unwrap().push(message);
        self.changed.notify_waiters();
        Ok(published)
    }

    async fn receive(&self, queue: &str, wait: Duration) -> Result<Option<Delivery>, BusError> {
        self.inner.receive(queue, wait).await
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), BusError> {
        self.inner.ack(delivery).await
    }

    async fn nack(&self, d: &Delivery, retry: Duration) -> Result<Disposition, BusError> {
        self.inner.nack(d, retry).await
    }

    async fn reject(&self, delivery: &Delivery, reason: &str) -> Result<(), BusError> {
        self.inner.reject(delivery, reason).await
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, BusError> {
        self.inner.depth(queue).await
    }

    async fn purge_key(&self, queue: &str, key: &str) -> Result<u64, BusError> {
        self.inner.purge_key(queue, key).await
    }
}

/// A config for the adapter in front of `mock`, with quick retries and small pages.
pub fn test_config(mock: &MockAthena, checkpoint: PathBuf) -> AthenaConfig {
    let mut config = AthenaConfig::new(
        mock.base_url(),
        mock.token_url(),
        MOCK_CLIENT_ID,
        MOCK_CLIENT_SECRET,
        checkpoint,
    );
    config.page_size = 20;
    config.poll_interval_ms = 20;
    config.backoff_ms = 5;
    config.max_backoff_ms = 50;
    config.request_timeout_ms = 2_000;
    config
}

/// The mock, the gated embedded bus and a place for the checkpoint, in one temp dir.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub bus: Arc<GateBus>,
    pub mock: MockAthena,
}

/// A started adapter and its stop switch.
pub struct Run {
    pub adapter: RunningAdapter,
    pub shutdown: watch::Sender<bool>,
}

impl Rig {
    pub async fn start(feed: Feed, faults: HttpFaults) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bus = GateBus::open(&dir.path().join("bus.db")).await;
        let mock = MockAthena::start_with(feed, faults).await.unwrap();
        Self { dir, bus, mock }
    }

    pub fn checkpoint_path(&self) -> PathBuf {
        self.dir.path().join("athena.checkpoint")
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint::load(&self.checkpoint_path()).unwrap()
    }

    pub fn config(&self) -> AthenaConfig {
        test_config(&self.mock, self.checkpoint_path())
    }

    pub async fn run(&self, config: AthenaConfig) -> Run {
        let (shutdown, signal) = watch::channel(false);
        let cx = AdapterContext {
            publisher: self.bus.publisher(),
            shutdown: signal,
        };
        let adapter = config.build(cx).await.unwrap();
        Run { adapter, shutdown }
    }

    /// The message ids the feed's events should be published under, each once.
    pub fn expected_ids(&self) -> HashSet<MessageId> {
        let items = self.mock.feed().items();
        items
            .iter()
            .map(|i| envelope_for_event(i.body.clone(), Utc::now()).id)
            .collect()
    }
}

impl Run {
    /// Waits until every one of `unique` messages was published and the feed is caught up.
    pub async fn until_caught_up(&self, unique: usize) -> TelemetrySnapshot {
        let (snapshot, done) = self
            .adapter
            .telemetry()
            .wait_for(WAIT, |s| s.published as usize >= unique && s.caught_up >= 1)
            .await;
        assert!(done, "adapter did not catch up: {snapshot:?}");
        snapshot
    }

    /// Signals shutdown and waits for the adapter to stop cleanly.
    /// Returns the counters once it has stopped.
    pub async fn stop(self) -> TelemetrySnapshot {
        let telemetry = self.adapter.telemetry();
        self.shutdown.send(true).unwrap();
        self.adapter.stopped().await.unwrap();
        telemetry.snapshot()
    }
}

/// A clean synthetic feed.
pub fn clean_feed(seed: u64, people: usize) -> Feed {
    Feed::synthetic(seed, people, FeedFaults::default())
}
