//! Adding the derived alerts that apply to one release.

use serde_json::Value;

use crate::{
    Manifest, Policy, Released,
    decide::{ClassDecision, Decisions},
};

impl Policy {
    /// The Flag entries of every derived alert for this recipient whose trigger class the role
    /// policy withheld (rules `role-policy:*`, never a consent refusal) and whose own class is
    /// released to the recipient; each is recorded in `manifest`.
    pub(crate) fn derived_alerts(
        &self,
        entries: &[Value],
        patient_id: &str,
        decisions: &Decisions,
        manifest: &mut Manifest,
    ) -> Vec<Value> {
        let patient_ref = entries
            .iter()
            .find(|e| e["resource"]["resourceType"] == "Patient")
            .and_then(|e| e["fullUrl"].as_str())
            .map_or_else(|| format!("Patient/{patient_id}"), str::to_owned);
        let mut out = Vec::new();
        for alert in self.alerts.alerts() {
            if !alert.roles.contains(&manifest.role) {
                continue;
            }
            let triggered = manifest.withheld.iter().any(|w| {
                w.rule.starts_with("role-policy:")
                    && w.data_class
                        .is_some_and(|c| alert.when_withheld.contains(&c))
            });
            let Some(ClassDecision::Release { basis, .. }) = decisions.get(alert.class) else {
                continue;
            };
            if !triggered {
                continue;
            }
            let basis = *basis;
            manifest.legal_basis.insert(alert.class, basis);
            manifest.released.push(Released {
                resource_type: "Flag".to_owned(),
                resource_id: alert.flag_id(patient_id),
                data_class: Some(alert.class),
            });
            manifest
                .derived_alerts
                .push(format!("derived-alert:{}", alert.id));
            out.push(alert.entry(patient_id, &patient_ref));
        }
        out
    }
}
