//! The mock SCR: deterministic, shaped like the real samples, and in step with the mapping's
//! synthetic fixtures.

use std::path::PathBuf;

use serde_json::{Value, json};
use waymark_adapter_scr::{Faults, GP_SUMMARY, ScrPopulation, ScrState, message_id};

use crate::common::{Harness, eventually};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mappings/scr/tests")
}

#[test]
fn same_seed_same_bytes_and_every_state_occurs() {
    let a = ScrPopulation::generate(21, 200);
    let b = ScrPopulation::generate(21, 200);
    let bytes = |p: &ScrPopulation| -> Vec<Vec<u8>> {
        p.people()
            .iter()
            .map(|person| serde_json::to_vec(&p.summary(person)).unwrap())
            .collect()
    };
    assert_eq!(bytes(&a), bytes(&b));
    assert_ne!(bytes(&a), bytes(&ScrPopulation::generate(22, 200)));
    for state in [ScrState::Summary, ScrState::NoConsent, ScrState::NoRecord] {
        assert!(a.count(state) > 0, "{state:?}");
    }
    assert!(a.people().len() > 150, "most people have an NHS number");
}

/// The synthetic fixtures of `mappings/scr/tests/` are the mock's answers for chosen people
/// (`WAYMARK_BLESS=1` rewrites them): the mapping is tested on what the mock serves.
#[test]
fn synthetic_fixtures_are_what_the_mock_serves() {
    let population = ScrPopulation::generate(7, 200);
    let pick = |want: &dyn Fn(&str) -> bool| {
        population
            .people()
            .iter()
            .filter(|p| p.state == ScrState::Summary)
            .find(|p| want(&serde_json::to_string(&population.summary(p)).unwrap()))
            .unwrap()
    };
    let cases = [
        (
            "synthetic-gp-summary-mental-health",
            pick(&|s: &str| {
                s.contains("Olanzapine")
                    && s.contains("Risks to Patient\"}]}")
                    && s.contains("58214004")
                    || s.contains("Sertraline") && s.contains("35489007") && s.contains("225444004")
            }),
        ),
        (
            "synthetic-gp-summary-opiate-substitution",
            pick(&|s: &str| {
                (s.contains("Methadone") || s.contains("Buprenorphine"))
                    && s.contains("Repeat Medication")
            }),
        ),
    ];
    let bless = std::env::var_os("WAYMARK_BLESS").is_some();
    for (case, person) in cases {
        let summary = population.summary(person);
        let bytes = serde_json::to_vec(&summary).unwrap();
        let input = json!({
            "envelope": {
                "id": message_id(person.nhs.expose(), &bytes).as_str(),
                "source": "scr", "messageType": GP_SUMMARY,
                "eventTime": "2024-06-15T10:00:00Z", "receivedAt": "2024-06-15T10:00:01Z",
            },
            "message": summary,
            "context": { "request": { "nhsNumber": person.nhs.expose(), "reason": "prison-reception" } },
        });
        let path = fixtures().join(format!("{case}.input.json"));
        if bless {
            let text = serde_json::to_string_pretty(&input).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        }
        let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(stored, input, "{case}: run with WAYMARK_BLESS=1 and review");
    }
}

#[tokio::test]
async fn the_mock_refuses_requests_without_a_token() {
    let harness = Harness::new(ScrPopulation::generate(23, 10), Faults::default()).await;
    let url = format!(
        "{}/DocumentReference?patient=https://fhir.nhs.uk/Id/nhs-number|9434765919",
        harness.mock.base_url()
    );
    let status = reqwest::get(&url).await.unwrap().status().as_u16();
    assert_eq!(status, 401);
    let mut config = harness.config();
    config.auth_token = String::new().into();
    assert!(config.validate().is_ok());
    let started = harness.start_with(config).await;
    let handle = started.adapter.handle();
    let person = &harness.mock.population().people()[0];
    let request = waymark_adapter_scr::PullRequest::new(person.nhs.expose(), "identified");
    handle.submit(request.unwrap()).await.unwrap();
    assert!(
        eventually(std::time::Duration::from_secs(20), || handle
            .status()
            .failed
            == 1)
        .await
    );
    assert_eq!(handle.failed_codes(), vec!["scr.api.status".to_owned()]);
    started.shutdown().await;
}

fn documents_url(harness: &Harness, nhs: &str) -> String {
    format!(
        "{}/DocumentReference?patient=https://fhir.nhs.uk/Id/nhs-number|{nhs}",
        harness.mock.base_url()
    )
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let faults = Faults {
        drop_percent: 100,
        ..Faults::default()
    };
    let harness = Harness::new(ScrPopulation::generate(24, 10), faults).await;
    let person = &harness.mock.population().people()[0];
    let client = reqwest::Client::new();
    let get = || {
        client
            .get(documents_url(&harness, person.nhs.expose()))
            .bearer_auth("t")
            .send()
    };
    // The connection is dropped before the answer is complete.
    let first = match get().await {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(err) => Err(err),
    };
    assert!(first.is_err(), "the answer is cut off");
    let second = get().await.unwrap().bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&second).is_ok());

    let started = harness.start().await;
    let handle = started.adapter.handle();
    let other = &harness.mock.population().people()[1];
    let request = waymark_adapter_scr::PullRequest::new(other.nhs.expose(), "identified");
    handle.submit(request.unwrap()).await.unwrap();
    assert!(
        eventually(std::time::Duration::from_secs(20), || handle.status().done
            == 1)
        .await
    );
    assert!(handle.telemetry().retried >= 1);
    started.shutdown().await;
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let faults = Faults {
        server_error_percent: 100,
        retry_after_secs: 1,
        ..Faults::default()
    };
    let harness = Harness::new(ScrPopulation::generate(25, 10), faults).await;
    let mut config = harness.config();
    config.max_backoff_ms = 5_000;
    let started = harness.start_with(config).await;
    let handle = started.adapter.handle();
    let person = &harness.mock.population().people()[0];
    let request = waymark_adapter_scr::PullRequest::new(person.nhs.expose(), "identified");
    let at = std::time::Instant::now();
    handle.submit(request.unwrap()).await.unwrap();
    assert!(
        eventually(std::time::Duration::from_secs(20), || handle.status().done
            == 1)
        .await
    );
    // Each step's first attempt is answered 503 with `Retry-After: 1`.
    let waited = at.elapsed();
    let steps = if person.state == ScrState::Summary {
        2
    } else {
        1
    };
    assert!(
        waited >= std::time::Duration::from_secs(steps),
        "{waited:?}"
    );
    assert_eq!(handle.telemetry().retried, steps);
    started.shutdown().await;
}
