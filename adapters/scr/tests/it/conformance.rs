//! The conformance suite every adapter passes, against the mock SCR on loopback and a real
//! embedded bus.

use std::{
    collections::BTreeSet,
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use waymark_adapter_scr::{
    Faults, GP_SUMMARY, MALFORMED_CODE, PullRequest, ScrPopulation, ScrState, UNPARSEABLE,
};
use waymark_bus::Published;
use waymark_core::Sensitive;

use crate::common::{Harness, eventually, nhs_of, post_pull};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn acks_only_after_bus_confirmed() {
    let harness = Harness::new(ScrPopulation::generate(11, 30), Faults::default()).await;
    let script = harness.mock.pull_script();
    let people = harness.mock.population().people().len();
    let unpublished = [ScrState::NoConsent, ScrState::NoRecord]
        .map(|state| harness.mock.population().count(state))
        .iter()
        .sum::<usize>();
    let records = people - unpublished;
    harness.bus.set_open(false);
    let started = harness.start().await;
    let handle = started.adapter.handle();
    for request in &script {
        // The requester's ack is the journal's, which does not wait for the bus.
        assert_eq!(
            post_pull(&started.adapter.endpoint(), request.to_json()).await,
            202
        );
    }
    assert!(eventually(WAIT, || harness.bus.refused() >= 8).await);
    let status = handle.status();
    assert_eq!(status.pending + status.done, people);
    assert!(
        status.pending >= records && status.done <= unpublished,
        "nothing with a record done while the bus refuses (only no consent / no result, which \
         publish nothing, may finish): {records} records, {} pending",
        status.pending
    );
    assert_eq!(harness.bus.depth().await, 0);
    assert!(handle.telemetry().publish_failures >= 8);

    harness.bus.set_open(true);
    assert!(eventually(WAIT, || handle.status().pending == 0).await);
    assert_eq!(handle.status().done, people);
    assert_eq!(harness.bus.envelopes().len(), records);
    assert_eq!(harness.bus.depth().await, records as u64);
    started.shutdown().await;
}

#[tokio::test]
async fn restart_resumes_from_checkpoint() {
    let population = ScrPopulation::generate(12, 90);
    let harness = Harness::new(population, Faults::chaos()).await;
    let script = harness.mock.pull_script();
    let people = harness.mock.population().people().len();
    // Only answers with a record are published; "no consent" and "no result" are done unpublished.
    let unpublished = [ScrState::NoConsent, ScrState::NoRecord]
        .map(|state| harness.mock.population().count(state))
        .iter()
        .sum::<usize>();
    let total = people - unpublished;
    let published = |h: &Harness| h.bus.envelopes().len();

    // 1: accept everything, stop with the shutdown signal part-way.
    let first = harness.start().await;
    let handle = first.adapter.handle();
    for request in script.iter().cloned() {
        handle.submit(request).await.unwrap();
    }
    assert!(eventually(WAIT, || published(&harness) >= total / 4).await);
    first.shutdown().await;
    let after_first = published(&harness);

    // 2: resume from the journal, then abort the tasks abruptly part-way.
    let second = harness.start().await;
    assert!(
        second.adapter.handle().status().pending > 0,
        "pending requests resumed"
    );
    let second_mark = (after_first + total / 4).min(total);
    assert!(eventually(WAIT, || published(&harness) >= second_mark).await);
    second.adapter.abort();
    let after_second = published(&harness);

    // 3: resume again and finish.
    let third = harness.start().await;
    let handle = third.adapter.handle();
    assert!(eventually(WAIT, || handle.status().pending == 0).await);
    let unique = published(&harness);
    let log = harness.bus.log();
    let duplicates = log
        .iter()
        .filter(|(_, p)| *p == Published::Duplicate)
        .count();
    let skipped = total - unique;
    let stdout = &mut std::io::stdout();
    writeln!(
        stdout,
        "restart: total {total}, unique ids {unique} (after stop {after_first}, after abort \
         {after_second}), duplicates {duplicates}, skipped {skipped}, failed {}",
        handle.status().failed
    )
    .unwrap();
    assert_eq!(unique, total);
    assert_eq!(skipped, 0);
    assert_eq!(handle.status().failed, 0);
    assert_eq!(handle.status().pending, 0, "every pull request finished");
    // A duplicate publish always carried an id the bus already held, and each person has
    // exactly one message.
    let ids: BTreeSet<_> = log.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), unique);
    let by_person = harness.bus.by_person();
    assert_eq!(by_person.len(), total);
    assert!(by_person.values().all(|ids| ids.len() == 1));
    third.shutdown().await;
}

