//! The fields of a record, each drawn from the person with the configured mess.

use chrono::NaiveDate;
use waymark_core::SourceSystem;

use crate::{
    garble,
    ids::{cro_text, pnc_text, prison_text},
    mess::MessKind,
    observation::{NameUse, ObservedName},
    person::Sex,
    record::Recorder,
    tables::{family_name, given_name},
};

/// How often police and prison records list a known-as name (when there is a nickname).
const KNOWN_AS: f64 = 0.1;

/// Everyone's recorded date of birth is no later than this (adults on the reference date).
fn latest_birth_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2007, 1, 1).unwrap_or_default()
}

impl Recorder<'_> {
    pub(crate) fn names(&mut self) -> Vec<ObservedName> {
        let p = self.person;
        let mut names = Vec::new();
        let alias_used = self.alias_as_name();
        match alias_used {
            Some(i) => names.push(self.alias_name(i, NameUse::Official)),
            None => {
                let (official, old) = self.official();
                names.push(official);
                names.extend(old);
                names.extend(self.known_as());
            }
        }
        if self.profile.aliases > 0.0 {
            for i in 0..p.aliases.len() {
                if Some(i) != alias_used && self.rng.chance(self.profile.aliases) {
                    names.push(self.alias_name(i, NameUse::Old));
                }
            }
        }
        names
    }

    /// A known-as name (`nickname` use) in sources that record aliases, when the given name has
    /// a nickname.
    fn known_as(&mut self) -> Option<ObservedName> {
        let p = self.person;
        if !self.profile.takes_aliases || !self.rng.chance(KNOWN_AS) {
            return None;
        }
        let nick = garble::nickname(given_name(p.sex, p.given), &mut self.rng)?;
        Some(ObservedName {
            name_use: NameUse::Nickname,
            given: vec![nick.to_owned()],
            family: family_name(p.family).into_owned(),
        })
    }

    fn alias_as_name(&mut self) -> Option<usize> {
        let p = self.person;
        if !self.profile.takes_aliases || p.aliases.is_empty() {
            return None;
        }
        if !self.rng.chance(self.mess.alias_as_name) {
            return None;
        }
        self.applied.push(MessKind::AliasAsName);
        Some(self.rng.index(p.aliases.len()))
    }

    fn alias_name(&self, i: usize, name_use: NameUse) -> ObservedName {
        let p = self.person;
        let a = p.aliases.get(i).copied().unwrap_or(crate::person::Alias {
            given: p.given,
            family: p.family,
        });
        ObservedName {
            name_use,
            given: vec![given_name(p.sex, a.given).to_owned()],
            family: family_name(a.family).into_owned(),
        }
    }

    /// The official name, and the person's usual family name listed as old after a change.
    fn official(&mut self) -> (ObservedName, Option<ObservedName>) {
        let p = self.person;
        let truth_given = given_name(p.sex, p.given);
        let mut given = vec![self.given(truth_given)];
        if let Some(m) = p.middle
            && self.rng.chance(self.profile.middle_name)
        {
            given.push(given_name(p.sex, m).to_owned());
        }
        let truth_family = family_name(p.family).into_owned();
        let mut old = None;
        let mut family = truth_family.clone();
        if self.rng.chance(self.mess.surname_change) {
            self.applied.push(MessKind::SurnameChange);
            family = family_name(p.other_family).into_owned();
            if self.rng.chance(self.mess.previous_surname_listed) {
                old = Some(ObservedName {
                    name_use: NameUse::Old,
                    given: vec![truth_given.to_owned()],
                    family: truth_family,
                });
            }
        }
        let family = self.family(family);
        let official = ObservedName {
            name_use: NameUse::Official,
            given,
            family,
        };
        (official, old)
    }

    fn given(&mut self, truth: &'static str) -> String {
        let m = self.mess;
        let kind = self.one_of(&[
            (m.nickname, MessKind::Nickname),
            (m.given_typo, MessKind::GivenTypo),
            (m.given_transposition, MessKind::GivenTransposition),
            (m.given_phonetic, MessKind::GivenPhonetic),
        ]);
        let changed = match kind {
            Some(MessKind::Nickname) => garble::nickname(truth, &mut self.rng).map(str::to_owned),
            Some(MessKind::GivenTypo) => garble::typo(truth, &mut self.rng),
            Some(MessKind::GivenTransposition) => garble::transposition(truth, &mut self.rng),
            Some(MessKind::GivenPhonetic) => garble::phonetic(truth, &mut self.rng),
            _ => None,
        };
        match kind {
            Some(k) => self.apply(k, changed),
            None => None,
        }
        .unwrap_or_else(|| truth.to_owned())
    }

    fn family(&mut self, recorded: String) -> String {
        let m = self.mess;
        let kind = self.one_of(&[
            (m.family_typo, MessKind::FamilyTypo),
            (m.family_transposition, MessKind::FamilyTransposition),
            (m.family_phonetic, MessKind::FamilyPhonetic),
        ]);
        let changed = match kind {
            Some(MessKind::FamilyTypo) => garble::typo(&recorded, &mut self.rng),
            Some(MessKind::FamilyTransposition) => garble::transposition(&recorded, &mut self.rng),
            Some(MessKind::FamilyPhonetic) => garble::phonetic(&recorded, &mut self.rng),
            _ => None,
        };
        match kind {
            Some(k) => self.apply(k, changed),
            None => None,
        }
        .unwrap_or(recorded)
    }

    pub(crate) fn birth_date(&mut self) -> NaiveDate {
        let truth = self.person.birth_date;
        let m = self.mess;
        let latest = latest_birth_date();
        let kind = self.one_of(&[
            (m.dob_digit, MessKind::DobDigit),
            (m.dob_day_month_swap, MessKind::DobDayMonthSwap),
            (m.dob_transposition, MessKind::DobTransposition),
        ]);
        let changed = match kind {
            Some(MessKind::DobDigit) => garble::dob_digit(truth, latest, &mut self.rng),
            Some(MessKind::DobDayMonthSwap) => garble::dob_swap(truth),
            Some(MessKind::DobTransposition) => {
                garble::dob_transposition(truth, latest, &mut self.rng)
            }
            _ => None,
        };
        match kind {
            Some(k) => self.apply(k, changed),
            None => None,
        }
        .unwrap_or(truth)
    }

    pub(crate) fn sex(&mut self) -> Option<Sex> {
        let m = self.mess;
        match self.one_of(&[
            (m.sex_wrong, MessKind::SexWrong),
            (m.sex_unknown, MessKind::SexUnknown),
        ]) {
            Some(MessKind::SexWrong) => {
                self.applied.push(MessKind::SexWrong);
                Some(self.person.sex.other())
            }
            Some(_) => {
                self.applied.push(MessKind::SexUnknown);
                None
            }
            None => Some(self.person.sex),
        }
    }

    pub(crate) fn postcode(&mut self) -> Option<String> {
        let m = self.mess;
        let home = self.person.postcode;
        match self.one_of(&[
            (m.postcode_missing, MessKind::PostcodeMissing),
            (m.postcode_changed, MessKind::PostcodeChanged),
        ]) {
            Some(MessKind::PostcodeMissing) => {
                self.applied.push(MessKind::PostcodeMissing);
                None
            }
            Some(_) => {
                self.applied.push(MessKind::PostcodeChanged);
                Some(home.moved(&mut self.rng).to_string())
            }
            None => Some(home.to_string()),
        }
    }

    /// Whether a present identifier gets keyed wrongly.
    fn invalid(&mut self, kind: MessKind) -> bool {
        let bad = self.rng.chance(self.mess.invalid_identifier);
        if bad {
            self.applied.push(kind);
        }
        bad
    }

    pub(crate) fn nhs_number(&mut self, spaced: bool) -> Option<String> {
        let n = self.person.nhs_number?;
        if !self.rng.chance(self.profile.nhs_number) {
            return None;
        }
        let mut text = format!("{:010}", n.get());
        if self.invalid(MessKind::InvalidNhsNumber) {
            text = self.wrong_digit(&text, 0..10);
        }
        if spaced {
            text = format!("{} {} {}", &text[..3], &text[3..6], &text[6..]);
        }
        Some(text)
    }

    pub(crate) fn pnc_id(&mut self, long: bool) -> Option<String> {
        if !self.rng.chance(self.profile.pnc_id) {
            return None;
        }
        let p = self.person;
        let text = pnc_text(p.pnc_year, p.pnc_serial, long);
        if !self.invalid(MessKind::InvalidPncId) {
            return Some(text);
        }
        let start = text.find('/').map_or(0, |i| i + 1);
        let end = text.len() - 1;
        Some(self.wrong_digit(&text, start..end))
    }

    pub(crate) fn cro_number(&mut self) -> Option<String> {
        let (serial, yy) = self.person.cro?;
        if !self.rng.chance(self.profile.cro_number) {
            return None;
        }
        let text = cro_text(serial, yy);
        if !self.invalid(MessKind::InvalidCroNumber) {
            return Some(text);
        }
        Some(self.wrong_digit(&text, 0..6))
    }

    pub(crate) fn prison_number(&mut self, source: SourceSystem, code: u32) -> Option<String> {
        if !self.rng.chance(self.profile.prison_number) {
            return None;
        }
        let code = if source == SourceSystem::Nomis {
            code
        } else {
            self.person.prison
        };
        let mut text = prison_text(code);
        if self.invalid(MessKind::InvalidPrisonNumber) {
            // A character left out: not the NOMIS format any more.
            let i = self.rng.index(text.len());
            text.remove(i);
        }
        Some(text)
    }

    /// `text` with one digit in `range` replaced by another digit.
    fn wrong_digit(&mut self, text: &str, range: std::ops::Range<usize>) -> String {
        let mut bytes = text.as_bytes().to_vec();
        let spots: Vec<usize> = range
            .filter(|&i| bytes.get(i).is_some_and(u8::is_ascii_digit))
            .collect();
        if let Some(i) = self.rng.pick(&spots) {
            let old = bytes[i] - b'0';
            let new = (old + 1 + u8::try_from(self.rng.below(9)).unwrap_or(0)) % 10;
            bytes[i] = b'0' + new;
        }
        String::from_utf8(bytes).unwrap_or_default()
    }
}
