//! Quarantine re-drive end to end: a hub running a broken mapping quarantines every message;
//! after the mapping is fixed, a re-drive puts exactly the messages that now pass back on the
//! ingest queue, the restarted hub delivers each of them exactly once to each subscriber, and
//! the quarantine keeps every entry, the re-driven ones marked resolved.

use crate::common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{World, eventually, repo_root};
use waymark_adapter_nomis::{Faults, Population, PushOptions};
use waymark_api::{REDRIVE_STAGE, redrive};
use waymark_bus::SqliteBus;
use waymark_mapping::MappingSet;
use waymark_profile::Validator;
use waymark_store::{SqliteStore, Store};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The repo's mappings with every NOMIS mapping failing at run time on every message (they
/// still compile, so the hub starts).
fn broken_mappings(dir: &Path) -> PathBuf {
    let broken = dir.join("mappings");
    copy_dir(&repo_root().join("mappings"), &broken);
    let mut programs = 0;
    for entry in std::fs::read_dir(broken.join("nomis")).unwrap() {
        let program = entry.unwrap().path();
        if program.extension().is_some_and(|e| e == "jq") {
            let mut text = std::fs::read_to_string(&program).unwrap();
            text.push_str("\n| error(\"broken for the test\")\n");
            std::fs::write(&program, text).unwrap();
            programs += 1;
        }
    }
    assert!(programs > 0);
    MappingSet::load(&broken).expect("the broken mappings still compile");
    broken
}

/// `waymark replay` on the world's data folder; returns the exit code and stdout lines.
fn replay_cli(world: &World, mappings: &Path, extra: &[&str]) -> (i32, Vec<String>) {
    let data = world.data.path().to_string_lossy().into_owned();
    let mappings = mappings.to_string_lossy().into_owned();
    let mut args = vec!["replay", "--data-dir", &data, "--mappings", &mappings];
    args.extend_from_slice(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(&args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap_or(-1),
        stdout.lines().map(str::to_owned).collect(),
    )
}

/// Every line but the summary is `<uuid>  now passes...` or `<uuid>  still fails: <code>...`:
/// ids and codes only.
fn assert_lines_hold_ids_and_codes(lines: &[String]) {
    for line in &lines[..lines.len() - 1] {
        let (id, rest) = line.split_once("  ").unwrap_or_else(|| panic!("{line}"));
        assert!(
            id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
            "{line}"
        );
        assert!(
            rest.starts_with("now passes: ") || rest.starts_with("still fails: "),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_mapping_redrives_the_quarantine_and_each_message_is_delivered_once() {
    let population = Population::synthetic(13, 10).with_faults(Faults { bad_events: true });
    let expected = population.expected();
    assert!(expected.good > 0 && expected.bad > 0);
    let world = World::new(population).await;
    let temp = tempfile::tempdir().unwrap();
    let broken = broken_mappings(temp.path());
    let good_mappings = repo_root().join("mappings");

    // 1. The hub runs the broken mapping: everything is quarantined, nothing delivered.
    let (hub, _pipeline, _deliveries) = world.start_hub_with(&broken).await;
    let pushed = world
        .nomis
        .push_to(&hub.nomis_endpoint(), PushOptions::default())
        .await;
    assert_eq!(pushed.acknowledged, expected.sent);
    let mut quarantined = 0;
    for _ in 0..600 {
        quarantined = hub.store.counts().await.unwrap().quarantined as usize;
        if quarantined >= expected.sent {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(quarantined, expected.sent, "every message quarantined");
    let counts = hub.store.counts().await.unwrap();
    assert_eq!(counts.records, 0);
    assert_eq!(world.delivered(), 0);
    hub.stop().await;

    // 2. Dry runs of the CLI: with the broken mapping nothing would pass; with the fixed one,
    //    exactly the good messages would.
    let (code, lines) = replay_cli(&world, &broken, &["--dry-run"]);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("0 would re-drive, {} still failing", expected.sent).as_str())
    );
    let (code, lines) = replay_cli(&world, &good_mappings, &["--dry-run"]);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines.len(),
        expected.sent + 1,
        "one line per entry and a summary"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some(
            format!(
                "{} would re-drive, {} still failing",
                expected.good, expected.bad
            )
            .as_str()
        )
    );
    assert_lines_hold_ids_and_codes(&lines);

    // 3. The re-drive itself, with the fixed mapping, on the stopped hub's files.
    {
        let store = SqliteStore::open(&world.data.path().join("store.db"))
            .await
            .unwrap();
        let bus = SqliteBus::open(&world.data.path().join("bus.db"))
            .await
            .unwrap();
        let mappings = MappingSet::load(&good_mappings).unwrap();
        let validator = Validator::r4().unwrap();
        let report = redrive(&store, &bus, &mappings, &validator, false)
            .await
            .unwrap();
        assert_eq!(
            (report.redriven, report.still_failing),
            (expected.good, expected.bad)
        );
        let still = store
            .quarantined_for_redrive(REDRIVE_STAGE, None, 1000)
            .await
            .unwrap();
        assert_eq!(
            still.len(),
            expected.bad,
            "the re-driven entries are resolved"
        );
        bus.close().await;
    }

    // 4. The hub restarts on the same files with the fixed mapping and delivers each re-driven
    //    message exactly once to each subscriber.
    let (hub, _p, _d) = world.start_hub().await;
    let want = expected.changes * 2;
    let done = eventually(60, || world.delivered() >= want).await;
    assert!(done, "delivered {} of {want}", world.delivered());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(world.healthcare.unique_ids().len(), expected.changes);
    assert_eq!(world.probation.unique_ids().len(), expected.changes);
    assert_eq!(
        world.healthcare.duplicates().len() + world.probation.duplicates().len(),
        0,
        "nothing delivered twice"
    );
    let counts = hub.store.counts().await.unwrap();
    assert_eq!(counts.records as usize, expected.good, "each applied once");
    assert_eq!(
        counts.quarantined as usize, expected.sent,
        "quarantine entries are resolved, never deleted"
    );
    let entries = hub.store.quarantined(1000).await.unwrap();
    let resolved: Vec<_> = entries.iter().filter(|e| e.resolved_at.is_some()).collect();
    assert_eq!(resolved.len(), expected.good);
    assert!(resolved.iter().all(|e| {
        e.redrives == 1
            && e.redrive_id.is_some()
            && e.resolved_by
                .as_deref()
                .is_some_and(|b| b.starts_with("mapping nomis/prison-movement@"))
    }));
    hub.stop().await;

    // 5. A second re-drive finds nothing more to do: the bad messages still fail.
    let (code, lines) = replay_cli(&world, &good_mappings, &[]);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("0 re-driven, {} still failing", expected.bad).as_str())
    );
}

#[test]
fn replay_refuses_a_folder_that_is_not_a_hub() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(["replay", "--dry-run", "--data-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("store.db"));
    assert!(
        !empty.path().join("store.db").exists(),
        "a replay never creates a hub"
    );
}
