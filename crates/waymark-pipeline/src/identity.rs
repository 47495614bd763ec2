//! The identity desk: what a human's decision on the review queue does. Merging two persons
//! recomputes the survivor's record from both persons' entries (the merge is order-independent,
//! so the result is what it would have been had the records been linked from the start);
//! undoing a merge recomputes both. The store applies each decision in one transaction and
//! keeps the history.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use waymark_core::{Sensitive, SourceSystem};
use waymark_record::{Entry, PersonRecord, RecordConfig};
use waymark_store::{
    IdentityEvent, IdentityEventKind, MergeRequest, NewEvent, Review, ReviewDecision, ReviewStatus,
    Store, StoreError, StoredEntry, UnmergeRequest,
};

/// Attempts when a record changes under a decision (the record stage is still applying).
const ATTEMPTS: u32 = 5;

/// Who decided and why (the user id comes from the authenticated principal).
#[derive(Clone, Debug)]
pub struct Decider {
    /// The user id (never patient data).
    pub by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Human decisions on identity.
#[derive(Clone)]
pub struct IdentityDesk {
    store: Arc<dyn Store>,
    config: RecordConfig,
}

impl IdentityDesk {
    /// A desk over the store, with the default record settings (the record stage's).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            config: RecordConfig::default(),
        }
    }

    /// The same desk with record settings of its own.
    pub fn with_config(mut self, config: RecordConfig) -> Self {
        self.config = config;
        self
    }

    /// Decides a review item. `same_as`: the candidate the review's person is the same as
    /// (merged into it); `None`: different people.
    pub async fn decide(
        &self,
        review_id: &str,
        same_as: Option<&str>,
        decider: &Decider,
    ) -> Result<(Review, Option<IdentityEvent>), StoreError> {
        let review = self
            .store
            .review(review_id)
            .await?
            .ok_or_else(|| StoreError::UnknownReference(review_id.to_owned()))?;
        if let Some(into) = same_as
            && !review.candidates.iter().any(|c| c.person_id == into)
        {
            return Err(StoreError::Refused(
                "the person is not a candidate of this review",
            ));
        }
        let status = match same_as {
            Some(_) => ReviewStatus::SamePerson,
            None => ReviewStatus::DifferentPeople,
        };
        let decision = ReviewDecision {
            status,
            by: decider.by.clone(),
            at: decider.at,
        };
        let decided = self.store.decide_review(review_id, decision).await?;
        let merged = match same_as {
            Some(into) => Some(
                self.merge(&review.person_id, into, Some(review_id), decider)
                    .await?,
            ),
            None => None,
        };
        Ok((decided, merged))
    }

    /// Merges `from` into `into`.
    pub async fn merge(
        &self,
        from: &str,
        into: &str,
        review_id: Option<&str>,
        decider: &Decider,
    ) -> Result<IdentityEvent, StoreError> {
        for _ in 0..ATTEMPTS {
            let versions = (self.version(from).await?, self.version(into).await?);
            let mut entries = self.store.entries(from).await?;
            entries.extend(self.store.entries(into).await?);
            let record = self.recompute(&entries)?;
            let request = MergeRequest {
                from: from.to_owned(),
                into: into.to_owned(),
                by: decider.by.clone(),
                reason: decider.reason.clone(),
                at: decider.at,
                review_id: review_id.map(str::to_owned),
                record,
                expected_versions: versions,
                events: vec![updated(decider.at, "merge")],
            };
            match self.store.merge_persons(request).await {
                Err(StoreError::VersionConflict(_)) => continue,
                other => return other,
            }
        }
        Err(StoreError::VersionConflict(into.to_owned()))
    }

    /// Undoes the merge `merge_event_id` recorded in `into`'s history.
    pub async fn unmerge(
        &self,
        into: &str,
        merge_event_id: &str,
        decider: &Decider,
    ) -> Result<IdentityEvent, StoreError> {
        let from = self.merged_person(into, merge_event_id).await?;
        for _ in 0..ATTEMPTS {
            let versions = (self.version(&from).await?, self.version(into).await?);
            let (back, stay): (Vec<StoredEntry>, Vec<StoredEntry>) = self
                .store
                .entries(into)
                .await?
                .into_iter()
                .partition(|e| e.origin_person_id == from);
            let request = UnmergeRequest {
                merge_event_id: merge_event_id.to_owned(),
                by: decider.by.clone(),
                reason: decider.reason.clone(),
                at: decider.at,
                records: (self.recompute(&back)?, self.recompute(&stay)?),
                expected_versions: versions,
            };
            match self.store.unmerge(request).await {
                Err(StoreError::VersionConflict(_)) => continue,
                other => return other,
            }
        }
        Err(StoreError::VersionConflict(into.to_owned()))
    }

    /// The person merged into `into` by the merge event.
    async fn merged_person(&self, into: &str, merge_event_id: &str) -> Result<String, StoreError> {
        self.store
            .identity_history(into)
            .await?
            .into_iter()
            .find(|e| e.event_id == merge_event_id && e.kind == IdentityEventKind::Merged)
            .and_then(|e| e.other_person_id)
            .ok_or_else(|| StoreError::UnknownReference(merge_event_id.to_owned()))
    }

    async fn version(&self, person_id: &str) -> Result<u64, StoreError> {
        Ok(self
            .store
            .person_record(person_id)
            .await?
            .map_or(0, |r| r.version))
    }

    /// The record of `entries`, whatever their order.
    fn recompute(&self, entries: &[StoredEntry]) -> Result<Sensitive<String>, StoreError> {
        let bundles: Vec<(Value, &StoredEntry)> = entries
            .iter()
            .map(|e| {
                serde_json::from_str(e.bundle.expose())
                    .map(|b| (b, e))
                    .map_err(|_| StoreError::Backend("a stored bundle does not parse".to_owned()))
            })
            .collect::<Result<_, _>>()?;
        let entries: Vec<Entry<'_>> = bundles
            .iter()
            .map(|(bundle, e)| {
                let source = e.source.parse::<SourceSystem>().map_err(|_| {
                    StoreError::Backend("a stored entry names an unknown source".to_owned())
                })?;
                Ok(Entry {
                    message_id: e.message_id.clone(),
                    source,
                    event_time: e.event_time.unwrap_or(e.recorded_at),
                    recorded_at: e.recorded_at,
                    bundle,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let record = PersonRecord::from_entries(self.config.clone(), entries.iter());
        serde_json::to_string(&record)
            .map(Sensitive::new)
            .map_err(|e| StoreError::Backend(format!("record does not serialise: {e}")))
    }
}

/// The `record.updated` event a merge raises on the survivor.
fn updated(at: DateTime<Utc>, cause: &str) -> NewEvent {
    NewEvent {
        topic: crate::EVERY_CHANGE.to_owned(),
        event_time: at,
        detail: json!({ "cause": cause }),
    }
}
