//! Scoring two sets of demographics: a total and a per-field breakdown of outcomes and points
//! (field names and outcomes only, never values, so a breakdown can be logged and shown).

use serde::{Deserialize, Serialize};

use crate::{
    config::{MatchConfig, NameWeights},
    demographics::{Demographics, Sex, district},
    frequency::{NameFrequencies, Part},
    prepared::{Prepared, PreparedName, Word},
    text,
};

/// A field that contributed to a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// Given names.
    GivenName,
    /// Second given names.
    MiddleName,
    /// Family name and date of birth agree, given names do not: likely twins.
    Relatives,
    /// Family name.
    FamilyName,
    /// Date of birth.
    BirthDate,
    /// Sex.
    Sex,
    /// Postcode.
    Postcode,
    /// NHS number (disagreement only; agreement links without scoring).
    NhsNumber,
    /// PNC ID (disagreement only).
    PncId,
    /// CRO number (disagreement only).
    CroNumber,
    /// Prison number (disagreement only).
    PrisonNumber,
}

/// How a field compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Comparison {
    /// The same.
    Exact,
    /// Same name in another form (Bob, Robert).
    Nickname,
    /// One letter off, or two swapped.
    Typo,
    /// Sounds the same or spelt alike.
    Phonetic,
    /// A matching initial.
    Initial,
    /// A first given name agrees with the other's second given name.
    OtherGivenName,
    /// Day and month swapped.
    DayMonthSwap,
    /// Two adjacent digits swapped.
    Transposition,
    /// One digit off.
    OneDigit,
    /// Same postcode district.
    District,
    /// Different.
    Disagree,
}

/// One line of a score's breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldScore {
    /// The field.
    pub field: Field,
    /// How it compared.
    pub outcome: Comparison,
    /// Points it added (negative: evidence against).
    pub points: f64,
    /// Whether the name compared was an alias on either side.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub alias: bool,
}

/// A match score: the total and its breakdown. Fields missing on either side add nothing and
/// are not listed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MatchScore {
    /// Sum of the points.
    pub total: f64,
    /// What each field contributed.
    pub fields: Vec<FieldScore>,
}

impl MatchScore {
    /// Adds a line.
    pub fn add(&mut self, field: Field, outcome: Comparison, points: f64) {
        self.add_line(FieldScore {
            field,
            outcome,
            points,
            alias: false,
        });
    }

    fn add_line(&mut self, line: FieldScore) {
        self.total += line.points;
        self.fields.push(line);
    }

    /// The outcome of a field, if it was compared.
    pub fn outcome(&self, field: Field) -> Option<Comparison> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.outcome)
    }
}

/// Scores two sets of demographics with the configured weights.
pub fn score(a: &Demographics, b: &Demographics, cfg: &MatchConfig) -> MatchScore {
    score_prepared(&Prepared::new(a), &Prepared::new(b), cfg, None)
}

/// Scores two sets of demographics, adjusting exact name agreements by how common the names
/// are in `frequencies` (when `cfg.frequency.enabled`).
pub fn score_with_frequencies(
    a: &Demographics,
    b: &Demographics,
    cfg: &MatchConfig,
    frequencies: &NameFrequencies,
) -> MatchScore {
    score_prepared(&Prepared::new(a), &Prepared::new(b), cfg, Some(frequencies))
}

pub(crate) fn score_prepared(
    a: &Prepared,
    b: &Prepared,
    cfg: &MatchConfig,
    freq: Option<&NameFrequencies>,
) -> MatchScore {
    let freq = freq.filter(|_| cfg.frequency.enabled);
    let mut s = MatchScore::default();
    for line in names(a, b, cfg, freq) {
        s.add_line(line);
    }
    if let Some((outcome, points)) = birth_date(a, b, cfg) {
        s.add(Field::BirthDate, outcome, points);
    }
    let agrees = |field| s.outcome(field).is_some_and(|o| o != Comparison::Disagree);
    if s.outcome(Field::GivenName) == Some(Comparison::Disagree)
        && s.outcome(Field::BirthDate) == Some(Comparison::Exact)
        && agrees(Field::FamilyName)
    {
        s.add(Field::Relatives, Comparison::Disagree, cfg.relatives);
    }
    if let Some((outcome, points)) = sex(a.sex, b.sex, cfg) {
        s.add(Field::Sex, outcome, points);
    }
    if let Some((outcome, points)) = postcode(a, b, cfg) {
        s.add(Field::Postcode, outcome, points);
    }
    s
}

/// The best-scoring pair of names (one from each side), as given, middle and family lines.
fn names(
    a: &Prepared,
    b: &Prepared,
    cfg: &MatchConfig,
    freq: Option<&NameFrequencies>,
) -> Vec<FieldScore> {
    let mut best: Option<(f64, Vec<FieldScore>)> = None;
    for x in &a.names {
        for y in &b.names {
            let lines = name_pair(x, y, cfg, freq);
            let total: f64 = lines.iter().map(|l| l.points).sum();
            if best.as_ref().is_none_or(|(t, _)| total > *t) {
                best = Some((total, lines));
            }
        }
    }
    best.map(|(_, lines)| lines).unwrap_or_default()
}

