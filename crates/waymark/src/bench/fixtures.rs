//! The one set of inputs every measurement uses: the NOMIS adapter's own envelopes for a
//! synthetic population (the mock NOMIS pushes, the real adapter wraps and publishes), each
//! mapped once beforehand so a delivered notification can be traced back to its envelope, and
//! the same events, bundles and HL7 v2 messages written to files for the peers.

use std::{
    collections::HashMap, io::Write as _, net::SocketAddr, path::Path, sync::Arc, time::Duration,
};

use anyhow::Context as _;
use serde_json::{Value, json};
use tokio::sync::watch;
use waymark_adapter_nomis::{AdapterContext, MockNomis, NomisConfig, Population, PushOptions};
use waymark_bus::{Bus, Message, Publisher, QueueSpec, SqliteBus};
use waymark_core::Envelope;
use waymark_mapping::MappingSet;
use waymark_profile::{CanonicalBundle, Validator};

/// The envelopes of a population and what the hub makes of them.
pub struct Fixtures {
    /// Synthetic people.
    pub people: usize,
    /// The envelopes as the adapter published them, in the order the source sent them.
    pub messages: Vec<Message>,
    /// The same, parsed.
    pub envelopes: Vec<Envelope>,
    /// The canonical bundle of each envelope that maps (index into `envelopes`, bundle).
    pub bundles: Vec<(usize, CanonicalBundle)>,
    /// Provenance id → index of its envelope: a delivered notification names its envelope.
    pub provenance: HashMap<String, usize>,
    /// Notifications to expect per subscription if every envelope were handled in order.
    pub changes: usize,
}

impl Fixtures {
    /// Captures and maps the envelopes of `people` synthetic prisoners (seed 42).
    pub async fn build(
        people: usize,
        mappings: &MappingSet,
        validator: &Validator,
    ) -> anyhow::Result<Self> {
        let population = Population::synthetic(42, people);
        let changes = population.expected().changes;
        let messages = capture(population).await?;
        let envelopes = messages
            .iter()
            .map(|m| Envelope::from_bytes(m.body.expose()))
            .collect::<Result<Vec<_>, _>>()
            .context("the adapter published an unreadable envelope")?;
        let mut bundles = Vec::new();
        let mut provenance = HashMap::new();
        for (i, envelope) in envelopes.iter().enumerate() {
            let Ok(bundle) = waymark_pipeline::map_envelope(mappings, validator, envelope) else {
                continue;
            };
            if let Some(id) = provenance_id(bundle.as_json()) {
                provenance.insert(id, i);
            }
            bundles.push((i, bundle));
        }
        Ok(Self {
            people,
            messages,
            envelopes,
            bundles,
            provenance,
            changes,
        })
    }

    /// The serialised canonical bundles (the bytes a stage reads and writes).
    pub fn bundle_bytes(&self) -> Vec<Vec<u8>> {
        self.bundles
            .iter()
            .filter_map(|(_, b)| serde_json::to_vec(b.as_json()).ok())
            .collect()
    }

    /// Writes the peers' inputs into `dir`: `events.jsonl` (per envelope: id, message type,
    /// event time, the NOMIS notification and the Prison API context the adapter fetched),
    /// `bundles.jsonl` (the canonical bundles) and `hl7.txt` (ExceliCare HL7 v2 messages as
    /// sent: segments end in `\r`, messages are separated by a blank line).
    pub fn write_for_peers(&self, dir: &Path, hl7: &[Vec<u8>]) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut events = std::io::BufWriter::new(std::fs::File::create(dir.join("events.jsonl"))?);
        for envelope in &self.envelopes {
            let message: Value =
                serde_json::from_slice(envelope.payload.expose()).unwrap_or(Value::Null);
            let line = json!({"id": envelope.id, "messageType": envelope.message_type,
                "eventTime": envelope.event_time, "message": message,
                "context": envelope.context.expose()});
            writeln!(events, "{line}")?;
        }
        events.flush()?;
        let mut bundles =
            std::io::BufWriter::new(std::fs::File::create(dir.join("bundles.jsonl"))?);
        for bytes in self.bundle_bytes() {
            bundles.write_all(&bytes)?;
            bundles.write_all(b"\n")?;
        }
        bundles.flush()?;
        let mut text = Vec::new();
        for message in hl7 {
            text.extend_from_slice(message);
            text.extend_from_slice(b"\n\n");
        }
        std::fs::write(dir.join("hl7.txt"), text)?;
        Ok(())
    }
}

/// The id of a bundle's Provenance resource.
pub fn provenance_id(bundle: &Value) -> Option<String> {
    waymark_fhir::entries(bundle)
        .find(|r| r["resourceType"] == "Provenance")
        .and_then(|r| r["id"].as_str())
        .map(str::to_owned)
}

/// ExceliCare's synthetic HL7 v2 messages (ER7 bytes) for `people` people.
pub fn hl7_messages(people: usize) -> Vec<Vec<u8>> {
    waymark_adapter_excelicare::Script::synthetic(42, people)
        .items()
        .iter()
        .map(|s| s.bytes.clone())
        .collect()
}

/// The envelopes the NOMIS adapter makes of `population`: the mock NOMIS pushes it to the
/// adapter, which publishes to a capture queue on a scratch embedded bus; drained in order.
pub async fn capture(population: Population) -> anyhow::Result<Vec<Message>> {
    let sent = population.expected().sent;
    let nomis = MockNomis::start(population).await?;
    let dir = tempfile::tempdir()?;
    let bus: Arc<dyn Bus> = Arc::new(SqliteBus::open(&dir.path().join("capture.db")).await?);
    bus.declare(&QueueSpec::new("capture")).await?;
    let (stop, shutdown) = watch::channel(false);
    let cx = AdapterContext {
        publisher: Publisher::new(Arc::clone(&bus), "capture"),
        shutdown,
    };
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let adapter = NomisConfig::new(listen, nomis.base_url()).build(cx).await?;
    let pushed = nomis
        .push_to(&adapter.endpoint(), PushOptions::default())
        .await;
    anyhow::ensure!(
        pushed.acknowledged == sent,
        "the adapter acknowledged {} of {sent} notifications",
        pushed.acknowledged
    );
    let _ = stop.send(true);
    let mut out = Vec::with_capacity(sent);
    while out.len() < sent {
        let delivery = bus
            .receive("capture", Duration::from_secs(5))
            .await?
            .context("the capture queue ran dry")?;
        bus.ack(&delivery).await?;
        out.push(delivery.message);
    }
    Ok(out)
}
