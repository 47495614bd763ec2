//! Quarantine re-drive: entries are listed with their bytes until resolved, and kept after.

use chrono::{TimeZone, Utc};
use serde_json::json;
use waymark_core::{MessageId, SourceSystem};
use waymark_store::{QuarantineEntry, Resolution, SqliteStore, Store};

fn entry(key: &str, stage: &str, secs: i64) -> QuarantineEntry {
    QuarantineEntry {
        message_id: MessageId::from_stored(key),
        source: Some(SourceSystem::Nomis),
        message_type: Some("OFFENDER-UPDATED".into()),
        stage: stage.into(),
        code: "mapping.runtime".into(),
        outcome: json!({"resourceType": "OperationOutcome"}),
        original: format!("bytes of {key}").into_bytes().into(),
        quarantined_at: Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
    }
}

#[tokio::test]
async fn resolved_entries_leave_the_redrive_list_but_stay_for_audit() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .unwrap();
    store.quarantine(entry("b", "map", 2)).await.unwrap();
    store.quarantine(entry("a", "map", 1)).await.unwrap();
    store.quarantine(entry("c", "record", 3)).await.unwrap();

    let pending = store
        .quarantined_for_redrive("map", None, 10)
        .await
        .unwrap();
    let ids: Vec<&str> = pending
        .iter()
        .map(|q| q.summary.message_id.as_str())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(pending[0].original.expose(), b"bytes of a");

    let resolution = Resolution {
        resolved_at: Some(Utc.timestamp_opt(1_700_000_100, 0).unwrap()),
        redrive_id: MessageId::from_stored("a/redrive-1"),
        by: "mappings test; profiles test".into(),
    };
    assert!(store.resolve_quarantined("a", &resolution).await.unwrap());
    assert!(!store.resolve_quarantined("a", &resolution).await.unwrap());
    assert!(
        !store
            .resolve_quarantined("nope", &resolution)
            .await
            .unwrap()
    );

    let ids: Vec<String> = store
        .quarantined_for_redrive("map", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.summary.message_id)
        .collect();
    assert_eq!(ids, ["b"]);
    let kept = store.quarantine_entry("a").await.unwrap().unwrap();
    assert_eq!(kept.redrive_id.as_deref(), Some("a/redrive-1"));
    assert_eq!(
        kept.resolved_by.as_deref(),
        Some("mappings test; profiles test")
    );
    assert!(kept.resolved_at.is_some());
    assert!(store.quarantine_entry("nope").await.unwrap().is_none());
    assert_eq!(store.counts().await.unwrap().quarantined, 3);
}

#[tokio::test]
async fn pages_follow_the_cursor_in_quarantine_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .unwrap();
    for (key, secs) in [("d", 4), ("b", 2), ("a", 1), ("c", 2), ("e", 5)] {
        store.quarantine(entry(key, "map", secs)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .quarantined_for_redrive("map", after.as_deref(), 2)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(|q| q.summary.message_id.clone());
        seen.extend(page.into_iter().map(|q| q.summary.message_id));
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
}

#[tokio::test]
async fn a_resolved_entry_refused_again_is_reopened_and_counts_its_redrives() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .unwrap();
    store.quarantine(entry("a", "map", 1)).await.unwrap();
    assert_eq!(
        store.quarantine_entry("a").await.unwrap().unwrap().redrives,
        0
    );
    let resolution = |n: u32| Resolution {
        resolved_at: None,
        redrive_id: MessageId::from_stored(format!("a/redrive-{n}")),
        by: "test".into(),
    };
    assert!(
        store
            .resolve_quarantined("a", &resolution(1))
            .await
            .unwrap()
    );

    // The same refusal again, while unresolved, is a no-op; after resolution it re-opens.
    let mut again = entry("a", "map", 9);
    again.code = "profile.invalid".into();
    store.quarantine(again.clone()).await.unwrap();
    let reopened = store.quarantine_entry("a").await.unwrap().unwrap();
    assert!(reopened.resolved_at.is_none() && reopened.resolved_by.is_none());
    assert_eq!(reopened.code, "profile.invalid");
    assert_eq!(reopened.redrives, 1, "the count survives the re-opening");
    assert_eq!(
        reopened.quarantined_at,
        entry("a", "map", 1).quarantined_at.to_rfc3339(),
        "the first quarantine time (the re-drive order) is kept"
    );
    let pending = store
        .quarantined_for_redrive("map", None, 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].original.expose(), b"bytes of a");

    let mut third = again;
    third.code = "mapping.runtime".into();
    store.quarantine(third).await.unwrap();
    assert_eq!(
        store.quarantine_entry("a").await.unwrap().unwrap().code,
        "profile.invalid",
        "an unresolved entry is not rewritten by a redelivered refusal"
    );
    assert!(
        store
            .resolve_quarantined("a", &resolution(2))
            .await
            .unwrap()
    );
    let done = store.quarantine_entry("a").await.unwrap().unwrap();
    assert_eq!(done.redrives, 2);
    assert_eq!(done.redrive_id.as_deref(), Some("a/redrive-2"));
    assert_eq!(store.counts().await.unwrap().quarantined, 1);
}
