//! A synthetic person: the ground truth every source's record of them is drawn from.
//!
//! Kept compact (indices into the embedded name lists, numbers for identifiers) so that a
//! million people fit in well under 100 MB; the accessors render the values.

use std::{borrow::Cow, fmt, num::NonZeroU64};

use chrono::NaiveDate;

use crate::{
    ids::{cro_text, pnc_text, prison_text},
    postcode::Postcode,
    tables::{family_name, given_name},
};

/// A person's stable synthetic id: their index in the population.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonId(pub u32);

impl PersonId {
    /// The index in [`crate::Population::people`].
    pub fn index(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SYN{:08}", self.0)
    }
}

/// Sex as recorded at birth (the population has two; sources may record it wrongly or not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
}

impl Sex {
    /// The FHIR `administrative-gender` code.
    pub fn fhir_code(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }

    /// The other one.
    pub fn other(self) -> Self {
        match self {
            Self::Male => Self::Female,
            Self::Female => Self::Male,
        }
    }
}

/// How a person is related to an earlier person of the population: the hard cases for
/// matching. New kinds may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tie {
    /// A twin: same family name and date of birth, often the same postcode, a different (often
    /// similar-sounding) given name.
    Twin(PersonId),
    /// A brother or sister: same family name, often the same postcode, a few years apart.
    Sibling(PersonId),
    /// Parent and child with the same given and family name, a generation apart.
    SameNameGeneration(PersonId),
    /// No relation: same given name, family name, sex and date of birth, by coincidence.
    Namesake(PersonId),
}

impl Tie {
    /// The earlier person this one is tied to.
    pub fn other(self) -> PersonId {
        match self {
            Self::Twin(p) | Self::Sibling(p) | Self::SameNameGeneration(p) | Self::Namesake(p) => p,
        }
    }
}

/// A name the person is also known by, not their own (police and prison records list them).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Alias {
    pub(crate) given: u16,
    pub(crate) family: u16,
}

/// One synthetic person (ground truth). Fields are private so that later issues can add
/// (e.g. a pathway through custody, court and prison) without breaking callers.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub(crate) id: PersonId,
    pub(crate) sex: Sex,
    pub(crate) given: u16,
    pub(crate) middle: Option<u16>,
    pub(crate) family: u16,
    /// The other family name the person has used (maiden name, name before a deed poll).
    pub(crate) other_family: u16,
    pub(crate) birth_date: NaiveDate,
    pub(crate) postcode: Postcode,
    pub(crate) nhs_number: Option<NonZeroU64>,
    pub(crate) pnc_year: u16,
    pub(crate) pnc_serial: u32,
    pub(crate) cro: Option<(u32, u8)>,
    pub(crate) prison: u32,
    pub(crate) aliases: Box<[Alias]>,
    pub(crate) tie: Option<Tie>,
}

impl fmt::Debug for Person {
    /// Synthetic, but printed like patient data would be: the id and the tie only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("id", &self.id)
            .field("tie", &self.tie)
            .finish_non_exhaustive()
    }
}

impl Person {
    /// The stable synthetic id.
    pub fn id(&self) -> PersonId {
        self.id
    }

    /// Sex.
    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// Given names, first name first.
    pub fn given_names(&self) -> Vec<&'static str> {
        let middle = self.middle.map(|m| given_name(self.sex, m));
        std::iter::once(given_name(self.sex, self.given))
            .chain(middle)
            .collect()
    }

    /// The family name.
    pub fn family_name(&self) -> Cow<'static, str> {
        family_name(self.family)
    }

    /// The other family name the person has been recorded under (e.g. before marriage).
    pub fn other_family_name(&self) -> Cow<'static, str> {
        family_name(self.other_family)
    }

    /// Aliases: `(given, family)` names the person has used that are not their own.
    pub fn aliases(&self) -> Vec<(&'static str, Cow<'static, str>)> {
        self.aliases
            .iter()
            .map(|a| (given_name(self.sex, a.given), family_name(a.family)))
            .collect()
    }

    /// Date of birth.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Home postcode, e.g. `LS11 5QT`.
    pub fn postcode(&self) -> String {
        self.postcode.to_string()
    }

    /// NHS number (10 digits, valid check digit); `None` for the few never registered.
    pub fn nhs_number(&self) -> Option<String> {
        self.nhs_number.map(|n| format!("{:010}", n.get()))
    }

    /// PNC ID, long form `YYYY/NNNNNNNA`.
    pub fn pnc_id(&self) -> String {
        pnc_text(self.pnc_year, self.pnc_serial, true)
    }

    /// CRO number `NNNNNN/YYL`, for people who have one.
    pub fn cro_number(&self) -> Option<String> {
        self.cro.map(|(s, y)| cro_text(s, y))
    }

    /// NOMIS prison number `A1234BC`.
    pub fn prison_number(&self) -> String {
        prison_text(self.prison)
    }

    /// How this person is related to an earlier one, if they were made a hard case.
    pub fn tie(&self) -> Option<Tie> {
        self.tie
    }
}