fn name_pair(
    x: &PreparedName,
    y: &PreparedName,
    cfg: &MatchConfig,
    freq: Option<&NameFrequencies>,
) -> Vec<FieldScore> {
    let alias = x.alias || y.alias;
    let line = |field, (outcome, points)| FieldScore {
        field,
        outcome,
        points,
        alias,
    };
    let given = given_names(x, y, cfg, freq);
    let middle = match (x.given.get(1), y.given.get(1)) {
        (Some(g), Some(h)) => Some(compare(g, h, &cfg.middle, cfg, None)),
        _ => None,
    };
    let family = match (&x.family, &y.family) {
        (Some(f), Some(g)) => Some(compare(
            f,
            g,
            &cfg.family,
            cfg,
            freq.map(|f| (f, Part::Family)),
        )),
        _ => None,
    };
    [
        given.map(|g| line(Field::GivenName, g)),
        middle.map(|m| line(Field::MiddleName, m)),
        family.map(|f| line(Field::FamilyName, f)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// First given names; when they disagree, a first agreeing with the other's second counts
/// (weaker).
fn given_names(
    x: &PreparedName,
    y: &PreparedName,
    cfg: &MatchConfig,
    freq: Option<&NameFrequencies>,
) -> Option<(Comparison, f64)> {
    let (a, b) = (x.given.first()?, y.given.first()?);
    let first = compare(a, b, &cfg.given, cfg, freq.map(|f| (f, Part::Given)));
    if first.0 != Comparison::Disagree {
        return Some(first);
    }
    let crossed = [(x.given.get(1), Some(b)), (Some(a), y.given.get(1))]
        .into_iter()
        .filter_map(|(g, h)| Some(word(g?, h?, &cfg.given, cfg.similar)))
        .any(|(outcome, _)| outcome != Comparison::Disagree && outcome != Comparison::Initial);
    Some(if crossed {
        (Comparison::OtherGivenName, cfg.other_given)
    } else {
        first
    })
}

/// Compares two words, an exact agreement adjusted by the name's frequency when known.
fn compare(
    a: &Word,
    b: &Word,
    w: &NameWeights,
    cfg: &MatchConfig,
    freq: Option<(&NameFrequencies, Part)>,
) -> (Comparison, f64) {
    let (outcome, points) = word(a, b, w, cfg.similar);
    match (outcome, freq) {
        (Comparison::Exact, Some((f, part))) => (
            outcome,
            points + f.adjustment(part, &a.text, &cfg.frequency),
        ),
        _ => (outcome, points),
    }
}

/// Compares two words of a name.
fn word(a: &Word, b: &Word, w: &NameWeights, similar: f64) -> (Comparison, f64) {
    if a.text == b.text {
        (Comparison::Exact, w.exact)
    } else if a.groups & b.groups != 0 {
        (Comparison::Nickname, w.nickname)
    } else if a.text.len() == 1 || b.text.len() == 1 {
        if a.text.as_bytes().first() == b.text.as_bytes().first() {
            (Comparison::Initial, w.initial)
        } else {
            (Comparison::Disagree, w.disagree)
        }
    } else if text::within_one_edit(&a.text, &b.text) {
        (Comparison::Typo, w.typo)
    } else if a.code == b.code || text::jaro_winkler(&a.text, &b.text) >= similar {
        (Comparison::Phonetic, w.phonetic)
    } else {
        (Comparison::Disagree, w.disagree)
    }
}

fn birth_date(a: &Prepared, b: &Prepared, cfg: &MatchConfig) -> Option<(Comparison, f64)> {
    let w = &cfg.birth_date;
    let (x, y) = (a.dob_digits?, b.dob_digits?);
    let diff: Vec<usize> = (0..8).filter(|&i| x[i] != y[i]).collect();
    let (da, db) = (a.birth_date?, b.birth_date?);
    let swapped = {
        use chrono::Datelike;
        da.year() == db.year() && da.month() == db.day() && da.day() == db.month()
    };
    Some(match diff.as_slice() {
        [] => (Comparison::Exact, w.exact),
        _ if swapped => (Comparison::DayMonthSwap, w.day_month_swap),
        [i, j] if *j == i + 1 && x[*i] == y[*j] && x[*j] == y[*i] => {
            (Comparison::Transposition, w.transposition)
        }
        [_] => (Comparison::OneDigit, w.one_digit),
        _ => (Comparison::Disagree, w.disagree),
    })
}

fn sex(a: Sex, b: Sex, cfg: &MatchConfig) -> Option<(Comparison, f64)> {
    let known = |s| matches!(s, Sex::Male | Sex::Female);
    if !known(a) || !known(b) {
        return None;
    }
    Some(if a == b {
        (Comparison::Exact, cfg.sex.agree)
    } else {
        (Comparison::Disagree, cfg.sex.disagree)
    })
}

fn postcode(a: &Prepared, b: &Prepared, cfg: &MatchConfig) -> Option<(Comparison, f64)> {
    if a.postcodes.is_empty() || b.postcodes.is_empty() {
        return None;
    }
    let w = &cfg.postcode;
    let any = |f: &dyn Fn(&str, &str) -> bool| {
        a.postcodes
            .iter()
            .any(|p| b.postcodes.iter().any(|q| f(p, q)))
    };
    Some(if any(&|p, q| p == q) {
        (Comparison::Exact, w.exact)
    } else if any(&|p, q| district(p) == district(q)) {
        (Comparison::District, w.district)
    } else {
        (Comparison::Disagree, w.disagree)
    })
}
