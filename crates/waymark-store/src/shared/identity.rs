//! Identity logic both stores share once the rows are read: derived ids, the identity and
//! pathway events a change writes, review decisions and person states, the candidate search's
//! limits and its grouping of rows.

use chrono::{DateTime, Utc};
use waymark_core::{MessageId, Sensitive};

use super::codec::{status_text, ts};
use crate::{
    Candidate, IdentityEvent, IdentityEventKind, MergeRequest, NewEvent, NewRecord, PathwayEvent,
    RecordChange, Review, ReviewStatus, StoreError, UnmergeRequest,
};

/// Who the record stage's identity events are by.
pub(crate) const RECORD_STAGE: &str = "record-stage";

/// Longest merge chain followed (looking for a cycle or a survivor), so a corrupt cycle cannot
/// loop.
pub(crate) const MAX_CHAIN: usize = 64;

/// A table whose rows belong to a person and move with merges: `(kind, table, key columns)`.
pub(crate) const MOVED: [(&str, &str, &str, &str); 4] = [
    ("link", "identity_link", "system", "value"),
    ("entry", "record_entry", "message_id", "''"),
    ("demographics", "person_demographics", "message_id", "''"),
    ("block", "person_block", "block_key", "origin_person_id"),
];

/// Demographics returned per candidate, newest first.
pub(crate) const DEMOGRAPHICS_PER_CANDIDATE: u32 = 5;
/// Distinct keys one search looks at (also keeps SQLite's bound parameters well under 32,766).
pub(crate) const MAX_KEYS: usize = 1_000;
/// Most candidates one search returns.
pub(crate) const MAX_CANDIDATES: u32 = 10_000;

/// A fresh random id (persons, reviews, merges): it cannot be turned back into the identifier
/// that caused it.
pub(crate) fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `UnknownPerson` or `PersonNotActive` unless the person's state (`None` when unknown, else
/// `Some(merged_into)`) is active.
pub(crate) fn require_active(
    person_id: &str,
    state: Option<&Option<String>>,
) -> Result<(), StoreError> {
    match state {
        None => Err(StoreError::UnknownPerson(person_id.to_owned())),
        Some(Some(_)) => Err(StoreError::PersonNotActive(person_id.to_owned())),
        Some(None) => Ok(()),
    }
}

/// The error when a merge chain does not end within [`MAX_CHAIN`].
pub(crate) fn endless_chain(person_id: &str) -> StoreError {
    StoreError::Backend(format!("merge chain of person `{person_id}` does not end"))
}

/// The blocking keys a search looks at: sorted, each once, at most [`MAX_KEYS`].
pub(crate) fn search_keys(keys: &[String]) -> Vec<&str> {
    let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.truncate(MAX_KEYS);
    keys
}

/// Candidates from `(person id, demographics)` rows ordered by person: one per person, with
/// its demographics in row order (none for a `NULL`).
pub(crate) fn group_candidates(
    rows: impl IntoIterator<Item = (String, Option<String>)>,
) -> Vec<Candidate> {
    let mut found: Vec<Candidate> = Vec::new();
    for (person_id, demographics) in rows {
        if found.last().is_none_or(|c| c.person_id != person_id) {
            found.push(Candidate {
                person_id,
                demographics: Vec::new(),
            });
        }
        if let (Some(d), Some(last)) = (demographics, found.last_mut()) {
            last.demographics.push(Sensitive::new(d));
        }
    }
    found
}

/// The one person every strong identifier points at so far: `found` joined with the person of
/// the next identifier; `ConflictingIdentity` when they differ.
pub(crate) fn same_person(
    found: Option<String>,
    next: Option<String>,
    message_id: &MessageId,
) -> Result<Option<String>, StoreError> {
    match (found, next) {
        (Some(a), Some(b)) if a != b => Err(StoreError::ConflictingIdentity(message_id.clone())),
        (None, b) => Ok(b),
        (a, _) => Ok(a),
    }
}

/// The pathway events of `message_id` on the person, in order, with ids
/// `message_id.child("event/<i>")`.
pub(crate) fn pathway_events(
    message_id: &MessageId,
    person_id: &str,
    events: &[NewEvent],
) -> Vec<PathwayEvent> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| PathwayEvent {
            event_id: message_id.child(&format!("event/{i}")),
            person_id: person_id.to_owned(),
            topic: e.topic.clone(),
            event_time: e.event_time,
        })
        .collect()
}

/// The one pathway event of `Store::record` (id `message_id.child("event")`).
pub(crate) fn record_event(record: &NewRecord, person_id: String) -> PathwayEvent {
    PathwayEvent {
        event_id: record.message_id.child("event"),
        person_id,
        topic: record.topic.clone(),
        event_time: record.event_time.unwrap_or(record.recorded_at),
    }
}

/// An identity event of the record stage, with an id derived from the message.
pub(crate) fn stage_event(
    change: &RecordChange,
    person_id: &str,
    kind: IdentityEventKind,
    step: &str,
) -> IdentityEvent {
    IdentityEvent {
        event_id: change.message_id.child(step).as_str().to_owned(),
        kind,
        person_id: person_id.to_owned(),
        other_person_id: None,
        reference: Some(change.message_id.as_str().to_owned()),
        by: RECORD_STAGE.to_owned(),
        reason: None,
        at: ts(change.recorded_at),
    }
}

