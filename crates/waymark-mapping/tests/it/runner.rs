//! The runner's contract: selection, input checks, compile and header errors that name the
//! place, runtime errors without input values, bounded output, deterministic results.

use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde_json::{Value, json};
use waymark_core::{Envelope, ErrorCode, MessageId, NewEnvelope, SourceSystem};
use waymark_mapping::{MAX_PAYLOAD_BYTES, MappingError, MappingInput, MappingSet};

const CANARY: &str = "CANARY-A1234BC";

fn header(types: &str) -> String {
    format!(
        "# waymark-mapping: 1\n# source: nomis\n# message-types: {types}\n# version: 0.1.0\n\
         # profile: hjmd-bundle\n"
    )
}

fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

/// A mappings folder holding `files` (paths relative to it) and the real ConceptMaps.
fn temp_set(files: &[(&str, String)]) -> (tempfile::TempDir, Result<MappingSet, MappingError>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("nomis")).unwrap();
    std::fs::create_dir_all(dir.path().join("terminology")).unwrap();
    let map = "ConceptMap-nomis-alert-type-to-data-class.json";
    std::fs::copy(
        mappings_dir().join("terminology").join(map),
        dir.path().join("terminology").join(map),
    )
    .unwrap();
    for (path, code) in files {
        std::fs::write(dir.path().join(path), code).unwrap();
    }
    let set = MappingSet::load(dir.path());
    (dir, set)
}

fn program(body: &str) -> MappingSet {
    let (_dir, set) = temp_set(&[("nomis/t.jq", header("T") + body)]);
    set.unwrap_or_else(|e| panic!("{e}"))
}

fn envelope(message_type: &str, payload: &[u8], context: Value) -> Envelope {
    let params = NewEnvelope {
        id: MessageId::derive(SourceSystem::Nomis, "test"),
        source: SourceSystem::Nomis,
        message_type,
        event_time: DateTime::from_timestamp(1_700_000_000, 0),
        received_at: DateTime::from_timestamp(1_700_000_060, 0).unwrap(),
        content_type: "application/json",
    };
    Envelope::new(params, payload.to_vec()).with_context(context)
}

fn real_set() -> MappingSet {
    MappingSet::load(&mappings_dir()).unwrap()
}

#[test]
fn unknown_message_type_has_no_mapping() {
    let env = envelope("PRISONER_TELEPORTED", b"{}", Value::Null);
    let err = real_set().map(&env).unwrap_err();
    assert_eq!(err.code(), "mapping.no-mapping");
    assert!(matches!(
        err,
        MappingError::NoMapping {
            source_system: SourceSystem::Nomis,
            ..
        }
    ));
    let other_source = Envelope {
        source: SourceSystem::Athena,
        ..env
    };
    assert_eq!(
        real_set().map(&other_source).unwrap_err().code(),
        "mapping.no-mapping"
    );
}

#[test]
fn payload_that_is_not_json_is_refused_without_quoting_it() {
    let payload = format!("{{\"nomsId\": \"{CANARY}\", oops");
    let env = envelope(
        "EXTERNAL_MOVEMENT_RECORD-INSERTED",
        payload.as_bytes(),
        Value::Null,
    );
    let err = real_set().map(&env).unwrap_err();
    assert_eq!(err.code(), "mapping.not-json");
    assert!(!err.to_string().contains("CANARY"), "{err}");
}

#[test]
fn oversized_payload_is_refused() {
    let payload = format!("\"{}\"", "x".repeat(MAX_PAYLOAD_BYTES));
    let env = envelope(
        "EXTERNAL_MOVEMENT_RECORD-INSERTED",
        payload.as_bytes(),
        Value::Null,
    );
    let err = real_set().map(&env).unwrap_err();
    assert_eq!(err.code(), "mapping.too-large");
    assert_eq!(err.issue_type().code(), "too-costly");
}

fn compile_error(code: &str) -> (PathBuf, usize, usize, String) {
    let (_dir, set) = temp_set(&[("nomis/broken.jq", header("T") + code)]);
    let err = set.unwrap_err();
    assert_eq!(err.code(), "mapping.compile", "{err}");
    let text = err.to_string();
    match err {
        MappingError::Compile {
            file,
            line,
            column,
            reason,
        } => {
            assert!(
                text.contains(&format!("broken.jq`:{line}:{column}: ")),
                "{text}"
            );
            (file, line, column, reason)
        }
        other => panic!("{other}"),
    }
}

#[test]
fn compile_errors_name_file_line_and_column() {
    // The header is 5 lines; the program starts on line 6.
    let (file, line, column, reason) =
        compile_error("{resourceType: \"Bundle\"}\n| .a |\n  map(.b + )\n");
    assert!(file.ends_with("nomis/broken.jq"));
    assert_eq!((line, column), (8, 12), "{reason}");
    assert!(reason.starts_with("expected term"), "{reason}");

    let (_, line, column, reason) = compile_error(".\n| [1, 2]\n  | nosuch(1)\n");
    assert_eq!(
        (line, column, reason.as_str()),
        (8, 5, "undefined filter `nosuch/1`")
    );

    let (_, line, column, reason) = compile_error(".a\n| [\"unterminated]\n");
    assert_eq!(
        (line, column, reason.as_str()),
        (7, 4, "`\"` is never closed")
    );
}

