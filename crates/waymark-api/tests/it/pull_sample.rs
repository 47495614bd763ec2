//! The pull property at the API: a few hundred random people (the policy tests' generator:
//! records merged from several sources, random Consents), each stored and read through
//! `GET /fhir/Patient/{id}/$summary` over `oneshot` by random roles, and every answer checked
//! with the policy tests' own oracle (no resource or section of a class outside the role's
//! policy and the person's Consents). Plus the break-glass alert for the privacy officer.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use axum::{
    Extension, Router,
    body::Body,
    http::{Request, header},
};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use waymark_api::{SharedHealth, fhir::access::READ_PURPOSE, router};
use waymark_bus::SqliteBus;
use waymark_core::{MessageId, Role, Sensitive, SourceSystem};
use waymark_health::{AlertState, HealthBoard, HealthConfig, codes};
use waymark_policy::Recipient;
use waymark_store::{ApplyOutcome, NewConsent, PersonChoice, RecordChange, SqliteStore, Store};

use crate::support::{Dev, repo_parts, state};

#[path = "../../../waymark-policy/tests/it/common/mod.rs"]
mod policy_common;

use policy_common::{
    Person, Rng, probation_sees_mh_clinical, random_consents, random_record, summary_violations,
};

/// People stored and read.
const PEOPLE: u64 = 300;
/// Reads per person, each by a random role.
const READS: usize = 2;
const ORG: &str = "ORG01";
const REASON: &str = "unconscious on arrival CANARY-REASON";

struct Hub {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    dev: Dev,
    board: SharedHealth,
    app: Router,
    plain: Router,
}

async fn hub() -> Hub {
    hub_with(waymark_policy::Policy::builtin().unwrap()).await
}

/// A hub whose API releases through `policy`.
async fn hub_with(policy: waymark_policy::Policy) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("s.db")).await.unwrap());
    let bus = Arc::new(SqliteBus::open(&dir.path().join("b.db")).await.unwrap());
    let (mappings, validator) = repo_parts();
    let dev = Dev::new();
    let mut state = state(store.clone(), bus, mappings, validator, &dev);
    state.policy = Arc::new(policy);
    let board: SharedHealth = Arc::new(Mutex::new(HealthBoard::new(HealthConfig::default())));
    let app = router(state.clone()).layer(Extension(board.clone()));
    Hub {
        _dir: dir,
        store,
        dev,
        board,
        app,
        plain: router(state),
    }
}

/// Stores a random person (their merged record and their Consents); returns their id.
async fn store_person(hub: &Hub, rng: &mut Rng, n: u64) -> (String, Person) {
    let now = Utc::now();
    let record = random_record(rng, n, now);
    let change = RecordChange {
        message_id: MessageId::derive(SourceSystem::Nomis, &format!("pull-sample-{n}")),
        source: SourceSystem::Nomis,
        message_type: "TEST".to_owned(),
        event_time: None,
        recorded_at: now,
        bundle: Sensitive::new("{}".to_owned()),
        person: PersonChoice::New,
        identifiers: Vec::new(),
        demographics: Sensitive::new(String::new()),
        block_keys: Vec::new(),
        expected_version: 0,
        record: Sensitive::new(serde_json::to_string(&record).unwrap()),
        events: Vec::new(),
        review: None,
    };
    let ApplyOutcome::Applied { person_id, .. } = hub.store.apply(change).await.unwrap() else {
        panic!("a new person is applied");
    };
    let consents = random_consents(rng);
    for c in &consents {
        hub.store
            .put_consent(NewConsent {
                person_id: person_id.clone(),
                consent_id: c["id"].as_str().unwrap().to_owned(),
                status: c["status"].as_str().unwrap().to_owned(),
                consent: Sensitive::new(c.to_string()),
                recorded_at: now,
            })
            .await
            .unwrap();
    }
    let summary = waymark_record::summary(&record, now);
    (person_id, Person { summary, consents })
}

