//! The edits redaction makes to what remains: masked references and the `REDACTED` label.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use waymark_core::DATA_CLASS_SYSTEM;

/// `meta.security` system of the label saying a bundle was redacted.
pub const OBSERVATION_VALUE_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
/// The HL7 ObservationValue code `REDACTED`.
pub const REDACTED_CODE: &str = "REDACTED";
/// The extension that replaces a reference to a withheld resource (with code `masked`).
pub const DATA_ABSENT_REASON_URL: &str =
    "http://hl7.org/fhir/StructureDefinition/data-absent-reason";

/// The rule that withholds a resource whose data class cannot be read.
pub(crate) fn unreadable_class_rule(resource: &Value) -> &'static str {
    let labels = waymark_fhir::security_codes(resource)
        .filter(|(system, _)| *system == DATA_CLASS_SYSTEM)
        .count();
    match labels {
        0 => "default-deny:no-data-class",
        1 => "default-deny:unknown-data-class",
        _ => "default-deny:several-data-classes",
    }
}

/// Replaces every `Reference` under `value` that points at a withheld resource with a reference
/// carrying only the data-absent-reason `masked` extension, so neither its target nor its
/// `display` text leaks. Returns how many were masked.
pub(crate) fn mask_references(value: &mut Value, withheld: &BTreeSet<String>) -> usize {
    match value {
        Value::Object(map) => {
            let points_at_withheld = map
                .get("reference")
                .and_then(Value::as_str)
                .is_some_and(|r| withheld.contains(r));
            if points_at_withheld {
                *value = json!({ "extension": [
                    { "url": DATA_ABSENT_REASON_URL, "valueCode": "masked" }
                ] });
                return 1;
            }
            map.values_mut().map(|v| mask_references(v, withheld)).sum()
        }
        Value::Array(items) => items.iter_mut().map(|v| mask_references(v, withheld)).sum(),
        _ => 0,
    }
}

/// Adds the `REDACTED` label to a bundle's `meta.security`.
pub(crate) fn add_redacted_label(bundle: &mut Value) {
    let label = json!({
        "system": OBSERVATION_VALUE_SYSTEM,
        "code": REDACTED_CODE,
        "display": "redacted",
    });
    let Some(root) = bundle.as_object_mut() else {
        return;
    };
    let meta = root.entry("meta").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    let security = meta
        .as_object_mut()
        .map(|m| m.entry("security").or_insert_with(|| json!([])));
    if let Some(list) = security.and_then(Value::as_array_mut) {
        list.push(label);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_references_to_withheld_resources_only() {
        let withheld: BTreeSet<String> = ["urn:uuid:c1".to_owned()].into();
        let mut r = json!({
            "resourceType": "Encounter",
            "subject": {"reference": "urn:uuid:p1"},
            "diagnosis": [{"condition": {"reference": "urn:uuid:c1", "display": "a diagnosis"}}],
        });
        assert_eq!(mask_references(&mut r, &withheld), 1);
        assert_eq!(r["subject"]["reference"], "urn:uuid:p1");
        assert_eq!(
            r["diagnosis"][0]["condition"]["extension"][0]["valueCode"],
            "masked"
        );
        assert!(!r.to_string().contains("a diagnosis"));
    }

    #[test]
    fn names_why_a_class_is_unreadable() {
        let label = |code: &str| json!({"system": DATA_CLASS_SYSTEM, "code": code});
        assert_eq!(
            unreadable_class_rule(&json!({})),
            "default-deny:no-data-class"
        );
        let unknown = json!({"meta": {"security": [label("diagnosis")]}});
        assert_eq!(
            unreadable_class_rule(&unknown),
            "default-deny:unknown-data-class"
        );
        let two = json!({"meta": {"security": [label("identity"), label("detention")]}});
        assert_eq!(
            unreadable_class_rule(&two),
            "default-deny:several-data-classes"
        );
    }

    #[test]
    fn redacted_label_is_appended() {
        let mut b = json!({"resourceType": "Bundle", "meta": {"security": [{"code": "x"}]}});
        add_redacted_label(&mut b);
        assert_eq!(b["meta"]["security"][1]["code"], REDACTED_CODE);
        let mut bare = json!({"resourceType": "Bundle"});
        add_redacted_label(&mut bare);
        assert_eq!(
            bare["meta"]["security"][0]["system"],
            OBSERVATION_VALUE_SYSTEM
        );
    }
}
