//! Moving a held message to another queue: to its dead-letter queue, or to a delay queue for a
//! long retry. Always publish-with-confirm first, then ack the original: a crash in between
//! leaves two copies (the consumer of the target drops the second by id), never none.

use std::time::{Duration, Instant};

use lapin::Acker;

use super::{
    Consumed, Inner,
    codec::{self, Meta},
    local::{Moving, Parked, micros, settle::Outcome},
    publish::{self, Routed},
    topology::{self, SHORTEST_TIER},
};
use crate::{BusError, X_DEATH_ATTEMPTS, X_DEATH_QUEUE, X_DEATH_REASON};

/// How long a move waits for the broker before it gives up (the message then stays held).
const MOVE_PATIENCE: Duration = Duration::from_secs(10);

/// Dead-letters the message leased under `tag`, with `reason`.
pub(super) async fn dead_letter(
    inner: &Inner,
    consumed: &Consumed,
    tag: u64,
    moving: Moving<Acker>,
    reason: &str,
) -> Result<(), BusError> {
    let Moving {
        acker,
        mut message,
        meta,
        ..
    } = moving;
    let (from, to) = (consumed.name.as_str(), consumed.dead_letter.as_str());
    // A message failing again in a dead-letter queue that parks into itself keeps the record of
    // its first death, as on the embedded bus.
    if from != to || !message.headers.contains_key(X_DEATH_QUEUE) {
        message.headers.insert(X_DEATH_QUEUE.into(), from.into());
        message.headers.insert(X_DEATH_REASON.into(), reason.into());
        message
            .headers
            .insert(X_DEATH_ATTEMPTS.into(), meta.attempts.to_string());
    }
    let copy = Meta {
        enqueued_us: inner.clock.now(),
        ..Meta::default()
    };
    let result = send(inner, to, &message, &copy, &acker).await;
    let outcome = if result.is_ok() {
        Outcome::Gone
    } else {
        Outcome::Failed
    };
    consumed.local().finish(tag, outcome, Instant::now());
    if result.is_ok() {
        let id = message.id.as_str();
        tracing::warn!(
            queue = from,
            dead_letter = to,
            id,
            reason,
            attempts = meta.attempts,
            "message dead-lettered"
        );
    }
    result
}

/// Parks the message leased under `tag` in a delay queue until `due_us`, and every held
/// message of its key behind it.
pub(super) async fn park(
    inner: &Inner,
    consumed: &Consumed,
    tag: u64,
    moving: Moving<Acker>,
    due_us: i64,
) -> Result<(), BusError> {
    let result = park_head(inner, consumed, &moving, due_us).await;
    let outcome = if result.is_ok() {
        Outcome::Parked
    } else {
        Outcome::Failed
    };
    consumed.local().finish(tag, outcome, Instant::now());
    let tier = result?;
    after_parking(inner, consumed, moving, tier).await;
    Ok(())
}

/// A parked message came back before it is due (a long retry takes several delay queues).
pub(super) async fn repark(inner: &Inner, consumed: &Consumed, moving: Moving<Acker>) {
    let due_us = moving.meta.due_us.unwrap_or(0);
    match park_head(inner, consumed, &moving, due_us).await {
        Ok(tier) => after_parking(inner, consumed, moving, tier).await,
        Err(_) => consumed.local().restore(moving, Instant::now()),
    }
}

/// Parks a message of a parked key behind its head, in the head's delay queue.
pub(super) async fn follow(
    inner: &Inner,
    consumed: &Consumed,
    moving: Moving<Acker>,
    tier: Duration,
) {
    let meta = Meta {
        due_us: None,
        home: Some(consumed.name.clone()),
        ..moving.meta.clone()
    };
    let target = topology::tier_queue(tier);
    match send(inner, &target, &moving.message, &meta, &moving.acker).await {
        Ok(()) => {
            let key = moving.message.key.as_deref();
            consumed
                .local()
                .followed(moving.message.id.as_str(), key, moving.meta.enqueued_us);
        }
        Err(_) => consumed.local().restore(moving, Instant::now()),
    }
}

/// Publishes the head to the longest delay queue its remaining wait allows and acks it.
async fn park_head(
    inner: &Inner,
    consumed: &Consumed,
    moving: &Moving<Acker>,
    due_us: i64,
) -> Result<Duration, BusError> {
    let remaining = Duration::from_micros(
        due_us
            .saturating_sub(inner.clock.now())
            .max(0)
            .unsigned_abs(),
    );
    let tier = topology::tier_for(remaining).unwrap_or(SHORTEST_TIER);
    let meta = Meta {
        due_us: Some(due_us),
        home: Some(consumed.name.clone()),
        ..moving.meta.clone()
    };
    let target = topology::tier_queue(tier);
    send(inner, &target, &moving.message, &meta, &moving.acker).await?;
    Ok(tier)
}

/// Records the parked head and parks the held messages of its key behind it.
async fn after_parking(inner: &Inner, consumed: &Consumed, moving: Moving<Acker>, tier: Duration) {
    let key = moving.message.key.clone();
    let parked = Parked {
        id: moving.message.id.as_str().to_owned(),
        seq: moving.seq,
        tier,
    };
    consumed
        .local()
        .parked(key.as_deref(), parked, moving.meta.enqueued_us);
    tracing::debug!(queue = %consumed.name, id = %moving.message.id, tier_s = tier.as_secs(), "message parked for a retry");
    let Some(key) = key else {
        return;
    };
    let followers = consumed.local().followers(&key);
    for follower in followers {
        follow(inner, consumed, follower, tier).await;
    }
}

/// Publishes a copy of `message` with `meta` to queue `to` (confirmed), then acks the original.
async fn send(
    inner: &Inner,
    to: &str,
    message: &crate::Message,
    meta: &Meta,
    acker: &Acker,
) -> Result<(), BusError> {
    let properties = codec::encode(message, meta)?;
    let body = message.body.expose();
    match publish::confirmed(&inner.link, ("", to), &properties, body, MOVE_PATIENCE).await? {
        Routed::Stored => {}
        Routed::NoRoute => return Err(BusError::UnknownQueue(to.to_owned())),
    }
    if super::link::ack(acker).await {
        Ok(())
    } else {
        let why = "the original's channel is gone; it will be redelivered";
        Err(BusError::Backend(why.into()))
    }
}

/// `now + after` in unix µs.
pub(super) fn due(inner: &Inner, after: Duration) -> i64 {
    inner.clock.now().saturating_add(micros(after))
}
