//! What only the RabbitMQ bus has to prove: the broker's own delivery limit for consumers that
//! crash, long retries parked in the delay queues, and opening a bus from a URL. Needs the
//! broker of `WAYMARK_AMQP_URL`; fails loudly without one.

use crate::common;

use std::time::{Duration, Instant};

use common::{amqp_url, rabbit};
use waymark_bus::{
    BusError, DELIVERY_LIMIT_REASON, Disposition, Message, QueueSpec, X_DEATH_ATTEMPTS,
    X_DEATH_QUEUE, X_DEATH_REASON, dead_letter_name,
};
use waymark_core::MessageId;

fn unique(name: &str) -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    format!("broker-test.{name}.{micros}")
}

/// A message whose consumer process dies every time (never acks, never nacks) is dead-lettered
/// by the broker itself (`x-delivery-limit`), with the bus's `x-death-*` headers, and is not
/// delivered a third time.
#[tokio::test]
async fn a_message_that_kills_its_consumer_is_dead_lettered_by_the_broker() {
    let spec = QueueSpec {
        name: unique("crash-loop"),
        delivery_limit: 2,
        lease: Duration::from_secs(60),
        ordered: true,
    };
    let q = spec.name.clone();
    let bus = rabbit().await;
    bus.declare(&spec).await.unwrap();
    let id = MessageId::from_stored(format!("{q}/1"));
    bus.publish(&q, Message::new(id.clone(), b"poison".to_vec()))
        .await
        .unwrap();
    for attempt in 1..=2 {
        let crashing = rabbit().await;
        let delivery = crashing
            .receive(&q, Duration::from_secs(10))
            .await
            .unwrap()
            .expect("the message before the crash");
        assert_eq!(delivery.attempt, attempt);
        drop(crashing); // the consumer's process dies holding it
    }
    let survivor = rabbit().await;
    let next = survivor.receive(&q, Duration::from_secs(2)).await.unwrap();
    assert!(next.is_none(), "delivered a third time: {next:?}");
    let dead = survivor
        .receive(&dead_letter_name(&q), Duration::from_secs(10))
        .await
        .unwrap()
        .expect("the broker dead-lettered it");
    assert_eq!(dead.message.id, id);
    let header = |name: &str| dead.message.headers.get(name).map(String::as_str);
    assert_eq!(header(X_DEATH_QUEUE), Some(q.as_str()));
    assert_eq!(header(X_DEATH_REASON), Some(DELIVERY_LIMIT_REASON));
    assert_eq!(header(X_DEATH_ATTEMPTS), Some("2"));
    survivor.ack(&dead).await.unwrap();
}

/// A retry of 30 s or more waits in a broker delay queue, not in the process: it is counted
/// as ready, its key's next message waits behind it, other keys go on, and it comes back after
/// the delay as the next attempt, before its key's next message.
#[tokio::test]
async fn a_long_retry_is_parked_and_keeps_its_key_in_order() {
    let spec = QueueSpec::new(unique("park"));
    let q = spec.name.clone();
    let bus = rabbit().await;
    bus.declare(&spec).await.unwrap();
    let message = |n: u32, key: &str| {
        Message::new(MessageId::from_stored(format!("{q}/{n}")), vec![n as u8]).with_key(key)
    };
    for (n, key) in [(1, "a"), (2, "a"), (3, "b")] {
        bus.publish(&q, message(n, key)).await.unwrap();
    }
    let first = bus
        .receive(&q, Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.message.id.as_str(), format!("{q}/1"));
    let retry = Duration::from_secs(30);
    assert_eq!(
        bus.nack(&first, retry).await.unwrap(),
        Disposition::Requeued
    );
    let parked_at = Instant::now();
    assert_eq!(
        bus.depth(&q).await.unwrap().total(),
        3,
        "a parked message is still counted"
    );
    let other = bus
        .receive(&q, Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        other.message.id.as_str(),
        format!("{q}/3"),
        "another key goes on"
    );
    bus.ack(&other).await.unwrap();
    let early = bus.receive(&q, Duration::from_secs(20)).await.unwrap();
    assert!(
        early.is_none(),
        "a's second overtook its parked first: {early:?}"
    );
    let back = bus
        .receive(&q, Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(parked_at.elapsed() >= retry - Duration::from_millis(200));
    assert_eq!(back.message.id.as_str(), format!("{q}/1"));
    assert_eq!(back.attempt, 2);
    bus.ack(&back).await.unwrap();
    let second = bus
        .receive(&q, Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.message.id.as_str(), format!("{q}/2"));
    bus.ack(&second).await.unwrap();
}

/// `waymark_bus::open` opens the bus a URL names, and refuses others.
#[tokio::test]
async fn open_takes_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = waymark_bus::open(&format!("sqlite://{}", dir.path().join("b.db").display()))
        .await
        .unwrap();
    sqlite.declare(&QueueSpec::new("open")).await.unwrap();
    let rabbit = waymark_bus::open(&amqp_url()).await.unwrap();
    assert!(rabbit.health().is_up(), "{:?}", rabbit.health());
    assert_eq!(rabbit.health().backend, "rabbitmq");
    match waymark_bus::open("kafka://somewhere").await {
        Err(BusError::Invalid(why)) => assert!(why.contains("kafka"), "{why}"),
        other => panic!("expected an invalid-URL error, got {:?}", other.err()),
    }
}

/// Re-declaring a queue with other arguments (here: ordered, then unordered) is the named
/// `QueueMismatch` error, telling the operator to drain and delete it; the bus stays usable.
#[tokio::test]
async fn changed_queue_arguments_are_a_named_mismatch() {
    let spec = QueueSpec::new(unique("mismatch"));
    let bus = rabbit().await;
    bus.declare(&spec).await.unwrap();
    match bus.declare(&spec.clone().unordered()).await {
        Err(BusError::QueueMismatch(queue)) => assert_eq!(queue, spec.name),
        other => panic!("expected QueueMismatch, got {other:?}"),
    }
    bus.declare(&spec).await.unwrap();
}
