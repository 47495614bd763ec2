//! The conformance suite every adapter passes (same test names in every adapter), against the
//! mock NOMIS on loopback and the real embedded bus (`SqliteBus` in a temp dir).
//!
//! For NOMIS the acknowledgement is the HTTP answer to an SNS delivery and the checkpoint is SNS
//! redelivery: a notification not answered 2xx is delivered again by the pusher.

use std::{
    collections::HashSet,
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use waymark_adapter_nomis::{
    Expect, Faults, MockNomis, Population, PushOptions, PushOutcome, PushReport, Pusher,
    ScriptedNotification, parse_notification,
};
use waymark_bus::{Bus, Published, SqliteBus};
use waymark_core::{Envelope, MessageId};

use crate::common::{
    QUEUE, RETRIES,
    capture::{Capture, contains_word, personal_values},
    error_code, fast_push,
    gate::{Confirmed, Mode, WAIT},
    inputs::{confirm_subscription, hostile_bodies, over_the_limit},
    process::Process,
    rig::{Rig, expected_ids, id_of},
};

/// Redelivers patiently: up to 14 attempts, from 10 ms doubling (about 80 s in all).
fn patient() -> PushOptions {
    PushOptions {
        max_attempts: 14,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(30),
    }
}

fn bodies(population: &Population) -> Vec<Vec<u8>> {
    let script = population.notifications();
    script.iter().map(|n| n.body.clone()).collect()
}

/// Delivers `bodies` one at a time, counting acknowledgements as they happen.
async fn push_counting(
    pusher: Pusher,
    bodies: Vec<Vec<u8>>,
    acked: Arc<AtomicUsize>,
) -> Vec<PushOutcome> {
    let mut outcomes = Vec::new();
    for body in &bodies {
        let outcome = pusher.push_one(body).await;
        if outcome.acknowledged {
            acked.fetch_add(1, Ordering::SeqCst);
        }
        outcomes.push(outcome);
    }
    outcomes
}

fn unique_ids(confirmed: &[(MessageId, Published)]) -> HashSet<MessageId> {
    confirmed.iter().map(|(id, _)| id.clone()).collect()
}

/// While the bus refuses, then holds, publishes, SNS sees no 2xx: the first notification is
/// answered 503 and redelivered, then left unanswered while its publish is held, and no later
/// notification is delivered. Once the bus recovers every notification is acknowledged and on
/// the bus under its own id.
#[tokio::test]
async fn acks_only_after_bus_confirmed() {
    let rig = Rig::start(Population::synthetic(31, 12)).await;
    let expected = expected_ids(rig.mock.population());
    rig.bus.set_mode(Mode::Refuse);
    let acked = Arc::new(AtomicUsize::new(0));
    let pusher = rig.pusher(patient());
    let bodies = bodies(rig.mock.population());
    let push = tokio::spawn(push_counting(pusher, bodies, acked.clone()));

    rig.bus.wait_for(|refused, _| refused >= 3).await;
    let refused = rig.snapshot();
    assert_eq!((refused.published, refused.duplicates), (0, 0));
    assert!(refused.unacked >= 3, "{refused:?}");
    assert_eq!(acked.load(Ordering::SeqCst), 0);
    assert_eq!(rig.bus.depth().await, 0);

    rig.bus.set_mode(Mode::Hold);
    rig.bus.wait_for(|_, held| held >= 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rig.bus.held(),
        1,
        "one delivery in flight, the next one not sent"
    );
    assert_eq!(
        acked.load(Ordering::SeqCst),
        0,
        "no answer while the bus holds"
    );
    assert_eq!(rig.snapshot().published, 0);
    assert_eq!(rig.bus.depth().await, 0);

    rig.bus.set_mode(Mode::Open);
    let outcomes = push.await.unwrap();
    assert!(outcomes.iter().all(|o| o.acknowledged));
    assert!(outcomes[0].attempts >= 4, "{:?}", outcomes[0]);
    assert_eq!(acked.load(Ordering::SeqCst), expected.len());
    assert_eq!(rig.bus.depth().await as usize, expected.len());
    assert_eq!(unique_ids(&rig.bus.confirmed()), expected);
    assert_eq!(rig.stop().await.published as usize, expected.len());
}

/// A free loopback address for adapters that must come back on the same port.
fn free_address() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap()
}

