//! Handing out the next deliverable message.

use std::{collections::HashSet, time::Instant};

use super::{LocalQueue, State, Take, earliest, moving_of};
use crate::{Delivery, DeliveryTag};

impl<A: Clone> LocalQueue<A> {
    /// Leases the next deliverable message under `tag`, or says what to do instead.
    pub(in crate::rabbit) fn take(&mut self, now: Instant, tag: u64) -> Take<A> {
        self.expire(now);
        let mut blocked: HashSet<&str> = self.parked.keys().map(String::as_str).collect();
        blocked.extend(self.stale.values().filter_map(|(key, _)| key.as_deref()));
        let mut wake: Option<Instant> = None;
        let mut chosen = None;
        for (seq, entry) in &self.entries {
            let key = entry.message.key.as_deref();
            let free = key.is_none_or(|k| !blocked.contains(k));
            if let Some(k) = key {
                blocked.insert(k);
            }
            match entry.state {
                State::Ready(at) if free && at <= now => {
                    chosen = Some(*seq);
                    break;
                }
                State::Ready(at) if free => wake = earliest(wake, at),
                State::Leased {
                    until,
                    settling: false,
                    ..
                } => wake = earliest(wake, until),
                _ => {}
            }
        }
        let Some(seq) = chosen else {
            let stale = self.stale.values().map(|(_, until)| *until).min();
            return Take::Nothing(stale.map_or(wake, |until| earliest(wake, until)));
        };
        self.lease(seq, now, tag)
    }

    /// Leases entry `seq` (or hands it over for dead-lettering, over its limit).
    fn lease(&mut self, seq: u64, now: Instant, tag: u64) -> Take<A> {
        let (limit, until) = (self.limit, now + self.lease);
        let Some(entry) = self.entries.get_mut(&seq) else {
            return Take::Nothing(None);
        };
        self.tags.insert(tag, seq);
        if entry.attempts() >= limit {
            entry.state = State::Leased {
                tag,
                until,
                settling: true,
            };
            return Take::DeadLetter(tag, Box::new(moving_of(seq, entry)));
        }
        entry.deliveries += 1;
        entry.state = State::Leased {
            tag,
            until,
            settling: false,
        };
        Take::Deliver(Delivery {
            queue: self.queue.clone(),
            tag: DeliveryTag(tag),
            attempt: entry.attempts(),
            message: entry.message.clone(),
        })
    }

    /// Takes back leases that ran out (a failed delivery each) and forgets stale ones.
    fn expire(&mut self, now: Instant) {
        for entry in self.entries.values_mut() {
            if let State::Leased {
                tag,
                until,
                settling: false,
            } = entry.state
                && until <= now
            {
                entry.state = State::Ready(now);
                self.tags.remove(&tag);
            }
        }
        self.stale.retain(|_, (_, until)| *until > now);
    }
}
