//! The first record stage's `record`, its interplay with `apply`, the latest bundle and the
//! totals.

use std::sync::Arc;

use waymark_core::{Sensitive, SourceSystem};

use super::fixtures::{
    NOMIS, applied, at, change, entry_ids, ids, merge, message, must, new_person, refused,
};
use crate::{ApplyOutcome, NewRecord, PersonChoice, Store, StoreError};

fn legacy(key: &str, identifiers: &[(&str, &str)]) -> NewRecord {
    NewRecord {
        message_id: message(key),
        source: SourceSystem::Nomis,
        message_type: "EXTERNAL_MOVEMENT_RECORD-INSERTED".into(),
        event_time: Some(at(10)),
        recorded_at: at(20),
        identifiers: ids(identifiers),
        topic: "prison.reception".into(),
        bundle: Sensitive::new("{}".into()),
    }
}

/// `record` links by strong identifiers (one person per identifier set, a new person for new
/// identifiers), is idempotent by message id, and refuses conflicting or missing identifiers.
pub async fn record_links_by_strong_identifiers(store: Arc<dyn Store>) {
    let a = must(
        store.record(legacy("m1", &[(NOMIS, "A5089DY")])).await,
        "record",
    );
    assert!(a.applied_now && a.new_person);
    assert_eq!(a.event.event_id, message("m1").child("event"));
    assert_eq!(
        (a.event.topic.as_str(), a.event.event_time),
        ("prison.reception", at(10))
    );
    let again = must(
        store.record(legacy("m1", &[(NOMIS, "A5089DY")])).await,
        "record again",
    );
    assert!(!again.applied_now, "a repeat is not applied again");
    assert_eq!(again.event, a.event, "a repeat returns the stored event");
    let both = [("booking", "1200835"), (NOMIS, "A5089DY")];
    let b = must(store.record(legacy("m2", &both)).await, "record m2");
    let c = must(
        store.record(legacy("m3", &[("booking", "1200835")])).await,
        "record m3",
    );
    assert_eq!(b.event.person_id, a.event.person_id);
    assert_eq!(c.event.person_id, a.event.person_id);
    assert!(!b.new_person && !c.new_person);
    let other = must(
        store.record(legacy("m4", &[(NOMIS, "A6089DY")])).await,
        "record m4",
    );
    assert_ne!(other.event.person_id, a.event.person_id);
    let two = [(NOMIS, "A5089DY"), (NOMIS, "A6089DY")];
    let err = refused(
        store.record(legacy("m5", &two)).await,
        "two persons' identifiers",
    );
    assert!(matches!(err, StoreError::ConflictingIdentity(_)), "{err}");
    let err = refused(store.record(legacy("m6", &[])).await, "no identifier");
    assert!(matches!(err, StoreError::NoIdentifier(_)), "{err}");
    let counts = must(store.counts().await, "counts");
    assert_eq!((counts.persons, counts.records), (2, 4));
}

/// A message recorded by `record` is already applied for `apply` (same person, same event) and
/// the reverse; `apply` extends a person `record` created (at version 0).
pub async fn record_and_apply_share_messages(store: Arc<dyn Store>) {
    let first = must(
        store.record(legacy("m1", &[(NOMIS, "A5089DY")])).await,
        "record",
    );
    let person = first.event.person_id.clone();
    let repeat = must(
        store.apply(change("m1", 30, PersonChoice::New, 0)).await,
        "apply",
    );
    let ApplyOutcome::AlreadyApplied { person_id, events } = repeat else {
        panic!("apply of a recorded message: expected AlreadyApplied, got {repeat:?}");
    };
    assert_eq!(person_id, person);
    assert_eq!(events, std::slice::from_ref(&first.event));
    let existing = PersonChoice::Existing(person.clone());
    let (to, new, events) = applied(
        must(
            store.apply(change("m2", 40, existing, 0)).await,
            "apply to a recorded person",
        ),
        "m2",
    );
    assert_eq!((to.as_str(), new), (person.as_str(), false));
    let back = must(
        store.record(legacy("m2", &[(NOMIS, "A5089DY")])).await,
        "record m2",
    );
    assert!(
        !back.applied_now,
        "an applied message is not recorded again"
    );
    assert_eq!(
        back.event, events[0],
        "record returns the first event apply raised"
    );
    assert_eq!(entry_ids(store.as_ref(), &person).await.len(), 2);
    let entries = must(store.entries(&person).await, "entries");
    assert!(
        entries.iter().all(|e| e.origin_person_id == person),
        "origin of entries"
    );
    let counts = must(store.counts().await, "counts");
    assert_eq!((counts.persons, counts.records), (1, 2));
}

/// `latest_bundle` is the bundle recorded last for the person (by recorded time), `None` for a
/// person without entries.
pub async fn latest_bundle_is_the_newest_entry(store: Arc<dyn Store>) {
    let p = new_person(store.as_ref(), "m1", 1, &[], &[]).await;
    super::fixtures::update(store.as_ref(), &p, "m2", 3, &[], &[]).await;
    super::fixtures::update(store.as_ref(), &p, "m3", 2, &[], &[]).await;
    let latest = must(store.latest_bundle(&p).await, "latest_bundle");
    let latest = latest.unwrap_or_else(|| panic!("no latest bundle"));
    let json: serde_json::Value =
        serde_json::from_str(latest.expose()).unwrap_or_else(|_| panic!("bundle is not JSON"));
    assert_eq!(
        json["bundle-of"], "m2",
        "the latest recorded, not the last applied"
    );
    assert!(must(store.latest_bundle("nobody").await, "latest_bundle").is_none());
}

/// Counts: active persons (a merged person no longer counts), entries, quarantine entries.
pub async fn counts_count_active_persons(store: Arc<dyn Store>) {
    let empty = must(store.counts().await, "counts");
    assert_eq!((empty.persons, empty.records, empty.quarantined), (0, 0, 0));
    let p1 = new_person(store.as_ref(), "m1", 1, &[], &[]).await;
    let p2 = new_person(store.as_ref(), "m2", 2, &[], &[]).await;
    super::fixtures::update(store.as_ref(), &p1, "m3", 3, &[], &[]).await;
    let counts = must(store.counts().await, "counts");
    assert_eq!((counts.persons, counts.records), (2, 3));
    merge(store.as_ref(), &p2, &p1, 4).await;
    let counts = must(store.counts().await, "counts after merge");
    assert_eq!(
        (counts.persons, counts.records),
        (1, 3),
        "merged persons are not counted"
    );
}
