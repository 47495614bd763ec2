//! A subscriber down for ten minutes, on an accelerated clock (1 simulated minute = 60 ms): the
//! real backoff delays are waited for, scaled, not flattened.

use crate::common;

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{MemBus, TIME_SCALE, event, event_of, eventually, releasable, subscription};
use waymark_bus::Bus;
use waymark_core::Role;
use waymark_delivery::{DeliveryEvent, PayloadMode, mock::MockReceiver, queue_name, queue_spec};

const PEOPLE: u64 = 6;
const EVENTS: u64 = 60;

fn simulated(real: Duration) -> Duration {
    real.div_f64(TIME_SCALE)
}

#[tokio::test]
async fn ten_minutes_down_then_back_delivers_everything_once_in_order() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let bus = Arc::new(MemBus::accelerated(TIME_SCALE));
    bus.declare(&queue_spec(&sub)).await.unwrap();
    let enqueue = |n: u64| {
        let (bus, sub) = (bus.clone(), sub.clone());
        async move {
            let person = n % PEOPLE;
            let released = releasable(person, &sub.recipient);
            waymark_delivery::enqueue(bus.as_ref(), &sub, &event(n, person), released)
                .await
                .unwrap();
        }
    };
    for n in 1..=EVENTS / 3 {
        enqueue(n).await;
    }
    let worker = common::start_worker(bus.clone(), &sub);
    assert!(eventually(5, || mock.received().len() == (EVENTS / 3) as usize).await);

    mock.go_down(true);
    let down_at = Instant::now();
    for n in EVENTS / 3 + 1..=EVENTS {
        enqueue(n).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ten_minutes = Duration::from_secs(600).mul_f64(TIME_SCALE);
    tokio::time::sleep(ten_minutes.saturating_sub(down_at.elapsed())).await;
    mock.go_down(false);
    let downtime = down_at.elapsed();
    assert!(
        eventually(10, || mock.received().len() == EVENTS as usize).await,
        "all delivered after the outage ({} of {EVENTS})",
        mock.received().len()
    );
    let catch_up = down_at.elapsed() - downtime;
    let events = worker.stop().await;

    assert!(mock.duplicates().is_empty(), "exactly once");
    let mut numbers: Vec<u64> = mock
        .received()
        .iter()
        .map(|r| event_of(&r.body).0)
        .collect();
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for r in mock.received() {
        let (number, focus) = event_of(&r.body);
        let before = last.insert(focus.clone(), number).unwrap_or(0);
        assert!(number > before, "{focus}: event {number} after {before}");
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=EVENTS).collect::<Vec<_>>());
    let retries = events
        .iter()
        .filter(|e| matches!(e, DeliveryEvent::Retrying { .. }))
        .count();
    assert!(retries > 0 && mock.gaps().is_empty());
    let asked = bus.nack_delays();
    assert!(
        asked.iter().all(|d| *d >= Duration::from_secs(15)),
        "real backoff"
    );
    let longest = asked.iter().max().copied().unwrap_or_default();
    assert!(
        longest >= Duration::from_secs(120),
        "backoff grew: {longest:?}"
    );
    assert_eq!(bus.depth(&queue_name(&sub.id)).await.unwrap().total(), 0);
    eprintln!(
        "outage: {EVENTS} notifications to {PEOPLE} people, endpoint down {:.1} simulated min \
         ({downtime:?} real); {} requests, {retries} failed attempts (longest backoff asked \
         {longest:?}); all delivered once, in per-person order, {:.1} simulated min after it \
         came back",
        simulated(downtime).as_secs_f64() / 60.0,
        mock.request_count(),
        simulated(catch_up).as_secs_f64() / 60.0,
    );
}

/// The retry window is configurable: with a 10-minute window on the accelerated clock a
/// notification to an endpoint that stays down is dead-lettered no sooner than 10 simulated
/// minutes after its first try.
#[tokio::test]
async fn a_configured_retry_window_bounds_the_retries() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    mock.go_down(true);
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let bus = Arc::new(MemBus::accelerated(TIME_SCALE));
    let window = Duration::from_secs(600);
    bus.declare(&waymark_delivery::queue_spec_for(&sub, window))
        .await
        .unwrap();
    let released = releasable(1, &sub.recipient);
    waymark_delivery::enqueue(bus.as_ref(), &sub, &event(1, 1), released)
        .await
        .unwrap();
    let started = Instant::now();
    let worker = common::start_worker(bus.clone(), &sub);
    let queue = queue_name(&sub.id);
    assert!(eventually(10, || bus.dead_letters(&queue).len() == 1).await);
    let elapsed = started.elapsed();
    let events = worker.stop().await;
    let dead = events
        .iter()
        .filter(|e| matches!(e, DeliveryEvent::DeadLettered { .. }))
        .count();
    assert_eq!(dead, 1);
    assert!(simulated(elapsed) >= window, "{elapsed:?}");
    eprintln!(
        "10-minute window: dead-lettered after {} attempts, {:.1} simulated min",
        mock.request_count(),
        simulated(elapsed).as_secs_f64() / 60.0
    );
}
