//! Shared harness: the real adapter in front of a real embedded bus (`SqliteBus` in a temp
//! dir, behind a gate that can fail or hold publishes), and the mock ExceliCare sender, all on
//! loopback.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use tokio::sync::watch;
use waymark_adapter_excelicare::{
    AdapterContext, ExcelicareConfig, MockExcelicare, RunningAdapter, SendOptions,
};
use waymark_bus::{
    Bus, BusError, Delivery, Disposition, Message, Published, Publisher, QueueDepth, QueueSpec,
    SqliteBus,
};
use waymark_core::{Envelope, MessageId};

pub const QUEUE: &str = "waymark.ingest";

/// What the gate does with a publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Pass it to the bus.
    Open,
    /// Fail it (a backend outage).
    Fail,
    /// Hold it until the gate changes.
    Hold,
}

/// The embedded bus behind a gate, recording every publish's outcome.
pub struct GatedBus {
    inner: SqliteBus,
    gate: watch::Sender<Gate>,
    held: watch::Sender<usize>,
    failed: watch::Sender<usize>,
    outcomes: Mutex<Vec<(MessageId, Published)>>,
}

impl GatedBus {
    pub async fn open(dir: &tempfile::TempDir) -> Arc<Self> {
        let inner = SqliteBus::open(&dir.path().join("bus.db")).await.unwrap();
        inner.declare(&QueueSpec::new(QUEUE)).await.unwrap();
        Arc::new(Self {
            inner,
            gate: watch::channel(Gate::Open).0,
            held: watch::channel(0).0,
            failed: watch::channel(0).0,
            outcomes: Mutex::default(),
        })
    }

    pub fn set(&self, gate: Gate) {
        self.gate.send_replace(gate);
    }

    /// Publishes being held right now.
    pub fn held(&self) -> watch::Receiver<usize> {
        self.held.subscribe()
    }

    /// Publishes failed so far.
    pub fn failed(&self) -> watch::Receiver<usize> {
        self.failed.subscribe()
    }

    /// Every successful publish: id and whether the bus already had it.
    pub fn outcomes(&self) -> Vec<(MessageId, Published)> {
        self.outcomes.lock().unwrap().clone()
    }

    pub fn publisher(self: &Arc<Self>) -> Publisher {
        Publisher::new(self.clone(), QUEUE)
    }

    /// Takes every envelope off the queue (acking them), keyed by id.
    pub async fn drain(&self) -> BTreeMap<MessageId, Envelope> {
        let mut out = BTreeMap::new();
        while let Some(d) = self.inner.receive(QUEUE, Duration::ZERO).await.unwrap() {
            let envelope = Envelope::from_bytes(d.message.body.expose()).unwrap();
            self.inner.ack(&d).await.unwrap();
            assert!(out.insert(envelope.id.clone(), envelope).is_none());
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
        let mut gate = self.gate.subscribe();
        if *gate.borrow() == Gate::Hold {
            self.held.send_modify(|n| *n += 1);
            let _ = gate.wait_for(|g| *g != Gate::Hold).await;
            self.held.send_modify(|n| *n -= 1);
        }
        if *gate.borrow() == Gate::Fail {
            self.failed.send_modify(|n| *n += 1);
            return Err(BusError::Backend("simulated outage".into()));
        }
        let id = message.id.clone();
        let published = self.inner.publish(queue, message).await?;
        self.outcomes.lock().unwrap().push((id, published));
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

/// The adapter, its bus and its shutdown switch.
pub struct Harness {
    _dir: tempfile::TempDir,
    pub bus: Arc<GatedBus>,
    pub adapter: Option<RunningAdapter>,
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    config: ExcelicareConfig,
}

pub fn test_config() -> ExcelicareConfig {
    let mut config = ExcelicareConfig::new("127.0.0.1:0".parse().unwrap());
    config.read_timeout_ms = 2_000;
    config
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(test_config()).await
    }

    pub async fn start_with(config: ExcelicareConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bus = GatedBus::open(&dir).await;
        let (shutdown, signal) = watch::channel(false);
        let cx = AdapterContext {
            publisher: bus.publisher(),
            shutdown: signal,
        };
        let adapter = config.clone().build(cx).await.unwrap();
        Self {
            _dir: dir,
            bus,
            addr: adapter.local_addr,
            adapter: Some(adapter),
            shutdown,
            config,
        }
    }

    pub fn adapter(&self) -> &RunningAdapter {
        self.adapter.as_ref().unwrap()
    }

    /// Signals shutdown and waits until the adapter stopped.
    pub async fn stop(&mut self) {
        self.shutdown.send_replace(true);
        self.adapter.take().unwrap().stopped().await.unwrap();
    }

    /// Kills the adapter's task, as a crash would.
    pub async fn abort(&mut self) {
        self.adapter.take().unwrap().abort().await;
    }

    /// Starts a new adapter on the same address and bus.
    pub async fn restart(&mut self) {
        let (shutdown, signal) = watch::channel(false);
        self.shutdown = shutdown;
        let mut config = self.config.clone();
        config.listen = self.addr;
        let cx = AdapterContext {
            publisher: self.bus.publisher(),
            shutdown: signal,
        };
        self.adapter = Some(config.build(cx).await.unwrap());
    }
}

pub fn fast() -> SendOptions {
    SendOptions {
        backoff: Duration::from_millis(10),
        ..SendOptions::default()
    }
}

/// Runs the mock to the end in a task.
pub fn spawn_send(
    mock: &MockExcelicare,
    addr: SocketAddr,
) -> tokio::task::JoinHandle<waymark_adapter_excelicare::SendReport> {
    let mock = mock.clone();
    tokio::spawn(async move { mock.send_all(addr, fast()).await })
}

/// `context.error.code` of an envelope.
pub fn error_code(envelope: &Envelope) -> Option<String> {
    let code = envelope.context.expose().pointer("/error/code")?;
    code.as_str().map(str::to_owned)
}
