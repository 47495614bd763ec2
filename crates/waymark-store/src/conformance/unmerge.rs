//! Undoing merges: exactly what moved goes back; twice is refused.

use std::{collections::BTreeSet, sync::Arc};

use chrono::DateTime;
use waymark_core::Sensitive;

use super::fixtures::{
    NOMIS, at, entry_ids, found_under, kinds_of, linked_to, merge, message, must, new_person,
    refused, update, version,
};
use crate::{IdentityEventKind, PersonChoice, Store, StoreError, UnmergeRequest};

fn request(merge_id: &str, secs: i64, versions: (u64, u64)) -> UnmergeRequest {
    UnmergeRequest {
        merge_event_id: merge_id.to_owned(),
        by: "reviewer-2".into(),
        reason: "different dates of birth on the paper file".into(),
        at: at(secs),
        records: (
            Sensitive::new(r#"{"split":"from"}"#.into()),
            Sensitive::new(r#"{"split":"into"}"#.into()),
        ),
        expected_versions: versions,
    }
}

fn ids(keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| message(k).as_str().to_owned())
        .collect()
}

/// Unmerge moves back exactly the links, entries, keys and demographics that moved (what the
/// survivor gained after the merge stays), makes `from` active, stores both records (each at
/// its version plus one) and records `unmerged` on both; `from`'s history reads created,
/// linked, merged, unmerged.
pub async fn unmerge_restores_exactly(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p1 = new_person(s, "m1", 1, &[(NOMIS, "A")], &["k1"]).await;
    let p2 = new_person(s, "m2", 2, &[(NOMIS, "B")], &["k2"]).await;
    update(s, &p2, "m3", 3, &[], &["k3"]).await;
    let merged = merge(s, &p2, &p1, 10).await;
    update(s, &p1, "m4", 11, &[(NOMIS, "C")], &["k2"]).await;
    let event = must(
        store.unmerge(request(&merged.event_id, 12, (2, 3))).await,
        "unmerge",
    );
    assert_eq!(event.kind, IdentityEventKind::Unmerged);
    assert_eq!(
        (event.person_id.as_str(), event.other_person_id.as_deref()),
        (p1.as_str(), Some(p2.as_str()))
    );
    assert_eq!(
        event.reference.as_deref(),
        Some(merged.event_id.as_str()),
        "names the merge"
    );
    let info = must(store.person(&p2).await, "person").unwrap_or_else(|| panic!("p2"));
    assert_eq!(info.merged_into, None, "active again");
    assert_eq!(must(store.counts().await, "counts").persons, 2);
    let links = linked_to(s, &[(NOMIS, "A"), (NOMIS, "B"), (NOMIS, "C")]).await;
    assert_eq!(
        links,
        [
            ("A".into(), p1.clone()),
            ("B".into(), p2.clone()),
            ("C".into(), p1.clone())
        ]
    );
    assert_eq!(entry_ids(s, &p2).await, ids(&["m2", "m3"]));
    assert_eq!(
        entry_ids(s, &p1).await,
        ids(&["m1", "m4"]),
        "post-merge entries stay"
    );
    let entries = must(store.entries(&p2).await, "entries");
    assert!(
        entries
            .iter()
            .all(|e| e.person_id == p2 && e.origin_person_id == p2)
    );
    let under_k2: BTreeSet<String> = found_under(s, &["k2"], 10).await.into_iter().collect();
    assert_eq!(under_k2, [p1.clone(), p2.clone()].into(), "both keep k2");
    assert_eq!(found_under(s, &["k3"], 10).await, [p2.as_str()]);
    assert_eq!(found_under(s, &["k1"], 10).await, [p1.as_str()]);
    let found = must(store.candidates(&["k3".into()], 10).await, "candidates");
    let demographics: Vec<String> = found[0]
        .demographics
        .iter()
        .map(|d| d.expose().clone())
        .collect();
    assert_eq!(
        demographics,
        ["m3", "m2"].map(super::fixtures::demographics_json)
    );
    let from = must(store.person_record(&p2).await, "record").unwrap_or_else(|| panic!("p2"));
    assert_eq!(
        (from.version, from.record.expose().as_str()),
        (3, r#"{"split":"from"}"#)
    );
    let into = must(store.person_record(&p1).await, "record").unwrap_or_else(|| panic!("p1"));
    assert_eq!(
        (into.version, into.record.expose().as_str()),
        (4, r#"{"split":"into"}"#)
    );
    let (created, linked) = (IdentityEventKind::Created, IdentityEventKind::Linked);
    let (merged_kind, unmerged) = (IdentityEventKind::Merged, IdentityEventKind::Unmerged);
    let of_p2 = must(store.identity_history(&p2).await, "history of p2");
    assert_eq!(
        kinds_of(&of_p2, &p2),
        [created, linked, merged_kind, unmerged]
    );
    let of_p1 = must(store.identity_history(&p1).await, "history of p1");
    assert!(
        kinds_of(&of_p1, &p2).is_empty(),
        "no longer part of the survivor's history"
    );
    assert_eq!(
        kinds_of(&of_p1, &p1),
        [created, linked, merged_kind, linked, unmerged]
    );
    let last = DateTime::parse_from_rfc3339(&event.at).unwrap_or_else(|_| panic!("at"));
    assert_eq!(last, at(12).fixed_offset());
    update(s, &p2, "m5", 13, &[], &[]).await;
    assert_eq!(version(s, &p2).await, 4, "the person takes changes again");
}

/// Unmerge checks both versions; an unknown merge is `UnknownReference`; a merge undone before
/// is `Refused`; a merge whose survivor was merged since is `PersonNotActive` until that later
/// merge is undone.
pub async fn unmerge_refusals(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p1 = new_person(s, "m1", 1, &[(NOMIS, "A")], &[]).await;
    let p2 = new_person(s, "m2", 2, &[(NOMIS, "B")], &[]).await;
    let p3 = new_person(s, "m3", 3, &[(NOMIS, "C")], &[]).await;
    let first = merge(s, &p2, &p1, 4).await;
    let err = refused(
        store.unmerge(request(&first.event_id, 5, (0, 2))).await,
        "stale from",
    );
    assert!(
        matches!(&err, StoreError::VersionConflict(id) if *id == p2),
        "{err}"
    );
    let err = refused(
        store.unmerge(request(&first.event_id, 5, (1, 1))).await,
        "stale into",
    );
    assert!(
        matches!(&err, StoreError::VersionConflict(id) if *id == p1),
        "{err}"
    );
    let err = refused(
        store.unmerge(request("nope", 5, (1, 2))).await,
        "unknown merge",
    );
    assert!(
        matches!(&err, StoreError::UnknownReference(r) if r == "nope"),
        "{err}"
    );
    assert_eq!(
        linked_to(s, &[(NOMIS, "B")]).await,
        [("B".into(), p1.clone())],
        "unchanged"
    );
    must(
        store.unmerge(request(&first.event_id, 6, (1, 2))).await,
        "unmerge",
    );
    let err = refused(
        store.unmerge(request(&first.event_id, 7, (2, 3))).await,
        "twice",
    );
    assert!(matches!(err, StoreError::Refused(_)), "{err}");
    assert_eq!(version(s, &p2).await, 2, "the refused repeat wrote nothing");
    let again = merge(s, &p2, &p1, 8).await;
    let later = merge(s, &p1, &p3, 9).await;
    let err = refused(
        store.unmerge(request(&again.event_id, 10, (2, 4))).await,
        "survivor merged",
    );
    assert!(
        matches!(&err, StoreError::PersonNotActive(id) if *id == p1),
        "{err}"
    );
    must(
        store.unmerge(request(&later.event_id, 11, (4, 2))).await,
        "undo the later merge",
    );
    must(
        store.unmerge(request(&again.event_id, 12, (2, 5))).await,
        "then the earlier one",
    );
    let links = linked_to(s, &[(NOMIS, "A"), (NOMIS, "B"), (NOMIS, "C")]).await;
    assert_eq!(
        links,
        [
            ("A".into(), p1.clone()),
            ("B".into(), p2.clone()),
            ("C".into(), p3.clone())
        ]
    );
    let existing = PersonChoice::Existing(p2.clone());
    let c = super::fixtures::change("m9", 13, existing, 3);
    must(store.apply(c).await, "apply to the restored person");
}
