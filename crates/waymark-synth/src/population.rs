//! The population: people drawn one after another from a seeded stream, some of them made
//! relatives or namesakes of the person before them (the hard cases for matching).

use std::num::NonZeroU64;

use chrono::{Datelike, Days, NaiveDate};

use crate::{
    ids::IdSpace,
    names::TWIN_NAMES,
    person::{Alias, Person, PersonId, Sex, Tie},
    postcode::Postcode,
    rng::SplitMix64,
    tables::{Tables, given_index, given_name},
};

/// How often each hard case is made (probability per person, after the first).
#[derive(Clone, Debug, PartialEq)]
pub struct Relations {
    /// Twin of the previous person.
    pub twin: f64,
    /// Of twins, those given similar-sounding names (Jack and Jake).
    pub twin_similar_names: f64,
    /// Brother or sister of the previous person.
    pub sibling: f64,
    /// Parent or child of the previous person, with the same given and family name.
    pub same_name_generation: f64,
    /// Unrelated, but same given name, family name, sex and date of birth as the previous,
    /// both given one of the most common names (by chance alone, with real name frequencies,
    /// about 0.01 % of a million people would be such a pair; this is deliberately more).
    pub namesake: f64,
}

impl Default for Relations {
    fn default() -> Self {
        Self {
            twin: 0.003,
            twin_similar_names: 0.3,
            sibling: 0.02,
            same_name_generation: 0.005,
            namesake: 0.0005,
        }
    }
}

/// A synthetic population: deterministic from its seed, and prefix-stable (the first `n`
/// people of a larger population of the same seed are the same people).
pub struct Population {
    seed: u64,
    pub(crate) people: Vec<Person>,
    pub(crate) ids: IdSpace,
}

impl std::fmt::Debug for Population {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Population")
            .field("seed", &self.seed)
            .field("people", &self.people.len())
            .finish_non_exhaustive()
    }
}

/// How many of the most frequent names count as common (the lists are ordered by frequency).
const COMMON: u64 = 10;
const COMMON_U16: u16 = 10;

/// Everyone is at least 18 on this date; dates of birth are drawn back from it.
fn reference_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default()
}

/// The latest date of birth of an adult.
fn adult_cutoff() -> NaiveDate {
    NaiveDate::from_ymd_opt(2007, 1, 1).unwrap_or_default()
}

impl Population {
    /// `people` people from `seed`, with the default [`Relations`].
    pub fn generate(seed: u64, people: usize) -> Self {
        Self::generate_with(seed, people, &Relations::default())
    }

    /// `people` people from `seed`, with hard cases at the given rates.
    pub fn generate_with(seed: u64, people: usize, relations: &Relations) -> Self {
        let tables = Tables::new();
        let ids = IdSpace::new(seed);
        let mut rng = SplitMix64::new(seed);
        let mut list: Vec<Person> = Vec::with_capacity(people);
        let mut draw = Draw {
            rng: &mut rng,
            tables: &tables,
            ids: &ids,
            cro_issued: [0; 100],
        };
        for i in 0..people {
            let id = PersonId(u32::try_from(i).unwrap_or(u32::MAX));
            let kind = draw.tie_kind(relations);
            if let (Some(TieKind::Namesake), Some(prev)) = (kind, list.last_mut()) {
                draw.make_common(prev);
            }
            let person = match (list.last(), kind) {
                (Some(prev), Some(kind)) => draw.relative(id, prev, kind, relations),
                _ => draw.fresh(id),
            };
            list.push(person);
        }
        Self {
            seed,
            people: list,
            ids,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Everyone, in id order.
    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// One person.
    pub fn person(&self, id: PersonId) -> Option<&Person> {
        self.people.get(id.index())
    }

    /// How many people.
    pub fn len(&self) -> usize {
        self.people.len()
    }

    /// True when there is no one.
    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }
}

#[derive(Clone, Copy)]
enum TieKind {
    Twin,
    Sibling,
    Generation,
    Namesake,
}

struct Draw<'a> {
    rng: &'a mut SplitMix64,
    tables: &'a Tables,
    ids: &'a IdSpace,
    /// CRO numbers issued so far, per two-digit year.
    cro_issued: [u32; 100],
}

