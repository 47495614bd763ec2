//! No patient data in the adapter's logs.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use waymark_adapter_excelicare::{MockExcelicare, Script};
use waymark_core::SourceSystem;
use waymark_synth::{Mess, Population};

use crate::common::{Gate, Harness, spawn_send};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything of a person a log line must never hold.
fn secrets(seed: u64, people: usize) -> Vec<String> {
    let population = Population::generate(seed, people);
    let mess = Mess::default();
    let mut out = Vec::new();
    for o in population.observations(&mess) {
        if o.source() != SourceSystem::Excelicare {
            continue;
        }
        for name in o.names() {
            out.push(name.family.clone());
            out.extend(name.given.iter().cloned());
        }
        out.push(o.birth_date().format("%Y%m%d").to_string());
        out.push(o.birth_date().format("%Y-%m-%d").to_string());
        out.extend(o.nhs_number().map(str::to_owned));
        out.push(o.local_id().to_owned());
        out.extend(o.postcode().map(str::to_owned));
    }
    out.retain(|s| s.len() >= 3);
    out
}

#[tokio::test]
async fn no_patient_data_in_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let harness = Harness::start().await;
    let mock = MockExcelicare::new(Script::synthetic(5, 20).with_faults());
    harness.bus.set(Gate::Fail);
    let run = spawn_send(&mock, harness.addr);
    harness.bus.failed().wait_for(|n| *n >= 1).await.unwrap();
    harness.bus.set(Gate::Open);
    let report = run.await.unwrap();
    assert_eq!(report.unanswered, 0);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "excelicare envelope published",
        "excelicare publish failed",
        "excelicare frame discarded",
    ] {
        assert!(logs.contains(expected), "missing log line: {expected}");
    }
    let secrets = secrets(5, 20);
    assert!(secrets.len() > 50);
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a log line holds patient data"
        );
    }
    for item in mock.script().items() {
        if let Some((_, control)) = &item.key {
            assert!(
                !logs.contains(control.as_str()),
                "a log line holds a control id"
            );
        }
    }
}
