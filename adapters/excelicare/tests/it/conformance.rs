//! The conformance suite every adapter passes, against the mock ExceliCare on loopback and the
//! embedded bus.

use std::collections::BTreeSet;

use waymark_adapter_excelicare::{AckCode, Expect, FAULTS, MockExcelicare, Script, Transport};
use waymark_bus::Published;
use waymark_core::{Envelope, MessageId};

use crate::common::{Gate, Harness, error_code, spawn_send};

#[tokio::test]
async fn acks_only_after_bus_confirmed() {
    let harness = Harness::start().await;
    let mock = MockExcelicare::new(Script::synthetic(1, 6));
    let total = mock.script().items().len();

    // Held: a publish is waiting for the bus; the sender has no answer.
    harness.bus.set(Gate::Hold);
    let run = spawn_send(&mock, harness.addr);
    harness.bus.held().wait_for(|n| *n >= 1).await.unwrap();
    assert_eq!(mock.report().outcomes[0].answer, None);
    assert_eq!(harness.adapter().metrics().acks_aa, 0);

    // Failing: the held publish and every resend fail; still no AA, nothing stored.
    harness.bus.set(Gate::Fail);
    harness.bus.failed().wait_for(|n| *n >= 3).await.unwrap();
    let report = mock.report();
    assert_eq!(report.accepted, 0);
    assert!(
        report.outcomes[0].attempts >= 3,
        "AR 207 makes the sender resend"
    );
    assert_eq!(harness.adapter().metrics().acks_aa, 0);
    assert!(harness.bus.drain().await.is_empty());

    // Recovered: everything arrives, once.
    harness.bus.set(Gate::Open);
    let report = run.await.unwrap();
    assert_eq!((report.accepted, report.unanswered), (total, 0));
    assert_eq!(report.mismatched_acks, 0);
    let stored = harness.bus.drain().await;
    let ids: BTreeSet<MessageId> = stored.keys().cloned().collect();
    assert_eq!(ids, mock.script().expected_ids());
    let metrics = harness.adapter().metrics();
    assert!(metrics.publish_failed >= 3);
    assert_eq!(metrics.acks_aa, total as u64);
}

#[tokio::test]
#[allow(clippy::print_stdout)]
async fn restart_resumes_from_checkpoint() {
    let mut harness = Harness::start().await;
    let mock = MockExcelicare::new(Script::synthetic(2, 60));
    let total = mock.script().items().len();
    let run = spawn_send(&mock, harness.addr);
    let mut progress = mock.progress();

    progress.wait_for(|n| *n >= total / 3).await.unwrap();
    harness.stop().await;
    assert!(*progress.borrow() < total, "stopped mid-stream");
    harness.restart().await;
    progress.wait_for(|n| *n >= 2 * total / 3).await.unwrap();
    harness.abort().await;
    assert!(*progress.borrow() < total, "aborted mid-stream");
    harness.restart().await;
    let report = run.await.unwrap();

    let expected = mock.script().expected_ids();
    let stored = harness.bus.drain().await;
    let stored_ids: BTreeSet<MessageId> = stored.keys().cloned().collect();
    let skipped = expected.difference(&stored_ids).count();
    let outcomes = harness.bus.outcomes();
    let duplicates: Vec<&MessageId> = outcomes
        .iter()
        .filter(|(_, p)| *p == Published::Duplicate)
        .map(|(id, _)| id)
        .collect();
    println!(
        "excelicare restart: messages {total}, unique ids published {}, expected {}, skipped \
         {skipped}, duplicates {}, sends {}, connections {}",
        stored_ids.len(),
        expected.len(),
        duplicates.len(),
        report.attempts,
        report.connections
    );
    assert_eq!(report.accepted, total);
    assert_eq!(stored_ids, expected);
    assert_eq!(skipped, 0);
    assert!(duplicates.iter().all(|id| expected.contains(*id)));
    assert!(
        report.connections >= 3,
        "one connection per adapter at least"
    );
    for (id, envelope) in &stored {
        assert_eq!(&envelope.id, id);
        assert_eq!(error_code(envelope), None);
    }
}

