//! Releasing a canonical bundle to one recipient: [`Policy::release`], [`Releasable`] and its
//! [`Manifest`].

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use serde::Serialize;
use serde_json::{Map, Value};
use waymark_core::{DataClass, Role};
use waymark_profile::CanonicalBundle;

use crate::{
    LegalBasis, Policy, PolicyError, Recipient,
    redact::{add_redacted_label, mask_references, unreadable_class_rule},
};

/// A bundle that has passed the role policy for one recipient: the only thing delivery and the
/// API accept.
///
/// It has no public constructor, no `Default` and no `Deserialize`; only [`Policy::release`]
/// makes one, so holding a `Releasable` proves the policy ran. Reading it is free:
///
/// ```
/// fn body(r: &waymark_policy::Releasable) -> &serde_json::Value {
///     r.bundle()
/// }
/// ```
///
/// Building one outside this crate does not compile:
///
/// ```compile_fail,E0451
/// use waymark_policy::{Manifest, Recipient, Releasable};
/// fn forge(bundle: serde_json::Value, recipient: Recipient, manifest: Manifest) -> Releasable {
///     Releasable { bundle, recipient, manifest, patient_id: String::new() }
/// }
/// ```
///
/// nor does reading one from bytes, or asking for a default one:
///
/// ```compile_fail
/// fn forge(bytes: &[u8]) -> waymark_policy::Releasable {
///     serde_json::from_slice(bytes).unwrap()
/// }
/// ```
///
/// ```compile_fail
/// let forged = waymark_policy::Releasable::default();
/// ```
pub struct Releasable {
    bundle: Value,
    recipient: Recipient,
    manifest: Manifest,
    patient_id: String,
}

impl Releasable {
    /// The redacted bundle (type `collection`), labels carried forward.
    pub fn bundle(&self) -> &Value {
        &self.bundle
    }

    /// Who it was released to.
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    /// What was released and withheld, and why.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The id of the Patient the bundle is about (a hub-generated uuid).
    pub fn patient_id(&self) -> &str {
        &self.patient_id
    }

    /// The data classes of the released resources.
    pub fn released_classes(&self) -> BTreeSet<DataClass> {
        self.manifest
            .released
            .iter()
            .filter_map(|r| r.data_class)
            .collect()
    }
}

impl fmt::Debug for Releasable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Releasable")
            .field("role", &self.recipient.role)
            .field("released", &self.manifest.released.len())
            .field("withheld", &self.manifest.withheld.len())
            .finish_non_exhaustive()
    }
}

/// The redaction manifest: an audit entry saying what one recipient received and what was
/// withheld from it by which rule. Holds no patient data (resource ids are hub-generated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// The policy's name.
    pub policy: String,
    /// The policy file version.
    pub policy_version: u32,
    /// The receiving organisation.
    pub organisation: String,
    /// The recipient's role.
    pub role: Role,
    /// Whether the recipient is a registered professional.
    pub registered: bool,
    /// Why the recipient receives the data.
    pub purpose: String,
    /// The legal basis of each released data class.
    pub legal_basis: BTreeMap<DataClass, LegalBasis>,
    /// Every released resource.
    pub released: Vec<Released>,
    /// Every withheld resource, with the rule that withheld it.
    pub withheld: Vec<Withheld>,
}

/// One released resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Released {
    /// e.g. `Flag`.
    pub resource_type: String,
    /// The resource's (hub-generated) id.
    pub resource_id: String,
    /// Its data class; `None` for the Provenance.
    pub data_class: Option<DataClass>,
}

/// One withheld resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Withheld {
    /// e.g. `Condition`.
    pub resource_type: String,
    /// The resource's (hub-generated) id.
    pub resource_id: String,
    /// Its data class, when it has a readable one.
    pub data_class: Option<DataClass>,
    /// The rule that withheld it, e.g. `role-policy:probation:not-permitted:mh-clinical` or
    /// `default-deny:no-data-class`.
    pub rule: String,
}

