//! A deterministic synthetic prison population: prisoners with plausible NOMIS records and
//! alerts, each with a journey of offender events (reception from court, maybe a transfer,
//! maybe a status change or a record update, then release), plus optional faults.
//!
//! Same seed, same population, byte for byte: randomness is a SplitMix64 seeded by the caller.
//!
//! [`Population::synthetic`] places its events on fixed dates (2024 into 2025);
//! [`Population::synthetic_at`] draws exactly the same people and journeys, then moves and
//! compresses their times so that they end just before a given instant, for live demos.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::{
    parse::utc_to_london,
    population::{Expect, Population, Route, ScriptedNotification},
    rng::SplitMix64,
    sns::{ordered, sns_body},
};

/// Flaws added to a population on purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Adds exactly four bad notifications: one malformed JSON body, one event about a prisoner
    /// the Prison API does not know (404), one about a prisoner whose `full-status` always
    /// answers 403 (a permanent refusal), and one valid but oversized (~3 MB) notification.
    pub bad_events: bool,
}

const MALE: &[&str] = &[
    "JOHN", "DAVID", "MICHAEL", "JAMES", "DANIEL", "LIAM", "CONNOR", "RYAN",
];
const FEMALE: &[&str] = &[
    "SARAH", "EMMA", "LAURA", "CHLOE", "JADE", "AMY", "KELLY", "LEANNE",
];
/// Moorland, Leeds, Birmingham, Wandsworth, Pentonville.
const PRISONS: &[&str] = &["MDI", "LEI", "BMI", "WWI", "PVI"];
/// `SHFCRT` appears in the real samples; the others are plausible court codes of that shape.
const COURTS: &[&str] = &["SHFCRT", "LEEDCC", "BIRMCC", "WLDNMC"];
const LEGAL: &[&str] = &["SENTENCED", "REMAND", "CONVICTED_UNSENTENCED", "RECALL"];
/// (type, type description, code, code description), as NOMIS reference data has them.
const ALERTS: &[(&str, &str, &str, &str)] = &[
    ("H", "Self Harm", "HA", "ACCT Open (HMPS)"),
    ("H", "Self Harm", "HC", "Self Harm - Custody"),
    ("H", "Self Harm", "HS", "Self Harm - Community"),
    ("M", "Medical", "HID", "Hidden disability"),
    ("P", "MAPPA Case", "P0", "MAPPA Nominal"),
    ("R", "Risk", "ROH", "OASys Serious Harm-High"),
    ("R", "Risk", "RDV", "Domestic Violence Perpetrator"),
    ("X", "Security", "XEL", "Escape List"),
    ("X", "Security", "XSA", "Staff Assaulter"),
];

/// How far before its anchor the earliest event of [`Population::synthetic_at`] may lie.
pub const RECENT_WINDOW: Duration = Duration::days(30);

/// How long before its anchor the last event of [`Population::synthetic_at`] happens.
pub const RECENT_GAP: Duration = Duration::seconds(60);

/// Where generated event times land: the fixed-date times as drawn, or moved to an anchor.
#[derive(Clone, Copy, Debug)]
enum Clock {
    /// As drawn: reception dates through 2024, releases into 2025.
    Fixed,
    /// `first..=last` (as drawn) mapped linearly, order kept, onto `end - span..=end`.
    Anchored {
        first: DateTime<Utc>,
        last: DateTime<Utc>,
        end: DateTime<Utc>,
        span: Duration,
    },
}

impl Clock {
    /// Maps the drawn times `first..=last` to end at `end`, within [`RECENT_WINDOW`]: shifted
    /// only when they already fit, otherwise also compressed.
    fn anchored(first: DateTime<Utc>, last: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        let fits = RECENT_WINDOW - RECENT_GAP;
        Self::Anchored {
            first,
            last,
            end: end.checked_sub_signed(RECENT_GAP).unwrap_or(end),
            span: (last - first).min(fits),
        }
    }

