//! Subscription files: older files still read, the example file is valid.

use crate::common;

use serde_json::json;
use waymark_core::ErrorCode;
use waymark_delivery::{PayloadMode, Subscription, SubscriptionStatus};

#[test]
fn subscription_files_without_the_new_fields_still_read() {
    let old = json!({
        "version": 1, "id": "old", "topic": "prison.reception",
        "endpoint": "http://127.0.0.1:9/", "payload": "id-only",
        "recipient": { "organisation": "o", "role": "probation", "purpose": "p" },
        "secret": common::secret(3),
    });
    let sub = Subscription::from_json(&old.to_string()).unwrap();
    assert_eq!(sub.status, SubscriptionStatus::Active);
    assert!(sub.is_live());
    assert!(sub.filters.is_empty() && sub.headers.is_empty());
    assert_eq!(
        (sub.heartbeat_period, sub.previous_secret.is_none()),
        (None, true)
    );
    let written = serde_json::to_value(&sub).unwrap();
    assert!(
        written.get("filters").is_none(),
        "defaults are not written: {written}"
    );
    let mut new = old.clone();
    new["status"] = json!("off");
    new["filters"] = json!([{ "name": "patient-identifier", "value": "https://fhir.nhs.uk/Id/nhs-number|9434765919" }]);
    new["heartbeat_period"] = json!(3600);
    new["payload"] = json!("signal");
    let sub = Subscription::from_json(&new.to_string()).unwrap();
    assert!(!sub.is_live());
    assert_eq!(sub.payload, PayloadMode::Signal);
    assert!(
        !format!("{sub:?}").contains("9434765919"),
        "Debug hides filter values"
    );
    new["heartbeat_period"] = json!(59);
    let err = Subscription::from_json(&new.to_string()).unwrap_err();
    assert_eq!(err.code(), "subscription.heartbeat");
}

#[test]
fn the_example_subscriptions_file_reads() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/config/subscriptions.example.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let subs: Vec<Subscription> = serde_json::from_str(&text).unwrap();
    for sub in &subs {
        sub.validate().unwrap();
    }
    assert!(subs.iter().any(|s| s.heartbeat_period.is_some()));
}
