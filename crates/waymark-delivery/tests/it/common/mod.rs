//! Test helpers: a tiny in-memory `Bus` double (the real bus has its own conformance suite),
//! releasable bundles made through the real policy, subscriptions and events.
#![allow(dead_code)]

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use waymark_bus::{
    Bus, BusError, Delivery, DeliveryTag, Disposition, Message, Published, QueueDepth, QueueSpec,
};
use waymark_core::{CONFIDENTIALITY_SYSTEM, DATA_CLASS_SYSTEM, MessageId, Role, SourceSystem};
use waymark_delivery::{
    DeliveryEvent, EventMeta, PayloadMode, RestHook, RestHookConfig, Subscription, run_deliveries,
};
use waymark_policy::{Policy, Recipient, Releasable};
use waymark_profile::Validator;

// ---------------------------------------------------------------- in-memory bus double

struct Item {
    message: Message,
    deliveries: u32,
    ready_at: Instant,
    held: Option<u64>,
}

#[derive(Default)]
struct Queue {
    limit: u32,
    seen: BTreeSet<MessageId>,
    items: Vec<Item>,
    dead: Vec<(MessageId, String)>,
}

#[derive(Default)]
struct State {
    queues: HashMap<String, Queue>,
    next_tag: u64,
    nack_delays: Vec<Duration>,
}

/// Honours keys (one at a time, in publish order), delivery limits, dead-lettering and
/// de-duplication by id; retry delays are recorded and shortened to `max_delay` so tests run fast,
/// or, on an accelerated clock ([`MemBus::accelerated`]), scaled.
pub struct MemBus {
    state: Mutex<State>,
    max_delay: Duration,
    time_scale: Option<f64>,
}

/// The accelerated clock: one simulated minute is 60 ms of real time.
pub const TIME_SCALE: f64 = 0.001;

impl MemBus {
    pub fn new() -> Self {
        Self {
            state: Mutex::default(),
            max_delay: Duration::from_millis(20),
            time_scale: None,
        }
    }

    /// A bus whose retry delays run on an accelerated clock: each real backoff delay is waited
    /// for `scale` times its length (see [`TIME_SCALE`]), not flattened.
    pub fn accelerated(scale: f64) -> Self {
        Self {
            time_scale: Some(scale),
            ..Self::new()
        }
    }

    /// `(message id, reason)` of each dead-lettered message of `queue`.
    pub fn dead_letters(&self, queue: &str) -> Vec<(MessageId, String)> {
        self.state
            .lock()
            .unwrap()
            .queues
            .get(queue)
            .map(|q| q.dead.clone())
            .unwrap_or_default()
    }

    /// The retry delays nacks asked for.
    pub fn nack_delays(&self) -> Vec<Duration> {
        self.state.lock().unwrap().nack_delays.clone()
    }

    /// The bodies of the messages waiting in `queue`.
    pub fn bodies(&self, queue: &str) -> Vec<Vec<u8>> {
        let state = self.state.lock().unwrap();
        state.queues[queue]
            .items
            .iter()
            .map(|i| i.message.body.expose().clone())
            .collect()
    }

    fn try_receive(&self, queue: &str) -> Result<Option<Delivery>, BusError> {
        let mut state = self.state.lock().unwrap();
        state.next_tag += 1;
        let tag = state.next_tag;
        let q = state
            .queues
            .get_mut(queue)
            .ok_or_else(|| BusError::UnknownQueue(queue.into()))?;
        let now = Instant::now();
        let mut blocked_keys = BTreeSet::new();
        for item in &mut q.items {
            let key = item.message.key.clone();
            let blocked = key.as_ref().is_some_and(|k| blocked_keys.contains(k));
            if !blocked && item.held.is_none() && item.ready_at <= now {
                item.deliveries += 1;
                item.held = Some(tag);
                let (message, attempt) = (item.message.clone(), item.deliveries);
                return Ok(Some(Delivery {
                    queue: queue.into(),
                    tag: DeliveryTag(tag),
                    attempt,
                    message,
                }));
            }
            blocked_keys.extend(key);
        }
        Ok(None)
    }

    fn take(&self, delivery: &Delivery) -> Result<Item, BusError> {
        let mut state = self.state.lock().unwrap();
        let q = state
            .queues
            .get_mut(&delivery.queue)
            .ok_or(BusError::StaleDelivery(delivery.tag.0))?;
        let pos = q
            .items
            .iter()
            .position(|i| i.held == Some(delivery.tag.0))
            .ok_or(BusError::StaleDelivery(delivery.tag.0))?;
        Ok(q.items.remove(pos))
    }

