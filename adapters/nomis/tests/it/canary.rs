//! Plants canary names and identifiers in everything the mock sends and serves, runs them through
//! the adapter with every log level captured, and asserts no canary reaches the logs.

use crate::common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use common::Harness;
use serde_json::{Value, json};
use waymark_adapter_nomis::Population;

const PRISON_NUMBER: &str = "Q9876QZ";
const UNKNOWN_NUMBER: &str = "Q1111QQ";
const CANARIES: &[&str] = &[
    PRISON_NUMBER,
    UNKNOWN_NUMBER,
    "CANARYGIVENNAME",
    "CANARYSURNAME",
    "1901-02-03",
    "CANARYALERTTEXT",
    "CANARY-BAD-ID",
    "CANARYMALFORMED",
    "CANARY EVENT TYPE",
    "8765432",
];

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn notification(id: &str, message: &Value) -> Value {
    json!({"Type": "Notification", "MessageId": id, "Message": message.to_string(),
           "Timestamp": "2024-07-01T10:00:00.000Z", "SignatureVersion": "1", "MessageAttributes": {}})
}

fn mapping(path: String, body: Value) -> Value {
    json!({"request": {"method": "GET", "urlPath": path}, "response": {"status": 200, "jsonBody": body}})
}

fn write_fixtures(dir: &std::path::Path) {
    let status = json!({"nomsId": PRISON_NUMBER, "bookingId": 8765432, "givenName1": "CANARYGIVENNAME",
        "lastName": "CANARYSURNAME", "dateOfBirth": "1901-02-03"});
    let alerts =
        json!([{"alertCode": "HA", "comment": "CANARYALERTTEXT", "offenderNo": PRISON_NUMBER}]);
    let files = [
        (
            "getPrisoner.json",
            mapping(
                format!("/api/prisoners/{PRISON_NUMBER}/full-status"),
                status,
            ),
        ),
        (
            "getAlerts.json",
            mapping("/api/bookings/8765432/alerts".into(), alerts),
        ),
        (
            "n1.json",
            notification(
                "c-1",
                &json!({"eventType": "OFFENDER-UPDATED",
            "eventDatetime": "2024-07-01T11:00:00", "offenderIdDisplay": PRISON_NUMBER}),
            ),
        ),
        (
            "n2.json",
            notification(
                "c-2",
                &json!({"eventType": "OFFENDER-UPDATED",
            "offenderIdDisplay": "CANARY-BAD-ID"}),
            ),
        ),
        (
            "n3.json",
            notification(
                "c-3",
                &json!({"eventType": "CANARY EVENT TYPE",
            "offenderIdDisplay": PRISON_NUMBER}),
            ),
        ),
        (
            "n4.json",
            notification(
                "c-4",
                &json!({"eventType": "EXTERNAL_MOVEMENT_RECORD-INSERTED",
            "bookingId": 8765432, "offenderIdDisplay": UNKNOWN_NUMBER, "eventDatetime": "nonsense"}),
            ),
        ),
        (
            "n5.json",
            notification(
                "c-5",
                &json!({"eventType": "IMPRISONMENT_STATUS-CHANGED",
            "bookingId": 8765432}),
            ),
        ),
    ];
    for (name, value) in files {
        std::fs::write(dir.join(name), serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    }
}

#[tokio::test]
async fn canary_identifiers_never_reach_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let dir = tempfile::tempdir().unwrap();
    write_fixtures(dir.path());
    let mut population = Population::from_wiremock_dir(dir.path()).unwrap();
    let malformed = br#"{"Type":"Notification","Message":"CANARYMALFORMED Q9876QZ"#.to_vec();
    population.add_notification(waymark_adapter_nomis::ScriptedNotification {
        label: "malformed".into(),
        body: malformed,
        expect: waymark_adapter_nomis::Expect::Bad,
    });
    let harness = Harness::start(population).await;
    let report = harness.push_all().await;
    assert_eq!(report.acknowledged, 6);
    let envelopes = harness.bus.envelopes();
    assert_eq!(envelopes.len(), 6);
    let enriched = envelopes
        .iter()
        .filter(|e| e.context.expose().get("prisoner").is_some())
        .count();
    assert_eq!(enriched, 1, "the canary prisoner went the whole way");
    harness.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("nomis envelope published"),
        "logs were captured: {logs}"
    );
    assert!(logs.contains("nomis.prison-api.not-found") && logs.contains("nomis.unresolvable"));
    for canary in CANARIES {
        assert!(
            !logs.contains(canary),
            "canary `{canary}` leaked into the logs:\n{logs}"
        );
    }
}
