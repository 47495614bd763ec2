//! What a synthetic person's GP summary says, drawn from (seed, person): medications (acute,
//! repeat, discontinued), allergies, diagnoses (SNOMED CT coded) and risks to patient.

use super::rng::SplitMix64;

/// A medication line of the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Medication {
    /// `Acute`, `Repeat` or `Discontinued`.
    pub kind: &'static str,
    /// Prescribed / last issued, `DD-Mon-YYYY`.
    pub date: String,
    /// The medication item.
    pub item: &'static str,
    /// Dosage instructions.
    pub dosage: &'static str,
    /// Quantity.
    pub quantity: &'static str,
}

/// A coded entry (diagnosis) or a described one (allergy, risk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// `DD-Mon-YYYY`.
    pub date: String,
    /// SNOMED CT concept id, when coded.
    pub code: Option<&'static str>,
    /// Description.
    pub text: &'static str,
    /// Additional information column.
    pub info: &'static str,
}

/// The clinical content of one GP summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Acute, repeat and discontinued medications.
    pub medications: Vec<Medication>,
    /// Allergies and adverse reactions.
    pub allergies: Vec<Item>,
    /// Diagnoses (coded).
    pub diagnoses: Vec<Item>,
    /// Risks to patient.
    pub risks: Vec<Item>,
}

const MEDS: &[(&str, &str, &str)] = &[
    (
        "Sertraline 50mg tablets",
        "One To Be Taken Each Day",
        "28 tablet",
    ),
    (
        "Olanzapine 10mg tablets",
        "One To Be Taken At Night",
        "28 tablet",
    ),
    (
        "Methadone 1mg/ml oral solution sugar free",
        "60ml daily, supervised",
        "420 ml",
    ),
    (
        "Buprenorphine 8mg sublingual tablets",
        "One To Be Taken Daily, supervised",
        "7 tablet",
    ),
    (
        "Diazepam 5mg tablets",
        "One To Be Taken Twice A Day When Required",
        "14 tablet",
    ),
    (
        "Zopiclone 7.5mg tablets",
        "One At Night When Required",
        "14 tablet",
    ),
    (
        "Lithium carbonate 400mg modified-release tablets",
        "One To Be Taken At Night",
        "28 tablet",
    ),
    (
        "Salbutamol 100micrograms/dose inhaler CFC free",
        "Two Puffs When Required",
        "1 inhaler",
    ),
    (
        "Metformin 500mg tablets",
        "One To Be Taken Twice A Day With Food",
        "56 tablet",
    ),
    (
        "Levetiracetam 500mg tablets",
        "One To Be Taken Twice A Day",
        "56 tablet",
    ),
    (
        "Paracetamol 500mg tablets",
        "Two To Be Taken Four Times A Day When Required",
        "32 tablet",
    ),
    (
        "Omeprazole 20mg gastro-resistant capsules",
        "One To Be Taken Each Morning",
        "28 capsule",
    ),
];

const ALLERGIES: &[(&str, &str)] = &[
    ("Penicillin allergy", "Problem; First"),
    ("Allergy to peanuts", "Problem; First"),
    ("Toxic reaction to wasp sting", "Problem; First"),
    ("Codeine adverse reaction", "Severity: moderate"),
];

const DIAGNOSES: &[(&str, &str)] = &[
    ("195967001", "Asthma"),
    ("84757009", "Epilepsy"),
    ("44054006", "Type 2 diabetes mellitus"),
    ("35489007", "Depressive disorder"),
    ("58214004", "Schizophrenia"),
    ("197480006", "Anxiety disorder"),
    ("13746004", "Bipolar disorder"),
    ("66590003", "Alcohol dependence"),
    ("75544000", "Opioid dependence"),
    ("38341003", "Hypertensive disorder"),
];

const RISKS: &[(&str, &str)] = &[
    ("225444004", "At risk for suicide"),
    ("713634000", "Vulnerable adult"),
    ("55680006", "Drug overdose"),
    (
        "1300591000000101",
        "Low risk category for developing complication from COVID-19 infection",
    ),
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn date(rng: &mut SplitMix64) -> String {
    let day = 1 + rng.below(28);
    let month = MONTHS[rng.below(12)];
    let year = 2019 + rng.below(6);
    format!("{day:02}-{month}-{year}")
}

fn item(rng: &mut SplitMix64, (text, info): (&'static str, &'static str)) -> Item {
    Item {
        date: date(rng),
        code: None,
        text,
        info,
    }
}

/// The summary of person `person` in the population drawn with `seed`.
pub fn summary(seed: u64, person: u32) -> Summary {
    let mut rng = SplitMix64::new(seed, u64::from(person), 0x5C2);
    let mut out = Summary::default();
    for _ in 0..rng.below(4) {
        let (item, dosage, quantity) = *rng.pick(MEDS);
        let kind = *rng.pick(&["Acute", "Repeat", "Repeat", "Discontinued"]);
        if out.medications.iter().any(|m| m.item == item) {
            continue;
        }
        let date = date(&mut rng);
        out.medications.push(Medication {
            kind,
            date,
            item,
            dosage,
            quantity,
        });
    }
    for _ in 0..rng.below(3) {
        let pick = *rng.pick(ALLERGIES);
        out.allergies.push(item(&mut rng, pick));
    }
    for _ in 0..rng.below(4) {
        let (code, text) = *rng.pick(DIAGNOSES);
        if out.diagnoses.iter().any(|d| d.code == Some(code)) {
            continue;
        }
        let mut d = item(&mut rng, (text, "Significant Active"));
        d.code = Some(code);
        out.diagnoses.push(d);
    }
    for _ in 0..rng.below(3) {
        let (code, text) = *rng.pick(RISKS);
        let mut r = item(&mut rng, (text, "Problem; Review"));
        r.code = Some(code);
        out.risks.push(r);
    }
    dedupe(&mut out.allergies);
    dedupe(&mut out.risks);
    out
}

/// Keeps the first item of each description.
fn dedupe(items: &mut Vec<Item>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|i| seen.insert(i.text));
}
