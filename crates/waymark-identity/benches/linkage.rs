//! Linkage benchmark: a synthetic population's records from the five sources, messy at the
//! default (realistic) rates, added one by one in arrival order to the reference [`Index`];
//! prints pairwise precision and recall, the review-queue rate, false merges and throughput.
//!
//! `cargo bench -p waymark-identity --bench linkage [-- --people N --seed S]`
//! (or `WAYMARK_LINKAGE_PEOPLE=N`). Default: 100,000 people. `WAYMARK_LINKAGE_CONFIG=file.json`
//! scores with another [`MatchConfig`] (partial JSON; the rest stays default).
#![allow(clippy::print_stdout)]

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use waymark_identity::{Index, MatchConfig, Placement, ReviewReason};
use waymark_synth::{Mess, MessKind, Population, Tie};

struct Args {
    people: usize,
    seed: u64,
}

fn args() -> Args {
    let mut people = std::env::var("WAYMARK_LINKAGE_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut seed = 2026;
    let argv: Vec<String> = std::env::args().collect();
    for pair in argv.windows(2) {
        match pair[0].as_str() {
            "--people" => people = pair[1].parse().unwrap_or(people),
            "--seed" => seed = pair[1].parse().unwrap_or(seed),
            _ => {}
        }
    }
    Args { people, seed }
}

/// For each observation: (true person, predicted person).
struct Run {
    placed: Vec<(u32, u32)>,
    /// Records placed away from every person holding an earlier record of theirs, counted by
    /// placement and by what went wrong in the record and in those earlier records.
    missed: HashMap<String, usize>,
    placements: HashMap<&'static str, usize>,
    index: Index,
    index_time: Duration,
    total_time: Duration,
}

fn run(pop: &Population, mess: &Mess, cfg: MatchConfig, frequencies: bool) -> Run {
    let order = pop.arrival_order(mess);
    let mut index = Index::new(cfg);
    if !frequencies {
        index = index.without_name_frequencies();
    }
    let mut placed = Vec::with_capacity(order.len());
    let mut missed = HashMap::new();
    let mut earlier: HashMap<u32, (Vec<u32>, Vec<MessKind>)> = HashMap::new();
    let mut placements = HashMap::new();
    let mut index_time = Duration::ZERO;
    let start = Instant::now();
    for r in order {
        let Some(obs) = pop.observation(r, mess) else {
            continue;
        };
        let patient = obs.to_fhir();
        let t = Instant::now();
        let outcome = index.add(&patient);
        index_time += t.elapsed();
        let predicted = outcome
            .person_id
            .trim_start_matches("person-")
            .parse()
            .unwrap_or(u32::MAX);
        placed.push((r.person.0, predicted));
        let (clusters, mess_seen) = earlier.entry(r.person.0).or_default();
        if !clusters.is_empty() && !clusters.contains(&predicted) {
            let cause = format!(
                "{}: {} | earlier: {}",
                label(&outcome.placement),
                kinds(obs.mess()),
                kinds(mess_seen)
            );
            *missed.entry(cause).or_insert(0) += 1;
        }
        clusters.push(predicted);
        mess_seen.extend(obs.mess().iter().copied());
        *placements.entry(label(&outcome.placement)).or_insert(0) += 1;
    }
    Run {
        placed,
        missed,
        placements,
        index,
        index_time,
        total_time: start.elapsed(),
    }
}

fn label(p: &Placement) -> &'static str {
    match p {
        Placement::Strong => "strong",
        Placement::Scored(_) => "scored",
        Placement::Review => "review",
        Placement::Conflict => "conflict",
        Placement::New => "new",
    }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

struct Quality {
    true_pairs: u64,
    predicted_pairs: u64,
    both: u64,
    merged_persons: usize,
    impure_clusters: usize,
    split_persons: usize,
}

fn quality(placed: &[(u32, u32)]) -> Quality {
    let mut cell: HashMap<(u32, u32), u64> = HashMap::new();
    let mut truth: HashMap<u32, u64> = HashMap::new();
    let mut predicted: HashMap<u32, u64> = HashMap::new();
    for &(t, p) in placed {
        *cell.entry((p, t)).or_default() += 1;
        *truth.entry(t).or_default() += 1;
        *predicted.entry(p).or_default() += 1;
    }
    let mut persons_per_cluster: HashMap<u32, usize> = HashMap::new();
    let mut clusters_per_person: HashMap<u32, usize> = HashMap::new();
    for &(p, t) in cell.keys() {
        *persons_per_cluster.entry(p).or_default() += 1;
        *clusters_per_person.entry(t).or_default() += 1;
    }
    let impure: Vec<u32> = persons_per_cluster
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(p, _)| *p)
        .collect();
    let merged_persons = cell.keys().filter(|(p, _)| impure.contains(p)).count();
    Quality {
        true_pairs: truth.values().map(|n| pairs(*n)).sum(),
        predicted_pairs: predicted.values().map(|n| pairs(*n)).sum(),
        both: cell.values().map(|n| pairs(*n)).sum(),
        merged_persons,
        impure_clusters: impure.len(),
        split_persons: clusters_per_person.values().filter(|n| **n > 1).count(),
    }
}

