//! [`Subscription::to_fhir`]: never a secret, never a header value.

use serde_json::{Value, json};

use super::{
    CLOUDEVENTS_JSON, FHIR_JSON, REDACTED_HEADER_VALUE, SUBSCRIPTION_PROFILE, backport, waymark,
};
use crate::{PayloadMode, Subscription, SubscriptionStatus, TOPIC_BASE, parse_header};

impl Subscription {
    /// The subscription as an R4 `Subscription` in the Backport IG shape. Never carries a secret;
    /// headers keep their names, their values are [`REDACTED_HEADER_VALUE`]. A disabled
    /// subscription is written with status `off`.
    pub fn to_fhir(&self) -> Value {
        let status = if self.enabled {
            self.status
        } else {
            SubscriptionStatus::Off
        };
        let reason = self.reason.clone().unwrap_or_else(|| {
            format!(
                "{} notifications for {}",
                self.topic, self.recipient.organisation
            )
        });
        let mut resource = json!({
            "resourceType": "Subscription",
            "id": self.id,
            "meta": { "profile": [SUBSCRIPTION_PROFILE] },
            "extension": [recipient_extension(self)],
            "status": status.code(),
            "reason": reason,
            "criteria": format!("{TOPIC_BASE}{}", self.topic),
            "channel": channel(self),
        });
        if !self.filters.is_empty() {
            let filters: Vec<Value> = self
                .filters
                .iter()
                .map(|f| {
                    json!({
                        "url": backport("backport-filter-criteria"),
                        "valueString": format!("{}={}", f.name.as_str(), f.value.expose()),
                    })
                })
                .collect();
            resource["_criteria"] = json!({ "extension": filters });
        }
        resource
    }
}

fn recipient_extension(sub: &Subscription) -> Value {
    let r = &sub.recipient;
    json!({
        "url": waymark("subscription-recipient"),
        "extension": [
            { "url": "organisation", "valueString": r.organisation },
            { "url": "role", "valueCode": r.role.code() },
            { "url": "registered", "valueBoolean": r.registered },
            { "url": "purpose", "valueString": r.purpose },
        ],
    })
}

fn channel(sub: &Subscription) -> Value {
    let (mime, content) = match sub.payload {
        PayloadMode::IdOnly => (FHIR_JSON, "id-only"),
        PayloadMode::FullResource => (FHIR_JSON, "full-resource"),
        PayloadMode::Signal => (CLOUDEVENTS_JSON, "id-only"),
    };
    let mut channel = json!({
        "type": "rest-hook",
        "endpoint": sub.endpoint,
        "payload": mime,
        "_payload": { "extension": [
            { "url": backport("backport-payload-content"), "valueCode": content },
        ] },
    });
    if let Some(period) = sub.heartbeat_period {
        channel["extension"] = json!([
            { "url": backport("backport-heartbeat-period"), "valueUnsignedInt": period },
        ]);
    }
    let headers: Vec<String> = sub
        .headers
        .iter()
        .filter_map(|h| parse_header(h.expose()).ok())
        .map(|(name, _)| format!("{name}: {REDACTED_HEADER_VALUE}"))
        .collect();
    if !headers.is_empty() {
        channel["header"] = json!(headers);
    }
    channel
}
