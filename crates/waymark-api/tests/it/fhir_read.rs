//! Patient search, `$summary` and `$everything` without a socket: role-scoped answers through
//! the policy, consent read at the moment of the read, paging that leaks no counts, and an
//! audit row per read naming the classes released and withheld.

use serde_json::Value;
use waymark_core::Role;
use waymark_store::{AuditLog, Store, verify_log};

use crate::fhir_world::{
    MAIN_PRISON_NUMBER, OTHER_PRISON_NUMBER, World, consent, resource_classes, section_classes,
};

const PRISON: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";

fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_by_identifier_name_and_birthdate_finds_the_person_and_only_them() {
    let w = World::new().await;
    let token = w.token(Role::CustodyOfficer, false);
    let by_id = w
        .get(
            &format!("/fhir/Patient?identifier={PRISON}|{MAIN_PRISON_NUMBER}"),
            Some(&token),
        )
        .await;
    assert_eq!(by_id.status, 200, "{}", by_id.text);
    assert_eq!(by_id.json["type"], "searchset");
    assert_eq!(ids(&by_id.json), std::slice::from_ref(&w.main));
    assert!(by_id.json.get("total").is_none(), "no total");
    let patient = &by_id.json["entry"][0]["resource"];
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["birthDate"], "1991-07-14");

    for query in [
        "name=Alex%20Testperson&birthdate=1991-07-14",
        "name=Testpersen&birthdate=1991-07-14",
        "name=Al%20Testperson&birthdate=1991-07-14",
        "birthdate=1991-07-14",
        "identifier=https://fhir.waymark.org.uk/Id/nomis-prison-number|G1234AB&birthdate=1991-07-14",
    ] {
        let found = w.get(&format!("/fhir/Patient?{query}"), Some(&token)).await;
        assert_eq!(found.status, 200, "{query}: {}", found.text);
        assert_eq!(ids(&found.json), std::slice::from_ref(&w.main), "{query}");
    }
    for query in [
        "name=Brian%20Cole&birthdate=1991-07-14",
        "name=Alex%20Testperson&birthdate=1991-07-15",
        "identifier=https://fhir.waymark.org.uk/Id/nomis-prison-number|G1234AB&birthdate=1980-01-02",
        "identifier=https://fhir.waymark.org.uk/Id/nomis-prison-number|Z9999ZZ",
    ] {
        let found = w.get(&format!("/fhir/Patient?{query}"), Some(&token)).await;
        assert_eq!(found.status, 200, "{query}");
        assert!(ids(&found.json).is_empty(), "{query}");
    }
    let other = w
        .get(
            &format!("/fhir/Patient?identifier={PRISON}|{OTHER_PRISON_NUMBER}"),
            Some(&token),
        )
        .await;
    assert_eq!(ids(&other.json), std::slice::from_ref(&w.other));
}

#[tokio::test]
async fn bad_searches_are_400_outcomes() {
    let w = World::new().await;
    let token = w.token(Role::CustodyOfficer, false);
    for query in [
        "name=Testperson",
        "",
        "identifier=G1234AB",
        "identifier=urn:nope|G1234AB",
        "birthdate=14/07/1991",
        "birthdate=1991-07-14&_count=0",
        "birthdate=1991-07-14&colour=red",
        "birthdate=1991-07-14&_page=bogus",
    ] {
        let answer = w.get(&format!("/fhir/Patient?{query}"), Some(&token)).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.json["resourceType"], "OperationOutcome", "{query}");
    }
}

/// Every page of a search, following `next` links.
async fn pages(w: &World, first: &str, token: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut uri = Some(first.to_owned());
    while let Some(next) = uri.take() {
        let page = w.get(&next, Some(token)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.json.get("total").is_none(), "never a total");
        out.push(ids(&page.json));
        uri = page.json["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .map(|l| l["url"].as_str().unwrap().to_owned());
        assert!(out.len() < 10, "paging ends");
    }
    out
}

#[tokio::test]
async fn paging_follows_next_links_and_never_counts_hidden_matches() {
    let w = World::new().await;
    let second = w.record_namesake("H2345BC", "Jamie", "Okafor").await;
    let third = w.record_namesake("J3456CD", "Priya", "Sandhu").await;
    assert!(second != w.main && third != w.main && second != third);
    let first = "/fhir/Patient?birthdate=1991-07-14&_count=1";
    let officer = w.token(Role::PrisonOfficer, false);
    let all = pages(&w, first, &officer).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.iter().all(|p| p.len() == 1));
    // The third person refuses all sharing: a prison officer (care of the state, which a
    // refusal is not overridden by) no longer finds them at all — fewer pages, no empty one.
    w.put_consent(
        &third,
        &consent("refuse-1", &third, "deny", "2026-01-01T00:00:00Z"),
    )
    .await;
    let seen = pages(&w, first, &officer).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().flatten().all(|id| *id != third));
    // A custody officer (statutory duty overrides a refusal) still finds all three.
    let custody = w.token(Role::CustodyOfficer, false);
    assert_eq!(pages(&w, first, &custody).await.len(), 3);
    // A continuation is bound to its search and caller.
    let page = w.get(first, Some(&custody)).await;
    let next = page.json["link"][1]["url"].as_str().unwrap().to_owned();
    let token = next.split("_page=").nth(1).unwrap();
    let elsewhere = w
        .get(
            &format!("/fhir/Patient?birthdate=1980-01-02&_page={token}"),
            Some(&custody),
        )
        .await;
    assert_eq!(elsewhere.status, 400);
    let other_role = w.get(&next, Some(&officer)).await;
    assert_eq!(other_role.status, 400);
}

