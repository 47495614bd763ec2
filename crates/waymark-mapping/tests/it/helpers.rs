//! The native helpers added for integration engineers, and the runner's label check, as a
//! mapping author meets them: through a program.

use chrono::DateTime;
use serde_json::{Value, json};
use waymark_core::{Envelope, ErrorCode, MessageId, NewEnvelope, SourceSystem};
use waymark_mapping::{MappingError, MappingSet};

const CANARY: &str = "CANARY-9434765919";

fn set(body: &str) -> (tempfile::TempDir, MappingSet) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("nomis")).unwrap();
    std::fs::create_dir_all(dir.path().join("terminology")).unwrap();
    let labels = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../mappings/terminology/labels.json");
    std::fs::copy(labels, dir.path().join("terminology/labels.json")).unwrap();
    let code = format!(
        "# waymark-mapping: 1\n# source: nomis\n# message-types: T\n# version: 2.1.0\n\
         # profile: hjmd-bundle\n{body}"
    );
    std::fs::write(dir.path().join("nomis/t.jq"), code).unwrap();
    let set = MappingSet::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    (dir, set)
}

fn envelope(message: &Value) -> Envelope {
    let params = NewEnvelope {
        id: MessageId::derive(SourceSystem::Nomis, "helpers"),
        source: SourceSystem::Nomis,
        message_type: "T",
        event_time: None,
        received_at: DateTime::from_timestamp(1_700_000_060, 0).unwrap(),
        content_type: "application/json",
    };
    Envelope::new(params, message.to_string().into_bytes())
}

/// Runs `expr` (with `.` the message) and returns its value.
fn eval(expr: &str, message: &Value) -> Value {
    let (_dir, set) = set(&format!(
        "{{resourceType: \"Bundle\", out: (.message | [{expr}])}}"
    ));
    let out = set
        .map(&envelope(message))
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    out["out"].clone()
}

fn fails(expr: &str, message: &Value) -> MappingError {
    let (_dir, set) = set(&format!(
        "{{resourceType: \"Bundle\", out: (.message | {expr})}}"
    ));
    set.map(&envelope(message)).unwrap_err()
}

fn adt() -> Value {
    json!({"segments": [
        {"name": "MSH", "fields": ["|", "^~\\&", "EXCELICARE", "CUSTODY", "WAYMARK", "HUB",
                                   "20240502160511+0100", "", [["ADT", "A04"]], "MSG0001", "P", "2.4"]},
        {"name": "PID", "fields": [
            "1", "",
            [["9434765919", "", "", "NHS", "NH"], ["A1234BC", "", "", "NOMIS", "PI"]],
            "",
            [["Smith", "John", "Paul"], ["Smyth", "Jon"]],
            "",
            "19800101",
            "M",
            "\"\""]},
        {"name": "OBX", "fields": ["1", "ST", [["SH", "Self harm", ["L", "local"]]], "", "Y"]},
        {"name": "OBX", "fields": ["2", "NM", [["WT", "Weight"]], "", 72]}
    ]})
}

#[test]
fn hl7_fields_components_and_repetitions() {
    let got = eval(
        r#"wm_hl7("PID-3.1"), wm_hl7("PID-3[2].1"), wm_hl7("PID-3[2].4"), wm_hl7("PID-5"),
           wm_hl7("PID-5.2"), wm_hl7("PID-5[2].2"), wm_hl7("PID-7"), wm_hl7("PID-9"),
           wm_hl7("PID-2"), wm_hl7("PID-30"), wm_hl7("PID-3[9].1"), wm_hl7("MSH-9.2"),
           wm_hl7("OBX[2]-5"), wm_hl7("OBX-3.3.2"), wm_hl7("ZZZ-1"),
           wm_hl7_count("PID-3"), wm_hl7_count("PID-2"), wm_hl7_count("OBX"),
           [wm_hl7_segments("OBX")[] | wm_hl7("OBX-3.1")],
           (wm_hl7("MSH-7") | wm_hl7_date)"#,
        &adt(),
    );
    assert_eq!(
        got,
        json!([
            "9434765919",
            "A1234BC",
            "NOMIS",
            "Smith",
            "John",
            "Jon",
            "19800101",
            null,
            null,
            null,
            null,
            "A04",
            "72",
            "local",
            null,
            2,
            0,
            2,
            ["SH", "WT"],
            "2024-05-02T16:05:11+01:00"
        ])
    );
}

