//! `$status` counts and `$events` refilling a gap, and `$resend` for the integration engineer.

use chrono::Utc;
use serde_json::{Value, json};
use waymark_core::{Role, Sensitive};
use waymark_delivery::mock::MockReceiver;
use waymark_store::{NewConsent, Store};

use super::{SECRET, create, resource};
use crate::fhir_world::{ORG, World};

fn parameter<'a>(bundle: &'a Value, name: &str) -> &'a Value {
    let params = bundle["entry"][0]["resource"]["parameter"]
        .as_array()
        .unwrap();
    let found = params.iter().find(|p| p["name"] == name).unwrap();
    found
        .get("valueString")
        .or_else(|| found.get("valueCode"))
        .unwrap()
}

/// `n` Consent changes of the main person, numbered for `sub` (1..=n); their person.
async fn numbered_events(w: &World, sub: &str, n: usize) -> String {
    for i in 0..n {
        let event = w
            .store
            .put_consent(NewConsent {
                person_id: w.main.clone(),
                consent_id: format!("c-{i}"),
                status: "active".to_owned(),
                consent: Sensitive::new(json!({"resourceType": "Consent"}).to_string()),
                recorded_at: Utc::now(),
            })
            .await
            .unwrap();
        let number = w.store.event_number(sub, &event.event_id).await.unwrap();
        assert_eq!(number, u64::try_from(i).unwrap() + 1);
    }
    w.main.clone()
}

fn event_numbers(bundle: &Value) -> Vec<u64> {
    let params = bundle["entry"][0]["resource"]["parameter"]
        .as_array()
        .unwrap();
    params
        .iter()
        .filter(|p| p["name"] == "notification-event")
        .map(|p| {
            let part = p["part"].as_array().unwrap().iter();
            let number = part.clone().find(|q| q["name"] == "event-number").unwrap();
            number["valueString"].as_str().unwrap().parse().unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_and_events_refill_a_gap() {
    let w = World::new().await;
    let receiver = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let nurse = w.token(Role::PrisonHealthcare, true);
    let (created, id) = create(&w, &nurse, &resource(&receiver.url(), ORG)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let person = numbered_events(&w, &id, 5).await;

    let status = w
        .get(&format!("/fhir/Subscription/{id}/$status"), Some(&nurse))
        .await;
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(
        *parameter(&status.json, "events-since-subscription-start"),
        "5"
    );
    assert_eq!(*parameter(&status.json, "status"), "active");

    // The subscriber saw 1, 2, 4 and 5: it asks for the gap.
    let gap = w
        .get(
            &format!("/fhir/Subscription/{id}/$events?eventsSinceNumber=3&eventsUntilNumber=3"),
            Some(&nurse),
        )
        .await;
    assert_eq!(gap.status, 200, "{}", gap.text);
    assert_eq!(event_numbers(&gap.json), vec![3]);
    assert!(
        gap.text.contains(&format!("Patient/{person}")),
        "id-only focus"
    );
    assert_eq!(*parameter(&gap.json, "type"), "query-event");
    let all = w
        .get(&format!("/fhir/Subscription/{id}/$events"), Some(&nurse))
        .await;
    assert_eq!(event_numbers(&all.json), vec![1, 2, 3, 4, 5]);
    let bad = w
        .get(
            &format!("/fhir/Subscription/{id}/$events?eventsSinceNumber=x"),
            Some(&nurse),
        )
        .await;
    assert_eq!(bad.status, 400);

    let resend = format!("/fhir/Subscription/{id}/$resend");
    let refused = w.call("POST", &resend, Some(&nurse), None, &[]).await;
    assert_eq!(refused.status, 403, "$resend is the integration engineer's");
    let resent = w
        .call("POST", &resend, Some(&w.dev.engineer()), None, &[])
        .await;
    assert_eq!(resent.status, 200, "{}", resent.text);
    assert_eq!(
        resent.json["parameter"][0]["valueInteger"], 0,
        "no dead letters"
    );
}
