//! The authorisation matrix: every FHIR endpoint × every role (registered and not, where the
//! policy tells them apart) × the person's consent state (granted, refused, withdrawn), with
//! the expected outcome in one table below. Prints the mismatch count, which must be 0. Every
//! world also checks audit completeness: audit rows = requests made, denials included, in a
//! chain that verifies. The `Subscription` endpoints × roles are in [`subscriptions`].

mod subscriptions;

use waymark_core::Role;
use waymark_store::{Store, verify_log};

use crate::fhir_world::{MAIN_PRISON_NUMBER, World, consent, resource_classes};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Granted,
    Refused,
    Withdrawn,
}
use State::{Granted, Refused, Withdrawn};

/// The columns: Patient search by identifier, `$summary`, `$everything`, `POST /Consent`,
/// `GET /Consent/{id}`, `GET /Consent?patient=`, `GET /AuditEvent?patient=`.
const ENDPOINTS: [&str; 7] = [
    "search",
    "summary",
    "everything",
    "consent+",
    "consent",
    "consent?",
    "audit",
];

/// Outcomes: `1` / `0` a searchset with one / no match; `D` a summary that holds detention
/// data (consent-based for the GP), `S` one that does not; `200` / `201`; `403` refused.
#[rustfmt::skip]
const MATRIX: &[(&str, State, [&str; 7])] = &[
    // caller                      state       search summary everything consent+ consent consent? audit
    ("custody-officer",            Granted,   ["1", "D", "403", "403", "403", "403", "403"]),
    ("custody-officer",            Refused,   ["1", "D", "403", "403", "403", "403", "403"]),
    ("custody-officer",            Withdrawn, ["1", "D", "403", "403", "403", "403", "403"]),
    ("custody-healthcare+reg",     Granted,   ["1", "D", "200", "201", "200", "200", "403"]),
    ("custody-healthcare+reg",     Refused,   ["0", "403", "403", "201", "200", "200", "403"]),
    ("custody-healthcare+reg",     Withdrawn, ["1", "D", "200", "201", "200", "200", "403"]),
    ("liaison-diversion",          Granted,   ["1", "D", "403", "403", "403", "403", "403"]),
    ("liaison-diversion",          Refused,   ["0", "403", "403", "403", "403", "403", "403"]),
    ("liaison-diversion",          Withdrawn, ["1", "D", "403", "403", "403", "403", "403"]),
    ("liaison-diversion+reg",      Granted,   ["1", "D", "200", "201", "200", "200", "403"]),
    ("liaison-diversion+reg",      Refused,   ["0", "403", "403", "201", "200", "200", "403"]),
    ("liaison-diversion+reg",      Withdrawn, ["1", "D", "200", "201", "200", "200", "403"]),
    ("prison-healthcare+reg",      Granted,   ["1", "D", "200", "201", "200", "200", "403"]),
    ("prison-healthcare+reg",      Refused,   ["0", "403", "403", "201", "200", "200", "403"]),
    ("prison-healthcare+reg",      Withdrawn, ["1", "D", "200", "201", "200", "200", "403"]),
    ("prison-officer",             Granted,   ["1", "D", "403", "403", "403", "403", "403"]),
    ("prison-officer",             Refused,   ["0", "403", "403", "403", "403", "403", "403"]),
    ("prison-officer",             Withdrawn, ["1", "D", "403", "403", "403", "403", "403"]),
    ("probation",                  Granted,   ["1", "D", "403", "403", "403", "403", "403"]),
    ("probation",                  Refused,   ["1", "D", "403", "403", "403", "403", "403"]),
    ("probation",                  Withdrawn, ["1", "D", "403", "403", "403", "403", "403"]),
    ("gp+reg",                     Granted,   ["1", "D", "403", "403", "403", "403", "403"]),
    ("gp+reg",                     Refused,   ["0", "403", "403", "403", "403", "403", "403"]),
    ("gp+reg",                     Withdrawn, ["1", "S", "403", "403", "403", "403", "403"]),
    ("privacy-officer",            Granted,   ["403", "403", "403", "403", "403", "403", "200"]),
    ("privacy-officer",            Refused,   ["403", "403", "403", "403", "403", "403", "200"]),
    ("privacy-officer",            Withdrawn, ["403", "403", "403", "403", "403", "403", "200"]),
    ("commissioner",               Granted,   ["403", "403", "403", "403", "403", "403", "403"]),
    ("commissioner",               Refused,   ["403", "403", "403", "403", "403", "403", "403"]),
    ("commissioner",               Withdrawn, ["403", "403", "403", "403", "403", "403", "403"]),
    ("integration-engineer",       Granted,   ["403", "403", "403", "403", "403", "403", "403"]),
    ("integration-engineer",       Refused,   ["403", "403", "403", "403", "403", "403", "403"]),
    ("integration-engineer",       Withdrawn, ["403", "403", "403", "403", "403", "403", "403"]),
];

