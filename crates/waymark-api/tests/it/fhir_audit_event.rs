//! `GET /fhir/AuditEvent` for the privacy officer: who looked at a person's record, with the
//! reads and the refusals, filtered by patient, agent and date, paged without a total.

use chrono::Utc;
use waymark_core::Role;

use crate::fhir_world::World;

#[tokio::test]
async fn the_privacy_officer_sees_who_looked_at_a_record() {
    let w = World::new().await;
    let probation = w.token(Role::Probation, false);
    let summary = format!("/fhir/Patient/{}/$summary", w.main);
    assert_eq!(w.get(&summary, Some(&probation)).await.status, 200);
    let everything = format!("/fhir/Patient/{}/$everything", w.main);
    assert_eq!(w.get(&everything, Some(&probation)).await.status, 403);
    let other = format!("/fhir/Patient/{}/$summary", w.other);
    assert_eq!(w.get(&other, Some(&probation)).await.status, 200);

    let officer = w.token(Role::PrivacyOfficer, false);
    let about = w
        .get(
            &format!("/fhir/AuditEvent?patient=Patient/{}", w.main),
            Some(&officer),
        )
        .await;
    assert_eq!(about.status, 200, "{}", about.text);
    assert!(about.json.get("total").is_none());
    let events: Vec<&serde_json::Value> = about.json["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    assert_eq!(
        events.len(),
        2,
        "the read and the refusal, not the other person's"
    );
    assert!(events.iter().all(|e| e["resourceType"] == "AuditEvent"));
    assert_eq!(events[1]["outcome"], "4", "the refusal is a minor failure");

    let today = Utc::now().format("%Y-%m-%d").to_string();
    for (query, expected) in [
        // three reads and the privacy officer's own search above
        (format!("agent=waymark-dev&date={today}"), 4),
        ("agent=someone-else".to_owned(), 0),
        ("date=lt2000-01-01".to_owned(), 0),
    ] {
        let found = w
            .get(&format!("/fhir/AuditEvent?{query}"), Some(&officer))
            .await;
        assert_eq!(found.status, 200, "{query}");
        let n = found.json["entry"].as_array().unwrap().len();
        assert_eq!(n, expected, "{query}");
    }
    let first = w.get("/fhir/AuditEvent?_count=1", Some(&officer)).await;
    assert_eq!(first.json["entry"].as_array().unwrap().len(), 1);
    let next = first.json["link"][1]["url"]
        .as_str()
        .expect("next link")
        .to_owned();
    let second = w.get(&next, Some(&officer)).await;
    assert_ne!(
        second.json["entry"][0]["resource"]["id"],
        first.json["entry"][0]["resource"]["id"]
    );

    let bad = w
        .get("/fhir/AuditEvent?date=yesterday", Some(&officer))
        .await;
    assert_eq!(bad.status, 400);
    let refused = w.get("/fhir/AuditEvent", Some(&probation)).await;
    assert_eq!(refused.status, 403);
}
