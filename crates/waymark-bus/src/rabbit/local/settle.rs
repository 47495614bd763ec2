//! Settling what the local queue handed out, purges, parking and lost channels.

use std::time::Instant;

use super::{Entry, LocalQueue, Moving, Parked, State, moving_of};

/// A delivery being settled: what the caller needs for the broker side.
#[derive(Debug)]
pub(in crate::rabbit) struct Begun<A> {
    /// The message on its way out (for a dead-letter or parked copy) and its acker.
    pub moving: Moving<A>,
    /// Deliveries so far, this one included.
    pub attempts: u32,
    /// The queue's delivery limit.
    pub limit: u32,
}

/// How a settle ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::rabbit) enum Outcome {
    /// Acked at the broker (done or dead-lettered): forget it, and drop later copies.
    Gone,
    /// Moved to a delay queue: forget it here; it comes back as a new arrival.
    Parked,
    /// The broker side failed: it stays leased as it was.
    Failed,
    /// Deliver it again from this instant (a short retry).
    RetryAt(Instant),
}

impl<A: Clone> LocalQueue<A> {
    /// Starts settling delivery `tag` of message `id`: `None` when the tag is stale (settled,
    /// lease run out, or its channel died — which also releases the key it held).
    pub(in crate::rabbit) fn begin(&mut self, tag: u64, id: &str) -> Option<Begun<A>> {
        if self.stale.remove(&tag).is_some() {
            return None;
        }
        let seq = *self.tags.get(&tag)?;
        let limit = self.limit;
        let entry = self.entries.get_mut(&seq)?;
        let State::Leased {
            until,
            settling: false,
            ..
        } = entry.state
        else {
            return None;
        };
        if entry.message.id.as_str() != id {
            return None;
        }
        entry.state = State::Leased {
            tag,
            until,
            settling: true,
        };
        Some(Begun {
            attempts: entry.attempts(),
            moving: moving_of(seq, entry),
            limit,
        })
    }

    /// Ends settling `tag`.
    pub(in crate::rabbit) fn finish(&mut self, tag: u64, outcome: Outcome, now: Instant) {
        let Some(&seq) = self.tags.get(&tag) else {
            return;
        };
        match outcome {
            Outcome::Gone => {
                self.tags.remove(&tag);
                self.forget(seq, now);
            }
            Outcome::Parked => {
                self.tags.remove(&tag);
                if let Some(entry) = self.entries.remove(&seq) {
                    self.held.remove(entry.message.id.as_str());
                }
            }
            Outcome::Failed => {
                if let Some(entry) = self.entries.get_mut(&seq)
                    && let State::Leased { until, .. } = entry.state
                {
                    entry.state = State::Leased {
                        tag,
                        until,
                        settling: false,
                    };
                }
            }
            Outcome::RetryAt(at) => {
                self.tags.remove(&tag);
                if let Some(entry) = self.entries.get_mut(&seq) {
                    entry.state = State::Ready(at);
                }
            }
        }
    }

    /// Records that the head of `key` is parked, and that `id` is away until it comes back.
    pub(in crate::rabbit) fn parked(
        &mut self,
        key: Option<&str>,
        parked: Parked,
        enqueued_us: i64,
    ) {
        self.away
            .insert(parked.id.clone(), (key.map(str::to_owned), enqueued_us));
        if let Some(key) = key {
            self.parked.insert(key.to_owned(), parked);
        }
    }

    /// Records that `id` was moved to a delay queue as a follower of its key.
    pub(in crate::rabbit) fn followed(&mut self, id: &str, key: Option<&str>, enqueued_us: i64) {
        self.away
            .insert(id.to_owned(), (key.map(str::to_owned), enqueued_us));
    }

    /// Takes out the ready messages of `key` (behind a head just parked), to park them too.
    pub(in crate::rabbit) fn followers(&mut self, key: &str) -> Vec<Moving<A>> {
        let seqs: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.message.key.as_deref() == Some(key))
            .filter(|(_, e)| matches!(e.state, State::Ready(_)))
            .map(|(seq, _)| *seq)
            .collect();
        seqs.into_iter()
            .filter_map(|seq| {
                let entry = self.entries.remove(&seq)?;
                self.held.remove(entry.message.id.as_str());
                Some(moving_of(seq, &entry))
            })
            .collect()
    }

    /// Puts back a message whose move failed, in its old place, ready at once.
    pub(in crate::rabbit) fn restore(&mut self, moving: Moving<A>, now: Instant) {
        let Moving {
            acker,
            message,
            meta,
            seq,
            generation,
        } = moving;
        self.held.insert(message.id.as_str().to_owned(), seq);
        let base = meta.attempts;
        let state = State::Ready(now);
        let entry = Entry {
            generation,
            acker,
            message,
            meta,
            base,
            deliveries: 0,
            state,
        };
        self.entries.insert(seq, entry);
    }

    /// Removes the ready messages of `key` that entered the queue at or before `at_us`: returns
    /// the ackers of those held here and how many were removed, the parked ones included (they
    /// are dropped when they come back). Messages in flight stay.
    pub(in crate::rabbit) fn purge(
        &mut self,
        key: &str,
        at_us: i64,
        now: Instant,
    ) -> (Vec<A>, u64) {
        let seqs: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.message.key.as_deref() == Some(key) && e.meta.enqueued_us <= at_us)
            .filter(|(_, e)| matches!(e.state, State::Ready(_)))
            .map(|(seq, _)| *seq)
            .collect();
        let ackers: Vec<A> = seqs
            .iter()
            .filter_map(|seq| self.entries.get(seq).map(|e| e.acker.clone()))
            .collect();
        for seq in seqs {
            self.forget(seq, now);
        }
        let away_before = self.away.len();
        self.away
            .retain(|_, (k, enqueued)| k.as_deref() != Some(key) || *enqueued > at_us);
        let parked = away_before - self.away.len();
        if self.parked.get(key).is_some_and(|_| parked > 0) {
            self.parked.remove(key);
        }
        let count = ackers.len() + parked;
        (ackers, count as u64)
    }

    /// The channel of generation `generation` died: its messages go back to the broker. Those handed
    /// out become stale (their key stays held until settled or the lease ends).
    pub(in crate::rabbit) fn drop_generation(&mut self, generation: u64) {
        let lost: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.generation == generation)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in lost {
            let Some(entry) = self.entries.remove(&seq) else {
                continue;
            };
            self.held.remove(entry.message.id.as_str());
            if let State::Leased {
                tag,
                until,
                settling,
            } = entry.state
            {
                self.tags.remove(&tag);
                // One being settled is the settler's: its ack fails and it says so.
                if !settling {
                    self.stale.insert(tag, (entry.message.key.clone(), until));
                }
            }
        }
    }

    /// (ready, in flight): ready includes retries waiting here and messages parked by this
    /// process; in flight is what is leased now.
    pub(in crate::rabbit) fn depth(&self, now: Instant) -> (u64, u64) {
        let in_flight = self
            .entries
            .values()
            .filter(|e| matches!(e.state, State::Leased { until, settling, .. } if settling || until > now))
            .count() as u64;
        let ready = self.entries.len() as u64 - in_flight + self.away.len() as u64;
        (ready, in_flight)
    }

    /// How many messages are held here.
    pub(in crate::rabbit) fn len(&self) -> usize {
        self.entries.len()
    }

    fn forget(&mut self, seq: u64, now: Instant) {
        if let Some(entry) = self.entries.remove(&seq) {
            let id = entry.message.id.as_str();
            self.held.remove(id);
            self.settled.insert(id, now);
        }
    }
}
