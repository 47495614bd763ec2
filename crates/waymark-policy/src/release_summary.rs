//! Releasing a person summary (the `document` Bundle of `waymark_record::summary`) for a read
//! through the API: the same per-class decision and resource redaction as
//! [`Policy::release_with_consent`], plus the Composition's sections: a section whose data
//! class (its `hjmd-labels` extension) is not released to the recipient is dropped with its
//! headlines, and so is a section whose class cannot be read (default deny).

use serde_json::Value;
use waymark_core::DataClass;

use crate::{
    Policy, PolicyError, Recipient, Releasable, ReleaseContext,
    decide::{ClassDecision, Decisions},
};

/// The label extension on a summary section (`waymark_record::SECTION_LABELS_URL`).
const SECTION_LABELS_URL: &str = "https://fhir.waymark.org.uk/StructureDefinition/hjmd-labels";

impl Policy {
    /// Releases a person summary document to `recipient` at `cx.now` with the person's
    /// Consents: resources as [`Policy::release_with_consent`] does, and only the Composition
    /// sections of released classes. Fails with [`PolicyError::NothingReleasable`] when the
    /// Patient is withheld.
    pub fn release_summary(
        &self,
        summary: &Value,
        recipient: &Recipient,
        cx: &ReleaseContext<'_>,
    ) -> Result<Releasable, PolicyError> {
        let mut released = self.release_json(summary, recipient, cx)?;
        let decisions = self.decide_classes(recipient, cx);
        prune_sections(released.bundle_mut(), &decisions);
        Ok(released)
    }

    /// Whether `class` is released to `recipient` under `cx` (role policy, Consents,
    /// break-glass), decided as a release decides it; for checks before any record is read
    /// (e.g. whether a search may show a person at all).
    pub fn class_released(
        &self,
        recipient: &Recipient,
        cx: &ReleaseContext<'_>,
        class: DataClass,
    ) -> bool {
        matches!(
            self.decide_classes(recipient, cx).get(class),
            Some(ClassDecision::Release { .. })
        )
    }
}

/// Drops every Composition section whose class is not released.
fn prune_sections(bundle: &mut Value, decisions: &Decisions) {
    let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) else {
        return;
    };
    for entry in entries {
        let resource = &mut entry["resource"];
        if resource["resourceType"] != "Composition" {
            continue;
        }
        if let Some(sections) = resource.get_mut("section").and_then(Value::as_array_mut) {
            sections.retain(|s| {
                section_class(s).is_some_and(|c| {
                    matches!(decisions.get(c), Some(ClassDecision::Release { .. }))
                })
            });
        }
    }
}

fn section_class(section: &Value) -> Option<DataClass> {
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use waymark_core::{DATA_CLASS_SYSTEM, Role};

    use super::*;

    fn labelled(kind: &str, id: &str, class: &str) -> Value {
        json!({"fullUrl": format!("urn:uuid:{id}"), "resource": {
            "resourceType": kind, "id": id,
            "meta": {"security": [{"system": DATA_CLASS_SYSTEM, "code": class}]}}})
    }

    fn section(id: &str, class: Option<&str>) -> Value {
        let mut s = json!({"id": id, "text": {"div": format!("<div>{id} headline</div>")}});
        if let Some(class) = class {
            s["extension"] = json!([{"url": SECTION_LABELS_URL,
                "extension": [{"url": "dataClass", "valueCode": class}]}]);
        }
        s
    }

    fn document() -> Value {
        let mut composition = labelled("Composition", "c", "identity");
        composition["resource"]["section"] = json!([
            section("identity", Some("identity")),
            section("mh-clinical", Some("mh-clinical")),
            section("unlabelled", None),
        ]);
        json!({"resourceType": "Bundle", "type": "document", "entry": [
            composition,
            labelled("Patient", "p", "identity"),
            labelled("Condition", "d", "mh-clinical"),
        ]})
    }

    fn sections(released: &Releasable) -> Vec<String> {
        released.bundle()["entry"][0]["resource"]["section"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn sections_of_withheld_classes_go_with_their_headlines() {
        let policy = Policy::builtin().unwrap();
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let cx = ReleaseContext::without_consent(now);
        let recipient = |role| Recipient {
            organisation: "X".into(),
            role,
            registered: true,
            purpose: "test".into(),
        };
        let officer = policy
            .release_summary(&document(), &recipient(Role::CustodyOfficer), &cx)
            .unwrap();
        assert_eq!(sections(&officer), ["identity"]);
        assert!(
            !officer
                .bundle()
                .to_string()
                .contains("mh-clinical headline")
        );
        assert!(
            officer
                .manifest()
                .withheld
                .iter()
                .any(|w| w.resource_id == "d")
        );
        let nurse = policy
            .release_summary(&document(), &recipient(Role::CustodyHealthcare), &cx)
            .unwrap();
        assert_eq!(sections(&nurse), ["identity", "mh-clinical"]);
        let officer = recipient(Role::CustodyOfficer);
        assert!(policy.class_released(&officer, &cx, DataClass::Identity));
        assert!(!policy.class_released(&officer, &cx, DataClass::MhClinical));
        let commissioner = recipient(Role::Commissioner);
        assert!(
            policy
                .release_summary(&document(), &commissioner, &cx)
                .is_err()
        );
    }
}
