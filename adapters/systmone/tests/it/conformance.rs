//! The conformance suite every adapter passes, against the mock SystmOne on loopback and the
//! real embedded bus.

use std::{collections::HashSet, time::Duration};

use chrono::Utc;
use waymark_adapter_systmone::{
    PullRequest, Reason, message_id,
    mock::{Fault, MockFaults},
    read_cursor,
};
use waymark_bus::Published;

use crate::common::{Harness, error_code, until};

const PEOPLE: usize = 120;

#[tokio::test]
async fn acks_only_after_bus_confirmed() {
    let mut h = Harness::new(PEOPLE, &MockFaults::default()).await;
    h.bus.refuse(true);
    h.start().await;
    let total = h.pull_all(Reason::PRISON_RECEPTION).await;
    assert!(total > 20, "population too small: {total}");
    let handle = h.adapter().handle();
    until("every worker tried to publish", || async {
        handle.telemetry().publish_failures >= 4
    })
    .await;
    // The bus refused everything: nothing stored, nothing marked done, nothing lost.
    let stats = handle.journal_stats();
    assert_eq!(stats.pending + stats.in_flight, total as u64);
    assert_eq!(h.bus.ready().await, 0);
    assert_eq!(handle.telemetry().published, 0);
    // Asked again while pending: coalesced, not journaled twice.
    let nhs = h.mock.data().pullable()[0].clone();
    let again = handle
        .pull(PullRequest::new(&nhs, "identified", Utc::now()).unwrap())
        .await
        .unwrap();
    assert!(
        again.coalesced
            || handle.journal_stats().pending + handle.journal_stats().in_flight
                == total as u64 + 1
    );

    h.bus.refuse(false);
    h.drained().await;
    assert_eq!(
        h.bus.ready().await,
        total as u64,
        "everything arrives after the bus recovers"
    );
    for nhs in h.mock.data().pullable() {
        let body = &h.mock.data().record(&nhs).unwrap().body;
        assert!(h.bus.stored_ids().contains(&message_id(&nhs, body)));
    }

    // A bus that does not answer: the publishes wait, nothing is marked done.
    let duplicates_before = handle.telemetry().duplicates;
    h.bus.block(true);
    let again = h.pull_all(Reason::CHANGE_NOTIFICATION).await;
    until("workers waiting on the bus", || async {
        handle.journal_stats().in_flight == h.config.workers as u64
    })
    .await;
    let stats = handle.journal_stats();
    assert_eq!(stats.pending + stats.in_flight, again as u64);
    h.bus.block(false);
    h.drained().await;
    assert_eq!(
        h.bus.ready().await,
        total as u64,
        "the same records: same ids, no new messages"
    );
    assert_eq!(
        handle.telemetry().duplicates - duplicates_before,
        again as u64
    );
    h.stop().await;
}

#[tokio::test]
async fn restart_resumes_from_checkpoint() {
    let mut h = Harness::new(3 * PEOPLE, &MockFaults::default()).await;
    h.config.workers = 2;
    h.start().await;
    let total = h.pull_all(Reason::PRISON_RECEPTION).await as u64;
    let bus = h.bus.clone();
    until("a third published", || async {
        bus.ready().await >= total / 3
    })
    .await;
    h.stop().await; // graceful: shutdown signal
    let after_stop = bus.ready().await;
    assert!(
        after_stop < total,
        "stopped mid-stream ({after_stop} of {total})"
    );

    h.start().await;
    until("two thirds published", || async {
        bus.ready().await >= 2 * total / 3
    })
    .await;
    h.abort().await; // abrupt: the tasks are aborted mid-stream
    let after_abort = bus.ready().await;
    assert!(
        after_abort < total,
        "aborted mid-stream ({after_abort} of {total})"
    );

    h.start().await;
    h.drained().await;
    let calls = h.bus.calls();
    let unique: HashSet<_> = h.bus.stored_ids();
    let duplicates: Vec<_> = calls
        .iter()
        .filter(|(_, p)| *p == Some(Published::Duplicate))
        .collect();
    let skipped = total - unique.len() as u64;
    println!(
        "restart: total {total}, published by the stop {after_stop}, by the abort {after_abort}, \
         unique published {}, duplicate publishes {}, skipped {skipped}",
        unique.len(),
        duplicates.len()
    );
    assert_eq!(unique.len() as u64, total);
    assert_eq!(h.bus.ready().await, total);
    assert_eq!(skipped, 0);
    assert!(
        duplicates.iter().all(|(id, _)| unique.contains(id)),
        "a duplicate carries a known id"
    );
    let expected: HashSet<_> = h
        .mock
        .data()
        .pullable()
        .iter()
        .map(|nhs| message_id(nhs, &h.mock.data().record(nhs).unwrap().body))
        .collect();
    assert_eq!(unique, expected);
    h.stop().await;
}

