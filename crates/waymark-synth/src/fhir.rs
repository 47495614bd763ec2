//! An observation as a FHIR R4 Patient, the way the hub's mappings would produce it: the
//! identifier systems of the HJMD NamingSystems, names with `use` (`official`; aliases and
//! previous names `old`; known-as `nickname`), the identity security labels.

use serde_json::{Value, json};
use waymark_core::{
    CONFIDENTIALITY_SYSTEM, CRO_NUMBER_SYSTEM, DATA_CLASS_SYSTEM, NHS_NUMBER_SYSTEM, PNC_ID_SYSTEM,
    PRISON_NUMBER_SYSTEM, SourceSystem,
};

use crate::observation::{Observation, ObservedName};

/// Identifier system of NOMIS booking ids.
pub const NOMIS_BOOKING_ID_SYSTEM: &str = "https://fhir.waymark.org.uk/Id/nomis-booking-id";

/// Identifier system of a source's own record ids: `https://fhir.waymark.org.uk/Id/<source>-local-id`.
pub fn local_id_system(source: SourceSystem) -> String {
    format!(
        "https://fhir.waymark.org.uk/Id/{}-local-id",
        source.as_str()
    )
}

impl Observation {
    /// The record as a FHIR R4 Patient resource.
    pub fn to_fhir(&self) -> Value {
        let mut patient = json!({
            "resourceType": "Patient",
            "id": self.resource_id,
            "meta": {"security": [
                {"system": DATA_CLASS_SYSTEM, "code": "identity"},
                {"system": CONFIDENTIALITY_SYSTEM, "code": "N"},
            ]},
            "identifier": self.identifiers(),
            "name": self.names.iter().map(name).collect::<Vec<_>>(),
            "gender": self.sex.map_or("unknown", |s| s.fhir_code()),
            "birthDate": self.birth_date.format("%Y-%m-%d").to_string(),
        });
        if let (Some(pc), Some(obj)) = (&self.postcode, patient.as_object_mut()) {
            obj.insert("address".into(), json!([{"use": "home", "postalCode": pc}]));
        }
        patient
    }

    fn identifiers(&self) -> Vec<Value> {
        let local = if self.source == SourceSystem::Nomis {
            NOMIS_BOOKING_ID_SYSTEM.to_owned()
        } else {
            local_id_system(self.source)
        };
        [
            (NHS_NUMBER_SYSTEM, self.nhs_number.as_deref()),
            (PNC_ID_SYSTEM, self.pnc_id.as_deref()),
            (CRO_NUMBER_SYSTEM, self.cro_number.as_deref()),
            (PRISON_NUMBER_SYSTEM, self.prison_number.as_deref()),
            (local.as_str(), Some(self.local_id.as_str())),
        ]
        .into_iter()
        .filter_map(|(system, value)| Some(json!({"system": system, "value": value?})))
        .collect()
    }
}

fn name(n: &ObservedName) -> Value {
    json!({"use": n.name_use.fhir_code(), "family": n.family, "given": n.given})
}
