//! The local queue: what this process holds of one consumed RabbitMQ queue, and the rules the
//! embedded bus keeps in SQL, kept here in memory over the broker's prefetched messages.
//!
//! Every message in it is unacked at the broker, so a crash of this process returns it to the
//! queue, in order (quorum queues return a consumer's messages in delivery order, ahead of the
//! rest). The local queue adds what RabbitMQ does not have:
//! - *leases*: a delivery not settled within the queue's lease is taken back and counts as a
//!   failed delivery;
//! - *short retries*: a nack with a delay under [`super::topology::SHORTEST_TIER`] keeps the
//!   message here, unacked, in its place, until it is due;
//! - *per-key order*: a keyed message goes only when no earlier message of its key is here, and
//!   its key is not parked (its head waiting out a long retry in a delay queue);
//! - *the delivery limit*: deliveries are counted from the broker's `x-delivery-count`, the
//!   count a parked copy carries, and the local deliveries;
//! - *dedupe*: a copy of an id held here, or settled recently, is dropped on arrival.
//!
//! It does no IO: callers get the ackers and the messages to move, and report back.

pub(super) mod settle;
mod take;
#[cfg(test)]
mod tests;

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use super::{
    codec::{Incoming, Meta},
    ids::RecentIds,
};
use crate::{Delivery, Message};

/// Where one held message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Deliverable from this instant (now, or when a short retry is due).
    Ready(Instant),
    /// Handed out under `tag` until `until`; `settling` while an ack, nack or reject of it is
    /// under way (nobody else may take it meanwhile).
    Leased {
        tag: u64,
        until: Instant,
        settling: bool,
    },
}

/// One message held locally.
#[derive(Debug)]
pub(super) struct Entry<A> {
    /// The consumer (channel) generation it came on; its acker is only good on that channel.
    generation: u64,
    acker: A,
    message: Message,
    meta: Meta,
    /// Deliveries before it arrived here: the copy's own count plus the broker's returns.
    base: u32,
    /// Deliveries from here.
    deliveries: u32,
    state: State,
}

impl<A> Entry<A> {
    fn attempts(&self) -> u32 {
        self.base.saturating_add(self.deliveries)
    }
}

/// A key whose head is parked in a delay queue: its later messages wait (or are parked too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Parked {
    /// The head's id.
    pub id: String,
    /// Its place here, taken again when it comes back.
    pub seq: u64,
    /// The delay queue it waits in (followers are parked in the same one, behind it).
    pub tier: Duration,
}

/// What arrived, and what the caller must do with it.
#[derive(Debug)]
pub(super) enum Arrival<A> {
    /// Kept; receivers may be woken.
    Kept,
    /// A copy of a held or recently settled id, or a message purged by a tombstone: ack it.
    Drop(A, &'static str),
    /// A parked head whose retry is not yet due within the shortest delay: park it again.
    Repark(Box<Moving<A>>),
    /// A message of a parked key: park it behind its head, in the head's delay queue.
    Follow(Box<Moving<A>>, Duration),
}

/// A message leaving the local queue for another queue: its acker, the message and its meta.
#[derive(Debug)]
pub(super) struct Moving<A> {
    pub acker: A,
    pub message: Message,
    pub meta: Meta,
    /// Its place here, so a failed move can put it back where it was.
    pub seq: u64,
    pub generation: u64,
}

/// What a receive found.
#[derive(Debug)]
pub(super) enum Take<A> {
    /// Handed out.
    Deliver(Delivery),
    /// Over its delivery limit: dead-letter it, then settle `tag`.
    DeadLetter(u64, Box<Moving<A>>),
    /// Nothing deliverable; look again at `wake` (a retry coming due or a lease running out).
    Nothing(Option<Instant>),
}

/// What this process holds of one queue.
#[derive(Debug)]
pub(super) struct LocalQueue<A> {
    queue: String,
    limit: u32,
    lease: Duration,
    next_seq: u64,
    entries: BTreeMap<u64, Entry<A>>,
    /// Live delivery tags → seq.
    tags: HashMap<u64, u64>,
    /// Tags in flight on a channel that died: the broker will deliver the message again, but
    /// its key stays held until the old holder settles or its lease ends.
    stale: HashMap<u64, (Option<String>, Instant)>,
    /// Keys whose head is parked.
    parked: HashMap<String, Parked>,
    /// Ids this process parked for this queue and not yet seen back: (key, enqueued µs).
    away: HashMap<String, (Option<String>, i64)>,
    /// Ids held here → seq.
    held: HashMap<String, u64>,
    settled: RecentIds,
}

impl<A: Clone> LocalQueue<A> {
    pub(super) fn new(queue: &str, limit: u32, lease: Duration, settled: RecentIds) -> Self {
        Self {
            queue: queue.to_owned(),
            limit: limit.max(1),
            lease,
            next_seq: 0,
            entries: BTreeMap::new(),
            tags: HashMap::new(),
            stale: HashMap::new(),
            parked: HashMap::new(),
            away: HashMap::new(),
            held: HashMap::new(),
            settled,
        }
    }

