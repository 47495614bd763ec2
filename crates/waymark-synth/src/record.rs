//! How a source records a person: which of the person's visits go where (the plan), and what
//! each record ends up holding once the [`Mess`] has been applied.

use waymark_core::SourceSystem;

use crate::{
    ids::source_index,
    mess::{Mess, MessKind, SourceProfile},
    observation::{Observation, ObservationRef, ObservedName},
    person::Person,
    population::Population,
    rng::SplitMix64,
};

/// Stream tags, so each use of a person's randomness is independent of the others.
const PLAN: u64 = 0x504C_414E;
const RECORD: u64 = 0x5245_4300;

/// One visit of a person to a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Visit {
    pub(crate) source: SourceSystem,
    /// Which of the source's local records of the person (0 = the first).
    pub(crate) record: u8,
    /// This visit opened a new local record although the source already had one.
    pub(crate) duplicate: bool,
}

/// The visits of a person, in order.
pub(crate) fn plan(seed: u64, person: u32, mess: &Mess) -> Vec<Visit> {
    let mut rng = SplitMix64::stream(seed, u64::from(person), PLAN);
    let (lo, hi) = (
        mess.min_observations,
        mess.max_observations.max(mess.min_observations),
    );
    let count = lo + u8::try_from(rng.below(u64::from(hi - lo) + 1)).unwrap_or(0);
    let mut records = [None::<u8>; 5];
    (0..count)
        .map(|_| {
            let source = pick_source(&mut rng, mess);
            let slot = &mut records[source_index(source)];
            let (record, duplicate) = match *slot {
                None => (0, false),
                Some(r) if rng.chance(mess.source_duplicate) => (r + 1, true),
                Some(r) => (r, false),
            };
            *slot = Some(record);
            Visit {
                source,
                record,
                duplicate,
            }
        })
        .collect()
}

fn pick_source(rng: &mut SplitMix64, mess: &Mess) -> SourceSystem {
    let weights = SourceSystem::ALL.map(|s| mess.profile(s).weight.max(0.0));
    let total: f64 = weights.iter().sum();
    let mut x = rng.unit() * total;
    for (source, w) in SourceSystem::ALL.into_iter().zip(weights) {
        if x < w {
            return source;
        }
        x -= w;
    }
    SourceSystem::Athena
}

/// The record the visit's source holds.
pub(crate) fn observe(
    population: &Population,
    person: &Person,
    sequence: u8,
    visit: Visit,
    mess: &Mess,
) -> Observation {
    let id = person.id.0;
    let rng = SplitMix64::stream(
        population.seed(),
        u64::from(id),
        RECORD + u64::from(sequence),
    );
    let mut r = Recorder {
        rng,
        person,
        mess,
        profile: mess.profile(visit.source),
        applied: Vec::new(),
    };
    if visit.duplicate {
        r.applied.push(MessKind::SourceDuplicate);
    }
    let mut names = r.names();
    if visit.source == SourceSystem::Nomis {
        upper_case(&mut names);
    }
    let birth_date = r.birth_date();
    let sex = r.sex();
    let postcode = r.postcode();
    let nhs_number = r.nhs_number(visit.source == SourceSystem::Excelicare);
    let pnc_id = r.pnc_id(visit.source != SourceSystem::Excelicare);
    let cro_number = r.cro_number();
    let prison_code = population.ids.prison_code(id, visit.record);
    let prison_number = r.prison_number(visit.source, prison_code);
    let local = population
        .ids
        .local(visit.source, id, local_slot(visit, sequence));
    Observation {
        reference: ObservationRef {
            person: person.id,
            sequence,
        },
        source: visit.source,
        local_id: local_text(visit.source, local),
        resource_id: r.rng.uuid(),
        names,
        birth_date,
        sex,
        postcode,
        nhs_number,
        pnc_id,
        cro_number,
        prison_number,
        mess: r.applied,
    }
}

/// NOMIS: every visit is a new booking; elsewhere the local record.
fn local_slot(visit: Visit, sequence: u8) -> u8 {
    if visit.source == SourceSystem::Nomis {
        sequence
    } else {
        visit.record
    }
}

fn local_text(source: SourceSystem, code: u64) -> String {
    match source {
        SourceSystem::Athena => format!("AT{code:08}"),
        SourceSystem::Excelicare => format!("EX{code:08}"),
        SourceSystem::Systmone => format!("{}", 1_000_000_000 + code),
        SourceSystem::Nomis => format!("{}", 100_000_000 + code),
        SourceSystem::Scr => format!("SCR{code:08}"),
    }
}

fn upper_case(names: &mut [ObservedName]) {
    for n in names {
        n.family = n.family.to_uppercase();
        for g in &mut n.given {
            *g = g.to_uppercase();
        }
    }
}

pub(crate) struct Recorder<'a> {
    pub(crate) rng: SplitMix64,
    pub(crate) person: &'a Person,
    pub(crate) mess: &'a Mess,
    pub(crate) profile: &'a SourceProfile,
    pub(crate) applied: Vec<MessKind>,
}

impl Recorder<'_> {
    /// At most one of the options, each with its probability.
    pub(crate) fn one_of(&mut self, options: &[(f64, MessKind)]) -> Option<MessKind> {
        let u = self.rng.unit();
        let mut edge = 0.0;
        options.iter().find_map(|(p, kind)| {
            edge += p;
            (u < edge).then_some(*kind)
        })
    }

    /// Applies `change` and records `kind` when it was possible.
    pub(crate) fn apply<T>(&mut self, kind: MessKind, change: Option<T>) -> Option<T> {
        if change.is_some() {
            self.applied.push(kind);
        }
        change
    }
}