/// Waits (blocking) until the bus confirmed at least `n` publishes.
fn wait_confirmed(confirmed: &Confirmed, n: usize) {
    let deadline = Instant::now() + WAIT;
    while confirmed.lock().unwrap().len() < n {
        assert!(Instant::now() < deadline, "{n} confirmations not reached");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Messages the bus file holds, read by a fresh handle (as the next process would).
async fn depth_on_disk(db: &Path) -> u64 {
    let bus = SqliteBus::open(db).await.unwrap();
    let depth = bus.depth(QUEUE).await.unwrap().total();
    bus.close().await;
    depth
}

/// Runs the adapter three times on one port and one bus file while the mock's pusher delivers
/// its whole script: stopped cleanly a third of the way, then aborted (its runtime dropped, as a
/// crash) mid-stream, then run to the end. What was not acknowledged is redelivered by the
/// pusher, so every notification the mock holds is on the bus under its one id, none is
/// skipped, and a repeat only ever carries an id already published.
#[test]
#[allow(clippy::print_stderr)]
fn restart_resumes_from_checkpoint() {
    let outer = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bus.db");
    let mock = outer
        .block_on(MockNomis::start(Population::synthetic(32, 60)))
        .unwrap();
    let expected = expected_ids(mock.population());
    let sent = mock.population().notifications().len();
    assert_eq!(expected.len(), sent, "one id per notification");
    let listen = free_address();
    let confirmed = Confirmed::default();
    let start = || Process::start(&db, listen, &mock.base_url(), confirmed.clone(), 3);

    let first = start();
    let pusher = mock.pusher(format!("http://{listen}/sns"), patient());
    let script = bodies(mock.population());
    let push = outer.spawn(async move { pusher.push(script.iter().map(Vec::as_slice)).await });
    wait_confirmed(&confirmed, sent / 3);
    first.stop();
    let after_stop = confirmed.lock().unwrap().len();
    assert!(after_stop < sent, "stopped mid-stream");
    std::thread::sleep(Duration::from_millis(100));

    let second = start();
    wait_confirmed(&confirmed, after_stop + 20);
    second.abort();
    let after_abort = unique_ids(&confirmed.lock().unwrap()).len();
    assert!(after_abort < sent, "aborted mid-stream");

    let third = start();
    let report = outer.block_on(push).unwrap();
    third.stop();
    let depth = outer.block_on(depth_on_disk(&db));
    outer.block_on(mock.stop());
    check_resumed(&confirmed.lock().unwrap(), &expected, &report, depth);
}

/// The counts of a restarted run: printed, then checked.
#[allow(clippy::print_stderr)]
fn check_resumed(
    confirmed: &[(MessageId, Published)],
    expected: &HashSet<MessageId>,
    report: &PushReport,
    depth: u64,
) {
    let unique = unique_ids(confirmed);
    let skipped = expected.difference(&unique).count();
    let said_duplicate = confirmed
        .iter()
        .filter(|(_, p)| *p == Published::Duplicate)
        .count();
    eprintln!(
        "restart: mock holds {}, unique published {}, publishes confirmed {}, duplicates {said_duplicate}, \
         skipped {skipped}, deliveries {} (redeliveries {}), on disk {depth}",
        expected.len(),
        unique.len(),
        confirmed.len(),
        report.attempts,
        report.attempts - report.sent,
    );
    assert_eq!((report.acknowledged, report.failed), (report.sent, 0));
    assert!(report.attempts > report.sent, "down times were redelivered");
    assert_eq!(skipped, 0);
    assert_eq!(&unique, expected, "repeats only carry the mock's own ids");
    assert_eq!(said_duplicate, confirmed.len() - unique.len());
    assert_eq!(depth as usize, expected.len());
}

/// The one envelope of `body`.
fn only_envelope<'a>(envelopes: &'a [Envelope], body: &[u8]) -> &'a Envelope {
    let found: Vec<_> = envelopes
        .iter()
        .filter(|e| e.payload.expose().as_slice() == body)
        .collect();
    assert_eq!(found.len(), 1, "one envelope per notification");
    found[0]
}

/// The error code a scripted fault must carry.
fn code_for(label: &str) -> &'static str {
    match label {
        "malformed-json" => "nomis.parse.body",
        "unknown-prisoner" => "nomis.prison-api.not-found",
        "prison-api-403" => "nomis.prison-api.status",
        "oversized" => "nomis.too-large",
        other => panic!("unexpected fault {other}"),
    }
}

fn check_scripted(envelopes: &[Envelope], scripted: &ScriptedNotification) {
    let envelope = only_envelope(envelopes, &scripted.body);
    if scripted.expect == Expect::Bad {
        let code = error_code(envelope);
        assert_eq!(code.as_deref(), Some(code_for(&scripted.label)));
    } else {
        assert_eq!(error_code(envelope), None, "{}", scripted.label);
        assert!(envelope.context.expose()["prisoner"].is_object());
    }
}