async fn get(app: &Router, uri: &str, token: &str, glass: Option<&str>) -> (u16, Value) {
    let mut request = Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(reason) = glass {
        request = request.header("x-break-glass-reason", reason);
    }
    let request = request.body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn reader(role: Role, registered: bool) -> Recipient {
    Recipient {
        organisation: ORG.to_owned(),
        role,
        registered,
        purpose: READ_PURPOSE.to_owned(),
    }
}

/// Stores `people` random people and reads each `READS` times as a random role among
/// `roles`; returns the violations found and the count of answers by status.
async fn sample(hub: &Hub, people: u64, roles: &[Role]) -> (Vec<String>, BTreeMap<u16, usize>) {
    let mut rng = Rng::new(0xa91_5a3e);
    let mut tokens: BTreeMap<(Role, bool), String> = BTreeMap::new();
    let mut answers: BTreeMap<u16, usize> = BTreeMap::new();
    let mut found = Vec::new();
    for n in 0..people {
        let (id, person) = store_person(hub, &mut rng, n).await;
        for _ in 0..READS {
            let (role, registered) = (*rng.pick(roles), rng.below(2) == 0);
            let token = tokens
                .entry((role, registered))
                .or_insert_with(|| hub.dev.token(role, registered, ORG));
            let uri = format!("/fhir/Patient/{id}/$summary");
            let (status, body) = get(&hub.app, &uri, token, None).await;
            *answers.entry(status).or_default() += 1;
            match status {
                200 => found.extend(summary_violations(
                    &body,
                    &reader(role, registered),
                    &person.consents,
                    Utc::now(),
                )),
                403 => {}
                other => found.push(format!("{role}: status {other}: {body}")),
            }
        }
    }
    (found, answers)
}

#[tokio::test]
async fn random_people_pulled_through_summary_never_leak_a_class() {
    let hub = hub().await;
    let (found, answers) = sample(&hub, PEOPLE, Role::ALL).await;
    eprintln!(
        "{PEOPLE} people, {} reads: {answers:?}",
        PEOPLE as usize * READS
    );
    assert!(
        found.is_empty(),
        "{} violations, first: {:?}",
        found.len(),
        found.first()
    );
    assert!(answers.get(&200).copied().unwrap_or(0) > 200, "{answers:?}");
    assert!(answers.get(&403).copied().unwrap_or(0) > 0, "{answers:?}");
    let alerts = hub.board.lock().unwrap().snapshot(Utc::now()).alerts;
    assert!(
        alerts.iter().all(|a| a.code != codes::BREAK_GLASS),
        "no break-glass, no alert: {alerts:?}"
    );
}

#[tokio::test]
async fn the_api_sample_catches_a_weakened_policy() {
    let hub = hub_with(probation_sees_mh_clinical()).await;
    let (found, _) = sample(&hub, 40, &[Role::Probation]).await;
    assert!(
        !found.is_empty(),
        "the checker must catch the weakened policy"
    );
    assert!(
        found
            .iter()
            .all(|v| v.starts_with("probation received") && v.ends_with("mh-clinical")),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_break_glass_read_raises_the_privacy_officers_alert() {
    let hub = hub().await;
    let mut rng = Rng::new(7);
    let (id, _) = store_person(&hub, &mut rng, 0).await;
    let gp = hub.dev.token(Role::Gp, true, ORG);
    let summary = format!("/fhir/Patient/{id}/$summary");
    let (status, _) = get(&hub.app, &summary, &gp, None).await;
    assert_eq!(status, 200);
    let board_alerts = |hub: &Hub| {
        let alerts = hub.board.lock().unwrap().snapshot(Utc::now()).alerts;
        alerts
            .into_iter()
            .filter(|a| a.code == codes::BREAK_GLASS)
            .collect::<Vec<_>>()
    };
    assert!(
        board_alerts(&hub).is_empty(),
        "an ordinary read alerts no one"
    );

    let (status, _) = get(&hub.app, &summary, &gp, Some(REASON)).await;
    assert_eq!(status, 200);
    let alerts = board_alerts(&hub);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].subject, format!("gp/{ORG}"));
    assert_eq!(alerts[0].state, AlertState::Raised);
    assert!(
        alerts[0].detail.contains(": 1 record(s)"),
        "{}",
        alerts[0].detail
    );

    let nurse = hub.dev.token(Role::CustodyHealthcare, true, ORG);
    let everything = format!("/fhir/Patient/{id}/$everything");
    let (status, _) = get(&hub.app, &everything, &nurse, Some(REASON)).await;
    assert_eq!(status, 200);
    let (status, _) = get(&hub.app, &summary, &gp, Some(REASON)).await;
    assert_eq!(status, 200);
    let alerts = board_alerts(&hub);
    let subjects: Vec<&str> = alerts.iter().map(|a| a.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            format!("gp/{ORG}"),
            format!("custody-healthcare/{ORG}"),
            format!("gp/{ORG}")
        ],
        "newest first"
    );
    assert!(
        alerts[0].detail.contains(": 2 record(s)"),
        "{}",
        alerts[0].detail
    );

    let snapshot = serde_json::to_string(&hub.board.lock().unwrap().snapshot(Utc::now())).unwrap();
    assert!(!snapshot.contains("CANARY"), "no reason on the board");
    assert!(!snapshot.contains(&id), "no person on the board");
}

#[tokio::test]
async fn without_a_board_a_break_glass_read_is_still_served() {
    let hub = hub().await;
    let mut rng = Rng::new(8);
    let (id, _) = store_person(&hub, &mut rng, 0).await;
    let gp = hub.dev.token(Role::Gp, true, ORG);
    let uri = format!("/fhir/Patient/{id}/$summary");
    let (status, body) = get(&hub.plain, &uri, &gp, Some(REASON)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "document");
}
