//! Consents in the SQLite store: put, get the current versions, withdraw, past recipients.

use chrono::{DateTime, Utc};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_store::{CONSENT_CHANGED, NewConsent, NewRecord, SqliteStore, Store, StrongId};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

fn consent(person: &str, id: &str, secs: i64) -> NewConsent {
    let json = serde_json::json!({"resourceType": "Consent", "id": id, "status": "active"});
    NewConsent {
        person_id: person.into(),
        consent_id: id.into(),
        status: "active".into(),
        consent: Sensitive::new(json.to_string()),
        recorded_at: at(secs),
    }
}

async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn put_get_and_withdraw_a_consent() {
    let (_dir, store) = open().await;
    let given = store.put_consent(consent("p1", "c1", 0)).await.unwrap();
    assert_eq!(given.topic, CONSENT_CHANGED);
    assert_eq!(given.event_id.as_str(), "consent/p1/c1/v1");
    store.put_consent(consent("p1", "c2", 1)).await.unwrap();
    store.put_consent(consent("p2", "c1", 1)).await.unwrap();
    let mine = store.consents("p1").await.unwrap();
    let ids: Vec<(&str, u32)> = mine
        .iter()
        .map(|c| (c.consent_id.as_str(), c.version))
        .collect();
    assert_eq!(ids, [("c1", 1), ("c2", 1)]);

    let withdrawn = store
        .withdraw_consent("p1", "c1", at(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(withdrawn.event_id.as_str(), "consent/p1/c1/v2");
    assert_eq!(withdrawn.event_time, at(5));
    let now = store.consents("p1").await.unwrap();
    let c1 = now.iter().find(|c| c.consent_id == "c1").unwrap();
    assert_eq!((c1.version, c1.status.as_str()), (2, "inactive"));
    let json: serde_json::Value = serde_json::from_str(c1.consent.expose()).unwrap();
    assert_eq!(
        json["status"], "inactive",
        "the JSON the policy reads says so too"
    );
    // Withdrawing again writes nothing and returns the withdrawal's own event (so its effects
    // can be retried); an unknown consent gives nothing.
    let again = store
        .withdraw_consent("p1", "c1", at(6))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.event_id.as_str(), "consent/p1/c1/v2");
    assert_eq!(again.event_time, at(5), "the stored event, not a new one");
    assert_eq!(again.topic, CONSENT_CHANGED);
    assert_eq!(again.person_id, "p1");
    let c1 = store.consents("p1").await.unwrap();
    assert_eq!(c1[0].version, 2, "no new version");
    assert!(
        store
            .withdraw_consent("p1", "c9", at(6))
            .await
            .unwrap()
            .is_none()
    );
    // The other person's consent of the same id is untouched.
    assert_eq!(store.consents("p2").await.unwrap()[0].status, "active");
}

#[tokio::test]
async fn past_recipients_are_the_subscriptions_numbered_for_the_persons_events() {
    let (_dir, store) = open().await;
    let record = NewRecord {
        message_id: MessageId::derive(SourceSystem::Nomis, "m1"),
        source: SourceSystem::Nomis,
        message_type: "t".into(),
        event_time: Some(at(1)),
        recorded_at: at(2),
        identifiers: vec![StrongId {
            system: "https://fhir.waymark.org.uk/Id/nomis-prison-number".into(),
            value: Sensitive::new("A5089DY".into()),
        }],
        topic: "prison.reception".into(),
        bundle: Sensitive::new("{}".into()),
    };
    let outcome = store.record(record).await.unwrap();
    let person = outcome.event.person_id.clone();
    assert!(store.past_recipients(&person).await.unwrap().is_empty());
    store
        .event_number("sub-b", &outcome.event.event_id)
        .await
        .unwrap();
    store
        .event_number("sub-a", &outcome.event.event_id)
        .await
        .unwrap();
    // A recall notice itself does not make a past recipient.
    let changed = store.put_consent(consent(&person, "c1", 3)).await.unwrap();
    store
        .event_number("sub-c", &changed.event_id)
        .await
        .unwrap();
    assert_eq!(
        store.past_recipients(&person).await.unwrap(),
        ["sub-a", "sub-b"]
    );
    assert!(
        store
            .past_recipients("someone-else")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn concurrent_withdrawals_write_one_version() {
    let (_dir, store) = open().await;
    let ids: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
    for id in &ids {
        store.put_consent(consent("p1", id, 0)).await.unwrap();
    }
    // Two withdrawals of each consent, all racing.
    let racing = ids.iter().flat_map(|id| {
        let store = &store;
        [1, 2].map(move |s| async move {
            store
                .withdraw_consent("p1", id, at(s))
                .await
                .unwrap()
                .unwrap()
        })
    });
    let events = futures_join_all(racing).await;
    for (id, pair) in ids.iter().zip(events.chunks(2)) {
        let expected = format!("consent/p1/{id}/v2");
        assert_eq!(pair[0].event_id.as_str(), expected);
        assert_eq!(
            pair[1].event_id.as_str(),
            expected,
            "one version, one event"
        );
        assert_eq!(pair[0].event_time, pair[1].event_time);
    }
    for c in store.consents("p1").await.unwrap() {
        assert_eq!(
            (c.version, c.status.as_str()),
            (2, "inactive"),
            "{}",
            c.consent_id
        );
    }
}

/// Runs the futures concurrently on this task and returns their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in set.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|v| v.expect("polled to completion"))
        .collect()
}
