//! The mock's HTTP faults one by one, the checkpoint's guard, and the Athena mapping run over
//! every kind of event the mock serves.

use std::path::Path;

use waymark_adapter_athena::{Expect, Feed, FeedFaults, HttpFaults, envelope_for_event};
use waymark_core::ErrorCode;
use waymark_mapping::MappingSet;

use crate::common::{Rig, clean_feed};

/// The repository's Athena mappings and terminology, copied alone into a temp dir so that
/// other sources' mappings do not matter here.
pub struct AthenaMappings {
    pub set: MappingSet,
    _dir: tempfile::TempDir,
}

pub fn athena_mappings() -> AthenaMappings {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings");
    let dir = tempfile::tempdir().unwrap();
    let (athena, terminology) = (dir.path().join("athena"), dir.path().join("terminology"));
    std::fs::create_dir_all(&athena).unwrap();
    std::fs::create_dir_all(&terminology).unwrap();
    for entry in std::fs::read_dir(repo.join("athena")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jq") {
            std::fs::copy(&path, athena.join(path.file_name().unwrap())).unwrap();
        }
    }
    for entry in std::fs::read_dir(repo.join("terminology")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "labels.json" || name.starts_with("ConceptMap-athena-") {
            std::fs::copy(&path, terminology.join(&name)).unwrap();
        }
    }
    AthenaMappings {
        set: MappingSet::load(dir.path()).unwrap(),
        _dir: dir,
    }
}

/// A 429's `Retry-After` is waited out before the next request.
#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let faults = HttpFaults {
        rate_limit_every: 2,
        retry_after_secs: 1,
        ..HttpFaults::default()
    };
    let rig = Rig::start(clean_feed(21, 4), faults).await;
    let expected = rig.mock.feed().expected();
    let mut config = rig.config();
    config.poll_interval_ms = 60_000;
    let run = rig.run(config).await;
    run.until_caught_up(expected.unique).await;
    let s = run.stop().await;
    let mock = rig.mock.stats();
    assert!(mock.rate_limited >= 1);
    assert_eq!(s.rate_limited, mock.rate_limited);
    let waited = mock.min_wait_after_429_ms.unwrap();
    assert!(
        waited >= 950,
        "waited only {waited} ms after a 429 asking for 1 s"
    );
    assert_eq!(rig.bus.depth().await as usize, expected.unique);
}

/// A 401 (token revoked) fetches a new token and repeats the request.
#[tokio::test]
async fn token_refreshed_on_401() {
    let faults = HttpFaults {
        unauthorized_every: 3,
        ..HttpFaults::default()
    };
    let rig = Rig::start(clean_feed(22, 10), faults).await;
    let expected = rig.mock.feed().expected();
    let mut config = rig.config();
    config.poll_interval_ms = 60_000;
    let run = rig.run(config).await;
    run.until_caught_up(expected.unique).await;
    let s = run.stop().await;
    let mock = rig.mock.stats();
    assert!(mock.unauthorized >= 1);
    assert_eq!(s.tokens, 1 + mock.unauthorized);
    assert_eq!(mock.token_requests, s.tokens);
    assert_eq!(mock.bad_tokens, 0);
    assert_eq!(rig.bus.depth().await as usize, expected.unique);
}

/// An answer slower than the request timeout is abandoned and asked for again.
#[tokio::test]
async fn slow_answers_past_the_timeout_are_retried() {
    let faults = HttpFaults {
        slow_every: 2,
        slow_ms: 400,
        ..HttpFaults::default()
    };
    let rig = Rig::start(clean_feed(23, 6), faults).await;
    let expected = rig.mock.feed().expected();
    let mut config = rig.config();
    config.request_timeout_ms = 150;
    config.poll_interval_ms = 60_000;
    let run = rig.run(config).await;
    run.until_caught_up(expected.unique).await;
    let s = run.stop().await;
    assert!(rig.mock.stats().slow >= 1);
    assert!(s.retried >= 1, "{s:?}");
    assert_eq!(rig.bus.depth().await as usize, expected.unique);
}

/// A checkpoint file that is not a checkpoint stops the build rather than restarting the feed.
#[tokio::test]
async fn unreadable_checkpoint_refuses_to_start() {
    let rig = Rig::start(clean_feed(24, 2), HttpFaults::default()).await;
    std::fs::write(rig.checkpoint_path(), b"not json").unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let cx = waymark_adapter_athena::AdapterContext {
        publisher: rig.bus.publisher(),
        shutdown: rx,
    };
    let err = rig.config().build(cx).await.unwrap_err();
    assert_eq!(err.code(), "athena.checkpoint");
}

/// Every sound event of a faulty feed maps to a bundle; every malformed one is quarantined.
#[test]
fn the_mapping_maps_every_event_the_mock_serves() {
    let mappings = athena_mappings();
    let all = FeedFaults {
        malformed: true,
        duplicates: true,
        out_of_order: true,
    };
    let feed = Feed::synthetic(25, 30, all);
    let mut kinds = std::collections::BTreeMap::new();
    for item in feed.items() {
        let envelope = envelope_for_event(item.body.clone(), chrono::Utc::now());
        let mapped = mappings.set.map(&envelope);
        match item.expect {
            Expect::Good | Expect::Duplicate => {
                let bundle = mapped.unwrap_or_else(|e| panic!("{}: {e}", item.label));
                assert_eq!(bundle["resourceType"], "Bundle");
                *kinds.entry(item.label.clone()).or_insert(0) += 1;
            }
            Expect::Flawed => assert!(mapped.is_err(), "{}", item.label),
        }
    }
    assert_eq!(kinds.len(), 5, "{kinds:?}");
}