    /// Takes in a message the broker delivered on channel generation `generation`. `tombstone` is the
    /// latest purge of its key in this queue (unix µs), `now_us` the wall clock.
    pub(super) fn arrive(
        &mut self,
        generation: u64,
        acker: A,
        incoming: Incoming,
        tombstone: Option<i64>,
        (now, now_us): (Instant, i64),
    ) -> Arrival<A> {
        let Incoming {
            message,
            meta,
            returns,
            ..
        } = incoming;
        let id = message.id.as_str().to_owned();
        self.away.remove(&id);
        if self.held.contains_key(&id) || self.settled.contains(&id, now) {
            return Arrival::Drop(acker, "duplicate");
        }
        if tombstone.is_some_and(|at| meta.enqueued_us <= at) {
            self.settled.insert(&id, now);
            return Arrival::Drop(acker, "purged");
        }
        let mut seq = None;
        if let Some(key) = &message.key {
            match self.parked.get(key) {
                Some(head) if head.id == id => {
                    seq = Some(head.seq);
                    self.parked.remove(key);
                }
                Some(head) => {
                    let tier = head.tier;
                    let seq = self.bump();
                    let moving = Moving {
                        acker,
                        message,
                        meta,
                        seq,
                        generation,
                    };
                    return Arrival::Follow(Box::new(moving), tier);
                }
                None => {}
            }
        }
        let seq = seq.unwrap_or_else(|| self.bump());
        let remaining = meta.due_us.map_or(0, |due| due.saturating_sub(now_us));
        if remaining >= micros(super::topology::SHORTEST_TIER) {
            let moving = Moving {
                acker,
                message,
                meta,
                seq,
                generation,
            };
            return Arrival::Repark(Box::new(moving));
        }
        let at = now + Duration::from_micros(remaining.unsigned_abs());
        let base = meta.attempts.saturating_add(returns);
        self.held.insert(id, seq);
        let entry = Entry {
            generation,
            acker,
            message,
            meta,
            base,
            deliveries: 0,
            state: State::Ready(at),
        };
        self.entries.insert(seq, entry);
        Arrival::Kept
    }

    fn bump(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

/// A copy of an entry on its way out.
fn moving_of<A: Clone>(seq: u64, entry: &Entry<A>) -> Moving<A> {
    let meta = Meta {
        attempts: entry.attempts(),
        ..entry.meta.clone()
    };
    Moving {
        acker: entry.acker.clone(),
        message: entry.message.clone(),
        meta,
        seq,
        generation: entry.generation,
    }
}

fn earliest(a: Option<Instant>, b: Instant) -> Option<Instant> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// A duration in whole microseconds, saturating.
pub(super) fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
