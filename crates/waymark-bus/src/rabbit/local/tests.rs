//! The local queue's rules, without a broker.

use std::time::{Duration, Instant};

use waymark_core::MessageId;

use super::{Arrival, LocalQueue, Parked, Take, settle::Outcome};
use crate::{
    Message,
    rabbit::{
        codec::{Incoming, Meta},
        ids::RecentIds,
    },
};

const LEASE: Duration = Duration::from_secs(10);

fn queue(limit: u32) -> LocalQueue<u32> {
    LocalQueue::new(
        "q",
        limit,
        LEASE,
        RecentIds::new(100, Duration::from_secs(60)),
    )
}

fn incoming(n: u32, key: Option<&str>, enqueued_us: i64) -> Incoming {
    let mut message = Message::new(MessageId::from_stored(format!("q/{n}")), vec![n as u8]);
    message.key = key.map(str::to_owned);
    Incoming {
        message,
        meta: Meta {
            enqueued_us,
            ..Meta::default()
        },
        returns: 0,
        death: None,
    }
}

fn arrive(q: &mut LocalQueue<u32>, n: u32, key: Option<&str>, now: Instant) {
    let arrival = q.arrive(1, n, incoming(n, key, i64::from(n)), None, (now, 0));
    assert!(matches!(arrival, Arrival::Kept), "{arrival:?}");
}

fn taken(q: &mut LocalQueue<u32>, now: Instant, tag: u64) -> Option<(String, u32)> {
    match q.take(now, tag) {
        Take::Deliver(d) => Some((d.message.id.as_str().to_owned(), d.attempt)),
        Take::Nothing(_) => None,
        Take::DeadLetter(..) => panic!("unexpected dead-letter"),
    }
}

#[test]
fn keys_go_one_at_a_time_in_order_and_others_pass() {
    let now = Instant::now();
    let mut q = queue(5);
    for (n, key) in [(1, Some("a")), (2, Some("a")), (3, Some("b")), (4, None)] {
        arrive(&mut q, n, key, now);
    }
    assert_eq!(taken(&mut q, now, 10), Some(("q/1".into(), 1)));
    assert_eq!(taken(&mut q, now, 11), Some(("q/3".into(), 1)));
    assert_eq!(taken(&mut q, now, 12), Some(("q/4".into(), 1)));
    assert_eq!(
        taken(&mut q, now, 13),
        None,
        "a's second waits for a's first"
    );
    assert!(q.begin(10, "q/1").is_some());
    q.finish(10, Outcome::Gone, now);
    assert_eq!(taken(&mut q, now, 14), Some(("q/2".into(), 1)));
}

#[test]
fn a_short_retry_keeps_its_place_and_counts() {
    let now = Instant::now();
    let mut q = queue(5);
    arrive(&mut q, 1, Some("a"), now);
    arrive(&mut q, 2, Some("a"), now);
    assert!(taken(&mut q, now, 1).is_some());
    let begun = q.begin(1, "q/1").unwrap();
    assert_eq!(begun.attempts, 1);
    q.finish(1, Outcome::RetryAt(now + Duration::from_secs(1)), now);
    assert_eq!(q.depth(now), (2, 0));
    assert_eq!(taken(&mut q, now, 2), None, "not due, and a's second waits");
    let later = now + Duration::from_secs(1);
    assert_eq!(taken(&mut q, later, 3), Some(("q/1".into(), 2)));
    assert!(q.begin(1, "q/1").is_none(), "the old tag is stale");
}

#[test]
fn lease_expiries_count_and_the_limit_dead_letters() {
    let now = Instant::now();
    let mut q = queue(2);
    arrive(&mut q, 1, None, now);
    assert_eq!(taken(&mut q, now, 1), Some(("q/1".into(), 1)));
    let t1 = now + LEASE;
    assert_eq!(taken(&mut q, t1, 2), Some(("q/1".into(), 2)));
    let t2 = t1 + LEASE;
    match q.take(t2, 3) {
        Take::DeadLetter(3, moving) => assert_eq!(moving.meta.attempts, 2),
        other => panic!("expected a dead-letter, got {other:?}"),
    }
    q.finish(3, Outcome::Gone, t2);
    assert_eq!(q.depth(t2), (0, 0));
}

