//! Scoring and deciding, through the public API.

use chrono::NaiveDate;
use waymark_identity::{
    Comparison, Decision, Demographics, Field, MatchConfig, MatchScore, Name, NameFrequencies, Sex,
    StrongMatch, decide, decide_scored, resolve_strong, score, score_with_frequencies,
};

fn name(given: &[&str], family: &str, alias: bool) -> Name {
    Name {
        given: given.iter().map(|g| (*g).to_owned()).collect(),
        family: family.into(),
        alias,
    }
}

fn person(given: &str, family: &str, dob: &str) -> Demographics {
    Demographics {
        names: vec![name(&[given], family, false)],
        birth_date: NaiveDate::parse_from_str(dob, "%Y-%m-%d").ok(),
        sex: Sex::Male,
        postcodes: vec!["LS115QT".into()],
    }
}

fn outcome(s: &MatchScore, field: Field) -> Option<Comparison> {
    s.outcome(field)
}

#[test]
fn date_of_birth_errors_are_recognised_and_weighed_below_exact() {
    let cfg = MatchConfig::default();
    let truth = person("Robert", "Ashworth", "1985-03-12");
    let cases = [
        ("1985-03-12", Comparison::Exact),
        ("1985-12-03", Comparison::DayMonthSwap),
        ("1985-03-21", Comparison::Transposition),
        ("1958-03-12", Comparison::Transposition),
        ("1985-03-13", Comparison::OneDigit),
        ("1975-03-12", Comparison::OneDigit),
        ("1991-07-30", Comparison::Disagree),
    ];
    let exact = score(&truth, &truth, &cfg).total;
    for (dob, want) in cases {
        let s = score(&truth, &person("Robert", "Ashworth", dob), &cfg);
        assert_eq!(outcome(&s, Field::BirthDate), Some(want), "{dob}");
        if want != Comparison::Exact {
            assert!(s.total < exact, "{dob}");
        }
    }
    // Missing on one side: not compared, not listed.
    let mut unknown = truth.clone();
    unknown.birth_date = None;
    assert_eq!(
        outcome(&score(&truth, &unknown, &cfg), Field::BirthDate),
        None
    );
}

#[test]
fn nicknames_typos_and_sound_alikes_count_but_less_than_the_same_name() {
    let cfg = MatchConfig::default();
    let truth = person("Robert", "Thompson", "1985-03-12");
    let exact = score(&truth, &truth, &cfg).total;
    let cases = [
        ("Bob", "Thompson", Field::GivenName, Comparison::Nickname),
        ("Robret", "Thompson", Field::GivenName, Comparison::Typo),
        ("Robert", "Thomson", Field::FamilyName, Comparison::Typo),
        ("Robert", "Tomsonn", Field::FamilyName, Comparison::Phonetic),
        ("R", "Thompson", Field::GivenName, Comparison::Initial),
        ("Gary", "Thompson", Field::GivenName, Comparison::Disagree),
    ];
    for (given, family, field, want) in cases {
        let s = score(&truth, &person(given, family, "1985-03-12"), &cfg);
        assert_eq!(outcome(&s, field), Some(want), "{given} {family}");
        assert!(s.total < exact);
    }
    let nick = score(&truth, &person("Bob", "Thompson", "1985-03-12"), &cfg).total;
    let other = score(&truth, &person("Gary", "Thompson", "1985-03-12"), &cfg).total;
    assert!(nick >= cfg.link && other < cfg.link, "{nick} {other}");
}

#[test]
fn aliases_match_and_are_flagged() {
    let cfg = MatchConfig::default();
    let mut custody = person("John", "Smith", "1990-01-02");
    custody.names.push(name(&["Paul"], "Brennan", true));
    let health = person("Paul", "Brennan", "1990-01-02");
    let s = score(&custody, &health, &cfg);
    assert_eq!(outcome(&s, Field::FamilyName), Some(Comparison::Exact));
    assert!(
        s.fields
            .iter()
            .filter(|f| f.field == Field::FamilyName)
            .all(|f| f.alias)
    );
    assert!(s.total >= cfg.link);
}

