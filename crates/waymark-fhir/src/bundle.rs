//! Reading bundles and the labels on their resources.

use serde_json::Value;
use waymark_core::{DATA_CLASS_SYSTEM, DataClass};

/// The resources of a bundle's entries (entries without a resource are skipped).
pub fn entries(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("resource"))
}

/// The entries of a bundle, mutably (for redaction).
pub fn entries_mut(bundle: &mut Value) -> Option<&mut Vec<Value>> {
    bundle.get_mut("entry").and_then(Value::as_array_mut)
}

/// `(system, code)` of each `meta.security` label of a resource.
pub fn security_codes(resource: &Value) -> impl Iterator<Item = (&str, &str)> {
    resource["meta"]["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.get("system")?.as_str()?, c.get("code")?.as_str()?)))
}

/// The resource's data class label, if it has exactly one known one.
pub fn data_class(resource: &Value) -> Option<DataClass> {
    let mut classes = security_codes(resource)
        .filter(|(system, _)| *system == DATA_CLASS_SYSTEM)
        .map(|(_, code)| code.parse::<DataClass>());
    match (classes.next(), classes.next()) {
        (Some(Ok(class)), None) => Some(class),
        _ => None,
    }
}

/// `Type/id` of a resource, for references.
pub fn reference_of(resource: &Value) -> Option<String> {
    Some(format!(
        "{}/{}",
        resource["resourceType"].as_str()?,
        resource["id"].as_str()?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_one_data_class_and_refuses_two() {
        let one = json!({"meta": {"security": [
            {"system": DATA_CLASS_SYSTEM, "code": "detention"},
            {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]}});
        assert_eq!(data_class(&one), Some(DataClass::Detention));
        let two = json!({"meta": {"security": [
            {"system": DATA_CLASS_SYSTEM, "code": "detention"},
            {"system": DATA_CLASS_SYSTEM, "code": "identity"}]}});
        assert_eq!(data_class(&two), None);
        assert_eq!(data_class(&json!({})), None);
    }

    #[test]
    fn entries_skip_empty_ones() {
        let b = json!({"entry": [{"resource": {"resourceType": "Patient", "id": "p"}}, {}]});
        assert_eq!(entries(&b).count(), 1);
        assert_eq!(
            reference_of(entries(&b).next().unwrap()).unwrap(),
            "Patient/p"
        );
    }
}
