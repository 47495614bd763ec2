//! The authorisation matrix of the `Subscription` endpoints: every role (registered and not,
//! where the consent matrix tells them apart) × every subscription endpoint, on a subscription
//! of the caller's own organisation and on another organisation's. Consent plays no part
//! here. Prints the mismatch count, which must be 0, and checks audit completeness.

use serde_json::Value;
use waymark_core::Role;
use waymark_delivery::mock::MockReceiver;
use waymark_store::verify_log;

use super::caller;
use crate::{
    fhir_world::{ORG, World},
    subscriptions::{SECRET, create, resource},
};

/// The columns: create; read own / other; search (by the fixed subscriptions' topic: how many
/// are listed); update own / other; `$status`; `$events` own / other; `$resend`; delete
/// another organisation's; delete the one the caller created.
const ENDPOINTS: [&str; 12] = [
    "create", "read", "read-x", "search", "update", "update-x", "status", "events", "events-x",
    "resend", "delete-x", "delete",
];

/// Outcomes: HTTP statuses; for `search`, the number of subscriptions listed.
#[rustfmt::skip]
const MATRIX: &[(&str, [&str; 12])] = &[
    // caller                  create read  read-x search update update-x status events events-x resend delete-x delete
    ("custody-officer",        ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    ("custody-healthcare+reg", ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    ("liaison-diversion",      ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    ("liaison-diversion+reg",  ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    ("prison-healthcare+reg",  ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    ("prison-officer",         ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    ("probation",              ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    ("gp+reg",                 ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    ("privacy-officer",        ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    ("commissioner",           ["201", "200", "404", "1", "200", "404", "200", "200", "404", "403", "404", "204"]),
    // last: it deletes the other organisation's subscription
    ("integration-engineer",   ["201", "200", "200", "2", "200", "200", "200", "200", "200", "200", "204", "204"]),
];

/// The topic of the two fixed subscriptions (what the callers create is on another).
const FIXED_TOPIC: &str = "matrix.fixed";

fn on_topic(endpoint: &str, organisation: &str, topic: &str) -> Value {
    let mut body = resource(endpoint, organisation);
    body["criteria"] = format!("{}{topic}", waymark_delivery::TOPIC_BASE).into();
    body
}

/// Calls one endpoint; the outcome in the table's terms.
async fn outcome(
    w: &World,
    endpoint: &str,
    token: &str,
    (own, other): (&str, &str),
    created: &mut String,
    url: &str,
) -> String {
    let path = |id: &str| format!("/fhir/Subscription/{id}");
    let answer = match endpoint {
        "create" => {
            let (answer, id) = create(w, token, &resource(url, "ORG99")).await;
            *created = id;
            answer
        }
        "read" => w.get(&path(own), Some(token)).await,
        "read-x" => w.get(&path(other), Some(token)).await,
        "search" => {
            let uri = format!("/fhir/Subscription?topic={FIXED_TOPIC}");
            let answer = w.get(&uri, Some(token)).await;
            if answer.status == 200 {
                return answer.json["entry"]
                    .as_array()
                    .map_or(0, Vec::len)
                    .to_string();
            }
            answer
        }
        "update" | "update-x" => {
            let (id, org) = if endpoint == "update" {
                (own, ORG)
            } else {
                (other, "ORG99")
            };
            let body = on_topic(url, org, FIXED_TOPIC);
            w.call("PUT", &path(id), Some(token), Some(&body), &[])
                .await
        }
        "status" => w.get(&format!("{}/$status", path(own)), Some(token)).await,
        "events" => w.get(&format!("{}/$events", path(own)), Some(token)).await,
        "events-x" => {
            w.get(&format!("{}/$events", path(other)), Some(token))
                .await
        }
        "resend" => {
            let uri = format!("{}/$resend", path(own));
            w.call("POST", &uri, Some(token), None, &[]).await
        }
        "delete-x" => w.call("DELETE", &path(other), Some(token), None, &[]).await,
        "delete" => {
            w.call("DELETE", &path(created), Some(token), None, &[])
                .await
        }
        other => panic!("no endpoint {other}"),
    };
    crate::subscriptions::clean(&answer);
    if answer.status >= 400 {
        assert_eq!(
            answer.json["resourceType"], "OperationOutcome",
            "{endpoint}"
        );
    }
    answer.status.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscription_endpoint_and_role_gives_the_expected_outcome() {
    let w = World::new().await;
    let receiver = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let url = receiver.url();
    let engineer = w.dev.engineer();
    let (_, own) = create(&w, &engineer, &on_topic(&url, ORG, FIXED_TOPIC)).await;
    let (_, other) = create(&w, &engineer, &on_topic(&url, "ORG99", FIXED_TOPIC)).await;
    let setup = 2;
    let mut mismatches = Vec::new();
    let mut cells: u64 = 0;
    for (label, expected) in MATRIX {
        let (role, registered) = caller(label);
        let token = w.token(role, registered);
        let mut created = String::new();
        for (i, endpoint) in ENDPOINTS.iter().enumerate() {
            let got = outcome(&w, endpoint, &token, (&own, &other), &mut created, &url).await;
            cells += 1;
            if got != expected[i] {
                mismatches.push(format!(
                    "{label} {endpoint}: expected {}, got {got}",
                    expected[i]
                ));
            }
        }
    }
    let verified = verify_log(w.store.as_ref(), 100).await.unwrap().unwrap();
    assert_eq!(verified.count, cells + setup, "audit rows = requests");
    println!(
        "subscription authorisation matrix: {cells} cells, {} mismatches",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn the_subscription_matrix_covers_every_role() {
    for role in Role::ALL {
        assert!(
            MATRIX.iter().any(|(l, _)| caller(l).0 == *role),
            "{role} missing"
        );
    }
    assert_eq!(MATRIX.last().map(|(l, _)| *l), Some("integration-engineer"));
}
