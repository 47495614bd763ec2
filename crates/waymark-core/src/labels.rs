//! Security labels: the hub's own data classes and the HL7 confidentiality codes.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// `meta.security` system of the hub's data-class labels (the role policy is written against these).
pub const DATA_CLASS_SYSTEM: &str = "https://fhir.waymark.org.uk/CodeSystem/hjmd-data-class";
/// `meta.security` system of HL7 confidentiality codes (N, R, V).
pub const CONFIDENTIALITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

macro_rules! data_classes {
    ($($variant:ident => $code:literal, clinical: $clinical:literal;)*) => {
        /// The hub's data classes (dataset.md §1). Every resource carries exactly one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum DataClass {
            $(
                #[doc = concat!("`", $code, "`")]
                #[serde(rename = $code)]
                $variant,
            )*
        }

        impl DataClass {
            /// Every data class, in a fixed order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The code used in `meta.security` and in the policy files.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }

            /// Whether the class holds health information (what `probation` never sees).
            pub fn is_clinical(self) -> bool {
                match self { $(Self::$variant => $clinical),* }
            }
        }
    };
}

data_classes! {
    Identity => "identity", clinical: false;
    IdentityClinical => "identity-clinical", clinical: true;
    Contact => "contact", clinical: false;
    Safeguarding => "safeguarding", clinical: false;
    PhysicalSummary => "physical-summary", clinical: true;
    PhysicalClinical => "physical-clinical", clinical: true;
    MhSummary => "mh-summary", clinical: true;
    MhClinical => "mh-clinical", clinical: true;
    RiskSelf => "risk-self", clinical: false;
    Substance => "substance", clinical: true;
    Medication => "medication", clinical: true;
    RiskOthers => "risk-others", clinical: false;
    Agencies => "agencies", clinical: false;
    Detention => "detention", clinical: false;
    Consent => "consent", clinical: false;
}

impl fmt::Display for DataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for DataClass {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.code() == s)
            .ok_or_else(|| format!("unknown data class `{s}`"))
    }
}

/// HL7 v3 confidentiality: normal, restricted, very restricted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Confidentiality {
    /// `N`
    N,
    /// `R`
    R,
    /// `V`
    V,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for class in DataClass::ALL {
            assert_eq!(class.code().parse::<DataClass>().unwrap(), *class);
            assert!(seen.insert(class.code()));
        }
        assert!("diagnosis".parse::<DataClass>().is_err());
    }

    #[test]
    fn clinical_classes_are_the_health_ones() {
        assert!(DataClass::MhClinical.is_clinical());
        assert!(DataClass::Medication.is_clinical());
        assert!(!DataClass::Detention.is_clinical());
        assert!(!DataClass::RiskSelf.is_clinical());
    }
}
