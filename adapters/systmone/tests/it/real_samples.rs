//! The real GP Connect samples, served by the mock, are published byte for byte.

use std::path::PathBuf;

use chrono::Utc;
use waymark_adapter_systmone::{
    MESSAGE_TYPE, PullRequest, message_id,
    mock::{MockData, MockFaults},
};
use waymark_core::SourceSystem;

use crate::common::Harness;

/// The NHS number the samples carry (a valid test number).
const SAMPLE_NHS: &str = "9999999999";

#[tokio::test]
async fn real_samples_are_published_untouched() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/real");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let mut data = MockData::default();
        data.insert(SAMPLE_NHS, bytes.clone());
        let mut h = Harness::with_data(data, &MockFaults::default()).await;
        h.start().await;
        let request = PullRequest::new(SAMPLE_NHS, "prison-reception", Utc::now()).unwrap();
        h.adapter().handle().pull(request).await.unwrap();
        h.drained().await;
        let envelopes = h.bus.drain().await;
        assert_eq!(envelopes.len(), 1, "{}", file.display());
        let envelope = &envelopes[0];
        assert_eq!(envelope.payload.expose(), &bytes, "{}", file.display());
        assert_eq!(envelope.id, message_id(SAMPLE_NHS, &bytes));
        assert_eq!(
            (envelope.source, envelope.message_type.as_str()),
            (SourceSystem::Systmone, MESSAGE_TYPE)
        );
        assert_eq!(envelope.content_type, "application/fhir+json");
        assert!(envelope.context.expose().get("error").is_none());
        h.stop().await;
    }
}
