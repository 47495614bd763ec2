//! `mappings/nomis/prison-movement.jq` written by hand in Rust over `serde_json`, for the
//! benchmark's ratio. It produces the same bundle (Provenance and `meta.source` included) for
//! the same input document; the benchmark asserts that before timing.

use std::collections::HashMap;

use chrono::SecondsFormat;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use waymark_mapping::MappingInput;

/// The namespace `wm_uuid` uses (natives.rs).
const WM_UUID_NAMESPACE: Uuid = Uuid::from_u128(0x3b0e_5f52_7c1a_4d39_8e6b_2a94_d1c7_05f3);
const MOVEMENT: &str = "EXTERNAL_MOVEMENT_RECORD-INSERTED";

/// ConceptMap nomis-alert-type-to-data-class, read once.
pub struct AlertClasses {
    codes: HashMap<String, String>,
    fallback: String,
}

impl AlertClasses {
    pub fn load(map: &Value) -> Self {
        let group = &map["group"][0];
        let codes = group["element"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let target = e["target"][0]["code"].as_str()?;
                Some((e["code"].as_str()?.to_owned(), target.to_owned()))
            })
            .collect();
        let fallback = group["unmapped"]["code"]
            .as_str()
            .unwrap_or("risk-others")
            .to_owned();
        Self { codes, fallback }
    }

    fn class(&self, alert_type: &str) -> &str {
        self.codes.get(alert_type).unwrap_or(&self.fallback)
    }
}

