//! `apply`: new and existing persons, idempotency, version checks, identity conflicts, races.

use std::sync::Arc;

use serde_json::json;

use super::fixtures::{
    NHS, NOMIS, applied, at, change, change_with, demographics_json, entry_ids, found_under,
    kinds_of, linked_to, merge, message, must, new_person, record_json, refused, update, version,
};
use crate::{ApplyOutcome, IdentityEventKind, NewEvent, PersonChoice, Store, StoreError};

/// A new person gets a fresh id, is active, has the entry (its own origin), the record at
/// version 1, the links, the keys with the demographics, the events in order (ids
/// `message.child("event/<i>")`) and a history of `created` then `linked`.
pub async fn apply_creates_a_new_person(store: Arc<dyn Store>) {
    let mut c = change_with(
        "m1",
        5,
        PersonChoice::New,
        0,
        &[(NOMIS, "A"), (NHS, "N")],
        &["k1"],
    );
    c.events.push(NewEvent {
        topic: "prison.reception".into(),
        event_time: at(4),
        detail: json!({"focus": ["Encounter/1"]}),
    });
    let outcome = must(store.apply(c).await, "apply");
    let ApplyOutcome::Applied { review_id, .. } = &outcome else {
        panic!("expected Applied, got {outcome:?}");
    };
    assert!(review_id.is_none(), "no review was asked for");
    let (p, new, events) = applied(outcome, "m1");
    assert!(new, "new_person");
    let ids: Vec<_> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(
        ids,
        [
            message("m1").child("event/0"),
            message("m1").child("event/1")
        ]
    );
    let topics: Vec<_> = events
        .iter()
        .map(|e| (e.topic.as_str(), e.event_time))
        .collect();
    assert_eq!(
        topics,
        [("record.updated", at(5)), ("prison.reception", at(4))]
    );
    assert!(events.iter().all(|e| e.person_id == p));
    let info = must(store.person(&p).await, "person").unwrap_or_else(|| panic!("no person"));
    assert_eq!(info.merged_into, None, "active");
    let created = chrono::DateTime::parse_from_rfc3339(&info.created_at)
        .unwrap_or_else(|_| panic!("created_at is not RFC 3339"));
    assert_eq!(created, at(5));
    let record = must(store.person_record(&p).await, "person_record");
    let record = record.unwrap_or_else(|| panic!("no record"));
    assert_eq!(
        (record.version, record.record.expose().clone()),
        (1, record_json("m1"))
    );
    let entries = must(store.entries(&p).await, "entries");
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        (e.message_id.as_str(), e.source.as_str()),
        (message("m1").as_str(), "nomis")
    );
    assert_eq!(
        (e.person_id.as_str(), e.origin_person_id.as_str()),
        (p.as_str(), p.as_str())
    );
    assert_eq!((e.event_time, e.recorded_at), (Some(at(5)), at(5)));
    assert_eq!(e.message_type, "OFFENDER-UPDATED");
    assert!(e.bundle.expose().contains("m1"), "the bundle is kept");
    let links = linked_to(store.as_ref(), &[(NOMIS, "A"), (NHS, "N"), (NHS, "other")]).await;
    assert_eq!(links, [("A".into(), p.clone()), ("N".into(), p.clone())]);
    let history = must(store.identity_history(&p).await, "identity_history");
    assert_eq!(
        kinds_of(&history, &p),
        [IdentityEventKind::Created, IdentityEventKind::Linked]
    );
    assert!(
        history
            .iter()
            .all(|h| h.reference.as_deref() == Some(message("m1").as_str()))
    );
    let found = must(store.candidates(&["k1".into()], 10).await, "candidates");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].person_id, p);
    let demographics: Vec<_> = found[0]
        .demographics
        .iter()
        .map(|d| d.expose().clone())
        .collect();
    assert_eq!(demographics, [demographics_json("m1")]);
}

/// An existing person's change bumps the version, adds the entry (entries by event time), the
/// new links (a `linked` event only when an identifier is new) and keys, and returns
/// `new_person: false`; candidates carry the demographics newest first.
pub async fn apply_updates_an_existing_person(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p = new_person(s, "m1", 10, &[(NOMIS, "A")], &["k1"]).await;
    let existing = PersonChoice::Existing(p.clone());
    let mut c = change_with(
        "m2",
        15,
        existing,
        1,
        &[(NOMIS, "A"), (NHS, "N")],
        &["k1", "k2"],
    );
    c.event_time = Some(at(5));
    let (to, new, _) = applied(must(store.apply(c).await, "apply m2"), "m2");
    assert_eq!((to.as_str(), new), (p.as_str(), false));
    update(s, &p, "m3", 20, &[(NOMIS, "A")], &["k2"]).await;
    assert_eq!(version(s, &p).await, 3);
    let record = must(store.person_record(&p).await, "person_record");
    assert_eq!(
        record.map(|r| r.record.expose().clone()),
        Some(record_json("m3"))
    );
    let order = [message("m2"), message("m1"), message("m3")].map(|m| m.as_str().to_owned());
    assert_eq!(
        entry_ids(s, &p).await,
        order,
        "entries by source event time"
    );
    assert_eq!(linked_to(s, &[(NHS, "N")]).await, [("N".into(), p.clone())]);
    let history = must(store.identity_history(&p).await, "identity_history");
    let linked = IdentityEventKind::Linked;
    assert_eq!(
        kinds_of(&history, &p),
        [IdentityEventKind::Created, linked, linked]
    );
    assert_eq!(found_under(s, &["k2"], 10).await, [p.as_str()]);
    let found = must(store.candidates(&["k2".into()], 10).await, "candidates");
    let demographics: Vec<_> = found[0]
        .demographics
        .iter()
        .map(|d| d.expose().clone())
        .collect();
    let newest_first = ["m3", "m2", "m1"].map(demographics_json);
    assert_eq!(
        demographics, newest_first,
        "demographics newest (recorded) first"
    );
}

