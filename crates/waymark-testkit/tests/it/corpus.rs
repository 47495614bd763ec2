//! Every committed corpus file (`fuzz/corpus/<target>/`) and seeded mutations of it through its
//! target, on stable, on every test run: a crash the fuzzer once needed hours for stays found.
//! Bounded: a fixed number of mutations per file (`WAYMARK_CORPUS_MUTATIONS` overrides it for
//! long runs), the count printed per target.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
    time::Instant,
};

use waymark_testkit::{Mutator, TARGETS, Target, mutate};

/// Mutations of each corpus file per run.
const MUTATIONS: usize = 48;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir(target))
        .unwrap_or_else(|e| panic!("fuzz/corpus/{target} is missing: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn mutations() -> usize {
    std::env::var("WAYMARK_CORPUS_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MUTATIONS)
}

/// Runs one input; a panic becomes a failure line naming the reproducer saved for it.
fn run(target: &Target, label: &str, input: &[u8], failures: &mut Vec<String>) {
    if catch_unwind(AssertUnwindSafe(|| (target.run)(input))).is_err() {
        let dir = std::env::temp_dir().join("waymark-corpus-crashes");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{}-{}", target.name, label));
        std::fs::write(&file, input).unwrap();
        failures.push(format!(
            "{}: {label} panicked; reproducer {}",
            target.name,
            file.display()
        ));
    }
}

#[test]
fn every_target_survives_its_corpus_and_mutations_of_it() {
    let per_file = mutations();
    let (mut total, mut failures) = (0usize, Vec::new());
    for target in TARGETS {
        let started = Instant::now();
        let seeds = seeds(target.name);
        assert!(seeds.len() >= 3, "{}: at least three seeds", target.name);
        let mut rng = Mutator::new(0x5eed_f022 ^ target.name.len() as u64);
        let mut count = 0;
        for (name, bytes) in &seeds {
            run(target, name, bytes, &mut failures);
            for m in 0..per_file {
                let input = mutate(bytes, &mut rng);
                run(target, &format!("{name}-m{m}"), &input, &mut failures);
            }
            count += 1 + per_file;
        }
        total += count;
        eprintln!(
            "{:<16} {} seeds + {} mutations = {count} inputs in {:?}",
            target.name,
            seeds.len(),
            seeds.len() * per_file,
            started.elapsed()
        );
    }
    eprintln!(
        "corpus replay: {total} inputs through {} targets, {} crashes",
        TARGETS.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_target_has_a_fuzz_target_file_and_a_corpus() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    for target in TARGETS {
        let file = fuzz
            .join("fuzz_targets")
            .join(format!("{}.rs", target.name));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains(&format!("waymark_testkit::fuzz::{}(", target.name)),
            "{}",
            file.display()
        );
        assert!(manifest.contains(&format!("name = \"{}\"", target.name)));
        assert!(corpus_dir(target.name).is_dir());
    }
}

#[test]
fn a_target_that_panics_is_reported_with_its_reproducer() {
    fn boom(data: &[u8]) {
        assert!(!data.starts_with(b"boom"), "planted");
    }
    let planted = Target {
        name: "planted",
        run: boom,
    };
    let mut failures = Vec::new();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    run(&planted, "ok", b"fine", &mut failures);
    run(&planted, "bad", b"boom!", &mut failures);
    std::panic::set_hook(hook);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("planted-bad"));
}
