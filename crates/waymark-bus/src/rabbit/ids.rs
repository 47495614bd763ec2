//! A bounded memory of recently seen message ids (the RabbitMQ bus's dedupe).

use std::{
    collections::{HashSet, VecDeque},
    time::{Duration, Instant},
};

/// Ids remembered for `retention`, at most `capacity` of them (the oldest forgotten first).
#[derive(Debug)]
pub(super) struct RecentIds {
    order: VecDeque<(Instant, String)>,
    set: HashSet<String>,
    capacity: usize,
    retention: Duration,
}

impl RecentIds {
    pub(super) fn new(capacity: usize, retention: Duration) -> Self {
        Self {
            order: VecDeque::new(),
            set: HashSet::new(),
            capacity: capacity.max(1),
            retention,
        }
    }

    /// Whether `id` was remembered within the retention window.
    pub(super) fn contains(&mut self, id: &str, now: Instant) -> bool {
        self.expire(now);
        self.set.contains(id)
    }

    /// Remembers `id` (again) from `now`.
    pub(super) fn insert(&mut self, id: &str, now: Instant) {
        self.expire(now);
        if self.set.insert(id.to_owned()) {
            self.order.push_back((now, id.to_owned()));
        }
        while self.set.len() > self.capacity {
            self.pop_oldest();
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.retention {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((_, id)) = self.order.pop_front() {
            self.set.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_after_retention_and_beyond_capacity() {
        let start = Instant::now();
        let mut ids = RecentIds::new(2, Duration::from_secs(10));
        ids.insert("a", start);
        ids.insert("b", start);
        assert!(ids.contains("a", start));
        ids.insert("c", start);
        assert!(!ids.contains("a", start), "over capacity, the oldest goes");
        assert!(ids.contains("c", start + Duration::from_secs(9)));
        assert!(!ids.contains("c", start + Duration::from_secs(10)));
    }
}
