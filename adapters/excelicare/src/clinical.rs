//! The custody healthcare content of one ExceliCare visit, drawn deterministically from
//! (seed, person, visit): physical health, mental health assessment, substance misuse and
//! withdrawal scores, medication given and whether the person is referred to liaison and
//! diversion.

use chrono::{DateTime, Duration, Utc};

use crate::rng::SplitMix64;

/// A yes/no/unknown answer (HL7 table 0136 plus `UNK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ynu {
    /// Yes.
    Yes,
    /// No.
    No,
    /// Unknown.
    Unknown,
}

impl Ynu {
    /// `Y`, `N` or `UNK`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Yes => "Y",
            Self::No => "N",
            Self::Unknown => "UNK",
        }
    }

    /// The display text.
    pub fn display(self) -> &'static str {
        match self {
            Self::Yes => "Yes",
            Self::No => "No",
            Self::Unknown => "Unknown",
        }
    }
}

/// A drug given: ExceliCare's drug code and name, dose and unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drug {
    /// Local drug code.
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// Amount given.
    pub amount: &'static str,
    /// Unit (UCUM).
    pub unit: &'static str,
    /// Route (HL7 table 0162).
    pub route: &'static str,
}

/// The drugs custody healthcare gives (local codes, mapped to a class by a ConceptMap).
pub const DRUGS: [Drug; 7] = [
    drug("MTD01", "Methadone oral solution 1mg/ml", "30", "mL", "PO"),
    drug(
        "BUP08",
        "Buprenorphine 8mg sublingual tablet",
        "8",
        "mg",
        "SL",
    ),
    drug("CDP10", "Chlordiazepoxide 10mg capsule", "20", "mg", "PO"),
    drug("SER50", "Sertraline 50mg tablet", "50", "mg", "PO"),
    drug("OLZ10", "Olanzapine 10mg tablet", "10", "mg", "PO"),
    drug("ZOP75", "Zopiclone 7.5mg tablet", "7.5", "mg", "PO"),
    drug("PAR500", "Paracetamol 500mg tablet", "1000", "mg", "PO"),
];

const fn drug(
    code: &'static str,
    name: &'static str,
    amount: &'static str,
    unit: &'static str,
    route: &'static str,
) -> Drug {
    Drug {
        code,
        name,
        amount,
        unit,
        route,
    }
}

/// Mental health diagnoses as ExceliCare codes them (local codes, mapped by a ConceptMap).
pub const MH_DIAGNOSES: [(&str, &str); 5] = [
    ("F32", "Depressive episode"),
    ("F41", "Anxiety disorder"),
    ("F20", "Schizophrenia"),
    ("F31", "Bipolar affective disorder"),
    ("F60", "Personality disorder"),
];

/// What one visit found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    /// When the person was registered with custody healthcare.
    pub registered: DateTime<Utc>,
    /// Custody suite (sending facility).
    pub suite: &'static str,
    /// Epilepsy, diabetes, asthma, heart problems.
    pub physical: [Ynu; 4],
    /// Previous mental health problems.
    pub previous_mh: Ynu,
    /// Currently under mental health services.
    pub under_mh_services: Ynu,
    /// A mental health diagnosis recorded at assessment.
    pub diagnosis: Option<(&'static str, &'static str)>,
    /// Substance used: `OPI`, `STI`, `OTH` (local codes), if any.
    pub substance: Option<&'static str>,
    /// Alcohol withdrawal.
    pub alcohol_withdrawal: Ynu,
    /// COWS score (opiate withdrawal), when assessed.
    pub cows: Option<u32>,
    /// CIWA-Ar score (alcohol withdrawal), when assessed.
    pub ciwa: Option<u32>,
    /// The drug given, if any.
    pub medication: Option<Drug>,
    /// Referred to liaison and diversion.
    pub referred: bool,
    /// Details recorded again later (an ADT^A08).
    pub updated: bool,
}

/// Suites sending messages (MSH-4).
pub const SUITES: [&str; 4] = ["LEEDSCS", "SHEFFCS", "BRADCS", "YORKCS"];

fn ynu(rng: &mut SplitMix64, yes: u64, unknown: u64) -> Ynu {
    let roll = rng.below(100);
    if roll < yes {
        Ynu::Yes
    } else if roll < yes + unknown {
        Ynu::Unknown
    } else {
        Ynu::No
    }
}

impl Visit {
    /// The visit of `person`'s observation `sequence` in a population of `seed`.
    pub fn draw(seed: u64, person: u32, sequence: u8) -> Self {
        let mut rng = SplitMix64::new(
            seed ^ (u64::from(person) << 8 | u64::from(sequence)).wrapping_mul(0x9E37_79B9),
        );
        let base = DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default(); // 2024-01-01
        let registered = base
            + Duration::days(i64::try_from(rng.below(365)).unwrap_or(0))
            + Duration::minutes(i64::try_from(rng.below(24 * 60)).unwrap_or(0));
        let substance = rng
            .chance(45)
            .then(|| rng.pick(&["OPI", "OPI", "STI", "OTH"]));
        let alcohol_withdrawal = ynu(&mut rng, 15, 5);
        let cows = (substance == Some("OPI")).then(|| u32::try_from(rng.below(30)).unwrap_or(0));
        let ciwa =
            (alcohol_withdrawal == Ynu::Yes).then(|| u32::try_from(8 + rng.below(25)).unwrap_or(0));
        let medication = rng
            .chance(60)
            .then(|| match (substance, alcohol_withdrawal) {
                (Some("OPI"), _) => DRUGS[usize::from(rng.chance(50))],
                (_, Ynu::Yes) => DRUGS[2],
                _ => DRUGS[3 + usize::try_from(rng.below(4)).unwrap_or(0)],
            });
        Self {
            registered,
            suite: rng.pick(&SUITES),
            physical: [
                ynu(&mut rng, 4, 2),
                ynu(&mut rng, 8, 2),
                ynu(&mut rng, 12, 2),
                ynu(&mut rng, 6, 3),
            ],
            previous_mh: ynu(&mut rng, 40, 10),
            under_mh_services: ynu(&mut rng, 20, 10),
            diagnosis: rng
                .chance(25)
                .then(|| MH_DIAGNOSES[usize::try_from(rng.below(5)).unwrap_or(0)]),
            substance,
            alcohol_withdrawal,
            cows,
            ciwa,
            medication,
            referred: rng.chance(40),
            updated: rng.chance(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_are_deterministic_and_varied() {
        assert_eq!(Visit::draw(7, 3, 0), Visit::draw(7, 3, 0));
        assert_ne!(Visit::draw(7, 3, 0), Visit::draw(7, 3, 1));
        let visits: Vec<Visit> = (0..200).map(|p| Visit::draw(1, p, 0)).collect();
        assert!(visits.iter().any(|v| v.cows.is_some()));
        assert!(visits.iter().any(|v| v.ciwa.is_some()));
        assert!(visits.iter().any(|v| v.medication.is_some()));
        assert!(visits.iter().any(|v| v.referred));
        assert!(visits.iter().any(|v| v.diagnosis.is_some()));
        assert!(visits.iter().any(|v| !v.referred && v.medication.is_none()));
    }
}
