//! Deliberately weakened policies: the property tests must catch each of them.

use serde_json::{Value, json};
use waymark_policy::Policy;

/// The built-in policy after `edit`.
pub fn weakened(edit: impl FnOnce(&mut Value)) -> Policy {
    let mut policy: Value = serde_json::from_str(Policy::builtin_json()).unwrap();
    edit(&mut policy);
    Policy::from_json(&policy.to_string()).unwrap()
}

fn role_entry<'a>(policy: &'a mut Value, role: &str) -> &'a mut Value {
    policy["roles"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["role"] == role)
        .unwrap()
}

/// A careless edit: probation granted mh-clinical (and the `never` guard removed with it).
pub fn probation_sees_mh_clinical() -> Policy {
    weakened(|p| {
        let probation = role_entry(p, "probation");
        probation["grants"]
            .as_array_mut()
            .unwrap()
            .push(json!({"class": "mh-clinical", "basis": "statutory-duty"}));
        probation["never"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c != "mh-clinical");
    })
}

/// Careless edits of the consent rules: GP detention no longer needs consent, and a refusal
/// no longer binds care-of-the-state.
pub fn consent_rules_loosened() -> Policy {
    weakened(|p| {
        for g in role_entry(p, "gp")["grants"].as_array_mut().unwrap() {
            if g["class"] == "detention" {
                g["basis"] = json!("direct-care");
            }
        }
        p["consent"]["refusal-overridden-by"]
            .as_array_mut()
            .unwrap()
            .push(json!("care-of-the-state"));
    })
}

/// Whether `found` holds only violations of the probation / mh-clinical weakening.
pub fn only_probation_mh_clinical(found: &[String]) -> bool {
    found
        .iter()
        .all(|v| v.starts_with("probation received") && v.ends_with("mh-clinical"))
}

/// Whether `found` shows both loosened consent rules.
pub fn both_consent_rules_broken(found: &[String]) -> bool {
    found
        .iter()
        .any(|v| v == "gp received detention without consent")
        && found
            .iter()
            .any(|v| v.starts_with("prison-officer received refused"))
}
