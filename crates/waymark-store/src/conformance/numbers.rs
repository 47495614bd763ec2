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
