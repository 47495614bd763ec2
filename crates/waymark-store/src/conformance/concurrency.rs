//! Races: concurrent changes of one person, concurrent creations with one identifier.

use std::sync::Arc;

use super::fixtures::{NOMIS, change, change_with, entry_ids, must, new_person, version};
use crate::{ApplyOutcome, PersonChoice, Store, StoreError};

/// Two tasks applying changes to one person at the same version: exactly one wins, the other
/// gets `VersionConflict` (repeated, so a lucky interleaving does not hide a race).
pub async fn concurrent_applies_one_wins(store: Arc<dyn Store>) {
    let p = new_person(store.as_ref(), "m0", 0, &[], &[]).await;
    const ROUNDS: u64 = 8;
    for round in 0..ROUNDS {
        let v = version(store.as_ref(), &p).await;
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|side| {
                let (store, p) = (store.clone(), p.clone());
                let key = format!("m{round}{side}");
                let secs = i64::try_from(round).unwrap_or(0) + 1;
                tokio::spawn(async move {
                    store
                        .apply(change(&key, secs, PersonChoice::Existing(p), v))
                        .await
                })
            })
            .collect();
        let (mut won, mut lost) = (0, 0);
        for task in tasks {
            match must(task.await, "apply task") {
                Ok(ApplyOutcome::Applied { .. }) => won += 1,
                Err(StoreError::VersionConflict(_)) => lost += 1,
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(
            (won, lost),
            (1, 1),
            "round {round}: one must win, one must conflict"
        );
    }
    assert_eq!(version(store.as_ref(), &p).await, 1 + ROUNDS);
    assert_eq!(
        entry_ids(store.as_ref(), &p).await.len(),
        1 + ROUNDS as usize
    );
}

/// Two tasks creating a person with the same identifier: one creates it, the other gets
/// `ConflictingIdentity`.
pub async fn concurrent_new_persons_share_no_identifier(store: Arc<dyn Store>) {
    for round in 0..6 {
        let value = format!("A{round}");
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|side| {
                let (store, value) = (store.clone(), value.clone());
                tokio::spawn(async move {
                    let c = change_with(
                        &format!("m{round}{side}"),
                        round,
                        PersonChoice::New,
                        0,
                        &[(NOMIS, value.as_str())],
                        &[],
                    );
                    store.apply(c).await
                })
            })
            .collect();
        let (mut won, mut lost) = (0, 0);
        for task in tasks {
            match must(task.await, "apply task") {
                Ok(ApplyOutcome::Applied {
                    new_person: true, ..
                }) => won += 1,
                Err(StoreError::ConflictingIdentity(_)) => lost += 1,
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(
            (won, lost),
            (1, 1),
            "round {round}: one person per identifier"
        );
    }
    assert_eq!(must(store.counts().await, "counts").persons, 6);
}