    fn dead_letter(&self, queue: &str, id: MessageId, reason: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .queues
            .get_mut(queue)
            .unwrap()
            .dead
            .push((id, reason.to_owned()));
    }
}

#[async_trait]
impl Bus for MemBus {
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        let mut state = self.state.lock().unwrap();
        let q = state.queues.entry(spec.name.clone()).or_default();
        q.limit = spec.delivery_limit;
        Ok(())
    }

    async fn publish(&self, queue: &str, message: Message) -> Result<Published, BusError> {
        let mut state = self.state.lock().unwrap();
        let q = state
            .queues
            .get_mut(queue)
            .ok_or_else(|| BusError::UnknownQueue(queue.into()))?;
        if !q.seen.insert(message.id.clone()) {
            return Ok(Published::Duplicate);
        }
        q.items.push(Item {
            message,
            deliveries: 0,
            ready_at: Instant::now(),
            held: None,
        });
        Ok(Published::New)
    }

    async fn receive(&self, queue: &str, wait: Duration) -> Result<Option<Delivery>, BusError> {
        let until = Instant::now() + wait;
        loop {
            if let Some(d) = self.try_receive(queue)? {
                return Ok(Some(d));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), BusError> {
        self.take(delivery).map(drop)
    }

    async fn nack(
        &self,
        delivery: &Delivery,
        retry_after: Duration,
    ) -> Result<Disposition, BusError> {
        let mut state = self.state.lock().unwrap();
        state.nack_delays.push(retry_after);
        let q = state
            .queues
            .get_mut(&delivery.queue)
            .ok_or(BusError::StaleDelivery(delivery.tag.0))?;
        let pos = q
            .items
            .iter()
            .position(|i| i.held == Some(delivery.tag.0))
            .ok_or(BusError::StaleDelivery(delivery.tag.0))?;
        if q.items[pos].deliveries >= q.limit {
            let item = q.items.remove(pos);
            q.dead
                .push((item.message.id, "delivery limit reached".into()));
            return Ok(Disposition::DeadLettered);
        }
        let item = &mut q.items[pos];
        item.held = None;
        let wait = match self.time_scale {
            Some(scale) => retry_after.mul_f64(scale),
            None => retry_after.min(self.max_delay),
        };
        item.ready_at = Instant::now() + wait;
        Ok(Disposition::Requeued)
    }

    async fn reject(&self, delivery: &Delivery, reason: &str) -> Result<(), BusError> {
        let item = self.take(delivery)?;
        self.dead_letter(&delivery.queue, item.message.id, reason);
        Ok(())
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, BusError> {
        let state = self.state.lock().unwrap();
        let q = state
            .queues
            .get(queue)
            .ok_or_else(|| BusError::UnknownQueue(queue.into()))?;
        let in_flight = q.items.iter().filter(|i| i.held.is_some()).count() as u64;
        Ok(QueueDepth {
            ready: q.items.len() as u64 - in_flight,
            in_flight,
        })
    }

    async fn purge_key(&self, queue: &str, key: &str) -> Result<u64, BusError> {
        let mut state = self.state.lock().unwrap();
        let q = state
            .queues
            .get_mut(queue)
            .ok_or_else(|| BusError::UnknownQueue(queue.into()))?;
        let before = q.items.len();
        q.items
            .retain(|i| i.held.is_some() || i.message.key.as_deref() != Some(key));
        Ok((before - q.items.len()) as u64)
    }
}

// ---------------------------------------------------------------- releasable bundles

/// Layers 1 to 3 (R4 schema, structure, bundle rules incl. labels) without the HJMD profiles:
/// these tests are about what the policy and delivery do with any labelled bundle, including
/// combinations of resources no mapping produces; the profiles have their own battery.
pub fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| Validator::schema_only().expect("the R4 validator loads"))
}

pub fn policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| Policy::builtin().expect("the built-in policy loads"))
}

/// The id of test patient `n`.
pub fn patient_id(n: u64) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

fn rid(n: u64, k: u64) -> String {
    format!("{n:08x}-0000-4000-8000-{k:012x}")
}

fn labelled(mut resource: Value, class: &str, conf: &str) -> Value {
    resource["meta"] = json!({ "security": [
        { "system": DATA_CLASS_SYSTEM, "code": class },
        { "system": CONFIDENTIALITY_SYSTEM, "code": conf } ] });
    resource
}

