//! Subscriptions as FHIR R4 `Subscription` resources in the Backport IG shape.

use crate::common;

use serde_json::{Value, json};
use waymark_core::{ErrorCode, Role};
use waymark_delivery::{EndpointPolicy, FilterName, PayloadMode, Subscription, SubscriptionStatus};

const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";
const WAYMARK: &str = "https://fhir.waymark.org.uk/StructureDefinition/";

/// The Backport IG's own R4 example (`Subscription/subscription-zulip`), with our topic, a
/// filter of ours, the Waymark recipient and secret extensions and its other extensions kept.
fn ig_example() -> Value {
    json!({
      "resourceType": "Subscription",
      "id": "subscription-zulip",
      "meta": { "profile": [format!("{BACKPORT}backport-subscription")] },
      "extension": [{
        "url": format!("{WAYMARK}subscription-recipient"),
        "extension": [
          { "url": "organisation", "valueString": "hmp-leeds-healthcare" },
          { "url": "role", "valueCode": "prison-healthcare" },
          { "url": "registered", "valueBoolean": true },
          { "url": "purpose", "valueString": "continuity-of-care" }
        ]
      }],
      "status": "requested",
      "end": "2020-12-31T12:00:00Z",
      "reason": "R4 Topic-Based Workflow Subscription for Patient Admission",
      "criteria": "https://fhir.waymark.org.uk/SubscriptionTopic/prison.reception",
      "_criteria": { "extension": [{
        "url": format!("{BACKPORT}backport-filter-criteria"),
        "valueString": "Encounter?establishment=LEI"
      }]},
      "channel": {
        "extension": [
          { "url": format!("{BACKPORT}backport-heartbeat-period"), "valueUnsignedInt": 86400 },
          { "url": format!("{BACKPORT}backport-timeout"), "valueUnsignedInt": 60 },
          { "url": format!("{BACKPORT}backport-max-count"), "valuePositiveInt": 20 },
          { "url": format!("{WAYMARK}subscription-secret"), "valueString": common::secret(7) }
        ],
        "type": "rest-hook",
        "endpoint": "https://example.org/Endpoints/d7dcc004-808d-452b-8030-3a3a13cd871d",
        "payload": "application/fhir+json",
        "_payload": { "extension": [{
          "url": format!("{BACKPORT}backport-payload-content"), "valueCode": "full-resource"
        }]},
        "header": ["Authorization: Bearer secret-token-abc-123"]
      }
    })
}

#[test]
fn the_backport_example_reads_and_round_trips() {
    let prod = EndpointPolicy::production();
    let sub = Subscription::from_fhir(&ig_example(), &prod).unwrap();
    assert_eq!(sub.id, "subscription-zulip");
    assert_eq!(sub.topic, "prison.reception");
    assert_eq!(sub.status, SubscriptionStatus::Requested);
    assert!(!sub.is_live(), "requested: not live until the handshake");
    assert_eq!(sub.payload, PayloadMode::FullResource);
    assert_eq!(sub.heartbeat_period, Some(86_400));
    assert_eq!(sub.recipient.role, Role::PrisonHealthcare);
    assert!(sub.recipient.registered);
    assert_eq!(sub.filters.len(), 1);
    assert_eq!(sub.filters[0].name, FilterName::Establishment);
    assert_eq!(sub.filters[0].value.expose(), "LEI");
    assert_eq!(
        sub.headers[0].expose(),
        "Authorization: Bearer secret-token-abc-123"
    );
    assert_eq!(sub.secret.expose(), &common::secret(7));

    let written = sub.to_fhir();
    let text = written.to_string();
    assert!(!text.contains(&common::secret(7)[6..]), "never the secret");
    assert!(
        !text.contains("secret-token-abc-123"),
        "never a header value"
    );
    assert_eq!(
        written["channel"]["header"],
        json!(["Authorization: [redacted]"])
    );
    assert_eq!(written["criteria"], ig_example()["criteria"]);
    assert_eq!(
        written["_criteria"]["extension"][0]["valueString"],
        "establishment=LEI"
    );
    assert_eq!(written["channel"]["payload"], "application/fhir+json");
    assert_eq!(
        written["channel"]["_payload"],
        ig_example()["channel"]["_payload"]
    );
    assert_eq!(
        written["channel"]["extension"][0],
        ig_example()["channel"]["extension"][0]
    );
    assert_eq!(written["extension"], ig_example()["extension"]);
    assert_eq!(written["status"], "requested");
    assert_eq!(written["reason"], ig_example()["reason"]);

    // What to_fhir wrote reads back to the same subscription once the secret and header values
    // are supplied again (the API keeps them from the stored subscription).
    let mut again = written.clone();
    again["channel"]["extension"].as_array_mut().unwrap().push(
        json!({ "url": format!("{WAYMARK}subscription-secret"), "valueString": common::secret(7) }),
    );
    again["channel"]["header"] = ig_example()["channel"]["header"].clone();
    let back = Subscription::from_fhir(&again, &prod).unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&sub).unwrap()
    );
}

