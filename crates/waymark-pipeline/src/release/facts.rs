//! What a subscription's filters are matched against: the event's establishment and the
//! person's identifiers, read from the canonical bundle. Pure.

use serde_json::Value;
use waymark_delivery::EventFacts;

use crate::telemetry;

/// The facts of an event whose canonical bundle is `bundle`: the establishment (custody suite
/// or prison code) from `Encounter.location`, read where the feed-health board reads a site,
/// and every `system|value` identifier of the Patient. Holds identifiers: never log it.
pub fn event_facts(bundle: &Value) -> EventFacts {
    let identifiers = waymark_fhir::entries(bundle)
        .filter(|r| r["resourceType"] == "Patient")
        .flat_map(|r| r["identifier"].as_array().into_iter().flatten())
        .filter_map(|id| {
            Some((
                id["system"].as_str()?.to_owned(),
                id["value"].as_str()?.to_owned(),
            ))
        })
        .collect();
    EventFacts {
        establishment: telemetry::site_of(bundle),
        identifiers,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn facts_are_the_encounter_site_and_the_patient_identifiers() {
        let bundle = json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p", "identifier": [
                {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"},
                {"system": "no-value"}
            ]}},
            {"resource": {"resourceType": "Encounter", "id": "e", "location": [
                {"status": "active", "location": {"identifier": {
                    "system": telemetry::ESTABLISHMENT_SYSTEM, "value": "LEI"}}}
            ]}}
        ]});
        let facts = event_facts(&bundle);
        assert_eq!(facts.establishment.as_deref(), Some("LEI"));
        assert_eq!(
            facts.identifiers,
            [(
                "https://fhir.nhs.uk/Id/nhs-number".to_owned(),
                "9434765919".to_owned()
            )]
        );
        assert_eq!(event_facts(&json!({})), EventFacts::default());
    }
}
