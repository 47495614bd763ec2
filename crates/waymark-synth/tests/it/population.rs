//! The population and its observations: deterministic, valid where not broken on purpose,
//! and messy at the configured rates.

use std::collections::HashSet;

use chrono::Datelike;
use waymark_core::{CroNumber, NhsNumber, PncId, PrisonNumber, SourceSystem};
use waymark_synth::{Mess, MessKind, NameUse, Observation, Population, Tie};

fn all(pop: &Population, mess: &Mess) -> Vec<Observation> {
    pop.observations(mess).collect()
}

#[test]
fn same_seed_same_output_and_prefix_stable() {
    let mess = Mess::default();
    let a = Population::generate(42, 3_000);
    let b = Population::generate(42, 3_000);
    assert_eq!(a.people(), b.people());
    let (oa, ob) = (all(&a, &mess), all(&b, &mess));
    assert_eq!(oa, ob);
    let ja: Vec<_> = oa.iter().map(Observation::to_fhir).collect();
    let jb: Vec<_> = ob.iter().map(Observation::to_fhir).collect();
    assert_eq!(ja, jb);
    assert_eq!(a.arrival_order(&mess), b.arrival_order(&mess));

    let small = Population::generate(42, 1_000);
    assert_eq!(small.people(), &a.people()[..1_000]);
    let other = Population::generate(43, 3_000);
    assert_ne!(other.people(), a.people());
}

#[test]
fn arrival_order_covers_every_observation_once_in_each_persons_order() {
    let mess = Mess::default();
    let pop = Population::generate(5, 2_000);
    let order = pop.arrival_order(&mess);
    let expected = all(&pop, &mess).len();
    assert_eq!(order.len(), expected);
    assert_eq!(order.iter().collect::<HashSet<_>>().len(), expected);
    let mut last = std::collections::HashMap::new();
    for r in &order {
        let prev = last.insert(r.person, r.sequence);
        assert_eq!(prev.map_or(0, |p| p + 1), r.sequence);
        assert_eq!(pop.observation(*r, &mess).unwrap().reference(), *r);
    }
    // Interleaved: consecutive arrivals are rarely the same person.
    let same = order
        .windows(2)
        .filter(|w| w[0].person == w[1].person)
        .count();
    assert!(same < order.len() / 50, "{same}");
}

fn valid(kind: &str, text: &str) -> bool {
    match kind {
        "nhs" => NhsNumber::parse(text).is_ok(),
        "pnc" => PncId::parse(text).is_ok(),
        "cro" => CroNumber::parse(text).is_ok(),
        _ => PrisonNumber::parse(text).is_ok(),
    }
}

#[test]
fn identifiers_are_valid_except_where_broken_on_purpose() {
    let pop = Population::generate(7, 20_000);
    let mut broken = 0;
    for o in pop.observations(&Mess::default()) {
        let checks = [
            ("nhs", o.nhs_number(), MessKind::InvalidNhsNumber),
            ("pnc", o.pnc_id(), MessKind::InvalidPncId),
            ("cro", o.cro_number(), MessKind::InvalidCroNumber),
            ("prison", o.prison_number(), MessKind::InvalidPrisonNumber),
        ];
        for (kind, value, mess) in checks {
            if let Some(v) = value {
                assert_eq!(valid(kind, v), !o.has(mess), "{kind} {o:?}");
                broken += usize::from(o.has(mess));
            }
        }
    }
    assert!(broken > 100, "{broken}");
    // Ground truth: every person's identifiers are valid and nobody shares one.
    let mut seen = HashSet::new();
    for p in pop.people() {
        let ids = [
            p.nhs_number(),
            Some(p.pnc_id()),
            p.cro_number(),
            Some(p.prison_number()),
        ];
        for id in ids.into_iter().flatten() {
            assert!(seen.insert(id));
        }
        assert!(NhsNumber::parse(&p.nhs_number().unwrap_or_else(|| "9434765919".into())).is_ok());
    }
}

/// Observed rate of `kind` among the observations `eligible` accepts.
fn rate(obs: &[Observation], kind: MessKind, eligible: impl Fn(&Observation) -> bool) -> f64 {
    let pool: Vec<_> = obs.iter().filter(|o| eligible(o)).collect();
    let hits = pool.iter().filter(|o| o.has(kind)).count();
    hits as f64 / pool.len().max(1) as f64
}

