//! Merging persons: what moves, what is refused, whose history shows it.

use std::sync::Arc;

use super::fixtures::{
    NOMIS, at, change, entry_ids, found_under, kinds_of, linked_to, merge, merge_request, message,
    must, new_person, refused, update, version,
};
use crate::{
    ApplyOutcome, IdentityEventKind, PersonChoice, ReviewDecision, ReviewStatus, Store, StoreError,
};

/// Applies message `key` as a new person (identifier `value`, key `block`) with a review naming
/// `candidate`; (person, review id).
async fn reviewed(
    store: &dyn Store,
    key: &str,
    value: &str,
    block: &str,
    candidate: &str,
) -> (String, String) {
    let mut c = change(key, 2, PersonChoice::New, 0);
    c.identifiers = super::fixtures::ids(&[(NOMIS, value)]);
    c.block_keys = vec![block.to_owned()];
    c.review = Some(super::review::grey_zone(candidate));
    match must(store.apply(c).await, "apply with a review") {
        ApplyOutcome::Applied {
            person_id,
            review_id: Some(review),
            ..
        } => (person_id, review),
        other => panic!("expected Applied with a review, got {other:?}"),
    }
}

/// `from`'s links, entries, keys and demographics move to `into`; `from` is merged (kept);
/// `into`'s record is replaced (version + 1); the review is decided `same-person`; the merge
/// event is returned and recorded on both persons.
pub async fn merge_moves_links_entries_and_blocks(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p1 = new_person(s, "m1", 1, &[(NOMIS, "A")], &["k1"]).await;
    let (p2, review) = reviewed(s, "m2", "B", "k2", &p1).await;
    update(s, &p1, "m3", 3, &[], &[]).await;
    let mut request = merge_request(&p2, &p1, 10, (1, 2));
    request.review_id = Some(review.clone());
    let event = must(store.merge_persons(request.clone()).await, "merge_persons");
    assert_eq!(event.kind, IdentityEventKind::Merged);
    assert_eq!(
        (event.person_id.as_str(), event.other_person_id.as_deref()),
        (p1.as_str(), Some(p2.as_str()))
    );
    assert_eq!(
        event.reference.as_deref(),
        Some(review.as_str()),
        "the review it settles"
    );
    assert_eq!(
        (event.by.as_str(), event.reason.as_deref()),
        ("reviewer-1", Some(request.reason.as_str()))
    );
    let info = must(store.person(&p2).await, "person").unwrap_or_else(|| panic!("p2 was deleted"));
    assert_eq!(info.merged_into.as_deref(), Some(p1.as_str()));
    let active = must(store.person(&p1).await, "person").unwrap_or_else(|| panic!("p1"));
    assert_eq!(active.merged_into, None);
    assert_eq!(
        linked_to(s, &[(NOMIS, "A"), (NOMIS, "B")]).await,
        [("A".into(), p1.clone()), ("B".into(), p1.clone())]
    );
    assert_eq!(
        entry_ids(s, &p1).await,
        ["m1", "m2", "m3"].map(|m| message(m).as_str().to_owned())
    );
    assert!(entry_ids(s, &p2).await.is_empty(), "entries moved");
    let moved = must(store.entries(&p1).await, "entries");
    assert_eq!(
        (
            moved[1].person_id.as_str(),
            moved[1].origin_person_id.as_str()
        ),
        (p1.as_str(), p2.as_str())
    );
    assert_eq!(
        found_under(s, &["k2"], 10).await,
        [p1.as_str()],
        "keys moved"
    );
    let found = must(store.candidates(&["k2".into()], 10).await, "candidates");
    assert_eq!(found[0].demographics.len(), 3, "demographics moved");
    let record = must(store.person_record(&p1).await, "record").unwrap_or_else(|| panic!("p1"));
    assert_eq!(
        (record.version, record.record.expose()),
        (3, request.record.expose())
    );
    assert_eq!(
        version(s, &p2).await,
        1,
        "the merged person's record is kept as it was"
    );
    let decided = must(store.review(&review).await, "review").unwrap_or_else(|| panic!("review"));
    assert_eq!(
        (decided.status, decided.decided_by.as_deref()),
        (ReviewStatus::SamePerson, Some("reviewer-1"))
    );
    let latest = must(store.latest_bundle(&p1).await, "latest_bundle");
    assert!(latest.is_some_and(|b| b.expose().contains("m3")));
    let history = must(store.identity_history(&p2).await, "identity_history of p2");
    assert!(
        history.iter().any(|e| e.kind == IdentityEventKind::Merged
            && e.person_id == p2
            && e.other_person_id.as_deref() == Some(p1.as_str())),
        "the merged person's history shows it"
    );
}

