//! The events numbered for a subscription (`$events`, `eventsSinceSubscriptionStart`): paged by
//! number, each with its pathway event, kept when the subscription is deleted.

use std::sync::Arc;

use waymark_core::Sensitive;

use super::fixtures::{applied, at, change, must};
use super::subscriptions::body;
use crate::{NewConsent, NumberedEvent, PathwayEvent, PersonChoice, Store};

/// `n` applied records' pathway events, with a Consent change's after the second: each a
/// `PathwayEvent` as the store raised it.
async fn raise_events(store: &dyn Store, n: u32) -> Vec<PathwayEvent> {
    let mut events = Vec::new();
    for i in 0..n {
        let c = change(&format!("sub-ev-{i}"), i64::from(i), PersonChoice::New, 0);
        let (person, _, raised) = applied(must(store.apply(c).await, "apply"), "sub-ev");
        events.extend(raised);
        if i == 1 {
            let consent = NewConsent {
                person_id: person,
                consent_id: "c1".to_owned(),
                status: "active".to_owned(),
                consent: Sensitive::new(r#"{"resourceType":"Consent"}"#.to_owned()),
                recorded_at: at(1_000),
            };
            events.push(must(store.put_consent(consent).await, "put_consent"));
        }
    }
    events
}

/// Numbers `events` for `sub`, in order; they must get 1, 2, ….
async fn number_all(store: &dyn Store, sub: &str, events: &[PathwayEvent]) {
    for (i, e) in events.iter().enumerate() {
        let n = must(store.event_number(sub, &e.event_id).await, "event_number");
        assert_eq!(n, u64::try_from(i).unwrap_or(0) + 1, "numbering {sub}");
    }
}

fn numbers_of(page: &[NumberedEvent]) -> Vec<u64> {
    page.iter().map(|e| e.number).collect()
}

/// `subscription_events` answers numbers `since..=until`, ascending, at most `limit`, each with
/// its pathway event as raised (id, person, topic, time); `events_since_start` is the highest
/// number. Another subscription's numbers never show; an unknown id has none.
pub async fn subscription_events_page_by_number(store: Arc<dyn Store>) {
    let store = store.as_ref();
    must(
        store
            .put_subscription("s", &body(1), "active", Some(0))
            .await,
        "create",
    );
    let events = raise_events(store, 5).await;
    assert_eq!(events.len(), 6, "five records and one Consent change");
    number_all(store, "s", &events).await;
    number_all(store, "other", &events[3..]).await;
    let page = |since: u64, until: u64, limit: u32| async move {
        must(
            store.subscription_events("s", since, until, limit).await,
            "subscription_events",
        )
    };

    let all = page(1, u64::MAX, 100).await;
    assert_eq!(numbers_of(&all), [1, 2, 3, 4, 5, 6]);
    let got: Vec<&PathwayEvent> = all.iter().map(|e| &e.event).collect();
    let want: Vec<&PathwayEvent> = events.iter().collect();
    assert_eq!(got, want, "each number with its pathway event");
    assert_eq!(numbers_of(&page(0, 3, 100).await), [1, 2, 3]);
    assert_eq!(numbers_of(&page(2, 5, 2).await), [2, 3], "at most limit");
    assert_eq!(numbers_of(&page(4, 4, 10).await), [4]);
    assert_eq!(numbers_of(&page(6, 99, 10).await), [6]);
    assert!(page(7, 99, 10).await.is_empty(), "past the last number");
    assert!(page(4, 3, 10).await.is_empty(), "until before since");
    assert!(page(1, 6, 0).await.is_empty(), "limit 0");

    assert_eq!(must(store.events_since_start("s").await, "since start"), 6);
    assert_eq!(
        must(store.events_since_start("other").await, "since start"),
        3
    );
    let other = must(store.subscription_events("other", 1, 99, 99).await, "other");
    assert_eq!(
        other.last().map(|e| &e.event),
        events.last(),
        "numbered per subscription"
    );
    assert_eq!(
        must(store.events_since_start("nobody").await, "since start"),
        0
    );
    let none = must(
        store.subscription_events("nobody", 0, 99, 99).await,
        "nobody",
    );
    assert!(none.is_empty());
}

/// Deleting a subscription keeps its numbers: they are still answered, and a subscription
/// re-created under the same id goes on from the highest (an event numbered before keeps its
/// number).
pub async fn subscription_numbers_outlive_delete(store: Arc<dyn Store>) {
    let store = store.as_ref();
    must(
        store
            .put_subscription("s", &body(1), "active", Some(0))
            .await,
        "create",
    );
    let events = raise_events(store, 3).await;
    number_all(store, "s", &events[..2]).await;
    assert!(must(store.delete_subscription("s").await, "delete"));
    assert_eq!(must(store.events_since_start("s").await, "since start"), 2);
    let kept = must(
        store.subscription_events("s", 1, 9, 9).await,
        "after delete",
    );
    assert_eq!(numbers_of(&kept), [1, 2]);

    let v = must(
        store
            .put_subscription("s", &body(2), "active", Some(0))
            .await,
        "re-create",
    );
    assert_eq!(v, 1);
    let again = must(
        store.event_number("s", &events[0].event_id).await,
        "renumber",
    );
    assert_eq!(again, 1, "an event keeps its number");
    number_all(store, "s", &events).await;
    let after = must(
        store.subscription_events("s", 1, 9, 9).await,
        "after re-create",
    );
    assert_eq!(numbers_of(&after), [1, 2, 3, 4]);
    assert_eq!(must(store.events_since_start("s").await, "since start"), 4);
}
