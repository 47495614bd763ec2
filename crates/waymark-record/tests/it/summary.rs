//! The person summary document and its printable page.

use crate::common;

use std::sync::OnceLock;

use common::*;
use serde_json::{Value, json};
use waymark_core::{DataClass, SourceSystem};
use waymark_profile::Validator;
use waymark_record::{PersonRecord, RecordConfig, html, section_data_class, summary};

const NOW: &str = "2026-11-02T09:00:00Z";

fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| Validator::schema_only().expect("the R4 validator loads"))
}

/// NOMIS reception and transfer (real fixtures), plus custody, prison healthcare and SCR data.
fn messages() -> Vec<Msg> {
    let s1 = uid("systmone-patient");
    let at = uid("athena-patient");
    let mut systmone = vec![
        patient(&s1, "Testperson", "1991-07-15"),
        answer(
            &s1,
            &uid("sh-s1"),
            "self-harm-history",
            "N",
            "2025-11-20",
            DataClass::RiskSelf,
        ),
        diagnosis(&s1, &uid("dx"), "CANARY-DIAGNOSIS", "2025-10-01"),
        answer(
            &s1,
            &uid("mha"),
            "mha-status",
            "informal",
            "2025-10-01",
            DataClass::MhClinical,
        ),
        answer(
            &s1,
            &uid("sub"),
            "substance-misuse-history",
            "Y",
            "2025-10-01",
            DataClass::Substance,
        ),
    ];
    for (n, what) in ["Methadone 60mg", "Sertraline 50mg", "Zopiclone 7.5mg"]
        .iter()
        .enumerate()
    {
        let ident = format!("rx-{n}");
        systmone.push(medication(
            &s1,
            &uid(&ident),
            &ident,
            what,
            "other",
            "active",
            "2026-03-02",
        ));
    }
    systmone.push(medication(
        &s1,
        &uid("rx-old"),
        "rx-old",
        "Diazepam",
        "anti-anxiety",
        "stopped",
        "2025-01-02",
    ));
    let consent = json!({"resourceType": "Consent", "id": uid("consent"), "status": "active",
        "meta": {"security": labels(DataClass::Consent)}, "dateTime": "2026-01-01",
        "patient": {"reference": format!("urn:uuid:{s1}")}, "provision": {"type": "permit"}});
    systmone.push(consent);
    let athena = vec![
        patient(&at, "Testperson", "1991-07-14"),
        answer(
            &at,
            &uid("sh-at"),
            "self-harm-history",
            "Y",
            "2026-01-03",
            DataClass::RiskSelf,
        ),
        custody(&at, &uid("cust"), "CR-1", "finished"),
        answer(
            &at,
            &uid("fit"),
            "fit-to-detain",
            &format!("{B}CodeSystem/hjmd-fitness|fit"),
            "2026-01-05T03:00:00Z",
            DataClass::Detention,
        ),
    ];
    let scr = vec![discharge("scr-p", &uid("dis"), json!({"text": "Overdose"}))];
    vec![
        fixture("synthetic-reception-with-alerts"),
        fixture("synthetic-transfer"),
        msg(
            "s1",
            SourceSystem::Systmone,
            "2026-03-02T10:00:00Z",
            systmone,
            "record.updated",
        ),
        msg(
            "a1",
            SourceSystem::Athena,
            "2026-01-05T14:00:00Z",
            athena,
            "custody.release",
        ),
        msg(
            "scr1",
            SourceSystem::Scr,
            "2026-01-03T12:00:00Z",
            scr,
            "record.updated",
        ),
    ]
}

fn record() -> PersonRecord {
    let msgs = messages();
    PersonRecord::from_entries(
        RecordConfig::default(),
        &msgs.iter().map(Msg::entry).collect::<Vec<_>>(),
    )
}

fn section<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["entry"][0]["resource"]["section"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no section {id}"))
}

fn div<'a>(doc: &'a Value, id: &str) -> &'a str {
    section(doc, id)["text"]["div"].as_str().unwrap()
}

fn resource<'a>(doc: &'a Value, url: &str) -> &'a Value {
    let entries = doc["entry"].as_array().unwrap();
    &entries
        .iter()
        .find(|e| e["fullUrl"] == url)
        .unwrap_or_else(|| panic!("{url} not in the document"))["resource"]
}