/// Merging a person into itself, or into a person whose merge chain leads back to it, is a
/// `MergeCycle`; a merged person can be neither side (`PersonNotActive`); unknown persons are
/// `UnknownPerson`. A refused merge changes nothing.
pub async fn merge_refuses_cycles_and_inactive_persons(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let [p1, p2, p3] = [
        new_person(s, "m1", 1, &[], &[]).await,
        new_person(s, "m2", 2, &[], &[]).await,
        new_person(s, "m3", 3, &[], &[]).await,
    ];
    let cycle = |e: &StoreError| matches!(e, StoreError::MergeCycle(..));
    let err = refused(
        store
            .merge_persons(merge_request(&p1, &p1, 4, (1, 1)))
            .await,
        "into itself",
    );
    assert!(cycle(&err), "{err}");
    merge(s, &p2, &p1, 5).await;
    let err = refused(
        store
            .merge_persons(merge_request(&p1, &p2, 6, (2, 1)))
            .await,
        "back",
    );
    assert!(cycle(&err), "{err}");
    merge(s, &p1, &p3, 7).await;
    let err = refused(
        store
            .merge_persons(merge_request(&p3, &p2, 8, (2, 1)))
            .await,
        "chain",
    );
    assert!(cycle(&err), "a chain p2 → p1 → p3 leads back: {err}");
    let err = refused(
        store
            .merge_persons(merge_request(&p2, &p3, 8, (1, 2)))
            .await,
        "from merged",
    );
    assert!(
        matches!(&err, StoreError::PersonNotActive(id) if *id == p2),
        "{err}"
    );
    let p4 = new_person(s, "m4", 9, &[], &[]).await;
    let err = refused(
        store
            .merge_persons(merge_request(&p4, &p1, 10, (1, 2)))
            .await,
        "into merged",
    );
    assert!(
        matches!(&err, StoreError::PersonNotActive(id) if *id == p1),
        "{err}"
    );
    let err = refused(
        store
            .merge_persons(merge_request("nobody", &p4, 10, (0, 1)))
            .await,
        "unknown",
    );
    assert!(
        matches!(&err, StoreError::UnknownPerson(id) if id == "nobody"),
        "{err}"
    );
    let err = refused(
        store
            .merge_persons(merge_request(&p4, "nobody", 10, (1, 0)))
            .await,
        "unknown",
    );
    assert!(
        matches!(&err, StoreError::UnknownPerson(id) if id == "nobody"),
        "{err}"
    );
    assert_eq!(
        must(store.counts().await, "counts").persons,
        2,
        "p3 and p4 active"
    );
    assert_eq!(version(s, &p4).await, 1);
}

/// A merge read at other versions of either person is a `VersionConflict`; a review decided
/// `different-people` is refused, an unknown one is `UnknownReference`; nothing changes.
pub async fn merge_checks_versions_and_reviews(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p1 = new_person(s, "m1", 1, &[(NOMIS, "A")], &[]).await;
    let (p2, review) = reviewed(s, "m2", "B", "k2", &p1).await;
    let err = refused(
        store
            .merge_persons(merge_request(&p2, &p1, 3, (0, 1)))
            .await,
        "stale from",
    );
    assert!(
        matches!(&err, StoreError::VersionConflict(id) if *id == p2),
        "{err}"
    );
    let err = refused(
        store
            .merge_persons(merge_request(&p2, &p1, 3, (1, 0)))
            .await,
        "stale into",
    );
    assert!(
        matches!(&err, StoreError::VersionConflict(id) if *id == p1),
        "{err}"
    );
    let mut unknown = merge_request(&p2, &p1, 3, (1, 1));
    unknown.review_id = Some("nope".into());
    let err = refused(store.merge_persons(unknown).await, "unknown review");
    assert!(
        matches!(&err, StoreError::UnknownReference(r) if r == "nope"),
        "{err}"
    );
    let different = ReviewDecision {
        status: ReviewStatus::DifferentPeople,
        by: "r".into(),
        at: at(4),
    };
    must(store.decide_review(&review, different).await, "decide");
    let mut contradicting = merge_request(&p2, &p1, 5, (1, 1));
    contradicting.review_id = Some(review);
    let err = refused(
        store.merge_persons(contradicting).await,
        "review decided otherwise",
    );
    assert!(matches!(err, StoreError::Refused(_)), "{err}");
    assert_eq!(
        must(store.counts().await, "counts").persons,
        2,
        "both still active"
    );
    assert_eq!((version(s, &p1).await, version(s, &p2).await), (1, 1));
    assert_eq!(
        linked_to(s, &[(NOMIS, "B")]).await,
        [("B".into(), p2.clone())]
    );
}

/// A person's history includes, oldest first, the events of every person merged into it
/// (through chains), and the merge on both sides.
pub async fn identity_history_includes_merged_persons(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p1 = new_person(s, "m1", 1, &[(NOMIS, "A")], &[]).await;
    let p2 = new_person(s, "m2", 2, &[(NOMIS, "B")], &[]).await;
    let p3 = new_person(s, "m3", 3, &[(NOMIS, "C")], &[]).await;
    merge(s, &p3, &p2, 4).await;
    merge(s, &p2, &p1, 5).await;
    let history = must(store.identity_history(&p1).await, "identity_history");
    let (created, linked, merged) = (
        IdentityEventKind::Created,
        IdentityEventKind::Linked,
        IdentityEventKind::Merged,
    );
    assert_eq!(kinds_of(&history, &p1), [created, linked, merged]);
    assert_eq!(kinds_of(&history, &p2), [created, linked, merged, merged]);
    assert_eq!(kinds_of(&history, &p3), [created, linked, merged]);
    let times: Vec<_> = history
        .iter()
        .map(|e| {
            chrono::DateTime::parse_from_rfc3339(&e.at)
                .unwrap_or_else(|_| panic!("`at` is not RFC 3339"))
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert_eq!(times.last().copied(), Some(at(5).fixed_offset()));
    let of_p2 = must(store.identity_history(&p2).await, "identity_history of p2");
    assert!(
        kinds_of(&of_p2, &p1).is_empty(),
        "not the survivor's own events"
    );
    assert_eq!(kinds_of(&of_p2, &p3), [created, linked, merged]);
    assert!(must(store.identity_history("nobody").await, "history").is_empty());
}
