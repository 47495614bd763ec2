//! End to end through the map stage: every envelope the adapter publishes for the synthetic
//! population (faults included) either maps with `mappings/systmone` to a bundle the HJMD
//! profile accepts, or is refused with a reason naming the adapter's error code.

use std::{path::Path, time::Duration};

use chrono::Utc;
use waymark_adapter_systmone::{PullRequest, Reason, mock::MockFaults};
use waymark_core::ErrorCode;
use waymark_mapping::MappingSet;
use waymark_profile::Validator;

use crate::common::{Harness, error_code};

/// `mappings/terminology` and `mappings/systmone` only, so other sources' work in progress
/// cannot break this test.
fn systmone_mappings(into: &Path) -> MappingSet {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings");
    for dir in ["terminology", "systmone"] {
        let (from, to) = (root.join(dir), into.join(dir));
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json" || e == "jq") {
                std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    MappingSet::load(into).unwrap()
}

#[tokio::test]
async fn the_population_maps_or_is_quarantined_with_a_reason() {
    let faults = MockFaults::all(6, Duration::from_millis(1_500));
    let mut h = Harness::new(200, &faults).await;
    h.start().await;
    h.pull_all(Reason::PRISON_RECEPTION).await;
    let unknown = PullRequest::new("9990000018", "identified", Utc::now()).unwrap();
    h.adapter().handle().pull(unknown).await.unwrap();
    h.drained().await;
    let envelopes = h.bus.drain().await;
    h.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let mappings = systmone_mappings(dir.path());
    let validator = Validator::r4().unwrap();
    let (mut mapped, mut quarantined) = (0, 0);
    for envelope in &envelopes {
        let result = mappings.map(envelope);
        match error_code(envelope) {
            Some(code) => {
                let err = result.expect_err("a flawed answer must not map");
                let reason = err.to_string();
                assert!(
                    reason.contains(&code) || err.code() == "mapping.not-json",
                    "{code}: {} {reason}",
                    err.code()
                );
                quarantined += 1;
            }
            None => {
                let bundle = result.unwrap_or_else(|e| panic!("{}: {e}", e.code()));
                if let Err(outcome) = validator.validate(bundle) {
                    panic!("profile refused a SystmOne bundle: {outcome:?}");
                }
                mapped += 1;
            }
        }
    }
    println!("mapped {mapped}, quarantined {quarantined}");
    assert_eq!(mapped + quarantined, envelopes.len());
    assert!(mapped > 50 && quarantined >= 2, "{mapped} {quarantined}");
}
