//! The weak evidence about who a record is about: names, date of birth, sex, postcodes.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Sex as recorded (FHIR `administrative-gender`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
    /// Other (never compared).
    Other,
    /// Not recorded or unknown (never compared).
    #[default]
    Unknown,
}

impl Sex {
    /// From a FHIR `gender` code; anything unrecognised is unknown.
    pub fn from_fhir(code: &str) -> Self {
        match code {
            "male" => Self::Male,
            "female" => Self::Female,
            "other" => Self::Other,
            _ => Self::Unknown,
        }
    }
}

/// One name as recorded.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    /// Given names, first first.
    #[serde(default)]
    pub given: Vec<String>,
    /// Family name (empty when not recorded).
    #[serde(default)]
    pub family: String,
    /// A name the person is known by that is not their official or usual one (FHIR `use`
    /// `old`, `nickname`, `maiden`, `anonymous` or `temp`).
    #[serde(default)]
    pub alias: bool,
}

/// The demographics of one record. Patient data: `Debug` prints only what is present.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Demographics {
    /// Names, official and usual ones first.
    #[serde(default)]
    pub names: Vec<Name>,
    /// Date of birth (only a full date counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    /// Sex.
    #[serde(default)]
    pub sex: Sex,
    /// Postcodes, normalised: upper case, no spaces.
    #[serde(default)]
    pub postcodes: Vec<String>,
}

impl fmt::Debug for Demographics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Demographics")
            .field("names", &self.names.len())
            .field("birth_date", &self.birth_date.is_some())
            .field("sex", &self.sex)
            .field("postcodes", &self.postcodes.len())
            .finish()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Name")
            .field("given", &self.given.len())
            .field("alias", &self.alias)
            .finish_non_exhaustive()
    }
}

impl Demographics {
    /// The names that are the person's own first, then aliases.
    pub(crate) fn primary_name(&self) -> Option<&Name> {
        self.names
            .iter()
            .find(|n| !n.alias)
            .or_else(|| self.names.first())
    }
}

/// A postcode normalised for comparison: upper-case letters and digits; `None` unless it has
/// the length of a UK postcode (5 to 7 characters without the space).
pub fn normalise_postcode(text: &str) -> Option<String> {
    let p: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (5..=7).contains(&p.len()).then_some(p)
}

/// The outward code (postcode district) of a normalised postcode: all but the last three.
pub(crate) fn district(postcode: &str) -> &str {
    postcode
        .get(..postcode.len().saturating_sub(3))
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let d = Demographics {
            names: vec![Name {
                given: vec!["Zebedee".into()],
                family: "Quixotic".into(),
                alias: false,
            }],
            birth_date: NaiveDate::from_ymd_opt(1987, 6, 5),
            sex: Sex::Male,
            postcodes: vec!["LS114AB".into()],
        };
        let text = format!("{d:?} {:?}", d.names[0]);
        for secret in ["Zebedee", "Quixotic", "1987", "LS11"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn postcodes() {
        assert_eq!(normalise_postcode("ls11 4ab").as_deref(), Some("LS114AB"));
        assert_eq!(normalise_postcode("M1 1AA").as_deref(), Some("M11AA"));
        assert_eq!(normalise_postcode("nope"), None);
        assert_eq!(district("LS114AB"), "LS11");
    }
}