#[test]
fn mess_happens_at_about_the_configured_rates() {
    let mess = Mess::default();
    let pop = Population::generate(11, 40_000);
    let obs = all(&pop, &mess);
    let any = |_: &Observation| true;
    let close = |got: f64, want: f64| (got - want).abs() <= want * 0.2 + 0.001;
    for (kind, want) in [
        (MessKind::GivenTypo, mess.given_typo),
        (MessKind::FamilyTypo, mess.family_typo),
        (MessKind::FamilyPhonetic, mess.family_phonetic),
        (MessKind::SurnameChange, mess.surname_change),
        (MessKind::DobDigit, mess.dob_digit),
        (MessKind::PostcodeChanged, mess.postcode_changed),
        (MessKind::PostcodeMissing, mess.postcode_missing),
        (MessKind::SexUnknown, mess.sex_unknown),
    ] {
        let got = rate(&obs, kind, any);
        assert!(close(got, want), "{kind:?}: {got} vs {want}");
    }
    // Swaps happen only where they give a valid, different date.
    let swappable = |o: &Observation| {
        let d = pop.person(o.person()).unwrap().birth_date();
        d.day() <= 12 && d.day() != d.month()
    };
    let got = rate(&obs, MessKind::DobDayMonthSwap, swappable);
    assert!(close(got, mess.dob_day_month_swap), "swap {got}");
    let with_nhs = |o: &Observation| o.nhs_number().is_some();
    let got = rate(&obs, MessKind::InvalidNhsNumber, with_nhs);
    assert!(close(got, mess.invalid_identifier), "invalid nhs {got}");
    // Police custody rarely has the NHS number; the SCR always does (when there is one).
    let nhs_share = |source| {
        let of: Vec<_> = obs.iter().filter(|o| o.source() == source).collect();
        of.iter().filter(|o| o.nhs_number().is_some()).count() as f64 / of.len() as f64
    };
    assert!(nhs_share(SourceSystem::Athena) < 0.08);
    assert!(nhs_share(SourceSystem::Scr) > 0.95);
    assert_eq!(
        obs.iter()
            .filter(|o| o.source() == SourceSystem::Systmone && o.pnc_id().is_some())
            .count(),
        0
    );
}

#[test]
fn clean_records_are_the_person() {
    let mess = Mess::clean();
    let pop = Population::generate(3, 2_000);
    for o in pop.observations(&mess) {
        assert!(o.mess().is_empty(), "{o:?}");
        let p = pop.person(o.person()).unwrap();
        let official = &o.names()[0];
        assert_eq!(official.name_use, NameUse::Official);
        assert!(official.family.eq_ignore_ascii_case(&p.family_name()));
        assert!(official.given[0].eq_ignore_ascii_case(p.given_names()[0]));
        assert_eq!(o.birth_date(), p.birth_date());
        assert_eq!(o.sex(), Some(p.sex()));
        assert_eq!(o.postcode(), Some(p.postcode().as_str()));
    }
}

#[test]
fn hard_cases_exist_and_look_hard() {
    let pop = Population::generate(13, 50_000);
    let mut twins = 0;
    let mut namesakes = 0;
    for p in pop.people() {
        let Some(tie) = p.tie() else { continue };
        let other = pop.person(tie.other()).unwrap();
        assert_eq!(p.family_name(), other.family_name());
        match tie {
            Tie::Twin(_) => {
                twins += 1;
                assert_eq!(p.birth_date(), other.birth_date());
                assert!(p.sex() != other.sex() || p.given_names()[0] != other.given_names()[0]);
            }
            Tie::Namesake(_) => {
                namesakes += 1;
                assert_eq!(p.birth_date(), other.birth_date());
                assert_eq!(p.given_names()[0], other.given_names()[0]);
                assert_ne!(p.nhs_number(), other.nhs_number());
                if other.tie().is_none() {
                    let common = [
                        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans",
                        "Wilson", "Thomas", "Johnson",
                    ];
                    assert!(common.contains(&p.family_name().as_ref()));
                }
            }
            Tie::SameNameGeneration(_) => {
                assert_eq!(p.given_names()[0], other.given_names()[0]);
                assert!((p.birth_date().year() - other.birth_date().year()).abs() >= 17);
            }
            _ => {}
        }
    }
    assert!((100..200).contains(&twins), "{twins}");
    assert!((12..45).contains(&namesakes), "{namesakes}");
}

#[test]
fn renders_fhir_patients_with_the_hub_identifier_systems() {
    let pop = Population::generate(21, 2_000);
    let mut systems = HashSet::new();
    let mut uses = HashSet::new();
    for o in pop.observations(&Mess::default()) {
        let p = o.to_fhir();
        assert_eq!(p["resourceType"], "Patient");
        assert_eq!(p["birthDate"].as_str().unwrap().len(), 10);
        for id in p["identifier"].as_array().unwrap() {
            systems.insert(id["system"].as_str().unwrap().to_owned());
        }
        for n in p["name"].as_array().unwrap() {
            uses.insert(n["use"].as_str().unwrap().to_owned());
        }
    }
    for s in [
        "https://fhir.nhs.uk/Id/nhs-number",
        "https://fhir.waymark.org.uk/Id/pnc-id",
        "https://fhir.waymark.org.uk/Id/cro-number",
        "https://fhir.waymark.org.uk/Id/nomis-prison-number",
        "https://fhir.waymark.org.uk/Id/nomis-booking-id",
        "https://fhir.waymark.org.uk/Id/athena-local-id",
        "https://fhir.waymark.org.uk/Id/scr-local-id",
    ] {
        assert!(systems.contains(s), "{s}");
    }
    for u in ["official", "old", "nickname"] {
        assert!(uses.contains(u), "{u}");
    }
}

#[test]
fn debug_never_prints_recorded_values() {
    let pop = Population::generate(1, 50);
    for o in pop.observations(&Mess::default()) {
        let text = format!("{o:?} {:?}", pop.person(o.person()).unwrap());
        assert!(!text.contains(&o.names()[0].family), "{text}");
        assert!(!text.contains(&o.birth_date().to_string()));
    }
}
