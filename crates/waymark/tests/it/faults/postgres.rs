//! (c) PostgreSQL stopped mid-run and started again (a cluster of the test's own): nothing
//! lost, nothing duplicated; while it is down the API answers 503 with an OperationOutcome —
//! never a 500, never the internals (driver, address, SQL).

use std::time::{Duration, Instant};

use waymark_core::Role;

use super::{
    first_deliveries,
    hub::{Hub, Plan},
    long, patient_push,
    services::{Broker, Cluster},
};
use crate::common::{dev_token, http_get_as};

/// Words that would mean the API leaked its internals in an error body.
const INTERNALS: [&str; 8] = [
    "postgres",
    "sqlx",
    "127.0.0.1",
    "password",
    "pool",
    "refused",
    "panick",
    "select ",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_mid_run_loses_nothing_and_the_api_answers_503_meanwhile() {
    let (people, outages) = if long() { (800, 3) } else { (200, 1) };
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let broker = Broker::fresh(2).await;
    let mut hub = Hub::start(Plan {
        api: true,
        ..Plan::new(&broker.url, &cluster.url, 19, people)
    })
    .await;
    let api = hub.api();
    let token = dev_token(
        &hub.dir.path().join("hub-data"),
        Role::PrisonHealthcare,
        true,
        "hmp-moorland-healthcare",
    );
    let started = Instant::now();
    let push = hub.push(patient_push());
    first_deliveries(&hub, &broker, 60, "the outage").await;
    let before = hub.delivered();
    let mut answers = Vec::new();
    let mut restarts = 0;
    for k in 0..outages {
        // The first outage must hit mid-stream; later ones (long variant) only while it flows.
        assert!(
            k > 0 || !push.is_finished(),
            "the stream ended before the outage"
        );
        if push.is_finished() {
            break;
        }
        restarts += 1;
        cluster.stop().await;
        let down = Instant::now();
        while down.elapsed() < Duration::from_secs(3) {
            for (path, token) in [
                ("/health", None),
                ("/fhir/Patient?name=smith", Some(&token)),
            ] {
                let (status, body) = http_get_as(api, path, token.map(String::as_str)).await;
                answers.push((path, status, body));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        cluster.start_again().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let pushed = push.await.unwrap();
    let settled = hub.settle(super::settle_time()).await;
    let tally = hub.tally(&pushed, before).await;
    let (status, _) = http_get_as(api, "/health", None).await;
    let took = started.elapsed();
    let diagnosis = hub.diagnose().await;
    hub.stop();
    let unavailable = answers.iter().filter(|(_, s, _)| *s == 503).count();
    eprintln!(
        "faults: PostgreSQL restarted {restarts}x during {} records in {took:.0?}: {}; API while \
         down: {unavailable} of {} answers 503 OperationOutcome, {} answers 500",
        hub.expected.sent,
        tally.line(),
        answers.len(),
        answers.iter().filter(|(_, s, _)| *s == 500).count()
    );
    for (path, status, body) in &answers {
        assert_eq!(*status, 503, "{path} while PostgreSQL was down: {body}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["resourceType"], "OperationOutcome", "{path}: {body}");
        let lower = body.to_lowercase();
        let leaked: Vec<_> = INTERNALS.iter().filter(|w| lower.contains(*w)).collect();
        assert!(leaked.is_empty(), "{path} leaks {leaked:?}: {body}");
    }
    assert!(!answers.is_empty());
    assert_eq!(status, 200, "the API answers again after the restart");
    assert!(
        settled,
        "not settled (in time, or 20 s without change): {tally:?} {diagnosis}{}",
        hub.procs.tails()
    );
    assert!(tally.clean(), "{tally:?}");
}