/// Which hard cases ended up in a cluster with someone else.
fn merged_ties(pop: &Population, placed: &[(u32, u32)]) -> HashMap<&'static str, usize> {
    let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(t, p) in placed {
        let m = members.entry(p).or_default();
        if !m.contains(&t) {
            m.push(t);
        }
    }
    let mut out = HashMap::new();
    for m in members.values().filter(|m| m.len() > 1) {
        for &t in m {
            let tie = pop.people()[t as usize].tie();
            let related = tie.is_some_and(|tie| m.contains(&tie.other().0));
            let kind = match tie {
                Some(Tie::Twin(_)) if related => "twin",
                Some(Tie::Sibling(_)) if related => "sibling",
                Some(Tie::SameNameGeneration(_)) if related => "same-name parent/child",
                Some(Tie::Namesake(_)) if related => "namesake",
                _ => continue,
            };
            *out.entry(kind).or_insert(0) += 1;
        }
    }
    out
}

/// The mess kinds that matter for matching (postcode changes are everywhere), deduplicated.
fn kinds(mess: &[MessKind]) -> String {
    let mut names: Vec<String> = mess
        .iter()
        .filter(|m| !matches!(m, MessKind::PostcodeChanged | MessKind::PostcodeMissing))
        .map(|m| format!("{m:?}"))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join("+")
    }
}

fn top(map: &HashMap<String, usize>, n: usize) -> Vec<(&str, usize)> {
    let mut v: Vec<(&str, usize)> = map.iter().map(|(k, c)| (k.as_str(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.truncate(n);
    v
}

fn percent(a: u64, b: u64) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

/// CPU seconds this process has used (Linux `/proc/self/stat`, 100 ticks a second), to tell
/// throughput from waiting on a shared machine.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let Args { people, seed } = args();
    let mess = Mess::default();
    let cfg = match std::env::var("WAYMARK_LINKAGE_CONFIG") {
        Ok(path) => {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            match serde_json::from_str(&text) {
                Ok(cfg) => cfg,
                Err(e) => {
                    println!("cannot use {path}: {e}");
                    return;
                }
            }
        }
        Err(_) => MatchConfig::default(),
    };
    println!("waymark-identity linkage benchmark");
    println!(
        "machine: {} cores; release build",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let t = Instant::now();
    let pop = Population::generate(seed, people);
    println!(
        "population: {people} people, seed {seed}, generated in {:.2?}",
        t.elapsed()
    );
    println!("mess (defaults): {mess:?}");
    println!(
        "match config: {}",
        serde_json::to_string(&cfg).unwrap_or_default()
    );

    for (frequencies, title) in [
        (
            false,
            "as the record stage decides (no name frequencies: the store keeps none yet)",
        ),
        (true, "with name frequencies (the in-memory index's option)"),
    ] {
        let cpu_before = cpu_seconds();
        let r = run(&pop, &mess, cfg.clone(), frequencies);
        let cpu = cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
        println!();
        println!("== {title}");
        report_quality(&pop, &r);
        report_misses(&r);
        report_speed(&r, cpu);
    }
}

fn report_quality(pop: &Population, r: &Run) {
    let n = r.placed.len() as u64;
    let q = quality(&r.placed);
    let reviews = r.index.reviews();
    let conflicts = reviews
        .iter()
        .filter(|i| i.reason == ReviewReason::StrongConflict)
        .count();
    let per_person = n as f64 / pop.len().max(1) as f64;
    println!("observations:        {n} ({per_person:.2} per person)");
    println!("placements:          {:?}", sorted(&r.placements));
    println!(
        "persons created:     {} (true persons {})",
        r.index.persons(),
        pop.len()
    );
    println!("true pairs:          {}", q.true_pairs);
    println!("predicted pairs:     {}", q.predicted_pairs);
    println!(
        "precision:           {:.3} %",
        percent(q.both, q.predicted_pairs)
    );
    println!(
        "recall:              {:.3} %",
        percent(q.both, q.true_pairs)
    );
    println!(
        "review-queue rate:   {:.3} % ({} items: {} possible duplicates, {conflicts} strong conflicts)",
        percent(reviews.len() as u64, n),
        reviews.len(),
        reviews.len() - conflicts
    );
    println!(
        "false merges:        {} true persons in {} mixed clusters",
        q.merged_persons, q.impure_clusters
    );
    println!(
        "  of which related:  {:?}",
        sorted(&merged_ties(pop, &r.placed))
    );
    println!(
        "split persons:       {} true persons spread over more than one cluster",
        q.split_persons
    );
}

fn report_misses(r: &Run) {
    let missed: usize = r.missed.values().sum();
    println!(
        "missed links:        {missed} records placed away from every person holding an earlier record of theirs"
    );
    println!(
        "  top causes (placement: mess in the record | in the earlier records; postcode changes left out):"
    );
    for (cause, count) in top(&r.missed, 12) {
        println!("  {count:>7}  {cause}");
    }
}

fn report_speed(r: &Run, cpu: Option<f64>) {
    let n = r.placed.len() as f64;
    println!(
        "throughput:          {:.0} observations/s (index only: {:.0}/s; {:.2?} total, {:.2?} in the index)",
        n / r.total_time.as_secs_f64(),
        n / r.index_time.as_secs_f64(),
        r.total_time,
        r.index_time
    );
    if let Some(cpu) = cpu {
        println!(
            "cpu:                 {cpu:.1} s for the run ({:.0} observations per CPU-second, render + index); load average {}",
            n / cpu,
            load_average()
        );
    }
}

fn sorted<V: Copy + std::fmt::Debug>(m: &HashMap<&'static str, V>) -> Vec<(&'static str, V)> {
    let mut v: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
    v.sort_by_key(|(k, _)| *k);
    v
}