/// An object from owned values (`json!` would serialise every interpolated value again).
fn obj<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn string(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn id(parts: &[&str]) -> String {
    Uuid::new_v5(&WM_UUID_NAMESPACE, parts.join("\u{1f}").as_bytes()).to_string()
}

/// jq's `tostring` of a scalar.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// jq's `a // b`: `a` unless it is null or false.
fn or<'v>(a: &'v Value, b: &'v Value) -> &'v Value {
    if a.is_null() || *a == Value::Bool(false) {
        b
    } else {
        a
    }
}

fn security(class: &str, level: &str) -> Value {
    Value::Array(vec![
        obj([
            (
                "system",
                string("https://fhir.waymark.org.uk/CodeSystem/hjmd-data-class"),
            ),
            ("code", string(class)),
        ]),
        obj([
            (
                "system",
                string("http://terminology.hl7.org/CodeSystem/v3-Confidentiality"),
            ),
            ("code", string(level)),
        ]),
    ])
}

fn id_system(name: &str) -> String {
    format!("https://fhir.waymark.org.uk/Id/{name}")
}

fn code_system(name: &str) -> String {
    format!("https://fhir.waymark.org.uk/CodeSystem/{name}")
}

/// `wm_compact`: drops null, "", [] and {} at every depth.
fn compact(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(items) => {
            let kept: Vec<Value> = items.into_iter().filter_map(compact).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        Value::Object(map) => {
            let kept: Map<String, Value> = map
                .into_iter()
                .filter_map(|(k, v)| compact(v).map(|v| (k, v)))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        other => Some(other),
    }
}

fn source_event(message_type: &str, e: &Value) -> &'static str {
    let m = (e["movementType"].as_str(), e["directionCode"].as_str());
    if message_type != MOVEMENT {
        return "record.updated";
    }
    match m {
        (Some("ADM"), Some("IN")) => "prison.reception",
        (Some("TRN"), Some("IN")) => "prison.transfer",
        (Some("REL"), Some("OUT")) => "prison.release",
        _ => "record.updated",
    }
}

fn display_of_code(code: &str) -> String {
    let words = code
        .to_ascii_lowercase()
        .split('_')
        .collect::<Vec<_>>()
        .join(" ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn patient(p: &Value, noms: &str, pid: &str) -> Value {
    let mut identifier = vec![obj([
        ("system", Value::String(id_system("nomis-prison-number"))),
        ("value", string(noms)),
    ])];
    if !p["bookingId"].is_null() {
        identifier.push(obj([
            ("system", Value::String(id_system("nomis-booking-id"))),
            ("value", Value::String(text(&p["bookingId"]))),
        ]));
    }
    let mut name = vec![obj([
        ("use", string("official")),
        ("family", p["lastName"].clone()),
        (
            "given",
            Value::Array(vec![p["givenName1"].clone(), p["givenName2"].clone()]),
        ),
    ])];
    if !p["requestedName"].is_null() {
        name.push(obj([
            ("use", string("usual")),
            ("family", p["lastName"].clone()),
            ("given", Value::Array(vec![p["requestedName"].clone()])),
        ]));
    }
    let gender = match p["gender"].as_str() {
        Some("Male") => "male",
        Some("Female") => "female",
        _ => "unknown",
    };
    obj([
        ("resourceType", string("Patient")),
        ("id", string(pid)),
        ("meta", obj([("security", security("identity", "N"))])),
        ("identifier", Value::Array(identifier)),
        ("name", Value::Array(name)),
        ("gender", string(gender)),
        ("birthDate", p["dateOfBirth"].clone()),
    ])
}

fn establishment(code: &Value, status: &str) -> Value {
    let identifier = obj([
        ("system", Value::String(id_system("prison-establishment"))),
        ("value", code.clone()),
    ]);
    obj([
        ("location", obj([("identifier", identifier)])),
        ("status", string(status)),
    ])
}

struct Stay<'a> {
    message_type: &'a str,
    e: &'a Value,
    event: &'a str,
    p: &'a Value,
    pid: &'a str,
    booking: &'a Value,
    at: &'a Value,
}

fn stay(s: &Stay<'_>) -> Option<Value> {
    let movement = s.message_type == MOVEMENT;
    let est = match s.p["establishmentCode"].as_str() {
        Some("OUT" | "TRN") | None => None,
        Some(_) => Some(&s.p["establishmentCode"]),
    };
    if !movement && est.is_none() {
        return None;
    }
    let community = s.p["communityStatus"].as_str().unwrap_or("");
    let coming_in = movement && s.e["directionCode"] == "IN";
    let status = if s.event == "prison.release" {
        "finished"
    } else if coming_in || community.starts_with("ACTIVE") {
        "in-progress"
    } else if community.starts_with("INACTIVE") {
        "finished"
    } else {
        "unknown"
    };
    let here = if coming_in {
        Some(&s.e["toAgencyLocationId"])
    } else if movement {
        Some(&s.e["fromAgencyLocationId"])
    } else {
        est
    };
    let mut extension = Vec::new();
    if status == "in-progress" && !s.p["releaseDate"].is_null() {
        extension.push(obj([
            (
                "url",
                string("https://fhir.waymark.org.uk/StructureDefinition/expected-release-date"),
            ),
            ("valueDate", s.p["releaseDate"].clone()),
        ]));
    }
    let legal = or(&s.p["legalStatus"], &Value::Null);
    let kind: Vec<Value> = legal
        .as_str()
        .map(|code| {
            let display = display_of_code(code);
            let coding = obj([
                ("system", Value::String(code_system("nomis-legal-status"))),
                ("code", string(code)),
                ("display", string(&display)),
            ]);
            obj([
                ("coding", Value::Array(vec![coding])),
                ("text", Value::String(display)),
            ])
        })
        .into_iter()
        .collect();
    let mut location = Vec::new();
    if let Some(here) = here.filter(|h| !h.is_null() && **h != Value::Bool(false)) {
        let st = if status == "finished" {
            "completed"
        } else {
            "active"
        };
        location.push(establishment(here, st));
    }
    if s.event == "prison.transfer" && !s.e["fromAgencyLocationId"].is_null() {
        location.push(establishment(&s.e["fromAgencyLocationId"], "completed"));
    }
    let start_default = if coming_in { s.at.clone() } else { Value::Null };
    let end = if s.event == "prison.release" {
        s.at.clone()
    } else {
        Value::Null
    };
    let booking = text(s.booking);
    let class = obj([
        ("system", Value::String(code_system("hjmd-episode-class"))),
        ("code", string("prison")),
        ("display", string("Prison stay")),
    ]);
    let identifier = obj([
        ("system", Value::String(id_system("nomis-booking-id"))),
        ("value", string(&booking)),
    ]);
    Some(obj([
        ("resourceType", string("Encounter")),
        ("id", Value::String(id(&["nomis", "prison-stay", &booking]))),
        ("meta", obj([("security", security("detention", "N"))])),
        ("extension", Value::Array(extension)),
        ("identifier", Value::Array(vec![identifier])),
        ("status", string(status)),
        ("class", class),
        ("type", Value::Array(kind)),
        (
            "subject",
            obj([("reference", Value::String(format!("urn:uuid:{}", s.pid)))]),
        ),
        (
            "period",
            obj([
                ("start", or(&s.p["admissionDate"], &start_default).clone()),
                ("end", end),
            ]),
        ),
        ("location", Value::Array(location)),
    ]))
}

fn flag(a: &Value, pid: &str, booking: &Value, classes: &AlertClasses) -> Result<Value, String> {
    if a["alertId"].is_null() {
        return Err("an alert has no alertId".into());
    }
    let (booking, alert) = (text(booking), text(&a["alertId"]));
    let class = classes.class(a["alertType"].as_str().ok_or("an alert has no alertType")?);
    let active = a["active"] == true && a["expired"] != true;
    let coding = |system: &str, code: &str, display: &str| {
        obj([
            ("system", Value::String(code_system(system))),
            ("code", a[code].clone()),
            ("display", a[display].clone()),
        ])
    };
    Ok(obj([
        ("resourceType", string("Flag")),
        (
            "id",
            Value::String(id(&["nomis", "alert", &booking, &alert])),
        ),
        ("meta", obj([("security", security(class, "R"))])),
        (
            "identifier",
            Value::Array(vec![obj([
                ("system", Value::String(id_system("nomis-alert"))),
                ("value", Value::String(format!("{booking}/{alert}"))),
            ])]),
        ),
        ("status", string(if active { "active" } else { "inactive" })),
        (
            "category",
            Value::Array(vec![obj([
                (
                    "coding",
                    Value::Array(vec![coding(
                        "nomis-alert-type",
                        "alertType",
                        "alertTypeDescription",
                    )]),
                ),
                ("text", a["alertTypeDescription"].clone()),
            ])]),
        ),
        (
            "code",
            obj([
                (
                    "coding",
                    Value::Array(vec![coding(
                        "nomis-alert-code",
                        "alertCode",
                        "alertCodeDescription",
                    )]),
                ),
                ("text", a["alertCodeDescription"].clone()),
            ]),
        ),
        (
            "subject",
            obj([("reference", Value::String(format!("urn:uuid:{pid}")))]),
        ),
        (
            "period",
            obj([
                ("start", a["dateCreated"].clone()),
                ("end", a["dateExpires"].clone()),
            ]),
        ),
    ]))
}

fn provenance(input: &MappingInput, entries: &[Value], policy: &str) -> Value {
    let meta = &input.envelope;
    let pid = meta.id.child("provenance");
    let time = |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let targets: Vec<Value> = entries
        .iter()
        .map(|e| json!({"reference": e["fullUrl"]}))
        .collect();
    let mut p = json!({
        "resourceType": "Provenance",
        "id": pid.as_str(),
        "target": targets,
        "recorded": time(&meta.received_at),
        "policy": [policy],
        "agent": [{"type": {"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                        "code": "author"}]},
                   "who": {"identifier": {"system": "https://fhir.waymark.org.uk/Id/source-system",
                                          "value": meta.source.as_str()},
                           "display": "NOMIS (prison record, HMPPS)"}}],
        "entity": [{"role": "source",
                    "what": {"identifier": {"system": "https://fhir.waymark.org.uk/Id/envelope",
                                            "value": meta.id.as_str()}}}],
    });
    if let Some(t) = &meta.event_time {
        p["occurredDateTime"] = json!(time(t));
    }
    json!({"fullUrl": format!("urn:uuid:{}", pid.as_str()), "resource": p})
}

/// Maps one input document as `prison-movement.jq` does; `policy` names the mapping version.
pub fn map(input: &MappingInput, classes: &AlertClasses, policy: &str) -> Result<Value, String> {
    let context = input.context.expose();
    if !context["error"].is_null() || context["prisoner"].is_null() {
        return Err("prison record unavailable".into());
    }
    let message = input.message.expose()["Message"]
        .as_str()
        .ok_or("the notification has no Message text")?;
    let e: Value = serde_json::from_str(message).map_err(|_| "the Message is not JSON")?;
    let p = &context["prisoner"];
    let noms = p["nomsId"]
        .as_str()
        .filter(|n| waymark_mapping::is_prison_number(n))
        .ok_or("the prison record has no valid prison number")?;
    let booking = or(&p["bookingId"], &e["bookingId"]);
    let envelope = input.envelope.to_json();
    let message_type = input.envelope.message_type.as_str();
    let event = source_event(message_type, &e);
    let at = or(&envelope["eventTime"], &envelope["receivedAt"]);
    let pid = id(&["nomis", "patient", noms]);
    let mut resources = vec![patient(p, noms, &pid)];
    let s = Stay {
        message_type,
        e: &e,
        event,
        p,
        pid: &pid,
        booking,
        at,
    };
    resources.extend(stay(&s));
    for alert in context["alerts"].as_array().into_iter().flatten() {
        resources.push(flag(alert, &pid, booking, classes)?);
    }
    let mut entries: Vec<Value> = resources
        .into_iter()
        .filter_map(compact)
        .map(|r| {
            let url = format!("urn:uuid:{}", r["id"].as_str().unwrap_or_default());
            obj([("fullUrl", Value::String(url)), ("resource", r)])
        })
        .collect();
    let provenance = provenance(input, &entries, policy);
    entries.push(provenance);
    let source = format!(
        "https://fhir.waymark.org.uk/source/{}#{}",
        input.envelope.source, input.envelope.id
    );
    let tag = obj([
        ("system", Value::String(code_system("hjmd-source-event"))),
        ("code", string(event)),
    ]);
    Ok(obj([
        ("resourceType", string("Bundle")),
        ("type", string("collection")),
        (
            "meta",
            obj([
                ("tag", Value::Array(vec![tag])),
                ("source", Value::String(source)),
            ]),
        ),
        ("entry", Value::Array(entries)),
    ]))
}
