//! A whole embedded hub with its mock source and mock receiving systems, for end-to-end tests.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use tokio::sync::mpsc;
use waymark::embedded::{EmbeddedHub, EmbeddedOptions, demo_subscriptions};
use waymark_adapter_nomis::{MockNomis, Population};
use waymark_delivery::{DeliveryEvent, mock::MockReceiver};
use waymark_pipeline::{PipelineEvent, Telemetry};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The external systems: a mock NOMIS and two receiving systems.
pub struct World {
    pub nomis: MockNomis,
    pub healthcare: MockReceiver,
    pub probation: MockReceiver,
    pub data: tempfile::TempDir,
}

impl World {
    pub async fn new(population: Population) -> Self {
        Self {
            nomis: MockNomis::start(population).await.unwrap(),
            healthcare: MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap(),
            probation: MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap(),
            data: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts a hub on this world's data folder (again, after a crash, on the same files).
    pub async fn start_hub(
        &self,
    ) -> (
        EmbeddedHub,
        mpsc::UnboundedReceiver<PipelineEvent>,
        mpsc::UnboundedReceiver<DeliveryEvent>,
    ) {
        let opts = EmbeddedOptions {
            data_dir: self.data.path().to_owned(),
            mappings_dir: repo_root().join("mappings"),
            prison_api_url: self.nomis.base_url(),
            api_port: 0,
        };
        let subs = demo_subscriptions(&self.healthcare.url(), &self.probation.url(), SECRET);
        let (telemetry, pipeline) = Telemetry::channel();
        let (tx, deliveries) = mpsc::unbounded_channel();
        let hub = EmbeddedHub::start(&opts, subs, telemetry, tx)
            .await
            .unwrap();
        (hub, pipeline, deliveries)
    }

    /// Unique notifications held by both receivers.
    pub fn delivered(&self) -> usize {
        self.healthcare.unique_ids().len() + self.probation.unique_ids().len()
    }
}

/// Waits until `check` holds or `secs` pass; returns whether it held.
pub async fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

/// The data class of every resource a receiver holds; `Parameters` (the notification status)
/// and `Provenance` carry none, every other resource must.
pub fn received_classes(receiver: &MockReceiver) -> Vec<waymark_core::DataClass> {
    let mut classes = Vec::new();
    for r in receiver.received() {
        for resource in waymark_fhir::entries(&r.body) {
            let kind = resource["resourceType"].as_str().unwrap_or_default();
            match waymark_fhir::data_class(resource) {
                Some(class) => classes.push(class),
                None => assert!(
                    matches!(kind, "Parameters" | "Provenance"),
                    "unlabelled {kind}"
                ),
            }
        }
    }
    classes
}