#[tokio::test]
async fn bad_message_quarantined() {
    let population = ScrPopulation::generate(13, 150).with_broken_people(2);
    let faults = Faults {
        server_error_percent: 20,
        drop_percent: 10,
        malformed_percent: 10,
        retry_after_secs: 0,
        ..Faults::default()
    };
    let harness = Harness::new(population, faults).await;
    let started = harness.start().await;
    let handle = started.adapter.handle();
    let endpoint = started.adapter.endpoint();
    let population = harness.mock.population();

    // Invalid JSON and invalid NHS numbers: refused (400), never journaled, counted.
    assert_eq!(
        post_pull(&endpoint, b"{\"nhsNumber\": ".to_vec()).await,
        400
    );
    let invalid = population.invalid_nhs_numbers();
    assert!(
        !invalid.is_empty(),
        "the synthetic mess gives invalid NHS numbers"
    );
    for nhs in invalid {
        let body = format!(
            r#"{{"nhsNumber":"{}","reason":"identified","requestedAt":"2024-06-15T10:00:00Z"}}"#,
            nhs.expose()
        );
        assert_eq!(post_pull(&endpoint, body.into_bytes()).await, 400);
    }
    assert_eq!(handle.telemetry().rejected, 1 + invalid.len() as u64);
    assert_eq!(handle.status().pending, 0);

    for request in harness.mock.pull_script() {
        handle.submit(request).await.unwrap();
    }
    assert!(eventually(WAIT, || handle.status().pending == 0).await);
    let by_state = |state: ScrState| -> Vec<&waymark_adapter_scr::ScrPerson> {
        population
            .people()
            .iter()
            .filter(|p| p.state == state)
            .collect()
    };
    let envelopes = harness.bus.envelopes();
    let envelope_of = |nhs: &Sensitive<String>| {
        let found: Vec<_> = envelopes
            .values()
            .filter(|e| nhs_of(e) == *nhs.expose())
            .collect();
        assert!(found.len() <= 1);
        found.first().copied()
    };

    // No consent: nothing published (skip with a record: done in the journal, counted), asked
    // once per pull, never retried.
    assert!(!by_state(ScrState::NoConsent).is_empty());
    for person in by_state(ScrState::NoConsent) {
        assert!(
            envelope_of(&person.nhs).is_none(),
            "nothing of a refused record"
        );
        let asked = harness.mock.requests_about(person.nhs.expose());
        assert!(
            asked <= 2,
            "no retry storm: one request, one more only after a fault"
        );
    }
    assert!(handle.telemetry().no_consent >= by_state(ScrState::NoConsent).len() as u64);
    // No result: nothing published either, counted.
    for person in by_state(ScrState::NoRecord) {
        assert!(envelope_of(&person.nhs).is_none(), "no record, no message");
    }
    assert!(handle.telemetry().no_result >= by_state(ScrState::NoRecord).len() as u64);
    // Malformed for good: published with context.error for the map stage to quarantine.
    let [malformed] = by_state(ScrState::AlwaysMalformed)[..] else {
        panic!("one always-malformed person")
    };
    let envelope = envelope_of(&malformed.nhs).unwrap();
    assert_eq!(envelope.message_type, UNPARSEABLE);
    let error = envelope.context.expose()["error"]["code"].as_str();
    assert_eq!(error, Some(MALFORMED_CODE));
    // Failing for good (5xx every time): not published, kept in the journal as failed, counted.
    let [failing] = by_state(ScrState::AlwaysFails)[..] else {
        panic!("one always-failing person")
    };
    assert!(envelope_of(&failing.nhs).is_none());
    assert_eq!(handle.failed_codes(), vec!["scr.api.gave-up".to_owned()]);
    assert_eq!(handle.telemetry().failed, 1);
    // Everyone else: their summary, despite 5xx, dropped connections and malformed answers.
    for person in by_state(ScrState::Summary) {
        assert_eq!(envelope_of(&person.nhs).unwrap().message_type, GP_SUMMARY);
    }
    let unpublished = by_state(ScrState::NoConsent).len() + by_state(ScrState::NoRecord).len();
    assert_eq!(envelopes.len(), population.people().len() - 1 - unpublished);
    assert!(handle.telemetry().retried > 0);
    started.shutdown().await;

    // An answer over the body limit: refused, kept as failed, never published.
    let harness = Harness::new(ScrPopulation::generate(13, 60), Faults::default()).await;
    let mut config = harness.config();
    config.max_body_bytes = 1_500;
    let started = harness.start_with(config).await;
    let handle = started.adapter.handle();
    let person = harness
        .mock
        .population()
        .people()
        .iter()
        .find(|p| p.state == ScrState::Summary);
    let request = PullRequest::new(person.unwrap().nhs.expose(), "identified").unwrap();
    handle.submit(request).await.unwrap();
    assert!(eventually(WAIT, || handle.status().failed == 1).await);
    assert_eq!(handle.failed_codes(), vec!["scr.api.too-large".to_owned()]);
    assert!(harness.bus.envelopes().is_empty());
    started.shutdown().await;
}