impl Draw<'_> {
    fn tie_kind(&mut self, r: &Relations) -> Option<TieKind> {
        let u = self.rng.unit();
        let kinds = [
            (r.twin, TieKind::Twin),
            (r.sibling, TieKind::Sibling),
            (r.same_name_generation, TieKind::Generation),
            (r.namesake, TieKind::Namesake),
        ];
        let mut edge = 0.0;
        kinds.into_iter().find_map(|(p, kind)| {
            edge += p;
            (u < edge).then_some(kind)
        })
    }

    /// Gives a person without ties one of the most common names (for a namesake to share).
    fn make_common(&mut self, person: &mut Person) {
        if person.tie.is_some() {
            return;
        }
        person.given = u16::try_from(self.rng.below(COMMON)).unwrap_or(0);
        person.family = u16::try_from(self.rng.below(COMMON)).unwrap_or(0);
        if person.middle == Some(person.given) {
            person.middle = None;
        }
        if person.other_family == person.family {
            person.other_family = COMMON_U16;
        }
    }

    fn given(&mut self, sex: Sex) -> u16 {
        u16::try_from(self.tables.given(sex).pick(self.rng)).unwrap_or(0)
    }

    fn family(&mut self) -> u16 {
        u16::try_from(self.tables.family.pick(self.rng)).unwrap_or(0)
    }

    /// A given name other than `not`.
    fn given_except(&mut self, sex: Sex, not: u16) -> u16 {
        for _ in 0..8 {
            let g = self.given(sex);
            if g != not {
                return g;
            }
        }
        if not == 0 { 1 } else { 0 }
    }

    fn birth_date(&mut self) -> NaiveDate {
        // Skewed young, as people in custody and prison are: 18 to 75, median about 35.
        let (a, b) = (self.rng.unit(), self.rng.unit());
        let years = 18.0 + a.min(b) * 57.0;
        // At most 75 * 366 + 365 days: far inside u64 and f64 precision.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let days = (years * 365.25) as u64 + self.rng.below(365);
        reference_date()
            .checked_sub_days(Days::new(days))
            .unwrap_or_default()
    }

    fn fresh(&mut self, id: PersonId) -> Person {
        let sex = if self.rng.chance(0.85) {
            Sex::Male
        } else {
            Sex::Female
        };
        let given = self.given(sex);
        let family = self.family();
        let birth_date = self.birth_date();
        self.complete(id, sex, given, family, birth_date, None)
    }

    /// Everything but the name, sex and date of birth.
    fn complete(
        &mut self,
        id: PersonId,
        sex: Sex,
        given: u16,
        family: u16,
        birth_date: NaiveDate,
        tie: Option<Tie>,
    ) -> Person {
        let middle = self.rng.chance(0.6).then(|| self.given_except(sex, given));
        let mut other_family = self.family();
        if other_family == family {
            other_family = self.family();
        }
        let nhs_number = self
            .rng
            .chance(0.97)
            .then(|| NonZeroU64::new(self.ids.nhs_number(id.0)))
            .flatten();
        let birth_year = u16::try_from(birth_date.year()).unwrap_or(1980);
        let first_arrest = birth_year.saturating_add(12).min(2024);
        let pnc_year = first_arrest
            + u16::try_from(self.rng.below(u64::from(2025 - first_arrest))).unwrap_or(0);
        let cro = self.rng.chance(0.7).then(|| {
            // Issued in the year of the first arrest, numbered within the year.
            let yy = u8::try_from(pnc_year % 100).unwrap_or(0);
            let issued = &mut self.cro_issued[usize::from(yy)];
            *issued += 1;
            (self.ids.cro_serial(yy, *issued), yy)
        });
        let aliases = self.aliases(sex, family);
        Person {
            id,
            sex,
            given,
            middle,
            family,
            other_family,
            birth_date,
            postcode: Postcode::random(self.rng),
            nhs_number,
            pnc_year,
            pnc_serial: self.ids.pnc_serial(id.0),
            cro,
            prison: self.ids.prison_code(id.0, 0),
            aliases,
            tie,
        }
    }

    fn aliases(&mut self, sex: Sex, family: u16) -> Box<[Alias]> {
        if !self.rng.chance(0.15) {
            return Box::new([]);
        }
        let count = 1 + self.rng.below(2);
        (0..count)
            .map(|_| {
                let given = self.given(sex);
                let family = if self.rng.chance(0.4) {
                    family
                } else {
                    self.family()
                };
                Alias { given, family }
            })
            .collect()
    }
}

