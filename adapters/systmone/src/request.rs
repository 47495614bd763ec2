//! A pull request: "fetch this person's GP Connect record", from the hub, the pull endpoint or
//! the change-notification poller.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use waymark_core::{NhsNumber, Sensitive};

use crate::SystmOneError;

/// Why a record is pulled: a short token (`prison-reception`, `identified`,
/// `change-notification`, …): lower-case letters, digits and `-`, at most 40 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

impl Reason {
    /// A person was received into prison.
    pub const PRISON_RECEPTION: &'static str = "prison-reception";
    /// The hub identified the person and wants their record.
    pub const IDENTIFIED: &'static str = "identified";
    /// SystmOne said the record changed.
    pub const CHANGE_NOTIFICATION: &'static str = "change-notification";

    /// Checks the token.
    pub fn parse(text: &str) -> Result<Self, SystmOneError> {
        let ok = !text.is_empty()
            && text.len() <= 40
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(SystmOneError::InvalidRequest(
                "`reason` must be a lower-case token",
            ))
        }
    }

    /// The token (no patient data; may be logged).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reason {
    type Error = SystmOneError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Reason> for String {
    fn from(value: Reason) -> Self {
        value.0
    }
}

/// A request to pull one person's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    /// The person, by NHS number (checked: 10 digits, modulus 11). Never logged.
    pub nhs_number: Sensitive<String>,
    /// Why.
    pub reason: Reason,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
}

/// The JSON shape of a pull request (`POST /pull`): `{nhsNumber, reason, requestedAt}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Wire {
    nhs_number: String,
    reason: String,
    requested_at: Option<DateTime<Utc>>,
}

impl PullRequest {
    /// A checked request.
    pub fn new(
        nhs_number: &str,
        reason: &str,
        requested_at: DateTime<Utc>,
    ) -> Result<Self, SystmOneError> {
        let nhs = NhsNumber::parse(nhs_number)
            .map_err(|_| SystmOneError::InvalidRequest("`nhsNumber` is not a valid NHS number"))?;
        Ok(Self {
            nhs_number: Sensitive::new(nhs.expose().to_owned()),
            reason: Reason::parse(reason)?,
            requested_at,
        })
    }

    /// Reads the JSON body of `POST /pull`; `requestedAt` defaults to `now`.
    pub fn from_json(body: &[u8], now: DateTime<Utc>) -> Result<Self, SystmOneError> {
        let wire: Wire = serde_json::from_slice(body).map_err(|_| {
            SystmOneError::InvalidRequest("body must be {nhsNumber, reason, requestedAt}")
        })?;
        Self::new(
            &wire.nhs_number,
            &wire.reason,
            wire.requested_at.unwrap_or(now),
        )
    }

    /// The NHS number. Never log it.
    pub fn nhs(&self) -> &str {
        self.nhs_number.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_and_hide_the_number() {
        let now = Utc::now();
        let ok = PullRequest::from_json(
            br#"{"nhsNumber":"943 476 5919","reason":"prison-reception"}"#,
            now,
        )
        .unwrap();
        assert_eq!(ok.nhs(), "9434765919");
        assert_eq!(ok.requested_at, now);
        assert!(!format!("{ok:?}").contains("9434765919"));
        for bad in [
            r#"{"nhsNumber":"9434765918","reason":"x"}"#,
            r#"{"nhsNumber":"9434765919","reason":"Has Spaces"}"#,
            r#"{"nhsNumber":"9434765919"}"#,
            r#"{"nhsNumber":"9434765919","reason":"x","extra":1}"#,
            "not json",
        ] {
            let err = PullRequest::from_json(bad.as_bytes(), now).unwrap_err();
            assert!(!err.to_string().contains("943"), "{err}");
        }
    }
}
