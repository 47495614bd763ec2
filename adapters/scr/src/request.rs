//! A pull request: the hub (or anyone allowed to call `POST /pull`) asks for one person's
//! Summary Care Record, by NHS number, for a reason.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use waymark_core::{NhsNumber, Sensitive};

use crate::ScrError;

/// A checked NHS number (10 digits, modulus 11). Printing it hides it; never log it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nhs(Sensitive<String>);

impl Nhs {
    /// Checks format and check digit; spaces are removed.
    pub fn parse(text: &str) -> Result<Self, ScrError> {
        NhsNumber::parse(text).map_err(|_| ScrError::InvalidNhsNumber)?;
        Ok(Self(Sensitive::new(text.replace(' ', ""))))
    }

    /// The ten digits. Never log them.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// Why a record is pulled (`prison-reception`, `identified`, `change-notification`, ...): a
/// lower-case token, kept in the journal and the envelope context; it carries no patient data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PullReason(String);

impl PullReason {
    /// Checks the token: `[a-z][a-z0-9-]*`, at most 40 characters.
    pub fn parse(text: &str) -> Result<Self, ScrError> {
        let ok = !text.is_empty()
            && text.len() <= 40
            && text.starts_with(|c: char| c.is_ascii_lowercase())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(ScrError::InvalidRequest)
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PullReason {
    type Error = ScrError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PullReason> for String {
    fn from(value: PullReason) -> Self {
        value.0
    }
}

/// A request to pull one person's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    /// Whose record.
    pub nhs_number: Nhs,
    /// Why.
    pub reason: PullReason,
    /// When the requester asked.
    pub requested_at: DateTime<Utc>,
}

/// The JSON shape of `POST /pull`.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PullRequestJson {
    pub nhs_number: String,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
}

impl PullRequest {
    /// A request made now.
    pub fn new(nhs_number: &str, reason: &str) -> Result<Self, ScrError> {
        Ok(Self {
            nhs_number: Nhs::parse(nhs_number)?,
            reason: PullReason::parse(reason)?,
            requested_at: Utc::now(),
        })
    }

    /// Reads `{nhsNumber, reason, requestedAt}`; the error never quotes the body.
    pub fn from_json(body: &[u8]) -> Result<Self, ScrError> {
        let json: PullRequestJson =
            serde_json::from_slice(body).map_err(|_| ScrError::InvalidRequest)?;
        Ok(Self {
            nhs_number: Nhs::parse(&json.nhs_number)?,
            reason: PullReason::parse(&json.reason)?,
            requested_at: json.requested_at,
        })
    }

    /// The JSON body of `POST /pull` for this request.
    pub fn to_json(&self) -> Vec<u8> {
        let json = PullRequestJson {
            nhs_number: self.nhs_number.expose().to_owned(),
            reason: self.reason.as_str().to_owned(),
            requested_at: self.requested_at,
        };
        serde_json::to_vec(&json).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_request_and_checks_it() {
        let body = br#"{"nhsNumber":"9434765919","reason":"prison-reception","requestedAt":"2026-01-02T03:04:05Z"}"#;
        let request = PullRequest::from_json(body).unwrap();
        assert_eq!(request.nhs_number.expose(), "9434765919");
        assert_eq!(request.reason.as_str(), "prison-reception");
        assert_eq!(PullRequest::from_json(&request.to_json()).unwrap(), request);
        let bad_check = br#"{"nhsNumber":"9434765918","reason":"identified","requestedAt":"2026-01-02T03:04:05Z"}"#;
        assert!(matches!(
            PullRequest::from_json(bad_check),
            Err(ScrError::InvalidNhsNumber)
        ));
        for bad in [
            &b"{"[..],
            br#"{"nhsNumber":"9434765919","reason":"Bad Reason","requestedAt":"2026-01-02T03:04:05Z"}"#,
            br#"{"nhsNumber":"9434765919","reason":"identified"}"#,
        ] {
            assert!(matches!(
                PullRequest::from_json(bad),
                Err(ScrError::InvalidRequest)
            ));
        }
    }

    #[test]
    fn printing_hides_the_number() {
        let nhs = Nhs::parse("9434765919").unwrap();
        assert!(!format!("{nhs:?}").contains("9434765919"));
    }
}
