//! How long validation takes: the canonical bundles the NOMIS mapping fixtures produce
//! (`mappings/nomis/tests/*.expected.json` that are bundles) and the package's valid fixtures,
//! through the full validator and through `Validator::schema_only()` (layers 1 to 3, without the
//! HJMD profiles), many times each. Prints the figures; asserts nothing about time.
//!
//! Run: `cargo bench -p waymark-profile --bench validate`
//! (`WAYMARK_BENCH_ITERATIONS=N` to change the iterations per bundle).
#![allow(clippy::print_stdout)]

use std::{
    hint::black_box,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde_json::Value;
use waymark_profile::Validator;

const COMMAND: &str = "cargo bench -p waymark-profile --bench validate";

fn main() {
    let bundles = bundles();
    if bundles.is_empty() {
        println!("no bundles found: nothing to measure");
        return;
    }
    let (full, schema_only) = match (Validator::r4(), Validator::schema_only()) {
        (Ok(f), Ok(s)) => (f, s),
        (Err(e), _) | (_, Err(e)) => {
            println!("cannot build the validators: {e}");
            return;
        }
    };
    let iterations = iterations();

    // Warm up (and report what does not pass: it is still measured, as a refusal).
    for (name, bundle) in &bundles {
        if let Err(outcome) = full.validate(bundle.clone()) {
            println!(
                "note: {name} does not pass the full validator ({} issues)",
                outcome.issues.len()
            );
        }
        let _ = schema_only.validate(bundle.clone());
    }

    println!("waymark-profile: validation benchmark");
    println!("command:    {COMMAND}");
    println!("profile:    {}", build_profile());
    println!(
        "cores:      {} available (the benchmark runs on one thread)",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    let bytes: usize = bundles.iter().map(|(_, b)| b.to_string().len()).sum();
    let entries: usize = bundles
        .iter()
        .map(|(_, b)| b["entry"].as_array().map_or(0, Vec::len))
        .sum();
    println!(
        "bundles:    {} ({} entries, {:.1} KiB of JSON in all)",
        bundles.len(),
        entries,
        bytes as f64 / 1024.0
    );
    println!(
        "iterations: {iterations} per bundle and validator (the clone of each input is not timed)"
    );
    println!();
    println!(
        "{:<48} {:>12} {:>12} {:>7}",
        "bundle", "full µs", "schema µs", "ratio"
    );
    let mut full_total = Duration::ZERO;
    let mut schema_total = Duration::ZERO;
    for (name, bundle) in &bundles {
        let f = time(&full, bundle, iterations);
        let s = time(&schema_only, bundle, iterations);
        full_total += f;
        schema_total += s;
        println!(
            "{name:<48} {:>12.1} {:>12.1} {:>7.2}",
            micros(f),
            micros(s),
            f.as_secs_f64() / s.as_secs_f64()
        );
    }
    let n = bundles.len() as f64;
    println!();
    println!(
        "full validator (schema + rules + HJMD profiles): {:>9.1} µs per bundle",
        micros(full_total) / n
    );
    println!(
        "Validator::schema_only() (layers 1-3):          {:>9.1} µs per bundle",
        micros(schema_total) / n
    );
    println!(
        "ratio full / schema-only:                       {:>9.2}",
        full_total.as_secs_f64() / schema_total.as_secs_f64()
    );
}

/// Mean time of one validation of `bundle`.
fn time(validator: &Validator, bundle: &Value, iterations: u32) -> Duration {
    let inputs: Vec<Value> = (0..iterations).map(|_| bundle.clone()).collect();
    let start = Instant::now();
    for input in inputs {
        let _ = black_box(validator.validate(black_box(input)));
    }
    start.elapsed() / iterations.max(1)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn iterations() -> u32 {
    let default = if cfg!(debug_assertions) { 5 } else { 500 };
    std::env::var("WAYMARK_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug (unoptimised: figures are not representative; use cargo bench)"
    } else {
        "bench (optimised, inherits release)"
    }
}

/// The NOMIS mapping fixtures' expected bundles, then the package's valid fixtures.
fn bundles() -> Vec<(String, Value)> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for (dir, suffix) in [
        (here.join("../../mappings/nomis/tests"), ".expected.json"),
        (here.join("tests/fixtures/valid"), ".json"),
    ] {
        for path in json_files(&dir, suffix) {
            let Ok(text) = std::fs::read(&path) else {
                continue;
            };
            let Ok(value) = serde_json::from_slice::<Value>(&text) else {
                continue;
            };
            if value["resourceType"] == "Bundle" {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((name, value));
            }
        }
    }
    out
}

fn json_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
