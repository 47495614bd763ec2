//! Subscription filters and the pure matching of an event's facts against them.

use serde::{Deserialize, Serialize};
use waymark_core::Sensitive;

use super::{SubscriptionError, error::shown};

/// What a filter narrows on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterName {
    /// The custody suite or prison establishment code the event happened at (e.g. `LEI`).
    Establishment,
    /// A person identifier, `system|value` (e.g. an NHS number): one person's events only.
    PatientIdentifier,
}

impl FilterName {
    /// The filter's name as written in files and in FHIR `name=value` criteria.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Establishment => "establishment",
            Self::PatientIdentifier => "patient-identifier",
        }
    }

    /// The filter called `name`.
    pub fn parse(name: &str) -> Result<Self, SubscriptionError> {
        match name {
            "establishment" => Ok(Self::Establishment),
            "patient-identifier" => Ok(Self::PatientIdentifier),
            other => Err(SubscriptionError::FilterName(shown(other))),
        }
    }
}

/// One filter: only events whose facts match it are notified. The value may identify a person,
/// so it is [`Sensitive`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// What it narrows on.
    pub name: FilterName,
    /// An establishment code, or `system|value`.
    pub value: Sensitive<String>,
}

/// What the release stage knows of an event, to match filters against. Holds identifiers:
/// never log it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFacts {
    /// The establishment (custody suite or prison) code the event happened at, if known.
    pub establishment: Option<String>,
    /// The person's identifiers, `(system, value)`.
    pub identifiers: Vec<(String, String)>,
}

impl Filter {
    /// Whether the event's facts satisfy this filter.
    pub fn matches(&self, facts: &EventFacts) -> bool {
        let value = self.value.expose();
        match self.name {
            FilterName::Establishment => facts
                .establishment
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(value)),
            FilterName::PatientIdentifier => value.split_once('|').is_some_and(|(sys, val)| {
                facts.identifiers.iter().any(|(s, v)| s == sys && v == val)
            }),
        }
    }

    /// Checks the value's form (never echoing it).
    pub fn validate(&self) -> Result<(), SubscriptionError> {
        let value = self.value.expose();
        let ok = match self.name {
            FilterName::Establishment => {
                (1..=32).contains(&value.len())
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            }
            FilterName::PatientIdentifier => value.split_once('|').is_some_and(|(s, v)| {
                !s.is_empty()
                    && !v.is_empty()
                    && value.len() <= 256
                    && !s.chars().any(char::is_whitespace)
                    && !v.chars().any(char::is_control)
                    && !v.contains('|')
            }),
        };
        if ok {
            Ok(())
        } else {
            let rule = match self.name {
                FilterName::Establishment => "1 to 32 letters, digits, `-` or `_`",
                FilterName::PatientIdentifier => "`system|value`",
            };
            Err(SubscriptionError::FilterValue(self.name.as_str(), rule))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(name: FilterName, value: &str) -> Filter {
        Filter {
            name,
            value: Sensitive::new(value.to_owned()),
        }
    }

    #[test]
    fn filters_match_facts() {
        let facts = EventFacts {
            establishment: Some("LEI".into()),
            identifiers: vec![(
                "https://fhir.nhs.uk/Id/nhs-number".into(),
                "9434765919".into(),
            )],
        };
        assert!(filter(FilterName::Establishment, "lei").matches(&facts));
        assert!(!filter(FilterName::Establishment, "MDI").matches(&facts));
        assert!(!filter(FilterName::Establishment, "LEI").matches(&EventFacts::default()));
        let nhs = filter(
            FilterName::PatientIdentifier,
            "https://fhir.nhs.uk/Id/nhs-number|9434765919",
        );
        assert!(nhs.matches(&facts));
        let other = filter(
            FilterName::PatientIdentifier,
            "https://fhir.nhs.uk/Id/nhs-number|9434765870",
        );
        assert!(!other.matches(&facts));
        assert!(!filter(FilterName::PatientIdentifier, "9434765919").matches(&facts));
    }

    #[test]
    fn filter_values_are_validated() {
        assert!(filter(FilterName::Establishment, "LEI").validate().is_ok());
        assert!(filter(FilterName::Establishment, "").validate().is_err());
        assert!(
            filter(FilterName::Establishment, "L E I")
                .validate()
                .is_err()
        );
        assert!(
            filter(FilterName::PatientIdentifier, "s|v")
                .validate()
                .is_ok()
        );
        for bad in ["", "|v", "s|", "v", "s s|v", "s|v|w"] {
            let err = filter(FilterName::PatientIdentifier, bad).validate();
            assert!(err.is_err(), "{bad}");
        }
        let err = filter(FilterName::PatientIdentifier, "s|9434765919")
            .validate()
            .err();
        assert!(err.is_none());
        assert!(FilterName::parse("surname").is_err());
    }
}