fn find<'a>(stored: &'a [&'a Envelope], payload: &[u8]) -> Option<&'a Envelope> {
    let found: Vec<&&Envelope> = stored
        .iter()
        .filter(|e| e.payload.expose().as_slice() == payload)
        .collect();
    assert!(found.len() <= 1);
    found.first().map(|e| **e)
}

#[tokio::test]
async fn bad_message_quarantined() {
    let harness = Harness::start().await;
    let mock = MockExcelicare::new(Script::synthetic(3, 20).with_faults());
    let report = spawn_send(&mock, harness.addr).await.unwrap();
    assert_eq!((report.unanswered, report.mismatched_acks), (0, 0));
    let stored = harness.bus.drain().await;
    let envelopes: Vec<&Envelope> = stored.values().collect();
    let items = mock.script().items();
    for (label, expect) in FAULTS {
        let index = items.iter().position(|i| i.label == label).unwrap();
        let (item, outcome) = (&items[index], &report.outcomes[index]);
        let envelope = find(&envelopes, &item.bytes);
        match expect {
            Expect::Accept => {
                assert_eq!(outcome.answer, Some(AckCode::Accept), "{label}");
                let envelope = envelope.unwrap_or_else(|| panic!("{label} not published"));
                assert_eq!(error_code(envelope), None, "{label}");
                assert_eq!(Some(&envelope.id), item.message_id().as_ref(), "{label}");
            }
            Expect::Quarantine | Expect::Unsupported => {
                let code = if expect == Expect::Quarantine {
                    AckCode::Error
                } else {
                    AckCode::Reject
                };
                assert_eq!(outcome.answer, Some(code), "{label}");
                let envelope = envelope.unwrap_or_else(|| panic!("{label} not published"));
                let reason = error_code(envelope).unwrap_or_else(|| panic!("{label}: no error"));
                assert!(reason.starts_with("excelicare."), "{label}: {reason}");
            }
            Expect::Refuse => {
                assert_eq!(outcome.answer, Some(AckCode::Reject), "{label}");
                assert_eq!(outcome.error_code.as_deref(), Some("104"), "{label}");
                assert!(envelope.is_none(), "{label} must not be published");
            }
        }
        let resent = matches!(
            item.transport,
            Transport::Truncate | Transport::DropBeforeAck
        );
        assert_eq!(outcome.attempts, if resent { 2 } else { 1 }, "{label}");
    }
    let code_of = |label: &str| {
        let item = items.iter().find(|i| i.label == label).unwrap();
        error_code(find(&envelopes, &item.bytes).unwrap()).unwrap()
    };
    assert_eq!(
        code_of("wrong-version-2.1"),
        "excelicare.unsupported-version"
    );
    assert_eq!(
        code_of("wrong-version-3.0"),
        "excelicare.unsupported-version"
    );
    assert_eq!(code_of("unsupported-type"), "excelicare.unsupported-type");
    assert_eq!(code_of("missing-msh9"), "excelicare.msh.missing-type");
    assert_eq!(
        code_of("missing-msh10"),
        "excelicare.msh.missing-control-id"
    );
    assert_eq!(code_of("not-hl7"), "excelicare.unreadable");

    // Out of order: each keeps its own event time, so the record can order them.
    let time = |label: &str| {
        let item = items.iter().find(|i| i.label == label).unwrap();
        find(&envelopes, &item.bytes).unwrap().event_time.unwrap()
    };
    assert!(time("out-of-order-first") > time("out-of-order-second"));

    let metrics = harness.adapter().metrics();
    assert_eq!(stored.len(), mock.script().expected_published());
    assert!(metrics.truncated >= 1);
    assert!(metrics.garbage_bytes >= 5);
    assert_eq!(metrics.rejected, 1);
    assert!(
        metrics.duplicates >= 2,
        "the duplicate and the resend after the drop"
    );
}

#[tokio::test]
async fn telemetry_emitted() {
    let harness = Harness::start().await;
    let mock = MockExcelicare::new(Script::synthetic(4, 20).with_faults());
    let before = harness.adapter().metrics();
    assert_eq!(before, Default::default());

    harness.bus.set(Gate::Fail);
    let run = spawn_send(&mock, harness.addr);
    harness.bus.failed().wait_for(|n| *n >= 2).await.unwrap();
    harness.bus.set(Gate::Open);
    let report = run.await.unwrap();

    let m = harness.adapter().metrics();
    let total = mock.script().items().len() as u64;
    assert!(m.connections >= 2, "reconnects after drops");
    assert!(m.received >= total);
    assert!(m.bytes > 1_500_000, "the oversized frame was read");
    assert_eq!(m.published, mock.script().expected_published() as u64);
    assert!(m.duplicates >= 2);
    assert_eq!(m.quarantined, 6, "three AE and three AR kept");
    assert_eq!(m.rejected, 1);
    assert!(m.publish_failed >= 2);
    assert!(m.truncated >= 1);
    assert!(m.garbage_bytes >= 5);
    // One AA per accepted message, plus perhaps one written to the sender that hung up.
    let accepted = report.accepted as u64;
    assert!((accepted..=accepted + 1).contains(&m.acks_aa), "{m:?}");
    assert_eq!(m.acks_ae, report.errors as u64);
    assert_eq!(m.acks_ar, m.publish_failed + report.rejected as u64);
    assert!(m.lag_ms_max >= m.lag_ms_last && m.lag_ms_last > 0);
}
