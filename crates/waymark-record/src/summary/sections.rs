//! The summary's sections: one per dataset group and data class, so that no section (and no
//! headline) ever mixes data classes.

use serde_json::{Value, json};
use waymark_core::{Confidentiality, DataClass};

use super::catalog;
use crate::key::{ItemKey, ItemKind};

/// URL of the label extension on a section (the package's `hjmd-labels`, as used for inline
/// labels): `dataClass`, `confidentiality` and any `sensitivity` of the section.
pub const SECTION_LABELS_URL: &str = "https://fhir.waymark.org.uk/StructureDefinition/hjmd-labels";

/// One section of the summary.
pub(crate) struct SectionDef {
    /// The dataset group (items.py), also `Composition.section.id`.
    pub id: &'static str,
    pub title: &'static str,
    pub class: DataClass,
}

const fn def(id: &'static str, title: &'static str, class: DataClass) -> SectionDef {
    SectionDef { id, title, class }
}

/// Every section, in document order (dataset.md section 1 order; clinical detail of a group in
/// a section of its own).
pub(crate) const SECTIONS: &[SectionDef] = &[
    def("identity", "Identity", DataClass::Identity),
    def(
        "identity-clinical",
        "Local clinical identifiers",
        DataClass::IdentityClinical,
    ),
    def("contact", "Contact and interpreter", DataClass::Contact),
    def(
        "appropriate-adult",
        "Appropriate adult",
        DataClass::Safeguarding,
    ),
    def("vulnerability", "Vulnerability", DataClass::Safeguarding),
    def("physical", "Physical health", DataClass::PhysicalSummary),
    def(
        "physical-clinical",
        "Physical health: hospital detail",
        DataClass::PhysicalClinical,
    ),
    def("mh-summary", "Mental health summary", DataClass::MhSummary),
    def(
        "mh-clinical",
        "Mental health clinical",
        DataClass::MhClinical,
    ),
    def("self-harm", "Self-harm and suicide", DataClass::RiskSelf),
    def("substance", "Substance misuse", DataClass::Substance),
    def("medication", "Medication", DataClass::Medication),
    def("risk-factors", "Risk factors", DataClass::RiskSelf),
    def(
        "violence",
        "Violence and public protection",
        DataClass::RiskOthers,
    ),
    def("agencies", "Agencies involved", DataClass::Agencies),
    def("custody", "Custody episode", DataClass::Detention),
    def("prison", "Prison episode", DataClass::Detention),
];

/// The section of an item value of class `class`: the item's group where that section has the
/// value's class, else the class's default section; `None` (not summarised) for consent.
pub(crate) fn place(
    key: &ItemKey,
    kind: ItemKind,
    resource: &Value,
    class: DataClass,
) -> Option<usize> {
    let group = catalog::group(key.name()).or_else(|| match kind {
        ItemKind::Episode => resource["class"]["code"].as_str(),
        _ if resource["resourceType"] == "RelatedPerson" => Some("appropriate-adult"),
        _ => None,
    });
    let by_group = group.and_then(|g| SECTIONS.iter().position(|s| s.id == g && s.class == class));
    by_group.or_else(|| SECTIONS.iter().position(|s| s.id == default_group(class)))
}

fn default_group(class: DataClass) -> &'static str {
    match class {
        DataClass::Identity => "identity",
        DataClass::IdentityClinical => "identity-clinical",
        DataClass::Contact => "contact",
        DataClass::Safeguarding => "vulnerability",
        DataClass::PhysicalSummary => "physical",
        DataClass::PhysicalClinical => "physical-clinical",
        DataClass::MhSummary => "mh-summary",
        DataClass::MhClinical => "mh-clinical",
        DataClass::RiskSelf => "self-harm",
        DataClass::Substance => "substance",
        DataClass::Medication => "medication",
        DataClass::RiskOthers => "violence",
        DataClass::Agencies => "agencies",
        DataClass::Detention => "custody",
        DataClass::Consent => "",
    }
}

/// The minimum confidentiality and required sensitivity codes of a class (the package's
/// `CLASS_LABELS`, `profiles/hjmd/tools/generate.py`).
pub(crate) fn class_labels(class: DataClass) -> (Confidentiality, &'static [&'static str]) {
    match class {
        DataClass::MhClinical => (Confidentiality::V, &["PSY"]),
        DataClass::Substance => (Confidentiality::R, &["ETH"]),
        DataClass::IdentityClinical
        | DataClass::PhysicalClinical
        | DataClass::MhSummary
        | DataClass::Medication => (Confidentiality::R, &[]),
        _ => (Confidentiality::N, &[]),
    }
}

/// `N`, `R` or `V`.
pub(crate) fn confidentiality_code(c: Confidentiality) -> &'static str {
    match c {
        Confidentiality::N => "N",
        Confidentiality::R => "R",
        Confidentiality::V => "V",
    }
}

/// The label extension of a section of `class` at confidentiality `level`.
pub(crate) fn labels_extension(class: DataClass, level: Confidentiality) -> Value {
    let (_, sensitivity) = class_labels(class);
    let mut parts = vec![
        json!({"url": "dataClass", "valueCode": class.code()}),
        json!({"url": "confidentiality", "valueCode": confidentiality_code(level)}),
    ];
    parts.extend(
        sensitivity
            .iter()
            .map(|s| json!({"url": "sensitivity", "valueCode": s})),
    );
    json!({"url": SECTION_LABELS_URL, "extension": parts})
}

/// The data class a summary section carries (its label extension), for the policy engine.
pub fn section_data_class(section: &Value) -> Option<DataClass> {
    section["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == SECTION_LABELS_URL)?["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == "dataClass")?["valueCode"]
        .as_str()?
        .parse()
        .ok()
}
