//! Patient data never reaches the logs: the real NOMIS samples flow end to end with every log
//! line captured at TRACE level, and none of their identifiers, names or dates of birth appear.

use crate::common;

use std::{
    io::Write,
    sync::{Arc, Mutex, PoisonError},
};

use common::{World, eventually, repo_root};
use waymark_adapter_nomis::{Population, PushOptions};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const CANARIES: [&str; 8] = [
    "A5089DY",
    "A5089EY",
    "A6089DY",
    "A6089DX",
    "A7089EY",
    "Smith",
    "Patient 1",
    "1978-01-02",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_and_names_from_the_samples_never_appear_in_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let population =
        Population::from_wiremock_dir(&repo_root().join("adapters/nomis/fixtures/real")).unwrap();
    let sent = population.expected().sent;
    let world = World::new(population).await;
    let (hub, _p, _d) = world.start_hub().await;
    world
        .nomis
        .push_to(&hub.nomis_endpoint(), PushOptions::default())
        .await;
    assert!(eventually(60, || world.healthcare.unique_ids().len() >= sent).await);
    hub.stop().await;

    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        log.lines().count() > 50,
        "the log was captured ({} lines)",
        log.lines().count()
    );
    for canary in CANARIES {
        let hit = log.lines().find(|l| l.contains(canary));
        assert!(hit.is_none(), "`{canary}` appears in the log: {hit:?}");
    }
}
