//! The broker's own ceiling (moved here from `waymark-bus/benches/ceiling.rs`, which keeps its
//! copy for the bus crate's bench): lapin alone, no bus, no hub.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, bail};
use lapin::{
    BasicProperties, Connection, ConnectionProperties,
    message::DeliveryResult,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
        ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
    },
    types::{AMQPValue, FieldTable, LongString},
};
use tokio::sync::Notify;

/// Message size of the ceiling (persistent).
pub const BODY: usize = 1024;

fn stamp() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// Broker only: `n` persistent [`BODY`]-byte messages through a fresh durable queue of `kind`
/// (`classic` or `quorum`), publisher confirms awaited `window` at a time, one consumer
/// (prefetch 256) acking each. Messages per second, first publish to last ack.
pub async fn broker_only(url: &str, kind: &str, n: u64, window: usize) -> anyhow::Result<f64> {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .context("connect to RabbitMQ")?;
    let publish = conn.create_channel().await?;
    publish
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
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
        .await?;
    let consume = conn.create_channel().await?;
    consume.basic_qos(256, BasicQosOptions::default()).await?;
    let acked = Arc::new(AtomicU64::new(0));
    let all_acked = Arc::new(Notify::new());
    let consumer = consume
        .basic_consume(
            queue.as_str().into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let (count, done) = (Arc::clone(&acked), Arc::clone(&all_acked));
    consumer.set_delegate(move |delivery: DeliveryResult| {
        let (count, done) = (Arc::clone(&count), Arc::clone(&done));
        async move {
            if let Ok(Some(delivery)) = delivery
                && delivery.ack(BasicAckOptions::default()).await.is_ok()
                && count.fetch_add(1, Ordering::Relaxed) + 1 == n
            {
                done.notify_one();
            }
        }
    });
    let body = vec![b'x'; BODY];
    let properties = BasicProperties::default().with_delivery_mode(2);
    let start = Instant::now();
    let mut sent = 0;
    while sent < n {
        let mut confirms = Vec::with_capacity(window);
        for _ in 0..window.min(usize::try_from(n - sent).unwrap_or(usize::MAX)) {
            let confirm = publish
                .basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    properties.clone(),
                )
                .await?;
            confirms.push(confirm);
            sent += 1;
        }
        for confirm in confirms {
            if !confirm.await?.is_ack() {
                bail!("the broker nacked a publish");
            }
        }
    }
    tokio::time::timeout(Duration::from_secs(120), all_acked.notified())
        .await
        .context("the consumer did not ack every message within 2 min")?;
    let rate = n as f64 / start.elapsed().as_secs_f64();
    publish
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await?;
    let _ = conn.close(200, "bench done".into()).await;
    Ok(rate)
}

/// The installed broker's version (the Debian package's), or `unknown`.
pub fn server_version() -> String {
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "rabbitmq-server"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".to_owned(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_owned()
        })
}

/// Deletes the hub's stage queues (and their dead-letter queues), so a run starts empty.
pub async fn clear_stage_queues(url: &str) -> anyhow::Result<()> {
    let stages = ["waymark.ingest", "waymark.record", "waymark.release"];
    delete_queues(url, &stages.map(str::to_owned)).await
}

/// Deletes each named queue and its dead-letter queue (`<name>.dead`); missing ones are fine.
pub async fn delete_queues(url: &str, queues: &[String]) -> anyhow::Result<()> {
    let conn = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    for queue in queues {
        for name in [queue.to_owned(), format!("{queue}.dead")] {
            let options = QueueDeleteOptions::default();
            channel.queue_delete(name.as_str().into(), options).await?;
        }
    }
    let _ = conn.close(200, "cleared".into()).await;
    Ok(())
}