/// A canonical bundle about patient `n`: Patient, a self-harm Flag, a mental health Condition.
pub fn bundle_json(n: u64) -> Value {
    let pid = patient_id(n);
    let subject = json!({ "reference": format!("urn:uuid:{pid}") });
    let resources = vec![
        labelled(
            json!({ "resourceType": "Patient", "id": pid, "active": true }),
            "identity",
            "N",
        ),
        labelled(
            json!({ "resourceType": "Flag", "id": rid(n, 1), "status": "active",
                    "code": { "text": "self-harm risk" }, "subject": subject }),
            "risk-self",
            "R",
        ),
        labelled(
            json!({ "resourceType": "Condition", "id": rid(n, 2),
                    "code": { "text": "CANARY-DIAGNOSIS" }, "subject": subject }),
            "mh-clinical",
            "V",
        ),
    ];
    let targets: Vec<Value> = resources
        .iter()
        .map(|r| json!({ "reference": format!("urn:uuid:{}", r["id"].as_str().unwrap()) }))
        .collect();
    let provenance = json!({ "resourceType": "Provenance", "id": rid(n, 3), "target": targets,
        "recorded": "2024-03-01T10:00:00Z", "agent": [{ "who": { "display": "synthetic" } }] });
    let entries: Vec<Value> = resources
        .into_iter()
        .chain([provenance])
        .map(|r| json!({ "fullUrl": format!("urn:uuid:{}", r["id"].as_str().unwrap()), "resource": r }))
        .collect();
    json!({ "resourceType": "Bundle", "id": rid(n, 4), "type": "collection", "entry": entries })
}

pub fn recipient(role: Role) -> Recipient {
    Recipient {
        organisation: "hmp-test".into(),
        role,
        registered: false,
        purpose: "continuity-of-care".into(),
    }
}

/// Patient `n`'s bundle, released to `recipient` by the built-in policy.
pub fn releasable(n: u64, recipient: &Recipient) -> Releasable {
    let bundle = match validator().validate(bundle_json(n)) {
        Ok(b) => b,
        Err(oo) => panic!("test bundle does not validate: {}", oo.to_json()),
    };
    policy().release(&bundle, recipient).expect("releasable")
}

// ---------------------------------------------------------------- subscriptions and events

/// A 32-byte Standard Webhooks secret made from `seed`.
pub fn secret(seed: u8) -> String {
    let bytes: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(31).wrapping_add(seed))
        .collect();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

pub fn subscription(endpoint: &str, payload: PayloadMode, role: Role) -> Subscription {
    Subscription::new(
        "hmp-test-reception",
        "prison.reception",
        endpoint,
        recipient(role),
        secret(1),
        payload,
    )
}

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-03-01T10:00:00Z")
        .unwrap()
        .to_utc()
}

/// Event `number` about patient `patient`.
pub fn event(number: u64, patient: u64) -> EventMeta {
    EventMeta {
        event_id: MessageId::derive(SourceSystem::Nomis, &format!("event-{number}")),
        event_number: number,
        topic: "prison.reception".into(),
        timestamp: t0() + chrono::Duration::seconds(number as i64),
        patient_id: patient_id(patient),
    }
}

/// `(event-number, focus reference)` of a notification bundle.
pub fn event_of(notification: &Value) -> (u64, String) {
    let params = notification["entry"][0]["resource"]["parameter"]
        .as_array()
        .unwrap();
    let event = params
        .iter()
        .find(|p| p["name"] == "notification-event")
        .unwrap();
    let part = |name: &str| {
        event["part"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    let number = part("event-number")["valueString"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let focus = part("focus")["valueReference"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    (number, focus)
}

/// Polls `check` every 10 ms for up to `secs` seconds.
pub async fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}

// ---------------------------------------------------------------- delivery workers

/// A running `run_deliveries` task with its event channel.
pub struct Worker {
    pub events: mpsc::UnboundedReceiver<DeliveryEvent>,
    pub stop: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts a worker for `sub` on `bus` with the default hook.
pub fn start_worker(bus: Arc<dyn Bus>, sub: &Subscription) -> Worker {
    start_worker_with(bus, sub, &RestHookConfig::default())
}

/// Starts a worker for `sub` on `bus` with a hook of `config`.
pub fn start_worker_with(bus: Arc<dyn Bus>, sub: &Subscription, config: &RestHookConfig) -> Worker {
    let (tx, events) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    let hook = RestHook::new(config).unwrap();
    let task = tokio::spawn(run_deliveries(bus, sub.clone(), hook, tx, shutdown));
    Worker { events, stop, task }
}

impl Worker {
    /// Stops the worker (it must stop within 5 s) and returns every event it sent.
    pub async fn stop(mut self) -> Vec<DeliveryEvent> {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .unwrap()
            .unwrap();
        let mut all = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            all.push(e);
        }
        all
    }
}

/// Percentile `p` (0..=100) of sorted `values`.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
