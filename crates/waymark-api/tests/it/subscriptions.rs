//! `Subscription` through the API, over the router (`oneshot`) against a `MockReceiver`: the
//! CRUD round trip (handshake recorded, status active, versions and `If-Match`, the live set
//! refreshed) and a dead endpoint (`error`); `$status` and `$events` in [`events`]; SSRF
//! refusals and organisation isolation in [`isolation`]. Every answer is checked for the
//! secret and the header value (canaries): neither ever comes back.

mod events;
mod isolation;

use serde_json::{Value, json};
use waymark_api::router;
use waymark_delivery::{TOPIC_BASE, WAYMARK_EXTENSION_BASE, mock::MockReceiver};
use waymark_store::Store;

use crate::fhir_world::{Answer, ORG, World};

/// Base64 of 32 bytes spelling a canary: must never come back.
pub const SECRET: &str = "whsec_Q0FOQVJZLVNFQ1JFVC1DQU5BUlktU0VDUkVULTEyMzQ=";
/// A header value that must never come back.
pub const HEADER_CANARY: &str = "canary-header-value-7d1f";

/// A Backport `Subscription` to `prison.reception` at `endpoint`, for `organisation`.
pub fn resource(endpoint: &str, organisation: &str) -> Value {
    json!({
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "receptions at HMP Test",
        "criteria": format!("{TOPIC_BASE}prison.reception"),
        "extension": [{
            "url": format!("{WAYMARK_EXTENSION_BASE}subscription-recipient"),
            "extension": [
                { "url": "organisation", "valueString": organisation },
                { "url": "role", "valueCode": "prison-healthcare" },
                { "url": "registered", "valueBoolean": true },
                { "url": "purpose", "valueString": "continuity-of-care" },
            ],
        }],
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": { "extension": [{
                "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content",
                "valueCode": "id-only",
            }]},
            "header": [format!("X-Api-Key: {HEADER_CANARY}")],
            "extension": [{
                "url": format!("{WAYMARK_EXTENSION_BASE}subscription-secret"),
                "valueString": SECRET,
            }],
        },
    })
}

/// Every answer must be free of the secret and the header value.
pub fn clean(answer: &Answer) {
    let secret_bytes = SECRET.trim_start_matches("whsec_");
    assert!(!answer.text.contains(secret_bytes), "secret leaked");
    assert!(!answer.text.contains(HEADER_CANARY), "header value leaked");
}

/// Creates a subscription as `token`; the answer (checked clean) and the id.
pub async fn create(w: &World, token: &str, body: &Value) -> (Answer, String) {
    let answer = w
        .call("POST", "/fhir/Subscription", Some(token), Some(body), &[])
        .await;
    clean(&answer);
    let id = answer.json["id"].as_str().unwrap_or_default().to_owned();
    (answer, id)
}

pub fn recipient_part<'a>(resource: &'a Value, part: &str) -> &'a Value {
    let ext = resource["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["url"]
                .as_str()
                .unwrap()
                .ends_with("subscription-recipient")
        })
        .unwrap();
    let mut parts = ext["extension"].as_array().unwrap().iter();
    let found = parts.find(|p| p["url"] == part).unwrap();
    found
        .get("valueString")
        .or_else(|| found.get("valueCode"))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_read_update_search_delete_round_trip_with_a_handshake() {
    let mut w = World::new().await;
    let live = waymark_pipeline::SubscriptionSet::from_store(w.store.clone(), Vec::new());
    w.state.subscriptions = live.await.unwrap();
    w.app = router(w.state.clone());
    let receiver = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let engineer = w.dev.engineer();
    let (created, id) = create(&w, &engineer, &resource(&receiver.url(), ORG)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(id.starts_with("sub-"), "the hub assigns the id: {id}");
    assert_eq!(created.json["status"], "active");
    assert_eq!(
        receiver.handshakes().len(),
        1,
        "one handshake, signature verified"
    );
    assert_eq!(receiver.refused_count(), 0);
    let live = w
        .state
        .subscriptions
        .get(&id)
        .expect("the live set was refreshed");
    assert!(live.is_live(), "active in the live set");

    let read = w
        .get(&format!("/fhir/Subscription/{id}"), Some(&engineer))
        .await;
    clean(&read);
    assert_eq!(read.status, 200);
    assert_eq!(
        read.json["meta"]["versionId"], "2",
        "created, then handshaken"
    );
    assert_eq!(*recipient_part(&read.json, "organisation"), ORG);

    // A read-back resource (no secret, header value redacted) updates with If-Match.
    let mut changed = read.json.clone();
    changed["reason"] = json!("receptions, renamed");
    let uri = format!("/fhir/Subscription/{id}");
    let put = |version: &'static str| {
        let (w, uri, changed, engineer) = (&w, &uri, &changed, &engineer);
        async move {
            let headers = [("if-match", version)];
            w.call("PUT", uri, Some(engineer), Some(changed), &headers)
                .await
        }
    };
    let updated = put("W/\"2\"").await;
    clean(&updated);
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json["meta"]["versionId"], "3");
    assert_eq!(updated.json["reason"], "receptions, renamed");
    assert_eq!(updated.json["status"], "active");
    assert_eq!(
        receiver.handshakes().len(),
        1,
        "same endpoint, same secret: no handshake"
    );
    let stale = put("W/\"2\"").await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    let stored = w.store.subscription(&id).await.unwrap().unwrap();
    assert!(
        stored.body.expose().contains(HEADER_CANARY),
        "header value kept"
    );
    assert!(stored.body.expose().contains(SECRET), "secret kept");

    let found = w
        .get("/fhir/Subscription?status=active", Some(&engineer))
        .await;
    clean(&found);
    assert_eq!(found.json["entry"].as_array().unwrap().len(), 1);
    let none = w
        .get("/fhir/Subscription?status=off", Some(&engineer))
        .await;
    assert_eq!(none.json["entry"].as_array().unwrap().len(), 0);

    let deleted = w.call("DELETE", &uri, Some(&engineer), None, &[]).await;
    assert_eq!(deleted.status, 204);
    assert!(
        w.state.subscriptions.get(&id).is_none(),
        "gone from the live set"
    );
    assert_eq!(w.get(&uri, Some(&engineer)).await.status, 404);
    assert_eq!(
        w.call("DELETE", &uri, Some(&engineer), None, &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_handshake_to_a_dead_endpoint_leaves_the_subscription_in_error() {
    let w = World::new().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/notify", listener.local_addr().unwrap());
    drop(listener);
    let (created, id) = create(&w, &w.dev.engineer(), &resource(&dead, ORG)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["status"], "error");
    let error = created.json["error"].as_str().unwrap();
    assert!(error.starts_with("handshake failed"), "{error}");
    let stored = w.store.subscription(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, "error");
}
