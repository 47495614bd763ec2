//! `Population::synthetic_at`: the synthetic population moved to end just before an anchor.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde_json::Value;
use waymark_adapter_nomis::{
    Faults, Population, RECENT_GAP, RECENT_WINDOW, ScriptedNotification, parse_notification,
};

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 14, 30, 5).unwrap()
}

/// Each notification's prison number and event time (UTC), in script order.
fn timeline(population: &Population) -> Vec<(String, DateTime<Utc>)> {
    population
        .notifications()
        .iter()
        .map(|n| {
            let parsed = parse_notification(&n.body).unwrap();
            let at = parsed.event.event_time.clone().unwrap().unwrap();
            let number = match &parsed.event.prison_number {
                Some(number) => number.expose().clone(),
                None => route(
                    population,
                    &format!("/api/bookings/{}", parsed.event.booking_id.unwrap()),
                )["offenderNo"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            };
            (number, at)
        })
        .collect()
}

fn route(population: &Population, path: &str) -> Value {
    serde_json::from_slice(&population.lookup("GET", path, &[]).unwrap().body).unwrap()
}

fn per_person(population: &Population) -> BTreeMap<String, Vec<DateTime<Utc>>> {
    let mut people: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    for (number, at) in timeline(population) {
        people.entry(number).or_default().push(at);
    }
    people
}

fn labels(population: &Population) -> Vec<&str> {
    population
        .notifications()
        .iter()
        .map(|n: &ScriptedNotification| n.label.as_str())
        .collect()
}

#[test]
fn the_same_anchor_gives_the_same_population_another_anchor_other_times() {
    let a = Population::synthetic_at(2026, 12, anchor());
    assert_eq!(a, Population::synthetic_at(2026, 12, anchor()));
    let later = Population::synthetic_at(2026, 12, anchor() + Duration::hours(1));
    assert_ne!(a, later);
    let a_times: Vec<_> = timeline(&a).into_iter().map(|(_, t)| t).collect();
    let later_times: Vec<_> = timeline(&later).into_iter().map(|(_, t)| t).collect();
    let shifted: Vec<_> = a_times.iter().map(|t| *t + Duration::hours(1)).collect();
    assert_eq!(
        later_times, shifted,
        "moving the anchor moves every event with it"
    );
    assert_ne!(a, Population::synthetic_at(2027, 12, anchor()));
}

#[test]
fn events_end_just_before_the_anchor_within_the_window_in_order() {
    for (seed, people) in [(2026, 12), (7, 40), (99, 200)] {
        let population = Population::synthetic_at(seed, people, anchor());
        let times: Vec<_> = timeline(&population).into_iter().map(|(_, t)| t).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "script in time order"
        );
        assert_eq!(*times.last().unwrap(), anchor() - RECENT_GAP, "seed {seed}");
        assert!(
            times.iter().all(|t| *t >= anchor() - RECENT_WINDOW),
            "seed {seed}: first event {} is older than the window",
            times[0]
        );
        // Spread over the window, not bunched at the anchor.
        assert!(
            times[0] < anchor() - RECENT_WINDOW / 2,
            "seed {seed}: {}",
            times[0]
        );
        let people_times = per_person(&population);
        assert_eq!(people_times.len(), people);
        for (number, times) in people_times {
            assert!(times.len() >= 2, "{number}: reception and release at least");
            assert!(
                times.windows(2).all(|w| w[0] <= w[1]),
                "{number}: {times:?}"
            );
        }
    }
}

#[test]
fn the_same_people_and_events_as_the_fixed_date_population() {
    for (seed, people) in [(2026, 12), (11, 30)] {
        let fixed = Population::synthetic(seed, people);
        let recent = Population::synthetic_at(seed, people, anchor());
        assert_eq!(recent.expected(), fixed.expected());
        assert_eq!(labels(&recent), labels(&fixed));
        let paths = |p: &Population| p.routes().map(|r| r.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&recent), paths(&fixed));
        let numbers = |p: &Population| timeline(p).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(
            numbers(&recent),
            numbers(&fixed),
            "same people, same event order"
        );
        assert!(timeline(&fixed).iter().all(|(_, t)| t.year() <= 2025));

        let faulty = recent.with_faults(Faults { bad_events: true });
        let fixed_faulty = fixed.with_faults(Faults { bad_events: true });
        assert_eq!(faulty.expected(), fixed_faulty.expected());
        assert_eq!(faulty.expected().bad, 4);
    }
}

#[test]
fn prison_api_dates_follow_the_moved_events() {
    let population = Population::synthetic_at(7, 40, anchor());
    let day = |t: &DateTime<Utc>| t.date_naive().to_string();
    for (number, times) in per_person(&population) {
        let status = route(&population, &format!("/api/prisoners/{number}/full-status"));
        assert_eq!(
            status["admissionDate"].as_str(),
            Some(day(&times[0]).as_str())
        );
        assert_eq!(status["bookingBeginDate"], status["admissionDate"]);
        let release = day(times.last().unwrap());
        assert_eq!(
            status["releaseDate"].as_str(),
            Some(release.as_str()),
            "{number}"
        );
        let alerts = route(
            &population,
            &format!("/api/bookings/{}/alerts", status["bookingId"]),
        );
        for alert in alerts.as_array().unwrap() {
            assert_eq!(alert["dateCreated"], status["admissionDate"]);
        }
        let admitted = NaiveDate::parse_from_str(&day(&times[0]), "%Y-%m-%d").unwrap();
        assert!(admitted >= (anchor() - RECENT_WINDOW).date_naive());
    }
}

#[test]
fn a_short_population_is_only_shifted() {
    // A prisoner whose journey fits in the window: the gaps between events stay as drawn.
    let gaps =
        |t: &[(String, DateTime<Utc>)]| t.windows(2).map(|w| w[1].1 - w[0].1).collect::<Vec<_>>();
    let (seed, fixed) = (0..500)
        .map(|seed| (seed, timeline(&Population::synthetic(seed, 1))))
        .find(|(_, t)| t.len() >= 3 && t.last().unwrap().1 - t[0].1 < RECENT_WINDOW)
        .unwrap();
    let recent = timeline(&Population::synthetic_at(seed, 1, anchor()));
    assert_eq!(gaps(&recent), gaps(&fixed), "seed {seed}");
    assert_eq!(recent.last().unwrap().1, anchor() - RECENT_GAP);
    // And a long one is compressed to fit.
    let (seed, fixed) = (0..500)
        .map(|seed| (seed, timeline(&Population::synthetic(seed, 1))))
        .find(|(_, t)| t.last().unwrap().1 - t[0].1 > RECENT_WINDOW * 2)
        .unwrap();
    let recent = timeline(&Population::synthetic_at(seed, 1, anchor()));
    assert_eq!(recent[0].1, anchor() - RECENT_WINDOW, "seed {seed}");
    assert!(gaps(&recent).iter().zip(gaps(&fixed)).all(|(r, f)| *r <= f));
}

#[test]
fn no_people_no_events() {
    let population = Population::synthetic_at(5, 0, anchor());
    assert_eq!(population.expected().sent, 0);
    assert_eq!(population, Population::synthetic(5, 0));
}
