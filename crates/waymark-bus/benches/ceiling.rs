//! The bus against the broker's own ceiling, in one run (`cargo bench -p waymark-bus --bench
//! ceiling`, with `WAYMARK_AMQP_URL` set; `deploy/local/rabbitmq.sh` starts a broker):
//! - broker only (lapin, no bus): publish + confirm + consume + ack of persistent 1 KiB
//!   messages, on a classic and a quorum queue, with confirms awaited in windows of 256 (the
//!   fair ceiling) and one by one;
//! - the `Bus` trait on RabbitMQ (quorum) and on the embedded bus (SQLite, `synchronous=FULL`),
//!   with 50 concurrent publishers and with one, 4 consumers;
//! - each bus figure as a ratio of the broker ceiling measured in the same run.
//!
//! The hub's own throughput through the bus is measured with the pipeline, not here.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use lapin::{
    BasicProperties, Connection, ConnectionProperties,
    message::DeliveryResult,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
        ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
    },
    types::{AMQPValue, FieldTable, LongString},
};
use tokio::{sync::Notify, task::JoinSet};
use waymark_bus::{Bus, Message, QueueSpec, RabbitBus, RabbitBusOptions, SqliteBus};
use waymark_core::MessageId;

const BODY: usize = 1024;
const WINDOW: usize = 256;
const MANY: u64 = 20_000;
const FEW: u64 = 2_000;
const CONSUMERS: u32 = 4;

fn stamp() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// Broker only: `n` messages through a fresh queue of `kind`, confirms awaited `window` at a
/// time, one consumer (prefetch 256) acking each. Messages per second, publish to last ack.
pub(crate) async fn broker_only(url: &str, kind: &str, n: u64, window: usize) -> f64 {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap();
    let publish = conn.create_channel().await.unwrap();
    publish
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let queue = format!("bench.{kind}.{}", stamp());
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from(kind.to_owned())),
    );
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    publish
        .queue_declare(queue.as_str().into(), durable, args)
        .await
        .unwrap();
    let consume = conn.create_channel().await.unwrap();
    consume
        .basic_qos(256, BasicQosOptions::default())
        .await
        .unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let all_acked = Arc::new(Notify::new());
    let consumer = consume
        .basic_consume(
            queue.as_str().into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let (count, done) = (Arc::clone(&acked), Arc::clone(&all_acked));
    consumer.set_delegate(move |delivery: DeliveryResult| {
        let (count, done) = (Arc::clone(&count), Arc::clone(&done));
        async move {
            if let Ok(Some(delivery)) = delivery {
                delivery.ack(BasicAckOptions::default()).await.unwrap();
                if count.fetch_add(1, Ordering::Relaxed) + 1 == n {
                    done.notify_one();
                }
            }
        }
    });
    let body = vec![b'x'; BODY];
    let properties = BasicProperties::default().with_delivery_mode(2);
    let start = Instant::now();
    let mut sent = 0;
    while sent < n {
        let mut confirms = Vec::with_capacity(window);
        for _ in 0..window.min((n - sent) as usize) {
            let confirm = publish
                .basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    properties.clone(),
                )
                .await
                .unwrap();
            confirms.push(confirm);
            sent += 1;
        }
        for confirm in confirms {
            assert!(
                confirm.await.unwrap().is_ack(),
                "the broker nacked a publish"
            );
        }
    }
    all_acked.notified().await;
    let rate = n as f64 / start.elapsed().as_secs_f64();
    publish
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await
        .unwrap();
    let _ = conn.close(200, "bench done".into()).await;
    rate
}

