//! Queue specs and purge tombstones: what every bus process must know beside the queues.
//!
//! A RabbitMQ queue cannot carry the bus's rules (lease, delivery limit, dead-letter queue) in a
//! form a client can read back, and it cannot delete messages by key. So both are records:
//! - `spec`: written by `declare`, so a process that receives from a queue it did not declare
//!   (a restarted stage) knows its rules;
//! - `purge` (a tombstone): queue, key and the instant of the purge. A process applies one to
//!   the messages of that queue it holds, and drops any later-arriving message of the key that
//!   entered the queue at or before that instant.
//!
//! Records are kept durably in the registry queue (see [`super::registry`]) and broadcast to
//! the running processes. They carry names, keys and numbers only — never message content.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use crate::QueueSpec;
use lapin::{
    BasicProperties,
    types::{AMQPValue, FieldTable, LongString},
};

/// A queue's rules, as the bus keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Rules {
    pub limit: u32,
    pub lease: Duration,
    pub dead_letter: String,
}

impl Rules {
    pub(super) fn of(spec: &QueueSpec) -> Self {
        Self {
            limit: spec.delivery_limit.max(1),
            lease: spec.lease,
            dead_letter: spec.dead_letter_name(),
        }
    }
}

/// One record. `at_us` orders records of the same queue (and key): the latest wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Record {
    Spec {
        queue: String,
        rules: Rules,
        at_us: i64,
    },
    Purge {
        queue: String,
        key: String,
        at_us: i64,
    },
}

impl Record {
    /// What a later record replaces: the queue (specs) or the queue and key (purges).
    pub(super) fn slot(&self) -> (bool, &str, &str) {
        match self {
            Self::Spec { queue, .. } => (false, queue, ""),
            Self::Purge { queue, key, .. } => (true, queue, key),
        }
    }

    pub(super) fn at_us(&self) -> i64 {
        match self {
            Self::Spec { at_us, .. } | Self::Purge { at_us, .. } => *at_us,
        }
    }
}

/// What this process knows.
#[derive(Default)]
pub(super) struct Registry {
    rules: HashMap<String, (i64, Rules)>,
    tombstones: HashMap<(String, String), i64>,
}

/// The registry behind a lock.
#[derive(Default)]
pub(super) struct Control(Mutex<Registry>);

impl Control {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn rules(&self, queue: &str) -> Option<Rules> {
        self.lock().rules.get(queue).map(|(_, rules)| rules.clone())
    }

    /// The latest purge of `key` in `queue`.
    pub(super) fn tombstone(&self, queue: &str, key: Option<&str>) -> Option<i64> {
        let key = key?;
        self.lock()
            .tombstones
            .get(&(queue.to_owned(), key.to_owned()))
            .copied()
    }

    /// Takes in a record. A purge returns its queue, key and instant, for the caller to apply to
    /// the local queue.
    pub(super) fn read(&self, record: Record) -> Option<(String, String, i64)> {
        let mut registry = self.lock();
        match record {
            Record::Spec {
                queue,
                rules,
                at_us,
            } => {
                let known = registry
                    .rules
                    .entry(queue)
                    .or_insert((at_us, rules.clone()));
                if known.0 <= at_us {
                    *known = (at_us, rules);
                }
                None
            }
            Record::Purge { queue, key, at_us } => {
                let slot = (queue.clone(), key.clone());
                let latest = registry.tombstones.entry(slot).or_insert(at_us);
                *latest = (*latest).max(at_us);
                Some((queue, key, at_us))
            }
        }
    }
}

const KIND: &str = "x-waymark-control";

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.to_owned()))
}

fn number(value: i64) -> AMQPValue {
    AMQPValue::LongLongInt(value)
}

/// A record as message properties (the body is empty).
pub(super) fn encode(record: &Record) -> BasicProperties {
    let mut h = FieldTable::default();
    match record {
        Record::Spec {
            queue,
            rules,
            at_us,
        } => {
            h.insert(KIND.into(), text("spec"));
            h.insert("at-us".into(), number(*at_us));
            h.insert("queue".into(), text(queue));
            h.insert("limit".into(), number(i64::from(rules.limit)));
            let lease = i64::try_from(rules.lease.as_millis()).unwrap_or(i64::MAX);
            h.insert("lease-ms".into(), number(lease));
            h.insert("dead-letter".into(), text(&rules.dead_letter));
        }
        Record::Purge { queue, key, at_us } => {
            h.insert(KIND.into(), text("purge"));
            h.insert("queue".into(), text(queue));
            h.insert("key".into(), text(key));
            h.insert("at-us".into(), number(*at_us));
        }
    }
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(h)
}

/// A record read back. `None` for anything else.
pub(super) fn decode(properties: &BasicProperties) -> Option<Record> {
    let table = properties.headers().as_ref()?.inner();
    let text = |name: &str| match table.get(name)? {
        AMQPValue::LongString(s) => String::from_utf8(s.as_bytes().to_vec()).ok(),
        _ => None,
    };
    let number = |name: &str| table.get(name).and_then(AMQPValue::as_long_long_int);
    let record = match text(KIND)?.as_str() {
        "spec" => Record::Spec {
            queue: text("queue")?,
            rules: Rules {
                limit: u32::try_from(number("limit")?).ok()?,
                lease: Duration::from_millis(u64::try_from(number("lease-ms")?).ok()?),
                dead_letter: text("dead-letter")?,
            },
            at_us: number("at-us")?,
        },
        "purge" => Record::Purge {
            queue: text("queue")?,
            key: text("key")?,
            at_us: number("at-us")?,
        },
        _ => return None,
    };
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let rules = Rules {
            limit: 5,
            lease: Duration::from_secs(60),
            dead_letter: "q.dead".into(),
        };
        for record in [
            Record::Spec {
                queue: "q".into(),
                rules,
                at_us: 1,
            },
            Record::Purge {
                queue: "q".into(),
                key: "k".into(),
                at_us: 7,
            },
        ] {
            assert_eq!(decode(&encode(&record)), Some(record));
        }
    }

    #[test]
    fn the_latest_tombstone_wins() {
        let control = Control::default();
        for at_us in [5, 9, 7] {
            let record = Record::Purge {
                queue: "q".into(),
                key: "k".into(),
                at_us,
            };
            control.read(record);
        }
        assert_eq!(control.tombstone("q", Some("k")), Some(9));
        assert_eq!(control.tombstone("q", Some("other")), None);
    }
}