#[test]
fn impure_builtins_do_not_compile() {
    for (code, name) in [
        ("now", "now/0"),
        ("env", "env/0"),
        ("debug", "debug/0"),
        ("1 | localtime", "localtime/0"),
        ("halt_error", "halt_error/0"),
    ] {
        let (_, line, column, reason) = compile_error(code);
        assert_eq!(
            (line, column),
            (6, code.find(name.split('/').next().unwrap()).unwrap() + 1)
        );
        assert_eq!(reason, format!("undefined filter `{name}`"));
    }
    let (_, _, _, reason) = compile_error("include \"x\"; .");
    assert_eq!(reason, "mappings cannot include or import modules");
}

#[test]
fn header_problems_name_file_and_line() {
    let (_dir, set) = temp_set(&[("nomis/noheader.jq", ".\n".to_owned())]);
    match set.unwrap_err() {
        MappingError::Header { file, line, .. } => {
            assert!(file.ends_with("noheader.jq"));
            assert_eq!(line, 1);
        }
        other => panic!("{other}"),
    }
    let (_dir, set) = temp_set(&[
        ("nomis/a.jq", header("T, U") + "."),
        ("nomis/b.jq", header("V, U") + "."),
    ]);
    let err = set.unwrap_err();
    assert_eq!(err.code(), "mapping.header");
    let text = err.to_string();
    assert!(
        text.contains("b.jq` line 3: message type `U` is already mapped by"),
        "{text}"
    );
}

#[test]
fn runtime_errors_never_contain_input_values() {
    let programs = [
        ".message.x + 1",
        ".message.x | tonumber",
        ".message.x | .[0]",
        ".message.x | .foo",
        ".message.x | fromjson",
        ".message.x | strptime(\"%Y-%m-%d\")",
        ".message.x | implode",
        "error(.message)",
        ".message.x | test(\"(\")",
        ".message.x | ltrimstr(1) | split(1)",
        ".message.x as $k | [] | .[$k]",
        ".message.x | wm_uuid({})",
        ".message.x | wm_translate(\"no-such-map\")",
    ];
    let message = json!({"x": CANARY, CANARY: 1});
    for body in programs {
        let set = program(body);
        let env = envelope(
            "T",
            message.to_string().as_bytes(),
            json!({"prisoner": CANARY}),
        );
        let err = set.map(&env).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(err.code() == "mapping.runtime", "{body}: {text}");
        assert!(!text.contains("CANARY"), "{body}: {text}");
        assert!(text.contains("nomis/t"), "{body}: {text}");
        println!("{body:40} → {err}");
    }
}