    fn place(self, at: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Fixed => at,
            Self::Anchored {
                first,
                last,
                end,
                span,
            } => {
                let micros = |d: Duration| i128::from(d.num_microseconds().unwrap_or(i64::MAX));
                let drawn = micros(last - first);
                let before_last = micros(last - at);
                let scaled = if drawn == 0 {
                    0
                } else {
                    before_last * micros(span) / drawn
                };
                let back = Duration::microseconds(i64::try_from(scaled).unwrap_or(0));
                end.checked_sub_signed(back).unwrap_or(end)
            }
        }
    }
}

/// One synthetic prisoner.
struct Person {
    number: String,
    booking: u64,
    first: String,
    middle: String,
    last: String,
    dob: NaiveDate,
    male: bool,
}

/// One offender event, before it is wrapped in a notification.
struct Event {
    at: DateTime<Utc>,
    fields: Vec<(&'static str, Value)>,
}

impl Population {
    /// `people` synthetic prisoners and their events, sorted by event time. Deterministic.
    ///
    /// Receptions fall through 2024 and releases up to months later, on fixed dates.
    pub fn synthetic(seed: u64, people: usize) -> Self {
        generate(seed, people, Clock::Fixed).0
    }

    /// The same prisoners, journeys and notifications as [`Population::synthetic`] for `seed`
    /// and `people`, with every time moved so that the last event happens [`RECENT_GAP`]
    /// before `end` and the first no earlier than [`RECENT_WINDOW`] before it.
    ///
    /// Times keep their order; when the drawn journeys span more than the window (they do
    /// from a handful of people up), the gaps between them are compressed in proportion, so
    /// a stay of months becomes one of days. Admission, release and alert dates in the Prison
    /// API answers follow the moved times. Deterministic for (`seed`, `people`, `end`).
    pub fn synthetic_at(seed: u64, people: usize, end: DateTime<Utc>) -> Self {
        let Some((first, last)) = generate(seed, people, Clock::Fixed).1 else {
            return Self::synthetic(seed, people);
        };
        generate(seed, people, Clock::anchored(first, last, end)).0
    }
}

/// The first and last event times of a population as drawn, before any [`Clock`].
type DrawnSpan = (DateTime<Utc>, DateTime<Utc>);

/// The population, and the first and last event times as drawn (before `clock`).
fn generate(seed: u64, people: usize, clock: Clock) -> (Population, Option<DrawnSpan>) {
    let mut rng = SplitMix64::new(seed);
    let mut population = Population::new();
    let mut events = Vec::new();
    // The same people as every other source's mock: `waymark-synth` from the same seed, each as
    // NOMIS records them (its observation, with the mess: a misspelt name, an alias as the name).
    let shared = waymark_synth::Population::generate(seed, people);
    let mess = waymark_synth::Mess::default();
    for (index, one) in shared.people().iter().enumerate() {
        let seen = shared
            .observations_of(one.id(), &mess)
            .into_iter()
            .find(|o| o.source() == waymark_core::SourceSystem::Nomis);
        let person = person(&mut rng, index, one, seen.as_ref());
        events.extend(journey(&mut rng, &mut population, &person, clock));
    }
    // Sorted by the drawn time: `clock` keeps order, and ties it may create stay as drawn.
    events.sort_by_key(|event| event.0);
    let span = events.first().zip(events.last()).map(|(f, l)| (f.0, l.0));
    for (_, label, body) in events {
        let expect = expect_of(&label);
        population.add_notification(ScriptedNotification {
            label,
            body,
            expect,
        });
    }
    (population, span)
}

/// A status or details change re-reads the one snapshot the mock Prison API serves per
/// prisoner, which the reception brought already: a repeat, not a change.
fn expect_of(label: &str) -> Expect {
    match label {
        "IMPRISONMENT_STATUS-CHANGED" | "OFFENDER-UPDATED" => Expect::Repeat,
        _ => Expect::Good,
    }
}

/// The prisoner NOMIS holds for `shared`: its NOMIS record (`seen`) where the synthetic
/// population gives one, the person as they are otherwise.
fn person(
    rng: &mut SplitMix64,
    index: usize,
    shared: &waymark_synth::Person,
    seen: Option<&waymark_synth::Observation>,
) -> Person {
    let name = seen.and_then(|o| o.names().first());
    let given: Vec<String> = name.map_or_else(
        || {
            shared
                .given_names()
                .iter()
                .map(|g| (*g).to_owned())
                .collect()
        },
        |n| n.given.clone(),
    );
    let male = seen
        .and_then(waymark_synth::Observation::sex)
        .unwrap_or(shared.sex())
        == waymark_synth::Sex::Male;
    let middle = given
        .get(1)
        .cloned()
        .unwrap_or_else(|| rng.pick(if male { MALE } else { FEMALE }).to_owned());
    Person {
        // NOMIS is where prison numbers come from: always the person's own, valid one.
        number: prison_number(index, shared),
        booking: 2_000_000 + index as u64,
        first: given
            .first()
            .cloned()
            .unwrap_or_else(|| "Unknown".to_owned()),
        middle,
        last: name.map_or_else(|| shared.family_name().into_owned(), |n| n.family.clone()),
        dob: seen.map_or_else(
            || shared.birth_date(),
            waymark_synth::Observation::birth_date,
        ),
        male,
    }
}

/// The person's prison number; one shaped like the fault prisoners' (`Y…`, `Z…`) is moved to
/// another letter so it never clashes with them.
fn prison_number(index: usize, shared: &waymark_synth::Person) -> String {
    let number = shared.prison_number();
    if number.starts_with(['Y', 'Z']) {
        let prefix = char::from(b'A' + u8::try_from(index % 24).unwrap_or(0));
        return format!("{prefix}{}", number.get(1..).unwrap_or_default());
    }
    number
}

/// Adds the person's routes and returns their notifications as (drawn time, label, body); the
/// times in the notifications and routes are placed by `clock`.
fn journey(
    rng: &mut SplitMix64,
    population: &mut Population,
    p: &Person,
    clock: Clock,
) -> Vec<(DateTime<Utc>, String, Vec<u8>)> {
    let base = DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default(); // 2024-01-01
    let mut at = base + random_span(rng, 365 * 86_400);
    let first_prison = rng.pick(PRISONS);
    let mut drawn = vec![at];
    let mut events = vec![movement(
        clock.place(at),
        p,
        1,
        rng.pick(COURTS),
        first_prison,
        "IN",
        "ADM",
    )];
    let admitted = at;
    let mut prison = first_prison;
    if rng.chance(40) {
        at += Duration::days(1) + random_span(rng, 60 * 86_400);
        let to = rng.pick(PRISONS);
        if to != prison {
            drawn.push(at);
            events.push(movement(clock.place(at), p, 2, prison, to, "IN", "TRN"));
            prison = to;
        }
    }
    if rng.chance(30) {
        at += random_span(rng, 30 * 86_400);
        drawn.push(at);
        events.push(status_changed(clock.place(at), p));
    }
    if rng.chance(50) {
        at += random_span(rng, 30 * 86_400);
        drawn.push(at);
        events.push(offender_updated(clock.place(at), p));
    }
    at += Duration::days(1) + random_span(rng, 120 * 86_400);
    let seq = events.len() + 1;
    drawn.push(at);
    events.push(movement(
        clock.place(at),
        p,
        seq,
        prison,
        "OUT",
        "OUT",
        "REL",
    ));
    add_person_routes(rng, population, p, clock.place(admitted), clock.place(at));
    drawn
        .into_iter()
        .zip(events)
        .map(|(drawn, e)| (drawn, label_of(&e), notification(rng, &e)))
        .collect()
}

fn random_span(rng: &mut SplitMix64, seconds: u64) -> Duration {
    let secs = i64::try_from(rng.below(seconds)).unwrap_or(0);
    Duration::seconds(secs)
        + Duration::microseconds(i64::try_from(rng.below(1_000_000)).unwrap_or(0))
}

fn label_of(event: &Event) -> String {
    event
        .fields
        .first()
        .and_then(|(_, v)| v.as_str())
        .unwrap_or("event")
        .to_owned()
}

fn event_time(at: DateTime<Utc>) -> Value {
    Value::String(
        utc_to_london(at)
            .format("%Y-%m-%dT%H:%M:%S%.6f")
            .to_string(),
    )
}

fn movement(
    at: DateTime<Utc>,
    p: &Person,
    seq: usize,
    from: &str,
    to: &str,
    dir: &str,
    kind: &str,
) -> Event {
    let fields = vec![
        ("eventType", json!("EXTERNAL_MOVEMENT_RECORD-INSERTED")),
        ("eventDatetime", event_time(at)),
        ("bookingId", json!(p.booking)),
        ("movementSeq", json!(seq)),
        ("offenderIdDisplay", json!(p.number)),
        ("fromAgencyLocationId", json!(from)),
        ("toAgencyLocationId", json!(to)),
        ("directionCode", json!(dir)),
        ("movementType", json!(kind)),
        ("nomisEventType", json!("M1_RESULT")),
    ];
    Event { at, fields }
}

fn status_changed(at: DateTime<Utc>, p: &Person) -> Event {
    let fields = vec![
        ("eventType", json!("IMPRISONMENT_STATUS-CHANGED")),
        ("eventDatetime", event_time(at)),
        ("bookingId", json!(p.booking)),
        ("nomisEventType", json!("OFF_IMP_STAT_OASYS")),
    ];
    Event { at, fields }
}

fn offender_updated(at: DateTime<Utc>, p: &Person) -> Event {
    let fields = vec![
        ("eventType", json!("OFFENDER-UPDATED")),
        ("eventDatetime", event_time(at)),
        ("offenderIdDisplay", json!(p.number)),
        ("nomisEventType", json!("S1_RESULT")),
    ];
    Event { at, fields }
}

/// The SNS notification carrying an event, shaped like a real HTTP(S) delivery.
fn notification(rng: &mut SplitMix64, event: &Event) -> Vec<u8> {
    sns_body(
        rng,
        event.at,
        &label_of(event),
        &ordered(&event.fields),
        None,
    )
}

fn add_person_routes(
    rng: &mut SplitMix64,
    population: &mut Population,
    p: &Person,
    admitted: DateTime<Utc>,
    released: DateTime<Utc>,
) {
    let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let status = json!({
        "nomsId": p.number, "bookingId": p.booking, "establishmentCode": "OUT",
        "givenName1": p.first, "givenName2": p.middle, "lastName": p.last,
        "dateOfBirth": p.dob.to_string(), "gender": if p.male { "Male" } else { "Female" },
        "englishSpeaking": rng.chance(90), "bookingBeginDate": day(admitted),
        "admissionDate": day(admitted), "releaseDate": day(released),
        "categoryCode": rng.pick(&["B", "C", "D"]), "communityStatus": "INACTIVE OUT",
        "legalStatus": rng.pick(LEGAL),
    });
    population.add_route(Route::json(
        format!("/api/prisoners/{}/full-status", p.number),
        200,
        &status,
    ));
    let booking = json!({
        "bookingId": p.booking, "bookingNo": format!("{:05}{}", p.booking % 100_000, rng.letter()),
        "offenderNo": p.number, "firstName": p.first, "lastName": p.last, "agencyId": "OUT",
        "activeFlag": false, "dateOfBirth": p.dob.to_string(),
    });
    population.add_route(Route::json(
        format!("/api/bookings/{}", p.booking),
        200,
        &booking,
    ));
    population.add_route(Route::json(
        format!("/api/bookings/offenderNo/{}", p.number),
        200,
        &booking,
    ));
    let alerts = alerts(rng, p, admitted);
    population.add_route(Route::json(
        format!("/api/bookings/{}/alerts", p.booking),
        200,
        &alerts,
    ));
}

fn alerts(rng: &mut SplitMix64, p: &Person, admitted: DateTime<Utc>) -> Value {
    let count = rng.below(4);
    let alerts: Vec<Value> = (0..count)
        .map(|n| {
            let (kind, kind_text, code, code_text) = rng.pick(ALERTS);
            let active = rng.chance(70);
            json!({
                "alertId": n + 1, "bookingId": p.booking, "offenderNo": p.number,
                "alertType": kind, "alertTypeDescription": kind_text,
                "alertCode": code, "alertCodeDescription": code_text,
                "comment": "Synthetic alert.",
                "dateCreated": admitted.format("%Y-%m-%d").to_string(),
                "expired": !active, "active": active,
            })
        })
        .collect();
    Value::Array(alerts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{client::PrisonNumber, parse::parse_notification};

    #[test]
    fn same_seed_same_population_other_seed_other_population() {
        let a = Population::synthetic(42, 25);
        assert_eq!(a, Population::synthetic(42, 25));
        assert_ne!(a, Population::synthetic(43, 25));
        assert!(
            a.expected().sent >= 50,
            "two to five events each: {:?}",
            a.expected()
        );
        assert_eq!(a.expected().bad, 0);
    }

    #[test]
    fn every_event_parses_and_is_answerable_in_time_order() {
        let population = Population::synthetic(7, 40);
        let mut last = None;
        for n in population.notifications() {
            let parsed = parse_notification(&n.body).unwrap();
            let at = parsed.event.event_time.clone().unwrap().unwrap();
            assert!(last.is_none_or(|last| last <= at), "{}", n.label);
            last = Some(at);
            let booking = parsed.event.booking_id;
            let number = match &parsed.event.prison_number {
                Some(number) => number.expose().clone(),
                None => booking_owner(&population, booking.unwrap()),
            };
            PrisonNumber::parse(&number).unwrap();
            let status =
                population.lookup("GET", &format!("/api/prisoners/{number}/full-status"), &[]);
            let record: Value = serde_json::from_slice(&status.unwrap().body).unwrap();
            let booking = booking.or(record["bookingId"].as_u64()).unwrap();
            let alerts = population.lookup("GET", &format!("/api/bookings/{booking}/alerts"), &[]);
            assert!(
                serde_json::from_slice::<Value>(&alerts.unwrap().body)
                    .unwrap()
                    .is_array()
            );
        }
    }

    fn booking_owner(population: &Population, booking: u64) -> String {
        let route = population
            .lookup("GET", &format!("/api/bookings/{booking}"), &[])
            .unwrap();
        let record: Value = serde_json::from_slice(&route.body).unwrap();
        record["offenderNo"].as_str().unwrap().to_owned()
    }

    #[test]
    fn journeys_start_with_reception_and_end_with_release() {
        let population = Population::synthetic(11, 30);
        let movements: Vec<Value> = population
            .notifications()
            .iter()
            .map(|n| parse_notification(&n.body).unwrap().message.into_inner())
            .map(|m| serde_json::from_str(&m).unwrap())
            .filter(|m: &Value| m["eventType"] == "EXTERNAL_MOVEMENT_RECORD-INSERTED")
            .collect();
        let kinds = |kind: &str| {
            movements
                .iter()
                .filter(|m| m["movementType"] == kind)
                .count()
        };
        assert_eq!(kinds("ADM"), 30);
        assert_eq!(kinds("REL"), 30);
        for m in movements.iter().filter(|m| m["movementType"] == "REL") {
            assert_eq!(
                (
                    m["directionCode"].as_str(),
                    m["toAgencyLocationId"].as_str()
                ),
                (Some("OUT"), Some("OUT"))
            );
        }
    }
}
