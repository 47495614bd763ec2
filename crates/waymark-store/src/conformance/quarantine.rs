//! Quarantine: kept once with its bytes, listed newest first, re-driven in pages, resolved and
//! re-opened.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::json;
use waymark_core::{MessageId, SourceSystem};

use super::fixtures::{at, must};
use crate::{QuarantineEntry, Resolution, Store};

fn entry(key: &str, stage: &str, secs: i64) -> QuarantineEntry {
    QuarantineEntry {
        message_id: MessageId::from_stored(key),
        source: Some(SourceSystem::Nomis),
        message_type: Some("OFFENDER-UPDATED".into()),
        stage: stage.into(),
        code: "mapping.runtime".into(),
        outcome: json!({"resourceType": "OperationOutcome"}),
        original: format!("bytes of {key}").into_bytes().into(),
        quarantined_at: at(secs),
    }
}

fn resolution(key: &str, n: u32) -> Resolution {
    Resolution {
        resolved_at: Some(at(100 + i64::from(n))),
        redrive_id: MessageId::from_stored(format!("{key}/redrive-{n}")),
        by: "mappings test; profiles test".into(),
    }
}

/// Quarantining the same message twice keeps one entry with its first reason; the listing is
/// newest first and carries reasons, not content; unknown entries read as `None`.
pub async fn quarantine_is_idempotent(store: Arc<dyn Store>) {
    let first = entry("a", "map", 1);
    must(store.quarantine(first.clone()).await, "quarantine");
    let mut again = first;
    again.code = "profile.invalid".into();
    must(store.quarantine(again).await, "quarantine again");
    must(
        store.quarantine(entry("b", "validate", 2)).await,
        "quarantine b",
    );
    let listed = must(store.quarantined(10).await, "quarantined");
    let order: Vec<&str> = listed.iter().map(|q| q.message_id.as_str()).collect();
    assert_eq!(order, ["b", "a"], "newest first, one entry per message");
    assert_eq!(
        listed[1].code, "mapping.runtime",
        "an unresolved entry keeps its reason"
    );
    assert_eq!(listed[1].stage, "map");
    assert_eq!(listed[1].source.as_deref(), Some("nomis"));
    assert_eq!(listed[1].outcome["resourceType"], "OperationOutcome");
    assert_eq!(
        must(store.quarantined(1).await, "quarantined").len(),
        1,
        "limit"
    );
    assert_eq!(must(store.counts().await, "counts").quarantined, 2);
    let one = must(store.quarantine_entry("a").await, "quarantine_entry");
    let one = one.unwrap_or_else(|| panic!("entry `a` is missing"));
    assert!(one.resolved_at.is_none() && one.redrives == 0);
    assert!(must(store.quarantine_entry("nope").await, "quarantine_entry").is_none());
}

/// A resolved entry refused again re-opens with the new reason, keeps its bytes, first time and
/// re-drive count; an unresolved one is not rewritten by a redelivered refusal.
pub async fn quarantine_reopens_after_resolve(store: Arc<dyn Store>) {
    must(store.quarantine(entry("a", "map", 1)).await, "quarantine");
    assert!(must(
        store.resolve_quarantined("a", &resolution("a", 1)).await,
        "resolve"
    ));
    let mut again = entry("a", "map", 9);
    again.code = "profile.invalid".into();
    must(
        store.quarantine(again.clone()).await,
        "quarantine after resolve",
    );
    let reopened = must(store.quarantine_entry("a").await, "entry").unwrap_or_else(|| panic!("a"));
    assert!(
        reopened.resolved_at.is_none() && reopened.resolved_by.is_none(),
        "re-opened"
    );
    assert_eq!(reopened.code, "profile.invalid");
    assert_eq!(reopened.redrives, 1, "the count survives the re-opening");
    let first = chrono::DateTime::parse_from_rfc3339(&reopened.quarantined_at)
        .unwrap_or_else(|_| panic!("quarantined_at is not RFC 3339"));
    assert_eq!(first, at(1), "the first quarantine time is kept");
    let pending = must(
        store.quarantined_for_redrive("map", None, 10).await,
        "redrive list",
    );
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].original.expose(),
        b"bytes of a",
        "original bytes kept"
    );
    let mut third = again;
    third.code = "mapping.runtime".into();
    must(store.quarantine(third).await, "quarantine while open");
    let kept = must(store.quarantine_entry("a").await, "entry").unwrap_or_else(|| panic!("a"));
    assert_eq!(
        kept.code, "profile.invalid",
        "an open entry is not rewritten"
    );
    assert!(must(
        store.resolve_quarantined("a", &resolution("a", 2)).await,
        "resolve 2"
    ));
    let done = must(store.quarantine_entry("a").await, "entry").unwrap_or_else(|| panic!("a"));
    assert_eq!(done.redrives, 2);
    assert_eq!(done.redrive_id.as_deref(), Some("a/redrive-2"));
    assert_eq!(
        done.resolved_by.as_deref(),
        Some("mappings test; profiles test")
    );
    assert_eq!(must(store.counts().await, "counts").quarantined, 1);
}

/// Re-drive pages follow the cursor in quarantine order (time, then id), only the stage asked
/// for and only unresolved entries; resolving is once only and unknown entries are not resolved.
pub async fn redrive_pages_in_order(store: Arc<dyn Store>) {
    for (key, secs) in [("d", 4), ("b", 2), ("a", 1), ("c", 2), ("e", 5)] {
        must(
            store.quarantine(entry(key, "map", secs)).await,
            "quarantine",
        );
    }
    must(
        store.quarantine(entry("x", "record", 3)).await,
        "quarantine other stage",
    );
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = must(
            store
                .quarantined_for_redrive("map", after.as_deref(), 2)
                .await,
            "redrive page",
        );
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2, "page larger than its limit");
        after = page.last().map(|q| q.summary.message_id.clone());
        seen.extend(page.into_iter().map(|q| q.summary.message_id));
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    let r = resolution("b", 1);
    assert!(must(store.resolve_quarantined("b", &r).await, "resolve"));
    assert!(
        !must(store.resolve_quarantined("b", &r).await, "resolve twice"),
        "once only"
    );
    assert!(!must(
        store.resolve_quarantined("nope", &r).await,
        "resolve unknown"
    ));
    let left = must(
        store.quarantined_for_redrive("map", None, 10).await,
        "redrive list",
    );
    let left: Vec<&str> = left.iter().map(|q| q.summary.message_id.as_str()).collect();
    assert_eq!(
        left,
        ["a", "c", "d", "e"],
        "a resolved entry leaves the list"
    );
    let kept = must(store.quarantine_entry("b").await, "entry").unwrap_or_else(|| panic!("b"));
    assert_eq!(
        kept.redrive_id.as_deref(),
        Some("b/redrive-1"),
        "kept for audit"
    );
    let resolved_at = kept
        .resolved_at
        .unwrap_or_else(|| panic!("b has no resolution time"));
    let resolved_at = chrono::DateTime::parse_from_rfc3339(&resolved_at)
        .unwrap_or_else(|_| panic!("resolved_at is not RFC 3339"));
    assert_eq!(
        resolved_at,
        Utc.timestamp_opt(1_700_000_101, 0)
            .single()
            .unwrap_or_default()
    );
}
