//! One real record flowing end to end: mock NOMIS → adapter → map → validate → record →
//! release → deliver → mock receiving systems, on real SQLite files and loopback HTTP.

use crate::common;

use common::{World, eventually, received_classes, repo_root};
use waymark_adapter_nomis::{Faults, Population, PushOptions};
use waymark_core::DataClass;
use waymark_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_pathway_is_delivered_signed_and_redacted_per_role() {
    let population = Population::synthetic(7, 8).with_faults(Faults { bad_events: true });
    let expected = population.expected();
    let world = World::new(population).await;
    let (hub, _p, _d) = world.start_hub().await;

    let pushed = world
        .nomis
        .push_to(&hub.nomis_endpoint(), PushOptions::default())
        .await;
    assert_eq!(
        pushed.acknowledged, expected.sent,
        "every notification acknowledged by the adapter"
    );

    let done = eventually(60, || world.delivered() >= expected.changes * 2).await;
    assert!(
        done,
        "delivered {} of {}",
        world.delivered(),
        expected.changes * 2
    );
    assert!(
        expected.changes < expected.good,
        "the population repeats itself"
    );
    assert_eq!(
        world.healthcare.unique_ids().len(),
        expected.changes,
        "one notification per event that changed the record, none for a repeat"
    );
    assert_eq!(
        world.probation.unique_ids().len(),
        expected.changes,
        "one notification per event that changed the record, none for a repeat"
    );
    let mut store = hub.store.counts().await.unwrap();
    for _ in 0..100 {
        if store.quarantined as usize >= expected.bad {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        store = hub.store.counts().await.unwrap();
    }
    assert_eq!(
        store.quarantined as usize, expected.bad,
        "every bad message quarantined"
    );
    assert_eq!(store.records as usize, expected.good);
    assert_eq!(
        world.healthcare.refused_count() + world.probation.refused_count(),
        0,
        "all signatures verified"
    );

    let probation = received_classes(&world.probation);
    assert!(
        !probation.is_empty() && probation.iter().all(|c| !c.is_clinical()),
        "probation got {probation:?}"
    );
    let healthcare = received_classes(&world.healthcare);
    assert!(
        healthcare.contains(&DataClass::PhysicalSummary),
        "the population has medical alerts, which prison healthcare must receive: {healthcare:?}"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_nomis_samples_flow_end_to_end() {
    let dir = repo_root().join("adapters/nomis/fixtures/real");
    let population = Population::from_wiremock_dir(&dir).unwrap();
    let expected = population.expected();
    assert!(expected.sent >= 5, "the real samples are loaded");
    let world = World::new(population).await;
    let (hub, _p, _d) = world.start_hub().await;
    world
        .nomis
        .push_to(&hub.nomis_endpoint(), PushOptions::default())
        .await;
    let done = eventually(60, || world.healthcare.unique_ids().len() >= expected.sent).await;
    let quarantined = hub.store.quarantined(10).await.unwrap();
    assert!(
        done && quarantined.is_empty(),
        "delivered {}, quarantined {quarantined:?}",
        world.healthcare.unique_ids().len()
    );
    hub.stop().await;
}
