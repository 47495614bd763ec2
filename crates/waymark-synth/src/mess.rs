//! What goes wrong when a source records a person, and how often: the [`Mess`] configuration
//! and the [`MessKind`]s an observation carries as ground truth.
//!
//! Defaults are meant to be realistic for the pathway (custody records are taken from people
//! who may be intoxicated, unwell or unwilling; health systems look people up on the Spine; NOMIS
//! is keyed by prison number): change them to explore, not to make a matcher look better.

use waymark_core::SourceSystem;

/// Which identifiers and names a source's record carries, each as a probability, and how much
/// of the traffic the source sends.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceProfile {
    /// Relative share of observations from this source.
    pub weight: f64,
    /// NHS number recorded (when the person has one).
    pub nhs_number: f64,
    /// PNC ID recorded.
    pub pnc_id: f64,
    /// CRO number recorded (when the person has one).
    pub cro_number: f64,
    /// NOMIS prison number recorded.
    pub prison_number: f64,
    /// The person's known aliases listed (each one, independently).
    pub aliases: f64,
    /// The middle name recorded (when the person has one).
    pub middle_name: f64,
    /// Whether people give this source a false name (police custody and prison only).
    pub takes_aliases: bool,
}

/// Rates of each kind of mess, per observation unless said otherwise.
///
/// Construct with `Mess { given_typo: 0.05, ..Mess::default() }`; fields may be added.
#[derive(Clone, Debug, PartialEq)]
pub struct Mess {
    /// Fewest observations of a person (across all sources).
    pub min_observations: u8,
    /// Most observations of a person.
    pub max_observations: u8,
    /// A keying error in the first given name (one letter wrong, missing or extra).
    pub given_typo: f64,
    /// Two adjacent letters of the first given name swapped.
    pub given_transposition: f64,
    /// The first given name spelt another way that sounds the same (Steven, Stephen).
    pub given_phonetic: f64,
    /// A nickname recorded instead of the given name (Bob for Robert), when there is one.
    pub nickname: f64,
    /// A keying error in the family name.
    pub family_typo: f64,
    /// Two adjacent letters of the family name swapped.
    pub family_transposition: f64,
    /// The family name spelt another way that sounds the same (Thomson, Thompson).
    pub family_phonetic: f64,
    /// Recorded under the person's other family name (before or after marriage, deed poll).
    pub surname_change: f64,
    /// Of records with a changed surname, those that also list the person's usual one as old.
    pub previous_surname_listed: f64,
    /// One of the person's aliases recorded as their name (sources that take aliases only).
    pub alias_as_name: f64,
    /// One digit of the date of birth wrong (a valid date).
    pub dob_digit: f64,
    /// Day and month swapped (only possible when the day is 12 or less and differs).
    pub dob_day_month_swap: f64,
    /// Two adjacent digits of the date of birth swapped (a valid, different date).
    pub dob_transposition: f64,
    /// A different postcode from the person's home (moved, temporary address, hostel).
    pub postcode_changed: f64,
    /// No postcode (no fixed abode, not asked).
    pub postcode_missing: f64,
    /// Sex recorded as the other one.
    pub sex_wrong: f64,
    /// Sex recorded as unknown.
    pub sex_unknown: f64,
    /// Each recorded identifier keyed wrongly (failing its check character, or its format for
    /// a prison number, which has none).
    pub invalid_identifier: f64,
    /// A repeat visit to a source that opens a new local record instead of finding the old one
    /// (in NOMIS, a new prison number).
    pub source_duplicate: f64,
    /// Police custody (Athena).
    pub athena: SourceProfile,
    /// Custody healthcare (Excelicare).
    pub excelicare: SourceProfile,
    /// Prison healthcare (SystmOne).
    pub systmone: SourceProfile,
    /// Prisons (NOMIS).
    pub nomis: SourceProfile,
    /// NHS Summary Care Record.
    pub scr: SourceProfile,
}

impl Mess {
    /// The profile of a source.
    pub fn profile(&self, source: SourceSystem) -> &SourceProfile {
        match source {
            SourceSystem::Athena => &self.athena,
            SourceSystem::Excelicare => &self.excelicare,
            SourceSystem::Systmone => &self.systmone,
            SourceSystem::Nomis => &self.nomis,
            SourceSystem::Scr => &self.scr,
        }
    }