#[test]
fn a_breakdown_adds_up_and_never_holds_a_value() {
    let cfg = MatchConfig::default();
    let a = person("Zebedee", "Quixotic", "1987-06-05");
    let b = person("Zebedie", "Quixotic", "1987-05-06");
    let s = score(&a, &b, &cfg);
    let sum: f64 = s.fields.iter().map(|f| f.points).sum();
    assert!((sum - s.total).abs() < 1e-9);
    let text = format!("{} {s:?}", serde_json::to_string(&s).unwrap());
    for secret in ["Zebed", "Quixotic", "1987", "LS11"] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn twins_and_differing_middle_names_are_held_below_the_link_threshold() {
    let cfg = MatchConfig::default();
    let a = person("Daniel", "Ashworth", "1999-04-01");
    let twin = person("Simon", "Ashworth", "1999-04-01");
    let s = score(&a, &twin, &cfg);
    assert_eq!(outcome(&s, Field::Relatives), Some(Comparison::Disagree));
    assert!(s.total < cfg.link, "{}", s.total);

    let mut x = person("John", "Smith", "1980-01-01");
    let mut y = x.clone();
    x.names[0].given.push("Paul".into());
    y.names[0].given.push("Kevin".into());
    y.postcodes = vec!["M11AA".into()];
    let s = score(&x, &y, &cfg);
    assert_eq!(outcome(&s, Field::MiddleName), Some(Comparison::Disagree));
    assert!(s.total < cfg.link);
}

#[test]
fn common_names_count_less_than_rare_ones_once_frequencies_are_known() {
    let cfg = MatchConfig::default();
    let mut freq = NameFrequencies::new();
    for i in 0..2_000 {
        let family = if i % 20 == 0 { "Smith" } else { "Other" };
        freq.add(&person(
            if i % 30 == 0 { "David" } else { "X" },
            family,
            "1980-01-01",
        ));
    }
    freq.add(&person("Zebedee", "Ashworth", "1980-01-01"));
    let smith = person("David", "Smith", "1980-01-01");
    let rare = person("Zebedee", "Ashworth", "1980-01-01");
    let common = score_with_frequencies(&smith, &smith, &cfg, &freq).total;
    let uncommon = score_with_frequencies(&rare, &rare, &cfg, &freq).total;
    assert!(uncommon > common + 4.0, "{uncommon} {common}");
    // Without frequencies both get the configured weights.
    assert_eq!(
        score(&smith, &smith, &cfg).total,
        score(&rare, &rare, &cfg).total
    );
}

fn scored(total: f64) -> MatchScore {
    let mut s = MatchScore::default();
    s.add(Field::BirthDate, Comparison::Exact, total);
    s
}

#[test]
fn two_candidates_above_the_link_threshold_go_to_review() {
    let cfg = MatchConfig::default();
    let high = cfg.link + 1.0;
    let grey = (cfg.link + cfg.review) / 2.0;
    let d = decide_scored(
        vec![("a".into(), scored(high)), ("b".into(), scored(high + 2.0))],
        &cfg,
    );
    let Decision::Review { candidates } = d else {
        panic!("{d:?}")
    };
    let ids: Vec<&str> = candidates.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["b", "a"]);

    let d = decide_scored(
        vec![("a".into(), scored(high)), ("b".into(), scored(grey))],
        &cfg,
    );
    assert!(
        matches!(d, Decision::Link { ref person_id, .. } if person_id == "a"),
        "{d:?}"
    );
    let d = decide_scored(
        vec![("a".into(), scored(grey)), ("b".into(), scored(0.0))],
        &cfg,
    );
    assert!(
        matches!(d, Decision::Review { ref candidates } if candidates.len() == 1),
        "{d:?}"
    );
    assert_eq!(
        decide_scored(vec![("a".into(), scored(0.0))], &cfg),
        Decision::New
    );
    assert_eq!(decide_scored(vec![], &cfg), Decision::New);
    // One person with two sets of demographics is one candidate: its best score counts.
    let d = decide_scored(
        vec![("a".into(), scored(high)), ("a".into(), scored(grey))],
        &cfg,
    );
    assert!(
        matches!(d, Decision::Link { ref score, .. } if score.total == high),
        "{d:?}"
    );
}

#[test]
fn decide_scores_demographics() {
    let cfg = MatchConfig::default();
    let record = person("Robert", "Ashworth", "1985-03-12");
    let twin_a = person("Robert", "Ashworth", "1985-03-12");
    let other = person("Jane", "Okafor", "1960-10-10");
    let d = decide(
        &record,
        &[("p1".into(), twin_a.clone()), ("p2".into(), other.clone())],
        &cfg,
    );
    assert!(matches!(d, Decision::Link { ref person_id, .. } if person_id == "p1"));
    let d = decide(
        &record,
        &[("p1".into(), twin_a.clone()), ("p3".into(), twin_a)],
        &cfg,
    );
    assert!(matches!(d, Decision::Review { ref candidates } if candidates.len() == 2));
    assert_eq!(
        decide(&record, &[("p2".into(), other)], &cfg),
        Decision::New
    );
}

#[test]
fn strong_identifiers_resolve_to_one_person_or_a_conflict() {
    let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(resolve_strong(&[]), StrongMatch::None);
    assert_eq!(
        resolve_strong(&ids(&["a", "a"])),
        StrongMatch::One("a".into())
    );
    assert_eq!(
        resolve_strong(&ids(&["a", "b", "a"])),
        StrongMatch::Conflict(ids(&["a", "b"]))
    );
}
