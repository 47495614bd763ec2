//! What one audited request was: [`AuditRecord`], and how a request path is sanitised.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use waymark_core::Sensitive;

/// One data class released or withheld, with the rule (or legal basis) that decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassDecision {
    /// The data class code, e.g. `mh-clinical`.
    pub class: String,
    /// Why: the withholding rule (`role-policy:probation:not-permitted:mh-clinical`) or the
    /// legal basis of a release.
    pub rule: String,
}

/// One request as the audit trail keeps it: who, from where, when, what, about whom, what was
/// released and withheld, and the result. Allowed and denied requests alike.
///
/// The canonical bytes are this struct's JSON with its fields in declaration order (serde keeps
/// struct order; no maps), the time at microsecond precision: see [`AuditRecord::canonical`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// When the request was decided (UTC, kept to the microsecond).
    #[serde(with = "micros")]
    pub time: DateTime<Utc>,
    /// The token's subject (`sub`), when the token verified.
    pub subject: Option<String>,
    /// The client application (`client_id` / `azp`), when known.
    pub client_id: Option<String>,
    /// The organisation the caller acts for.
    pub organisation: Option<String>,
    /// The Waymark role code.
    pub role: Option<String>,
    /// A registered health professional.
    pub registered: Option<bool>,
    /// How the caller authenticated (`bearer-jwt`, `mtls+jwt`, `development`).
    pub auth_method: Option<String>,
    /// The client's address.
    pub source_address: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The path, sanitised by [`sanitise_path`] (query parameter names only, never values).
    pub path: String,
    /// The persons the request was about (hub person ids).
    pub person_ids: Vec<String>,
    /// The data classes released.
    pub released: Vec<ClassDecision>,
    /// The data classes withheld.
    pub withheld: Vec<ClassDecision>,
    /// The break-glass reason as given (free text: may hold anything; never logged).
    pub break_glass_reason: Option<Sensitive<String>>,
    /// The result: `allowed`, or the refusal's code (`auth.expired`, `audit.unavailable`, ...).
    pub outcome: String,
    /// The HTTP status returned.
    pub status: u16,
    /// A correlation id (request id), when the caller or the hub set one.
    pub correlation_id: Option<String>,
}

impl AuditRecord {
    /// A record of a request with nothing but its time, method, path, outcome and status.
    pub fn new(time: DateTime<Utc>, method: &str, path: &str, outcome: &str, status: u16) -> Self {
        Self {
            time,
            subject: None,
            client_id: None,
            organisation: None,
            role: None,
            registered: None,
            auth_method: None,
            source_address: None,
            method: method.to_owned(),
            path: sanitise_path(path),
            person_ids: Vec::new(),
            released: Vec::new(),
            withheld: Vec::new(),
            break_glass_reason: None,
            outcome: outcome.to_owned(),
            status,
            correlation_id: None,
        }
    }

    /// The record with its time cut to the microsecond (what the canonical form holds).
    pub fn normalised(mut self) -> Self {
        let nanos = self.time.timestamp_subsec_nanos();
        self.time -= chrono::Duration::nanoseconds(i64::from(nanos % 1_000));
        self
    }

    /// The canonical bytes: JSON, fields in declaration order, no whitespace.
    pub fn canonical(&self) -> Vec<u8> {
        // A struct of strings, numbers, options and vectors always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a record from its canonical (or any JSON) form; unknown fields are refused.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// A request path fit for the audit trail: the path as given (it names resource types and hub
/// ids, e.g. `/fhir/Patient/p-1/$summary`), and of the query only the parameter **names**,
/// sorted and deduplicated (`?birthdate&name`): values (identifiers, names, dates of birth)
/// never reach the log. Control characters are dropped and the result is cut to 512 bytes.
pub fn sanitise_path(raw: &str) -> String {
    let (path, query) = raw.split_once('?').unwrap_or((raw, ""));
    let mut names: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter(|name| !name.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out: String = path.chars().filter(|c| !c.is_control()).collect();
    if !names.is_empty() {
        out.push('?');
        out.push_str(&names.join("&"));
    }
    let mut end = out.len().min(512);
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// The time as `YYYY-MM-DDThh:mm:ss.ffffffZ`.
mod micros {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    use super::SecondsFormat;

    pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_never_survive() {
        let path = sanitise_path("/fhir/Patient?identifier=9434765919&name=Smith&name=Jo&x");
        assert_eq!(path, "/fhir/Patient?identifier&name&x");
        assert_eq!(sanitise_path("/health"), "/health");
        assert_eq!(sanitise_path("/a\n/b?"), "/a/b");
    }

    #[test]
    fn canonical_form_round_trips() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let record = AuditRecord::new(t, "GET", "/x", "allowed", 200).normalised();
        let text = String::from_utf8(record.canonical()).unwrap();
        assert!(text.starts_with(r#"{"time":"2023-11-14T22:13:20.123456Z","subject":null"#));
        assert_eq!(AuditRecord::from_json(&text).unwrap(), record);
        assert!(AuditRecord::from_json(&text.replace("\"time\"", "\"extra\":1,\"time\"")).is_err());
    }
}