fn caller(label: &str) -> (Role, bool) {
    let (role, registered) = match label.strip_suffix("+reg") {
        Some(role) => (role, true),
        None => (label, false),
    };
    (role.parse().unwrap(), registered)
}

/// A world whose main person's consent is in `state` (Consent `c-main`).
async fn world(state: State) -> World {
    let w = World::new().await;
    let kind = if state == Refused { "deny" } else { "permit" };
    w.put_consent(
        &w.main,
        &consent("c-main", &w.main, kind, "2026-01-01T00:00:00Z"),
    )
    .await;
    if state == Withdrawn {
        w.store
            .withdraw_consent(&w.main, "c-main", chrono::Utc::now())
            .await
            .unwrap();
    }
    w
}

/// Calls one endpoint as one caller; the outcome in the table's terms.
async fn outcome(w: &World, endpoint: &str, token: &str, n: usize) -> String {
    const PRISON: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";
    let main = &w.main;
    let answer = match endpoint {
        "search" => {
            let uri = format!("/fhir/Patient?identifier={PRISON}|{MAIN_PRISON_NUMBER}");
            w.get(&uri, Some(token)).await
        }
        "summary" => {
            w.get(&format!("/fhir/Patient/{main}/$summary"), Some(token))
                .await
        }
        "everything" => {
            w.get(&format!("/fhir/Patient/{main}/$everything"), Some(token))
                .await
        }
        "consent+" => {
            let body = consent(
                &format!("new-{n}"),
                &w.other,
                "permit",
                "2026-02-01T00:00:00Z",
            );
            w.call("POST", "/fhir/Consent", Some(token), Some(&body), &[])
                .await
        }
        "consent" => w.get("/fhir/Consent/c-main", Some(token)).await,
        "consent?" => {
            w.get(
                &format!("/fhir/Consent?patient=Patient/{main}"),
                Some(token),
            )
            .await
        }
        "audit" => {
            w.get(
                &format!("/fhir/AuditEvent?patient=Patient/{main}"),
                Some(token),
            )
            .await
        }
        other => panic!("no endpoint {other}"),
    };
    if answer.status >= 300 {
        assert_eq!(
            answer.json["resourceType"], "OperationOutcome",
            "{endpoint}: {}",
            answer.text
        );
        return answer.status.to_string();
    }
    match endpoint {
        "search" => answer.json["entry"]
            .as_array()
            .map_or(0, Vec::len)
            .to_string(),
        "summary" if resource_classes(&answer.json).contains(&"detention".to_owned()) => "D".into(),
        "summary" => "S".into(),
        _ => answer.status.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_role_and_consent_state_gives_the_expected_outcome() {
    let mut mismatches = Vec::new();
    let mut cells = 0;
    for state in [Granted, Refused, Withdrawn] {
        let w = world(state).await;
        let mut requests = 0u64;
        for (label, _, expected) in MATRIX.iter().filter(|(_, s, _)| *s == state) {
            let (role, registered) = caller(label);
            let token = w.token(role, registered);
            for (i, endpoint) in ENDPOINTS.iter().enumerate() {
                let got = outcome(&w, endpoint, &token, cells).await;
                requests += 1;
                cells += 1;
                if got != expected[i] {
                    mismatches.push(format!(
                        "{label} {state:?} {endpoint}: expected {}, got {got}",
                        expected[i]
                    ));
                }
            }
        }
        let verified = verify_log(w.store.as_ref(), 100).await.unwrap().unwrap();
        assert_eq!(
            verified.count, requests,
            "audit rows = requests ({state:?})"
        );
    }
    println!(
        "authorisation matrix: {cells} cells, {} mismatches",
        mismatches.len()
    );
    assert_eq!(cells, MATRIX.len() * ENDPOINTS.len());
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn the_matrix_covers_every_role_in_every_consent_state() {
    for role in Role::ALL {
        for state in [Granted, Refused, Withdrawn] {
            assert!(
                MATRIX
                    .iter()
                    .any(|(l, s, _)| caller(l).0 == *role && *s == state),
                "{role} {state:?} missing"
            );
        }
    }
}
