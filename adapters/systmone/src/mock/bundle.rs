//! Renders a person's SystmOne record as a GP Connect Access Record: Structured answer: an STU3
//! `collection` Bundle of CareConnect-GPC resources in the shape of the public GP Connect
//! samples (Patient, the practice Organization, Practitioner and PractitionerRole, one List per
//! section, the section's resources, Medication resources).

use chrono::NaiveDate;
use serde_json::{Value, json};
use waymark_synth::Observation;

use super::{
    clinical::{Allergy, Clinical, Course, Problem},
    rng::SplitMix64,
};

const SD: &str = "https://fhir.nhs.uk/STU3/StructureDefinition/";
const SCT: &str = "http://snomed.info/sct";
const DATA_ID: &str = "https://provider.nhs.uk/data-identifier";
/// The unknown extension the mock's `unknown-extensions` fault adds.
pub const UNKNOWN_EXTENSION: &str =
    "https://systmone.invalid/STU3/StructureDefinition/Extension-SystmOne-PrisonWing-1";

fn profile(name: &str) -> Value {
    json!({"profile": [format!("{SD}{name}")]})
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn coded(concept: (&str, &str)) -> Value {
    json!({"coding": [{"system": SCT, "code": concept.0, "display": concept.1}]})
}

fn entry(resource: Value) -> Value {
    json!({"resource": resource})
}

/// Ids shared by the section resources.
struct Ids {
    patient: String,
    org: String,
    practitioner: String,
    role: String,
}

/// The Bundle's bytes for one record.
pub(crate) fn render(
    obs: &Observation,
    clinical: &Clinical,
    rng: &mut SplitMix64,
    unknown: bool,
) -> Vec<u8> {
    let ids = Ids {
        patient: obs.local_id().to_owned(),
        org: rng.uuid(),
        practitioner: rng.uuid(),
        role: rng.uuid(),
    };
    let as_of = format!("{}T09:30:00+00:00", day(clinical.as_of));
    let mut entries = vec![
        entry(patient(obs, &ids, unknown)),
        entry(organization(&ids)),
        entry(practitioner(&ids)),
        entry(role(&ids)),
    ];
    let allergy_ids: Vec<String> = clinical.allergies.iter().map(|_| rng.uuid()).collect();
    entries.push(entry(list(
        "Allergies and adverse reactions",
        ("886921000000105", "Allergies and adverse reaction"),
        &ids,
        &as_of,
        "AllergyIntolerance",
        &allergy_ids,
    )));
    for (a, id) in clinical.allergies.iter().zip(&allergy_ids) {
        entries.push(entry(allergy(a, id, &ids, rng)));
    }
    let mut med_resources = Vec::new();
    let mut statement_ids = Vec::new();
    for course in &clinical.courses {
        let (resources, statement) = medication(course, &ids, rng, unknown);
        med_resources.extend(resources);
        statement_ids.push(statement);
    }
    entries.push(entry(list(
        "Medication List",
        ("933361000000108", "Medications and medical devices"),
        &ids,
        &as_of,
        "MedicationStatement",
        &statement_ids,
    )));
    entries.extend(med_resources.into_iter().map(entry));
    let problem_ids: Vec<String> = clinical.problems.iter().map(|_| rng.uuid()).collect();
    entries.push(entry(list(
        "Problems",
        ("717711000000103", "Problems"),
        &ids,
        &as_of,
        "Condition",
        &problem_ids,
    )));
    for (p, id) in clinical.problems.iter().zip(&problem_ids) {
        entries.push(entry(problem(p, id, &ids, rng)));
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "meta": profile("GPConnect-StructuredRecord-Bundle-1"),
        "type": "collection",
        "entry": entries,
    });
    serde_json::to_vec(&bundle).unwrap_or_default()
}

