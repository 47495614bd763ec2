//! Pure: what an SCR API answer means. The SCR FHIR API is searched in two steps, the way the
//! real samples show: `GET /DocumentReference?patient=<nhs-number system>|<nhs>&type=<GP summary>`
//! finds the person's GP summary (a searchset of DocumentReferences; its `masterIdentifier` is
//! the summary's id), then `GET /Bundle?composition.identifier=<id>&composition.subject:Patient.identifier=…`
//! fetches it (a searchset holding the Composition and every resource it references).
//! Either step may instead answer "no consent" (an OperationOutcome with issue code
//! `forbidden`, PSIS-30418: access control does not permit access) or "no result" (an empty
//! searchset).

use serde_json::Value;

use crate::ScrError;

/// SNOMED CT "General Practice Summary", the document type searched for.
pub const GP_SUMMARY_TYPE: &str = "196981000000101";

/// What one step's answer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Step 1 found the GP summary with this id (checked: `[A-Za-z0-9-]`, at most 64).
    Found(String),
    /// Step 2 returned the summary (a searchset with a Composition).
    Summary,
    /// Access control refused: no consent.
    NoConsent,
    /// No record.
    NoResult,
    /// Never from `classify`: a malformed body that outlived the retries.
    Malformed,
}

/// Which step an answer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    Documents,
    Summary,
}

/// Classifies an answer with HTTP `status` and `body`.
pub(crate) fn classify(which: Which, status: u16, body: &[u8]) -> Result<Step, ScrError> {
    let json = serde_json::from_slice::<Value>(body).ok();
    let kind = json
        .as_ref()
        .and_then(|v| v.get("resourceType"))
        .and_then(Value::as_str);
    match (status, kind) {
        (200..=299 | 403, Some("OperationOutcome")) if is_forbidden(json.as_ref()) => {
            Ok(Step::NoConsent)
        }
        (200..=299, Some("Bundle")) => bundle(which, json.as_ref()),
        (200..=299, _) => Err(ScrError::Malformed),
        (status, _) => Err(ScrError::Status { status }),
    }
}

fn is_forbidden(outcome: Option<&Value>) -> bool {
    outcome
        .and_then(|o| o.get("issue"))
        .and_then(Value::as_array)
        .is_some_and(|issues| {
            issues
                .iter()
                .any(|i| i.get("code").and_then(Value::as_str) == Some("forbidden"))
        })
}

fn bundle(which: Which, json: Option<&Value>) -> Result<Step, ScrError> {
    let Some(bundle) = json else {
        return Err(ScrError::Malformed);
    };
    if bundle.get("type").and_then(Value::as_str) != Some("searchset") {
        return Err(ScrError::Malformed);
    }
    let entries = bundle.get("entry").and_then(Value::as_array);
    let resources: Vec<&Value> = entries
        .map(|e| e.iter().filter_map(|e| e.get("resource")).collect())
        .unwrap_or_default();
    if resources.is_empty() {
        let total = bundle.get("total").and_then(Value::as_u64).unwrap_or(0);
        return if total == 0 {
            Ok(Step::NoResult)
        } else {
            Err(ScrError::Malformed)
        };
    }
    match which {
        Which::Documents => summary_id(&resources).map(Step::Found),
        Which::Summary if has_type(&resources, "Composition") => Ok(Step::Summary),
        Which::Summary => Err(ScrError::Malformed),
    }
}

fn has_type(resources: &[&Value], kind: &str) -> bool {
    resources
        .iter()
        .any(|r| r.get("resourceType").and_then(Value::as_str) == Some(kind))
}

/// The `masterIdentifier` of the current GP-summary DocumentReference.
fn summary_id(resources: &[&Value]) -> Result<String, ScrError> {
    let found = resources.iter().find(|r| {
        r.get("resourceType").and_then(Value::as_str) == Some("DocumentReference")
            && r.get("status").and_then(Value::as_str) != Some("entered-in-error")
            && r.pointer("/type/coding")
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.get("code").and_then(Value::as_str) == Some(GP_SUMMARY_TYPE))
                })
    });
    let id = found
        .and_then(|r| r.pointer("/masterIdentifier/value"))
        .and_then(Value::as_str)
        .ok_or(ScrError::Malformed)?;
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(id.to_owned())
    } else {
        Err(ScrError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/real/");

    fn real(name: &str) -> Vec<u8> {
        std::fs::read(format!("{REAL}uat__{name}__1-basic.response.json")).unwrap()
    }

    #[test]
    fn real_answers_are_classified() {
        let found = classify(Which::Documents, 200, &real("get_scr_id__success"));
        assert_eq!(
            found.unwrap(),
            Step::Found("FA60BE64-1F34-11EB-A2A8-000C29A364EB".into())
        );
        let summary = classify(Which::Summary, 200, &real("get_scr__success"));
        assert_eq!(summary.unwrap(), Step::Summary);
        for (which, name) in [
            (Which::Documents, "get_scr_id__no_consent"),
            (Which::Summary, "get_scr__no_consent"),
        ] {
            assert_eq!(classify(which, 200, &real(name)).unwrap(), Step::NoConsent);
            assert_eq!(classify(which, 403, &real(name)).unwrap(), Step::NoConsent);
        }
        let none = classify(Which::Documents, 200, &real("get_scr_id__no_results"));
        assert_eq!(none.unwrap(), Step::NoResult);
    }

    #[test]
    fn anything_else_is_malformed_or_a_status() {
        for body in [&b"{not json"[..], b"[]", br#"{"resourceType":"Patient"}"#] {
            assert!(matches!(
                classify(Which::Summary, 200, body),
                Err(ScrError::Malformed)
            ));
        }
        let docs_without_summary = br#"{"resourceType":"Bundle","type":"searchset","total":1,"entry":[{"resource":{"resourceType":"Patient"}}]}"#;
        assert!(matches!(
            classify(Which::Documents, 200, docs_without_summary),
            Err(ScrError::Malformed)
        ));
        assert!(matches!(
            classify(Which::Summary, 503, b""),
            Err(ScrError::Status { status: 503 })
        ));
        assert!(matches!(
            classify(Which::Summary, 403, b"{}"),
            Err(ScrError::Status { status: 403 })
        ));
    }
}
