//! A hub that dies mid-stream and restarts on the same files loses nothing and applies nothing
//! twice.

use crate::common;

use common::{World, eventually};
use waymark_adapter_nomis::{Population, PushOptions};
use waymark_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_stream_then_restart_loses_and_duplicates_nothing() {
    let population = Population::synthetic(11, 25);
    let expected = population.expected();
    let world = World::new(population).await;
    let want = expected.changes * 2;

    let (hub, _p, _d) = world.start_hub().await;
    let pushed = world
        .nomis
        .push_to(&hub.nomis_endpoint(), PushOptions::default())
        .await;
    assert_eq!(pushed.acknowledged, expected.sent);
    assert!(
        eventually(60, || world.delivered() >= want / 4).await,
        "some deliveries before the crash"
    );
    hub.crash().await;
    let at_crash = world.delivered();
    assert!(
        at_crash < want,
        "the crash happened mid-stream ({at_crash} of {want} delivered)"
    );

    let (hub, _p, _d) = world.start_hub().await;
    let done = eventually(60, || world.delivered() >= want).await;
    assert!(
        done,
        "after restart: {} of {want} delivered",
        world.delivered()
    );
    let counts = hub.store.counts().await.unwrap();
    assert_eq!(
        counts.records as usize, expected.good,
        "each message applied once"
    );
    let dupes = world.healthcare.duplicates().len() + world.probation.duplicates().len();
    eprintln!(
        "restart: {want} notifications expected, {at_crash} before the crash, {} unique after, \
         {dupes} redelivered with the same webhook-id (at-least-once; receivers dedupe by it), 0 lost",
        world.delivered()
    );
    assert_eq!(world.delivered(), want, "nothing lost, nothing extra");
    assert!(
        dupes <= 2,
        "at most the in-flight delivery of each subscription is redelivered: {dupes}"
    );
    hub.stop().await;
}
