//! SSRF refusals under the production endpoint policy, and a client that subscribes as itself
//! and never sees (or learns of) another organisation's subscriptions.

use waymark_api::router;
use waymark_core::Role;
use waymark_delivery::{EndpointPolicy, mock::MockReceiver};
use waymark_store::Store;

use super::{SECRET, create, recipient_part, resource};
use crate::fhir_world::{ORG, World};

#[tokio::test]
async fn the_production_policy_refuses_private_and_plain_http_endpoints() {
    let mut w = World::new().await;
    w.state.endpoints = EndpointPolicy::production();
    w.app = router(w.state.clone());
    let engineer = w.dev.engineer();
    for endpoint in [
        "http://10.0.0.1/",
        "https://169.254.169.254/",
        "http://127.0.0.1",
        "https://10.1.2.3/notify",
        "https://[::1]/notify",
    ] {
        let (refused, _) = create(&w, &engineer, &resource(endpoint, ORG)).await;
        assert_eq!(refused.status, 422, "{endpoint}: {}", refused.text);
        assert_eq!(refused.json["resourceType"], "OperationOutcome");
        assert!(
            refused.text.contains("subscription.endpoint"),
            "{}",
            refused.text
        );
        assert!(
            !refused.text.contains(endpoint),
            "the outcome never quotes the URL"
        );
    }
    assert!(
        w.store.subscriptions().await.unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_subscribes_as_itself_and_never_sees_another_organisations() {
    let w = World::new().await;
    let receiver = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let officer = w.token(Role::CustodyOfficer, false);
    // It asks for another organisation and another role: it gets its own.
    let (mine, mine_id) = create(&w, &officer, &resource(&receiver.url(), "ORG99")).await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    assert_eq!(*recipient_part(&mine.json, "organisation"), ORG);
    assert_eq!(*recipient_part(&mine.json, "role"), "custody-officer");
    let (theirs, theirs_id) =
        create(&w, &w.dev.engineer(), &resource(&receiver.url(), "ORG99")).await;
    assert_eq!(theirs.status, 201);
    assert_eq!(*recipient_part(&theirs.json, "organisation"), "ORG99");

    let other = format!("/fhir/Subscription/{theirs_id}");
    assert_eq!(w.get(&other, Some(&officer)).await.status, 404);
    assert_eq!(
        w.get(&format!("{other}/$status"), Some(&officer))
            .await
            .status,
        404
    );
    assert_eq!(
        w.get(&format!("{other}/$events"), Some(&officer))
            .await
            .status,
        404
    );
    let body = resource(&receiver.url(), ORG);
    let put = w
        .call("PUT", &other, Some(&officer), Some(&body), &[])
        .await;
    assert_eq!(put.status, 404);
    assert_eq!(
        w.call("DELETE", &other, Some(&officer), None, &[])
            .await
            .status,
        404
    );
    assert_eq!(
        w.get("/fhir/Subscription/sub-nobody", Some(&officer))
            .await
            .status,
        404
    );

    let listed = w.get("/fhir/Subscription", Some(&officer)).await;
    let ids: Vec<&str> = listed.json["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![mine_id.as_str()]);
    let everything = w.get("/fhir/Subscription", Some(&w.dev.engineer())).await;
    assert_eq!(everything.json["entry"].as_array().unwrap().len(), 2);
    assert!(w.store.subscription(&theirs_id).await.unwrap().is_some());
}
