//! The RabbitMQ bus against the shared conformance suite, on the broker of `WAYMARK_AMQP_URL`
//! (start one with `deploy/local/rabbitmq.sh`). Fails, loudly, without one.

use crate::common;

use common::{connect_with, rabbit, reconnector};
use waymark_bus::{
    RabbitBusOptions,
    conformance::{self, Capabilities},
};

#[tokio::test]
async fn publish_receive_ack() {
    conformance::publish_receive_ack(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn nothing_after_ack() {
    conformance::nothing_after_ack(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn duplicate_publish_delivered_once() {
    conformance::duplicate_publish_delivered_once(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn too_large_refused_at_default_limit() {
    conformance::too_large_refused(rabbit().await.as_ref(), 32 * 1024 * 1024).await;
}

#[tokio::test]
async fn too_large_refused_at_configured_limit() {
    let options = RabbitBusOptions {
        max_message_size: 4096,
        ..RabbitBusOptions::default()
    };
    let bus = connect_with(options).await;
    conformance::too_large_refused(&bus, 4096).await;
}

#[tokio::test]
async fn unknown_queue_refused() {
    conformance::unknown_queue_refused(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn persists_across_reopen() {
    conformance::persists_across_reopen(reconnector()).await;
}

#[tokio::test]
async fn duplicate_publish_after_reopen() {
    conformance::duplicate_publish_after_reopen(reconnector(), Capabilities::RABBITMQ).await;
}

#[tokio::test]
async fn redelivered_after_restart() {
    conformance::redelivered_after_restart(reconnector()).await;
}

#[tokio::test]
async fn redelivered_after_lease_expiry() {
    conformance::redelivered_after_lease_expiry(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn nack_redelivers_after_delay() {
    conformance::nack_redelivers_after_delay(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn delivery_limit_dead_letters() {
    conformance::delivery_limit_dead_letters(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn reject_dead_letters() {
    conformance::reject_dead_letters(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn lease_expiries_count_toward_limit() {
    conformance::lease_expiries_count_toward_limit(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn per_key_order() {
    conformance::per_key_order(rabbit().await.as_ref()).await;
}

#[tokio::test]
async fn purge_key_removes_ready_only() {
    conformance::purge_key_removes_ready_only(rabbit().await.as_ref(), Capabilities::RABBITMQ)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_once_under_load() {
    let report = conformance::exactly_once_under_load(rabbit().await).await;
    eprintln!(
        "rabbitmq bus load: {report:?}, {:.0} msgs/s",
        report.per_second()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_concurrent_publishers() {
    let report = conformance::thousand_concurrent_publishers(rabbit().await).await;
    eprintln!(
        "rabbitmq bus, 1,000 publishers: {report:?}, {:.0} msgs/s",
        report.per_second()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unordered_queue_shares_work() {
    conformance::unordered_queue_shares_work(rabbit().await, rabbit().await).await;
}
