//! What GP Connect Access Record: Structured asks of a consumer: the `Parameters` body of
//! `$gpc.getstructuredrecord`, the Spine headers and the bearer JWT.
//!
//! The JWT carries the GP Connect claims and is unsigned (`alg: none`), as the GP Connect
//! specification has consumers send it; the Spine Secure Proxy authenticates the system by TLS.

use base64::Engine as _;
use chrono::{DateTime, Duration, Months, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The operation's path under the provider's FHIR base.
pub const STRUCTURED_RECORD_PATH: &str = "/Patient/$gpc.getstructuredrecord";
/// `Ssp-InteractionID` of the operation.
pub const INTERACTION_ID: &str =
    "urn:nhs:names:services:gpconnect:fhir:operation:gpc.getstructuredrecord-1";
/// The FHIR JSON media type GP Connect uses.
pub const FHIR_JSON: &str = "application/fhir+json";
/// The NHS number identifier system.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// Who the adapter is to Spine: its ASID, the provider's, and the organisation and user it
/// asks on behalf of. None of it is patient data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpcIdentity {
    /// `Ssp-From`: the consumer system's ASID.
    pub from_asid: String,
    /// `Ssp-To`: the provider system's ASID.
    pub to_asid: String,
    /// ODS code of the requesting organisation (the prison healthcare provider).
    pub ods_code: String,
    /// SDS user id of the requesting practitioner (a system user for automated pulls).
    pub user_id: String,
}

impl Default for GpcIdentity {
    fn default() -> Self {
        Self {
            from_asid: "200000001234".into(),
            to_asid: "918999198993".into(),
            ods_code: "Y05537".into(),
            user_id: "waymark-adapter".into(),
        }
    }
}

/// The `Parameters` body: the patient, allergies (resolved included), medication from
/// `months` before `at` (with prescription issues) and problems (all, unfiltered).
///
/// GP Connect 1.2 and later express the medication period as `medicationSearchFromDate` (the
/// start; the end is today), replacing 0.7's `medicationDatePeriod`.
pub fn parameters(nhs_number: &str, at: DateTime<Utc>, months: u32) -> Value {
    let from = at
        .date_naive()
        .checked_sub_months(Months::new(months))
        .unwrap_or_else(|| at.date_naive());
    json!({
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patientNHSNumber",
             "valueIdentifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs_number}},
            {"name": "includeAllergies",
             "part": [{"name": "includeResolvedAllergies", "valueBoolean": true}]},
            {"name": "includeMedication",
             "part": [{"name": "includePrescriptionIssues", "valueBoolean": true},
                      {"name": "medicationSearchFromDate",
                       "valueDate": from.format("%Y-%m-%d").to_string()}]},
            {"name": "includeProblems"}
        ]
    })
}

/// The claims GP Connect requires, unsigned (`header.payload.`), valid for 5 minutes.
pub fn bearer_jwt(identity: &GpcIdentity, audience: &str, now: DateTime<Utc>) -> String {
    let b64 = |value: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string().as_bytes())
    };
    let header = json!({"alg": "none", "typ": "JWT"});
    let claims = json!({
        "iss": "https://waymark.invalid/systmone-adapter",
        "sub": identity.user_id,
        "aud": audience,
        "exp": (now + Duration::minutes(5)).timestamp(),
        "iat": now.timestamp(),
        "reason_for_request": "directcare",
        "requested_scope": "patient/*.read",
        "requesting_device": {
            "resourceType": "Device",
            "identifier": [{"system": "https://waymark.invalid/device", "value": "systmone-adapter"}],
            "model": "waymark-adapter-systmone",
            "version": env!("CARGO_PKG_VERSION")
        },
        "requesting_organization": {
            "resourceType": "Organization",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code",
                            "value": identity.ods_code}]
        },
        "requesting_practitioner": {
            "resourceType": "Practitioner",
            "id": "1",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": identity.user_id},
                           {"system": "https://fhir.nhs.uk/Id/sds-role-profile-id", "value": "1"}],
            "name": [{"family": "Adapter", "given": ["Waymark"]}]
        }
    });
    format!("{}.{}.", b64(&header), b64(&claims))
}

/// The claims of an unsigned JWT, if it is one with the GP Connect claims present.
pub fn read_claims(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !signature.is_empty() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let required = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "reason_for_request",
        "requested_scope",
        "requesting_device",
        "requesting_organization",
        "requesting_practitioner",
    ];
    required
        .iter()
        .all(|k| claims.get(k).is_some())
        .then_some(claims)
}

/// The Spine error code of an OperationOutcome (`issue[0].details.coding[0].code`), if it is a
/// plain upper-case token (anything else could carry text from the provider).
pub fn spine_code(outcome: &Value) -> Option<String> {
    let code = outcome
        .pointer("/issue/0/details/coding/0/code")?
        .as_str()?;
    let plain = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    plain.then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwt_carries_the_gp_connect_claims_unsigned() {
        let now = Utc::now();
        let token = bearer_jwt(&GpcIdentity::default(), "http://x/", now);
        assert!(token.ends_with('.'));
        let claims = read_claims(&token).unwrap();
        assert_eq!(claims["reason_for_request"], "directcare");
        assert_eq!(claims["requested_scope"], "patient/*.read");
        assert!(read_claims("a.b.c").is_none());
        assert!(read_claims("not a token").is_none());
    }

    #[test]
    fn parameters_name_the_patient_and_the_medication_period() {
        let at = DateTime::parse_from_rfc3339("2025-03-31T10:00:00Z")
            .unwrap()
            .to_utc();
        let body = parameters("9434765919", at, 12);
        assert_eq!(
            body["parameter"][0]["valueIdentifier"]["value"],
            "9434765919"
        );
        assert_eq!(body["parameter"][2]["part"][1]["valueDate"], "2024-03-31");
    }

    #[test]
    fn spine_codes_must_be_plain_tokens() {
        let oo = |code: &str| json!({"issue": [{"details": {"coding": [{"code": code}]}}]});
        assert_eq!(
            spine_code(&oo("PATIENT_NOT_FOUND")).as_deref(),
            Some("PATIENT_NOT_FOUND")
        );
        assert_eq!(spine_code(&oo("Patient 9434765919")), None);
        assert_eq!(spine_code(&json!({})), None);
    }
}
