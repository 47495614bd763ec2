//! `cargo bench -p waymark-mapping --bench mapping`: µs per message for every NOMIS fixture
//! through the jq runner (the map stage's code path: sandbox thread, limits, conversion,
//! Provenance, label check), records/s per core, and the ratio to the same mapping written by
//! hand in Rust over serde_json (`handwritten_nomis.rs`), measured in the same run after
//! asserting both give the same bundle. Prints the command, the machine and the build profile.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod handwritten_nomis;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use waymark_core::SourceSystem;
use waymark_mapping::{MappingInput, MappingSet, fixtures};

/// Runs `f` repeatedly for about `budget` (after a warm-up) and returns µs per call.
fn time(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..20 {
        f();
    }
    let mut n = 0u32;
    let start = Instant::now();
    while start.elapsed() < budget {
        for _ in 0..10 {
            f();
        }
        n += 10;
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

/// The smallest of three timings: the least disturbed by other work on a shared machine.
fn best_of_3(budget: Duration, mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| time(budget, &mut f))
        .fold(f64::INFINITY, f64::min)
}

fn bytes(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0)
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings");
    let set = MappingSet::load(&dir).expect("mappings load");
    let map = fixtures::read_json(
        &dir.join("terminology/ConceptMap-nomis-alert-type-to-data-class.json"),
    )
    .expect("ConceptMap");
    let classes = handwritten_nomis::AlertClasses::load(&map);
    let movement = set
        .mapping_for(SourceSystem::Nomis, "OFFENDER-UPDATED")
        .expect("prison-movement");
    let policy = movement.policy();
    let budget = Duration::from_millis(
        std::env::var("WAYMARK_BENCH_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(400),
    );

    println!("command: cargo bench -p waymark-mapping --bench mapping");
    println!(
        "machine: {} cores available, {} {}; profile: {}; {} ms per measurement, best of 3",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::OS,
        std::env::consts::ARCH,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release (bench)"
        },
        budget.as_millis(),
    );
    println!(
        "limits: timeout {} ms, {} steps, {} MiB stack per run",
        set.limits().timeout.as_millis(),
        set.limits().max_steps,
        set.limits().stack_bytes >> 20
    );
    println!();
    println!(
        "{:52} {:>7} {:>7} {:>10} {:>13} {:>11} {:>8}",
        "nomis fixture", "in B", "out B", "jq µs/msg", "jq rec/s/core", "rust µs/msg", "jq/rust"
    );

    let mut jq_total = Vec::new();
    let mut rust_total = Vec::new();
    for fixture in fixtures::discover(&dir).expect("fixtures") {
        if fixture.source != SourceSystem::Nomis {
            continue;
        }
        let input: MappingInput = fixtures::read_input(&fixture.input).expect("input");
        let Ok(bundle) = set.map_input(&input) else {
            continue; // a quarantine case: nothing to compare
        };
        let jq_us = best_of_3(budget, || {
            black_box(set.map_input(black_box(&input)).unwrap());
        });
        jq_total.push(jq_us);
        let header = set
            .mapping_for(input.envelope.source, &input.envelope.message_type)
            .expect("mapping");
        let rust = if header.id == "nomis/prison-movement" {
            let by_hand =
                handwritten_nomis::map(&input, &classes, &policy).expect("hand-written maps");
            assert_eq!(
                by_hand, bundle,
                "{}: the hand-written mapping differs",
                fixture.case
            );
            let rust_us = best_of_3(budget, || {
                black_box(handwritten_nomis::map(black_box(&input), &classes, &policy).unwrap());
            });
            rust_total.push((jq_us, rust_us));
            format!("{rust_us:>11.1} {:>7.1}x", jq_us / rust_us)
        } else {
            format!("{:>11} {:>8}", "-", "-")
        };
        println!(
            "{:52} {:>7} {:>7} {:>10.1} {:>13.0} {rust}",
            format!(
                "{} ({})",
                fixture.case,
                header.id.trim_start_matches("nomis/")
            ),
            bytes(&input.to_json()),
            bytes(&bundle),
            jq_us,
            1e6 / jq_us,
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let jq_mean = mean(&jq_total);
    let pairs_jq = mean(&rust_total.iter().map(|p| p.0).collect::<Vec<_>>());
    let pairs_rust = mean(&rust_total.iter().map(|p| p.1).collect::<Vec<_>>());
    println!();
    println!(
        "mean over {} nomis messages: jq {jq_mean:.1} µs/msg = {:.0} records/s per core",
        jq_total.len(),
        1e6 / jq_mean
    );
    println!(
        "prison-movement, {} messages: jq {pairs_jq:.1} µs vs hand-written Rust {pairs_rust:.1} µs \
         = {:.1}x",
        rust_total.len(),
        pairs_jq / pairs_rust
    );
    overheads(budget);
}

/// What every run costs whatever the program: a trivial mapping through the same runner.
fn overheads(budget: Duration) {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(tmp.path().join("nomis")).expect("folder");
    let code = "# waymark-mapping: 1\n# source: nomis\n# message-types: T\n# version: 0.0.1\n\
                # profile: none\n{resourceType: \"Bundle\", type: \"collection\", entry: []}";
    std::fs::write(tmp.path().join("nomis/t.jq"), code).expect("write");
    let set = MappingSet::load(tmp.path()).expect("load");
    let input: MappingInput = serde_json::from_value(serde_json::json!({
        "envelope": {"id": "x", "source": "nomis", "messageType": "T", "eventTime": null,
                     "receivedAt": "2024-01-01T00:00:00Z"},
        "message": {}, "context": null}))
    .expect("input");
    let per_run = best_of_3(budget, || {
        black_box(set.map_input(&input).unwrap());
    });
    let spawn = best_of_3(budget, || {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(|| black_box(1))
            .unwrap()
            .join()
            .unwrap();
    });
    println!(
        "fixed cost per run (empty program, same runner, reused worker): {per_run:.1} µs; \
         spawning and joining a 256 MiB-stack thread instead would cost {spawn:.1} µs"
    );
}