#[tokio::test]
async fn telemetry_emitted() {
    let harness = Harness::new(ScrPopulation::generate(14, 60), Faults::chaos()).await;
    let script = harness.mock.pull_script();
    let population = harness.mock.population();
    let people = population.people().len() as u64;
    let started = harness.start().await;
    let handle = started.adapter.handle();
    assert_eq!(handle.telemetry(), Default::default());
    for request in script.iter().cloned() {
        handle.submit(request).await.unwrap();
    }
    assert!(eventually(WAIT, || handle.status().pending == 0).await);
    let t = handle.telemetry();
    assert_eq!(t.received, script.len() as u64);
    let refused = population.count(ScrState::NoConsent) as u64;
    let absent = population.count(ScrState::NoRecord) as u64;
    assert_eq!(
        t.published,
        people - refused - absent,
        "no consent, no result: not published"
    );
    // A repeated request is coalesced while the first is pending, or else fetched again: then
    // published again under the same id, or (no consent, no result) counted again.
    let refetched = t.no_consent - refused + t.no_result - absent;
    assert_eq!(
        t.coalesced + t.duplicates + refetched,
        script.len() as u64 - people
    );
    assert_eq!(
        t.fetched,
        t.published + t.duplicates + t.no_consent + t.no_result
    );
    assert!(t.no_consent >= refused && t.no_result >= absent);
    assert!(t.retried > 0, "the chaos faults force retries");
    assert_eq!(
        (t.failed, t.rejected, t.flawed, t.publish_failures),
        (0, 0, 0, 0)
    );
    assert!(t.lag_ms_max >= t.lag_ms_last && t.lag_ms_last > 0);

    harness.bus.set_open(false);
    let person = &population.people()[0];
    let again = PullRequest::new(person.nhs.expose(), "change-notification").unwrap();
    assert_eq!(
        post_pull(&started.adapter.endpoint(), again.to_json()).await,
        202
    );
    assert!(eventually(WAIT, || handle.telemetry().publish_failures > 0).await);
    assert_eq!(
        post_pull(&started.adapter.endpoint(), b"nonsense".to_vec()).await,
        400
    );
    assert_eq!(handle.telemetry().rejected, 1);
    let status: serde_json::Value = reqwest::get(format!("{}/status", started.adapter.endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["pending"], 1);
    assert_eq!(status["published"], people - refused - absent);
    assert_eq!(status["rejected"], 1);
    harness.bus.set_open(true);
    assert!(eventually(WAIT, || handle.status().pending == 0).await);
    assert_eq!(
        handle.telemetry().duplicates,
        t.duplicates + 1,
        "same data, same id"
    );
    started.shutdown().await;
}

/// A writer the test's tracing subscriber writes into.
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

#[tokio::test(flavor = "current_thread")]
async fn no_patient_data_in_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let seed = 15;
    let population = ScrPopulation::generate(seed, 40).with_broken_people(2);
    let harness = Harness::new(population, Faults::chaos()).await;
    let started = harness.start().await;
    let handle = started.adapter.handle();
    let endpoint = started.adapter.endpoint();
    for request in harness.mock.pull_script() {
        assert_eq!(post_pull(&endpoint, request.to_json()).await, 202);
    }
    for nhs in harness.mock.population().invalid_nhs_numbers() {
        let body = format!(
            r#"{{"nhsNumber":"{}","reason":"identified","requestedAt":"2024-06-15T10:00:00Z"}}"#,
            nhs.expose()
        );
        assert_eq!(post_pull(&endpoint, body.into_bytes()).await, 400);
    }
    assert!(eventually(WAIT, || handle.status().pending == 0).await);
    started.shutdown().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("scr envelope published"), "the capture works");
    assert!(logs.contains("retrying"), "debug events are captured too");
    let synthetic = waymark_synth::Population::generate(seed, 40);
    let mess = waymark_synth::Mess::default();
    let mut needles: BTreeSet<String> = BTreeSet::new();
    for person in synthetic.people() {
        needles.extend(person.nhs_number());
        needles.insert(person.birth_date().format("%Y-%m-%d").to_string());
        needles.insert(person.birth_date().format("%d/%m/%Y").to_string());
        needles.insert(person.family_name().into_owned());
        needles.extend(person.given_names().iter().map(|g| (*g).to_owned()));
        needles.insert(person.prison_number());
        needles.insert(person.pnc_id());
    }
    for observation in synthetic.observations(&mess) {
        needles.insert(observation.local_id().to_owned());
        needles.extend(observation.nhs_number().map(str::to_owned));
    }
    for person in harness.mock.population().people() {
        let summary = harness.mock.population().summary(person);
        let patient = summary["entry"].as_array().and_then(|e| e.last()).cloned();
        if let Some(id) = patient.and_then(|p| p["resource"]["id"].as_str().map(str::to_owned)) {
            needles.insert(id);
        }
    }
    needles.retain(|n| n.len() >= 3);
    let words: BTreeSet<&str> = logs.split(|c: char| !c.is_alphanumeric()).collect();
    let leaked: Vec<&String> = needles
        .iter()
        .filter(|n| {
            if n.chars().all(char::is_alphanumeric) {
                words.contains(n.as_str())
            } else {
                logs.contains(n.as_str())
            }
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "{} patient values in the logs",
        leaked.len()
    );
}