/// Through the `Bus` trait: `n` messages from `publishers` concurrent publishers (each
/// awaiting its confirm), `CONSUMERS` consumers receiving and acking. Messages per second.
async fn through_bus(bus: Arc<dyn Bus>, n: u64, publishers: u64) -> f64 {
    let queue: Arc<str> = format!("bench.bus.{}", stamp()).into();
    bus.declare(&QueueSpec::new(&*queue)).await.unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for p in 0..publishers {
        let (bus, queue) = (Arc::clone(&bus), Arc::clone(&queue));
        tasks.spawn(async move {
            for m in 0..n / publishers {
                let id = MessageId::from_stored(format!("{queue}/{p}/{m}"));
                let message = Message::new(id, vec![b'x'; BODY]);
                bus.publish(&queue, message).await.unwrap();
            }
        });
    }
    for _ in 0..CONSUMERS {
        let (bus, queue, acked) = (Arc::clone(&bus), Arc::clone(&queue), Arc::clone(&acked));
        let total = n / publishers * publishers;
        tasks.spawn(async move {
            while acked.load(Ordering::Relaxed) < total {
                let wait = Duration::from_millis(100);
                if let Some(delivery) = bus.receive(&queue, wait).await.unwrap() {
                    bus.ack(&delivery).await.unwrap();
                    acked.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    acked.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

pub(crate) fn row(what: &str, rate: f64, ceiling: Option<(f64, &str)>) {
    let ratio = ceiling.map_or(String::new(), |(c, of)| {
        format!("{:>6.2}  of {of}", rate / c)
    });
    println!("{what:<52} {rate:>9.0}  {ratio}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::var("WAYMARK_AMQP_URL").expect(
        "WAYMARK_AMQP_URL is not set: start a broker with `eval \"$(deploy/local/rabbitmq.sh)\"`",
    );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "Waymark bus ceiling: {cores} cores, persistent {BODY}-byte messages, {CONSUMERS} bus \
         consumers; RabbitMQ at WAYMARK_AMQP_URL (quorum: fsync per Raft batch); embedded: \
         SQLite WAL, synchronous=FULL"
    );
    println!("{:<52} {:>9}  ratio", "mode", "msgs/s");
    let classic = broker_only(&url, "classic", MANY, WINDOW).await;
    let quorum = broker_only(&url, "quorum", MANY, WINDOW).await;
    let classic_one = broker_only(&url, "classic", FEW, 1).await;
    let quorum_one = broker_only(&url, "quorum", FEW, 1).await;
    row("broker only, classic, confirms by 256", classic, None);
    row(
        "broker only, quorum, confirms by 256 (CEILING)",
        quorum,
        None,
    );
    row("broker only, classic, confirm each", classic_one, None);
    row(
        "broker only, quorum, confirm each (CEILING-1)",
        quorum_one,
        None,
    );

    let options = RabbitBusOptions::default();
    let rabbit: Arc<dyn Bus> = Arc::new(RabbitBus::connect(&url, options).await.unwrap());
    let rabbit_many = through_bus(Arc::clone(&rabbit), MANY / 2, 50).await;
    let rabbit_one = through_bus(Arc::clone(&rabbit), FEW, 1).await;
    row(
        "Bus on RabbitMQ (quorum), 50 publishers",
        rabbit_many,
        Some((quorum, "CEILING")),
    );
    row(
        "Bus on RabbitMQ (quorum), 1 publisher",
        rabbit_one,
        Some((quorum_one, "CEILING-1")),
    );

    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteBus::open(&dir.path().join("bus.db")).await.unwrap();
    let embedded: Arc<dyn Bus> = Arc::new(sqlite);
    let embedded_many = through_bus(Arc::clone(&embedded), MANY / 4, 50).await;
    let embedded_one = through_bus(Arc::clone(&embedded), FEW, 1).await;
    row(
        "embedded bus (SQLite), 50 publishers",
        embedded_many,
        Some((quorum, "CEILING")),
    );
    row(
        "embedded bus (SQLite), 1 publisher",
        embedded_one,
        Some((quorum_one, "CEILING-1")),
    );
    row(
        "Bus on RabbitMQ vs embedded, 50 publishers",
        rabbit_many,
        Some((embedded_many, "embedded")),
    );
}
