//! Demographics prepared for comparison: names normalised with their phonetic codes and
//! nickname groups, the date of birth as digits. Prepared once per record, compared many times.

use chrono::{Datelike, NaiveDate};

use crate::{
    demographics::{Demographics, Sex},
    nickname, text,
};

/// At most this many names and given names per name take part in comparisons.
const MAX_NAMES: usize = 8;
const MAX_GIVEN: usize = 3;

/// One prepared word of a name.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub(crate) text: String,
    pub(crate) code: String,
    pub(crate) groups: u128,
}

impl Word {
    fn new(raw: &str, with_groups: bool) -> Option<Self> {
        let text = text::normalise(raw);
        if text.is_empty() {
            return None;
        }
        Some(Self {
            code: text::phonetic(&text),
            groups: if with_groups {
                nickname::groups(&text)
            } else {
                0
            },
            text,
        })
    }
}

/// One prepared name.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PreparedName {
    pub(crate) given: Vec<Word>,
    pub(crate) family: Option<Word>,
    pub(crate) alias: bool,
}

/// Prepared demographics.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    pub(crate) names: Vec<PreparedName>,
    pub(crate) birth_date: Option<NaiveDate>,
    pub(crate) dob_digits: Option<[u8; 8]>,
    pub(crate) sex: Sex,
    pub(crate) postcodes: Vec<String>,
}

impl Prepared {
    pub(crate) fn new(d: &Demographics) -> Self {
        let names = d
            .names
            .iter()
            .take(MAX_NAMES)
            .map(|n| PreparedName {
                given: n
                    .given
                    .iter()
                    .filter_map(|g| Word::new(g, true))
                    .take(MAX_GIVEN)
                    .collect(),
                family: Word::new(&n.family, false),
                alias: n.alias,
            })
            .filter(|n| !n.given.is_empty() || n.family.is_some())
            .collect();
        Self {
            names,
            birth_date: d.birth_date,
            dob_digits: d.birth_date.map(digits),
            sex: d.sex,
            postcodes: d.postcodes.iter().take(MAX_NAMES).cloned().collect(),
        }
    }
}

/// `YYYYMMDD` as eight digits (years outside 0–9999 are clamped).
pub(crate) fn digits(date: NaiveDate) -> [u8; 8] {
    let y = u32::try_from(date.year().clamp(0, 9999)).unwrap_or(0);
    let n = y * 10_000 + date.month() * 100 + date.day();
    let mut out = [0u8; 8];
    let mut rest = n;
    for d in out.iter_mut().rev() {
        *d = u8::try_from(rest % 10).unwrap_or(0);
        rest /= 10;
    }
    out
}
