//! The matcher's configuration: Fellegi–Sunter style weights (about log2 of how much more often
//! an outcome happens between records of the same person than between records of different
//! people) and the two thresholds. Versioned; unknown fields are refused.

use serde::{Deserialize, Serialize};

/// Weights and thresholds of scored matching.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchConfig {
    /// Format version (1).
    pub version: u32,
    /// A candidate scoring at least this (and the only one to) is linked.
    pub link: f64,
    /// Candidates scoring at least this (below `link`, or several above it) go to review.
    pub review: f64,
    /// Jaro-Winkler similarity from which two names count as spelt alike.
    pub similar: f64,
    /// Most candidate persons scored per record: those sharing the most blocking keys first.
    pub max_candidates: u32,
    /// Given names (the best agreeing pair of any given names of either record).
    pub given: NameWeights,
    /// Second given names, when both records have one.
    pub middle: NameWeights,
    /// Points when the first given names disagree but one record's first given name agrees
    /// with the other's second (known by a middle name).
    pub other_given: f64,
    /// Added when the family name and date of birth agree but the given names disagree: the
    /// signature of twins, which independent weights would otherwise link.
    pub relatives: f64,
    /// Family names.
    pub family: NameWeights,
    /// Date of birth.
    pub birth_date: BirthDateWeights,
    /// Sex (male or female on both sides).
    pub sex: AgreeWeights,
    /// Postcodes.
    pub postcode: PostcodeWeights,
    /// Both records hold a valid identifier of the same kind, with different values.
    pub identifier_disagreement: DisagreementWeights,
    /// Adjustment of exact name agreements by how common the name is (index scoring only).
    pub frequency: FrequencyWeights,
}

/// Term-frequency adjustment: an exact agreement on a name of share `s` gets
/// `log2(reference / s)` more points (clamped), so common names count less and rare ones more.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrequencyWeights {
    /// Whether to adjust at all.
    pub enabled: bool,
    /// The share of a given name for which `given.exact` is right.
    pub given_reference: f64,
    /// The share of a family name for which `family.exact` is right.
    pub family_reference: f64,
    /// Most points added for a rare name.
    pub max_bonus: f64,
    /// Most points taken for a common name.
    pub max_penalty: f64,
    /// No adjustment until this many records have been counted.
    pub min_records: u32,
}

impl Default for FrequencyWeights {
    fn default() -> Self {
        Self {
            enabled: true,
            given_reference: 0.015,
            family_reference: 0.004,
            max_bonus: 3.0,
            max_penalty: 2.0,
            min_records: 1_000,
        }
    }
}

/// Weights of a name comparison (all six must be given).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameWeights {
    /// Same name.
    pub exact: f64,
    /// Nickname or other form of the same name (Bob, Robert).
    pub nickname: f64,
    /// One letter wrong, missing, extra, or two swapped.
    pub typo: f64,
    /// Sounds the same or is spelt alike (Thomson, Thompson).
    pub phonetic: f64,
    /// An initial that matches.
    pub initial: f64,
    /// Different.
    pub disagree: f64,
}

/// Weights of a date-of-birth comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BirthDateWeights {
    /// Same date.
    pub exact: f64,
    /// Day and month swapped.
    pub day_month_swap: f64,
    /// Two adjacent digits swapped.
    pub transposition: f64,
    /// One digit different.
    pub one_digit: f64,
    /// Different.
    pub disagree: f64,
}

/// Weights of an agree / disagree comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgreeWeights {
    /// Same.
    pub agree: f64,
    /// Different.
    pub disagree: f64,
}

/// Weights of a postcode comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostcodeWeights {
    /// A postcode in common.
    pub exact: f64,
    /// A postcode district (outward code) in common.
    pub district: f64,
    /// None in common.
    pub disagree: f64,
}

/// Weights (negative) of holding different valid identifiers of the same kind. The defaults
/// for NHS number, PNC ID and CRO number outweigh any agreement of demographics (each is issued
/// once per person), so they act as a veto; NOMIS does issue a second prison number now and
/// then, so that one only counts against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisagreementWeights {
    /// NHS numbers differ.
    pub nhs_number: f64,
    /// PNC IDs differ.
    pub pnc_id: f64,
    /// CRO numbers differ.
    pub cro_number: f64,
    /// Prison numbers differ (NOMIS sometimes issues a second one to the same person).
    pub prison_number: f64,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            version: 1,
            link: 22.0,
            review: 14.0,
            similar: 0.9,
            max_candidates: 200,
            given: NameWeights {
                exact: 6.0,
                nickname: 5.0,
                typo: 4.5,
                phonetic: 2.5,
                initial: 1.0,
                disagree: -10.0,
            },
            middle: NameWeights {
                exact: 3.0,
                nickname: 2.0,
                typo: 2.0,
                phonetic: 1.0,
                initial: 0.5,
                disagree: -6.0,
            },
            other_given: 2.0,
            relatives: -6.0,
            family: NameWeights {
                exact: 7.0,
                nickname: 0.0,
                typo: 5.5,
                phonetic: 3.0,
                initial: 0.0,
                disagree: -6.0,
            },
            birth_date: BirthDateWeights::default(),
            sex: AgreeWeights::default(),
            postcode: PostcodeWeights::default(),
            identifier_disagreement: DisagreementWeights::default(),
            frequency: FrequencyWeights::default(),
        }
    }
}

impl Default for BirthDateWeights {
    fn default() -> Self {
        Self {
            exact: 13.0,
            day_month_swap: 7.0,
            transposition: 5.0,
            one_digit: 4.5,
            disagree: -10.0,
        }
    }
}

impl Default for AgreeWeights {
    fn default() -> Self {
        Self {
            agree: 1.0,
            disagree: -6.0,
        }
    }
}

impl Default for PostcodeWeights {
    fn default() -> Self {
        Self {
            exact: 9.0,
            district: 2.0,
            disagree: -1.0,
        }
    }
}

impl Default for DisagreementWeights {
    fn default() -> Self {
        Self {
            nhs_number: -30.0,
            pnc_id: -25.0,
            cro_number: -25.0,
            prison_number: -4.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_unknown_fields() {
        let cfg = MatchConfig::default();
        let text = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<MatchConfig>(&text).unwrap(), cfg);
        let partial: MatchConfig = serde_json::from_str(r#"{"link": 30}"#).unwrap();
        assert_eq!((partial.link, partial.review), (30.0, cfg.review));
        assert!(serde_json::from_str::<MatchConfig>(r#"{"lnk": 30}"#).is_err());
        assert!(cfg.review < cfg.link);
    }
}
