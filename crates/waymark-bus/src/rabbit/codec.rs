//! A [`Message`] on the wire: AMQP properties and headers, and back.
//!
//! The caller's headers travel as AMQP long strings under their own names. The bus adds its own
//! under `x-waymark-*`: the message id (`x-waymark-id`: ids may exceed the 255-byte
//! `message-id` property), the key, when the message entered its queue (for purges), the
//! deliveries before this copy, and — while parked for a long retry — when it is due and which
//! queue it returns to. RabbitMQ's own headers (`x-death`, `x-first-death-*`,
//! `x-delivery-count`) and ours are never shown to the consumer as message headers; a message
//! dead-lettered by the broker gets the bus's `x-death-*` headers in their place.

use std::collections::BTreeMap;

use lapin::{
    BasicProperties,
    types::{AMQPValue, FieldTable, LongString, ShortString},
};
use waymark_core::{MessageId, Sensitive};

use crate::{BusError, Message};

const ID: &str = "x-waymark-id";
const KEY: &str = "x-waymark-key";
const ENQUEUED: &str = "x-waymark-enqueued-us";
const ATTEMPTS: &str = "x-waymark-attempts";
const DUE: &str = "x-waymark-due-us";
/// The header the requeue exchange routes a parked message home by.
pub(super) const HOME: &str = "x-waymark-queue";

/// What the bus carries beside the caller's message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Meta {
    /// When the message entered this queue, in unix µs of the publishing process's clock.
    pub enqueued_us: i64,
    /// Deliveries before this copy was published (a parked retry carries its count).
    pub attempts: u32,
    /// A parked retry: when it is due (unix µs). `None` for a follower parked behind its key.
    pub due_us: Option<i64>,
    /// A parked message: the queue it goes back to.
    pub home: Option<String>,
}

/// RabbitMQ's own record of dead-lettering a message (the newest `x-death` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Death {
    pub queue: String,
    pub reason: String,
}

/// A message as it came off the wire.
#[derive(Debug)]
pub(super) struct Incoming {
    pub message: Message,
    pub meta: Meta,
    /// Times the broker took this copy back unacked (`x-delivery-count`; quorum queues).
    pub returns: u32,
    pub death: Option<Death>,
}

/// A name as an AMQP short string, or [`BusError::Invalid`] when over 255 bytes.
pub(super) fn short(name: &str) -> Result<ShortString, BusError> {
    ShortString::try_new(name)
        .map_err(|_| BusError::Invalid(format!("name of {} bytes is over AMQP's 255", name.len())))
}

fn long(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.to_owned()))
}

/// The properties of `message` carrying `meta`: persistent, with every header.
pub(super) fn encode(message: &Message, meta: &Meta) -> Result<BasicProperties, BusError> {
    let mut headers = FieldTable::default();
    for (name, value) in &message.headers {
        headers.insert(short(name)?, long(value));
    }
    headers.insert(ID.into(), long(message.id.as_str()));
    if let Some(key) = &message.key {
        headers.insert(KEY.into(), long(key));
    }
    headers.insert(ENQUEUED.into(), AMQPValue::LongLongInt(meta.enqueued_us));
    headers.insert(
        ATTEMPTS.into(),
        AMQPValue::LongLongInt(i64::from(meta.attempts)),
    );
    if let Some(due) = meta.due_us {
        headers.insert(DUE.into(), AMQPValue::LongLongInt(due));
    }
    if let Some(home) = &meta.home {
        headers.insert(HOME.into(), long(home));
    }
    Ok(BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(headers))
}

/// Reads a message off the wire. `None` when it carries no `x-waymark-id` (not ours).
pub(super) fn decode(properties: &BasicProperties, body: Vec<u8>) -> Option<Incoming> {
    let empty = FieldTable::default();
    let table = properties.headers().as_ref().unwrap_or(&empty).inner();
    let text = |name: &str| table.get(name).and_then(as_text);
    let number = |name: &str| table.get(name).and_then(as_number);
    let id = text(ID)?;
    let headers: BTreeMap<String, String> = table
        .iter()
        .filter(|(name, _)| !reserved(name.as_str()))
        .filter_map(|(name, value)| Some((name.to_string(), as_text(value)?)))
        .collect();
    let meta = Meta {
        enqueued_us: number(ENQUEUED).unwrap_or(0),
        attempts: clamp(number(ATTEMPTS).unwrap_or(0)),
        due_us: number(DUE),
        home: text(HOME),
    };
    let message = Message {
        id: MessageId::from_stored(id),
        key: text(KEY),
        headers,
        body: Sensitive::new(body),
    };
    Some(Incoming {
        message,
        meta,
        returns: clamp(number("x-delivery-count").unwrap_or(0)),
        death: death(table.get("x-death")),
    })
}

/// Header names the consumer never sees as message headers.
fn reserved(name: &str) -> bool {
    name.starts_with("x-waymark-")
        || name.starts_with("x-first-death-")
        || name.starts_with("x-last-death-")
        || name == "x-death"
        || name == "x-delivery-count"
}

/// The newest entry of RabbitMQ's `x-death` array (the broker keeps the newest first).
fn death(value: Option<&AMQPValue>) -> Option<Death> {
    let newest = value?
        .as_array()?
        .as_slice()
        .first()?
        .as_field_table()?
        .inner();
    Some(Death {
        queue: newest.get("queue").and_then(as_text)?,
        reason: newest.get("reason").and_then(as_text)?,
    })
}

fn as_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => String::from_utf8(s.as_bytes().to_vec()).ok(),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

fn as_number(value: &AMQPValue) -> Option<i64> {
    match value {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::Timestamp(n) => i64::try_from(*n).ok(),
        _ => None,
    }
}

fn clamp(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The size the limit applies to, counted as the embedded bus counts it.
pub(super) fn size(message: &Message) -> usize {
    let headers: usize = message
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum();
    message.body.expose().len() + message.key.as_ref().map_or(0, String::len) + headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hides_the_bus_headers() {
        let message = Message::new(MessageId::from_stored("q/1"), b"body".to_vec())
            .with_key("k")
            .with_header("type", "adt-a01");
        let meta = Meta {
            enqueued_us: 42,
            attempts: 3,
            due_us: Some(7),
            home: Some("q".into()),
        };
        let properties = encode(&message, &meta).unwrap();
        let incoming = decode(&properties, b"body".to_vec()).unwrap();
        assert_eq!(incoming.message.id, message.id);
        assert_eq!(incoming.message.key, message.key);
        assert_eq!(incoming.message.headers, message.headers);
        assert_eq!(incoming.meta, meta);
        assert_eq!(incoming.returns, 0);
    }

    #[test]
    fn a_message_without_our_id_is_not_ours() {
        assert!(decode(&BasicProperties::default(), vec![]).is_none());
    }

    #[test]
    fn names_over_255_bytes_are_refused() {
        assert!(matches!(short(&"q".repeat(256)), Err(BusError::Invalid(_))));
        let message =
            Message::new(MessageId::from_stored("q/1"), vec![]).with_header("h".repeat(300), "v");
        assert!(encode(&message, &Meta::default()).is_err());
    }
}
