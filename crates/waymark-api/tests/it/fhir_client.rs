//! A real FHIR client library from PyPI (`fhirpy`) against the API over loopback: it searches
//! Patients by identifier, by name with date of birth and by date of birth (following the
//! search's `next` links page by page), reads the
//! `$summary` document, records a Consent and reads it back by id and by patient search.

use serde_json::Value;
use waymark_core::Role;

use crate::{
    fhir_world::{MAIN_PRISON_NUMBER, World, consent},
    python::{require_module, run, script},
};

const SCRIPT: &str = r#"
import json, sys
from fhirpy import SyncFHIRClient

base, token, prison_number, consent_json = sys.argv[1:5]
client = SyncFHIRClient(base + "/fhir", authorization="Bearer " + token)
out = {}
system = "https://fhir.waymark.org.uk/Id/nomis-prison-number"
found = client.resources("Patient").search(identifier=system + "|" + prison_number).fetch()
out["by_identifier"] = [p["id"] for p in found]
named = client.resources("Patient").search(name="Testperson", birthdate="1991-07-14").fetch()
out["by_name"] = [p["id"] for p in named]
born = client.resources("Patient").search(birthdate="1991-07-14").limit(1).fetch_all()
out["by_birthdate"] = sorted(p["id"] for p in born)
person = out["by_identifier"][0]
summary = client.execute("Patient/" + person + "/$summary", method="get")
out["summary_type"] = summary["type"]
out["summary_first"] = summary["entry"][0]["resource"]["resourceType"]
body = json.loads(consent_json)
created = client.execute("Consent", method="post", data=body)
out["created"] = created["id"]
read = client.reference("Consent", body["id"]).to_resource()
out["read_status"] = read["status"]
listed = client.resources("Consent").search(patient="Patient/" + person).fetch()
out["listed"] = [c["id"] for c in listed]
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fhirpy_searches_and_reads_over_http() {
    require_module("fhirpy");
    let w = World::new().await;
    let born_same_day = w.record_namesake("H2345BC", "Jamie", "Okafor").await;
    assert_ne!(born_same_day, w.main);
    let (base, server) = w.serve().await;
    let token = w.token(Role::CustodyHealthcare, true);
    let body = consent("fhirpy-consent", &w.main, "permit", "2026-03-01T09:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let body = body.to_string();
    let args = [base.as_str(), &token, MAIN_PRISON_NUMBER, &body];
    let (ok, stdout, stderr) = run(script(dir.path(), "client.py", SCRIPT, &args)).await;
    server.abort();
    assert!(ok, "the fhirpy script failed:\n{stderr}");
    let out: Value = serde_json::from_str(stdout.trim()).unwrap();

    assert_eq!(out["by_identifier"], serde_json::json!([w.main]));
    assert_eq!(out["by_name"], serde_json::json!([w.main]));
    let mut both = vec![w.main.clone(), born_same_day];
    both.sort();
    assert_eq!(
        out["by_birthdate"],
        serde_json::json!(both),
        "fetch_all followed the `next` link of a one-per-page search to the second match"
    );
    assert_eq!(out["summary_type"], "document");
    assert_eq!(out["summary_first"], "Composition");
    assert_eq!(out["created"], "fhirpy-consent");
    assert_eq!(out["read_status"], "active");
    assert_eq!(out["listed"], serde_json::json!(["fhirpy-consent"]));
}
