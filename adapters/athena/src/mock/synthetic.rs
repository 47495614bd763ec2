//! Custody episodes drawn from the shared synthetic population: every Athena [`Observation`]
//! (one local custody record of one person, with that source's mess) becomes one episode of
//! events — arrival, warning markers, the risk assessment, fit to detain / interview / release
//! decisions, release — whose content derives deterministically from (seed, person, record).

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};
use waymark_core::SourceSystem;
use waymark_synth::{Mess, NameUse, Observation, Population, Sex};

use crate::rng::SplitMix64;

/// One event before it takes its place (and sequence number) in the feed.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    pub at: DateTime<Utc>,
    pub event_id: String,
    pub body: Map<String, Value>,
}

/// A custody suite: (code, name).
type Suite = (&'static str, &'static str);

/// (force code, force number, force name, suites).
const FORCES: &[(&str, u8, &str, &[Suite])] = &[
    (
        "WY",
        13,
        "West Yorkshire Police",
        &[
            ("WYELR", "Elland Road Custody Suite"),
            ("WYTRA", "Trafalgar House Custody Suite"),
        ],
    ),
    (
        "GM",
        6,
        "Greater Manchester Police",
        &[
            ("GMSWI", "Swinton Custody Suite"),
            ("GMCHE", "Cheadle Heath Custody Suite"),
        ],
    ),
    (
        "SY",
        14,
        "South Yorkshire Police",
        &[("SYSHE", "Shepcote Lane Custody Suite")],
    ),
    (
        "WM",
        20,
        "West Midlands Police",
        &[
            ("WMOLD", "Oldbury Custody Suite"),
            ("WMPER", "Perry Barr Custody Suite"),
        ],
    ),
];

const REASONS: &[(&str, &str)] = &[
    ("THEFT-SHOP", "Theft from a shop"),
    ("ASSAULT-ABH", "Assault occasioning actual bodily harm"),
    ("CRIM-DAMAGE", "Criminal damage"),
    ("DRUNK-DISORDERLY", "Drunk and disorderly"),
    ("POSS-CLASS-A", "Possession of a controlled drug of class A"),
    ("BREACH-BAIL", "Breach of bail conditions"),
    ("BURGLARY-DWELLING", "Burglary of a dwelling"),
    (
        "PUBLIC-ORDER-S4",
        "Fear or provocation of violence (Public Order Act s.4)",
    ),
];

/// (question code, question, chance of yes in %, details when yes).
pub(crate) const QUESTIONS: &[(&str, &str, u64, &str)] = &[
    (
        "ILLNESS_INJURY",
        "Do you have any illness or injury?",
        20,
        "Cut to the left hand",
    ),
    (
        "MEDICATION",
        "Are you taking, or should you be taking, any medication?",
        30,
        "Prescribed tablets, not with them",
    ),
    (
        "SELF_HARM",
        "Have you ever tried to harm yourself?",
        15,
        "Self-harm in the past year",
    ),
    (
        "MENTAL_HEALTH",
        "Have you ever been seen by a doctor or psychiatrist for a mental health condition?",
        25,
        "Known to the community mental health team",
    ),
    (
        "DRUGS_ALCOHOL",
        "Have you taken any drugs or alcohol in the last 24 hours?",
        40,
        "Alcohol this evening",
    ),
    (
        "LEARNING_DIFFICULTY",
        "Do you have a learning difficulty or disability?",
        8,
        "Reports dyslexia",
    ),
    (
        "APPROPRIATE_ADULT",
        "Does the detainee need an appropriate adult?",
        5,
        "Officer considers an appropriate adult is needed",
    ),
];

/// PNC warning signals.
const MARKERS: &[(&str, &str)] = &[
    ("VI", "Violent"),
    ("WE", "Weapons"),
    ("FI", "Firearms"),
    ("SU", "Suicidal"),
    ("SE", "Self harm"),
    ("MH", "Mental health"),
    ("DR", "Drugs"),
    ("ES", "Escaper"),
    ("AS", "Ailment"),
    ("CO", "Contagious"),
    ("AG", "Alleges"),
];

const CONDITIONS: &[&str] = &[
    "Appropriate adult required",
    "Healthcare review every four hours",
    "Level 2 observations",
];

const DISPOSALS: &[(&str, &str)] = &[
    ("CHARGED_BAIL", "Charged and bailed to court"),
    ("RUI", "Released under investigation"),
    ("NFA", "No further action"),
    ("CHARGED_REMAND", "Charged and remanded to court"),
    ("CAUTION", "Cautioned"),
];

/// Every Athena record of the population's people, as episodes of drafted events.
pub(crate) fn drafts(seed: u64, people: usize) -> Vec<Draft> {
    let population = Population::generate(seed, people);
    let mess = Mess::default();
    population
        .observations(&mess)
        .filter(|o| o.source() == SourceSystem::Athena)
        .flat_map(|o| Episode::draw(seed, &o).events())
        .collect()
}

struct Episode {
    rng: SplitMix64,
    common: Map<String, Value>,
    arrived: DateTime<Utc>,
}

