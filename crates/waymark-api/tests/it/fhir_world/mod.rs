//! A hub with people in it, for the FHIR API tests: real SQLite files, persons recorded through
//! the real record stage from the NOMIS mapping fixtures, the dev issuer, the built-in policy.
#![allow(dead_code)]

use std::{path::PathBuf, sync::Arc};

use axum::{
    Router,
    body::Body,
    http::{Request, header},
};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use waymark_api::{ApiState, router};
use waymark_bus::{Delivery, DeliveryTag, Message, SqliteBus};
use waymark_core::{MessageId, PRISON_NUMBER_SYSTEM, Role, Sensitive, SourceSystem};
use waymark_pipeline::{Handler, RECORD, RecordStage, Step, Telemetry, declare_all};
use waymark_store::{NewConsent, SqliteStore, Store, StrongId};

use crate::support::{Dev, repo_parts, state};

/// The main person's prison number (fixture `synthetic-reception-with-alerts`).
pub const MAIN_PRISON_NUMBER: &str = "G1234AB";
/// A second person's prison number (fixture `real-offender-details-changed`).
pub const OTHER_PRISON_NUMBER: &str = "A7089EY";
/// The organisation of every test caller.
pub const ORG: &str = "ORG01";

/// One answer.
pub struct Answer {
    pub status: u16,
    pub text: String,
    pub json: Value,
    pub content_type: String,
}

pub struct World {
    _dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub bus: Arc<SqliteBus>,
    pub dev: Dev,
    pub state: ApiState,
    pub app: Router,
    /// The person of `synthetic-reception-with-alerts`.
    pub main: String,
    /// The person of `real-offender-details-changed`.
    pub other: String,
}

fn fixture(case: &str) -> Value {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = repo.join(format!("mappings/nomis/tests/{case}.expected.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

impl World {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("s.db")).await.unwrap());
        let bus = Arc::new(SqliteBus::open(&dir.path().join("b.db")).await.unwrap());
        let (mappings, validator) = repo_parts();
        let dev = Dev::new();
        let state = state(store.clone(), bus.clone(), mappings, validator, &dev);
        let app = router(state.clone());
        let mut world = Self {
            _dir: dir,
            store,
            bus,
            dev,
            state,
            app,
            main: String::new(),
            other: String::new(),
        };
        declare_all(world.bus.as_ref(), &[]).await.unwrap();
        world.main = world
            .record("synthetic-reception-with-alerts", MAIN_PRISON_NUMBER)
            .await;
        world.other = world
            .record("real-offender-details-changed", OTHER_PRISON_NUMBER)
            .await;
        world
    }

    /// Records a mapping fixture through the record stage; returns the person's id.
    async fn record(&self, case: &str, prison_number: &str) -> String {
        self.record_bundle(case, fixture(case), prison_number).await
    }

    /// Records another person born on the main person's date: the main fixture with its
    /// Patient's prison number and names replaced.
    pub async fn record_namesake(&self, prison_number: &str, given: &str, family: &str) -> String {
        let mut bundle = fixture("synthetic-reception-with-alerts");
        for entry in bundle["entry"].as_array_mut().unwrap() {
            let resource = &mut entry["resource"];
            if resource["resourceType"] == "Patient" {
                resource["identifier"] =
                    json!([{"system": PRISON_NUMBER_SYSTEM, "value": prison_number}]);
                resource["name"] = json!([{"use": "official", "family": family, "given": [given]}]);
            }
        }
        self.record_bundle(prison_number, bundle, prison_number)
            .await
    }

    /// Records the mapping fixture `case` as the record of the person holding `prison_number`
    /// (its Patient's identifiers replaced by that number); returns the person's id.
    pub async fn record_as(&self, case: &str, prison_number: &str) -> String {
        let mut bundle = fixture(case);
        for entry in bundle["entry"].as_array_mut().unwrap() {
            let resource = &mut entry["resource"];
            if resource["resourceType"] == "Patient" {
                resource["identifier"] =
                    json!([{"system": PRISON_NUMBER_SYSTEM, "value": prison_number}]);
            }
        }
        let key = format!("{case}-as-{prison_number}");
        self.record_bundle(&key, bundle, prison_number).await
    }

    async fn record_bundle(&self, case: &str, bundle: Value, prison_number: &str) -> String {
        let stage = RecordStage::new(
            self.state.validator.clone(),
            self.store.clone(),
            self.bus.clone(),
            Telemetry::log_only(),
            Arc::new(waymark_record::Topics::builtin().unwrap()),
        );
        let id = MessageId::derive(SourceSystem::Nomis, case);
        let body = json!({
            "envelope": {"id": id, "source": "nomis", "messageType": "TEST", "eventTime": Utc::now()},
            "bundle": bundle,
        });
        let delivery = Delivery {
            queue: RECORD.to_owned(),
            tag: DeliveryTag(1),
            attempt: 1,
            message: Message::new(id, body.to_string().into_bytes()),
        };
        assert!(matches!(stage.handle(&delivery).await, Step::Done));
        let links = self
            .store
            .find_by_identifiers(&[StrongId {
                system: PRISON_NUMBER_SYSTEM.to_owned(),
                value: Sensitive::new(prison_number.to_owned()),
            }])
            .await
            .unwrap();
        links.first().expect("recorded").person_id.clone()
    }

    /// The router served on a loopback socket (with the connection's address): the base URL
    /// and the server's task (abort it when done).
    pub async fn serve(&self) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(self.state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), server)
    }

    /// A token of `role` at [`ORG`].
    pub fn token(&self, role: Role, registered: bool) -> String {
        self.dev.token(role, registered, ORG)
    }

    /// Stores a Consent for `person` directly (test setup).
    pub async fn put_consent(&self, person: &str, consent: &Value) {
        self.store
            .put_consent(NewConsent {
                person_id: person.to_owned(),
                consent_id: consent["id"].as_str().unwrap().to_owned(),
                status: consent["status"].as_str().unwrap().to_owned(),
                consent: Sensitive::new(consent.to_string()),
                recorded_at: Utc::now(),
            })
            .await
            .unwrap();
    }

    pub async fn get(&self, uri: &str, token: Option<&str>) -> Answer {
        self.call("GET", uri, token, None, &[]).await
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(b) => request
                .header(header::CONTENT_TYPE, "application/fhir+json")
                .body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            text,
            json,
            content_type,
        }
    }
}

/// A `patient-privacy` Consent `id` about `person` given at `date_time` with root provision
/// `kind` (`permit` / `deny`) for every recipient and class.
pub fn consent(id: &str, person: &str, kind: &str, date_time: &str) -> Value {
    json!({
        "resourceType": "Consent",
        "id": id,
        "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": format!("Patient/{person}")},
        "dateTime": date_time,
        "policyRule": {"text": "test"},
        "provision": {"type": kind},
    })
}

/// The data classes of the Composition sections of a summary document.
pub fn section_classes(summary: &Value) -> Vec<String> {
    let sections = summary["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Composition")
        .map(|c| c["section"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default();
    sections
        .iter()
        .filter_map(waymark_record::section_data_class)
        .map(|c| c.code().to_owned())
        .collect()
}

/// The data classes of the resources of a bundle.
pub fn resource_classes(bundle: &Value) -> Vec<String> {
    let mut classes: Vec<String> = waymark_fhir::entries(bundle)
        .filter_map(waymark_fhir::data_class)
        .map(|c| c.code().to_owned())
        .collect();
    classes.sort();
    classes.dedup();
    classes
}
