//! The broker consumers of one bus process: one per consumed queue, feeding its local queue,
//! and one on the registry broadcast (which also reads the registry each time it subscribes). Each runs as a task that re-subscribes after every lost
//! channel or connection, and ends when the bus is dropped.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Weak, atomic::Ordering},
    time::{Duration, Instant},
};

use super::{Consumed, Inner, codec, control, local::Arrival, moves, registry::BROADCAST};
use crate::{BusError, DELIVERY_LIMIT_REASON, X_DEATH_ATTEMPTS, X_DEATH_QUEUE, X_DEATH_REASON};
use lapin::{
    Channel, ConsumerDelegate,
    message::DeliveryResult,
    options::{
        BasicConsumeOptions, BasicQosOptions, BasicRejectOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::FieldTable,
};
use tokio::sync::mpsc;

/// How often a consumer task checks that its channel and its bus are still there.
const CHECK: Duration = Duration::from_millis(200);

/// What a consumer task consumes.
#[derive(Clone)]
enum Kind {
    Queue(Arc<Consumed>),
    Control,
}

/// Hands each delivery, in the order the broker sent them, to the consumer task. (lapin's
/// closure delegates run each delivery as its own task, which would lose the order.)
struct Forward(mpsc::UnboundedSender<DeliveryResult>);

impl ConsumerDelegate for Forward {
    fn on_new_delivery(
        &self,
        delivery: DeliveryResult,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let _ = self.0.send(delivery);
        Box::pin(std::future::ready(()))
    }
}

/// Keeps a consumer on `consumed`'s queue until the bus is dropped.
pub(super) async fn run_queue(inner: Weak<Inner>, consumed: Arc<Consumed>) {
    supervise(inner, Kind::Queue(consumed)).await;
}

/// Keeps a consumer on the registry broadcast until the bus is dropped.
pub(super) async fn run_control(inner: Weak<Inner>) {
    supervise(inner, Kind::Control).await;
}

/// The loop both consumers share: get a session, open a channel, subscribe, handle deliveries
/// in order until the channel dies (or the bus goes), clean up, again. Failed attempts back
/// off (see [`super::pause::Pause`]), so a queue the broker cannot serve yet — a quorum queue answering
/// `noproc` for a while after a restart closes the whole connection — does not become a storm
/// of reconnections that keeps a loaded broker from recovering.
async fn supervise(weak: Weak<Inner>, kind: Kind) {
    let mut pause = super::pause::Pause::default();
    loop {
        let Some(inner) = weak.upgrade().filter(|i| !i.is_closed()) else {
            return;
        };
        let Ok(session) = inner.link.session().await else {
            drop(inner);
            pause.wait().await;
            continue;
        };
        let generation = inner.next_tag();
        let channel = match session.conn.create_channel().await {
            Ok(channel) => channel,
            Err(error) => {
                inner
                    .link
                    .broken(session.generation, &error.to_string())
                    .await;
                drop(inner);
                pause.wait().await;
                continue;
            }
        };
        let subscribed = match &kind {
            Kind::Queue(consumed) => subscribe_queue(&inner, &channel, generation, consumed).await,
            Kind::Control => subscribe_control(&inner, &channel, generation).await,
        };
        drop(inner);
        let mut deliveries = match subscribed {
            Ok(deliveries) => deliveries,
            Err(error) => {
                tracing::warn!(error = %error, "subscribing failed; retrying");
                super::link::close_channel(&channel, "retrying").await;
                pause.wait().await;
                continue;
            }
        };
        let subscribed_at = Instant::now();
        handle_until_lost(&weak, &kind, &channel, generation, &mut deliveries).await;
        if let Kind::Queue(consumed) = &kind {
            consumed.lost(generation);
        }
        super::link::close_channel(&channel, "consumer done").await;
        pause.after_subscription(subscribed_at.elapsed()).await;
    }
}

/// Handles deliveries one at a time until the channel closes or the bus is dropped.
async fn handle_until_lost(
    weak: &Weak<Inner>,
    kind: &Kind,
    channel: &Channel,
    generation: u64,
    deliveries: &mut mpsc::UnboundedReceiver<DeliveryResult>,
) {
    let alive = || channel.status().connected() && weak.upgrade().is_some_and(|i| !i.is_closed());
    while alive() {
        let delivery = match tokio::time::timeout(CHECK, deliveries.recv()).await {
            Err(_) => continue,
            Ok(None) => return,
            Ok(Some(delivery)) => delivery,
        };
        // An error or a cancel ends this subscription; the supervisor starts another.
        let Ok(Some(delivery)) = delivery else {
            return;
        };
        let Some(inner) = weak.upgrade() else {
            return;
        };
        match kind {
            Kind::Queue(consumed) => on_delivery(&inner, consumed, generation, delivery).await,
            Kind::Control => on_control(&inner, delivery).await,
        }
    }
}

async fn subscribe_queue(
    inner: &Inner,
    channel: &Channel,
    generation: u64,
    consumed: &Consumed,
) -> Result<mpsc::UnboundedReceiver<DeliveryResult>, BusError> {
    let prefetch = inner.link.options.prefetch;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
        .map_err(super::link::amqp)?;
    let tag = format!("waymark-{generation}");
    let consumer = channel
        .basic_consume(
            codec::short(&consumed.name)?,
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(super::link::amqp)?;
    let (tx, rx) = mpsc::unbounded_channel();
    consumer.set_delegate(Forward(tx));
    Ok(rx)
}

async fn on_delivery(
    inner: &Inner,
    consumed: &Consumed,
    generation: u64,
    delivery: lapin::message::Delivery,
) {
    let lapin::message::Delivery {
        properties,
        data,
        acker,
        ..
    } = delivery;
    let Some(mut incoming) = codec::decode(&properties, data) else {
        tracing::warn!(queue = %consumed.name, "a message the bus did not publish was dead-lettered");
        let rejecting = acker.reject(BasicRejectOptions { requeue: false });
        let _ = tokio::time::timeout(CHECK * 25, rejecting).await;
        return;
    };
    describe_death(inner, &mut incoming);
    let tombstone = inner
        .control
        .tombstone(&consumed.name, incoming.message.key.as_deref());
    let now = (Instant::now(), inner.clock.now());
    let arrival = consumed
        .local()
        .arrive(generation, acker, incoming, tombstone, now);
    match arrival {
        Arrival::Kept => consumed.notify.notify_waiters(),
        Arrival::Drop(acker, why) => {
            if why == "purged" {
                consumed.purged_on_arrival.fetch_add(1, Ordering::Relaxed);
            }
            tracing::debug!(queue = %consumed.name, why, "arriving copy dropped");
            super::link::ack(&acker).await;
        }
        Arrival::Repark(moving) => moves::repark(inner, consumed, *moving).await,
        Arrival::Follow(moving, tier) => moves::follow(inner, consumed, *moving, tier).await,
    }
}

/// Gives a message the broker dead-lettered (a crash loop hit `x-delivery-limit`) the bus's
/// `x-death-*` headers, as if the bus had dead-lettered it.
fn describe_death(inner: &Inner, incoming: &mut codec::Incoming) {
    let Some(death) = incoming.death.take() else {
        return;
    };
    let headers = &mut incoming.message.headers;
    if death.reason == "expired" || headers.contains_key(X_DEATH_QUEUE) {
        return;
    }
    let limit = inner.control.rules(&death.queue).map_or(0, |r| r.limit);
    let (reason, attempts) = match death.reason.as_str() {
        "delivery_limit" => (DELIVERY_LIMIT_REASON.to_owned(), limit),
        other => (other.to_owned(), 1),
    };
    headers.insert(X_DEATH_QUEUE.into(), death.queue);
    headers.insert(X_DEATH_REASON.into(), reason);
    headers.insert(X_DEATH_ATTEMPTS.into(), attempts.to_string());
}

/// Subscribes to the broadcast through a queue of this connection's own, then reads the
/// registry: nothing written in between is missed.
async fn subscribe_control(
    inner: &Inner,
    channel: &Channel,
    generation: u64,
) -> Result<mpsc::UnboundedReceiver<DeliveryResult>, BusError> {
    let options = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    let own = channel
        .queue_declare("".into(), options, FieldTable::default())
        .await
        .map_err(super::link::amqp)?;
    channel
        .queue_bind(
            own.name().clone(),
            BROADCAST.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(super::link::amqp)?;
    let tag = format!("waymark-control-{generation}");
    let consume = BasicConsumeOptions {
        no_ack: true,
        ..BasicConsumeOptions::default()
    };
    let consumer = channel
        .basic_consume(
            own.name().clone(),
            tag.as_str().into(),
            consume,
            FieldTable::default(),
        )
        .await
        .map_err(super::link::amqp)?;
    let (tx, rx) = mpsc::unbounded_channel();
    consumer.set_delegate(Forward(tx));
    inner.refresh().await?;
    Ok(rx)
}

async fn on_control(inner: &Inner, delivery: lapin::message::Delivery) {
    if let Some(record) = control::decode(&delivery.properties) {
        inner.apply(record).await;
    }
}

/// Applies a tombstone to the local queue of `queue`, if this process consumes it. Returns
/// how many messages it removed.
pub(super) async fn apply_purge(inner: &Inner, queue: &str, key: &str, at_us: i64) -> u64 {
    let Some(consumed) = inner.consumed(queue) else {
        return 0;
    };
    let (ackers, count) = consumed.local().purge(key, at_us, Instant::now());
    for acker in ackers {
        super::link::ack(&acker).await;
    }
    consumed.notify.notify_waiters();
    tracing::debug!(queue, count, "tombstone applied");
    count
}