#[test]
fn hl7_paths_and_shapes_fail_with_value_free_reasons() {
    for (expr, reason) in [
        (r#"wm_hl7("PID.3")"#, "wm_hl7: the path is not of the form"),
        (r#"wm_hl7("PID")"#, "wm_hl7: the path names no field"),
        (
            r#"{segments: [{name: "PID", fields: [{}]}]} | wm_hl7("PID-1")"#,
            "wm_hl7: the HL7 tree is not in the documented shape",
        ),
        (r#"wm_hl7_count("PID-3.1")"#, "wm_hl7_count: count segments"),
        (
            r#""x" | wm_hl7("PID-1")"#,
            "wm_hl7: the HL7 tree is not in the documented shape",
        ),
    ] {
        let err = fails(expr, &adt());
        match &err {
            MappingError::Runtime { reason: r, .. } => {
                assert!(r.starts_with(reason), "{expr}: {r}")
            }
            other => panic!("{expr}: {other}"),
        }
    }
}

#[test]
fn hl7_dates_become_iso_dates() {
    let got = eval(
        r#""20240502" | wm_hl7_date, ("202405021605" | wm_hl7_date), ("202405021605" | wm_hl7_date("+01:00")),
           ("20240230" | wm_hl7_date), (null | wm_hl7_date), (19800101 | wm_hl7_date)"#,
        &json!({}),
    );
    assert_eq!(
        got,
        json!([
            "2024-05-02",
            "2024-05-02T16:05:00",
            "2024-05-02T16:05:00+01:00",
            null,
            null,
            "1980-01-01"
        ])
    );
}

#[test]
fn nhs_numbers_and_pnc_ids_are_normalised_or_null() {
    let got = eval(
        r#""943 476 5919" | wm_nhs_number, ("943-476-5919" | wm_nhs_number), (9434765919 | wm_nhs_number),
           ("9434765918" | wm_nhs_number), ("94347659" | wm_nhs_number), ({} | wm_nhs_number),
           ("2003/0011985X" | wm_pnc), ("03/11985x" | wm_pnc), ("20030011985X" | wm_pnc),
           ("2003/0011985Y" | wm_pnc), ("03/11985" | wm_pnc), ("é3/11985X" | wm_pnc), (null | wm_pnc)"#,
        &json!({}),
    );
    assert_eq!(
        got,
        json!([
            "9434765919",
            "9434765919",
            "9434765919",
            null,
            null,
            null,
            "03/0011985X",
            "03/0011985X",
            "03/0011985X",
            null,
            null,
            null,
            null
        ])
    );
}

#[test]
fn security_labels_come_from_labels_json() {
    let got = eval(
        r#"wm_security("identity"), wm_security("mh-clinical"), wm_security("risk-self"; "V")"#,
        &json!({}),
    );
    assert_eq!(got[0][1]["code"], "N");
    assert_eq!(
        got[1][1]["code"], "V",
        "mh-clinical defaults to very restricted"
    );
    assert_eq!(got[2][1]["code"], "V");
    assert_eq!(got[2][0]["system"], waymark_core::DATA_CLASS_SYSTEM);
    let err = fails(r#"wm_security(.x)"#, &json!({"x": CANARY}));
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("wm_security: the data class is not one of"),
        "{text}"
    );
    assert!(!text.contains("CANARY"), "{text}");
    let err = fails(r#"wm_security("identity"; "Q")"#, &json!({}));
    assert!(
        err.to_string().contains("confidentiality is not one of"),
        "{err}"
    );
}

#[test]
fn every_resource_needs_both_labels_and_the_error_names_the_mapping_and_entry() {
    let entry = |security: &str| {
        format!(
            "{{fullUrl: \"urn:uuid:p\", resource: {{resourceType: \"Patient\", id: \"p\", meta: {{security: {security}}}}}}}"
        )
    };
    let (_dir, ok_set) = set(&format!(
        "{{resourceType: \"Bundle\", entry: [{}]}}",
        entry("wm_security(\"identity\")")
    ));
    assert!(ok_set.map(&envelope(&json!({}))).is_ok());
    for (security, why) in [
        ("[]", "(Patient) has no data-class label in `meta.security`"),
        (
            "[wm_security(\"identity\")[0]]",
            "(Patient) has no confidentiality label",
        ),
        (
            "wm_security(\"identity\") + [wm_security(\"contact\")[0]]",
            "has 2 data-class labels",
        ),
        (
            "[{system: \"x\", code: \"identity\"}]",
            "has no data-class label",
        ),
    ] {
        let (_dir, set) = set(&format!(
            "{{resourceType: \"Bundle\", entry: [{}]}}",
            entry(security)
        ));
        let err = set.map(&envelope(&json!({}))).unwrap_err();
        assert_eq!(err.code(), "mapping.output", "{security}");
        let text = err.to_string();
        assert!(text.contains("`Bundle.entry[0].resource`"), "{text}");
        assert!(text.contains(why), "{security}: {text}");
        assert!(text.contains("mapping `nomis/t` 2.1.0"), "{text}");
    }
}