/// The fate of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Release {
        class: Option<DataClass>,
        basis: Option<LegalBasis>,
    },
    Withhold {
        class: Option<DataClass>,
        rule: String,
    },
}

impl Policy {
    /// Releases `bundle` to `recipient` with no consent on record: consent-based grants are
    /// withheld. See [`Policy::release_with_consent`].
    pub fn release(
        &self,
        bundle: &CanonicalBundle,
        recipient: &Recipient,
    ) -> Result<Releasable, PolicyError> {
        self.release_with_consent(bundle, recipient, &BTreeSet::new())
    }

    /// Releases `bundle` to `recipient`: keeps each resource whose data class the role may see
    /// (`consented`: the classes the person consented to this recipient seeing, checked by the
    /// caller at the moment of release), withholds everything else including resources without
    /// one readable data class, prunes the Provenance's targets to what was released, masks
    /// references to withheld resources, and labels the bundle `REDACTED` if anything was
    /// withheld. Fails with [`PolicyError::NothingReleasable`] when the Patient is withheld.
    pub fn release_with_consent(
        &self,
        bundle: &CanonicalBundle,
        recipient: &Recipient,
        consented: &BTreeSet<DataClass>,
    ) -> Result<Releasable, PolicyError> {
        self.release_json(bundle.as_json(), recipient, consented)
    }

    /// The decision for one non-Provenance resource.
    pub(crate) fn decide_resource(
        &self,
        recipient: &Recipient,
        consented: &BTreeSet<DataClass>,
        resource: &Value,
    ) -> Decision {
        let Some(class) = waymark_fhir::data_class(resource) else {
            let rule = unreadable_class_rule(resource).to_owned();
            return Decision::Withhold { class: None, rule };
        };
        match self.decide(recipient.role, recipient.registered, consented, class) {
            Ok(basis) => Decision::Release {
                class: Some(class),
                basis: Some(basis),
            },
            Err(refusal) => Decision::Withhold {
                class: Some(class),
                rule: format!("role-policy:{}:{}:{class}", recipient.role, refusal.code()),
            },
        }
    }

    pub(crate) fn release_json(
        &self,
        bundle: &Value,
        recipient: &Recipient,
        consented: &BTreeSet<DataClass>,
    ) -> Result<Releasable, PolicyError> {
        let entries: &[Value] = bundle["entry"].as_array().map_or(&[], Vec::as_slice);
        let decisions = self.plan(entries, recipient, consented);
        let patient_id = patient_id(entries, &decisions, recipient.role)?;
        let (released_refs, withheld_refs) = partition_refs(entries, &decisions);
        let mut manifest = self.empty_manifest(recipient);
        let mut kept = Vec::new();
        for (entry, decision) in entries.iter().zip(decisions) {
            let mut entry = entry.clone();
            let decision = prune_provenance(&mut entry, decision, &released_refs);
            let (resource_type, resource_id) = type_and_id(&entry["resource"]);
            match decision {
                Decision::Release { class, basis } => {
                    if let (Some(class), Some(basis)) = (class, basis) {
                        manifest.legal_basis.insert(class, basis);
                    }
                    mask_references(&mut entry["resource"], &withheld_refs);
                    manifest.released.push(Released {
                        resource_type,
                        resource_id,
                        data_class: class,
                    });
                    kept.push(entry);
                }
                Decision::Withhold { class, rule } => {
                    manifest.withheld.push(Withheld {
                        resource_type,
                        resource_id,
                        data_class: class,
                        rule,
                    });
                }
            }
        }
        let bundle = rebuild(bundle, kept, !manifest.withheld.is_empty());
        Ok(Releasable {
            bundle,
            recipient: recipient.clone(),
            manifest,
            patient_id,
        })
    }

