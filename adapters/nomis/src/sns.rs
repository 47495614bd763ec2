//! Shaping notifications the way SNS delivers HMPPS offender events over HTTP(S): the envelope
//! fields in SNS's order, the event as a JSON string in `Message`, and the message attributes.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::rng::SplitMix64;

const TOPIC: &str = "arn:aws:sns:eu-west-2:000000000000:waymark-mock-offender-events";

/// A JSON object with its keys in the given order (as HMPPS writes them).
pub(crate) fn ordered(fields: &[(&str, Value)]) -> String {
    ordered_raw(
        fields
            .iter()
            .map(|(name, value)| (*name, value.to_string()))
            .collect(),
    )
}

/// A JSON object from names and already-serialised values, in order.
fn ordered_raw(fields: Vec<(&str, String)>) -> String {
    let members: Vec<String> = fields
        .into_iter()
        .map(|(name, raw)| format!("{}:{raw}", Value::String(name.to_owned())))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// An SNS notification body; `padding` adds a huge extra message attribute.
pub(crate) fn sns_body(
    rng: &mut SplitMix64,
    at: DateTime<Utc>,
    event_type: &str,
    message: &str,
    padding: Option<&str>,
) -> Vec<u8> {
    let sent = at + Duration::milliseconds(i64::try_from(200 + rng.below(2_000)).unwrap_or(0));
    let string = |value: &str| json!({"Type": "String", "Value": value});
    let mut attributes = vec![
        ("eventType", string(event_type)),
        ("id", string(&rng.uuid())),
        ("contentType", string("text/plain;charset=UTF-8")),
        (
            "timestamp",
            json!({"Type": "Number.java.lang.Long", "Value": sent.timestamp_millis().to_string()}),
        ),
    ];
    if let Some(padding) = padding {
        attributes.push(("padding", string(padding)));
    }
    let message_id = rng.uuid();
    let text = |value: String| Value::String(value).to_string();
    let unsubscribe = format!("https://sns.invalid/?Action=Unsubscribe&SubscriptionArn={TOPIC}");
    ordered_raw(vec![
        ("Type", text("Notification".into())),
        ("MessageId", text(message_id.clone())),
        ("TopicArn", text(TOPIC.into())),
        ("Message", text(message.into())),
        (
            "Timestamp",
            text(sent.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        ),
        ("SignatureVersion", text("1".into())),
        (
            "Signature",
            text(format!("bW9jay1zaWduYXR1cmUt{message_id}")),
        ),
        (
            "SigningCertURL",
            text("https://sns.invalid/SimpleNotificationService-mock.pem".into()),
        ),
        ("UnsubscribeURL", text(unsubscribe)),
        ("MessageAttributes", ordered(&attributes)),
    ])
    .into_bytes()
}
