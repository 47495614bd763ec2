//! Plain-language text of FHIR values, for headlines and the printable page. Returns raw text:
//! escaping is the renderer's job.

use serde_json::Value;
use waymark_core::SourceSystem;

/// How sources are named to people.
pub(crate) fn source_name(source: SourceSystem) -> &'static str {
    match source {
        SourceSystem::Athena => "Athena",
        SourceSystem::Excelicare => "ExceliCare",
        SourceSystem::Systmone => "SystmOne",
        SourceSystem::Nomis => "NOMIS",
        SourceSystem::Scr => "SCR",
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A FHIR date or dateTime for people: `2026-01-05`, or `2026-01-05 14:00 UTC` with a time.
pub(crate) fn when(text: &str) -> String {
    match crate::dates::parse(text, crate::dates::Bound::Start) {
        Some(t) if text.len() > 10 => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        Some(t) => crate::dates::day(t),
        None => clip(text, 25),
    }
}

/// A CodeableConcept (or Coding) as text: its text, else its codings' displays or codes.
pub(crate) fn concept(cc: &Value) -> Option<String> {
    if let Some(text) = cc["text"].as_str() {
        return Some(clip(text, 80));
    }
    let codings: Vec<&Value> = match &cc["coding"] {
        Value::Array(items) => items.iter().collect(),
        _ if cc.get("code").is_some() => vec![cc],
        _ => Vec::new(),
    };
    let words: Vec<String> = codings
        .iter()
        .filter_map(|c| {
            c["display"]
                .as_str()
                .or_else(|| code_word(c["code"].as_str()?))
        })
        .map(|w| clip(w, 60))
        .collect();
    (!words.is_empty()).then(|| words.join(", "))
}

fn code_word(code: &str) -> Option<&str> {
    Some(match code {
        "Y" => "Yes",
        "N" => "No",
        "UNK" => "Unknown",
        other => other,
    })
}

/// The answer of an Observation (`value[x]`) or a Condition (`code`).
pub(crate) fn answer(resource: &Value) -> String {
    if resource["resourceType"] == "Condition" {
        return concept(&resource["code"]).unwrap_or_else(|| "recorded".to_owned());
    }
    let value = resource.as_object().and_then(|m| {
        m.iter()
            .find(|(k, _)| k.starts_with("value"))
            .map(|(k, v)| (k.as_str(), v))
    });
    match value {
        Some(("valueCodeableConcept", v)) => concept(v),
        Some(("valueString", Value::String(s))) => Some(clip(s, 80)),
        Some(("valueBoolean", Value::Bool(b))) => Some(if *b { "Yes" } else { "No" }.to_owned()),
        Some(("valueQuantity", q)) => Some(format!(
            "{} {}",
            q["value"],
            q["unit"].as_str().unwrap_or_default()
        )),
        Some((_, Value::String(s))) => Some(clip(s, 40)),
        _ => None,
    }
    .unwrap_or_else(|| "no value".to_owned())
}

/// A HumanName as text.
pub(crate) fn name(name: &Value) -> Option<String> {
    if let Some(text) = name["text"].as_str() {
        return Some(clip(text, 80));
    }
    let given = name["given"].as_array().into_iter().flatten();
    let mut parts: Vec<&str> = given.filter_map(Value::as_str).collect();
    parts.extend(name["family"].as_str());
    (!parts.is_empty()).then(|| clip(&parts.join(" "), 80))
}

/// An Address as text (lines, city, postcode).
pub(crate) fn address(address: &Value) -> Option<String> {
    if let Some(text) = address["text"].as_str() {
        return Some(clip(text, 120));
    }
    let mut parts: Vec<&str> = address["line"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    parts.extend(
        ["city", "postalCode"]
            .iter()
            .filter_map(|k| address[*k].as_str()),
    );
    (!parts.is_empty()).then(|| clip(&parts.join(", "), 120))
}

/// The establishment or suite of an episode: the active location, else the first.
pub(crate) fn place(encounter: &Value) -> Option<String> {
    let locations = encounter["location"].as_array()?;
    let pick = locations
        .iter()
        .find(|l| l["status"] == "active")
        .or_else(|| locations.first())?;
    let loc = &pick["location"];
    loc["display"]
        .as_str()
        .or_else(|| loc["identifier"]["value"].as_str())
        .map(|s| clip(s, 60))
}

/// Earlier establishments of an episode (completed locations), in order.
pub(crate) fn earlier_places(encounter: &Value) -> Vec<String> {
    encounter["location"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["status"] == "completed")
        .filter_map(|l| {
            let loc = &l["location"];
            loc["display"]
                .as_str()
                .or_else(|| loc["identifier"]["value"].as_str())
                .map(|s| clip(s, 60))
        })
        .collect()
}

/// One line describing any resource.
pub(crate) fn describe(resource: &Value) -> String {
    let ty = resource["resourceType"].as_str().unwrap_or("Resource");
    let text = match ty {
        "Patient" => resource["name"]
            .as_array()
            .and_then(|n| n.first())
            .and_then(name),
        "Observation" => concept(&resource["code"]).map(|c| format!("{c}: {}", answer(resource))),
        "Condition" => Some(answer(resource)),
        "Flag" => concept(&resource["code"]),
        "Encounter" => Some(encounter(resource)),
        "MedicationStatement" => Some(medication(resource)),
        "RelatedPerson" | "Organization" | "CareTeam" => {
            resource["name"].as_str().map(|s| clip(s, 80)).or_else(|| {
                resource["name"]
                    .as_array()
                    .and_then(|n| n.first())
                    .and_then(name)
            })
        }
        _ => concept(&resource["code"]),
    };
    match text {
        Some(text) => format!("{}: {text}", kind_label(ty)),
        None => kind_label(ty).to_owned(),
    }
}

fn kind_label(ty: &str) -> &str {
    match ty {
        "Flag" => "Marker",
        "MedicationStatement" => "Medication",
        "Condition" => "Diagnosis",
        "Encounter" => "Encounter",
        "RelatedPerson" => "Contact person",
        "PractitionerRole" => "Professional",
        "CareTeam" => "Team",
        "Organization" => "Agency",
        "Observation" => "Answer",
        other => other,
    }
}

fn encounter(resource: &Value) -> String {
    let kind = match resource["class"]["code"].as_str() {
        Some("custody" | "prison") => concept(&resource["class"]),
        _ => concept(&resource["type"][0]),
    };
    let mut out = kind.unwrap_or_else(|| "attendance or stay".to_owned());
    if let Some(place) = place(resource) {
        out.push_str(&format!(" at {place}"));
    }
    for (key, word) in [("start", "from"), ("end", "to")] {
        if let Some(t) = resource["period"][key].as_str() {
            out.push_str(&format!(" {word} {}", when(t)));
        }
    }
    if let Some(reason) = concept(&resource["reasonCode"][0]) {
        out.push_str(&format!(", reason: {reason}"));
    }
    out
}

/// A medication as text: what, class, status.
pub(crate) fn medication(resource: &Value) -> String {
    let what = concept(&resource["medicationCodeableConcept"])
        .or_else(|| {
            resource["medicationReference"]["display"]
                .as_str()
                .map(|s| clip(s, 80))
        })
        .unwrap_or_else(|| "medication".to_owned());
    let class = concept(&resource["category"]);
    let status = resource["status"].as_str().unwrap_or("unknown");
    match class {
        Some(class) => format!("{what} — {class} ({status})"),
        None => format!("{what} ({status})"),
    }
}
