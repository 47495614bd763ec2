//! An observation: one source's record of one person, as that source holds it, with the
//! ground truth (who it really is, what went wrong) kept beside it for measuring a matcher.

use std::fmt;

use chrono::NaiveDate;
use waymark_core::SourceSystem;

use crate::{
    mess::MessKind,
    person::{PersonId, Sex},
};

/// Identifies an observation: a person and the position among that person's observations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObservationRef {
    /// Who it really is.
    pub person: PersonId,
    /// Which of the person's observations (0-based).
    pub sequence: u8,
}

/// How a recorded name is used (FHIR `HumanName.use`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameUse {
    /// The name as recorded for the person.
    Official,
    /// A name the person uses that is not their own (FHIR `old`, the dataset's aliases), or a
    /// previous family name.
    Old,
    /// Known-as.
    Nickname,
}

impl NameUse {
    /// The FHIR `name-use` code.
    pub fn fhir_code(self) -> &'static str {
        match self {
            Self::Official => "official",
            Self::Old => "old",
            Self::Nickname => "nickname",
        }
    }
}

/// A name as a source recorded it.
#[derive(Clone, PartialEq, Eq)]
pub struct ObservedName {
    /// How it is used.
    pub name_use: NameUse,
    /// Given names, first first.
    pub given: Vec<String>,
    /// Family name.
    pub family: String,
}

/// One source's record of one person.
#[derive(Clone, PartialEq)]
pub struct Observation {
    pub(crate) reference: ObservationRef,
    pub(crate) source: SourceSystem,
    pub(crate) local_id: String,
    pub(crate) resource_id: String,
    pub(crate) names: Vec<ObservedName>,
    pub(crate) birth_date: NaiveDate,
    pub(crate) sex: Option<Sex>,
    pub(crate) postcode: Option<String>,
    pub(crate) nhs_number: Option<String>,
    pub(crate) pnc_id: Option<String>,
    pub(crate) cro_number: Option<String>,
    pub(crate) prison_number: Option<String>,
    pub(crate) mess: Vec<MessKind>,
}

impl fmt::Debug for Observation {
    /// Never the recorded values: who, where from, and what went wrong.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observation")
            .field("reference", &self.reference)
            .field("source", &self.source)
            .field("mess", &self.mess)
            .finish_non_exhaustive()
    }
}

impl Observation {
    /// Which observation this is (ground truth).
    pub fn reference(&self) -> ObservationRef {
        self.reference
    }

    /// Who this really is (ground truth).
    pub fn person(&self) -> PersonId {
        self.reference.person
    }

    /// The source that holds it.
    pub fn source(&self) -> SourceSystem {
        self.source
    }

    /// The source's own id for its record (for NOMIS, the booking id).
    pub fn local_id(&self) -> &str {
        &self.local_id
    }

    /// The FHIR resource id the record is rendered with.
    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }

    /// Names as recorded, the official one first.
    pub fn names(&self) -> &[ObservedName] {
        &self.names
    }

    /// Date of birth as recorded.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Sex as recorded (`None`: unknown).
    pub fn sex(&self) -> Option<Sex> {
        self.sex
    }

    /// Postcode as recorded.
    pub fn postcode(&self) -> Option<&str> {
        self.postcode.as_deref()
    }

    /// NHS number as recorded (may fail its check, see [`Observation::mess`]).
    pub fn nhs_number(&self) -> Option<&str> {
        self.nhs_number.as_deref()
    }

    /// PNC ID as recorded.
    pub fn pnc_id(&self) -> Option<&str> {
        self.pnc_id.as_deref()
    }

    /// CRO number as recorded.
    pub fn cro_number(&self) -> Option<&str> {
        self.cro_number.as_deref()
    }

    /// NOMIS prison number as recorded.
    pub fn prison_number(&self) -> Option<&str> {
        self.prison_number.as_deref()
    }

    /// What went wrong in this record (ground truth).
    pub fn mess(&self) -> &[MessKind] {
        &self.mess
    }

    /// True when `kind` went wrong in this record.
    pub fn has(&self, kind: MessKind) -> bool {
        self.mess.contains(&kind)
    }
}