#[test]
fn a_mappings_own_error_text_is_the_reason() {
    let set = program("error(\"prison record unavailable: \" + .context.error.code)");
    let context = json!({"error": {"code": "nomis.prison-api.status", "status": 503}});
    let err = set.map(&envelope("T", b"{}", context)).unwrap_err();
    match err {
        MappingError::Runtime {
            mapping,
            version,
            message_id,
            reason,
        } => {
            assert_eq!(mapping, "nomis/t");
            assert_eq!(version, "0.1.0");
            assert_eq!(message_id, MessageId::derive(SourceSystem::Nomis, "test"));
            assert_eq!(reason, "prison record unavailable: nomis.prison-api.status");
        }
        other => panic!("{other}"),
    }
    // Caught errors do not leak into a later, different error.
    let set = program("(try error(\"fine\") catch null) | .message.x + 1");
    let err = set
        .map(&envelope("T", br#"{"x": "CANARY"}"#, Value::Null))
        .unwrap_err();
    assert!(
        !err.to_string().contains("fine") && !err.to_string().contains("CANARY"),
        "{err}"
    );
}

#[test]
fn output_must_be_one_bundle_without_a_provenance() {
    let cases = [
        ("empty", "the program produced no output"),
        ("1, 2", "the program produced more than one output"),
        ("\"x\"", "the output is not a JSON object"),
        ("{resourceType: \"Patient\"}", "the output is not a Bundle"),
        (
            "{resourceType: \"Bundle\", entry: [{fullUrl: \"urn:uuid:x\", resource: {resourceType: \"Provenance\"}}]}",
            "the output has a Provenance of its own; the runner adds it",
        ),
        (
            "{resourceType: \"Bundle\", entry: [{resource: {}}]}",
            "an entry has no `fullUrl`",
        ),
        (
            "{resourceType: \"Bundle\", x: (\"x\" * 5000000)}",
            "the output is larger than 4 MiB",
        ),
        (
            "{resourceType: \"Bundle\", x: (reduce range(0; 200) as $i (0; [.]))}",
            "the output nests deeper than 128 levels",
        ),
        (
            "{resourceType: \"Bundle\", x: nan}",
            "the output contains a number that is not finite",
        ),
    ];
    for (body, expected) in cases {
        let err = program(body)
            .map(&envelope("T", b"{}", Value::Null))
            .unwrap_err();
        match err {
            MappingError::Output { reason, .. } => assert_eq!(reason, expected, "{body}"),
            other => panic!("{body}: {other}"),
        }
    }
}

#[test]
fn helpers_behave_as_documented() {
    let set = program(
        "{resourceType: \"Bundle\", type: \"collection\", helpers: [
            wm_uuid(\"a\"), wm_uuid([\"a\"]), wm_uuid([\"a\", 1]), wm_uuid([\"a\", \"1\"]),
            (\"A1234BC\" | wm_prison_number), (\"A1234B\" | wm_prison_number),
            (\"H\" | wm_translate(\"nomis-alert-type-to-data-class\")),
            (\"Q\" | wm_translate(\"https://fhir.waymark.org.uk/ConceptMap/nomis-alert-type-to-data-class\")),
            (null | wm_translate(\"nomis-alert-type-to-data-class\")),
            wm_ref(\"x\"), ({id: \"y\"} | wm_entry), wm_security(\"identity\"; \"N\"),
            ({a: null, b: [\"\", {}], c: 1, d: {e: []}} | wm_compact)
        ]}",
    );
    let out = set.map(&envelope("T", b"{}", Value::Null)).unwrap();
    let h = out["helpers"].as_array().unwrap();
    assert_eq!(
        h[0], h[1],
        "a string and a one-element array name the same id"
    );
    assert_ne!(h[1], h[2]);
    assert_eq!(h[2], h[3], "numbers are named by their JSON text");
    assert!(uuid::Uuid::parse_str(h[0].as_str().unwrap()).is_ok());
    assert_eq!(h[4], "A1234BC");
    assert_eq!(h[5], Value::Null);
    assert_eq!(h[6], "risk-self");
    assert_eq!(
        h[7], "risk-others",
        "unmapped alert types fall back to the ConceptMap's `unmapped`"
    );
    assert_eq!(h[8], Value::Null);
    assert_eq!(h[9], json!({"reference": "urn:uuid:x"}));
    assert_eq!(
        h[10],
        json!({"fullUrl": "urn:uuid:y", "resource": {"id": "y"}})
    );
    assert_eq!(h[11][0]["code"], "identity");
    assert_eq!(h[12], json!({"c": 1}));
    // The runner completed the (empty) bundle.
    assert_eq!(out["entry"][0]["resource"]["resourceType"], "Provenance");
    assert_eq!(
        out["entry"][0]["resource"]["policy"][0],
        "https://fhir.waymark.org.uk/mapping/nomis/t|0.1.0"
    );
    assert!(
        out["meta"]["source"]
            .as_str()
            .unwrap()
            .starts_with("https://fhir.waymark.org.uk/source/nomis#")
    );
}

#[test]
fn an_envelope_maps_like_its_fixture_and_twice_the_same() {
    let fixture = mappings_dir().join("nomis/tests/real-external-movement-in.input.json");
    let input: MappingInput = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    // The payload bytes are the notification; its JSON is what the fixture holds.
    let payload = serde_json::to_vec(input.message.expose()).unwrap();
    let params = NewEnvelope {
        id: input.envelope.id.clone(),
        source: SourceSystem::Nomis,
        message_type: &input.envelope.message_type,
        event_time: input.envelope.event_time,
        received_at: input.envelope.received_at,
        content_type: "application/json",
    };
    let env = Envelope::new(params, payload).with_context(input.context.expose().clone());
    let set = real_set();
    let first = set.map(&env).unwrap();
    assert_eq!(first, set.map(&env).unwrap());
    assert_eq!(first, set.map_input(&input).unwrap());
    assert_eq!(
        MappingInput::from_envelope(&env).unwrap().to_json(),
        input.to_json()
    );
}

#[test]
fn mapping_set_is_shareable_and_lists_its_mappings() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let set = real_set();
    send_sync(&set);
    let ids: Vec<&str> = set.headers().map(|h| h.id.as_str()).collect();
    // By source (SourceSystem's order), then by file name.
    assert_eq!(
        ids,
        [
            "athena/custody-event",
            "excelicare/adt-registration",
            "excelicare/oru-assessment",
            "excelicare/ras-medication",
            "excelicare/ref-liaison-diversion",
            "systmone/structured-record",
            "nomis/prison-movement",
            "nomis/prisoner-alert",
            "scr/gp-summary",
        ]
    );
    let h = set
        .mapping_for(SourceSystem::Nomis, "OFFENDER-UPDATED")
        .unwrap();
    assert_eq!(
        (h.version.as_str(), h.profile.as_str()),
        ("1.0.0", "hjmd-bundle")
    );
    assert!(
        set.mapping_for(SourceSystem::Nomis, "unparseable")
            .is_none()
    );
}
