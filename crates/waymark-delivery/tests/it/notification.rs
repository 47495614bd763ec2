//! Notification bundle shape and subscription files.

use crate::common;

use common::{event, patient_id, releasable, secret, subscription};
use serde_json::{Value, json};
use waymark_core::{ErrorCode, Role};
use waymark_delivery::{
    BACKOFF_CAP, PayloadMode, RETRY_WINDOW, Subscription, backoff, delivery_limit_for,
    notification_bundle, queue_name, queue_spec,
};

fn param<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap()
}

#[test]
fn id_only_notification_is_a_backport_status_and_nothing_else() {
    let sub = subscription(
        "https://example.invalid/hook",
        PayloadMode::IdOnly,
        Role::Probation,
    );
    let released = releasable(1, &sub.recipient);
    let bundle = notification_bundle(&sub, &event(7, 1), Some(&released));
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "history");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "id-only: the status only");
    let status = &entries[0]["resource"];
    assert_eq!(status["resourceType"], "Parameters");
    assert_eq!(
        param(status, "subscription")["valueReference"]["reference"],
        "Subscription/hmp-test-reception"
    );
    assert_eq!(
        param(status, "topic")["valueCanonical"],
        "https://fhir.waymark.org.uk/SubscriptionTopic/prison.reception"
    );
    assert_eq!(param(status, "status")["valueCode"], "active");
    assert_eq!(param(status, "type")["valueCode"], "event-notification");
    assert_eq!(
        param(status, "events-since-subscription-start")["valueString"],
        "7"
    );
    let (number, focus) = common::event_of(&bundle);
    assert_eq!(number, 7);
    assert_eq!(focus, format!("Patient/{}", patient_id(1)));
    let parts = param(status, "notification-event")["part"]
        .as_array()
        .unwrap();
    assert_eq!(
        parts[1],
        json!({"name": "timestamp", "valueInstant": "2024-03-01T10:00:07.000Z"})
    );
    assert_eq!(entries[0]["request"]["method"], "GET");
    assert_eq!(entries[0]["response"]["status"], "200");
    assert!(
        !bundle.to_string().contains("self-harm"),
        "no content in id-only mode"
    );
}

#[test]
fn full_resource_notification_carries_only_the_released_resources() {
    let sub = subscription(
        "https://example.invalid/hook",
        PayloadMode::FullResource,
        Role::Probation,
    );
    let released = releasable(2, &sub.recipient);
    let bundle = notification_bundle(&sub, &event(1, 2), Some(&released));
    let entries = bundle["entry"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["Parameters", "Patient", "Flag", "Provenance"],
        "the Condition is withheld"
    );
    assert!(!bundle.to_string().contains("CANARY-DIAGNOSIS"));
    for entry in &entries[1..] {
        assert!(entry["fullUrl"].as_str().unwrap().starts_with("urn:uuid:"));
        assert_eq!(entry["request"]["method"], "PUT");
        assert!(entry["response"]["status"].is_string());
        assert_eq!(
            entry["resource"],
            released.bundle()["entry"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["fullUrl"] == entry["fullUrl"])
                .unwrap()["resource"]
        );
    }
    assert_eq!(
        bundle["meta"]["security"][0]["code"], "REDACTED",
        "redaction label carried"
    );

    let healthcare = subscription(
        "https://example.invalid/hook",
        PayloadMode::FullResource,
        Role::PrisonHealthcare,
    );
    let everything = notification_bundle(
        &healthcare,
        &event(1, 2),
        Some(&releasable(2, &healthcare.recipient)),
    );
    assert_eq!(everything["entry"].as_array().unwrap().len(), 5);
    assert!(everything["meta"].get("security").is_none());
}

#[test]
fn notifications_are_deterministic_and_distinct_per_subscription() {
    let sub = subscription(
        "https://example.invalid/hook",
        PayloadMode::FullResource,
        Role::Probation,
    );
    let released = releasable(3, &sub.recipient);
    let a = notification_bundle(&sub, &event(1, 3), Some(&released));
    assert_eq!(a, notification_bundle(&sub, &event(1, 3), Some(&released)));
    let mut other = sub.clone();
    other.id = "another".into();
    let b = notification_bundle(&other, &event(1, 3), Some(&released));
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["id"], event(1, 3).event_id.child(&sub.id).as_str());
}

