//! proptest: the record is a function of the set of entries. Random messages (several sources,
//! overlapping items, shared event times, answers, markers, prison stays, medications) merged
//! in any order give the same record, and applying any entry again, at any point, changes
//! nothing. 10,000 cases (2,500 more with history cut to one version), seeded; the figures are printed.
#![allow(clippy::print_stderr)] // the figures are the point

use crate::common;

use common::*;
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngSeed, TestRunner},
};
use waymark_core::{DataClass, SourceSystem};
use waymark_record::{PersonRecord, RecordConfig};

const CASES: u32 = 10_000;
const SOURCES: [SourceSystem; 4] = [
    SourceSystem::Nomis,
    SourceSystem::Systmone,
    SourceSystem::Athena,
    SourceSystem::Excelicare,
];

/// One resource: its kind and the choices that fill it (a small pool, so items overlap).
type Spec = (u8, u8, u8, u8);

fn resource(pid: &str, id: &str, (kind, a, b, c): Spec) -> serde_json::Value {
    let day = format!("2025-0{}-1{}", 1 + a % 9, b % 10);
    match kind % 4 {
        0 => {
            let code =
                ["self-harm-history", "epilepsy", "ost-current", "mappa"][usize::from(a % 4)];
            let value = ["Y", "N", "UNK"][usize::from(c % 3)];
            answer(pid, id, code, value, &day, DataClass::RiskSelf)
        }
        1 => {
            let class = [DataClass::RiskSelf, DataClass::RiskOthers][usize::from(b % 2)];
            let status = ["active", "inactive"][usize::from(c % 2)];
            let end = (c % 3 == 0).then_some("2026-06-30");
            flag(
                pid,
                id,
                &format!("shared-{}", a % 3),
                class,
                status,
                &day,
                end,
            )
        }
        2 => {
            let stay = Stay {
                booking: ["100", "200"][usize::from(a % 2)],
                status: ["in-progress", "finished"][usize::from(b % 2)],
                at: ["LEI", "HMI", "MDI"][usize::from(c % 3)],
                earlier: if a % 3 == 0 { &["LEI"] } else { &[] },
                erd: [None, Some("2025-11-30"), Some("2026-02-01")][usize::from(b % 3)],
                destination: (c % 2 == 0).then_some("Approved premises, Leeds"),
            };
            prison(pid, id, &stay)
        }
        _ => {
            let status = ["active", "stopped"][usize::from(b % 2)];
            let ident = format!("med-{}", a % 3);
            medication(
                pid,
                id,
                &ident,
                "Methadone 60mg",
                "opiate-substitution",
                status,
                &day,
            )
        }
    }
}

/// One message: source, event time (few distinct: ties are common), resources.
type MsgSpec = (u8, u8, Vec<Spec>);

fn messages(specs: &[MsgSpec]) -> Vec<Msg> {
    specs
        .iter()
        .enumerate()
        .map(|(n, (source, time, resources))| {
            let source = SOURCES[usize::from(source % 4)];
            let pid = uid(&format!("patient-{source}"));
            let mut all = vec![patient(&pid, "Testperson", "1990-01-01")];
            for (k, spec) in resources.iter().enumerate() {
                all.push(resource(&pid, &uid(&format!("{n}-{k}")), *spec));
            }
            let time = format!("2025-03-0{}T1{}:00:00Z", 1 + time % 3, (time / 3) % 3);
            msg(&format!("{n:016x}"), source, &time, all, "record.updated")
        })
        .collect()
}

fn case() -> impl Strategy<Value = (Vec<MsgSpec>, Vec<usize>, usize, usize)> {
    let spec = (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>());
    let one = (any::<u8>(), any::<u8>(), prop::collection::vec(spec, 1..4));
    prop::collection::vec(one, 1..10).prop_flat_map(|specs| {
        let n = specs.len();
        let order = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
        (Just(specs), order, 0..n, 0..=n)
    })
}

fn runner(seed: u64, cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

fn check(config: &RecordConfig, seed: u64, count: u32) -> (u32, usize) {
    let (cases, entries) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0usize));
    let started = std::time::Instant::now();
    let result = runner(seed, count).run(&case(), |(specs, order, again, at)| {
        let msgs = messages(&specs);
        let in_order: Vec<_> = msgs.iter().map(Msg::entry).collect();
        let reference = PersonRecord::from_entries(config.clone(), &in_order);
        let shuffled: Vec<_> = order.iter().map(|&i| msgs[i].entry()).collect();
        // The same entries in another order, with one of them delivered again at any point.
        let mut record = PersonRecord::new(config.clone());
        for (i, entry) in shuffled.iter().enumerate() {
            if i == at {
                record.apply(&in_order[again]);
            }
            record.apply(entry);
        }
        prop_assert_eq!(&record, &reference, "order or a repeat changed the record");
        let before = record.clone();
        let change = record.apply(&in_order[again]);
        prop_assert!(
            change.is_empty() && change.duplicate,
            "a repeat reported a change"
        );
        prop_assert_eq!(&record, &before, "a repeat changed the record");
        cases.set(cases.get() + 1);
        entries.set(entries.get() + msgs.len());
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "record order/idempotence: {} cases, {} entries, history {} per source, {:?}",
        cases.get(),
        entries.get(),
        config.history_per_source,
        started.elapsed()
    );
    (cases.get(), entries.get())
}

#[test]
fn the_record_is_independent_of_order_and_repeats() {
    let (cases, entries) = check(&RecordConfig::default(), 0x7ec0_4d01, CASES);
    assert_eq!(cases, CASES);
    assert!(entries > 4 * CASES as usize);
}

#[test]
fn the_record_is_independent_of_order_with_history_cut_to_one() {
    let config = RecordConfig {
        history_per_source: 1,
        ..RecordConfig::default()
    };
    let (cases, _) = check(&config, 0x7ec0_4d02, CASES / 4);
    assert_eq!(cases, CASES / 4);
}

#[test]
fn the_comparison_has_teeth() {
    // Not vacuous: leaving one entry out changes the record in most generated cases, so the
    // equality the property asserts would catch a merge that lost or skipped a message.
    let (mut changed, mut total) = (0, 0);
    let mut runner = runner(0x7ec0_4d03, 500);
    for _ in 0..500 {
        let (specs, _, drop, _) = case().new_tree(&mut runner).unwrap().current();
        let msgs = messages(&specs);
        let all: Vec<_> = msgs.iter().map(Msg::entry).collect();
        let fewer: Vec<_> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, e)| e.clone())
            .collect();
        let config = RecordConfig::default();
        total += 1;
        if PersonRecord::from_entries(config.clone(), &all)
            != PersonRecord::from_entries(config, &fewer)
        {
            changed += 1;
        }
    }
    assert!(
        changed * 10 > total * 9,
        "a lost entry changed the record in {changed} of {total}"
    );
}
