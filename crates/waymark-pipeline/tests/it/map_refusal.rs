//! `map_envelope`: a bundle the profile refuses is refused with the validation issues and the
//! mapping (id, version) that produced it; a mapping failure names the mapping itself.

use chrono::DateTime;
use waymark_core::{Envelope, MessageId, NewEnvelope, SourceSystem};
use waymark_fhir::Severity;
use waymark_mapping::MappingSet;
use waymark_pipeline::map_envelope;
use waymark_profile::Validator;

fn set(body: &str) -> (tempfile::TempDir, MappingSet) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("nomis")).unwrap();
    let code = format!(
        "# waymark-mapping: 1\n# source: nomis\n# message-types: T\n# version: 3.2.1\n\
         # profile: hjmd-bundle\n{body}"
    );
    std::fs::write(dir.path().join("nomis/bad.jq"), code).unwrap();
    let set = MappingSet::load(dir.path()).unwrap();
    (dir, set)
}

fn envelope() -> Envelope {
    let params = NewEnvelope {
        id: MessageId::derive(SourceSystem::Nomis, "refusal"),
        source: SourceSystem::Nomis,
        message_type: "T",
        event_time: None,
        received_at: DateTime::from_timestamp(1_700_000_060, 0).unwrap(),
        content_type: "application/json",
    };
    Envelope::new(params, b"{}".to_vec())
}

#[test]
fn a_refused_bundle_names_the_mapping_and_version_beside_the_validation_issues() {
    let (_dir, set) = set("{resourceType: \"Bundle\", type: \"collection\", entry: [
           {resourceType: \"Patient\", id: wm_uuid(\"p\"), gender: 3,
            meta: {security: wm_security(\"identity\"; \"N\")}} | wm_entry]}");
    let refusal = map_envelope(&set, &Validator::r4().unwrap(), &envelope()).unwrap_err();
    assert_eq!(refusal.code, "profile.invalid");
    let issues = &refusal.outcome.issues;
    assert!(
        issues.iter().any(|i| i.severity == Severity::Error),
        "{issues:?}"
    );
    let named: Vec<_> = issues
        .iter()
        .filter(|i| i.rule == "mapping.produced-by")
        .collect();
    assert_eq!(named.len(), 1, "{issues:?}");
    assert_eq!(named[0].severity, Severity::Information);
    assert!(
        named[0].text.contains("`nomis/bad` version 3.2.1"),
        "{}",
        named[0].text
    );
}

#[test]
fn a_mapping_failure_is_refused_with_its_own_code_and_names_the_mapping() {
    let (_dir, set) = set("def f: f + 1; f");
    let refusal = map_envelope(&set, &Validator::r4().unwrap(), &envelope()).unwrap_err();
    assert_eq!(refusal.code, "mapping.recursion");
    let text = &refusal.outcome.issues[0].text;
    assert!(text.contains("`nomis/bad` 3.2.1"), "{text}");
}