fn patient(obs: &Observation, ids: &Ids, unknown: bool) -> Value {
    let names: Vec<Value> = obs
        .names()
        .iter()
        .map(|n| json!({"use": n.name_use.fhir_code(), "family": n.family, "given": n.given}))
        .collect();
    let mut extensions = vec![json!({
        "url": format!("{SD}Extension-CareConnect-GPC-RegistrationDetails-1"),
        "extension": [{"url": "registrationPeriod", "valuePeriod": {"start": "2024-01-01T00:00:00+00:00"}},
                      {"url": "registrationType", "valueCodeableConcept": {"coding": [{
                          "system": "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-RegistrationType-1",
                          "code": "T", "display": "Temporary"}]}}]
    })];
    if unknown {
        extensions.push(json!({"url": UNKNOWN_EXTENSION, "valueString": "B-2-14"}));
    }
    let mut patient = json!({
        "resourceType": "Patient",
        "id": ids.patient,
        "meta": profile("CareConnect-GPC-Patient-1"),
        "extension": extensions,
        "identifier": obs.nhs_number().map(|nhs| vec![json!({
            "extension": [{"url": format!("{SD}Extension-CareConnect-GPC-NHSNumberVerificationStatus-1"),
                "valueCodeableConcept": {"coding": [{"system": "https://fhir.nhs.uk/CareConnect-NHSNumberVerificationStatus-1",
                    "code": "01", "display": "Number present and verified"}]}}],
            "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs})]).unwrap_or_default(),
        "active": true,
        "name": names,
        "gender": obs.sex().map_or("unknown", |s| s.fhir_code()),
        "birthDate": day(obs.birth_date()),
        "generalPractitioner": [{"reference": format!("Practitioner/{}", ids.practitioner)}],
        "managingOrganization": {"reference": format!("Organization/{}", ids.org)},
    });
    if let (Some(pc), Some(obj)) = (obs.postcode(), patient.as_object_mut()) {
        obj.insert(
            "address".into(),
            json!([{"use": "home", "type": "physical", "postalCode": pc}]),
        );
    }
    patient
}

fn organization(ids: &Ids) -> Value {
    json!({"resourceType": "Organization", "id": ids.org, "meta": profile("CareConnect-GPC-Organization-1"),
        "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y05537"}],
        "name": "HMP Moorland Healthcare (mock)"})
}

fn practitioner(ids: &Ids) -> Value {
    json!({"resourceType": "Practitioner", "id": ids.practitioner, "meta": profile("CareConnect-GPC-Practitioner-1"),
        "identifier": [{"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "G13579135"}],
        "name": [{"use": "usual", "family": "Mockdoctor", "given": ["Sam"], "prefix": ["Dr"]}]})
}

fn role(ids: &Ids) -> Value {
    json!({"resourceType": "PractitionerRole", "id": ids.role, "meta": profile("CareConnect-GPC-PractitionerRole-1"),
        "practitioner": {"reference": format!("Practitioner/{}", ids.practitioner)},
        "organization": {"reference": format!("Organization/{}", ids.org)},
        "code": [{"coding": [{"system": "https://fhir.hl7.org.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1",
            "code": "R0260", "display": "General Medical Practitioner"}]}]})
}

fn list(
    title: &str,
    code: (&str, &str),
    ids: &Ids,
    as_of: &str,
    kind: &str,
    items: &[String],
) -> Value {
    let mut list = json!({"resourceType": "List", "meta": profile("CareConnect-GPC-List-1"),
        "status": "current", "mode": "snapshot", "title": title, "code": coded(code),
        "subject": {"reference": format!("Patient/{}", ids.patient)}, "date": as_of,
        "orderedBy": {"coding": [{"system": "http://hl7.org/fhir/list-order", "code": "event-date"}]},
        "entry": items.iter().map(|id| json!({"item": {"reference": format!("{kind}/{id}")}})).collect::<Vec<_>>()});
    if items.is_empty()
        && let Some(obj) = list.as_object_mut()
    {
        obj.remove("entry");
        let reason = json!({"coding": [{"system": "http://hl7.org/fhir/list-empty-reason",
            "code": "no-content-recorded", "display": "No Content Recorded"}]});
        obj.insert("emptyReason".into(), reason);
        obj.insert(
            "note".into(),
            json!([{"text": "Information not available"}]),
        );
    }
    list
}

fn allergy(a: &Allergy, id: &str, ids: &Ids, rng: &mut SplitMix64) -> Value {
    let mut extension = Vec::new();
    if a.resolved {
        extension.push(
            json!({"url": format!("{SD}Extension-CareConnect-GPC-AllergyIntoleranceEnd-1"),
            "extension": [{"url": "endDate", "valueDateTime": day(a.asserted.checked_add_days(chrono::Days::new(180)).unwrap_or(a.asserted))},
                          {"url": "reasonEnded", "valueString": "No reaction on re-exposure"}]}),
        );
    }
    json!({"resourceType": "AllergyIntolerance", "id": id, "meta": profile("CareConnect-GPC-AllergyIntolerance-1"),
        "extension": extension,
        "identifier": [{"system": DATA_ID, "value": rng.data_id()}],
        "clinicalStatus": if a.resolved { "resolved" } else { "active" },
        "verificationStatus": "unconfirmed", "type": "allergy", "category": [a.category],
        "code": coded(a.allergen),
        "patient": {"reference": format!("Patient/{}", ids.patient)},
        "assertedDate": format!("{}T00:00:00+00:00", day(a.asserted)),
        "recorder": {"reference": format!("PractitionerRole/{}", ids.role)},
        "reaction": [{"manifestation": [coded(a.reaction)], "severity": "moderate"}]})
}

/// The Medication, the plan MedicationRequest, one order per issue, and the MedicationStatement;
/// returns the resources and the statement's id.
fn medication(c: &Course, ids: &Ids, rng: &mut SplitMix64, unknown: bool) -> (Vec<Value>, String) {
    let (med, plan, statement) = (rng.uuid(), rng.uuid(), rng.uuid());
    let subject = json!({"reference": format!("Patient/{}", ids.patient)});
    let kind = if c.repeat {
        ("repeat", "Repeat")
    } else {
        ("acute", "Acute")
    };
    let prescription_type = json!({"url": format!("{SD}Extension-CareConnect-GPC-PrescriptionType-1"),
        "valueCodeableConcept": {"coding": [{"system": "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-PrescriptionType-1",
            "code": kind.0, "display": kind.1}]}});
    let request = |id: &str,
                   intent: &str,
                   on: NaiveDate,
                   status: &str,
                   based_on: Option<&str>,
                   data_id: String| {
        let mut r = json!({"resourceType": "MedicationRequest", "id": id, "meta": profile("CareConnect-GPC-MedicationRequest-1"),
            "extension": [prescription_type.clone()],
            "identifier": [{"system": DATA_ID, "value": data_id}],
            "basedOn": based_on.map(|b| json!([{"reference": format!("MedicationRequest/{b}")}])),
            "status": status, "intent": intent,
            "medicationReference": {"reference": format!("Medication/{med}")},
            "subject": subject, "authoredOn": day(on),
            "recorder": {"reference": format!("PractitionerRole/{}", ids.role)},
            "dosageInstruction": [{"text": c.product.2}],
            "dispenseRequest": {"validityPeriod": {"start": day(on)},
                "expectedSupplyDuration": {"value": 28, "unit": "day", "system": "http://unitsofmeasure.org", "code": "d"}}});
        if let Some(obj) = r.as_object_mut() {
            obj.retain(|_, v| !v.is_null());
        }
        r
    };
    let status = if c.active { "active" } else { "completed" };
    let mut resources = vec![
        json!({"resourceType": "Medication", "id": med, "meta": profile("CareConnect-GPC-Medication-1"),
        "code": coded((c.product.0, c.product.1))}),
    ];
    resources.push(request(&plan, "plan", c.start, status, None, rng.data_id()));
    let mut last = c.start;
    for k in 0..c.issues {
        last = c
            .start
            .checked_add_days(chrono::Days::new(u64::from(k) * 28))
            .unwrap_or(c.start);
        resources.push(request(
            &rng.uuid(),
            "order",
            last,
            "completed",
            Some(&plan),
            rng.data_id(),
        ));
    }
    let mut extension = vec![
        json!({"url": format!("{SD}Extension-CareConnect-GPC-MedicationStatementLastIssueDate-1"), "valueDateTime": day(last)}),
        json!({"url": format!("{SD}Extension-CareConnect-GPC-PrescribingAgency-1"), "valueCodeableConcept": {"coding": [{
            "system": "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-PrescribingAgency-1",
            "code": "prescribed-at-gp-practice", "display": "Prescribed at GP practice"}]}}),
    ];
    if unknown {
        extension.push(json!({"url": UNKNOWN_EXTENSION, "valueString": "in-possession"}));
    }
    let effective = if c.active {
        json!({"start": day(c.start)})
    } else {
        json!({"start": day(c.start), "end": day(last)})
    };
    resources.push(json!({"resourceType": "MedicationStatement", "id": statement, "meta": profile("CareConnect-GPC-MedicationStatement-1"),
        "extension": extension, "identifier": [{"system": DATA_ID, "value": rng.data_id()}],
        "basedOn": [{"reference": format!("MedicationRequest/{plan}")}],
        "status": status, "medicationReference": {"reference": format!("Medication/{med}")},
        "effectivePeriod": effective, "dateAsserted": day(c.start), "subject": subject, "taken": "unk",
        "dosage": [{"text": c.product.2}]}));
    (resources, statement)
}

fn problem(p: &Problem, id: &str, ids: &Ids, rng: &mut SplitMix64) -> Value {
    json!({"resourceType": "Condition", "id": id, "meta": profile("CareConnect-GPC-ProblemHeader-Condition-1"),
        "extension": [{"url": format!("{SD}Extension-CareConnect-GPC-ProblemSignificance-1"), "valueCode": "major"}],
        "identifier": [{"system": DATA_ID, "value": rng.data_id()}],
        "clinicalStatus": if p.active { "active" } else { "inactive" },
        "category": [{"coding": [{"system": "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-ConditionCategory-1",
            "code": "problem-list-item", "display": "Problem List Item"}]}],
        "code": coded(p.concept),
        "subject": {"reference": format!("Patient/{}", ids.patient)},
        "onsetDateTime": day(p.onset),
        "assertedDate": format!("{}T00:00:00+00:00", day(p.onset)),
        "asserter": {"reference": format!("Practitioner/{}", ids.practitioner)}})
}
