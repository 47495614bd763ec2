//! The clinical content the mock gives a person: problems, medication and allergies drawn from
//! small tables of SNOMED CT concepts (illustrative, not a formulary), deterministically from
//! (seed, person).

use chrono::{Days, NaiveDate};

use super::rng::SplitMix64;

/// A coded concept: SNOMED CT code and display.
pub(crate) type Concept = (&'static str, &'static str);

/// Problems a prison healthcare record commonly holds.
pub(crate) const PROBLEMS: &[Concept] = &[
    ("84757009", "Epilepsy"),
    ("44054006", "Type 2 diabetes mellitus"),
    ("195967001", "Asthma"),
    ("127295002", "Traumatic brain injury"),
    ("56265001", "Heart disease"),
    ("58214004", "Schizophrenia"),
    ("13746004", "Bipolar disorder"),
    ("35489007", "Depressive disorder"),
    ("197480006", "Anxiety disorder"),
    ("33449004", "Personality disorder"),
    ("75544000", "Opioid dependence"),
    ("38341003", "Hypertensive disorder"),
];

/// Medication (product concept, display, dosage text).
pub(crate) const MEDICATIONS: &[(&str, &str, &str)] = &[
    (
        "387286002",
        "Methadone 1mg/ml oral solution sugar free",
        "60ml once daily, supervised",
    ),
    (
        "387173000",
        "Buprenorphine 8mg sublingual tablets",
        "ONE daily, supervised",
    ),
    ("372594008", "Sertraline 50mg tablets", "ONE daily"),
    ("386849001", "Olanzapine 10mg tablets", "ONE at night"),
    (
        "387264003",
        "Diazepam 5mg tablets",
        "ONE three times a day for 5 days",
    ),
    (
        "323509004",
        "Amoxicillin 250mg capsules",
        "ONE three times a day",
    ),
    ("319773006", "Aspirin 75mg dispersible tablets", "ONE daily"),
    (
        "387458008",
        "Salbutamol 100micrograms/dose inhaler",
        "TWO puffs when required",
    ),
];

/// Allergens and a reaction each.
pub(crate) const ALLERGIES: &[(Concept, Concept, &str)] = &[
    (
        ("373270004", "Penicillin -class of antibiotic-"),
        ("271807003", "Eruption of skin"),
        "medication",
    ),
    (
        ("256349002", "Peanut - dietary"),
        ("39579001", "Anaphylaxis"),
        "food",
    ),
    (
        ("387458008", "Aspirin"),
        ("422400008", "Vomiting"),
        "medication",
    ),
    (
        ("227493005", "Cashew nut"),
        ("126485001", "Urticaria"),
        "food",
    ),
];

/// One problem.
pub(crate) struct Problem {
    pub concept: Concept,
    pub onset: NaiveDate,
    pub active: bool,
}

/// One medication course: a plan and its issues.
pub(crate) struct Course {
    pub product: (&'static str, &'static str, &'static str),
    pub start: NaiveDate,
    pub issues: u32,
    pub repeat: bool,
    pub active: bool,
}

/// One allergy.
pub(crate) struct Allergy {
    pub allergen: Concept,
    pub reaction: Concept,
    pub category: &'static str,
    pub asserted: NaiveDate,
    pub resolved: bool,
}

/// A person's clinical record.
pub(crate) struct Clinical {
    pub problems: Vec<Problem>,
    pub courses: Vec<Course>,
    pub allergies: Vec<Allergy>,
    /// When the record was last looked at (the section lists' date).
    pub as_of: NaiveDate,
}

fn date(rng: &mut SplitMix64, from: NaiveDate, span_days: u64) -> NaiveDate {
    from.checked_add_days(Days::new(rng.below(span_days)))
        .unwrap_or(from)
}

fn distinct<T>(rng: &mut SplitMix64, table: &[T], n: usize) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::new();
    while picked.len() < n.min(table.len()) {
        let i = rng.index(table.len());
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked
}

impl Clinical {
    /// The record of one person, from `rng` (a stream of that person).
    pub(crate) fn draw(rng: &mut SplitMix64) -> Self {
        let base = NaiveDate::from_ymd_opt(2019, 1, 1).unwrap_or_default();
        let n_problems = rng.index(4);
        let problems = distinct(rng, PROBLEMS, n_problems)
            .into_iter()
            .map(|i| Problem {
                concept: PROBLEMS[i],
                onset: date(rng, base, 2000),
                active: rng.chance(80),
            })
            .collect();
        let n_courses = rng.index(4);
        let courses = distinct(rng, MEDICATIONS, n_courses)
            .into_iter()
            .map(|i| Course {
                product: MEDICATIONS[i],
                start: date(rng, base, 2000),
                issues: 1 + u32::try_from(rng.below(3)).unwrap_or(0),
                repeat: rng.chance(60),
                active: rng.chance(70),
            })
            .collect();
        let n_allergies = if rng.chance(55) { 0 } else { 1 + rng.index(2) };
        let allergies = distinct(rng, ALLERGIES, n_allergies)
            .into_iter()
            .map(|i| Allergy {
                allergen: ALLERGIES[i].0,
                reaction: ALLERGIES[i].1,
                category: ALLERGIES[i].2,
                asserted: date(rng, base, 2000),
                resolved: rng.chance(15),
            })
            .collect();
        let as_of = date(
            rng,
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default(),
            300,
        );
        Self {
            problems,
            courses,
            allergies,
            as_of,
        }
    }
}
