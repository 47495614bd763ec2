//! Subscriptions: versioned create / read / list / update / status / delete (the events
//! numbered for a subscription are checked in `subscription_events`).

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::fixtures::{must, refused};
use crate::{Store, StoreError, StoredSubscription};

/// A subscription body (opaque to the store; a secret in it, as in the real ones).
pub(super) fn body(n: u32) -> String {
    format!(r#"{{"id":"s","version":1,"secret":"whsec_{n}","n":{n}}}"#)
}

fn conflict(result: Result<u64, StoreError>, what: &str) {
    let e = refused(result, what);
    assert!(matches!(e, StoreError::VersionConflict(_)), "{what}: {e:?}");
}

async fn get(store: &dyn Store, id: &str) -> Option<StoredSubscription> {
    must(store.subscription(id).await, "subscription")
}

/// Subscription `id`, which must exist.
async fn existing(store: &dyn Store, id: &str) -> StoredSubscription {
    get(store, id)
        .await
        .unwrap_or_else(|| panic!("subscription `{id}` is missing"))
}

/// `Some(0)` creates (version 1) and conflicts on an existing id; `Some(v)` replaces version
/// `v` and conflicts on a stale version or a missing id; `None` creates or replaces. Each write
/// is read back as written, with a fresh `updated_at`; the list is by id.
pub async fn subscriptions_create_read_update_with_versions(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let before = Utc::now() - Duration::seconds(5);
    assert_eq!(get(store, "s-b").await, None, "unknown id");
    let put = |id: &'static str, n: u32, status: &'static str, v: Option<u64>| async move {
        store.put_subscription(id, &body(n), status, v).await
    };
    assert_eq!(must(put("s-b", 1, "requested", Some(0)).await, "create"), 1);
    conflict(put("s-b", 2, "active", Some(0)).await, "create again");
    let one = existing(store, "s-b").await;
    assert_eq!(
        (
            one.id.as_str(),
            one.body.expose().as_str(),
            one.status.as_str()
        ),
        ("s-b", body(1).as_str(), "requested")
    );
    assert_eq!(one.version, 1);
    assert!(one.updated_at >= before && one.updated_at <= Utc::now() + Duration::seconds(5));

    assert_eq!(must(put("s-b", 3, "active", Some(1)).await, "update"), 2);
    conflict(put("s-b", 4, "off", Some(1)).await, "stale update");
    conflict(put("s-b", 4, "off", Some(7)).await, "update ahead");
    let two = existing(store, "s-b").await;
    assert_eq!((two.body.expose().clone(), two.version), (body(3), 2));
    assert_eq!(two.status, "active", "a refused write changed nothing");
    assert!(two.updated_at >= one.updated_at);

    assert_eq!(must(put("s-b", 5, "error", None).await, "upsert"), 3);
    assert_eq!(must(put("s-a", 6, "active", None).await, "upsert new"), 1);
    conflict(
        put("s-c", 7, "active", Some(1)).await,
        "update of a missing id",
    );
    assert_eq!(
        get(store, "s-c").await,
        None,
        "a refused update creates nothing"
    );

    let all = must(store.subscriptions().await, "subscriptions");
    let listed: Vec<(&str, u64, &str)> = all
        .iter()
        .map(|s| (s.id.as_str(), s.version, s.status.as_str()))
        .collect();
    assert_eq!(listed, [("s-a", 1, "active"), ("s-b", 3, "error")]);
    assert_eq!(all[1].body.expose(), &body(5));
}

/// A status change keeps the body and bumps the version (so a stale update conflicts); delete
/// removes the subscription from reads and lists; both say false for a missing id.
pub async fn subscription_status_and_delete(store: Arc<dyn Store>) {
    let store = store.as_ref();
    must(
        store
            .put_subscription("s-1", &body(1), "active", Some(0))
            .await,
        "create",
    );
    must(
        store
            .put_subscription("s-2", &body(2), "active", Some(0))
            .await,
        "create",
    );
    assert!(must(
        store.set_subscription_status("s-1", "off").await,
        "status"
    ));
    let s = existing(store, "s-1").await;
    assert_eq!((s.status.as_str(), s.version), ("off", 2));
    assert_eq!(s.body.expose(), &body(1), "the body is kept");
    assert!(must(
        store.set_subscription_status("s-1", "off").await,
        "status again"
    ));
    assert_eq!(get(store, "s-1").await.map(|s| s.version), Some(3));
    conflict(
        store
            .put_subscription("s-1", &body(9), "active", Some(2))
            .await,
        "update after a status change",
    );
    assert!(!must(
        store.set_subscription_status("nope", "off").await,
        "status of missing"
    ));
    assert_eq!(
        get(store, "nope").await,
        None,
        "a status change creates nothing"
    );

    assert!(must(store.delete_subscription("s-1").await, "delete"));
    assert!(!must(
        store.delete_subscription("s-1").await,
        "delete again"
    ));
    assert_eq!(get(store, "s-1").await, None);
    let ids: Vec<String> = must(store.subscriptions().await, "subscriptions")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, ["s-2"]);
    assert_eq!(
        must(
            store
                .put_subscription("s-1", &body(3), "active", Some(0))
                .await,
            "re-create"
        ),
        1,
        "a deleted id can be created again"
    );
}

/// Two tasks updating one subscription at the same version: exactly one wins (repeated).
pub async fn subscription_updates_race_to_one_version(store: Arc<dyn Store>) {
    must(
        store
            .put_subscription("race", &body(0), "active", Some(0))
            .await,
        "create",
    );
    for round in 1..=8u64 {
        let tasks: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|side| {
                let store = store.clone();
                tokio::spawn(async move {
                    let b = body(side);
                    store
                        .put_subscription("race", &b, "active", Some(round))
                        .await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(must(task.await, "update task"));
        }
        let won = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(v) if *v == round + 1));
        let lost = outcomes
            .iter()
            .filter(|o| matches!(o, Err(StoreError::VersionConflict(_))));
        assert_eq!(
            (won.count(), lost.count()),
            (1, 1),
            "round {round}: {outcomes:?}"
        );
    }
    assert_eq!(
        get(store.as_ref(), "race").await.map(|s| s.version),
        Some(9)
    );
}
