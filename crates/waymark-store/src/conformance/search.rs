//! The matcher's reads: candidates by blocking key, links by strong identifier.

use std::{collections::BTreeSet, sync::Arc};

use super::fixtures::{
    NHS, NOMIS, demographics_json, found_under, ids, linked_to, merge, must, new_person, update,
};
use crate::Store;

fn set(persons: &[&String]) -> BTreeSet<String> {
    persons.iter().map(|p| (*p).clone()).collect()
}

/// Distinct active persons under any of the keys, those under more of the keys first, at most
/// `limit`; merged persons are found as their survivor (keys move with merges), once; at most 5
/// demographics each, newest first; no keys or unknown keys find nobody.
pub async fn candidates_by_blocking_key(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p1 = new_person(s, "m1", 1, &[], &["a", "b", "common"]).await;
    let p2 = new_person(s, "m2", 2, &[], &["b", "c", "common"]).await;
    let p3 = new_person(s, "m3", 3, &[], &["c", "common"]).await;
    let found: BTreeSet<String> = found_under(s, &["b"], 10).await.into_iter().collect();
    assert_eq!(found, set(&[&p1, &p2]));
    assert_eq!(
        found_under(s, &["a", "b"], 10).await[0],
        p1,
        "most keys matched first"
    );
    assert_eq!(found_under(s, &["a", "b"], 1).await, [p1.as_str()], "limit");
    assert_eq!(
        found_under(s, &["b", "c"], 10).await[0],
        p2,
        "most keys matched first"
    );
    assert_eq!(found_under(s, &["common"], 2).await.len(), 2, "limit");
    assert_eq!(
        found_under(s, &["common", "common"], 10).await.len(),
        3,
        "distinct"
    );
    assert!(found_under(s, &["nope"], 10).await.is_empty());
    assert!(found_under(s, &[], 10).await.is_empty());
    assert!(found_under(s, &["common"], 0).await.is_empty(), "limit 0");
    merge(s, &p2, &p3, 4).await;
    let found: BTreeSet<String> = found_under(s, &["b"], 10).await.into_iter().collect();
    assert_eq!(
        found,
        set(&[&p1, &p3]),
        "the merged person's keys find the survivor"
    );
    assert_eq!(found_under(s, &["c"], 10).await, [p3.as_str()], "once");
    let common = found_under(s, &["common", "a", "b", "c"], 10).await;
    assert_eq!(common.len(), 2, "merged persons are never candidates");
    for n in 0..7 {
        update(s, &p1, &format!("u{n}"), 10 + n, &[], &[]).await;
    }
    let found = must(store.candidates(&["a".into()], 10).await, "candidates");
    let demographics: Vec<String> = found[0]
        .demographics
        .iter()
        .map(|d| d.expose().clone())
        .collect();
    let newest: Vec<String> = (2..7)
        .rev()
        .map(|n| demographics_json(&format!("u{n}")))
        .collect();
    assert_eq!(
        demographics, newest,
        "the 5 newest demographics, newest first"
    );
}

/// Each known identifier's link names its active person (with system and value as stored);
/// unknown identifiers are left out; after a merge the links name the survivor.
pub async fn find_by_identifiers_names_active_persons(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p1 = new_person(s, "m1", 1, &[(NOMIS, "A")], &[]).await;
    let p2 = new_person(s, "m2", 2, &[(NOMIS, "B"), (NHS, "N")], &[]).await;
    let asked = [
        (NOMIS, "A"),
        (NOMIS, "B"),
        (NHS, "N"),
        (NHS, "unknown"),
        (NHS, "A"),
    ];
    let expected = [
        ("A".into(), p1.clone()),
        ("B".into(), p2.clone()),
        ("N".into(), p2.clone()),
    ];
    assert_eq!(linked_to(s, &asked).await, expected);
    let links = must(store.find_by_identifiers(&ids(&[(NHS, "N")])).await, "find");
    assert_eq!(
        (links[0].system.as_str(), links[0].value.expose().as_str()),
        (NHS, "N")
    );
    assert!(must(store.find_by_identifiers(&[]).await, "find nothing").is_empty());
    merge(s, &p2, &p1, 3).await;
    let expected = [
        ("A".into(), p1.clone()),
        ("B".into(), p1.clone()),
        ("N".into(), p1.clone()),
    ];
    assert_eq!(
        linked_to(s, &asked).await,
        expected,
        "links follow the merge"
    );
}
