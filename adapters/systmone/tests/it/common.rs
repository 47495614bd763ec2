//! Shared harness: the real embedded bus (`SqliteBus` in a temp dir) behind a gate that can
//! refuse publishes, the mock SystmOne on loopback, and the adapter built on them.
#![allow(dead_code)]

use std::{
    collections::HashSet,
    future::Future,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering::Relaxed},
    },
    time::Duration,
};

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::watch;
use waymark_adapter_systmone::{
    AdapterContext, MockSystmOne, PullRequest, RunningAdapter, SystmOneConfig,
    mock::{MockData, MockFaults},
};
use waymark_bus::{
    Bus, BusError, Delivery, Disposition, Message, Published, Publisher, QueueDepth, QueueSpec,
    SqliteBus,
};
use waymark_core::{Envelope, MessageId};

pub const QUEUE: &str = "waymark.ingest";
pub const SEED: u64 = 20_260_521;

/// The embedded bus, with a switch that makes publishes fail, and a record of every publish.
pub struct GatedBus {
    inner: SqliteBus,
    refuse: AtomicBool,
    block: watch::Sender<bool>,
    calls: Mutex<Vec<(MessageId, Option<Published>)>>,
}

impl GatedBus {
    pub async fn open(dir: &Path) -> Arc<Self> {
        let inner = SqliteBus::open(&dir.join("bus.db")).await.unwrap();
        inner.declare(&QueueSpec::new(QUEUE)).await.unwrap();
        Arc::new(Self {
            inner,
            refuse: AtomicBool::new(false),
            block: watch::channel(false).0,
            calls: Mutex::default(),
        })
    }

    /// While `true`, every publish fails with a backend error.
    pub fn refuse(&self, refuse: bool) {
        self.refuse.store(refuse, Relaxed);
    }

    /// While `true`, every publish waits (as a bus that does not confirm).
    pub fn block(&self, block: bool) {
        self.block.send_replace(block);
    }

    pub fn publisher(self: &Arc<Self>) -> Publisher {
        Publisher::new(self.clone(), QUEUE)
    }

    /// Every publish call: the id and its outcome (`None`: failed).
    pub fn calls(&self) -> Vec<(MessageId, Option<Published>)> {
        self.calls.lock().unwrap().clone()
    }

    /// Ids the bus stored (first publish of each).
    pub fn stored_ids(&self) -> HashSet<MessageId> {
        self.calls()
            .into_iter()
            .filter(|(_, p)| *p == Some(Published::New))
            .map(|(id, _)| id)
            .collect()
    }

    /// Messages the queue holds, unique by id (the bus dedupes).
    pub async fn ready(&self) -> u64 {
        self.inner.depth(QUEUE).await.unwrap().ready
    }

    /// Takes every message off the queue (acking it) and decodes the envelopes.
    pub async fn drain(&self) -> Vec<Envelope> {
        let mut out = Vec::new();
        while let Some(d) = self
            .inner
            .receive(QUEUE, Duration::from_millis(50))
            .await
            .unwrap()
        {
            out.push(Envelope::from_bytes(d.message.body.expose()).unwrap());
            self.inner.ack(&d).await.unwrap();
        }
        out
    }
}

#[async_trait]
impl Bus for GatedBus {
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        self.inner.declare(spec).await
    }

    async fn publish(&self, queue: &str, message: Message) -> Result<Published, BusError> {
        let id = message.id.clone();
        let _ = self.block.subscribe().wait_for(|blocked| !*blocked).await;
        let result = if self.refuse.load(Relaxed) {
            Err(BusError::Backend("refused by the test".into()))
        } else {
            self.inner.publish(queue, message).await
        };
        self.calls
            .lock()
            .unwrap()
            .push((id, result.as_ref().ok().copied()));
        result
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

/// Waits (polling) until `cond` holds, failing the test after 60 s.
pub async fn until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The temp dir, the bus, the mock, and the adapter (restartable on the same journal).
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub bus: Arc<GatedBus>,
    pub mock: MockSystmOne,
    pub config: SystmOneConfig,
    shutdown: Option<watch::Sender<bool>>,
    pub adapter: Option<RunningAdapter>,
}

impl Harness {
    /// A mock of `people` synthetic people with `faults`; the adapter is not started.
    pub async fn new(people: usize, faults: &MockFaults) -> Self {
        let data = MockData::synthetic(SEED, people, faults);
        Self::with_data(data, faults).await
    }

    pub async fn with_data(data: MockData, faults: &MockFaults) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bus = GatedBus::open(dir.path()).await;
        let mock = MockSystmOne::start(data, faults.slow, faults.disordered_feed)
            .await
            .unwrap();
        let mut config =
            SystmOneConfig::new("127.0.0.1:0".parse().unwrap(), mock.base_url(), dir.path());
        config.request_timeout_ms = 1_000;
        config.retry_initial_ms = 10;
        config.retry_max_ms = 2_000;
        config.give_up_after_ms = 20_000;
        config.poll_changes = false;
        config.poll_interval_ms = 20;
        config.page_size = 7;
        Self {
            dir,
            bus,
            mock,
            config,
            shutdown: None,
            adapter: None,
        }
    }

    /// Starts an adapter on the harness's journal.
    pub async fn start(&mut self) -> &RunningAdapter {
        let (tx, rx) = watch::channel(false);
        let cx = AdapterContext {
            publisher: self.bus.publisher(),
            shutdown: rx,
        };
        self.adapter = Some(self.config.clone().build(cx).await.unwrap());
        self.shutdown = Some(tx);
        self.adapter.as_ref().unwrap()
    }

    pub fn adapter(&self) -> &RunningAdapter {
        self.adapter.as_ref().unwrap()
    }

    /// Signals shutdown and waits for the adapter to stop.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(true).unwrap();
        }
        if let Some(adapter) = self.adapter.take() {
            adapter.stopped().await.unwrap();
        }
    }

    /// Aborts the adapter's tasks, as a crash would.
    pub async fn abort(&mut self) {
        if let Some(adapter) = self.adapter.take() {
            adapter.abort().await;
        }
        self.shutdown = None;
    }

    /// Asks for every pullable record of the mock, in-process; returns how many.
    pub async fn pull_all(&self, reason: &str) -> usize {
        let handle = self.adapter().handle();
        let numbers = self.mock.data().pullable();
        for nhs in &numbers {
            handle
                .pull(PullRequest::new(nhs, reason, Utc::now()).unwrap())
                .await
                .unwrap();
        }
        numbers.len()
    }

    /// Waits until nothing is pending or in flight.
    pub async fn drained(&self) {
        let adapter = self.adapter();
        until("journal drained", || async {
            let s = adapter.handle().journal_stats();
            s.pending == 0 && s.in_flight == 0
        })
        .await;
    }
}

/// `context.error.code` of an envelope.
pub fn error_code(envelope: &Envelope) -> Option<String> {
    let code = envelope.context.expose().pointer("/error/code")?;
    code.as_str().map(str::to_owned)
}