#[tokio::test]
async fn summary_is_role_scoped_and_html_is_printable() {
    let w = World::new().await;
    let healthcare = w.token(Role::CustodyHealthcare, true);
    let probation = w.token(Role::Probation, false);
    let full = w
        .get(
            &format!("/fhir/Patient/{}/$summary", w.main),
            Some(&healthcare),
        )
        .await;
    assert_eq!(full.status, 200, "{}", full.text);
    assert_eq!(full.json["type"], "document");
    let full_classes = resource_classes(&full.json);
    assert!(full_classes.contains(&"physical-summary".to_owned()));
    let scoped = w
        .get(
            &format!("/fhir/Patient/{}/$summary", w.main),
            Some(&probation),
        )
        .await;
    assert_eq!(scoped.status, 200);
    let classes = resource_classes(&scoped.json);
    assert!(
        !classes.contains(&"physical-summary".to_owned()),
        "{classes:?}"
    );
    assert!(classes.contains(&"detention".to_owned()));
    let sections = section_classes(&scoped.json);
    assert!(
        !sections.contains(&"physical-summary".to_owned()),
        "{sections:?}"
    );
    assert!(
        !sections
            .iter()
            .any(|c| c.starts_with("mh-") || c == "medication")
    );

    let html = w
        .get(
            &format!("/fhir/Patient/{}/$summary?_format=html", w.main),
            Some(&probation),
        )
        .await;
    assert_eq!(html.status, 200);
    assert!(html.content_type.starts_with("text/html"));
    assert!(html.text.starts_with("<!DOCTYPE html>"));
    assert!(!html.text.contains("<script"));

    let everything = w
        .get(
            &format!("/fhir/Patient/{}/$everything", w.main),
            Some(&healthcare),
        )
        .await;
    assert_eq!(everything.status, 200);
    assert_eq!(everything.json["type"], "searchset");
    let refused = w
        .get(
            &format!("/fhir/Patient/{}/$everything", w.main),
            Some(&probation),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json["resourceType"], "OperationOutcome");
    let missing = w
        .get("/fhir/Patient/no-such-person/$summary", Some(&healthcare))
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn consent_is_read_at_the_moment_of_each_read() {
    let w = World::new().await;
    let gp = w.token(Role::Gp, true);
    let uri = format!("/fhir/Patient/{}/$summary", w.main);
    let before = w.get(&uri, Some(&gp)).await;
    assert_eq!(before.status, 200);
    assert!(!resource_classes(&before.json).contains(&"detention".to_owned()));
    w.put_consent(
        &w.main,
        &consent("c-1", &w.main, "permit", "2026-01-01T00:00:00Z"),
    )
    .await;
    let granted = w.get(&uri, Some(&gp)).await;
    assert!(resource_classes(&granted.json).contains(&"detention".to_owned()));
    w.store
        .withdraw_consent(&w.main, "c-1", chrono::Utc::now())
        .await
        .unwrap();
    let withdrawn = w.get(&uri, Some(&gp)).await;
    assert!(!resource_classes(&withdrawn.json).contains(&"detention".to_owned()));
}

#[tokio::test]
async fn every_read_is_audited_with_the_classes_released_and_withheld() {
    let w = World::new().await;
    let probation = w.token(Role::Probation, false);
    let reason = "patient collapsed in cell";
    let read = w
        .call(
            "GET",
            &format!("/fhir/Patient/{}/$summary", w.main),
            Some(&probation),
            None,
            &[("x-break-glass-reason", reason)],
        )
        .await;
    assert_eq!(read.status, 200);
    let denied = w
        .get(
            &format!("/fhir/Patient/{}/$everything", w.main),
            Some(&probation),
        )
        .await;
    assert_eq!(denied.status, 403);
    let entries = w.store.audit_entries(0, 10).await.unwrap();
    assert_eq!(entries.len(), 2, "one row per request, denials included");
    let row = &entries[0].record;
    assert_eq!(row.person_ids, std::slice::from_ref(&w.main));
    assert_eq!(row.role.as_deref(), Some("probation"));
    assert_eq!(row.organisation.as_deref(), Some("ORG01"));
    assert_eq!(row.auth_method.as_deref(), Some("development"));
    assert!(row.released.iter().any(|c| c.class == "detention"));
    let withheld = row
        .withheld
        .iter()
        .find(|c| c.class == "physical-summary")
        .expect("physical-summary withheld");
    assert!(
        withheld.rule.starts_with("role-policy:probation"),
        "{}",
        withheld.rule
    );
    assert_eq!(
        row.break_glass_reason.as_ref().map(|r| r.expose().as_str()),
        Some(reason)
    );
    assert!(
        !format!("{row:?}").contains(reason),
        "the reason is never printed"
    );
    let refusal = &entries[1].record;
    assert_eq!((refusal.status, refusal.outcome.as_str()), (403, "refused"));
    assert_eq!(refusal.person_ids, std::slice::from_ref(&w.main));
    let log: &dyn AuditLog = w.store.as_ref();
    assert_eq!(verify_log(log, 10).await.unwrap().unwrap().count, 2);
}
