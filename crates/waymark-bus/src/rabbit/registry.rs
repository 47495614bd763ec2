//! The registry: a durable quorum queue holding the records every bus process must read (the
//! latest spec of each queue, the purge tombstones of the retention window), and a fanout
//! exchange that tells the running processes about each new one at once.
//!
//! Reading is `basic.get` of every message, then acking away what is superseded or expired and
//! returning the rest (`basic.nack`, requeue: quorum queues put them back in order). A reader
//! that holds the messages hides them from another reader, so reads take a broker-side lock: an
//! exclusive queue, which only one connection can hold and which the broker drops when that
//! connection dies. (A RabbitMQ 3.10 stream was the first choice and is not used: a single-node
//! stream stays `down` after the broker is killed.)

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use lapin::{
    Channel, Connection, ErrorKind,
    options::{
        BasicAckOptions, BasicGetOptions, BasicNackOptions, QueueDeclareOptions, QueueDeleteOptions,
    },
    protocol::{AMQPErrorKind, AMQPSoftError},
    types::FieldTable,
};

use super::{
    control::{self, Record},
    link::{Link, amqp},
    publish::{self, Routed},
};
use crate::BusError;

/// The queue of records.
pub(super) const REGISTRY: &str = "waymark.registry";
/// The fanout exchange new records are broadcast on.
pub(super) const BROADCAST: &str = "waymark.broadcast";
/// The exclusive queue whose holder may read the registry.
const LOCK: &str = "waymark.registry.lock";
/// How long a reader waits for the lock.
const LOCK_PATIENCE: Duration = Duration::from_secs(30);

/// Stores `record` durably, then broadcasts it (no listener is fine).
pub(super) async fn append(
    link: &Link,
    record: &Record,
    patience: Duration,
) -> Result<(), BusError> {
    let properties = control::encode(record);
    match publish::confirmed(link, ("", REGISTRY), &properties, &[], patience).await? {
        Routed::Stored => {}
        Routed::NoRoute => {
            return Err(BusError::Backend(format!(
                "the `{REGISTRY}` queue is missing"
            )));
        }
    }
    publish::confirmed(link, (BROADCAST, ""), &properties, &[], patience).await?;
    Ok(())
}

/// Every live record, oldest first; superseded records and tombstones older than `retention`
/// are removed on the way.
pub(super) async fn read_all(
    conn: &Connection,
    retention: Duration,
    now_us: i64,
) -> Result<Vec<Record>, BusError> {
    let lock = BrokerLock::take(conn).await?;
    let result = read_locked(conn, retention, now_us).await;
    lock.release().await;
    result
}

/// The broker-side lock: held by one connection at a time across every process of the hub
/// (the broker drops it when that connection dies). Taken to read the registry and to declare
/// the topology, so that processes starting together declare their quorum queues one after
/// another rather than all at once (concurrent declarations of one quorum queue on a loaded
/// RabbitMQ 3.10 can leave it answering `noproc`).
///
/// It is an exclusive queue, so it is not re-entrant across one connection: two holders on the
/// same connection would both succeed. Callers sharing a connection serialise themselves
/// (`Inner::reading`).
pub(super) struct BrokerLock(Channel);

impl BrokerLock {
    /// Waits up to [`LOCK_PATIENCE`] for the lock.
    pub(super) async fn take(conn: &Connection) -> Result<Self, BusError> {
        Self::take_within(conn, LOCK_PATIENCE).await
    }

    /// Waits up to `patience` for the lock.
    pub(super) async fn take_within(
        conn: &Connection,
        patience: Duration,
    ) -> Result<Self, BusError> {
        let deadline = Instant::now() + patience;
        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        loop {
            let channel = conn.create_channel().await.map_err(amqp)?;
            match channel
                .queue_declare(LOCK.into(), options, FieldTable::default())
                .await
            {
                Ok(_) => return Ok(Self(channel)),
                Err(error) if locked(&error) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Err(error) => return Err(amqp(error)),
            }
        }
    }

    /// Lets the next holder in (closing the connection would too).
    pub(super) async fn release(self) {
        let _ = self
            .0
            .queue_delete(LOCK.into(), QueueDeleteOptions::default())
            .await;
        super::link::close_channel(&self.0, "lock released").await;
    }
}

fn locked(error: &lapin::Error) -> bool {
    matches!(error.kind(), ErrorKind::ProtocolError(e) if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::RESOURCELOCKED))
}

async fn read_locked(
    conn: &Connection,
    retention: Duration,
    now_us: i64,
) -> Result<Vec<Record>, BusError> {
    let channel = conn.create_channel().await.map_err(amqp)?;
    let mut held: Vec<(u64, Option<Record>)> = Vec::new();
    while let Some(got) = channel
        .basic_get(REGISTRY.into(), BasicGetOptions { no_ack: false })
        .await
        .map_err(amqp)?
    {
        held.push((
            got.delivery.delivery_tag,
            control::decode(&got.delivery.properties),
        ));
    }
    let keep = live(&held, retention, now_us);
    for (at, (tag, _)) in held.iter().enumerate() {
        if !keep[at] {
            channel
                .basic_ack(*tag, BasicAckOptions::default())
                .await
                .map_err(amqp)?;
        }
    }
    if let Some(last) = held
        .iter()
        .enumerate()
        .rev()
        .find(|(at, _)| keep[*at])
        .map(|(_, (tag, _))| *tag)
    {
        let back = BasicNackOptions {
            multiple: true,
            requeue: true,
        };
        channel.basic_nack(last, back).await.map_err(amqp)?;
    }
    super::link::close_channel(&channel, "registry read").await;
    Ok(held
        .into_iter()
        .zip(keep)
        .filter_map(|((_, record), keep)| record.filter(|_| keep))
        .collect())
}

/// Which records to keep: the latest of each slot, and no tombstone older than `retention`.
fn live(held: &[(u64, Option<Record>)], retention: Duration, now_us: i64) -> Vec<bool> {
    let oldest = now_us.saturating_sub(i64::try_from(retention.as_micros()).unwrap_or(i64::MAX));
    let mut latest: HashMap<(bool, &str, &str), (i64, usize)> = HashMap::new();
    for (at, (_, record)) in held.iter().enumerate() {
        let Some(record) = record else { continue };
        let best = latest.entry(record.slot()).or_insert((record.at_us(), at));
        if record.at_us() >= best.0 {
            *best = (record.at_us(), at);
        }
    }
    let mut keep = vec![false; held.len()];
    for ((purge, _, _), (at_us, at)) in latest {
        keep[at] = !purge || at_us >= oldest;
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rabbit::control::Rules;

    #[test]
    fn keeps_the_latest_of_each_slot_and_drops_old_tombstones() {
        let rules = Rules {
            limit: 5,
            lease: Duration::from_secs(1),
            dead_letter: "q.dead".into(),
        };
        let spec = |at_us| {
            Some(Record::Spec {
                queue: "q".into(),
                rules: rules.clone(),
                at_us,
            })
        };
        let purge = |key: &str, at_us| {
            Some(Record::Purge {
                queue: "q".into(),
                key: key.into(),
                at_us,
            })
        };
        let held = vec![
            (1, spec(1)),
            (2, purge("a", 5)),
            (3, spec(3)),
            (4, purge("a", 9)),
            (5, purge("b", 2)),
            (6, None),
        ];
        let keep = live(&held, Duration::from_micros(5), 10);
        assert_eq!(keep, vec![false, false, true, true, false, false]);
    }
}