#[tokio::test]
async fn bad_message_quarantined() {
    let faults = MockFaults::all(6, Duration::from_millis(1_500));
    let mut h = Harness::new(PEOPLE, &faults).await;
    h.config.poll_changes = true;
    h.start().await;
    let data = h.mock.data().clone();
    let handle = h.adapter().handle();
    let last_seq = data.feed().last().unwrap().sequence;
    // Unknown person (valid NHS number nobody holds): PATIENT_NOT_FOUND, published flawed.
    let unknown = "9990000018";
    assert!(data.record(unknown).is_none());
    handle
        .pull(PullRequest::new(unknown, "identified", Utc::now()).unwrap())
        .await
        .unwrap();
    // Bad pull requests are refused at the door.
    let http = reqwest::Client::new();
    for bad in [
        &b"{not json"[..],
        br#"{"nhsNumber":"9434765918","reason":"identified"}"#,
    ] {
        let status = http
            .post(h.adapter().endpoint())
            .body(bad.to_vec())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 400);
    }
    let cursor_path = h.config.cursor_path.clone();
    until("feed consumed", || async {
        read_cursor(&cursor_path).unwrap() == last_seq
    })
    .await;
    h.drained().await;

    let envelopes = h.bus.drain().await;
    let codes: Vec<Option<String>> = envelopes.iter().map(error_code).collect();
    let count = |code: &str| codes.iter().filter(|c| c.as_deref() == Some(code)).count();
    assert_eq!(
        count("systmone.gpc.malformed"),
        data.with_fault(Fault::Malformed).len()
    );
    assert!(count("systmone.gpc.malformed") > 0);
    assert_eq!(count("systmone.gpc.patient-not-found"), 1);
    let not_found = envelopes
        .iter()
        .find(|e| error_code(e).as_deref() == Some("systmone.gpc.patient-not-found"))
        .unwrap();
    assert!(String::from_utf8_lossy(not_found.payload.expose()).contains("PATIENT_NOT_FOUND"));
    assert_eq!(not_found.context.expose()["error"]["status"], 404);
    // Slow, 5xx, dropped and unknown-extension records were retried or passed, and arrived clean.
    for fault in [
        Fault::Slow,
        Fault::ServerError,
        Fault::DroppedConnection,
        Fault::UnknownExtensions,
        Fault::None,
    ] {
        for nhs in data
            .with_fault(fault)
            .iter()
            .filter(|n| data.pullable().contains(n))
        {
            let id = message_id(nhs, &data.record(nhs).unwrap().body);
            let envelope = envelopes.iter().find(|e| e.id == id);
            assert!(
                envelope.is_some_and(|e| error_code(e).is_none()),
                "{fault:?} record not published clean"
            );
        }
    }
    // Duplicate and out-of-order notifications: each record published once (the bus holds
    // one message per record), the rest coalesced or deduplicated by id.
    assert_eq!(envelopes.len(), data.pullable().len() + 1);
    let t = handle.telemetry();
    assert!(t.notifications > data.feed().len() as u64 - 1, "{t:?}");
    assert!(t.retried >= 4, "{t:?}");
    // Notifications naming an NHS number that fails its check are refused and counted, with
    // the two bad pull requests.
    let unusable = data
        .feed()
        .iter()
        .filter(|n| waymark_core::NhsNumber::parse(&n.nhs_number).is_err())
        .count() as u64;
    assert_eq!(t.rejected, unusable + 2, "{t:?}");
    assert_eq!(t.failed, 0);

    // The provider stays down: the request is given up after the window, kept as failed.
    h.stop().await;
    h.config.give_up_after_ms = 300;
    h.config.poll_changes = false;
    h.mock.set_down(true);
    h.start().await;
    let nhs = data.pullable()[0].clone();
    h.adapter()
        .handle()
        .pull(PullRequest::new(&nhs, "identified", Utc::now()).unwrap())
        .await
        .unwrap();
    let handle = h.adapter().handle();
    until("given up", || async { handle.journal_stats().failed == 1 }).await;
    assert_eq!(handle.failed_codes(), vec!["systmone.gave-up".to_owned()]);
    assert_eq!(handle.telemetry().failed, 1);
    h.stop().await;
}