    /// No mess at all: every record exactly as the person is, every identifier a source holds
    /// present and valid, no duplicates. Useful as a baseline.
    pub fn clean() -> Self {
        let d = Self::default();
        Self {
            given_typo: 0.0,
            given_transposition: 0.0,
            given_phonetic: 0.0,
            nickname: 0.0,
            family_typo: 0.0,
            family_transposition: 0.0,
            family_phonetic: 0.0,
            surname_change: 0.0,
            alias_as_name: 0.0,
            dob_digit: 0.0,
            dob_day_month_swap: 0.0,
            dob_transposition: 0.0,
            postcode_changed: 0.0,
            postcode_missing: 0.0,
            sex_wrong: 0.0,
            sex_unknown: 0.0,
            invalid_identifier: 0.0,
            source_duplicate: 0.0,
            ..d
        }
    }
}

fn profile(weight: f64, ids: [f64; 4], aliases: f64, middle_name: f64) -> SourceProfile {
    let [nhs_number, pnc_id, cro_number, prison_number] = ids;
    SourceProfile {
        weight,
        nhs_number,
        pnc_id,
        cro_number,
        prison_number,
        aliases,
        middle_name,
        takes_aliases: aliases > 0.5,
    }
}

impl Default for Mess {
    fn default() -> Self {
        Self {
            min_observations: 3,
            max_observations: 5,
            given_typo: 0.02,
            given_transposition: 0.01,
            given_phonetic: 0.02,
            nickname: 0.03,
            family_typo: 0.02,
            family_transposition: 0.01,
            family_phonetic: 0.02,
            surname_change: 0.02,
            previous_surname_listed: 0.4,
            alias_as_name: 0.03,
            dob_digit: 0.015,
            dob_day_month_swap: 0.007,
            dob_transposition: 0.007,
            postcode_changed: 0.25,
            postcode_missing: 0.10,
            sex_wrong: 0.003,
            sex_unknown: 0.01,
            invalid_identifier: 0.01,
            source_duplicate: 0.05,
            // [NHS number, PNC ID, CRO number, prison number]
            athena: profile(0.30, [0.05, 0.95, 0.6, 0.05], 0.8, 0.5),
            excelicare: profile(0.20, [0.6, 0.3, 0.0, 0.0], 0.1, 0.3),
            systmone: profile(0.15, [0.92, 0.0, 0.0, 0.5], 0.0, 0.6),
            nomis: profile(0.15, [0.02, 0.9, 0.7, 1.0], 0.8, 0.8),
            scr: profile(0.20, [1.0, 0.0, 0.0, 0.0], 0.0, 0.9),
        }
    }
}

/// One thing that went wrong in an observation (ground truth, for measuring a matcher).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessKind {
    /// See [`Mess::given_typo`].
    GivenTypo,
    /// See [`Mess::given_transposition`].
    GivenTransposition,
    /// See [`Mess::given_phonetic`].
    GivenPhonetic,
    /// See [`Mess::nickname`].
    Nickname,
    /// See [`Mess::family_typo`].
    FamilyTypo,
    /// See [`Mess::family_transposition`].
    FamilyTransposition,
    /// See [`Mess::family_phonetic`].
    FamilyPhonetic,
    /// See [`Mess::surname_change`].
    SurnameChange,
    /// See [`Mess::alias_as_name`].
    AliasAsName,
    /// See [`Mess::dob_digit`].
    DobDigit,
    /// See [`Mess::dob_day_month_swap`].
    DobDayMonthSwap,
    /// See [`Mess::dob_transposition`].
    DobTransposition,
    /// See [`Mess::postcode_changed`].
    PostcodeChanged,
    /// See [`Mess::postcode_missing`].
    PostcodeMissing,
    /// See [`Mess::sex_wrong`].
    SexWrong,
    /// See [`Mess::sex_unknown`].
    SexUnknown,
    /// An NHS number failing its check digit.
    InvalidNhsNumber,
    /// A PNC ID failing its check letter.
    InvalidPncId,
    /// A CRO number failing its check letter.
    InvalidCroNumber,
    /// A prison number not in the NOMIS format.
    InvalidPrisonNumber,
    /// See [`Mess::source_duplicate`].
    SourceDuplicate,
}
