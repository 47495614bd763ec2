//! Releasing a canonical bundle to one recipient: [`Policy::release`], [`Releasable`] and its
//! [`Manifest`].

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use waymark_core::{DataClass, Role};
use waymark_profile::CanonicalBundle;

use crate::{
    LegalBasis, Manifest, Policy, PolicyError, Recipient, ReleaseContext, Released, Withheld,
    decide::{ClassDecision, Decisions},
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

    /// Whether the privacy officer must be alerted (break-glass was requested).
    pub fn privacy_officer_alert(&self) -> bool {
        self.manifest.privacy_officer_alert
    }

    /// The bundle, for the release functions of this crate to finish.
    pub(crate) fn bundle_mut(&mut self) -> &mut Value {
        &mut self.bundle
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
    /// Releases `bundle` to `recipient` with no Consent on record and no break-glass:
    /// consent-based grants are withheld. See [`Policy::release_with_consent`].
    pub fn release(
        &self,
        bundle: &CanonicalBundle,
        recipient: &Recipient,
    ) -> Result<Releasable, PolicyError> {
        let cx = ReleaseContext::without_consent(DateTime::<Utc>::UNIX_EPOCH);
        self.release_with_consent(bundle, recipient, &cx)
    }

    /// Releases `bundle` to `recipient`: decides every data class once (role policy, the
    /// person's Consents at `cx.now`, legal basis, break-glass; see the rule in
    /// [`crate::decide`]), keeps each resource whose class is released, withholds everything
    /// else including resources without one readable data class, adds the derived alerts that
    /// apply, prunes the Provenance's targets to what was released, masks references to
    /// withheld resources, and labels the bundle `REDACTED` if anything was withheld. Fails with
    /// [`PolicyError::NothingReleasable`] when the Patient is withheld.
    pub fn release_with_consent(
        &self,
        bundle: &CanonicalBundle,
        recipient: &Recipient,
        cx: &ReleaseContext<'_>,
    ) -> Result<Releasable, PolicyError> {
        self.release_json(bundle.as_json(), recipient, cx)
    }

    /// The decision for one non-Provenance resource.
    pub(crate) fn decide_resource(decisions: &Decisions, resource: &Value) -> Decision {
        let Some(class) = waymark_fhir::data_class(resource) else {
            let rule = unreadable_class_rule(resource).to_owned();
            return Decision::Withhold { class: None, rule };
        };
        match decisions.get(class) {
            Some(ClassDecision::Release { basis, .. }) => Decision::Release {
                class: Some(class),
                basis: Some(*basis),
            },
            Some(ClassDecision::Withhold { rule }) => Decision::Withhold {
                class: Some(class),
                rule: rule.clone(),
            },
            None => Decision::Withhold {
                class: Some(class),
                rule: format!("default-deny:undecided:{class}"),
            },
        }
    }

    pub(crate) fn release_json(
        &self,
        bundle: &Value,
        recipient: &Recipient,
        cx: &ReleaseContext<'_>,
    ) -> Result<Releasable, PolicyError> {
        let entries: &[Value] = bundle["entry"].as_array().map_or(&[], Vec::as_slice);
        let by_class = self.decide_classes(recipient, cx);
        let decisions = plan(entries, &by_class);
        let patient_id = patient_id(entries, &decisions, recipient.role)?;
        let (released_refs, withheld_refs) = partition_refs(entries, &decisions);
        let mut manifest = self.empty_manifest(recipient, cx, &by_class);
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
        kept.extend(self.derived_alerts(entries, &patient_id, &by_class, &mut manifest));
        let bundle = rebuild(bundle, kept, !manifest.withheld.is_empty());
        Ok(Releasable {
            bundle,
            recipient: recipient.clone(),
            manifest,
            patient_id,
        })
    }

    fn empty_manifest(
        &self,
        recipient: &Recipient,
        cx: &ReleaseContext<'_>,
        decisions: &Decisions,
    ) -> Manifest {
        Manifest {
            decided_at: cx.now,
            consent: decisions.consent.iter().cloned().collect(),
            derived_alerts: Vec::new(),
            privacy_officer_alert: decisions.break_glass.is_some(),
            break_glass: decisions.break_glass.clone(),
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

/// Decides every entry; a Provenance is provisionally released (its targets are pruned later).
fn plan(entries: &[Value], decisions: &Decisions) -> Vec<Decision> {
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
                Policy::decide_resource(decisions, resource)
            }
        })
        .collect()
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

mod person;

#[cfg(test)]
mod tests;
