//! The real embedded bus (`SqliteBus` in a file) behind a gate that can refuse, hold or slow
//! publishes, and records every publish the bus confirmed (new or already held).

use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use tokio::sync::{Notify, watch};
use waymark_bus::{
    Bus, BusError, Delivery, Disposition, Message, Published, Publisher, QueueDepth, QueueSpec,
    SqliteBus,
};
use waymark_core::{Envelope, MessageId};

use super::QUEUE;

/// How long a test waits for a condition before failing.
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

/// Every publish the bus confirmed, shared across adapter "processes".
pub type Confirmed = Arc<Mutex<Vec<(MessageId, Published)>>>;

/// The embedded bus behind a gate.
pub struct GateBus {
    inner: SqliteBus,
    mode: watch::Sender<Mode>,
    confirmed: Confirmed,
    messages: Mutex<Vec<Message>>,
    refused: AtomicUsize,
    held: AtomicUsize,
    fail_next: AtomicUsize,
    delay_ms: AtomicU64,
    changed: Notify,
}

impl GateBus {
    /// Opens (or reopens) the bus file, recording confirmations into `confirmed`.
    pub async fn open(path: &Path, confirmed: Confirmed) -> Arc<Self> {
        let inner = SqliteBus::open(path).await.unwrap();
        inner.declare(&QueueSpec::new(QUEUE)).await.unwrap();
        Arc::new(Self {
            inner,
            mode: watch::channel(Mode::Open).0,
            confirmed,
            messages: Mutex::default(),
            refused: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
            fail_next: AtomicUsize::new(0),
            delay_ms: AtomicU64::new(0),
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

    /// Each publish waits `ms` before it reaches the bus (a slow disk).
    pub fn slow(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    pub fn publisher(self: &Arc<Self>) -> Publisher {
        Publisher::new(self.clone(), QUEUE)
    }

    /// Every publish confirmed, in order, with what the bus said.
    pub fn confirmed(&self) -> Vec<(MessageId, Published)> {
        self.confirmed.lock().unwrap().clone()
    }

    /// The envelopes of the confirmed publishes through this gate, in order.
    pub fn envelopes(&self) -> Vec<Envelope> {
        let messages = self.messages.lock().unwrap().clone();
        messages
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

    /// Takes every message the bus holds, as envelopes, acking each.
    pub async fn drain(&self) -> Vec<Envelope> {
        let mut envelopes = Vec::new();
        while let Some(delivery) = self.inner.receive(QUEUE, Duration::ZERO).await.unwrap() {
            envelopes.push(Envelope::from_bytes(delivery.message.body.expose()).unwrap());
            self.inner.ack(&delivery).await.unwrap();
        }
        envelopes
    }

    fn refuse(&self) -> Result<(), BusError> {
        self.refused.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
        Err(BusError::Backend("bus down (test)".into()))
    }

    async fn gate(&self) -> Result<(), BusError> {
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.fail_next.load(Ordering::SeqCst) > 0 {
            self.fail_next.fetch_sub(1, Ordering::SeqCst);
            return self.refuse();
        }
        let mut mode = self.mode.subscribe();
        let now = *mode.borrow();
        match now {
            Mode::Open => Ok(()),
            Mode::Refuse => self.refuse(),
            Mode::Hold => {
                self.held.fetch_add(1, Ordering::SeqCst);
                self.changed.notify_waiters();
                let _ = mode.wait_for(|m| *m != Mode::Hold).await;
                self.held.fetch_sub(1, Ordering::SeqCst);
                if *mode.borrow() == Mode::Refuse {
                    self.refuse()
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
        let id = message.id.clone();
        let published = self.inner.publish(queue, message.clone()).await?;
        self.messages.lock().unwrap().push(message);
        self.confirmed.lock().unwrap().push((id, published));
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
