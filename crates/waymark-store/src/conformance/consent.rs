//! Consents: versioned per (person, consent id), withdrawn once, and the past recipients a
//! withdrawal recalls.

use std::sync::Arc;

use serde_json::json;
use waymark_core::{MessageId, Sensitive};

use super::fixtures::{at, merge, must, new_person};
use crate::{CONSENT_CHANGED, NewConsent, Store};

fn consent(person: &str, id: &str, secs: i64) -> NewConsent {
    let json = json!({"resourceType": "Consent", "id": id, "status": "active"});
    NewConsent {
        person_id: person.into(),
        consent_id: id.into(),
        status: "active".into(),
        consent: Sensitive::new(json.to_string()),
        recorded_at: at(secs),
    }
}

/// Put raises `consent.changed` (`consent/<person>/<id>/v<n>`); `consents` reads the current
/// version of each; a withdrawal is a new `inactive` version (in the JSON too) whose event a
/// repeated withdrawal returns unchanged; an unknown consent gives `None`; `consent_holders`
/// names every person holding a Consent id.
pub async fn consents_put_current_withdraw(store: Arc<dyn Store>) {
    let given = must(
        store.put_consent(consent("p1", "c1", 0)).await,
        "put_consent",
    );
    assert_eq!(given.topic, CONSENT_CHANGED);
    assert_eq!(given.event_id.as_str(), "consent/p1/c1/v1");
    assert_eq!((given.person_id.as_str(), given.event_time), ("p1", at(0)));
    must(store.put_consent(consent("p1", "c2", 1)).await, "put c2");
    must(
        store.put_consent(consent("p2", "c1", 1)).await,
        "put other person's c1",
    );
    let mine = must(store.consents("p1").await, "consents");
    let ids: Vec<(&str, u32)> = mine
        .iter()
        .map(|c| (c.consent_id.as_str(), c.version))
        .collect();
    assert_eq!(ids, [("c1", 1), ("c2", 1)]);
    let withdrawn = must(store.withdraw_consent("p1", "c1", at(5)).await, "withdraw");
    let withdrawn = withdrawn.unwrap_or_else(|| panic!("withdrawing c1 gave no event"));
    assert_eq!(withdrawn.event_id.as_str(), "consent/p1/c1/v2");
    assert_eq!(withdrawn.event_time, at(5));
    let now = must(store.consents("p1").await, "consents");
    let c1 = now
        .iter()
        .find(|c| c.consent_id == "c1")
        .unwrap_or_else(|| panic!("c1 gone"));
    assert_eq!((c1.version, c1.status.as_str()), (2, "inactive"));
    let json: serde_json::Value = serde_json::from_str(c1.consent.expose())
        .unwrap_or_else(|_| panic!("stored Consent is not JSON"));
    assert_eq!(json["status"], "inactive", "the JSON says so too");
    let again = must(
        store.withdraw_consent("p1", "c1", at(6)).await,
        "withdraw again",
    );
    let again = again.unwrap_or_else(|| panic!("withdrawing again gave no event"));
    assert_eq!(again, withdrawn, "the stored event, not a new one");
    let c1 = must(store.consents("p1").await, "consents");
    assert_eq!(c1[0].version, 2, "no new version");
    assert!(
        must(
            store.withdraw_consent("p1", "c9", at(6)).await,
            "withdraw unknown"
        )
        .is_none()
    );
    assert_eq!(
        must(store.consents("p2").await, "consents")[0].status,
        "active"
    );
    assert_eq!(
        must(store.consent_holders("c1").await, "holders"),
        ["p1", "p2"],
        "a Consent id is found whoever holds it"
    );
    assert!(must(store.consent_holders("c9").await, "holders of none").is_empty());
}

/// Two racing withdrawals of each of several consents write one version each, and both get
/// its event.
pub async fn consent_withdrawals_race_to_one_version(store: Arc<dyn Store>) {
    let ids: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    for id in &ids {
        must(store.put_consent(consent("p1", id, 0)).await, "put_consent");
    }
    let mut tasks = Vec::new();
    for id in &ids {
        for secs in [1, 2] {
            let (store, id) = (store.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let event = must(
                    store.withdraw_consent("p1", &id, at(secs)).await,
                    "withdraw",
                );
                event.unwrap_or_else(|| panic!("withdrawing `{id}` gave no event"))
            }));
        }
    }
    let mut events = Vec::new();
    for task in tasks {
        events.push(must(task.await, "withdrawal task"));
    }
    for (id, pair) in ids.iter().zip(events.chunks(2)) {
        let expected = format!("consent/p1/{id}/v2");
        assert_eq!(pair[0].event_id.as_str(), expected);
        assert_eq!(pair[1], pair[0], "one version, one event for `{id}`");
    }
    for c in must(store.consents("p1").await, "consents") {
        assert_eq!(
            (c.version, c.status.as_str()),
            (2, "inactive"),
            "{}",
            c.consent_id
        );
    }
}

/// Past recipients are the subscriptions numbered for the person's events (not for
/// `consent.changed` recalls), including the events of persons merged into it and the events the
/// merge raised (ids `MessageId(merge event id).child("event/<i>")`).
pub async fn past_recipients_are_numbered_subscriptions(store: Arc<dyn Store>) {
    let p1 = new_person(store.as_ref(), "m1", 1, &[], &["k1"]).await;
    let p2 = new_person(store.as_ref(), "m2", 2, &[], &["k2"]).await;
    assert!(must(store.past_recipients(&p1).await, "past_recipients").is_empty());
    let e1 = super::fixtures::message("m1").child("event/0");
    let e2 = super::fixtures::message("m2").child("event/0");
    must(store.event_number("sub-b", &e1).await, "number");
    must(store.event_number("sub-a", &e1).await, "number");
    must(store.event_number("sub-c", &e2).await, "number");
    let changed = must(
        store.put_consent(consent(&p1, "c1", 3)).await,
        "put_consent",
    );
    must(
        store.event_number("sub-z", &changed.event_id).await,
        "number recall",
    );
    assert_eq!(
        must(store.past_recipients(&p1).await, "past_recipients"),
        ["sub-a", "sub-b"]
    );
    let merged = merge(store.as_ref(), &p2, &p1, 4).await;
    let raised = MessageId::from_stored(merged.event_id.as_str()).child("event/0");
    must(
        store.event_number("sub-d", &raised).await,
        "number merge event",
    );
    assert_eq!(
        must(
            store.past_recipients(&p1).await,
            "past_recipients after merge"
        ),
        ["sub-a", "sub-b", "sub-c", "sub-d"],
        "the merged person's recipients and the merge event's are the survivor's"
    );
    assert!(
        must(
            store.past_recipients("someone-else").await,
            "past_recipients"
        )
        .is_empty()
    );
}
