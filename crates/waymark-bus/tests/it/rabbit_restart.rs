//! Broker faults: 10,000 messages through the RabbitMQ bus while the broker is killed (`kill -9`
//! of its Erlang VM) and started again three times, counting lost / duplicated effects /
//! recovered messages, which must be 0 / 0 / all; then a memory alarm, which must block a
//! publisher (and say so in the bus's health) rather than fail or lose its message.
//!
//! It never kills the broker the other tests use: it starts its own through
//! `deploy/local/rabbitmq.sh` (same script, state under `$WAYMARK_SERVICES_DIR`, port
//! `WAYMARK_AMQP_KILL_PORT`, default 5674), and fails loudly when that broker cannot start.

use std::{process::Command, sync::Arc, time::Duration};

use async_trait::async_trait;
use waymark_bus::{
    Bus, BusHealth, LinkState, Message, Published, QueueSpec, RabbitBus, RabbitBusOptions,
    conformance::{self, RestartShape, Restartable},
};
use waymark_core::MessageId;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/local/rabbitmq.sh"
);

fn port() -> String {
    std::env::var("WAYMARK_AMQP_KILL_PORT").unwrap_or_else(|_| "5674".into())
}

/// Runs the broker script with `command` against the kill-test broker; its stdout.
fn script(command: &str) -> String {
    script_args(&[command])
}

fn script_args(args: &[&str]) -> String {
    let command = args.join(" ");
    let output = Command::new("bash")
        .arg(SCRIPT)
        .args(args)
        .env("WAYMARK_AMQP_PORT", port())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
    assert!(
        output.status.success(),
        "`rabbitmq.sh {command}` failed for the kill-test broker on port {}:\n{}",
        port(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Starts the kill-test broker (`start`, or `fresh`: emptied first); its URL, from the
/// script's `export WAYMARK_AMQP_URL=...` line.
fn broker(command: &str) -> String {
    let out = script(command);
    out.lines()
        .find_map(|line| line.strip_prefix("export WAYMARK_AMQP_URL="))
        .unwrap_or_else(|| panic!("rabbitmq.sh start printed no URL: {out}"))
        .to_owned()
}

/// One bus on the kill-test broker; `restart` kills the broker and starts it again.
struct Killable {
    bus: Arc<RabbitBus>,
}

#[async_trait]
impl Restartable for Killable {
    async fn bus(&self) -> Arc<dyn Bus> {
        self.bus.clone()
    }

    async fn restart(&self) {
        let down = tokio::task::spawn_blocking(|| script("kill"));
        down.await.unwrap();
        // Publishers are now waiting: the bus must say so rather than fail.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let health = self.bus.health();
        assert!(
            !health.is_up(),
            "the bus reports up with its broker killed: {health:?}"
        );
        tokio::task::spawn_blocking(|| broker("start"))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_the_broker_three_times_over_10_000_messages_then_raise_an_alarm() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
    let url = tokio::task::spawn_blocking(|| broker("fresh"))
        .await
        .unwrap();
    let options = RabbitBusOptions {
        reconnect_max: Duration::from_millis(500),
        ..RabbitBusOptions::default()
    };
    let bus = RabbitBus::connect(&url, options)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the kill-test broker at port {}: {e}", port()));
    let harness = Arc::new(Killable { bus: Arc::new(bus) });
    let shape = RestartShape {
        messages: 10_000,
        restarts: 3,
        publishers: 50,
        consumers: 8,
        settle: Duration::from_secs(5),
        deadline: Duration::from_secs(110),
    };
    let report = conformance::survives_restarts(harness.clone(), shape).await;
    eprintln!(
        "rabbitmq bus, {} broker kills: published {}, effected {}, lost {}, duplicated effects {}, \
         at risk {}, recovered {}, redeliveries {}, publish retries {}, {:.1?}",
        report.restarts,
        report.published,
        report.effected,
        report.lost,
        report.duplicated_effects,
        report.at_risk,
        report.recovered,
        report.redeliveries,
        report.publish_retries,
        report.elapsed
    );
    assert!(
        report.published >= 10_000,
        "fewer than 10,000 messages: {report:?}"
    );
    let health = harness.bus.health();
    assert!(
        health.is_up() && health.connects >= 4,
        "not reconnected after the kills: {health:?}"
    );
    let held = alarm_blocks_publishers_and_loses_nothing(Arc::clone(&harness.bus)).await;
    eprintln!("memory alarm: publisher held and reported blocked ({held:?}), then delivered");
}

/// Under a memory alarm a publish waits (health: blocked); once the alarm clears it is
/// confirmed and delivered. Returns the health seen while it was held.
async fn alarm_blocks_publishers_and_loses_nothing(bus: Arc<RabbitBus>) -> BusHealth {
    let spec = QueueSpec::new(format!("alarm.{}", std::process::id()));
    bus.declare(&spec).await.unwrap();
    tokio::task::spawn_blocking(|| script_args(&["alarm", "on"]))
        .await
        .unwrap();
    let id = MessageId::from_stored("alarm/1");
    let publishing = {
        let (bus, queue, id) = (Arc::clone(&bus), spec.name.clone(), id.clone());
        tokio::spawn(async move {
            bus.publish(&queue, Message::new(id, b"kept".to_vec()))
                .await
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let health = bus.health();
    let blocked = !publishing.is_finished() && health.state == LinkState::Blocked;
    tokio::task::spawn_blocking(|| script_args(&["alarm", "off"]))
        .await
        .unwrap();
    assert!(
        blocked,
        "a publish under a memory alarm was not held, or not reported: {health:?}"
    );
    let published = tokio::time::timeout(Duration::from_secs(30), publishing).await;
    assert!(
        matches!(published, Ok(Ok(Ok(Published::New)))),
        "the held publish did not go through after the alarm: {published:?}"
    );
    let delivery = bus
        .receive(&spec.name, Duration::from_secs(10))
        .await
        .unwrap();
    let delivery = delivery.expect("the message published under the alarm");
    assert_eq!(delivery.message.id, id);
    bus.ack(&delivery).await.unwrap();
    health
}
