//! The mock SystmOne behaves like a GP Connect provider.

use chrono::Utc;
use serde_json::Value;
use waymark_adapter_systmone::{
    GpcIdentity, INTERACTION_ID, MockSystmOne, STRUCTURED_RECORD_PATH, bearer_jwt,
    mock::{MockData, MockFaults},
    parameters,
};

use crate::common::SEED;

async fn call(mock: &MockSystmOne, nhs: &str, headers: bool) -> (u16, Value) {
    let url = format!("{}{STRUCTURED_RECORD_PATH}", mock.base_url());
    let mut request = reqwest::Client::new()
        .post(&url)
        .body(parameters(nhs, Utc::now(), 12).to_string());
    if headers {
        request = request
            .header("Ssp-TraceID", "5b2c0d6e-1111-4a4a-8888-000000000001")
            .header("Ssp-From", "200000001234")
            .header("Ssp-To", "918999198993")
            .header("Ssp-InteractionID", INTERACTION_ID)
            .header(
                "Authorization",
                format!(
                    "Bearer {}",
                    bearer_jwt(&GpcIdentity::default(), &url, Utc::now())
                ),
            );
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

fn spine(outcome: &Value) -> &str {
    outcome
        .pointer("/issue/0/details/coding/0/code")
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[tokio::test]
async fn answers_like_a_gp_connect_provider() {
    let mock = MockSystmOne::synthetic(SEED, 40, &MockFaults::default())
        .await
        .unwrap();
    let nhs = mock.data().pullable()[0].clone();
    let (status, bundle) = call(&mock, &nhs, true).await;
    assert_eq!(status, 200);
    assert_eq!(bundle["type"], "collection");
    let kinds: Vec<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["resourceType"].as_str())
        .collect();
    assert_eq!(
        &kinds[..4],
        [
            "Patient",
            "Organization",
            "Practitioner",
            "PractitionerRole"
        ]
    );
    assert_eq!(kinds.iter().filter(|k| **k == "List").count(), 3);

    let (status, outcome) = call(&mock, &nhs, false).await;
    assert_eq!((status, spine(&outcome)), (400, "BAD_REQUEST"));
    assert_eq!(mock.bad_header_calls(), 1);
    let (status, outcome) = call(&mock, "9990000018", true).await;
    assert_eq!((status, spine(&outcome)), (404, "PATIENT_NOT_FOUND"));
    let (status, outcome) = call(&mock, "9434765918", true).await;
    assert_eq!((status, spine(&outcome)), (400, "INVALID_NHS_NUMBER"));
    mock.set_down(true);
    let (status, _) = call(&mock, &nhs, true).await;
    assert_eq!(status, 503);
    assert_eq!(mock.calls(), 5);
}

#[tokio::test]
async fn the_feed_pages_after_a_cursor_and_can_disorder() {
    let faults = MockFaults {
        duplicate_notifications: true,
        disordered_feed: true,
        ..MockFaults::default()
    };
    let data = MockData::synthetic(SEED, 40, &faults);
    let plain = MockData::synthetic(SEED, 40, &MockFaults::default());
    assert!(
        data.feed().len() > plain.feed().len(),
        "duplicates were added"
    );
    let mock = MockSystmOne::start(data, faults.slow, true).await.unwrap();
    let page: Value = reqwest::Client::new()
        .get(format!("{}/changes?after=2&limit=3", mock.base_url()))
        .header("Ssp-From", "1")
        .header("Ssp-To", "2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seqs: Vec<u64> = page["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        vec![5, 4, 3, 2],
        "reversed, with the one before the cursor repeated"
    );
}
