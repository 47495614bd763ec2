//! The hub through the bus against the broker's own ceiling, in one run
//! (`cargo bench -p waymark --bench hub_bus`, with `WAYMARK_AMQP_URL` set):
//! - broker only (lapin, no bus; `waymark bench`'s `bench::broker`, moved from
//!   `waymark-bus/benches/ceiling.rs`): publish + confirm + consume + ack of persistent 1 KiB
//!   messages on a classic and a quorum queue, confirms by 256 and one by one;
//! - the hub (in-process `Hub::start_plan`, every stage, `WAYMARK_BENCH_WORKERS` workers per
//!   stage, default 4) on RabbitMQ and on the embedded bus, both with the SQLite store: the
//!   NOMIS adapter's envelopes for a synthetic population (`WAYMARK_BENCH_PEOPLE`, default 300)
//!   are published onto the ingest queue first, then the hub is started and timed until every
//!   envelope is recorded and every notification released reached one of the two mock
//!   receivers (map → record → release → deliver): envelopes per second;
//! - the ratios: hub on RabbitMQ / broker ceiling, hub on RabbitMQ / hub embedded.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

/// The broker ceiling and the envelope capture, shared with `waymark bench`.
mod ceiling {
    pub(crate) use waymark::commands::bench_cmd::bench::broker::broker_only as broker;

    pub(crate) async fn broker_only(url: &str, kind: &str, n: u64, window: usize) -> f64 {
        broker(url, kind, n, window).await.unwrap()
    }

    pub(crate) fn row(what: &str, rate: f64, ceiling: Option<(f64, &str)>) {
        let ratio = ceiling.map_or(String::new(), |(c, of)| {
            format!("{:>6.2}  of {of}", rate / c)
        });
        println!("{what:<52} {rate:>9.0}  {ratio}");
    }
}

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use waymark::embedded::demo_subscriptions;
use waymark_adapter_nomis::Population;
use waymark_bus::{Bus, Message, RabbitBus, RabbitBusOptions, SqliteBus};
use waymark_delivery::{RestHook, RestHookConfig, Subscription, mock::MockReceiver};
use waymark_pipeline::{Hub, HubParts, INGEST, PipelineEvent, RELEASE, StagePlan, Telemetry};
use waymark_store::{SqliteStore, Store};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab";
/// Synthetic prisoners (about three envelopes each).
const PEOPLE: usize = 300;

