//! Renders what the mock answers, shaped like the real SCR samples
//! (`uat__get_scr_id__*` for the DocumentReference search, `uat__get_scr__*` for the summary):
//! searchset bundles with a GP-summary Composition whose sections carry the narrative tables,
//! coded Conditions for diagnoses, and a Patient that holds only the NHS number.

use serde_json::{Value, json};
use uuid::Uuid;

use super::content::{Item, Medication, Summary};
use crate::{GP_SUMMARY_TYPE, NHS_NUMBER_SYSTEM};

const BASE: &str = "https://mock-scr.invalid/summary-care-record/FHIR/R4";
const XHTML: &str = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";
const NONE_ROW: &str =
    "<tr><td colspan=\"5\">No relevant information available for this category.</td></tr>";
/// When the mock says its answers were made.
const TIMESTAMP: &str = "2024-06-15T10:00:00+00:00";

/// A stable upper-case uuid for (seed, person, what).
pub(crate) fn uuid(seed: u64, person: u32, what: &str) -> String {
    let name = format!("scr-mock:{seed}:{person}:{what}");
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
        .to_string()
        .to_uppercase()
}

fn entry(kind: &str, resource: Value) -> Value {
    let id = resource.get("id").and_then(Value::as_str).unwrap_or("");
    json!({ "fullUrl": format!("{BASE}/{kind}/{id}"), "resource": resource })
}

fn patient(seed: u64, person: u32, nhs: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": uuid(seed, person, "patient"),
        "identifier": [{ "system": NHS_NUMBER_SYSTEM, "value": nhs }],
    })
}

/// The answer to the DocumentReference search for a person who has a summary.
pub(crate) fn documents(seed: u64, person: u32, nhs: &str) -> Value {
    let doc = json!({
        "resourceType": "DocumentReference",
        "id": uuid(seed, person, "document-reference").to_lowercase(),
        "masterIdentifier": { "system": "https://fhir.nhs.uk/Id/nhsSCRUUID",
                              "value": uuid(seed, person, "composition") },
        "status": "current",
        "type": { "coding": [{ "system": "http://snomed.info/sct", "code": GP_SUMMARY_TYPE,
                               "display": " General Practice Summary" }] },
        "subject": { "reference": format!("Patient/{}", uuid(seed, person, "patient")) },
        "securityLabel": [{ "coding": [{ "system": "https://fhir.nhs.uk/CodeSystem/SCR-ACSPermission",
                                         "code": "Yes" }] }],
        "content": [{ "attachment": { "url": format!(
            "{BASE}/Bundle?composition.identifier={}&composition.subject:Patient.identifier={NHS_NUMBER_SYSTEM}|{nhs}",
            uuid(seed, person, "composition")) } }],
    });
    json!({
        "resourceType": "Bundle",
        "id": uuid(seed, person, "documents-bundle").to_lowercase(),
        "type": "searchset",
        "total": 1,
        "entry": [
            { "fullUrl": format!("{BASE}/DocumentReference/{}", uuid(seed, person, "document-reference").to_lowercase()),
              "resource": doc, "search": { "mode": "match" } },
            { "fullUrl": uuid(seed, person, "patient"), "resource": patient(seed, person, nhs) },
        ],
    })
}

/// The empty searchset ("no result"), as the real sample.
pub(crate) fn no_result(seed: u64, person: u32) -> Value {
    json!({ "resourceType": "Bundle", "id": uuid(seed, person, "empty").to_lowercase(),
            "type": "searchset", "total": 0 })
}

/// The "no consent" OperationOutcome, byte for byte the real sample's content.
pub(crate) fn no_consent() -> Value {
    json!({ "resourceType": "OperationOutcome", "issue": [{ "severity": "error", "code": "forbidden",
        "details": { "text": "Code: 420, Display: Business condition related to access control  which prevents the action being performed by PSIS;Code: 30418, Display: [PSIS-30418] - ACF does not permit access to resource" } }] })
}

fn table(id: &str, headers: &[&str], rows: &[String]) -> String {
    let head: String = headers.iter().map(|h| format!("<th>{h}</th>")).collect();
    let body = if rows.is_empty() {
        NONE_ROW.to_owned()
    } else {
        rows.concat()
    };
    format!(
        "{XHTML}<table id=\"{id}\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )
}

fn row(cells: &[&str]) -> String {
    let cells: String = cells.iter().map(|c| format!("<td>{c}</td>")).collect();
    format!("<tr class=\"oddRow\">{cells}</tr>")
}

fn section(title: &str, code: &str, div: String, entries: Vec<Value>) -> Value {
    let mut s = json!({ "title": title, "code": { "coding": [{ "code": code }] },
                        "text": { "status": "generated", "div": div } });
    if let (false, Some(obj)) = (entries.is_empty(), s.as_object_mut()) {
        obj.insert("entry".into(), Value::Array(entries));
    }
    s
}

fn med_rows(meds: &[Medication], kind: &str) -> Vec<String> {
    let (label, when) = match kind {
        "Acute" => ("Acute Medication", "Prescribed"),
        _ => ("Repeat Medication", "Last Issued"),
    };
    meds.iter()
        .filter(|m| m.kind == kind)
        .map(|m| {
            row(&[
                label,
                &format!("{when}: {}", m.date),
                m.item,
                m.dosage,
                m.quantity,
            ])
        })
        .collect()
}

fn item_rows(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| row(&[&i.date, i.text, i.info]))
        .collect()
}

