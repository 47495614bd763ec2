//! How fast a population and its records are drawn, and how much memory a person takes.
//!
//! `cargo bench -p waymark-synth --bench generate [-- --people N]` (default 1,000,000).
#![allow(clippy::print_stdout)]

use std::time::Instant;

use waymark_synth::{Mess, Person, Population};

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let people = argv
        .windows(2)
        .find(|w| w[0] == "--people")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(1_000_000);
    let t = Instant::now();
    let pop = Population::generate(2026, people);
    let generated = t.elapsed();
    let heap: usize = pop.people().iter().map(|p| p.aliases().len() * 4).sum();
    let bytes = std::mem::size_of::<Person>() * people + heap;
    println!(
        "{people} people generated in {generated:.2?}; about {} bytes a person",
        bytes / people.max(1)
    );
    let mess = Mess::default();
    let t = Instant::now();
    let (mut records, mut json_bytes) = (0usize, 0usize);
    for obs in pop.observations(&mess) {
        records += 1;
        json_bytes += obs.to_fhir().to_string().len();
    }
    println!(
        "{records} records drawn and rendered as FHIR Patients in {:.2?} ({:.0} records/s, {} bytes each on average)",
        t.elapsed(),
        records as f64 / t.elapsed().as_secs_f64(),
        json_bytes / records.max(1)
    );
    let t = Instant::now();
    let order = pop.arrival_order(&mess);
    println!(
        "arrival order of {} records in {:.2?}",
        order.len(),
        t.elapsed()
    );
}
