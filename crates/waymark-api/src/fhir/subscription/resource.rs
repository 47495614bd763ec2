//! Pure helpers over `Subscription` resources and stored subscriptions: the recipient a caller
//! writes, the secret and header values an update leaves out (they are never read back), the
//! stored JSON, and the answer's `meta`.

use serde_json::{Value, json};
use waymark_core::{ErrorCode, IssueType, Sensitive};
use waymark_delivery::{
    REDACTED_HEADER_VALUE, Subscription, SubscriptionStatus, WAYMARK_EXTENSION_BASE, parse_header,
};
use waymark_policy::Recipient;
use waymark_store::StoredSubscription;

/// The purpose of a subscription whose writer states none.
pub(crate) const DEFAULT_PURPOSE: &str = "continuity-of-care";

/// A stored subscription that does not read back (written by another build, or damaged).
#[derive(Debug, thiserror::Error)]
#[error("stored subscription `{0}` does not read")]
pub(crate) struct Unreadable(pub String);

impl ErrorCode for Unreadable {
    fn code(&self) -> &'static str {
        "api.subscription.unreadable"
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Exception
    }
}

fn url(name: &str) -> String {
    format!("{WAYMARK_EXTENSION_BASE}{name}")
}

fn extensions(v: &Value) -> impl Iterator<Item = &Value> {
    v.get("extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn has_extension(v: &Value, name: &str) -> bool {
    let url = url(name);
    extensions(v).any(|e| e["url"] == url.as_str())
}

/// The purpose stated in the resource's recipient extension, if any.
pub(crate) fn stated_purpose(resource: &Value) -> Option<String> {
    let url = url("subscription-recipient");
    extensions(resource)
        .find(|e| e["url"] == url.as_str())
        .and_then(|e| extensions(e).find(|p| p["url"] == "purpose"))
        .and_then(|p| p["valueString"].as_str())
        .map(str::trim)
        .filter(|p| !p.is_empty() && p.len() <= 64)
        .map(str::to_owned)
}

/// Replaces the resource's recipient extension by `recipient`.
pub(crate) fn set_recipient(resource: &mut Value, recipient: &Recipient) {
    let url = url("subscription-recipient");
    let mut kept: Vec<Value> = extensions(resource)
        .filter(|e| e["url"] != url.as_str())
        .cloned()
        .collect();
    kept.push(json!({
        "url": url,
        "extension": [
            { "url": "organisation", "valueString": recipient.organisation },
            { "url": "role", "valueCode": recipient.role.code() },
            { "url": "registered", "valueBoolean": recipient.registered },
            { "url": "purpose", "valueString": recipient.purpose },
        ],
    }));
    if let Some(object) = resource.as_object_mut() {
        object.insert("extension".to_owned(), Value::Array(kept));
    }
}

/// Whether the resource states a signing secret (on the channel or the resource).
pub(crate) fn states_secret(resource: &Value) -> bool {
    has_extension(resource, "subscription-secret")
        || has_extension(&resource["channel"], "subscription-secret")
}

/// Adds `secret` as the channel's secret extension (an update that left it out keeps the
/// stored one).
pub(crate) fn set_secret(resource: &mut Value, secret: &str) {
    let ext = json!({ "url": url("subscription-secret"), "valueString": secret });
    let channel = &mut resource["channel"];
    if !channel.is_object() {
        return;
    }
    match channel["extension"].as_array_mut() {
        Some(list) => list.push(ext),
        None => channel["extension"] = json!([ext]),
    }
}

/// Puts back the stored value of every header `sub` carries as `Name: [redacted]` (what a
/// read answered). `Err(())` when such a header names no stored header.
pub(crate) fn restore_headers(sub: &mut Subscription, stored: &Subscription) -> Result<(), ()> {
    for header in &mut sub.headers {
        let Ok((name, value)) = parse_header(header.expose()) else {
            continue;
        };
        if value != REDACTED_HEADER_VALUE {
            continue;
        }
        let found = stored
            .headers
            .iter()
            .find(|h| parse_header(h.expose()).is_ok_and(|(n, _)| n.eq_ignore_ascii_case(name)));
        match found {
            Some(h) => *header = Sensitive::new(h.expose().clone()),
            None => return Err(()),
        }
    }
    Ok(())
}

/// The stored subscription, its status the stored one (which wins over the body's).
pub(crate) fn decode(stored: &StoredSubscription) -> Result<Subscription, Unreadable> {
    let mut sub: Subscription =
        serde_json::from_str(stored.body.expose()).map_err(|_| Unreadable(stored.id.clone()))?;
    sub.status =
        SubscriptionStatus::from_code(&stored.status).ok_or(Unreadable(stored.id.clone()))?;
    Ok(sub)
}

/// The JSON stored for `sub`.
pub(crate) fn encode(sub: &Subscription) -> String {
    serde_json::to_string(sub).unwrap_or_default()
}

/// `sub` as a FHIR resource with its version, and `error` (R4 `Subscription.error`) when the
/// last handshake failed.
pub(crate) fn answer(sub: &Subscription, version: u64, error: Option<&str>) -> Value {
    let mut resource = sub.to_fhir();
    resource["meta"]["versionId"] = json!(version.to_string());
    if let Some(error) = error {
        resource["error"] = json!(error);
    }
    resource
}

#[cfg(test)]
mod tests {
    use waymark_core::Role;
    use waymark_delivery::PayloadMode;

    use super::*;

    const SECRET: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3";

    fn recipient(org: &str) -> Recipient {
        Recipient {
            organisation: org.to_owned(),
            role: Role::CustodyHealthcare,
            registered: true,
            purpose: "p".to_owned(),
        }
    }

    fn sub() -> Subscription {
        let mut sub = Subscription::new(
            "s-1",
            "prison.reception",
            "http://127.0.0.1:9/notify",
            recipient("A"),
            SECRET,
            PayloadMode::IdOnly,
        );
        sub.headers = vec![Sensitive::new("X-Api-Key: k1".to_owned())];
        sub
    }

    #[test]
    fn a_read_back_resource_updates_with_the_stored_secret_and_headers() {
        let stored = sub();
        let mut resource = stored.to_fhir();
        assert!(!states_secret(&resource));
        assert!(!resource.to_string().contains("k1"));
        set_secret(&mut resource, SECRET);
        set_recipient(&mut resource, &recipient("B"));
        assert_eq!(stated_purpose(&resource).as_deref(), Some("p"));
        let mut again =
            Subscription::from_fhir(&resource, &waymark_delivery::EndpointPolicy::local()).unwrap();
        assert_eq!(again.recipient.organisation, "B");
        restore_headers(&mut again, &stored).unwrap();
        assert_eq!(again.headers[0].expose(), "X-Api-Key: k1");
        again.headers = vec![Sensitive::new(format!("X-Other: {REDACTED_HEADER_VALUE}"))];
        assert!(restore_headers(&mut again, &stored).is_err());
    }

    #[test]
    fn the_stored_status_wins() {
        let stored = StoredSubscription {
            id: "s-1".to_owned(),
            body: Sensitive::new(encode(&sub())),
            status: "error".to_owned(),
            version: 3,
            updated_at: chrono::Utc::now(),
        };
        assert_eq!(decode(&stored).unwrap().status, SubscriptionStatus::Error);
        let resource = answer(&decode(&stored).unwrap(), 3, Some("http 503"));
        assert_eq!(resource["meta"]["versionId"], "3");
        assert_eq!(resource["error"], "http 503");
        assert!(!resource.to_string().contains(SECRET));
    }
}