#[test]
fn the_summary_is_a_valid_r4_document() {
    let doc = summary(&record(), t(NOW));
    let outcome = validator()
        .validate(doc.clone())
        .expect_err("a document is not a collection");
    let issues: Vec<(String, Option<String>)> = outcome
        .issues
        .iter()
        .map(|i| (i.rule.clone(), i.location.clone()))
        .collect();
    // the only rule broken is the canonical-bundle one that says `collection`: the R4 schema,
    // the structural checks, the labels and every urn:uuid reference all pass
    assert_eq!(
        issues,
        [("profile.bundle".to_owned(), Some("Bundle.type".to_owned()))]
    );
    assert_eq!(doc["type"], "document");
    assert_eq!(doc["timestamp"], "2026-11-02T09:00:00Z");
    let composition = &doc["entry"][0]["resource"];
    assert_eq!(composition["resourceType"], "Composition");
    assert_eq!(composition["status"], "final");
    assert_eq!(composition["type"]["coding"][0]["code"], "60591-5");
    assert_eq!(composition["date"], "2026-11-02T09:00:00Z");
    let subject = composition["subject"]["reference"].as_str().unwrap();
    assert_eq!(resource(&doc, subject)["resourceType"], "Patient");
    assert_eq!(summary(&record(), t(NOW)), doc, "deterministic");
    let reversed: Vec<Msg> = messages().into_iter().rev().collect();
    let other = PersonRecord::from_entries(
        RecordConfig::default(),
        &reversed.iter().map(Msg::entry).collect::<Vec<_>>(),
    );
    assert_eq!(summary(&other, t(NOW)), doc, "independent of arrival order");
}

#[test]
fn every_section_carries_one_data_class_and_holds_only_that_class() {
    let doc = summary(&record(), t(NOW));
    let sections = doc["entry"][0]["resource"]["section"].as_array().unwrap();
    let ids: Vec<&str> = sections.iter().map(|s| s["id"].as_str().unwrap()).collect();
    for group in [
        "identity",
        "contact",
        "appropriate-adult",
        "vulnerability",
        "physical",
        "mh-summary",
        "mh-clinical",
        "self-harm",
        "substance",
        "medication",
        "risk-factors",
        "violence",
        "agencies",
        "custody",
        "prison",
    ] {
        assert!(ids.contains(&group), "no section {group}");
    }
    for s in sections {
        let class =
            section_data_class(s).unwrap_or_else(|| panic!("section {} unlabelled", s["id"]));
        for e in s["entry"].as_array().into_iter().flatten() {
            let r = resource(&doc, e["reference"].as_str().unwrap());
            assert_eq!(
                waymark_fhir::data_class(r),
                Some(class),
                "section {} holds {}",
                s["id"],
                r["resourceType"]
            );
            assert_ne!(r["resourceType"], "Consent");
        }
    }
    assert_eq!(
        section_data_class(section(&doc, "mh-clinical")),
        Some(DataClass::MhClinical)
    );
    let ext = &section(&doc, "mh-clinical")["extension"][0]["extension"];
    assert_eq!(ext[1]["valueCode"], "V");
    assert_eq!(ext[2]["valueCode"], "PSY");
    // a diagnosis reaches no headline but its own class's
    let holding: Vec<&str> = sections
        .iter()
        .filter(|s| {
            s["text"]["div"]
                .as_str()
                .unwrap()
                .contains("CANARY-DIAGNOSIS")
        })
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(holding, ["mh-clinical"]);
}

fn has_date(text: &str) -> bool {
    text.as_bytes().windows(10).any(|w| {
        w.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
    })
}