impl Episode {
    fn draw(seed: u64, o: &Observation) -> Self {
        let r = o.reference();
        let mut rng = SplitMix64::new(
            seed ^ (u64::from(r.person.0) << 8 | u64::from(r.sequence))
                .wrapping_mul(0xA7E4_A5EE_D000_0001),
        );
        let (force, number, force_name, suites) =
            FORCES[usize::try_from(rng.below(FORCES.len() as u64)).unwrap_or(0)];
        let (suite_code, suite_name) = rng.pick(suites);
        let (reason_code, reason) = rng.pick(REASONS);
        let minutes = i64::try_from(rng.below(365 * 24 * 60)).unwrap_or(0);
        let start = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let arrived = start + Duration::minutes(minutes);
        let record = format!(
            "{number:02}{force}/{:06}/{}",
            rng.below(1_000_000),
            arrived.format("%y")
        );
        let common = json!({
            "force": {"code": force, "name": force_name},
            "custodyRecord": {
                "number": record,
                "suite": {"code": suite_code, "name": suite_name},
                "arrivedAt": time(arrived),
                "reasonForArrest": {"code": reason_code, "text": reason},
            },
            "detainee": detainee(o),
        });
        Self {
            rng,
            common: common.as_object().cloned().unwrap_or_default(),
            arrived,
        }
    }

    fn minutes(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::minutes(i64::try_from(lo + self.rng.below(hi - lo + 1)).unwrap_or(0))
    }

    fn event(&mut self, kind: &str, at: DateTime<Utc>, extra: Option<(&str, Value)>) -> Draft {
        let mut body = self.common.clone();
        let event_id = format!("ath-{}", self.rng.uuid());
        body.insert("eventId".into(), json!(event_id));
        body.insert("kind".into(), json!(kind));
        body.insert("occurredAt".into(), json!(time(at)));
        if let Some((name, value)) = extra {
            body.insert(name.into(), value);
        }
        Draft { at, event_id, body }
    }

    fn events(mut self) -> Vec<Draft> {
        let mut at = self.arrived;
        let mut out = vec![self.event("arrival", at, None)];
        for _ in 0..self.rng.below(3) {
            let marker_at = self.arrived + self.minutes(2, 10);
            let marker = self.marker(marker_at);
            out.push(self.event("warning-marker", marker_at, Some(("warningMarker", marker))));
        }
        at += self.minutes(15, 45);
        let assessment = self.assessment(at);
        out.push(self.event("risk-assessment", at, Some(("riskAssessment", assessment))));
        at += self.minutes(5, 30);
        out.push(self.decision("DETAIN", at));
        if self.rng.chance(70) {
            at += self.minutes(60, 360);
            out.push(self.decision("INTERVIEW", at));
        }
        at += self.minutes(30, 180);
        out.push(self.decision("RELEASE", at));
        at += self.minutes(5, 30);
        let (code, text) = self.rng.pick(DISPOSALS);
        let release = json!({"releasedAt": time(at), "disposal": {"code": code, "text": text}});
        out.push(self.event("release", at, Some(("release", release))));
        out
    }

    fn marker(&mut self, at: DateTime<Utc>) -> Value {
        let (code, description) = self.rng.pick(MARKERS);
        let status = if self.rng.chance(90) {
            "ACTIVE"
        } else {
            "INACTIVE"
        };
        json!({"code": code, "description": description, "status": status, "recordedAt": time(at)})
    }

    fn assessment(&mut self, at: DateTime<Utc>) -> Value {
        let answers: Vec<Value> = QUESTIONS
            .iter()
            .map(|(code, question, yes, details)| {
                let roll = self.rng.below(100);
                let (answer, details) = match roll {
                    r if r < 3 => ("REFUSED", None),
                    r if r < 3 + yes => ("Y", Some(*details)),
                    _ => ("N", None),
                };
                json!({"question": code, "text": question, "answer": answer, "details": details})
            })
            .collect();
        json!({"assessedAt": time(at), "answers": answers})
    }

    fn decision(&mut self, decision: &str, at: DateTime<Utc>) -> Draft {
        let roll = self.rng.below(100);
        let (outcome, conditions) = match roll {
            r if r < 5 => ("NOT_FIT", None),
            r if r < 20 => ("FIT_WITH_CONDITIONS", Some(self.rng.pick(CONDITIONS))),
            _ => ("FIT", None),
        };
        let value = json!({"decision": decision, "outcome": outcome, "conditions": conditions,
            "decidedAt": time(at), "decidedBy": "FME"});
        self.event("fit-decision", at, Some(("fitDecision", value)))
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The detainee as this Athena record holds them (the observation's mess included).
fn detainee(o: &Observation) -> Value {
    let names: Vec<Value> = o
        .names()
        .iter()
        .map(|n| {
            let usage = match n.name_use {
                NameUse::Official => "PRIMARY",
                NameUse::Nickname => "KNOWN_AS",
                _ => "ALIAS",
            };
            json!({"type": usage, "forenames": n.given, "surname": n.family})
        })
        .collect();
    let sex = match o.sex() {
        Some(Sex::Male) => "M",
        Some(Sex::Female) => "F",
        None => "U",
    };
    json!({
        "localId": o.local_id(),
        "pncId": o.pnc_id(),
        "croNumber": o.cro_number(),
        "nhsNumber": o.nhs_number(),
        "prisonNumber": o.prison_number(),
        "names": names,
        "dateOfBirth": o.birth_date().format("%Y-%m-%d").to_string(),
        "sex": sex,
        "postcode": o.postcode(),
    })
}
