//! What the mock SystmOne holds: one GP Connect record per NHS number, built from the shared
//! synthetic population's SystmOne observations (mess included: a record under a mistyped NHS
//! number is only found by that number; a record without one cannot be pulled by NHS number
//! and is not served), and a change feed with one notification per observation.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration};
use waymark_core::{NhsNumber, SourceSystem};
use waymark_synth::{Mess, Observation, ObservationRef, Population};

use super::{
    bundle::render,
    clinical::Clinical,
    faults::{Fault, MockFaults},
    rng::SplitMix64,
};
use crate::feed::ChangeNotification;

const CLINICAL: u64 = 0x434C_494E;
const BUNDLE: u64 = 0x4255_4E44;

/// One record the mock serves.
#[derive(Clone, Debug)]
pub struct MockRecord {
    /// The Bundle, bytes exactly as served.
    pub body: Vec<u8>,
    /// The fault the mock applies to this record (none unless faults are on).
    pub fault: Fault,
    /// The synthetic person (ground truth, for tests).
    pub person: u32,
    reference: ObservationRef,
}

/// The mock's data: records by NHS number and the change feed.
#[derive(Clone, Debug, Default)]
pub struct MockData {
    records: BTreeMap<String, MockRecord>,
    feed: Vec<ChangeNotification>,
}

impl MockData {
    /// The SystmOne records of `Population::generate(seed, people)` with default mess.
    pub fn synthetic(seed: u64, people: usize, faults: &MockFaults) -> Self {
        let population = Population::generate(seed, people);
        Self::from_population(&population, &Mess::default(), faults)
    }

    /// The SystmOne records of a population: the latest observation per NHS number wins (a
    /// later observation is a change), each observation with an NHS number is a notification.
    pub fn from_population(population: &Population, mess: &Mess, faults: &MockFaults) -> Self {
        let mut data = Self::default();
        let start = DateTime::from_timestamp(1_735_725_600, 0).unwrap_or_default(); // 2025-01-01T10:00Z
        for at in population.arrival_order(mess) {
            let Some(obs) = population.observation(at, mess) else {
                continue;
            };
            if obs.source() != SourceSystem::Systmone {
                continue;
            }
            let Some(nhs) = obs.nhs_number().map(str::to_owned) else {
                continue;
            };
            let body = record_bytes(population.seed(), &obs, false);
            let record = MockRecord {
                body,
                fault: Fault::None,
                person: obs.person().0,
                reference: at,
            };
            data.records.insert(nhs.clone(), record);
            let sequence = data.feed.len() as u64 + 1;
            let changed_at = start + Duration::minutes(i64::try_from(sequence).unwrap_or(0));
            data.feed.push(ChangeNotification {
                sequence,
                nhs_number: nhs,
                changed_at: Some(changed_at),
            });
        }
        data.apply_faults(population.seed(), population, mess, faults);
        data
    }

    fn apply_faults(
        &mut self,
        seed: u64,
        population: &Population,
        mess: &Mess,
        faults: &MockFaults,
    ) {
        let valid: Vec<String> = self
            .records
            .keys()
            .filter(|n| NhsNumber::parse(n).is_ok())
            .cloned()
            .collect();
        for (k, nhs) in valid.iter().enumerate() {
            let fault = faults.assign(k);
            if fault == Fault::None {
                continue;
            }
            if let Some(record) = self.records.get_mut(nhs) {
                record.fault = fault;
                if fault == Fault::UnknownExtensions
                    && let Some(obs) = population.observation(record.reference, mess)
                {
                    record.body = record_bytes(seed, &obs, true);
                }
            }
        }
        if faults.duplicate_notifications {
            self.duplicate_notifications();
        }
    }

    /// Every fourth notification is written again, later, with a new sequence number.
    fn duplicate_notifications(&mut self) {
        let copies: Vec<ChangeNotification> = self.feed.iter().step_by(4).cloned().collect();
        for copy in copies {
            let sequence = self.feed.len() as u64 + 1;
            self.feed.push(ChangeNotification { sequence, ..copy });
        }
    }

    /// Serves `body` (bytes as given, e.g. a real GP Connect sample) for `nhs`, with a change
    /// notification.
    pub fn insert(&mut self, nhs: &str, body: Vec<u8>) {
        let reference = ObservationRef {
            person: waymark_synth::PersonId(u32::MAX),
            sequence: 0,
        };
        let record = MockRecord {
            body,
            fault: Fault::None,
            person: u32::MAX,
            reference,
        };
        self.records.insert(nhs.to_owned(), record);
        let sequence = self.feed.len() as u64 + 1;
        self.feed.push(ChangeNotification {
            sequence,
            nhs_number: nhs.to_owned(),
            changed_at: None,
        });
    }

    /// The record for an NHS number.
    pub fn record(&self, nhs: &str) -> Option<&MockRecord> {
        self.records.get(nhs)
    }

    /// Every NHS number served, in order.
    pub fn nhs_numbers(&self) -> impl Iterator<Item = &str> {
        self.records.keys().map(String::as_str)
    }

    /// NHS numbers that a pull request can name (valid check digit), in order.
    pub fn pullable(&self) -> Vec<String> {
        self.records
            .keys()
            .filter(|n| NhsNumber::parse(n).is_ok())
            .cloned()
            .collect()
    }

    /// NHS numbers with the given fault.
    pub fn with_fault(&self, fault: Fault) -> Vec<String> {
        self.records
            .iter()
            .filter(|(_, r)| r.fault == fault)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// How many records are served.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing is served.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The change feed, in sequence order.
    pub fn feed(&self) -> &[ChangeNotification] {
        &self.feed
    }
}

/// The record bytes of an observation: clinical content from (seed, person), ids from (seed,
/// person, observation).
fn record_bytes(seed: u64, obs: &Observation, unknown_extensions: bool) -> Vec<u8> {
    let person = u64::from(obs.person().0);
    let clinical = Clinical::draw(&mut SplitMix64::stream(seed, person, CLINICAL));
    let tag = BUNDLE ^ u64::from(obs.reference().sequence);
    render(
        obs,
        &clinical,
        &mut SplitMix64::stream(seed, person, tag),
        unknown_extensions,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_records_are_bundles() {
        let a = MockData::synthetic(7, 60, &MockFaults::default());
        let b = MockData::synthetic(7, 60, &MockFaults::default());
        assert!(!a.is_empty());
        assert_eq!(
            a.nhs_numbers().collect::<Vec<_>>(),
            b.nhs_numbers().collect::<Vec<_>>()
        );
        for nhs in a.nhs_numbers() {
            let (ra, rb) = (a.record(nhs).unwrap(), b.record(nhs).unwrap());
            assert_eq!(ra.body, rb.body);
            let v: serde_json::Value = serde_json::from_slice(&ra.body).unwrap();
            assert_eq!(v["resourceType"], "Bundle");
        }
        assert!(a.feed().len() >= a.len());
    }
}
