//! The conformance suite every adapter passes (same test names in every adapter).

use std::{
    collections::HashSet,
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use tracing_subscriber::fmt::MakeWriter;
use waymark_adapter_athena::{Feed, FeedFaults, HttpFaults, MockAthena};
use waymark_core::MessageId;

use crate::common::{Mode, Rig, WAIT, clean_feed};

/// While the bus refuses, then blocks, publishes, Athena sees no acknowledgement: no request
/// continues past the first page and the checkpoint is never written. Once the bus recovers,
/// every event arrives and the cursor moves to the end of the feed.
#[tokio::test]
async fn acks_only_after_bus_confirmed() {
    let rig = Rig::start(clean_feed(11, 12), HttpFaults::default()).await;
    let unique = rig.mock.feed().expected().unique;
    rig.bus.set_mode(Mode::Refuse);
    let run = rig.run(rig.config()).await;
    rig.bus.wait_for(|refused, _| refused >= 5).await;
    let refused = run.adapter.snapshot();
    assert_eq!((refused.published, refused.checkpoints), (0, 0));
    assert!(refused.retried >= 4, "{refused:?}");
    assert!(!rig.checkpoint_path().exists());
    assert_eq!(rig.mock.stats().acknowledged, 0);

    rig.bus.set_mode(Mode::Hold);
    rig.bus.wait_for(|_, held| held >= 1).await;
    assert_eq!(run.adapter.snapshot().published, 0);
    assert!(!rig.checkpoint_path().exists());
    assert_eq!(rig.mock.stats().acknowledged, 0);
    assert_eq!(rig.bus.depth().await, 0);

    rig.bus.set_mode(Mode::Open);
    let done = run.until_caught_up(unique).await;
    assert_eq!(done.published as usize, unique);
    assert_eq!(rig.bus.depth().await as usize, unique);
    let checkpoint = rig.checkpoint();
    assert_eq!(checkpoint.last_sequence, Some(rig.mock.feed().len() as u64));
    assert_eq!(
        checkpoint.cursor,
        Some(MockAthena::cursor(rig.mock.feed().len()))
    );
    // The next poll continues from the end: Athena sees the whole feed acknowledged.
    let (_, polled) = run
        .adapter
        .telemetry()
        .wait_for(WAIT, |s| s.caught_up >= 2)
        .await;
    assert!(polled);
    run.stop().await;
    assert_eq!(rig.mock.stats().acknowledged, rig.mock.feed().len());
}

/// Stopped by its shutdown signal, then aborted like a crash, then run to the end, each time
/// from the same checkpoint: every event of the feed is published under its one message id,
/// none is skipped, and replays only repeat ids already published.
#[tokio::test]
#[allow(clippy::print_stderr)]
async fn restart_resumes_from_checkpoint() {
    let slow = HttpFaults {
        slow_every: 1,
        slow_ms: 10,
        ..HttpFaults::default()
    };
    let rig = Rig::start(clean_feed(12, 40), slow).await;
    let total = rig.mock.feed().expected().unique;
    let mut config = rig.config();
    config.page_size = 7;

    let first = rig.run(config.clone()).await;
    let third = total / 3;
    let (_, reached) = first
        .adapter
        .telemetry()
        .wait_for(WAIT, |s| s.published as usize >= third)
        .await;
    assert!(reached);
    let a = first.stop().await;
    let after_stop = rig.checkpoint();
    assert!(
        after_stop.last_sequence.unwrap_or(0) < total as u64,
        "stopped mid-stream"
    );

    let second = rig.run(config.clone()).await;
    let (_, reached) = second
        .adapter
        .telemetry()
        .wait_for(WAIT, |s| s.published >= 10)
        .await;
    assert!(reached);
    let b = second.adapter.snapshot();
    second.adapter.abort().await;
    assert!(
        rig.checkpoint().last_sequence.unwrap_or(0) < total as u64,
        "aborted mid-stream"
    );

    let third_run = rig.run(config).await;
    let (c, reached) = third_run
        .adapter
        .telemetry()
        .wait_for(WAIT, |s| s.caught_up >= 1)
        .await;
    assert!(reached, "{c:?}");
    third_run.stop().await;

    let confirmed = rig.bus.confirmed_ids();
    let unique: HashSet<MessageId> = confirmed.iter().cloned().collect();
    let expected = rig.expected_ids();
    let skipped = a.skipped + b.skipped + c.skipped;
    eprintln!(
        "restart: total {total}, unique published {}, publishes confirmed {}, replayed {}, skipped {skipped}",
        unique.len(),
        confirmed.len(),
        confirmed.len() - unique.len(),
    );
    assert_eq!(unique.len(), total);
    assert_eq!(
        unique, expected,
        "replays only ever carry the feed's own message ids"
    );
    assert_eq!(skipped, 0);
    assert_eq!(rig.bus.depth().await as usize, total);
    assert_eq!(
        rig.checkpoint().last_sequence,
        Some(rig.mock.feed().len() as u64)
    );
}

/// Every bad input Athena can send is handled as Athena intends or published for quarantine:
/// invalid JSON pages are fetched again, a cursor going backwards is detected and its stale
/// events skipped with a record, malformed events are published with `context.error` (and the
/// Athena mapping quarantines them with a reason), duplicates repeat the same message id,
/// out-of-order events are published with their own times. Nothing is lost, nothing panics.
#[tokio::test]
async fn bad_message_quarantined() {
    let all = FeedFaults {
        malformed: true,
        duplicates: true,
        out_of_order: true,
    };
    let faults = HttpFaults {
        malformed_page_every: 5,
        rewind_every: 7,
        server_error_every: 11,
        drop_every: 13,
        slow_every: 9,
        slow_ms: 30,
        ..HttpFaults::default()
    };
    let rig = Rig::start(Feed::synthetic(13, 30, all), faults).await;
    let expected = rig.mock.feed().expected();
    let mut config = rig.config();
    config.poll_interval_ms = 60_000;
    config.page_size = 10;
    let run = rig.run(config).await;
    run.until_caught_up(expected.unique).await;
    let s = run.stop().await;
    let mock = rig.mock.stats();

    // Invalid JSON: each truncated page was refused and fetched again.
    assert!(mock.malformed_pages >= 1, "{mock:?}");
    assert!(
        s.rejected as usize >= mock.malformed_pages as usize + expected.flawed,
        "{s:?}"
    );
    // A cursor going backwards: detected, and its stale events skipped with a record.
    assert!(
        mock.rewinds >= 1 && s.cursor_regressions >= 1,
        "{mock:?} {s:?}"
    );
    assert!(s.skipped >= 1);
    // 5xx, dropped connections, slow answers: retried.
    assert!(
        mock.server_errors >= 1 && mock.dropped >= 1 && mock.slow >= 1,
        "{mock:?}"
    );
    let failures = mock.malformed_pages + mock.server_errors + mock.dropped;
    assert_eq!(s.retried, failures, "{s:?} {mock:?}");
    // Duplicates: the same message id again, confirmed by the bus as already held.
    assert!(s.duplicates as usize >= expected.duplicates && expected.duplicates >= 1);
    // Out of order: published, with their own event times, and counted.
    assert_eq!(s.late_events as usize, expected.late);
    assert!(expected.late >= 1);
    // Nothing lost: every distinct event is on the bus exactly once.
    assert_eq!(rig.bus.depth().await as usize, expected.unique);
    assert_eq!(s.published as usize, expected.unique);
    // Malformed events: published with context.error, quarantined by the mapping with a reason.
    let mut seen = HashSet::new();
    let flawed: Vec<_> = rig
        .bus
        .envelopes()
        .into_iter()
        .filter(|e| {
            e.context.expose().pointer("/error/code").is_some() && seen.insert(e.id.clone())
        })
        .collect();
    assert_eq!(flawed.len(), expected.flawed);
    let mappings = crate::faults::athena_mappings();
    for envelope in &flawed {
        let code = envelope.context.expose().pointer("/error/code").cloned();
        assert_eq!(
            code,
            Some(serde_json::json!(waymark_adapter_athena::FLAWED_CODE))
        );
        let reason = match mappings.set.map(envelope) {
            Err(err) => err.to_string(),
            Ok(_) => panic!("a malformed event was mapped"),
        };
        assert!(
            reason.contains("athena.malformed-event") || reason.contains("no mapping"),
            "{reason}"
        );
    }
}

/// The counters move as the adapter works: pages, events received and published, a refused
/// page and a 503 retried, publishes the bus failed retried, tokens, checkpoints, lag.
#[tokio::test]
async fn telemetry_emitted() {
    let faults = HttpFaults {
        server_error_every: 2,
        malformed_page_every: 3,
        ..HttpFaults::default()
    };
    let rig = Rig::start(clean_feed(14, 8), faults).await;
    let expected = rig.mock.feed().expected();
    rig.bus.fail_next(3);
    let mut config = rig.config();
    config.poll_interval_ms = 60_000;
    let run = rig.run(config).await;
    run.until_caught_up(expected.unique).await;
    let s = run.stop().await;
    let mock = rig.mock.stats();
    assert_eq!(s.pages as usize, expected.items.div_ceil(20), "{s:?}");
    assert_eq!(s.pages, mock.pages_served);
    assert_eq!(s.received as usize, expected.items);
    assert_eq!(s.published as usize, expected.unique);
    assert_eq!(
        (s.duplicates, s.skipped, s.cursor_regressions, s.late_events),
        (0, 0, 0, 0)
    );
    assert_eq!(s.rejected, mock.malformed_pages);
    assert_eq!(s.retried, mock.server_errors + mock.malformed_pages + 3);
    assert_eq!(s.rate_limited, 0);
    assert_eq!(s.tokens, 1);
    assert_eq!(s.checkpoints, s.pages);
    assert!(s.caught_up >= 1);
    assert!(s.lag_ms > 0, "events from 2024 arrive late");
}

/// A `MakeWriter` that appends everything to one shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// What a log must never show of the people in the feed: names, dates of birth, NHS numbers,
/// PNC IDs, CRO numbers, local ids, custody record numbers, postcodes.
fn personal_values(feed: &Feed) -> HashSet<String> {
    let mut values = HashSet::new();
    for item in feed.items() {
        let event: serde_json::Value = serde_json::from_slice(&item.body).unwrap();
        let d = &event["detainee"];
        for key in [
            "localId",
            "pncId",
            "croNumber",
            "nhsNumber",
            "dateOfBirth",
            "postcode",
            "prisonNumber",
        ] {
            values.extend(d[key].as_str().map(str::to_owned));
        }
        values.extend(event["custodyRecord"]["number"].as_str().map(str::to_owned));
        for name in d["names"].as_array().into_iter().flatten() {
            values.extend(name["surname"].as_str().map(str::to_owned));
            let forenames = name["forenames"].as_array().into_iter().flatten();
            values.extend(forenames.filter_map(|f| f.as_str().map(str::to_owned)));
        }
    }
    values.retain(|v| v.len() >= 3);
    values
}

/// Whether `word` appears in `text` not as part of a longer word.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The adapter's tracing output, at every level, while it works through a faulty feed of the
/// population, holds no name, date of birth, NHS number or local id of anyone.
#[tokio::test(flavor = "current_thread")]
async fn no_patient_data_in_logs() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let all = FeedFaults {
        malformed: true,
        duplicates: true,
        out_of_order: true,
    };
    let faults = HttpFaults {
        malformed_page_every: 4,
        rewind_every: 6,
        unauthorized_every: 5,
        ..HttpFaults::default()
    };
    let rig = Rig::start(Feed::synthetic(15, 25, all), faults).await;
    let expected = rig.mock.feed().expected();
    rig.bus.fail_next(2);
    let run = rig.run(rig.config()).await;
    run.until_caught_up(expected.unique).await;
    run.stop().await;
    tokio::time::sleep(Duration::from_millis(1)).await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("athena envelope published"),
        "the adapter logged its work"
    );
    assert!(logs.contains("athena event skipped") && logs.contains("athena publish failed"));
    let values = personal_values(rig.mock.feed());
    assert!(values.len() > 50, "{} values to look for", values.len());
    let leaked: Vec<&String> = values.iter().filter(|v| contains_word(&logs, v)).collect();
    assert!(
        leaked.is_empty(),
        "{} personal values in the logs",
        leaked.len()
    );
}
