//! Codecs between stored text and model values, the same in both stores: times, counts,
//! review statuses and candidates, identity event kinds.

use chrono::{DateTime, Utc};

use crate::{IdentityEventKind, ReviewCandidate, ReviewStatus, StoreError};

/// The columns of a review item, in the order both stores decode them.
pub(crate) const REVIEW_COLUMNS: &str = "review_id, message_id, person_id, reason, candidates, \
     status, opened_at, decided_by, decided_at";

/// How a time is written where the model holds text: RFC 3339 (both stores answer alike).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// A stored RFC 3339 time.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Backend(format!("stored time is not RFC 3339: {e}")))
}

/// A stored count or version (never negative).
pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A version, number or limit to bind (saturating; versions never reach `i64::MAX`).
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn status_text(status: ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::Open => "open",
        ReviewStatus::SamePerson => "same-person",
        ReviewStatus::DifferentPeople => "different-people",
    }
}

pub(crate) fn status_from(text: &str) -> Result<ReviewStatus, StoreError> {
    match text {
        "open" => Ok(ReviewStatus::Open),
        "same-person" => Ok(ReviewStatus::SamePerson),
        "different-people" => Ok(ReviewStatus::DifferentPeople),
        other => Err(StoreError::Backend(format!(
            "unknown review status `{other}`"
        ))),
    }
}

/// Review candidates as stored (`ReviewCandidate` JSON).
pub(crate) fn candidates_text(candidates: &[ReviewCandidate]) -> Result<String, StoreError> {
    serde_json::to_string(candidates)
        .map_err(|_| StoreError::Backend("review candidates cannot be written".to_owned()))
}

/// Candidates as stored (`ReviewCandidate` JSON); the breakdown holds field names and numbers.
pub(crate) fn candidates_from(text: &str) -> Result<Vec<ReviewCandidate>, StoreError> {
    let bad = |what: &str| StoreError::Backend(format!("stored review candidates: {what}"));
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad("not JSON"))?;
    let items = value.as_array().ok_or_else(|| bad("not a list"))?;
    items
        .iter()
        .map(|c| {
            Ok(ReviewCandidate {
                person_id: c["person_id"]
                    .as_str()
                    .ok_or_else(|| bad("person"))?
                    .to_owned(),
                score: c["score"].as_f64().unwrap_or(f64::NAN),
                breakdown: c["breakdown"].clone(),
            })
        })
        .collect()
}

pub(crate) fn kind_text(kind: IdentityEventKind) -> &'static str {
    match kind {
        IdentityEventKind::Created => "created",
        IdentityEventKind::Linked => "linked",
        IdentityEventKind::Merged => "merged",
        IdentityEventKind::Unmerged => "unmerged",
        IdentityEventKind::ReviewDecided => "review-decided",
    }
}

pub(crate) fn kind_from(text: &str) -> Result<IdentityEventKind, StoreError> {
    Ok(match text {
        "created" => IdentityEventKind::Created,
        "linked" => IdentityEventKind::Linked,
        "merged" => IdentityEventKind::Merged,
        "unmerged" => IdentityEventKind::Unmerged,
        "review-decided" => IdentityEventKind::ReviewDecided,
        other => {
            return Err(StoreError::Backend(format!(
                "unknown identity event kind `{other}`"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in [
            ReviewStatus::Open,
            ReviewStatus::SamePerson,
            ReviewStatus::DifferentPeople,
        ] {
            assert_eq!(status_from(status_text(s)).ok(), Some(s));
        }
        for k in [
            IdentityEventKind::Created,
            IdentityEventKind::Linked,
            IdentityEventKind::Merged,
            IdentityEventKind::Unmerged,
            IdentityEventKind::ReviewDecided,
        ] {
            assert_eq!(kind_from(kind_text(k)).ok(), Some(k));
        }
        assert!(status_from("maybe").is_err());
        assert!(kind_from("split").is_err());
    }

    #[test]
    fn candidates_round_trip() {
        let c = vec![ReviewCandidate {
            person_id: "p1".to_owned(),
            score: 0.5,
            breakdown: serde_json::json!({"family": 1.0}),
        }];
        let text = candidates_text(&c).expect("written");
        let back = candidates_from(&text).expect("read");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].person_id, "p1");
        assert!((back[0].score - 0.5).abs() < f64::EPSILON);
        assert_eq!(back[0].breakdown, c[0].breakdown);
        assert!(candidates_from("{}").is_err());
    }
}
