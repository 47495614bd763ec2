//! What the map and record stages put on the bus: some metadata and a canonical bundle. The
//! next stage re-validates the bundle rather than trusting bytes (ADR 0004).

use serde::de::DeserializeOwned;
use serde_json::Value;
use waymark_fhir::{Issue, OperationOutcome};
use waymark_profile::{CanonicalBundle, Validator};

use crate::Refusal;

#[derive(serde::Deserialize)]
struct Carried<M> {
    #[serde(flatten)]
    meta: M,
    bundle: Value,
}

/// Decodes `{ ..meta, "bundle": ... }` and re-validates the bundle. Pure.
pub(crate) fn read<M: DeserializeOwned>(
    bytes: &[u8],
    validator: &Validator,
    decode_code: &str,
) -> Result<(M, CanonicalBundle), Refusal> {
    let carried: Carried<M> = serde_json::from_slice(bytes).map_err(|_| {
        let text = "the stage message is not of the shape this stage reads";
        let issue = Issue::error(waymark_core::IssueType::Structure, decode_code, text);
        Refusal {
            code: decode_code.to_owned(),
            outcome: OperationOutcome::single(issue),
        }
    })?;
    let bundle = validator
        .validate(carried.bundle)
        .map_err(|outcome| Refusal {
            code: "profile.invalid".to_owned(),
            outcome,
        })?;
    Ok((carried.meta, bundle))
}
