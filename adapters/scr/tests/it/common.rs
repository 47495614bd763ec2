//! The harness: a real embedded bus behind a gate the tests can close, the mock SCR and the
//! adapter, wired over loopback.
#![allow(dead_code)]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::watch;
use waymark_adapter_scr::{
    AdapterContext, Faults, MockScr, RunningAdapter, ScrConfig, ScrPopulation,
};
use waymark_bus::{
    Bus, BusError, Delivery, Disposition, Message, Published, Publisher, QueueDepth, QueueSpec,
    SqliteBus,
};
use waymark_core::{Envelope, MessageId};

pub const QUEUE: &str = "waymark.ingest";

/// The embedded bus, with a gate: while closed, every publish fails (as an outage would).
pub struct GateBus {
    inner: SqliteBus,
    open: AtomicBool,
    refused: AtomicUsize,
    log: Mutex<Vec<(MessageId, Published)>>,
    stored: Mutex<BTreeMap<MessageId, Envelope>>,
}

impl GateBus {
    pub async fn open(dir: &std::path::Path) -> Arc<Self> {
        let inner = SqliteBus::open(&dir.join("bus.db")).await.unwrap();
        inner.declare(&QueueSpec::new(QUEUE)).await.unwrap();
        Arc::new(Self {
            inner,
            open: AtomicBool::new(true),
            refused: AtomicUsize::new(0),
            log: Mutex::default(),
            stored: Mutex::default(),
        })
    }

    pub fn set_open(&self, open: bool) {
        self.open.store(open, SeqCst);
    }

    /// Publishes refused while the gate was closed.
    pub fn refused(&self) -> usize {
        self.refused.load(SeqCst)
    }

    /// Every confirmed publish: its id and whether the bus already had it.
    pub fn log(&self) -> Vec<(MessageId, Published)> {
        self.log.lock().unwrap().clone()
    }

    /// The envelopes the bus holds, by id (decoded, checksum verified).
    pub fn envelopes(&self) -> BTreeMap<MessageId, Envelope> {
        self.stored.lock().unwrap().clone()
    }

    /// Envelopes by the NHS number their context names.
    pub fn by_person(&self) -> BTreeMap<String, BTreeSet<MessageId>> {
        let mut out: BTreeMap<String, BTreeSet<MessageId>> = BTreeMap::new();
        for (id, envelope) in self.envelopes() {
            let nhs = nhs_of(&envelope);
            out.entry(nhs).or_default().insert(id);
        }
        out
    }

    pub fn publisher(self: &Arc<Self>) -> Publisher {
        Publisher::new(self.clone(), QUEUE)
    }

    /// Messages in the queue, read from the real bus.
    pub async fn depth(&self) -> u64 {
        self.inner.depth(QUEUE).await.unwrap().total()
    }
}

pub fn nhs_of(envelope: &Envelope) -> String {
    let context = envelope.context.expose();
    context["request"]["nhsNumber"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[async_trait]
impl Bus for GateBus {
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        self.inner.declare(spec).await
    }

    async fn publish(&self, queue: &str, message: Message) -> Result<Published, BusError> {
        if !self.open.load(SeqCst) {
            self.refused.fetch_add(1, SeqCst);
            return Err(BusError::Backend("gate closed".into()));
        }
        let id = message.id.clone();
        let envelope = Envelope::from_bytes(message.body.expose()).unwrap();
        let published = self.inner.publish(queue, message).await?;
        self.log.lock().unwrap().push((id.clone(), published));
        self.stored.lock().unwrap().insert(id, envelope);
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

/// The bus, the mock and a journal path, shared by the adapters a test starts in turn.
pub struct Harness {
    pub bus: Arc<GateBus>,
    pub mock: MockScr,
    pub journal: PathBuf,
    _dir: tempfile::TempDir,
}

/// A started adapter and its stop switch.
pub struct Started {
    pub adapter: RunningAdapter,
    pub stop: watch::Sender<bool>,
}

impl Started {
    pub async fn shutdown(self) {
        self.stop.send(true).unwrap();
        self.adapter.stopped().await.unwrap();
    }
}

impl Harness {
    pub async fn new(population: ScrPopulation, faults: Faults) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bus = GateBus::open(dir.path()).await;
        let mock = MockScr::start(population, faults).await.unwrap();
        Self {
            bus,
            mock,
            journal: dir.path().join("scr-pull.journal"),
            _dir: dir,
        }
    }

    /// Quick retries, short timeouts.
    pub fn config(&self) -> ScrConfig {
        let mut config = ScrConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            self.mock.base_url(),
            "test-token",
            &self.journal,
        );
        config.retry_backoff_ms = 2;
        config.max_backoff_ms = 20;
        config.give_up_after_ms = 2_000;
        config.max_attempts = 5;
        config.request_timeout_ms = 5_000;
        config
    }

    pub async fn start(&self) -> Started {
        self.start_with(self.config()).await
    }

    pub async fn start_with(&self, config: ScrConfig) -> Started {
        let (stop, shutdown) = watch::channel(false);
        let cx = AdapterContext {
            publisher: self.bus.publisher(),
            shutdown,
        };
        let adapter = config.build(cx).await.unwrap();
        Started { adapter, stop }
    }
}

/// Awaits `condition`, checking every few milliseconds; false if `within` passed first.
pub async fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    condition()
}

/// POSTs a body to the adapter's pull endpoint; the status.
pub async fn post_pull(endpoint: &str, body: Vec<u8>) -> u16 {
    let client = reqwest::Client::new();
    let response = client.post(endpoint).body(body).send().await.unwrap();
    response.status().as_u16()
}

pub fn json(envelope: &Envelope) -> Value {
    serde_json::from_slice(envelope.payload.expose()).unwrap_or(Value::Null)
}
