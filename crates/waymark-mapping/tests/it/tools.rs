//! The tooling behind `waymark mappings lint` and `waymark mappings trace`, on the repository's
//! mappings and on a folder with one of every problem.

use std::path::{Path, PathBuf};

use waymark_mapping::lint::{Severity, lint};
use waymark_mapping::trace::{render, trace};
use waymark_mapping::{MappingSet, fixtures};

fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

#[test]
fn the_repository_mappings_lint_clean() {
    let findings = lint(&mappings_dir()).unwrap();
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

fn derivation<'t>(
    t: &'t waymark_mapping::trace::Trace,
    output: &str,
) -> &'t waymark_mapping::trace::Derivation {
    t.outputs
        .iter()
        .find(|d| d.output == output)
        .unwrap_or_else(|| panic!("no output {output}"))
}

#[test]
fn trace_finds_copied_and_derived_fields_inside_json_strings_too() {
    let set = MappingSet::load(&mappings_dir()).unwrap();
    let path = mappings_dir().join("nomis/tests/synthetic-transfer.input.json");
    let t = trace(&set, &fixtures::read_input(&path).unwrap()).unwrap();
    let family = derivation(&t, "Bundle.entry[0].resource.name[0].family");
    assert_eq!(family.copied_from, ["context.prisoner.lastName"]);
    let here = derivation(
        &t,
        "Bundle.entry[1].resource.location[0].location.identifier.value",
    );
    assert!(
        here.copied_from
            .contains(&"message.Message(json).toAgencyLocationId".to_owned()),
        "{here:?}"
    );
    let event = derivation(&t, "Bundle.meta.tag[0].code");
    assert!(event.copied_from.is_empty());
    assert!(
        event
            .derived_from
            .contains(&"message.Message(json).movementType".to_owned()),
        "{event:?}"
    );
    let id = derivation(&t, "Bundle.entry[0].resource.id");
    assert_eq!(id.derived_from, ["context.prisoner.nomsId"]);
    let recorded = derivation(&t, "Bundle.entry[3].resource.recorded");
    assert_eq!(recorded.copied_from, ["envelope.receivedAt"]);
    assert!(derivation(&t, "Bundle.type").copied_from.is_empty());
    let text = render(&t);
    assert!(
        text.lines()
            .any(|l| l.starts_with("Bundle.entry[0].resource.name[0].family")
                && l.ends_with("<-  context.prisoner.lastName")),
        "{text}"
    );
    assert!(text.contains("Bundle.type") && text.contains("(constant)"));
}

#[test]
fn trace_lists_fields_whose_change_makes_the_mapping_fail() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("nomis")).unwrap();
    let code = "# waymark-mapping: 1\n# source: nomis\n# message-types: T\n# version: 1.0.0\n\
                # profile: hjmd-bundle\n\
                if .message.kind != \"A\" then error(\"kind must be A\") else \
                {resourceType: \"Bundle\", note: .message.note} end";
    std::fs::write(dir.path().join("nomis/t.jq"), code).unwrap();
    let set = MappingSet::load(dir.path()).unwrap();
    let input = serde_json::from_value(serde_json::json!({
        "envelope": {"id": "e", "source": "nomis", "messageType": "T", "eventTime": null,
                     "receivedAt": "2024-01-01T00:00:00Z"},
        "message": {"kind": "A", "note": "hello"}, "context": null}))
    .unwrap();
    let t = trace(&set, &input).unwrap();
    assert_eq!(t.unprobed, ["message.kind"]);
    assert_eq!(derivation(&t, "Bundle.note").copied_from, ["message.note"]);
}

/// Writes `files` (path relative to the folder → content) into a fresh mappings folder.
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

const HEAD: &str = "# waymark-mapping: 1\n# source: nomis\n";

fn input(message_type: &str) -> String {
    format!(
        r#"{{"envelope": {{"id": "e", "source": "nomis", "messageType": "{message_type}",
  "eventTime": null, "receivedAt": "2024-01-01T00:00:00Z"}}, "message": {{}}, "context": null}}"#
    )
}

#[test]
fn lint_reports_every_problem_with_file_line_and_column() {
    let map_ok = r#"{"resourceType": "ConceptMap", "id": "used", "group": []}"#;
    let map_unused = r#"{"resourceType": "ConceptMap", "id": "spare", "group": []}"#;
    let a =
        format!("{HEAD}# message-types: A, B\n# version: 1.0.0\n# profile: p\n.\n| nosuch(1)\n");
    let b = format!("{HEAD}# message-types: C, B\n# version: 1.0.0\n# profile: p\n.\n");
    let c = format!("{HEAD}# message-types: E\n# profile: p\n.\n");
    let d = format!(
        "{HEAD}# message-types: D\n# version: 1.0.0\n# profile: p\n\
         def f: f + 1;\n\
         wm_translate(\"used\") | wm_translate(\"nope\") | wm_security(\"diagnosis\") | wm_hl7(\"PID.3\")\n"
    );
    let a_input = input("A");
    let z_input = input("Z");
    let dir = folder(&[
        ("terminology/ConceptMap-used.json", map_ok),
        ("terminology/ConceptMap-spare.json", map_unused),
        (
            "terminology/ConceptMap-bad.json",
            "{\"resourceType\": \"Patient\"}",
        ),
        ("terminology/notes.json", "{}"),
        ("nomis/a.jq", &a),
        ("nomis/b.jq", &b),
        ("nomis/c.jq", &c),
        ("nomis/d.jq", &d),
        ("nomis/tests/a1.input.json", &a_input),
        ("nomis/tests/a1.expected.json", "{}"),
        ("nomis/tests/z1.input.json", &z_input),
    ]);
    let root = dir.path().display().to_string();
    let lines: Vec<String> = lint(dir.path())
        .unwrap()
        .iter()
        .map(|f| f.to_string().replacen(&root, "", 1))
        .collect();
    let expected = [
        "/nomis/a.jq:7:3: unknown-helper: undefined filter `nosuch/1`",
        "/nomis/a.jq:3:21: no-fixture: message type `B` has no fixture in `nomis/tests/`",
        "/nomis/b.jq:3:21: duplicate-type: message type `B` is already mapped by",
        "/nomis/b.jq:3:18: no-fixture: message type `C` has no fixture",
        "/nomis/c.jq:5:1: header: the header has no `version` field",
        "/nomis/d.jq:6:5: recursion: warning: `f/0` is recursive",
        "/nomis/d.jq:7:24: unknown-conceptmap: no ConceptMap with id or url `nope`",
        "/nomis/d.jq:7:47: unknown-label: data class `diagnosis` is not in terminology/labels.json",
        "/nomis/d.jq:7:74: hl7-path: `PID.3` is not an HL7 path",
        "/nomis/d.jq:3:18: no-fixture: message type `D` has no fixture",
        "/nomis/tests/z1.input.json:1:45: unreachable-fixture: no mapping handles `nomis` message type `Z`",
        "/nomis/tests/z1.input.json:1:1: fixture: no `z1.expected.json` next to it",
        "/terminology/ConceptMap-bad.json:1:1: conceptmap: not a ConceptMap",
        "/terminology/ConceptMap-spare.json:1:1: unused-conceptmap: warning: no mapping calls",
        "/terminology/notes.json:1:1: unknown-file: warning:",
    ];
    for want in expected {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "missing `{want}` in:\n{}",
            lines.join("\n")
        );
    }
    assert_eq!(lines.len(), expected.len(), "{}", lines.join("\n"));
}
