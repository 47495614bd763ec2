//! The pull endpoint: `202` only once the request is in the journal file.

use waymark_adapter_systmone::{STATUS_PATH, mock::MockFaults};

use crate::common::Harness;

#[tokio::test]
async fn accepted_only_once_journaled_and_refused_when_unusable() {
    let mut h = Harness::new(30, &MockFaults::default()).await;
    h.bus.refuse(true); // keep the request pending so the journal still holds it
    h.start().await;
    let nhs = h.mock.data().pullable()[0].clone();
    let http = reqwest::Client::new();
    let body = format!(
        r#"{{"nhsNumber":"{nhs}","reason":"prison-reception","requestedAt":"2025-02-01T10:00:00Z"}}"#
    );
    let response = http
        .post(h.adapter().endpoint())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let answer: serde_json::Value = response.json().await.unwrap();
    let journal = std::fs::read_to_string(&h.config.journal_path).unwrap();
    assert!(
        journal.contains(&format!(r#""seq":{}"#, answer["seq"])),
        "journaled before 202"
    );
    assert!(journal.contains("prison-reception"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&h.config.journal_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the journal holds NHS numbers: owner only");
    }
    let again: serde_json::Value = http
        .post(h.adapter().endpoint())
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(again["coalesced"].as_bool().unwrap() || again["seq"] != answer["seq"]);
    let refused = http
        .post(h.adapter().endpoint())
        .body(r#"{"nhsNumber":"123","reason":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let text = refused.text().await.unwrap();
    assert!(text.contains("systmone.invalid-request") && !text.contains("123"));
    let status: serde_json::Value = http
        .get(format!("http://{}{STATUS_PATH}", h.adapter().local_addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["rejected"], 1);
    assert!(status["accepted"].as_u64().unwrap() >= 1);
    h.bus.refuse(false);
    h.drained().await;
    assert_eq!(h.bus.ready().await, 1);
    h.stop().await;
}
