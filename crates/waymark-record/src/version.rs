//! One value of an item as one source gave it, and how values are ordered and compared.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use waymark_core::{DataClass, Sensitive};

use crate::key::ItemKind;

/// `Encounter.extension` URL of the expected release date.
pub const EXPECTED_RELEASE_DATE_URL: &str =
    "https://fhir.waymark.org.uk/StructureDefinition/expected-release-date";
/// `Encounter.extension` URL of the expected release destination.
pub const RELEASE_DESTINATION_URL: &str =
    "https://fhir.waymark.org.uk/StructureDefinition/expected-release-destination";

/// One value of an item from one message of one source. `Debug` never shows the value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// The FHIR resource the value was read from, as the source sent it (after mapping).
    pub value: Sensitive<Value>,
    /// The resource's data-class label.
    pub data_class: DataClass,
    /// The source's event time: the merge order.
    pub event_time: DateTime<Utc>,
    /// When the value was true: the resource's own date (effective, asserted, recorded, flag
    /// start) where it has one, else the event time.
    pub as_of: DateTime<Utc>,
    /// When the hub recorded the message.
    pub recorded_at: DateTime<Utc>,
    /// The message it came from.
    pub message_id: String,
}

impl Version {
    /// The resource JSON.
    pub fn resource(&self) -> &Value {
        self.value.expose()
    }

    /// `Type/id` of the resource (ids are hub-generated uuids; safe to log).
    pub fn reference(&self) -> Option<String> {
        waymark_fhir::reference_of(self.resource())
    }
}

/// The merge order: source event time, then message id, then a present value before an absent
/// one, then the content (so even two values from one message order the same way every time).
pub(crate) fn order(kind: ItemKind, a: &Version, b: &Version) -> Ordering {
    a.event_time
        .cmp(&b.event_time)
        .then_with(|| a.message_id.cmp(&b.message_id))
        .then_with(|| present(kind, a).cmp(&present(kind, b)))
        .then_with(|| canonical(a.resource()).cmp(&canonical(b.resource())))
        .then_with(|| a.recorded_at.cmp(&b.recorded_at))
}

fn canonical(value: &Value) -> String {
    value.to_string()
}

/// The value a derived item reads from its resource (`None`: absent).
pub(crate) fn derived(kind: ItemKind, resource: &Value) -> Option<&Value> {
    let (url, field) = match kind {
        ItemKind::ExpectedReleaseDate => (EXPECTED_RELEASE_DATE_URL, "valueDate"),
        ItemKind::ReleaseDestination => (RELEASE_DESTINATION_URL, "valueString"),
        _ => return None,
    };
    resource["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == url)?
        .get(field)
}

/// Whether the version holds a value at all (always, but for a derived item without one).
pub(crate) fn present(kind: ItemKind, version: &Version) -> bool {
    !kind.is_derived() || derived(kind, version.resource()).is_some()
}

/// What decides "changed" versus "the same again": the derived value, else the resource without
/// its representation (`meta`, `id`, narrative `text`).
pub(crate) fn content(kind: ItemKind, version: &Version) -> Value {
    if kind.is_derived() {
        return derived(kind, version.resource())
            .cloned()
            .unwrap_or(Value::Null);
    }
    without(version.resource(), &["meta", "id", "text"])
}

fn without(resource: &Value, keys: &[&str]) -> Value {
    let mut resource = resource.clone();
    if let Some(map) = resource.as_object_mut() {
        for key in keys {
            map.remove(*key);
        }
    }
    resource
}

/// What two sources must agree on, or be shown as a discrepancy: the answer of an answer item
/// (codes as `system|code`, sorted), the date of birth of a Patient, else the content without
/// the reference to the source's own Patient.
pub(crate) fn answer(kind: ItemKind, version: &Version) -> Value {
    let resource = version.resource();
    match kind {
        ItemKind::Patient => resource["birthDate"].clone(),
        ItemKind::Answer if resource["resourceType"] == "Condition" => concept(&resource["code"]),
        ItemKind::Answer => resource
            .as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.starts_with("value")))
            .map_or(Value::Null, |(k, v)| match k.as_str() {
                "valueCodeableConcept" => concept(v),
                _ => v.clone(),
            }),
        _ if kind.is_derived() => content(kind, version),
        _ => without(resource, &["meta", "id", "text", "subject", "patient"]),
    }
}

