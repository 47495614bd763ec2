//! Review items: opened with a change, listed oldest first, decided once.

use std::sync::Arc;

use serde_json::json;

use super::fixtures::{at, change, must, new_person, refused};
use crate::{
    ApplyOutcome, IdentityEventKind, NewReview, PersonChoice, ReviewCandidate, ReviewDecision,
    ReviewStatus, Store, StoreError,
};

/// A grey-zone review naming `candidate`.
pub(super) fn grey_zone(candidate: &str) -> NewReview {
    NewReview {
        reason: "identity.grey-zone".into(),
        candidates: vec![ReviewCandidate {
            person_id: candidate.to_owned(),
            score: 0.875,
            breakdown: json!({"family": 0.25, "birth-date": 0.5}),
        }],
    }
}

/// Applies message `key` as a new person with a review naming `candidate`; (person, review).
async fn with_review(store: &dyn Store, key: &str, secs: i64, candidate: &str) -> (String, String) {
    let mut c = change(key, secs, PersonChoice::New, 0);
    c.review = Some(grey_zone(candidate));
    match must(store.apply(c).await, "apply with a review") {
        ApplyOutcome::Applied {
            person_id,
            review_id: Some(review),
            ..
        } => (person_id, review),
        other => panic!("expected Applied with a review, got {other:?}"),
    }
}

fn decision(status: ReviewStatus, secs: i64) -> ReviewDecision {
    ReviewDecision {
        status,
        by: "reviewer-1".into(),
        at: at(secs),
    }
}

fn same_time(text: Option<&str>, secs: i64) -> bool {
    text.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) == Some(at(secs).into())
}

/// A change with a review opens it (random id): the message, the person the change was applied
/// to, reason, candidates (score and breakdown as given), `open`, opened at the recorded time.
pub async fn apply_opens_a_review(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p1 = new_person(s, "m1", 1, &[], &[]).await;
    let (p2, id) = with_review(s, "m2", 2, &p1).await;
    let review = must(store.review(&id).await, "review").unwrap_or_else(|| panic!("no review"));
    assert_eq!(review.review_id, id);
    assert_eq!(review.message_id, super::fixtures::message("m2").as_str());
    assert_eq!(
        (review.person_id.as_str(), review.reason.as_str()),
        (p2.as_str(), "identity.grey-zone")
    );
    assert_eq!(review.status, ReviewStatus::Open);
    assert!(
        same_time(Some(&review.opened_at), 2),
        "opened at the recorded time"
    );
    assert!(review.decided_by.is_none() && review.decided_at.is_none());
    assert_eq!(review.candidates.len(), 1);
    let c = &review.candidates[0];
    assert_eq!((c.person_id.as_str(), c.score), (p1.as_str(), 0.875));
    assert_eq!(c.breakdown, json!({"family": 0.25, "birth-date": 0.5}));
    let open = must(store.reviews(true, 10).await, "reviews");
    assert_eq!(
        open.iter()
            .map(|r| r.review_id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );
    assert!(must(store.review("nope").await, "review").is_none());
}

/// Reviews list oldest first (open only when asked); a decision is recorded once (with a
/// `review-decided` identity event); the same decision again returns the item unchanged; a
/// different one, or `open`, is refused; unknown items are `UnknownReference`.
pub async fn reviews_are_decided_once(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let p0 = new_person(s, "m0", 0, &[], &[]).await;
    let (p1, r1) = with_review(s, "m1", 2, &p0).await;
    let (_p2, r2) = with_review(s, "m2", 3, &p0).await;
    let ids = |reviews: Vec<crate::Review>| -> Vec<String> {
        reviews.into_iter().map(|r| r.review_id).collect()
    };
    assert_eq!(
        ids(must(store.reviews(true, 10).await, "reviews")),
        [r1.clone(), r2.clone()]
    );
    assert_eq!(
        ids(must(store.reviews(true, 1).await, "reviews")),
        [r1.as_str()],
        "limit"
    );
    let decided = must(
        store
            .decide_review(&r1, decision(ReviewStatus::DifferentPeople, 10))
            .await,
        "decide",
    );
    assert_eq!(decided.status, ReviewStatus::DifferentPeople);
    assert_eq!(decided.decided_by.as_deref(), Some("reviewer-1"));
    assert!(same_time(decided.decided_at.as_deref(), 10));
    let again = must(
        store
            .decide_review(&r1, decision(ReviewStatus::DifferentPeople, 11))
            .await,
        "decide again",
    );
    assert!(
        same_time(again.decided_at.as_deref(), 10),
        "unchanged by a repeat"
    );
    let err = refused(
        store
            .decide_review(&r1, decision(ReviewStatus::SamePerson, 12))
            .await,
        "a contradicting decision",
    );
    assert!(matches!(err, StoreError::Refused(_)), "{err}");
    let err = refused(
        store
            .decide_review(&r2, decision(ReviewStatus::Open, 12))
            .await,
        "open",
    );
    assert!(matches!(err, StoreError::Refused(_)), "{err}");
    let err = refused(
        store
            .decide_review("nope", decision(ReviewStatus::SamePerson, 12))
            .await,
        "unknown review",
    );
    assert!(
        matches!(&err, StoreError::UnknownReference(r) if r == "nope"),
        "{err}"
    );
    let stored = must(store.review(&r1).await, "review").unwrap_or_else(|| panic!("r1"));
    assert_eq!(stored.status, ReviewStatus::DifferentPeople, "kept");
    assert_eq!(
        ids(must(store.reviews(true, 10).await, "reviews")),
        [r2.as_str()]
    );
    assert_eq!(
        ids(must(store.reviews(false, 10).await, "reviews")),
        [r1.clone(), r2]
    );
    let history = must(store.identity_history(&p1).await, "identity_history");
    let decided = history
        .iter()
        .filter(|e| e.kind == IdentityEventKind::ReviewDecided);
    let decided: Vec<_> = decided.collect();
    assert_eq!(decided.len(), 1, "one review-decided event");
    assert_eq!(decided[0].reference.as_deref(), Some(r1.as_str()));
    assert_eq!(decided[0].by, "reviewer-1");
}
