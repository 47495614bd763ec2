//! Strong identifiers: the ones that link records deterministically, each checked before use.
//! An identifier that fails its check is kept (a reviewer may want to know it was there) but
//! never used to link.

use std::fmt;

use serde::{Deserialize, Serialize};
use waymark_core::{
    CRO_NUMBER_SYSTEM, CroNumber, NHS_NUMBER_SYSTEM, NhsNumber, PNC_ID_SYSTEM,
    PRISON_NUMBER_SYSTEM, PncId, PrisonNumber, Sensitive,
};

/// Identifier system of NOMIS booking ids.
pub const NOMIS_BOOKING_ID_SYSTEM: &str = "https://fhir.waymark.org.uk/Id/nomis-booking-id";

/// Prefix and suffix of a source's local record id system:
/// `https://fhir.waymark.org.uk/Id/<source>-local-id`.
const LOCAL_PREFIX: &str = "https://fhir.waymark.org.uk/Id/";
const LOCAL_SUFFIX: &str = "-local-id";

/// Longest identifier value considered; longer ones are invalid.
const MAX_VALUE: usize = 64;

/// What an identifier is, most trusted first (the order of the variants is the trust order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentifierKind {
    /// NHS number (modulus 11 check digit).
    NhsNumber,
    /// PNC ID (mod 23 check letter).
    PncId,
    /// CRO number (mod 23 check letter).
    CroNumber,
    /// NOMIS prison number (format only).
    PrisonNumber,
    /// NOMIS booking id (digits).
    NomisBookingId,
    /// A source's own record id (`<source>-local-id`; the system says which source).
    LocalId,
}

impl IdentifierKind {
    /// The kind of an identifier system, `None` for systems that are not strong identifiers.
    pub fn of_system(system: &str) -> Option<Self> {
        match system {
            NHS_NUMBER_SYSTEM => Some(Self::NhsNumber),
            PNC_ID_SYSTEM => Some(Self::PncId),
            CRO_NUMBER_SYSTEM => Some(Self::CroNumber),
            PRISON_NUMBER_SYSTEM => Some(Self::PrisonNumber),
            NOMIS_BOOKING_ID_SYSTEM => Some(Self::NomisBookingId),
            s => s
                .strip_prefix(LOCAL_PREFIX)
                .and_then(|rest| rest.strip_suffix(LOCAL_SUFFIX))
                .filter(|source| is_source_name(source))
                .map(|_| Self::LocalId),
        }
    }

    /// True for identifiers a person has at most one of, so that two different valid values
    /// are evidence of two different people.
    pub fn one_per_person(self) -> bool {
        matches!(self, Self::NhsNumber | Self::PncId | Self::CroNumber)
    }
}

fn is_source_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// A strong identifier of a record.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identifier {
    /// What it is.
    pub kind: IdentifierKind,
    /// Its FHIR identifier system.
    pub system: String,
    /// The value: normalised when valid (`NhsNumber`, `PncId`, ... forms), else as recorded.
    pub value: Sensitive<String>,
    /// Whether it passed its check (check character, or format). Invalid ones never link.
    pub valid: bool,
}

impl fmt::Debug for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identifier")
            .field("kind", &self.kind)
            .field("system", &self.system)
            .field("valid", &self.valid)
            .finish_non_exhaustive()
    }
}

impl Identifier {
    /// Checks a value of a system; `None` when the system is not a strong identifier.
    pub fn check(system: &str, value: &str) -> Option<Self> {
        let kind = IdentifierKind::of_system(system)?;
        let raw = value.trim();
        let normalised = if raw.len() > MAX_VALUE {
            None
        } else {
            normalise(kind, raw)
        };
        Some(Self {
            kind,
            system: system.to_owned(),
            valid: normalised.is_some(),
            value: Sensitive::new(
                normalised.unwrap_or_else(|| raw.chars().take(MAX_VALUE).collect()),
            ),
        })
    }

    /// The key the identifier is indexed by: system and normalised value.
    pub fn key(&self) -> String {
        format!("{}|{}", self.system, self.value.expose())
    }
}

/// The normalised value, or `None` when the value fails the check of its kind.
fn normalise(kind: IdentifierKind, raw: &str) -> Option<String> {
    match kind {
        IdentifierKind::NhsNumber => NhsNumber::parse(raw).ok().map(|n| n.expose().to_owned()),
        IdentifierKind::PncId => PncId::parse(raw).ok().map(|n| n.expose().to_owned()),
        IdentifierKind::CroNumber => CroNumber::parse(raw).ok().map(|n| n.expose().to_owned()),
        IdentifierKind::PrisonNumber => PrisonNumber::parse(&raw.to_ascii_uppercase())
            .ok()
            .map(|n| n.expose().to_owned()),
        IdentifierKind::NomisBookingId => {
            (!raw.is_empty() && raw.len() <= 12 && raw.bytes().all(|b| b.is_ascii_digit()))
                .then(|| raw.to_owned())
        }
        IdentifierKind::LocalId => (!raw.is_empty()
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:".contains(&b)))
        .then(|| raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_and_normalises() {
        let nhs = Identifier::check(NHS_NUMBER_SYSTEM, " 943 476 5919 ").unwrap();
        assert!(nhs.valid);
        assert_eq!(nhs.value.expose(), "9434765919");
        let bad = Identifier::check(NHS_NUMBER_SYSTEM, "9434765918").unwrap();
        assert!(!bad.valid);
        let pnc = Identifier::check(PNC_ID_SYSTEM, "2002/0012345Y").unwrap();
        assert_eq!(
            (pnc.valid, pnc.value.expose().as_str()),
            (true, "02/0012345Y")
        );
        assert!(
            !Identifier::check(PNC_ID_SYSTEM, "02/0012345A")
                .unwrap()
                .valid
        );
        assert!(
            Identifier::check(PRISON_NUMBER_SYSTEM, "a1234bc")
                .unwrap()
                .valid
        );
        assert!(
            !Identifier::check(PRISON_NUMBER_SYSTEM, "A1234B")
                .unwrap()
                .valid
        );
        assert!(
            Identifier::check(NOMIS_BOOKING_ID_SYSTEM, "1800836")
                .unwrap()
                .valid
        );
        assert!(
            !Identifier::check(NOMIS_BOOKING_ID_SYSTEM, "18x")
                .unwrap()
                .valid
        );
        let local = "https://fhir.waymark.org.uk/Id/athena-local-id";
        assert_eq!(
            Identifier::check(local, "AT123").unwrap().kind,
            IdentifierKind::LocalId
        );
        assert!(!Identifier::check(local, "").unwrap().valid);
        assert!(
            Identifier::check("https://fhir.waymark.org.uk/Id/local-clinical-id", "1").is_none()
        );
        assert!(Identifier::check("urn:other", "1").is_none());
        assert!(!Identifier::check(local, &"9".repeat(65)).unwrap().valid);
    }

    #[test]
    fn debug_never_shows_the_value() {
        let nhs = Identifier::check(NHS_NUMBER_SYSTEM, "9434765919").unwrap();
        assert!(!format!("{nhs:?}").contains("943"));
    }
}
