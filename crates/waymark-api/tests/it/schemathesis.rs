//! schemathesis (PyPI) against the served OpenAPI document, bounded (few examples per operation,
//! a time budget per run): no operation answers a 5xx. One run per caller, so the handlers
//! behind each role's gate are exercised: a custody nurse on the FHIR routes, a privacy
//! officer on the audit trail, an integration engineer on the admin, ingest and Subscription
//! routes.

use std::process::Command;

use waymark_core::Role;

use crate::{
    fhir_world::World,
    python::{require_program, run},
};

/// Examples generated per operation and phase.
const MAX_EXAMPLES: &str = "10";
/// Seconds each run may take.
const MAX_TIME: &str = "30";

async fn fuzz(base: &str, token: &str, paths: &str) {
    // schemathesis keeps an example database in its working directory: a scratch one.
    let scratch = tempfile::tempdir().unwrap();
    let mut command = Command::new("schemathesis");
    command
        .current_dir(scratch.path())
        .args(["run", &format!("{base}/openapi.json")])
        .args(["--url", base])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "not_a_server_error"])
        .args(["--max-examples", MAX_EXAMPLES, "--max-time", MAX_TIME])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--include-path-regex", paths])
        .args(["--seed", "10", "--no-color", "--warnings", "off"])
        // One worker: with two, hypothesis parses lambdas' source on two threads at once, and
        // CPython 3.11 before 3.11.9 can fail that with "AST constructor recursion depth
        // mismatch" — a crash of the tool reported as an error, not a finding.
        .args(["--workers", "1", "--request-timeout", "20"]);
    let (ok, stdout, stderr) = run(command).await;
    assert!(
        ok,
        "schemathesis found server errors (or did not run) on {paths}:\n{stdout}\n{stderr}"
    );
    let tested = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested:"))
        .and_then(|n| n.trim().parse::<u32>().ok());
    assert!(
        tested.is_some_and(|n| n > 0) && stdout.contains("No issues found"),
        "schemathesis tested operations on {paths} and found nothing:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors() {
    require_program("schemathesis");
    let w = World::new().await;
    let (base, server) = w.serve().await;
    let nurse = w.token(Role::CustodyHealthcare, true);
    let officer = w.token(Role::PrivacyOfficer, false);
    let engineer = w.dev.engineer();
    fuzz(
        &base,
        &nurse,
        "^/(fhir/(Patient|Consent|metadata)|health|openapi)",
    )
    .await;
    fuzz(&base, &officer, "^/fhir/AuditEvent").await;
    fuzz(&base, &engineer, "^/(admin/|ingest/|fhir/Subscription)").await;
    server.abort();
}
