//! The broker-side topology the bus declares (ADR 0005).
//!
//! Per declared queue `q`:
//! - `q`: a durable quorum queue; an ordered one ([`QueueSpec::ordered`]) with single active
//!   consumer (one process consumes it at a time; others stand by), an unordered one without
//!   (every consuming process gets a share: competing consumers); `x-delivery-limit` = delivery limit − 1 (the broker dead-letters a
//!   message it took back that many times *more* — a consumer that keeps crashing on it), a
//!   dead-letter exchange routing to `q.dead` with `at-least-once` dead-lettering (and so
//!   `x-overflow: reject-publish`, which at-least-once requires);
//! - `q.dead`: a durable quorum queue, single active consumer, no limit;
//! - a binding of `q` to the requeue exchange on header `x-waymark-queue = q`.
//!
//! Shared:
//! - `waymark.delay.<tier>`: quorum delay queues with a fixed `x-message-ttl` each (a per-queue
//!   TTL expires messages in order, unlike per-message TTL, which only expires at the head),
//!   dead-lettering (at least once) into
//! - `waymark.requeue`: a headers exchange that routes an expired message home by its
//!   `x-waymark-queue` header;
//! - `waymark.registry` (quorum) and `waymark.broadcast` (fanout): queue specs and purge
//!   tombstones, see [`super::registry`].

use std::time::Duration;

use lapin::{
    Channel, Connection, ErrorKind, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    protocol::{AMQPErrorKind, AMQPSoftError},
    types::{AMQPValue, FieldTable, LongString},
};

use super::{codec, link::amqp, registry};
use crate::{BusError, QueueSpec};

/// The exchange parked messages come home through.
pub(super) const REQUEUE_EXCHANGE: &str = "waymark.requeue";
/// The delay queues' TTLs. A retry shorter than the first waits in the consuming process.
pub(super) const TIERS: [Duration; 4] = [
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(3600),
];
/// The shortest delay queue: retries due sooner wait in the consuming process.
pub(super) const SHORTEST_TIER: Duration = TIERS[0];

/// The delay queue of a tier.
pub(super) fn tier_queue(tier: Duration) -> String {
    format!("waymark.delay.{}s", tier.as_secs())
}

/// The longest tier not longer than `remaining` (`None` under the shortest).
pub(super) fn tier_for(remaining: Duration) -> Option<Duration> {
    TIERS.iter().rev().copied().find(|tier| *tier <= remaining)
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.to_owned()))
}

fn durable() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

fn quorum() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), text("quorum"));
    args
}

/// Dead-lettering through `exchange` (routing key `key`, or the message's own), at least once.
fn dead_letter_to(args: &mut FieldTable, exchange: &str, key: Option<&str>) {
    args.insert("x-dead-letter-exchange".into(), text(exchange));
    if let Some(key) = key {
        args.insert("x-dead-letter-routing-key".into(), text(key));
    }
    args.insert("x-dead-letter-strategy".into(), text("at-least-once"));
    args.insert("x-overflow".into(), text("reject-publish"));
}

/// Declares the requeue exchange, the delay queues, the registry and the broadcast exchange.
pub(super) async fn declare_shared(conn: &Connection) -> Result<(), BusError> {
    let channel = conn.create_channel().await.map_err(amqp)?;
    let exchange_options = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            REQUEUE_EXCHANGE.into(),
            ExchangeKind::Headers,
            exchange_options,
            FieldTable::default(),
        )
        .await
        .map_err(amqp)?;
    for tier in TIERS {
        let mut args = quorum();
        let ttl = i64::try_from(tier.as_millis()).unwrap_or(i64::MAX);
        args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl));
        dead_letter_to(&mut args, REQUEUE_EXCHANGE, None);
        declare(&channel, &tier_queue(tier), args).await?;
    }
    declare(&channel, registry::REGISTRY, quorum()).await?;
    channel
        .exchange_declare(
            registry::BROADCAST.into(),
            ExchangeKind::Fanout,
            exchange_options,
            FieldTable::default(),
        )
        .await
        .map_err(amqp)?;
    super::link::close_channel(&channel, "declared").await;
    Ok(())
}

/// Declares `spec`'s queue, its dead-letter queue and its requeue binding.
pub(super) async fn declare_queue(conn: &Connection, spec: &QueueSpec) -> Result<(), BusError> {
    let dead = spec.dead_letter_name();
    codec::short(&dead)?;
    let channel = conn.create_channel().await.map_err(amqp)?;
    let mut dead_args = quorum();
    dead_args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    declare(&channel, &dead, dead_args).await?;
    let mut args = quorum();
    if spec.ordered {
        args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    }
    let limit = i64::from(spec.delivery_limit.max(1) - 1);
    args.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(limit));
    dead_letter_to(&mut args, "", Some(&dead));
    declare(&channel, &spec.name, args).await?;
    let mut bind = FieldTable::default();
    bind.insert("x-match".into(), text("all"));
    bind.insert(codec::HOME.into(), text(&spec.name));
    channel
        .queue_bind(
            codec::short(&spec.name)?,
            REQUEUE_EXCHANGE.into(),
            "".into(),
            QueueBindOptions::default(),
            bind,
        )
        .await
        .map_err(amqp)?;
    super::link::close_channel(&channel, "declared").await;
    Ok(())
}

async fn declare(channel: &Channel, name: &str, args: FieldTable) -> Result<(), BusError> {
    channel
        .queue_declare(codec::short(name)?, durable(), args)
        .await
        .map(|_| ())
        .map_err(|e| declare_error(name, &e))
}

/// A refused declare as a bus error: `PRECONDITION_FAILED` means the queue exists with other
/// arguments, which no retry mends.
fn declare_error(name: &str, error: &lapin::Error) -> BusError {
    let mismatch = matches!(
        error.kind(),
        ErrorKind::ProtocolError(e)
            if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED)
    );
    if mismatch {
        BusError::QueueMismatch(name.to_owned())
    } else {
        BusError::Backend(format!("declaring queue `{name}`: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_round_down_and_short_delays_stay_local() {
        assert_eq!(tier_for(Duration::from_secs(29)), None);
        assert_eq!(tier_for(Duration::from_secs(30)), Some(TIERS[0]));
        assert_eq!(tier_for(Duration::from_secs(599)), Some(TIERS[1]));
        assert_eq!(tier_for(Duration::from_secs(6 * 3600)), Some(TIERS[3]));
        assert_eq!(tier_queue(TIERS[1]), "waymark.delay.120s");
    }
}
