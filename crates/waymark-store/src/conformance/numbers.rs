//! Per-subscription event numbers: stable per event, gap-free per subscription, race-free.

use std::{collections::BTreeSet, sync::Arc};

use waymark_core::MessageId;

use super::fixtures::must;
use crate::Store;

fn event(n: u32) -> MessageId {
    MessageId::from_stored(format!("event-{n}"))
}

/// The next number on first call, the same number on every later call, numbered separately per
/// subscription.
pub async fn event_numbers_are_stable_and_gap_free(store: Arc<dyn Store>) {
    let number = |sub: &'static str, n: u32| {
        let store = store.clone();
        async move { must(store.event_number(sub, &event(n)).await, "event_number") }
    };
    assert_eq!(number("probation", 1).await, 1);
    assert_eq!(number("probation", 2).await, 2);
    assert_eq!(number("probation", 1).await, 1, "stable for an event");
    assert_eq!(
        number("healthcare", 2).await,
        1,
        "numbered per subscription"
    );
    assert_eq!(number("probation", 3).await, 3);
}

/// Many tasks numbering events concurrently (each event twice) get numbers 1..=n, one per
/// event, with no gap and no duplicate.
pub async fn event_numbers_race_without_gaps(store: Arc<dyn Store>) {
    const EVENTS: u32 = 24;
    let mut tasks = Vec::new();
    for round in 0..2 {
        for n in 0..EVENTS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let got = must(
                    store.event_number("racing", &event(n)).await,
                    "event_number",
                );
                (round, n, got)
            }));
        }
    }
    let mut by_event = vec![[0u64; 2]; EVENTS as usize];
    for task in tasks {
        let (round, n, got) = must(task.await, "numbering task");
        by_event[n as usize][round] = got;
    }
    for (n, pair) in by_event.iter().enumerate() {
        assert_eq!(pair[0], pair[1], "event {n} got two different numbers");
    }
    let numbers: BTreeSet<u64> = by_event.iter().map(|p| p[0]).collect();
    let expected: BTreeSet<u64> = (1..=u64::from(EVENTS)).collect();
    assert_eq!(numbers, expected, "numbers are not exactly 1..={EVENTS}");
}

/// A batch gives each subscription what [`Store::event_number`] would: in input order, a new
/// number where there was none, the stored one where there was, one number for a subscription
/// named twice; an empty batch gives nothing.
pub async fn event_numbers_batch_like_single_calls(store: Arc<dyn Store>) {
    let batch = |n: u32, subs: &[&str]| {
        let store = store.clone();
        let subs: Vec<String> = subs.iter().map(|s| (*s).to_owned()).collect();
        async move { must(store.event_numbers(&event(n), &subs).await, "event_numbers") }
    };
    assert_eq!(batch(1, &["a", "b"]).await, [1, 1]);
    assert_eq!(must(store.event_number("a", &event(2)).await, "single"), 2);
    assert_eq!(
        batch(2, &["b", "a", "c"]).await,
        [2, 2, 1],
        "new and stored"
    );
    assert_eq!(
        batch(2, &["c", "b", "a"]).await,
        [1, 2, 2],
        "stable, in order"
    );
    assert_eq!(
        batch(3, &["c", "c"]).await,
        [2, 2],
        "one number per subscription"
    );
    assert_eq!(batch(3, &[]).await, Vec::<u64>::new());
    assert_eq!(must(store.event_number("b", &event(1)).await, "single"), 1);
    let many: Vec<String> = (0..50).map(|i| format!("s-{i}")).collect();
    let got = must(store.event_numbers(&event(4), &many).await, "fifty");
    assert_eq!(got, vec![1; 50], "each subscription numbers its own events");
}

/// Batches for the same events racing from many tasks, with the subscriptions in opposite
/// orders (no deadlock), give every subscription the numbers 1..=n, each event one number.
pub async fn event_numbers_batches_race_without_gaps(store: Arc<dyn Store>) {
    const EVENTS: u32 = 12;
    let subs: Vec<String> = (0..4).map(|i| format!("racer-{i}")).collect();
    let mut tasks = Vec::new();
    for round in 0..2usize {
        for n in 0..EVENTS {
            let (store, mut subs) = (store.clone(), subs.clone());
            if (n as usize + round) % 2 == 1 {
                subs.reverse();
            }
            tasks.push(tokio::spawn(async move {
                let got = must(store.event_numbers(&event(n), &subs).await, "batch");
                let by_sub: Vec<(String, u64)> = subs.into_iter().zip(got).collect();
                (round, n, by_sub)
            }));
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for task in tasks {
        let (round, n, by_sub) = must(task.await, "numbering task");
        for (sub, got) in by_sub {
            let slot = seen.entry((sub, n)).or_insert([0u64; 2]);
            slot[round] = got;
        }
    }
    for sub in &subs {
        let mut numbers = BTreeSet::new();
        for n in 0..EVENTS {
            let pair = seen[&(sub.clone(), n)];
            assert_eq!(pair[0], pair[1], "{sub}: event {n} got two numbers");
            numbers.insert(pair[0]);
        }
        let expected: BTreeSet<u64> = (1..=u64::from(EVENTS)).collect();
        assert_eq!(
            numbers, expected,
            "{sub}: numbers are not exactly 1..={EVENTS}"
        );
    }
}