#[test]
fn every_payload_mode_round_trips() {
    for payload in [
        PayloadMode::IdOnly,
        PayloadMode::FullResource,
        PayloadMode::Signal,
    ] {
        let mut sub = common::subscription("https://hook.example/x", payload, Role::Probation);
        sub.previous_secret = Some(common::secret(2).into());
        let mut resource = sub.to_fhir();
        assert!(!resource.to_string().contains(&common::secret(2)[6..]));
        let secret = json!({ "url": format!("{WAYMARK}subscription-secret"), "valueString": common::secret(1) });
        resource["channel"]["extension"] = json!([secret]);
        let back = Subscription::from_fhir(&resource, &EndpointPolicy::production()).unwrap();
        assert_eq!(back.payload, payload);
        assert_eq!(back.status, SubscriptionStatus::Active);
        assert_eq!(back.recipient, sub.recipient);
        assert_eq!(
            back.previous_secret, None,
            "a previous secret is only ever written in"
        );
        if payload == PayloadMode::Signal {
            assert_eq!(
                resource["channel"]["payload"],
                "application/cloudevents+json"
            );
        }
    }
}

fn refused(edit: impl FnOnce(&mut Value), code: &str) {
    let mut resource = ig_example();
    edit(&mut resource);
    let err = Subscription::from_fhir(&resource, &EndpointPolicy::production()).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    let text = err.to_string();
    assert!(!text.contains(&common::secret(7)[6..]), "{text}");
    assert!(!text.contains("secret-token"), "{text}");
    assert!(!text.contains("9434765919"), "{text}");
}

#[test]
fn every_bad_resource_is_a_typed_error() {
    refused(
        |r| r["resourceType"] = json!("Patient"),
        "subscription.resource-type",
    );
    refused(
        |r| drop(r.as_object_mut().unwrap().remove("resourceType")),
        "subscription.missing",
    );
    refused(
        |r| drop(r.as_object_mut().unwrap().remove("id")),
        "subscription.missing",
    );
    refused(|r| r["id"] = json!("Not A Slug"), "subscription.id");
    refused(|r| r["status"] = json!("paused"), "subscription.element");
    refused(
        |r| r["criteria"] = json!("Encounter?status=in-progress"),
        "subscription.element",
    );
    refused(
        |r| r["criteria"] = json!("http://hl7.org/SubscriptionTopic/encounter-start"),
        "subscription.element",
    );
    refused(
        |r| r["criteria"] = json!("https://fhir.waymark.org.uk/SubscriptionTopic/Prison Reception"),
        "subscription.topic",
    );
    refused(
        |r| r["channel"]["type"] = json!("websocket"),
        "subscription.element",
    );
    refused(
        |r| r["channel"]["type"] = json!("email"),
        "subscription.element",
    );
    refused(
        |r| drop(r["channel"].as_object_mut().unwrap().remove("endpoint")),
        "subscription.missing",
    );
    refused(
        |r| r["channel"]["endpoint"] = json!("http://example.org/x"),
        "subscription.endpoint",
    );
    refused(
        |r| r["channel"]["endpoint"] = json!("https://169.254.169.254/latest/meta-data"),
        "subscription.endpoint",
    );
    refused(
        |r| r["channel"]["payload"] = json!("application/xml"),
        "subscription.element",
    );
    refused(
        |r| r["channel"]["_payload"]["extension"][0]["valueCode"] = json!("empty"),
        "subscription.element",
    );
    refused(
        |r| r["channel"]["payload"] = json!("application/cloudevents+json"),
        "subscription.element",
    );
    refused(
        |r| drop(r.as_object_mut().unwrap().remove("extension")),
        "subscription.missing",
    );
    refused(
        |r| r["extension"][0]["extension"][1]["valueCode"] = json!("sergeant"),
        "subscription.element",
    );
    refused(
        |r| r["extension"][0]["extension"][0]["valueString"] = json!(" "),
        "subscription.missing",
    );
    refused(
        |r| drop(r["channel"]["extension"].as_array_mut().unwrap().pop()),
        "subscription.missing",
    );
    refused(
        |r| r["channel"]["extension"][3]["valueString"] = json!("whsec_c2hvcnQ="),
        "subscription.secret",
    );
    refused(
        |r| r["channel"]["extension"][0]["valueUnsignedInt"] = json!(5),
        "subscription.heartbeat",
    );
    refused(
        |r| r["channel"]["extension"][0]["valueUnsignedInt"] = json!("daily"),
        "subscription.element",
    );
    refused(
        |r| r["_criteria"]["extension"][0]["valueString"] = json!("surname=9434765919"),
        "subscription.filter",
    );
    refused(
        |r| r["_criteria"]["extension"][0]["valueString"] = json!("patient-identifier=9434765919"),
        "subscription.filter",
    );
    refused(
        |r| r["_criteria"]["extension"][0]["valueString"] = json!("LEI"),
        "subscription.element",
    );
    for header in [
        "Host: internal.example",
        "Content-Type: text/plain",
        "Content-Length: 1",
        "Webhook-Signature: v1,secret-token",
        "Transfer-Encoding: chunked",
        "Connection: close",
        "Upgrade: websocket",
        "not a header secret-token",
    ] {
        refused(
            |r| r["channel"]["header"] = json!([header]),
            "subscription.header",
        );
    }
    refused(
        |r| r["channel"]["header"] = json!("Authorization: x"),
        "subscription.element",
    );
}