/// Refuses `open` as a decision.
pub(crate) fn check_decision(status: ReviewStatus) -> Result<(), StoreError> {
    if status == ReviewStatus::Open {
        return Err(StoreError::Refused(
            "a review is decided as same or different people",
        ));
    }
    Ok(())
}

/// Whether an item at `current` still takes the decision `status`: false when it was decided
/// so before (the same decision again), refused when it was decided otherwise.
pub(crate) fn needs_deciding(
    current: ReviewStatus,
    status: ReviewStatus,
) -> Result<bool, StoreError> {
    if current == status {
        return Ok(false);
    }
    if current != ReviewStatus::Open {
        return Err(StoreError::Refused("the review was decided otherwise"));
    }
    Ok(true)
}

/// The `review-decided` identity event of a decision, on the review's person.
pub(crate) fn decided_event(
    review: &Review,
    status: ReviewStatus,
    by: &str,
    at: DateTime<Utc>,
) -> IdentityEvent {
    IdentityEvent {
        event_id: format!("{}/decided", review.review_id),
        kind: IdentityEventKind::ReviewDecided,
        person_id: review.person_id.clone(),
        other_person_id: None,
        reference: Some(review.review_id.clone()),
        by: by.to_owned(),
        reason: Some(status_text(status).to_owned()),
        at: ts(at),
    }
}

/// The review as decided.
pub(crate) fn decided(review: Review, status: ReviewStatus, by: &str, at: DateTime<Utc>) -> Review {
    Review {
        status,
        decided_by: Some(by.to_owned()),
        decided_at: Some(ts(at)),
        ..review
    }
}

/// The `merged` identity event of a merge (id: the merge id), on the survivor.
pub(crate) fn merged_event(m: &MergeRequest, merge_id: String) -> IdentityEvent {
    IdentityEvent {
        event_id: merge_id,
        kind: IdentityEventKind::Merged,
        person_id: m.into.clone(),
        other_person_id: Some(m.from.clone()),
        reference: m.review_id.clone(),
        by: m.by.clone(),
        reason: Some(m.reason.clone()),
        at: ts(m.at),
    }
}

/// The `unmerged` identity event of undoing the merge `from` → `into` (random id), on `into`.
pub(crate) fn unmerged_event(u: &UnmergeRequest, from: &str, into: &str) -> IdentityEvent {
    IdentityEvent {
        event_id: random_id(),
        kind: IdentityEventKind::Unmerged,
        person_id: into.to_owned(),
        other_person_id: Some(from.to_owned()),
        reference: Some(u.merge_event_id.clone()),
        by: u.by.clone(),
        reason: Some(u.reason.clone()),
        at: ts(u.at),
    }
}

/// The mirror of a merge or unmerge event on the other person (id `<event id>/from`).
pub(crate) fn mirror(event: &IdentityEvent, other: &str) -> IdentityEvent {
    IdentityEvent {
        event_id: format!("{}/from", event.event_id),
        person_id: other.to_owned(),
        other_person_id: Some(event.person_id.clone()),
        ..event.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_grouped_by_person_in_row_order() {
        let rows = [
            ("a".to_owned(), Some("1".to_owned())),
            ("a".to_owned(), Some("2".to_owned())),
            ("b".to_owned(), None),
        ];
        let found = group_candidates(rows);
        let shape: Vec<(&str, Vec<&String>)> = found
            .iter()
            .map(|c| {
                let d = c.demographics.iter().map(Sensitive::expose).collect();
                (c.person_id.as_str(), d)
            })
            .collect();
        assert_eq!(
            shape,
            vec![("a", vec![&"1".to_owned(), &"2".to_owned()]), ("b", vec![])]
        );
    }

    #[test]
    fn identifiers_must_agree_on_one_person() {
        let m = MessageId::from_stored("m");
        let a = Some("a".to_owned());
        assert_eq!(same_person(None, a.clone(), &m).ok(), Some(a.clone()));
        assert_eq!(same_person(a.clone(), None, &m).ok(), Some(a.clone()));
        assert_eq!(same_person(a.clone(), a.clone(), &m).ok(), Some(a.clone()));
        assert!(same_person(a, Some("b".to_owned()), &m).is_err());
    }

    #[test]
    fn decisions() {
        use ReviewStatus::{DifferentPeople, Open, SamePerson};
        assert!(check_decision(Open).is_err());
        assert!(check_decision(SamePerson).is_ok());
        assert_eq!(needs_deciding(Open, SamePerson).ok(), Some(true));
        assert_eq!(needs_deciding(SamePerson, SamePerson).ok(), Some(false));
        assert!(needs_deciding(DifferentPeople, SamePerson).is_err());
    }

    #[test]
    fn keys_are_sorted_once_and_bounded() {
        let keys: Vec<String> = ["b", "a", "b"].iter().map(|k| (*k).to_owned()).collect();
        assert_eq!(search_keys(&keys), vec!["a", "b"]);
        let many: Vec<String> = (0..MAX_KEYS + 5).map(|i| i.to_string()).collect();
        assert_eq!(search_keys(&many).len(), MAX_KEYS);
    }
}