#[test]
fn copies_of_held_or_settled_ids_are_dropped() {
    let now = Instant::now();
    let mut q = queue(5);
    arrive(&mut q, 1, None, now);
    let again = q.arrive(1, 99, incoming(1, None, 1), None, (now, 0));
    assert!(matches!(again, Arrival::Drop(99, "duplicate")));
    assert!(taken(&mut q, now, 1).is_some());
    q.begin(1, "q/1").unwrap();
    q.finish(1, Outcome::Gone, now);
    let late = q.arrive(2, 98, incoming(1, None, 1), None, (now, 0));
    assert!(matches!(late, Arrival::Drop(98, "duplicate")));
}

#[test]
fn purge_takes_ready_messages_of_the_key_only() {
    let now = Instant::now();
    let mut q = queue(5);
    for (n, key) in [
        (1, Some("p")),
        (2, Some("p")),
        (3, Some("p")),
        (4, Some("o")),
    ] {
        arrive(&mut q, n, key, now);
    }
    assert!(taken(&mut q, now, 1).is_some());
    let (ackers, count) = q.purge("p", 10, now);
    assert_eq!((ackers, count), (vec![2, 3], 2));
    assert_eq!(q.depth(now), (1, 1));
    let after = q.arrive(1, 5, incoming(5, Some("p"), 5), Some(10), (now, 0));
    assert!(
        matches!(after, Arrival::Drop(5, "purged")),
        "older than the tombstone"
    );
    let newer = q.arrive(1, 11, incoming(11, Some("p"), 11), Some(10), (now, 0));
    assert!(matches!(newer, Arrival::Kept), "newer than the tombstone");
}

#[test]
fn a_parked_key_holds_its_followers_and_the_head_takes_its_place_back() {
    let now = Instant::now();
    let mut q = queue(5);
    arrive(&mut q, 1, Some("a"), now);
    assert!(taken(&mut q, now, 1).is_some());
    let begun = q.begin(1, "q/1").unwrap();
    q.finish(1, Outcome::Parked, now);
    let tier = Duration::from_secs(30);
    let parked = Parked {
        id: "q/1".into(),
        seq: begun.moving.seq,
        tier,
    };
    q.parked(Some("a"), parked, 1);
    assert_eq!(q.depth(now), (1, 0), "a parked message counts as ready");
    match q.arrive(1, 2, incoming(2, Some("a"), 2), None, (now, 0)) {
        Arrival::Follow(_, t) => assert_eq!(t, tier),
        other => panic!("a follower must be parked too, got {other:?}"),
    }
    let mut back = incoming(1, Some("a"), 1);
    back.meta.attempts = 1;
    let arrival = q.arrive(2, 7, back, None, (now, 0));
    assert!(matches!(arrival, Arrival::Kept));
    assert_eq!(taken(&mut q, now, 2), Some(("q/1".into(), 2)));
}

#[test]
fn a_dead_channel_makes_its_deliveries_stale_but_keeps_their_key_held() {
    let now = Instant::now();
    let mut q = queue(5);
    arrive(&mut q, 1, Some("a"), now);
    assert!(taken(&mut q, now, 1).is_some());
    q.drop_generation(1);
    assert_eq!(q.depth(now), (0, 0), "the broker holds them again");
    let again = q.arrive(2, 3, incoming(1, Some("a"), 1), None, (now, 0));
    assert!(
        matches!(again, Arrival::Kept),
        "redelivered on the new channel"
    );
    assert_eq!(
        taken(&mut q, now, 2),
        None,
        "the stale holder still holds the key"
    );
    assert!(q.begin(1, "q/1").is_none(), "the stale tag is refused");
    assert_eq!(taken(&mut q, now, 3), Some(("q/1".into(), 1)));
}