/// Every bad input NOMIS can send is handled as SNS intends or published for quarantine: the
/// four scripted faults (malformed JSON, unknown prisoner, Prison API 403, oversized) and
/// hostile bodies are acknowledged and published with `context.error`; a redelivered
/// notification repeats its id and is stored once; a body over 16 MiB is answered 413 (SNS sees
/// it) and counted; a subscription confirmation is answered and not published. Read back from
/// the bus file: nothing lost, nothing panicked.
#[tokio::test]
async fn bad_message_quarantined() {
    let population = Population::synthetic(33, 10).with_faults(Faults { bad_events: true });
    let rig = Rig::start(population).await;
    let report = rig.push_all().await;
    assert_eq!(report.acknowledged, report.sent);
    let script = rig.mock.population().notifications().to_vec();
    let again = script.iter().find(|n| n.expect != Expect::Bad).unwrap();
    let hostile = hostile_bodies();
    let mut extra = vec![again.body.as_slice()];
    extra.extend(hostile.iter().map(Vec::as_slice));
    let extra = rig.pusher(fast_push()).push(extra).await;
    assert_eq!(extra.acknowledged, extra.sent);
    let once = PushOptions {
        max_attempts: 2,
        ..fast_push()
    };
    let huge = rig.pusher(once).push([over_the_limit().as_slice()]).await;
    assert_eq!(huge.outcomes[0].last_status, Some(413));
    assert_eq!(huge.acknowledged, 0);
    assert_eq!(confirm_subscription(&rig.adapter.endpoint()).await, 200);

    let envelopes = rig.bus.drain().await;
    assert_eq!(envelopes.len(), script.len() + hostile.len());
    for scripted in &script {
        check_scripted(&envelopes, scripted);
    }
    for body in &hostile {
        assert!(error_code(only_envelope(&envelopes, body)).is_some());
    }
    let again_id = id_of(&again.body);
    let repeats: Vec<_> = rig
        .bus
        .confirmed()
        .into_iter()
        .filter(|(id, _)| *id == again_id)
        .collect();
    assert_eq!(
        repeats.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        [Published::New, Published::Duplicate]
    );
    let s = rig.stop().await;
    assert_eq!(
        (s.rejected, s.duplicates, s.confirmations),
        (2, 1, 1),
        "{s:?}"
    );
    assert_eq!(s.flawed as usize, 4 + hostile.len());
}

/// The `full-status` path of the first notification naming a prison number: failing it
/// `1 + RETRIES` times defers exactly one delivery.
fn first_full_status_path(population: &Population) -> String {
    let number = population.notifications().iter().find_map(|n| {
        let event = parse_notification(&n.body).ok()?.event;
        Some(event.prison_number?.expose().clone())
    });
    format!("/api/prisoners/{}/full-status", number.unwrap())
}

/// Every counter moves as the adapter works: deliveries read, published, a redelivery stored
/// once, flawed notifications, bus failures answered 503, a Prison API outage answered 503
/// (deferred), a body refused with 413, Prison API retries, a confirmation, and the lag of
/// events from 2024.
#[tokio::test]
async fn telemetry_emitted() {
    let population = Population::synthetic(34, 8).with_faults(Faults { bad_events: true });
    let sent = population.notifications().len() as u64;
    let path = first_full_status_path(&population);
    let rig = Rig::start(population).await;
    rig.bus.fail_next(2);
    rig.mock.fail_next(path, 1 + RETRIES as usize, 503);
    let report = rig.push_all().await;
    assert_eq!(
        report.attempts as u64,
        sent + 3,
        "two bus 503s and one Prison API 503 redelivered"
    );
    let first = rig.mock.population().notifications()[0].body.clone();
    rig.pusher(fast_push()).push([first.as_slice()]).await;
    let once = PushOptions {
        max_attempts: 1,
        ..fast_push()
    };
    rig.pusher(once).push([over_the_limit().as_slice()]).await;
    assert_eq!(confirm_subscription(&rig.adapter.endpoint()).await, 200);

    let s = rig.stop().await;
    assert_eq!(s.received, sent + 4, "{s:?}");
    assert_eq!((s.published, s.duplicates), (sent, 1));
    assert_eq!((s.flawed, s.unacked, s.rejected), (4, 2, 1));
    assert_eq!(s.enrich_deferred, 1, "the Prison API outage, not acked");
    assert_eq!(
        s.retried,
        u64::from(RETRIES),
        "the outage retried; the 403 and the 404 not"
    );
    assert_eq!(s.confirmations, 1);
    assert!(s.lag_ms > 0, "events from 2024 arrive late");
}

/// The adapter's tracing output, at every level, while it works through a faulty population
/// (bus failures, a Prison API outage, flawed and hostile notifications, a redelivery), holds
/// no name, date of birth, prison number or booking id of anyone the mock serves.
#[tokio::test(flavor = "current_thread")]
async fn no_patient_data_in_logs() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let population = Population::synthetic(35, 25).with_faults(Faults { bad_events: true });
    let path = first_full_status_path(&population);
    let rig = Rig::start(population).await;
    rig.bus.fail_next(2);
    rig.mock.fail_next(path, 1 + RETRIES as usize, 503);
    rig.push_all().await;
    let first = rig.mock.population().notifications()[0].body.clone();
    let mut extra = hostile_bodies();
    extra.push(first);
    rig.pusher(fast_push())
        .push(extra.iter().map(Vec::as_slice))
        .await;
    let values = personal_values(rig.mock.population());
    rig.stop().await;

    let logs = capture.text();
    for line in [
        "nomis envelope published",
        "nomis publish failed",
        "nomis notification flawed",
        "nomis enrichment failed transiently",
    ] {
        assert!(logs.contains(line), "the adapter logged `{line}`");
    }
    assert!(values.len() > 100, "{} values to look for", values.len());
    let leaked: Vec<&String> = values.iter().filter(|v| contains_word(&logs, v)).collect();
    assert!(
        leaked.is_empty(),
        "{} personal values in the logs",
        leaked.len()
    );
}