/// `WAYMARK_BENCH_PEOPLE`, else [`PEOPLE`].
fn people() -> usize {
    std::env::var("WAYMARK_BENCH_PEOPLE")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(PEOPLE)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::var("WAYMARK_AMQP_URL").expect(
        "WAYMARK_AMQP_URL is not set: start a broker with `eval \"$(deploy/local/rabbitmq.sh)\"`",
    );
    let workers: usize = std::env::var("WAYMARK_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(4);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let population = Population::synthetic(42, people());
    let expected = population.expected();
    let envelopes = capture_envelopes(population).await;
    println!(
        "Waymark hub through the bus: {cores} cores (shared, noisy: other builds run here), \
         RabbitMQ at WAYMARK_AMQP_URL, SQLite store (WAL, synchronous=FULL) for both hubs, \
         {workers} workers per stage; {} NOMIS envelopes ({} people), {} notifications to each \
         of 2 mock receivers",
        envelopes.len(),
        people(),
        expected.changes
    );
    println!("{:<52} {:>9}  ratio", "mode", "msgs/s");
    let quorum = ceiling::broker_only(&url, "quorum", 20_000, 256).await;
    let classic = ceiling::broker_only(&url, "classic", 20_000, 256).await;
    let quorum_one = ceiling::broker_only(&url, "quorum", 2_000, 1).await;
    ceiling::row("broker only, classic, confirms by 256", classic, None);
    ceiling::row(
        "broker only, quorum, confirms by 256 (CEILING)",
        quorum,
        None,
    );
    ceiling::row(
        "broker only, quorum, confirm each (CEILING-1)",
        quorum_one,
        None,
    );

    clear_stage_queues(&url).await;
    let rabbit: Arc<dyn Bus> = Arc::new(
        RabbitBus::connect(&url, RabbitBusOptions::default())
            .await
            .unwrap(),
    );
    let (hub_rabbit, load_rabbit, sent_rabbit) = through_hub(rabbit, &envelopes, workers).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Bus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    let (hub_embedded, load_embedded, sent_embedded) =
        through_hub(sqlite, &envelopes, workers).await;
    println!(
        "notifications delivered: {sent_rabbit} on RabbitMQ, {sent_embedded} embedded ({} if \
         every envelope were handled in event order; concurrent map workers reorder a person's \
         envelopes, and an older event recorded after a newer one may change nothing)",
        2 * expected.changes
    );
    ceiling::row(
        "loading the ingest queue, RabbitMQ (1 publisher)",
        load_rabbit,
        None,
    );
    ceiling::row(
        "loading the ingest queue, embedded (1 publisher)",
        load_embedded,
        None,
    );
    ceiling::row(
        "hub on RabbitMQ, envelopes/s",
        hub_rabbit,
        Some((quorum, "CEILING")),
    );
    ceiling::row(
        "hub on RabbitMQ, envelopes/s",
        hub_rabbit,
        Some((quorum_one, "CEILING-1")),
    );
    ceiling::row(
        "hub embedded (SQLite bus), envelopes/s",
        hub_embedded,
        Some((quorum, "CEILING")),
    );
    ceiling::row(
        "hub on RabbitMQ vs hub embedded",
        hub_rabbit,
        Some((hub_embedded, "embedded")),
    );
}

/// The envelopes the NOMIS adapter makes of `population` (`waymark bench`'s capture).
async fn capture_envelopes(population: Population) -> Vec<Message> {
    waymark::commands::bench_cmd::bench::fixtures::capture(population)
        .await
        .unwrap()
}

/// Loads `envelopes` onto the ingest queue in order (one publisher: the order the source sent
/// them), then starts a whole hub and times it until every envelope is recorded and every
/// notification the release stage queued has reached its receiver. Returns envelopes/s through
/// the hub, envelopes/s loading, and the notifications delivered.
async fn through_hub(
    bus: Arc<dyn Bus>,
    envelopes: &[Message],
    workers: usize,
) -> (f64, f64, usize) {
    let healthcare = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let probation = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let mut subs: Vec<Subscription> =
        demo_subscriptions(&healthcare.url(), &probation.url(), SECRET);
    let run = uuid::Uuid::new_v4().simple().to_string();
    for sub in &mut subs {
        sub.id = format!("bench-{}-{}", &run[..12], sub.id);
    }
    waymark_pipeline::declare_all(bus.as_ref(), &subs)
        .await
        .unwrap();
    let load_rate = load(&bus, envelopes).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(
        SqliteStore::open(&dir.path().join("store.db"))
            .await
            .unwrap(),
    );
    let store: Arc<dyn Store> = sqlite.clone();
    let audit: Arc<dyn waymark_store::AuditLog> = sqlite;
    let (telemetry, mut events) = Telemetry::channel();
    let released = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&released);
    let tally = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if matches!(event, PipelineEvent::Released { .. }) {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let parts = parts(Arc::clone(&bus), Arc::clone(&store), audit, subs, telemetry);
    let start = Instant::now();
    let plan = StagePlan {
        workers,
        ..StagePlan::all()
    };
    let hub = Hub::start_plan(parts, &plan).await.unwrap();
    let delivered = || healthcare.unique_ids().len() + probation.unique_ids().len();
    let mut settled = 0;
    while settled < 2 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the hub did not finish in 5 min"
        );
        let recorded = store.counts().await.unwrap().records as usize;
        let waiting = bus.depth(RELEASE).await.unwrap().total();
        let done = recorded == envelopes.len()
            && waiting == 0
            && delivered() == released.load(Ordering::Relaxed);
        settled = if done { settled + 1 } else { 0 };
    }
    let rate = envelopes.len() as f64 / start.elapsed().as_secs_f64();
    hub.stop().await;
    tally.abort();
    assert!(healthcare.duplicates().is_empty() && probation.duplicates().is_empty());
    (rate, load_rate, delivered())
}

async fn load(bus: &Arc<dyn Bus>, envelopes: &[Message]) -> f64 {
    let start = Instant::now();
    for message in envelopes {
        bus.publish(INGEST, message.clone()).await.unwrap();
    }
    envelopes.len() as f64 / start.elapsed().as_secs_f64()
}

fn parts(
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
    audit: Arc<dyn waymark_store::AuditLog>,
    subscriptions: Vec<Subscription>,
    telemetry: Telemetry,
) -> HubParts {
    let mappings_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings");
    let (delivery_events, _) = tokio::sync::mpsc::unbounded_channel();
    HubParts {
        bus,
        store,
        audit,
        mappings: Arc::new(waymark_mapping::MappingSet::load(&mappings_dir).unwrap()),
        validator: Arc::new(waymark_profile::Validator::r4().unwrap()),
        policy: Arc::new(waymark_policy::Policy::builtin().unwrap()),
        topics: Arc::new(waymark_record::Topics::builtin().unwrap()),
        subscriptions: waymark_pipeline::SubscriptionSet::fixed(subscriptions),
        hook: RestHook::new(&RestHookConfig::default()).unwrap(),
        retry_window: waymark_delivery::RETRY_WINDOW,
        telemetry,
        delivery_events,
    }
}

/// Deletes the hub's stage queues, so the run starts empty.
async fn clear_stage_queues(url: &str) {
    waymark::commands::bench_cmd::bench::broker::clear_stage_queues(url)
        .await
        .unwrap();
}
