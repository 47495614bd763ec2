//! Inputs beyond the mock's script: hostile bodies, SNS confirmations, a body over the limit.

use waymark_adapter_nomis::{MAX_BODY_BYTES, SNS_TYPE_HEADER};

/// An SNS notification with its own `MessageId` around `message`.
pub fn notification(id: &str, message: &str) -> Vec<u8> {
    serde_json::json!({"Type": "Notification", "MessageId": id, "Message": message})
        .to_string()
        .into_bytes()
}

/// Bodies no real sender writes: each must be published with `context.error`, none may panic.
pub fn hostile_bodies() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"null".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80],
        "[".repeat(100_000).into_bytes(),
        notification("h-1", &"{".repeat(50_000)),
        notification("h-2", "not json at all"),
        notification("h-3", r#"{"eventType":"OFFENDER-UPDATED","bookingId":-5}"#),
        br#"{"Type":"Notification","MessageId":7,"Message":{}}"#.to_vec(),
    ]
}

/// A body one byte over what the endpoint reads.
pub fn over_the_limit() -> Vec<u8> {
    vec![b' '; MAX_BODY_BYTES + 1]
}

/// POSTs an SNS `SubscriptionConfirmation` to `endpoint`; the HTTP status.
pub async fn confirm_subscription(endpoint: &str) -> u16 {
    let body = r#"{"Type":"SubscriptionConfirmation","MessageId":"c-1","Token":"t"}"#;
    let response = reqwest::Client::new()
        .post(endpoint)
        .header(SNS_TYPE_HEADER, "SubscriptionConfirmation")
        .body(body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}
