//! What the mock ExceliCare sends: every message of the ExceliCare observations of a synthetic
//! population (`waymark_synth`), in arrival order, each marked with what the hub should make of
//! it and how it is sent (the transport faults).

use waymark_core::{MessageId, SourceSystem};
use waymark_synth::{Mess, Population};

use crate::{
    clinical::Visit,
    messages::{Draft, Kind, SENDING_APPLICATION, after},
};

/// What the hub should answer, and whether it keeps the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `AA`: published, should map.
    Accept,
    /// `AE`: published with `context.error` (quarantined).
    Quarantine,
    /// `AR`: published with `context.error` (unsupported version or type).
    Unsupported,
    /// `AR`: not published (over the frame size limit).
    Refuse,
}

/// How a message is sent the first time (resends are always clean).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One write of the whole frame.
    Clean,
    /// Half a frame, then the connection is dropped (a truncated frame).
    Truncate,
    /// The frame in small pieces with pauses.
    Slow,
    /// The whole frame, then the connection is dropped before the answer.
    DropBeforeAck,
    /// Bytes that are not a frame, then the frame.
    GarbageBefore,
}

/// One message in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scripted {
    /// A short name for test messages: message kind or fault name (never patient data).
    pub label: String,
    /// The message (unframed).
    pub bytes: Vec<u8>,
    /// MSH-4, MSH-10 as sent (`None` when the message has none).
    pub key: Option<(String, String)>,
    /// What should become of it.
    pub expect: Expect,
    /// How it is sent first.
    pub transport: Transport,
}

impl Scripted {
    /// The envelope id the hub gives it: MSH-3/4 with MSH-10 (`None` without a control id).
    pub fn message_id(&self) -> Option<MessageId> {
        let (facility, control) = self.key.as_ref()?;
        let key = format!("{SENDING_APPLICATION}|{facility}|{control}");
        Some(MessageId::derive(SourceSystem::Excelicare, &key))
    }
}

/// The mock's outbox, in send order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub(crate) items: Vec<Scripted>,
    pub(crate) faults_added: bool,
}

impl Script {
    /// The ExceliCare messages of `Population::generate(seed, people)` with the default mess.
    pub fn synthetic(seed: u64, people: usize) -> Self {
        let population = Population::generate(seed, people);
        let mess = Mess::default();
        let mut items = Vec::new();
        for at in population.arrival_order(&mess) {
            let Some(observation) = population.observation(at, &mess) else {
                continue;
            };
            if observation.source() != SourceSystem::Excelicare {
                continue;
            }
            let visit = Visit::draw(seed, at.person.0, at.sequence);
            let mut t = visit.registered;
            for kind in kinds(&visit) {
                let control_id = format!("EXC{seed:04}{:07}", items.len() % 10_000_000);
                let draft = Draft {
                    observation: &observation,
                    visit: &visit,
                    kind,
                    control_id: &control_id,
                    at: t,
                };
                items.push(Scripted {
                    label: kind.label().to_owned(),
                    bytes: draft.build(),
                    key: Some((visit.suite.to_owned(), control_id)),
                    expect: Expect::Accept,
                    transport: Transport::Clean,
                });
                t = after(t, 20);
            }
        }
        Self {
            items,
            faults_added: false,
        }
    }

    /// The messages, in send order.
    pub fn items(&self) -> &[Scripted] {
        &self.items
    }

    /// Every distinct envelope id the hub should end up holding (refused frames excluded;
    /// messages with no control id are keyed by their bytes and not listed).
    pub fn expected_ids(&self) -> std::collections::BTreeSet<MessageId> {
        self.items
            .iter()
            .filter(|i| i.expect != Expect::Refuse)
            .filter_map(Scripted::message_id)
            .collect()
    }

    /// How many distinct messages the hub should hold (ids plus keyless messages).
    pub fn expected_published(&self) -> usize {
        let keyless = self
            .items
            .iter()
            .filter(|i| i.expect != Expect::Refuse && i.key.is_none())
            .map(|i| &i.bytes)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        self.expected_ids().len() + keyless
    }
}

fn kinds(visit: &Visit) -> Vec<Kind> {
    let mut kinds = vec![Kind::Register, Kind::Assessment];
    if visit.medication.is_some() {
        kinds.push(Kind::Medication);
    }
    if visit.referred {
        kinds.push(Kind::Referral);
    }
    if visit.updated {
        kinds.push(Kind::Update);
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::er7;

    #[test]
    fn the_script_is_deterministic_and_every_message_parses() {
        let a = Script::synthetic(11, 30);
        assert_eq!(a, Script::synthetic(11, 30));
        assert!(a.items().len() > 20, "{}", a.items().len());
        for item in a.items() {
            let m = er7::parse(&item.bytes).unwrap();
            assert_eq!(m.segments[0].name, "MSH");
            assert!(m.segment("PID").is_some());
            assert!(m.segment("ZCU").is_some());
        }
        assert_eq!(a.expected_ids().len(), a.items().len());
        for label in ["adt-a04", "oru-r01", "ras-o17", "ref-i12", "adt-a08"] {
            assert!(a.items().iter().any(|i| i.label == label), "{label}");
        }
    }
}
