//! A synthetic population, with and without faults, through the real adapter.

use crate::common;

use common::{Harness, error_code};
use waymark_adapter_nomis::{Expect, Faults, Population};

#[test]
fn the_synthetic_population_is_deterministic_for_a_seed() {
    let a = Population::synthetic(2024, 30).with_faults(Faults { bad_events: true });
    let b = Population::synthetic(2024, 30).with_faults(Faults { bad_events: true });
    assert_eq!(a, b);
    let bodies = |p: &Population| {
        p.notifications()
            .iter()
            .map(|n| n.body.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(bodies(&a), bodies(&b));
    assert_ne!(
        bodies(&a),
        bodies(&Population::synthetic(2025, 30).with_faults(Faults { bad_events: true }))
    );
}

#[tokio::test]
async fn what_the_adapter_publishes_matches_expected() {
    let population = Population::synthetic(99, 20).with_faults(Faults { bad_events: true });
    let expected = population.expected();
    assert_eq!(expected.bad, 4);
    let harness = Harness::start(population).await;
    let report = harness.push_all().await;
    assert_eq!(
        (report.sent, report.acknowledged),
        (expected.sent, expected.sent)
    );

    let envelopes = harness.bus.envelopes();
    assert_eq!(
        envelopes.len(),
        expected.sent,
        "one envelope per notification, none merged"
    );
    let good: Vec<_> = envelopes
        .iter()
        .filter(|e| e.context.expose().get("prisoner").is_some())
        .collect();
    let bad: Vec<_> = envelopes
        .iter()
        .filter(|e| error_code(e).is_some())
        .collect();
    assert_eq!((good.len(), bad.len()), (expected.good, expected.bad));

    // And each scripted notification landed where its label says.
    for scripted in harness.mock.population().notifications() {
        let envelope = envelopes
            .iter()
            .find(|e| e.payload.expose() == &scripted.body)
            .unwrap();
        let is_good = error_code(envelope).is_none();
        assert_eq!(
            is_good,
            scripted.expect != Expect::Bad,
            "{}",
            scripted.label
        );
        if is_good {
            assert!(envelope.context.expose()["alerts"].is_array());
            assert!(envelope.event_time.is_some());
        }
    }
    harness.stop().await;
}

/// sha256 over every notification (label, expectation, body) and every route of a population.
fn fingerprint(population: &Population) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for n in population.notifications() {
        hash.update(n.label.as_bytes());
        hash.update([u8::from(n.expect != Expect::Bad)]);
        hash.update((n.body.len() as u64).to_le_bytes());
        hash.update(&n.body);
    }
    for route in population.routes() {
        hash.update(route.path.as_bytes());
        hash.update(route.status.to_le_bytes());
        hash.update((route.body.len() as u64).to_le_bytes());
        hash.update(&route.body);
    }
    hex::encode(hash.finalize())
}

#[test]
fn the_fixed_date_population_is_unchanged() {
    // `synthetic` must keep producing these bytes (recorded when the prisoners became the
    // shared `waymark-synth` people; change it only with the generator, on purpose).
    let population = Population::synthetic(2026, 12);
    assert_eq!(
        fingerprint(&population),
        "79f32d7b745761b912ef3ac163662da429f69bb1ff2447674e34cdb3631a4ad9"
    );
    let population = Population::synthetic(7, 40).with_faults(Faults { bad_events: true });
    assert_eq!(
        fingerprint(&population),
        "dec380c3b95d6808f25a34ea0dbab49461e4d8128ceef0cffa0afad962410716"
    );
}