/// The same message again changes nothing and returns `AlreadyApplied` with the same person and
/// events, whatever the repeat says; after a merge it names the survivor.
pub async fn apply_is_idempotent(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let c = change_with("m1", 1, PersonChoice::New, 0, &[(NOMIS, "A")], &["k1"]);
    let (p, _, events) = applied(must(store.apply(c.clone()).await, "apply"), "m1");
    let again = must(store.apply(c).await, "apply again");
    let expected = ApplyOutcome::AlreadyApplied {
        person_id: p.clone(),
        events: events.clone(),
    };
    assert_eq!(again, expected);
    let other = new_person(s, "m2", 2, &[(NOMIS, "B")], &[]).await;
    let mut odd = change_with(
        "m1",
        3,
        PersonChoice::Existing(other.clone()),
        7,
        &[],
        &["k9"],
    );
    odd.events.clear();
    assert_eq!(
        must(store.apply(odd.clone()).await, "apply a changed repeat"),
        expected
    );
    assert_eq!(version(s, &p).await, 1, "no new version");
    assert_eq!(entry_ids(s, &p).await.len(), 1, "no new entry");
    assert!(found_under(s, &["k9"], 10).await.is_empty(), "no new key");
    let history = must(store.identity_history(&p).await, "identity_history");
    assert_eq!(history.len(), 2, "no new identity event");
    merge(s, &p, &other, 4).await;
    let after = must(store.apply(odd).await, "apply after merge");
    let survivor = ApplyOutcome::AlreadyApplied {
        person_id: other,
        events,
    };
    assert_eq!(
        after, survivor,
        "the surviving person, the events as raised"
    );
}

/// A change read at another version is refused with `VersionConflict` and writes nothing (the
/// message can still be applied at the right version).
pub async fn apply_checks_the_version(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p = new_person(s, "m1", 1, &[(NOMIS, "A")], &["k1"]).await;
    for stale in [0, 2] {
        let existing = PersonChoice::Existing(p.clone());
        let mut c = change_with("m2", 2, existing, stale, &[(NOMIS, "B")], &["k2"]);
        c.review = Some(super::review::grey_zone(&p));
        let err = refused(store.apply(c).await, "apply at a stale version");
        assert!(
            matches!(&err, StoreError::VersionConflict(id) if *id == p),
            "{err}"
        );
    }
    assert_eq!(version(s, &p).await, 1);
    assert_eq!(entry_ids(s, &p).await.len(), 1, "no entry");
    assert!(linked_to(s, &[(NOMIS, "B")]).await.is_empty(), "no link");
    assert!(found_under(s, &["k2"], 10).await.is_empty(), "no key");
    assert!(
        must(store.reviews(false, 10).await, "reviews").is_empty(),
        "no review"
    );
    update(s, &p, "m2", 2, &[(NOMIS, "B")], &["k2"]).await;
    assert_eq!(version(s, &p).await, 2);
}

/// An identifier linked to someone else fails the change with `ConflictingIdentity`, whether
/// the change creates a person or names one; nothing is written.
pub async fn apply_refuses_conflicting_identity(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p1 = new_person(s, "m1", 1, &[(NOMIS, "A")], &[]).await;
    let p2 = new_person(s, "m2", 2, &[(NOMIS, "B")], &[]).await;
    let c = change_with(
        "m3",
        3,
        PersonChoice::New,
        0,
        &[(NHS, "N"), (NOMIS, "A")],
        &["k"],
    );
    let err = refused(store.apply(c).await, "new person with a linked identifier");
    assert!(matches!(err, StoreError::ConflictingIdentity(_)), "{err}");
    let existing = PersonChoice::Existing(p2.clone());
    let c = change_with("m4", 4, existing, 1, &[(NOMIS, "B"), (NOMIS, "A")], &[]);
    let err = refused(
        store.apply(c).await,
        "existing person with another's identifier",
    );
    assert!(matches!(err, StoreError::ConflictingIdentity(_)), "{err}");
    let counts = must(store.counts().await, "counts");
    assert_eq!((counts.persons, counts.records), (2, 2), "nothing written");
    assert!(
        linked_to(s, &[(NHS, "N")]).await.is_empty(),
        "no partial link"
    );
    assert_eq!(version(s, &p2).await, 1);
    update(s, &p1, "m5", 5, &[(NOMIS, "A")], &[]).await;
}

/// `Existing` must name a known, active person.
pub async fn apply_refuses_unknown_and_merged_persons(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let unknown = PersonChoice::Existing("nobody".into());
    let err = refused(
        store.apply(change("m1", 1, unknown, 0)).await,
        "unknown person",
    );
    assert!(
        matches!(&err, StoreError::UnknownPerson(id) if id == "nobody"),
        "{err}"
    );
    let p1 = new_person(s, "m2", 2, &[], &[]).await;
    let p2 = new_person(s, "m3", 3, &[], &[]).await;
    merge(s, &p2, &p1, 4).await;
    let merged = PersonChoice::Existing(p2.clone());
    let err = refused(
        store.apply(change("m4", 5, merged, 1)).await,
        "merged person",
    );
    assert!(
        matches!(&err, StoreError::PersonNotActive(id) if *id == p2),
        "{err}"
    );
    assert_eq!(must(store.counts().await, "counts").records, 2);
}