#[tokio::test]
async fn telemetry_emitted() {
    let faults = MockFaults::all(8, Duration::from_millis(1_500));
    let mut h = Harness::new(PEOPLE, &faults).await;
    h.bus.refuse(true);
    h.start().await;
    let handle = h.adapter().handle();
    assert_eq!(handle.telemetry(), Default::default());
    let total = h.pull_all(Reason::PRISON_RECEPTION).await as u64;
    until("publish refused", || async {
        handle.telemetry().publish_failures > 0
    })
    .await;
    let during = handle.telemetry();
    assert_eq!(during.accepted, total);
    assert_eq!(during.pending + during.in_flight, total);
    assert!(during.lag_ms > 0 || during.pending == 0);
    let nhs = h.mock.data().pullable().last().unwrap().clone();
    handle
        .pull(PullRequest::new(&nhs, "identified", Utc::now()).unwrap())
        .await
        .unwrap();
    let bad = h.adapter().endpoint();
    reqwest::Client::new()
        .post(bad)
        .body("{}")
        .send()
        .await
        .unwrap();

    h.bus.refuse(false);
    h.drained().await;
    let t = handle.telemetry();
    println!("telemetry: {t:?}");
    let malformed = h.mock.data().with_fault(Fault::Malformed).len() as u64;
    assert!(t.coalesced + t.accepted > total, "{t:?}");
    assert_eq!(t.rejected, 1);
    assert_eq!(t.received, t.published + t.duplicates);
    assert_eq!(t.published, h.bus.ready().await);
    assert!(t.published >= total);
    assert_eq!(t.flawed, malformed);
    assert!(t.retried > 0 && t.upstream_calls > total, "{t:?}");
    assert!(t.publish_failures > 0);
    assert_eq!((t.pending, t.in_flight, t.failed, t.lag_ms), (0, 0, 0, 0));
    h.stop().await;
}

#[test]
fn no_patient_data_in_logs() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let secrets = runtime.block_on(async {
        let faults = MockFaults::all(6, Duration::from_millis(1_500));
        let mut h = Harness::new(PEOPLE, &faults).await;
        h.config.poll_changes = true;
        h.start().await;
        h.pull_all(Reason::PRISON_RECEPTION).await;
        let handle = h.adapter().handle();
        handle
            .pull(PullRequest::new("9990000018", "identified", Utc::now()).unwrap())
            .await
            .unwrap();
        let last = h.mock.data().feed().last().unwrap().sequence;
        let cursor = h.config.cursor_path.clone();
        until("feed consumed", || async {
            read_cursor(&cursor).unwrap() == last
        })
        .await;
        h.drained().await;
        h.stop().await;
        secrets_of(&h)
    });
    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("systmone envelope published"),
        "the capture works"
    );
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|s| logs.contains(s.as_str()))
        .collect();
    println!(
        "checked {} values against {} bytes of logs",
        secrets.len(),
        logs.len()
    );
    assert!(
        leaked.is_empty(),
        "{} patient values appear in the logs",
        leaked.len()
    );
}

/// Every name, date of birth, NHS number and local id the mock holds.
fn secrets_of(h: &Harness) -> Vec<String> {
    let mut out = vec!["9990000018".to_owned()];
    for nhs in h.mock.data().nhs_numbers() {
        out.push(nhs.to_owned());
        let bundle: serde_json::Value =
            serde_json::from_slice(&h.mock.data().record(nhs).unwrap().body).unwrap();
        let patient = &bundle["entry"][0]["resource"];
        out.push(patient["id"].as_str().unwrap().to_owned());
        out.push(patient["birthDate"].as_str().unwrap().to_owned());
        for name in patient["name"].as_array().unwrap() {
            out.push(name["family"].as_str().unwrap().to_owned());
            out.extend(
                name["given"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| g.as_str().unwrap().to_owned()),
            );
        }
    }
    out.retain(|s| s.len() >= 3);
    out.sort();
    out.dedup();
    out
}