    /// Decides every entry; a Provenance is provisionally released (its targets are pruned later).
    fn plan(
        &self,
        entries: &[Value],
        recipient: &Recipient,
        consented: &BTreeSet<DataClass>,
    ) -> Vec<Decision> {
        entries
            .iter()
            .map(|entry| {
                let resource = &entry["resource"];
                if resource["resourceType"] == "Provenance" {
                    Decision::Release {
                        class: None,
                        basis: None,
                    }
                } else {
                    self.decide_resource(recipient, consented, resource)
                }
            })
            .collect()
    }

    fn empty_manifest(&self, recipient: &Recipient) -> Manifest {
        Manifest {
            policy: self.name().to_owned(),
            policy_version: self.version(),
            organisation: recipient.organisation.clone(),
            role: recipient.role,
            registered: recipient.registered,
            purpose: recipient.purpose.clone(),
            legal_basis: BTreeMap::new(),
            released: Vec::new(),
            withheld: Vec::new(),
        }
    }
}

/// The Patient's id, or why nothing can be released.
fn patient_id(
    entries: &[Value],
    decisions: &[Decision],
    role: Role,
) -> Result<String, PolicyError> {
    let (patient, decision) = entries
        .iter()
        .zip(decisions)
        .find(|(e, _)| e["resource"]["resourceType"] == "Patient")
        .ok_or(PolicyError::NoPatient)?;
    if let Decision::Withhold { rule, .. } = decision {
        return Err(PolicyError::NothingReleasable {
            role,
            rule: rule.clone(),
        });
    }
    patient["resource"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or(PolicyError::NoPatient)
}

/// The references naming released entries, and those naming withheld ones.
fn partition_refs(
    entries: &[Value],
    decisions: &[Decision],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut released, mut withheld) = (BTreeSet::new(), BTreeSet::new());
    for (entry, decision) in entries.iter().zip(decisions) {
        let refs = if matches!(decision, Decision::Release { .. }) {
            &mut released
        } else {
            &mut withheld
        };
        refs.extend(refs_of(entry));
    }
    (released, withheld)
}

/// The ways a reference can name an entry: its `fullUrl` and `Type/id`.
fn refs_of(entry: &Value) -> impl Iterator<Item = String> {
    let full_url = entry["fullUrl"].as_str().map(str::to_owned);
    full_url
        .into_iter()
        .chain(waymark_fhir::reference_of(&entry["resource"]))
}

/// Keeps only a Provenance's targets that were released; withholds it when none remain.
fn prune_provenance(
    entry: &mut Value,
    decision: Decision,
    released: &BTreeSet<String>,
) -> Decision {
    if entry["resource"]["resourceType"] != "Provenance" {
        return decision;
    }
    let Some(targets) = entry["resource"]
        .get_mut("target")
        .and_then(Value::as_array_mut)
    else {
        return no_target();
    };
    targets.retain(|t| {
        t["reference"]
            .as_str()
            .is_some_and(|r| released.contains(r))
    });
    if targets.is_empty() {
        no_target()
    } else {
        decision
    }
}

fn no_target() -> Decision {
    Decision::Withhold {
        class: None,
        rule: "provenance:no-released-target".to_owned(),
    }
}

fn type_and_id(resource: &Value) -> (String, String) {
    let text = |v: &Value, fallback: &str| v.as_str().unwrap_or(fallback).to_owned();
    (
        text(&resource["resourceType"], "unknown"),
        text(&resource["id"], ""),
    )
}

/// The bundle with `entries` in place of its own, labelled `REDACTED` if anything was withheld
/// (and without any signature, which would no longer match).
fn rebuild(bundle: &Value, entries: Vec<Value>, redacted: bool) -> Value {
    let mut out: Map<String, Value> = bundle
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "entry" && !(redacted && *k == "signature"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert("entry".to_owned(), Value::Array(entries));
    let mut out = Value::Object(out);
    if redacted {
        add_redacted_label(&mut out);
    }
    out
}

#[cfg(test)]
mod tests;