/// `DD-Mon-YYYY` as `YYYY-MM-DD`.
fn iso(date: &str) -> String {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = date.split('-').collect();
    let month = parts
        .get(1)
        .and_then(|m| months.iter().position(|x| x == m))
        .map_or(1, |i| i + 1);
    format!(
        "{}-{month:02}-{}",
        parts.get(2).unwrap_or(&"2020"),
        parts.first().unwrap_or(&"01")
    )
}

fn risk(seed: u64, person: u32, k: usize, r: &Item) -> Value {
    let id = uuid(seed, person, &format!("risk-{k}"));
    json!({
        "resourceType": "Observation", "id": id,
        "meta": { "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation"] },
        "identifier": [{ "value": id }], "status": "final",
        "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "163231000000100",
                                    "display": "Risks to Patient" }] }],
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": r.code, "display": r.text }] },
        "effectiveDateTime": format!("{}T09:00:00+00:00", iso(&r.date)),
    })
}

fn references(kind: &str, resources: &[Value]) -> Vec<Value> {
    resources
        .iter()
        .map(|r| json!({ "reference": format!("{kind}/{}", r["id"].as_str().unwrap_or("")) }))
        .collect()
}

fn condition(seed: u64, person: u32, k: usize, d: &Item) -> Value {
    let id = uuid(seed, person, &format!("condition-{k}"));
    json!({
        "resourceType": "Condition", "id": id, "identifier": [{ "value": id }],
        "clinicalStatus": { "coding": [{ "system": "http://hl7.org/fhir/ValueSet/condition-clinical",
                                          "code": "active", "display": "Active" }] },
        "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "163001000000103",
                                    "display": "Diagnoses" }] }],
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": d.code, "display": d.text }] },
        "onsetDateTime": format!("{}T09:00:00+00:00", iso(&d.date)),
    })
}

/// The GP-summary searchset for a person.
pub(crate) fn summary(seed: u64, person: u32, nhs: &str, s: &Summary) -> Value {
    let composition_id = uuid(seed, person, "composition");
    let meds = [
        "Type",
        "Date",
        "Medication Item",
        "Dosage Instructions",
        "Quantity",
    ];
    let items = ["Date", "Description", "Additional information"];
    let allergies: Vec<String> = s
        .allergies
        .iter()
        .map(|a| row(&[&a.date, a.text, "", "", a.info]))
        .collect();
    let conditions: Vec<Value> = s
        .diagnoses
        .iter()
        .enumerate()
        .map(|(k, d)| condition(seed, person, k, d))
        .collect();
    let risks: Vec<Value> = s
        .risks
        .iter()
        .enumerate()
        .map(|(k, r)| risk(seed, person, k, r))
        .collect();
    let refs = references("Condition", &conditions);
    let sections = vec![
        section(
            "General Practice Summary",
            "Title",
            format!(
                "{XHTML}<h3 id=\"Disclaimer\">Sourced from the patient's General Practice record.</h3></div>"
            ),
            vec![],
        ),
        section(
            "Allergies and Adverse Reactions",
            "AllergiesHeader",
            table(
                "Allergies",
                &[
                    "Date",
                    "Description",
                    "Certainty",
                    "Severity",
                    "Supporting Information",
                ],
                &allergies,
            ),
            vec![],
        ),
        section(
            "Acute Medications",
            "AcuteMedsHeader",
            table("AcuteMeds", &meds, &med_rows(&s.medications, "Acute")),
            vec![],
        ),
        section(
            "Current Repeat Medications",
            "RepeatMedsHeader",
            table("RepeatMeds", &meds, &med_rows(&s.medications, "Repeat")),
            vec![],
        ),
        section(
            "Discontinued Repeat Medications",
            "DiscRepeatMedsHeader",
            table(
                "DiscRepeatMeds",
                &meds,
                &med_rows(&s.medications, "Discontinued"),
            ),
            vec![],
        ),
        section(
            "Risks to Patient",
            "RisksToPatientHeader",
            table("RisksToPatient", &items, &item_rows(&s.risks)),
            references("Observation", &risks),
        ),
        section(
            "Diagnoses",
            "DiagnosesHeader",
            table("Diagnoses", &items, &item_rows(&s.diagnoses)),
            refs,
        ),
    ];
    let composition = json!({
        "resourceType": "Composition", "id": composition_id, "meta": { "lastUpdated": TIMESTAMP },
        "identifier": { "system": "https://tools.ietf.org/html/rfc4122", "value": composition_id },
        "status": "final",
        "type": { "coding": [{ "system": "http://snomed.info/sct", "code": GP_SUMMARY_TYPE,
                               "display": "General Practice Summary" }] },
        "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "163171000000105",
                                    "display": "Care Professional Documentation" }] }],
        "subject": { "reference": format!("Patient/{}", uuid(seed, person, "patient")) },
        "date": TIMESTAMP,
        "title": "GP Summary",
        "section": sections,
    });
    let mut entries = vec![entry("Composition", composition)];
    entries.extend(conditions.into_iter().map(|c| entry("Condition", c)));
    entries.extend(risks.into_iter().map(|r| entry("Observation", r)));
    entries.push(entry("Patient", patient(seed, person, nhs)));
    json!({
        "resourceType": "Bundle", "id": uuid(seed, person, "summary-bundle"),
        "identifier": { "system": "https://tools.ietf.org/html/rfc4122", "value": uuid(seed, person, "summary-identifier") },
        "type": "searchset", "timestamp": TIMESTAMP, "total": entries.len(), "entry": entries,
    })
}