impl Draw<'_> {
    fn relative(&mut self, id: PersonId, prev: &Person, kind: TieKind, r: &Relations) -> Person {
        let mut person = match kind {
            TieKind::Twin => self.twin(id, prev, r),
            TieKind::Sibling => self.sibling(id, prev),
            TieKind::Generation => self.generation(id, prev),
            TieKind::Namesake => {
                let tie = Some(Tie::Namesake(prev.id));
                self.complete(id, prev.sex, prev.given, prev.family, prev.birth_date, tie)
            }
        };
        let shares_home = match kind {
            TieKind::Twin => 0.6,
            TieKind::Sibling | TieKind::Generation => 0.5,
            TieKind::Namesake => 0.0,
        };
        if self.rng.chance(shares_home) {
            person.postcode = prev.postcode;
        }
        person
    }

    fn twin(&mut self, id: PersonId, prev: &Person, r: &Relations) -> Person {
        let sex = if self.rng.chance(0.7) {
            prev.sex
        } else {
            prev.sex.other()
        };
        let similar = self
            .rng
            .chance(r.twin_similar_names)
            .then(|| twin_name(given_name(prev.sex, prev.given), sex))
            .flatten();
        let given = match similar {
            Some(g) => g,
            None if sex == prev.sex => self.given_except(sex, prev.given),
            None => self.given(sex),
        };
        let tie = Some(Tie::Twin(prev.id));
        self.complete(id, sex, given, prev.family, prev.birth_date, tie)
    }

    fn sibling(&mut self, id: PersonId, prev: &Person) -> Person {
        let sex = if self.rng.chance(0.5) {
            prev.sex
        } else {
            prev.sex.other()
        };
        let given = if sex == prev.sex {
            self.given_except(sex, prev.given)
        } else {
            self.given(sex)
        };
        let gap = 365 + self.rng.below(7 * 365);
        let birth_date = self.shifted(prev.birth_date, gap);
        let tie = Some(Tie::Sibling(prev.id));
        self.complete(id, sex, given, prev.family, birth_date, tie)
    }

    fn generation(&mut self, id: PersonId, prev: &Person) -> Person {
        let gap = 18 * 365 + self.rng.below(17 * 365);
        let birth_date = self.shifted(prev.birth_date, gap);
        let tie = Some(Tie::SameNameGeneration(prev.id));
        self.complete(id, prev.sex, prev.given, prev.family, birth_date, tie)
    }

    /// `days` later than `date` if that is still an adult's date of birth, else earlier.
    fn shifted(&mut self, date: NaiveDate, days: u64) -> NaiveDate {
        let later = date.checked_add_days(Days::new(days));
        match later {
            Some(d) if d <= adult_cutoff() && self.rng.chance(0.5) => d,
            _ => date.checked_sub_days(Days::new(days)).unwrap_or(date),
        }
    }
}

/// The name often given to the twin of someone called `name`, if it is a name of `sex`.
fn twin_name(name: &str, sex: Sex) -> Option<u16> {
    TWIN_NAMES.iter().find_map(|(a, b)| {
        let partner = if *a == name {
            b
        } else if *b == name {
            a
        } else {
            return None;
        };
        given_index(sex, partner)
    })
}
