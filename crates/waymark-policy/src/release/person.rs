//! [`Releasable::for_person`]: the released bundle re-keyed on the hub's person id, so what a
//! subscriber is told about (`Patient/<id>`) is what it can pull through the API.

use serde_json::Value;

use crate::Releasable;

impl Releasable {
    /// This release about the hub's person `person_id`: the Patient's `id` becomes the person
    /// id, its `urn:uuid:` fullUrl and every reference to it follow, and
    /// [`Releasable::patient_id`] returns it. The canonical bundle's Patient id is a mapping's
    /// id for one source message; the person id is the one the API serves (`Patient/{id}`), the
    /// same for every source and every message about the person. Nothing else changes: what
    /// was released and withheld stays as the policy decided.
    #[must_use]
    pub fn for_person(mut self, person_id: &str) -> Self {
        let old = std::mem::replace(&mut self.patient_id, person_id.to_owned());
        if old == person_id {
            return self;
        }
        let (old_url, new_url) = (format!("urn:uuid:{old}"), format!("urn:uuid:{person_id}"));
        let (old_ref, new_ref) = (format!("Patient/{old}"), format!("Patient/{person_id}"));
        let bundle = self.bundle_mut();
        for entry in bundle["entry"].as_array_mut().into_iter().flatten() {
            let resource = &mut entry["resource"];
            if resource["resourceType"] == "Patient" && resource["id"] == old.as_str() {
                resource["id"] = Value::String(person_id.to_owned());
                if entry["fullUrl"] == old_url.as_str() {
                    entry["fullUrl"] = Value::String(new_url.clone());
                }
            }
        }
        rewrite_references(bundle, &[(&old_url, &new_url), (&old_ref, &new_ref)]);
        self
    }
}

/// Every `reference` string equal to one of the `from` values, replaced by its `to`.
fn rewrite_references(value: &mut Value, pairs: &[(&String, &String)]) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "reference"
                    && let Some(text) = child.as_str()
                    && let Some((_, to)) = pairs.iter().find(|(from, _)| from.as_str() == text)
                {
                    *child = Value::String((*to).clone());
                } else {
                    rewrite_references(child, pairs);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_references(v, pairs)),
        _ => {}
    }
}