fn concept(cc: &Value) -> Value {
    let mut codes: Vec<String> = cc["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some(format!("{}|{}", c["system"].as_str()?, c["code"].as_str()?)))
        .collect();
    if codes.is_empty() {
        return cc["text"].clone();
    }
    codes.sort();
    codes.dedup();
    Value::from(codes)
}

/// Whether the source says the item is over: a flag inactive, an episode finished, a medication
/// stopped, an answer entered in error, a derived value cleared.
pub(crate) fn ended(kind: ItemKind, version: &Version) -> bool {
    if kind.is_derived() {
        return !present(kind, version);
    }
    let resource = version.resource();
    let status = resource["status"].as_str().unwrap_or_default();
    let over: &[&str] = match resource["resourceType"].as_str().unwrap_or_default() {
        "Flag" => &["inactive", "entered-in-error"],
        "Encounter" => &["finished", "cancelled", "entered-in-error"],
        "MedicationStatement" => &["stopped", "completed", "entered-in-error", "not-taken"],
        "Observation" => &["cancelled", "entered-in-error"],
        "Consent" => &["inactive", "rejected", "entered-in-error"],
        "CareTeam" => &["inactive", "entered-in-error"],
        "Condition" => return condition_over(resource),
        _ => return resource["active"] == false,
    };
    over.contains(&status)
}

fn condition_over(resource: &Value) -> bool {
    let code = |field: &str| {
        resource[field]["coding"][0]["code"]
            .as_str()
            .map(str::to_owned)
    };
    matches!(
        code("clinicalStatus").as_deref(),
        Some("inactive" | "resolved" | "remission")
    ) || matches!(
        code("verificationStatus").as_deref(),
        Some("entered-in-error" | "refuted")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(value: Value, event: &str, msg: &str) -> Version {
        let t = crate::dates::parse(event, crate::dates::Bound::Start).unwrap();
        Version {
            value: Sensitive::new(value),
            data_class: DataClass::Detention,
            event_time: t,
            as_of: t,
            recorded_at: t,
            message_id: msg.to_owned(),
        }
    }

    #[test]
    fn present_values_win_ties_within_a_message() {
        let kind = ItemKind::ExpectedReleaseDate;
        let with = version(
            json!({"extension": [{"url": EXPECTED_RELEASE_DATE_URL, "valueDate": "2025-11-30"}]}),
            "2024-01-01",
            "m",
        );
        let without = version(json!({"status": "finished"}), "2024-01-01", "m");
        assert_eq!(order(kind, &with, &without), Ordering::Greater);
        assert_eq!(content(kind, &with), json!("2025-11-30"));
        assert!(ended(kind, &without) && !ended(kind, &with));
        let later = version(json!({}), "2024-01-02", "a");
        assert_eq!(order(kind, &with, &later), Ordering::Less);
    }

    #[test]
    fn answers_compare_codes_not_displays() {
        let a = version(
            json!({"resourceType": "Observation", "valueCodeableConcept": {"coding": [
                {"system": "s", "code": "Y", "display": "Yes"}]}, "effectiveDateTime": "2024"}),
            "2024-01-01",
            "a",
        );
        let b = version(
            json!({"resourceType": "Observation", "valueCodeableConcept": {"coding": [
                {"system": "s", "code": "Y"}]}, "effectiveDateTime": "2025"}),
            "2024-01-01",
            "b",
        );
        assert_eq!(answer(ItemKind::Answer, &a), answer(ItemKind::Answer, &b));
        assert_ne!(content(ItemKind::Answer, &a), content(ItemKind::Answer, &b));
    }
}