#[test]
fn headlines_show_sources_dates_stale_markers_and_discrepancies() {
    let doc = summary(&record(), t(NOW));
    let self_harm = div(&doc, "self-harm");
    assert!(self_harm.contains("<li class=\"discrepancy\">History of self-harm: DISCREPANCY — Athena: Yes (2026-01-03) · SystmOne: No (2025-11-20)</li>"), "{self_harm}");
    assert!(self_harm.contains("<li class=\"stale\">Marker: ACCT Open (HMPS) — STALE, review was due 2025-05-02 (NOMIS, as of 2024-05-02)</li>"), "{self_harm}");
    assert!(
        self_harm
            .contains("<li class=\"ended\">Marker: ACCT Post Closure (HMPS) — ended 2021-03-01")
    );
    assert!(
        self_harm.find("discrepancy").unwrap() < self_harm.find("ended").unwrap(),
        "most urgent first"
    );
    let identity = div(&doc, "identity");
    assert!(
        identity.contains("Date of birth: DISCREPANCY"),
        "{identity}"
    );
    assert!(
        identity.contains("Prison number: G1234AB (NOMIS"),
        "{identity}"
    );
    assert!(
        !identity.contains("EPEX-77"),
        "local clinical ids are identity-clinical"
    );
    assert!(div(&doc, "identity-clinical").contains("Local clinical id: EPEX-77"));
    let meds = div(&doc, "medication");
    assert!(meds.contains("<li class=\"headline\">Medication (as of 2026-03-02, SystmOne, 8 months old): 3 current items</li>"), "{meds}");
    assert!(
        meds.contains("Diazepam — Anti-anxiety")
            || meds.contains("Diazepam — anti-anxiety (stopped) — ended"),
        "{meds}"
    );
    let prison = div(&doc, "prison");
    assert!(
        prison.contains(
            "Prison: at HMI since 2024-05-02, Remand; previously LEI (NOMIS, as of 2024-06-10)"
        ),
        "{prison}"
    );
    assert!(
        prison.contains("Expected release date: 2025-11-30 (NOMIS, as of 2024-06-10)"),
        "{prison}"
    );
    let custody = div(&doc, "custody");
    let released = "Police custody: released 2026-01-05 14:00 UTC from Northtown custody suite";
    assert!(custody.contains(released), "{custody}");
    assert!(div(&doc, "physical-clinical").contains("(SCR, as of 2026-01-03)"));
    assert!(div(&doc, "agencies").contains("No information held."));
    assert!(section(&doc, "agencies")["emptyReason"].is_object());
    for s in doc["entry"][0]["resource"]["section"].as_array().unwrap() {
        let div = s["text"]["div"].as_str().unwrap();
        for li in div
            .split("<li")
            .skip(1)
            .filter(|li| !li.contains("No information held."))
        {
            let sourced = ["NOMIS", "SystmOne", "Athena", "ExceliCare", "SCR"]
                .iter()
                .any(|n| li.contains(n));
            assert!(
                sourced && has_date(li),
                "statement without source or date in {}: {li}",
                s["id"]
            );
        }
    }
}

#[test]
fn the_page_is_escaped_headlines_first_and_marks_what_needs_checking() {
    let pid = uid("p");
    let mut evil = patient(&pid, "O'Brien & <b>Sons</b>", "1990-01-01");
    evil["name"][0]["given"] = json!(["<script>alert(1)</script>"]);
    let mut msgs = messages();
    msgs.push(msg(
        "evil",
        SourceSystem::Excelicare,
        "2026-10-01T00:00:00Z",
        vec![evil],
        "record.updated",
    ));
    let record = PersonRecord::from_entries(
        RecordConfig::default(),
        &msgs.iter().map(Msg::entry).collect::<Vec<_>>(),
    );
    let doc = summary(&record, t(NOW));
    for s in doc["entry"][0]["resource"]["section"].as_array().unwrap() {
        let div = s["text"]["div"].as_str().unwrap();
        assert!(!div.contains("<script"), "the narrative is escaped");
    }
    assert!(div(&doc, "identity").contains("&lt;script&gt;"));
    let page = html(&doc);
    assert!(
        !page.to_lowercase().contains("<script"),
        "no script, and the name is escaped"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("O&#39;Brien &amp; &lt;b&gt;Sons&lt;/b&gt;"));
    assert!(page.find("At a glance").unwrap() < page.find("Detail").unwrap());
    assert!(page.contains("<li class=\"stale\">Marker: ACCT Open (HMPS) — STALE"));
    assert!(page.contains("<li class=\"discrepancy\">History of self-harm: DISCREPANCY"));
    assert!(page.contains("<td>Marker: ACCT Open (HMPS)</td><td>active</td><td>NOMIS</td><td>2024-06-10</td><td>2024-05-02</td>"), "detail rows name source, event and as-of");
    assert!(page.contains("[mh-clinical]"));
}

#[test]
fn the_page_survives_anything() {
    for doc in [
        json!(null),
        json!({"entry": 5}),
        json!({"entry": [{"fullUrl": 1}, {"resource": {"section": "x"}}]}),
    ] {
        let page = html(&doc);
        assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
    }
    let empty = summary(&PersonRecord::default(), t(NOW));
    let outcome = validator().validate(empty.clone()).unwrap_err();
    assert!(
        outcome.issues.iter().all(|i| i.rule == "profile.bundle"),
        "{:?}",
        outcome.issues
    );
    assert!(html(&empty).contains("No information held."));
}