fn subscription_json() -> Value {
    json!({
        "version": 1,
        "id": "leeds-reception",
        "topic": "prison.reception",
        "endpoint": "https://healthcare.hmp-leeds.example/fhir/notify",
        "recipient": { "organisation": "hmp-leeds", "role": "prison-healthcare",
                       "registered": true, "purpose": "continuity-of-care" },
        "secret": secret(9),
        "payload": "full-resource",
        "enabled": true,
    })
}

fn check(edit: impl FnOnce(&mut Value), code: &str) {
    let mut json = subscription_json();
    edit(&mut json);
    let err = Subscription::from_json(&json.to_string()).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert!(
        !err.to_string().contains(&secret(9)[6..]),
        "never echoes the secret"
    );
}

#[test]
fn subscription_files_are_validated() {
    let sub = Subscription::from_json(&subscription_json().to_string()).unwrap();
    assert_eq!(sub.payload, PayloadMode::FullResource);
    assert_eq!(sub.recipient.role, Role::PrisonHealthcare);
    assert!(
        !format!("{sub:?}").contains(&secret(9)[6..]),
        "Debug hides the secret"
    );

    check(|j| j["version"] = json!(2), "subscription.version");
    check(|j| j["id"] = json!("Leeds Reception"), "subscription.id");
    check(|j| j["id"] = json!("x".repeat(65)), "subscription.id");
    check(
        |j| j["topic"] = json!("prison/reception"),
        "subscription.topic",
    );
    check(
        |j| j["endpoint"] = json!("http://hmp-leeds.example/notify"),
        "subscription.endpoint",
    );
    check(
        |j| j["endpoint"] = json!("ftp://hmp-leeds.example/"),
        "subscription.endpoint",
    );
    check(
        |j| j["endpoint"] = json!("https://user:pw@hmp-leeds.example/"),
        "subscription.endpoint",
    );
    check(
        |j| j["endpoint"] = json!("not a url"),
        "subscription.endpoint",
    );
    check(
        |j| j["secret"] = json!("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        "subscription.secret",
    );
    check(
        |j| j["secret"] = json!("whsec_c2hvcnQ="),
        "subscription.secret",
    );
    check(
        |j| j["payload"] = json!("everything"),
        "subscription.malformed",
    );
    check(|j| j["colour"] = json!("blue"), "subscription.malformed");
    check(
        |j| j["recipient"]["rank"] = json!("sergeant"),
        "subscription.malformed",
    );

    let mut loopback = subscription_json();
    loopback["endpoint"] = json!("http://127.0.0.1:8080/notify");
    loopback.as_object_mut().unwrap().remove("enabled");
    let sub = Subscription::from_json(&loopback.to_string()).unwrap();
    assert!(sub.enabled, "enabled by default");
}

#[test]
fn queue_names_and_specs() {
    let sub = subscription(
        "https://example.invalid/hook",
        PayloadMode::IdOnly,
        Role::Probation,
    );
    assert_eq!(
        queue_name("leeds-reception"),
        "waymark.deliver.leeds-reception"
    );
    let spec = queue_spec(&sub);
    assert_eq!(spec.name, "waymark.deliver.hmp-test-reception");
    assert_eq!(spec.lease.as_secs(), 60);
    assert_eq!(spec.delivery_limit, delivery_limit_for(RETRY_WINDOW));
}

#[test]
fn the_delivery_limit_covers_the_retry_window() {
    let limit = delivery_limit_for(RETRY_WINDOW);
    // Retries happen after deliveries 1 ..= limit-1; at their shortest they must span the window,
    // and one delivery fewer must not.
    let shortest = |deliveries: u32| {
        (1..deliveries)
            .map(|a| backoff(a, 0.0))
            .sum::<std::time::Duration>()
    };
    assert!(shortest(limit) >= RETRY_WINDOW);
    assert!(shortest(limit - 1) < RETRY_WINDOW);
    let longest: std::time::Duration = (1..limit).map(|a| backoff(a, 1.0)).sum();
    // Equal jitter waits between half and all of each delay: at most twice the shortest span.
    assert!(longest <= shortest(limit) * 2, "{longest:?}");
    assert_eq!(backoff(limit, 1.0), BACKOFF_CAP);
    eprintln!(
        "delivery limit {limit}: retries span {:?} to {:?}",
        shortest(limit),
        longest
    );
}
