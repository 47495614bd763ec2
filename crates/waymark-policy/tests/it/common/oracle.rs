//! The checker, written independently of the policy file: dataset.md §2 (which role may see
//! which class) and §3 (consent rules), and what a released bundle or summary may hold.
//! Self-contained (external crates only), so the API tests can include it too.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;
use waymark_core::{DataClass, Role};
use waymark_policy::{ConsentDecision, Recipient, consent::evaluate};

/// Roles whose every grant is a statutory duty: a refusal does not set it aside
/// (dataset.md §3), written out here independently of the policy file.
pub const STATUTORY: &[Role] = &[Role::CustodyOfficer, Role::Probation];

/// dataset.md §2, written out here independently of `role-policy.json`, so a careless edit of
/// the policy file is caught by tests rather than agreed with.
pub fn expected(role: Role, registered: bool, consented_gp: bool) -> BTreeSet<DataClass> {
    use DataClass::*;
    let custody = [
        Identity,
        Contact,
        Safeguarding,
        PhysicalSummary,
        MhSummary,
        RiskSelf,
        Substance,
        RiskOthers,
        Agencies,
        Detention,
    ];
    let set = |c: &[DataClass]| c.iter().copied().collect::<BTreeSet<_>>();
    match role {
        Role::CustodyOfficer | Role::PrisonOfficer => set(&custody),
        Role::CustodyHealthcare | Role::PrisonHealthcare => set(DataClass::ALL),
        Role::LiaisonDiversion if registered => set(DataClass::ALL),
        Role::LiaisonDiversion => set(&custody),
        Role::Probation => set(&[
            Identity,
            Contact,
            Safeguarding,
            RiskSelf,
            RiskOthers,
            Agencies,
            Detention,
        ]),
        Role::Gp => {
            let mut s = set(&[
                Identity,
                IdentityClinical,
                PhysicalSummary,
                PhysicalClinical,
                MhSummary,
                MhClinical,
                Medication,
                Substance,
            ]);
            if consented_gp {
                s.extend([Detention, RiskOthers]);
            }
            s
        }
        Role::PrivacyOfficer | Role::Commissioner | Role::IntegrationEngineer => BTreeSet::new(),
    }
}

/// The consent rules of dataset.md §3 on top of the role table, for `classes` having reached
/// `recipient`: GP detention / risk-others only on a permit; a refused (or unreadable) class
/// never reaches a non-statutory role.
pub fn consent_violations(
    recipient: &Recipient,
    classes: impl IntoIterator<Item = DataClass>,
    consents: &[Value],
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut found = Vec::new();
    for class in classes {
        let decision = evaluate(consents, recipient, class, now);
        let consent_basis = recipient.role == Role::Gp
            && matches!(class, DataClass::Detention | DataClass::RiskOthers);
        let refused = matches!(
            decision,
            ConsentDecision::Deny(_) | ConsentDecision::Unreadable(_)
        );
        if consent_basis && !matches!(decision, ConsentDecision::Permit(_)) {
            found.push(format!(
                "{} received {class} without consent",
                recipient.role
            ));
        }
        if refused && !STATUTORY.contains(&recipient.role) {
            found.push(format!("{} received refused {class}", recipient.role));
        }
    }
    found
}

/// Checks a released person summary (the `document` as served) against the role table and
/// the consent rules: every resource and every Composition section of a class the recipient
/// may see (readable labels only), every Provenance target released, and no class present
/// that the person's Consents keep from the recipient. Returns the violations (empty = fine).
pub fn summary_violations(
    document: &Value,
    recipient: &Recipient,
    consents: &[Value],
    now: DateTime<Utc>,
) -> Vec<String> {
    let role = recipient.role;
    let allowed = expected(role, recipient.registered, true);
    let urls: BTreeSet<&str> = document["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["fullUrl"].as_str())
        .collect();
    let mut found = Vec::new();
    let mut present = BTreeSet::new();
    for resource in waymark_fhir::entries(document) {
        let kind = resource["resourceType"].as_str().unwrap_or("?");
        if kind == "Provenance" {
            for t in resource["target"].as_array().into_iter().flatten() {
                if !t["reference"].as_str().is_some_and(|r| urls.contains(r)) {
                    found.push("Provenance targets a resource that was not released".to_owned());
                }
            }
            continue;
        }
        match waymark_fhir::data_class(resource) {
            Some(c) if allowed.contains(&c) => {
                present.insert(c);
            }
            Some(c) => found.push(format!("{role} received {kind} of class {c}")),
            None => found.push(format!("{role} received an unlabelled {kind}")),
        }
        for section in resource["section"].as_array().into_iter().flatten() {
            let id = section["id"].as_str().unwrap_or("?");
            match waymark_record::section_data_class(section) {
                Some(c) if allowed.contains(&c) => {
                    present.insert(c);
                }
                Some(c) => found.push(format!("{role} received section {id} of class {c}")),
                None => found.push(format!("{role} received an unlabelled section {id}")),
            }
        }
    }
    found.extend(consent_violations(recipient, present, consents, now));
    found
}
