//! Shared test harness: an in-memory `Bus` double, and the real adapter wired to the mock NOMIS
//! over loopback HTTP.
#![allow(dead_code)]

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use tokio::sync::watch;
use waymark_adapter_nomis::{
    AdapterContext, MockNomis, NomisConfig, Population, PushOptions, PushReport, RunningAdapter,
};
use waymark_bus::{
    Bus, BusError, Delivery, Disposition, Message, Published, Publisher, QueueDepth, QueueSpec,
};
use waymark_core::{Envelope, MessageId};

pub mod capture;
pub mod gate;
pub mod inputs;
pub mod process;
pub mod rig;

pub const QUEUE: &str = "waymark.ingest";
pub const RETRIES: u32 = 2;

/// A `Bus` that keeps published messages in a `Vec`, deduplicates by id like a real bus, and
/// can be told to fail the next publishes.
#[derive(Default)]
pub struct MemoryBus {
    state: Mutex<BusState>,
}

#[derive(Default)]
struct BusState {
    stored: Vec<Message>,
    ids: HashSet<MessageId>,
    calls: Vec<MessageId>,
    fail_next: usize,
    too_large_over: Option<usize>,
}

impl MemoryBus {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The next `n` publishes fail with a backend error.
    pub fn fail_next(&self, n: usize) {
        self.state.lock().unwrap().fail_next = n;
    }

    /// Publishes of bodies larger than `limit` bytes fail with `TooLarge`.
    pub fn refuse_over(&self, limit: usize) {
        self.state.lock().unwrap().too_large_over = Some(limit);
    }

    /// Stored (deduplicated) messages, in publish order.
    pub fn messages(&self) -> Vec<Message> {
        self.state.lock().unwrap().stored.clone()
    }

    /// Stored envelopes, decoded (checksum verified).
    pub fn envelopes(&self) -> Vec<Envelope> {
        let messages = self.messages();
        messages
            .iter()
            .map(|m| Envelope::from_bytes(m.body.expose()).unwrap())
            .collect()
    }

    /// Ids of every publish call, failed and duplicate ones included.
    pub fn calls(&self) -> Vec<MessageId> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn publisher(self: &Arc<Self>) -> Publisher {
        Publisher::new(self.clone(), QUEUE)
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn declare(&self, _spec: &QueueSpec) -> Result<(), BusError> {
        Ok(())
    }

    async fn publish(&self, queue: &str, message: Message) -> Result<Published, BusError> {
        assert_eq!(queue, QUEUE);
        let mut state = self.state.lock().unwrap();
        state.calls.push(message.id.clone());
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return Err(BusError::Backend("simulated outage".into()));
        }
        let size = message.body.expose().len();
        if let Some(limit) = state.too_large_over.filter(|limit| size > *limit) {
            return Err(BusError::TooLarge {
                id: message.id.to_string(),
                size,
                limit,
            });
        }
        if !state.ids.insert(message.id.clone()) {
            return Ok(Published::Duplicate);
        }
        state.stored.push(message);
        Ok(Published::New)
    }

    async fn receive(&self, _queue: &str, _wait: Duration) -> Result<Option<Delivery>, BusError> {
        Ok(None)
    }

    async fn ack(&self, _delivery: &Delivery) -> Result<(), BusError> {
        Ok(())
    }

    async fn nack(&self, _d: &Delivery, _retry: Duration) -> Result<Disposition, BusError> {
        Ok(Disposition::Requeued)
    }

    async fn reject(&self, _delivery: &Delivery, _reason: &str) -> Result<(), BusError> {
        Ok(())
    }

    async fn depth(&self, _queue: &str) -> Result<QueueDepth, BusError> {
        let ready = self.state.lock().unwrap().stored.len() as u64;
        Ok(QueueDepth {
            ready,
            in_flight: 0,
        })
    }

    async fn purge_key(&self, queue: &str, key: &str) -> Result<u64, BusError> {
        assert_eq!(queue, QUEUE);
        let stored = &mut self.state.lock().unwrap().stored;
        let before = stored.len();
        stored.retain(|m| m.key.as_deref() != Some(key));
        Ok((before - stored.len()) as u64)
    }
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/real")
}

pub fn fast_push() -> PushOptions {
    PushOptions {
        max_attempts: 5,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(20),
    }
}

/// A config for the adapter in front of `prison_api_url`, with quick retries.
pub fn test_config(prison_api_url: String) -> NomisConfig {
    let mut config = NomisConfig::new("127.0.0.1:0".parse().unwrap(), prison_api_url);
    config.enrichment_retries = RETRIES;
    config.enrichment_backoff_ms = 5;
    config.request_timeout_ms = 5_000;
    config
}

/// The real adapter, the mock NOMIS and a memory bus, talking over loopback.
pub struct Harness {
    pub bus: Arc<MemoryBus>,
    pub mock: MockNomis,
    pub adapter: RunningAdapter,
    shutdown: watch::Sender<bool>,
}

impl Harness {
    pub async fn start(population: Population) -> Self {
        let bus = MemoryBus::new();
        let mock = MockNomis::start(population).await.unwrap();
        let (shutdown, signal) = watch::channel(false);
        let cx = AdapterContext {
            publisher: bus.publisher(),
            shutdown: signal,
        };
        let adapter = test_config(mock.base_url()).build(cx).await.unwrap();
        Self {
            bus,
            mock,
            adapter,
            shutdown,
        }
    }

    pub async fn push_all(&self) -> PushReport {
        self.mock
            .push_to(&self.adapter.endpoint(), fast_push())
            .await
    }

    pub async fn push(&self, bodies: &[&[u8]]) -> PushReport {
        let pusher = self.mock.pusher(self.adapter.endpoint(), fast_push());
        pusher.push(bodies.iter().copied()).await
    }

    /// Signals shutdown and waits for both servers to stop.
    pub async fn stop(self) {
        self.shutdown.send(true).unwrap();
        self.adapter.stopped().await.unwrap();
        self.mock.stop().await;
    }
}

/// `context.error.code` of an envelope.
pub fn error_code(envelope: &Envelope) -> Option<String> {
    let code = envelope.context.expose().pointer("/error/code")?;
    code.as_str().map(str::to_owned)
}

/// `context.error.status` of an envelope.
pub fn error_status(envelope: &Envelope) -> Option<u64> {
    envelope.context.expose().pointer("/error/status")?.as_u64()
}
