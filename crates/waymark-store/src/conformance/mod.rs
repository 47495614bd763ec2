//! The conformance suite every [`Store`] implementation must pass (feature `conformance`).
//!
//! Each check is a `pub async fn(Arc<dyn Store>)` that drives a **fresh, empty** store through
//! the promises of the trait and panics with a message naming the broken promise (ids and codes
//! only: the fixtures are synthetic, but the habit holds). [`store_conformance_tests!`] expands
//! to one `#[tokio::test]` per check, so a failure names its check:
//!
//! ```text
//! /// A fresh store, and whatever must outlive it (a temp dir, a scratch schema).
//! async fn fresh() -> (tempfile::TempDir, Arc<dyn Store>) { ... }
//! waymark_store::store_conformance_tests!(fresh);
//! ```
//!
//! `tests/it/conformance_sqlite.rs` runs the suite against [`SqliteStore`](crate::SqliteStore).

mod apply;
mod audit;
mod audit_batch;
mod concurrency;
mod consent;
mod fixtures;
mod merge;
mod numbers;
mod quarantine;
mod record;
mod review;
mod search;
mod subscription_events;
mod subscriptions;
mod unmerge;

pub use apply::{
    apply_checks_the_version, apply_creates_a_new_person, apply_is_idempotent,
    apply_refuses_conflicting_identity, apply_refuses_unknown_and_merged_persons,
    apply_updates_an_existing_person,
};
pub use audit::{
    AuditBackdoor, audit_append_verify_search, audit_concurrent_appends_keep_one_chain,
    audit_rows_are_append_only, audit_tampering_is_always_detected,
};
pub use audit_batch::{
    audit_batch_is_all_or_nothing, audit_batches_chain_in_order,
    audit_concurrent_batches_keep_one_chain,
};
pub use concurrency::{concurrent_applies_one_wins, concurrent_new_persons_share_no_identifier};
pub use consent::{
    consent_withdrawals_race_to_one_version, consents_put_current_withdraw,
    past_recipients_are_numbered_subscriptions,
};
pub use merge::{
    identity_history_includes_merged_persons, merge_checks_versions_and_reviews,
    merge_moves_links_entries_and_blocks, merge_refuses_cycles_and_inactive_persons,
};
pub use numbers::{
    event_numbers_are_stable_and_gap_free, event_numbers_batch_like_single_calls,
    event_numbers_batches_race_without_gaps, event_numbers_race_without_gaps,
};
pub use quarantine::{
    quarantine_is_idempotent, quarantine_reopens_after_resolve, redrive_pages_in_order,
};
pub use record::{
    counts_count_active_persons, latest_bundle_is_the_newest_entry,
    record_and_apply_share_messages, record_links_by_strong_identifiers,
};
pub use review::{apply_opens_a_review, reviews_are_decided_once};
pub use search::{candidates_by_blocking_key, find_by_identifiers_names_active_persons};
pub use subscription_events::{
    subscription_events_page_by_number, subscription_numbers_outlive_delete,
};
pub use subscriptions::{
    subscription_status_and_delete, subscription_updates_race_to_one_version,
    subscriptions_create_read_update_with_versions,
};
pub use unmerge::{unmerge_refusals, unmerge_restores_exactly};

/// One `#[tokio::test]` per conformance check. `$fresh` is an `async fn() -> (G, Arc<dyn
/// Store>)` returning a fresh, empty store and a guard `G` kept alive for the check. With
/// `audit = $fresh_audit` (an `async fn() -> (G, Arc<dyn AuditLog>, Arc<dyn AuditBackdoor>)`),
/// the audit checks too.
#[macro_export]
macro_rules! store_conformance_tests {
    ($fresh:path, audit = $fresh_audit:path) => {
        $crate::store_conformance_tests!($fresh);
        $crate::store_conformance_tests!(@audit $fresh_audit;
            audit_append_verify_search,
            audit_concurrent_appends_keep_one_chain,
            audit_rows_are_append_only,
            audit_tampering_is_always_detected,
            audit_batches_chain_in_order,
            audit_batch_is_all_or_nothing,
            audit_concurrent_batches_keep_one_chain,
        );
    };
    (@audit $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (_guard, log, door) = $fresh().await;
                $crate::conformance::$check(log, door).await;
            }
        )*
    };
    ($fresh:path) => {
        $crate::store_conformance_tests!(@each $fresh;
            quarantine_is_idempotent,
            quarantine_reopens_after_resolve,
            redrive_pages_in_order,
            event_numbers_are_stable_and_gap_free,
            event_numbers_race_without_gaps,
            event_numbers_batch_like_single_calls,
            event_numbers_batches_race_without_gaps,
            consents_put_current_withdraw,
            consent_withdrawals_race_to_one_version,
            past_recipients_are_numbered_subscriptions,
            record_links_by_strong_identifiers,
            record_and_apply_share_messages,
            latest_bundle_is_the_newest_entry,
            counts_count_active_persons,
            apply_creates_a_new_person,
            apply_updates_an_existing_person,
            apply_is_idempotent,
            apply_checks_the_version,
            apply_refuses_conflicting_identity,
            apply_refuses_unknown_and_merged_persons,
            concurrent_applies_one_wins,
            concurrent_new_persons_share_no_identifier,
            candidates_by_blocking_key,
            find_by_identifiers_names_active_persons,
            apply_opens_a_review,
            reviews_are_decided_once,
            merge_moves_links_entries_and_blocks,
            merge_refuses_cycles_and_inactive_persons,
            merge_checks_versions_and_reviews,
            identity_history_includes_merged_persons,
            unmerge_restores_exactly,
            unmerge_refusals,
            subscriptions_create_read_update_with_versions,
            subscription_status_and_delete,
            subscription_updates_race_to_one_version,
            subscription_events_page_by_number,
            subscription_numbers_outlive_delete,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (_guard, store) = $fresh().await;
                $crate::conformance::$check(store).await;
            }
        )*
    };
}
