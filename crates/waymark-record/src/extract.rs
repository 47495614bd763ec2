//! A canonical bundle → the dataset items it carries (one resource may carry several: a prison
//! episode also carries the expected release date and destination).

use serde_json::Value;
use uuid::Uuid;
use waymark_core::Sensitive;
use waymark_fhir::{data_class, entries};

use crate::dates;
use crate::entry::Entry;
use crate::key::{ItemKey, ItemKind};
use crate::version::Version;

/// Code system of the HJMD dataset items (`Observation.code`).
pub const ITEM_SYSTEM: &str = "https://fhir.waymark.org.uk/CodeSystem/hjmd-item";
const DIAGNOSIS_RANK_SYSTEM: &str = "https://fhir.waymark.org.uk/CodeSystem/hjmd-diagnosis-rank";
/// Namespace of the v5 uuids in item keys.
const KEY_NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_2b9e_7d40_4a31_8e6f_0c2d_9b71_a4e3);

/// One item value read from a bundle.
pub(crate) struct Candidate {
    pub key: ItemKey,
    pub kind: ItemKind,
    pub version: Version,
}

/// The items of an entry's bundle, and how many resources were skipped for want of a readable
/// data-class label (validated bundles have none).
pub(crate) fn candidates(entry: &Entry<'_>) -> (Vec<Candidate>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    for resource in entries(entry.bundle).filter(|r| r["resourceType"] != "Provenance") {
        let Some(class) = data_class(resource) else {
            skipped += 1;
            continue;
        };
        for (key, kind) in keys(resource) {
            let own = (!kind.is_derived()).then(|| dates::own_as_of(resource));
            let version = Version {
                value: Sensitive::new(resource.clone()),
                data_class: class,
                event_time: entry.event_time,
                as_of: own.flatten().unwrap_or(entry.event_time),
                recorded_at: entry.recorded_at,
                message_id: entry.message_id.clone(),
            };
            out.push(Candidate { key, kind, version });
        }
    }
    (out, skipped)
}

/// Which items a resource is.
fn keys(resource: &Value) -> Vec<(ItemKey, ItemKind)> {
    let ty = resource["resourceType"].as_str().unwrap_or_default();
    let one = |key: ItemKey, kind| vec![(key, kind)];
    match ty {
        "Patient" => one(ItemKey::new("patient"), ItemKind::Patient),
        "Observation" => match item_code(resource) {
            Some(code) => one(ItemKey::new(code), ItemKind::Answer),
            None => one(identity("observation", resource), ItemKind::Resource),
        },
        "Condition" if is_primary(resource) => {
            one(ItemKey::new("primary-diagnosis"), ItemKind::Answer)
        }
        "Flag" => one(identity("flag", resource), ItemKind::Marker),
        "Encounter" => encounter_keys(resource),
        "MedicationStatement" => one(identity("medication", resource), ItemKind::Resource),
        _ => one(
            identity(&ty.to_ascii_lowercase(), resource),
            ItemKind::Resource,
        ),
    }
}

fn encounter_keys(resource: &Value) -> Vec<(ItemKey, ItemKind)> {
    match resource["class"]["code"].as_str() {
        Some("prison") => vec![
            (identity("prison-episode", resource), ItemKind::Episode),
            (
                ItemKey::new("expected-release-date"),
                ItemKind::ExpectedReleaseDate,
            ),
            (
                ItemKey::new("release-destination"),
                ItemKind::ReleaseDestination,
            ),
        ],
        Some("custody") => vec![(identity("custody-episode", resource), ItemKind::Episode)],
        _ => vec![(identity("encounter", resource), ItemKind::Resource)],
    }
}

/// Keys read from other resources than an item Observation: an Observation coded with one of
/// these is keyed by its identity, so a key always has one kind whatever the arrival order.
const RESERVED: &[&str] = &[
    "patient",
    "primary-diagnosis",
    "expected-release-date",
    "release-destination",
];

/// The HJMD item code of an Observation, when it is a plain code (it becomes a key).
fn item_code(resource: &Value) -> Option<&str> {
    resource["code"]["coding"]
        .as_array()?
        .iter()
        .filter(|c| c["system"] == ITEM_SYSTEM)
        .find_map(|c| c["code"].as_str())
        .filter(|code| is_plain_code(code) && !RESERVED.contains(code))
}

fn is_plain_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_primary(resource: &Value) -> bool {
    resource["category"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|cat| {
            cat["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["system"] == DIAGNOSIS_RANK_SYSTEM && c["code"] == "primary")
        })
}

/// `<kind>:<uuid>`, the uuid a hash of the resource type and the source's first identifier
/// (else the resource id, else the content): stable across messages, never an identifier in clear.
fn identity(kind: &str, resource: &Value) -> ItemKey {
    let ty = resource["resourceType"].as_str().unwrap_or_default();
    let identifier = resource["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|i| Some((i["system"].as_str()?, i["value"].as_str()?)));
    let name = match (identifier, resource["id"].as_str()) {
        (Some((system, value)), _) => format!("{ty}|{system}|{value}"),
        (None, Some(id)) => format!("{ty}|id|{id}"),
        (None, None) => format!("{ty}|content|{resource}"),
    };
    let kind = if is_plain_code(kind) {
        kind
    } else {
        "resource"
    };
    ItemKey::new(format!(
        "{kind}:{}",
        Uuid::new_v5(&KEY_NAMESPACE, name.as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_follow_the_dataset() {
        let obs = json!({"resourceType": "Observation",
            "code": {"coding": [{"system": ITEM_SYSTEM, "code": "self-harm-history"}]}});
        assert_eq!(keys(&obs)[0].0.as_str(), "self-harm-history");
        let odd = json!({"resourceType": "Observation", "id": "o1",
            "code": {"coding": [{"system": ITEM_SYSTEM, "code": "Bad Code:1"}]}});
        assert_eq!(keys(&odd)[0].0.name(), "observation");
        let prison = json!({"resourceType": "Encounter", "class": {"code": "prison"},
            "identifier": [{"system": "s", "value": "2200001"}]});
        let names: Vec<String> = keys(&prison)
            .iter()
            .map(|(k, _)| k.name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "prison-episode",
                "expected-release-date",
                "release-destination"
            ]
        );
        assert!(!keys(&prison)[0].0.as_str().contains("2200001"));
        let reserved = json!({"resourceType": "Observation", "id": "o2",
            "code": {"coding": [{"system": ITEM_SYSTEM, "code": "expected-release-date"}]}});
        assert_eq!(keys(&reserved)[0].1, ItemKind::Resource);
        let weird = json!({"resourceType": "Weird Type!"});
        assert_eq!(keys(&weird)[0].0.name(), "resource");
    }

    #[test]
    fn the_same_identifier_is_the_same_item() {
        let a = json!({"resourceType": "Flag", "id": "x", "identifier": [{"system": "s", "value": "1"}]});
        let b = json!({"resourceType": "Flag", "id": "y", "identifier": [{"system": "s", "value": "1"}]});
        let c = json!({"resourceType": "Flag", "id": "x", "identifier": [{"system": "s", "value": "2"}]});
        assert_eq!(keys(&a)[0].0, keys(&b)[0].0);
        assert_ne!(keys(&a)[0].0, keys(&c)[0].0);
    }
}
