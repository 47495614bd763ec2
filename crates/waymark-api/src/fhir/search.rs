//! Finding persons for a Patient search: by a strong identifier (checked first: an invalid
//! one matches nobody), and by name (official names and aliases, fuzzy: nicknames, typos,
//! phonetic) with date of birth through `waymark-identity`'s blocking keys and scoring. Every
//! criterion given must hold. Values are patient data: never logged.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use waymark_identity::{
    Comparison, Demographics, Field, Identifier, MatchConfig, Name, blocking_keys, score,
};
use waymark_store::{Store, StoreError, StrongId};

/// Candidates read from the store per search.
const CANDIDATE_LIMIT: u32 = 500;
/// The score an identifier match ranks with (above any demographic score).
const IDENTIFIER_SCORE: f64 = 1e6;

/// What a search asks for (already checked for shape).
#[derive(Default)]
pub(crate) struct Criteria {
    /// A strong identifier (system, value).
    pub identifier: Option<(String, String)>,
    /// Name text: given and family names in either order.
    pub name: Option<String>,
    /// Date of birth.
    pub birthdate: Option<NaiveDate>,
}

/// A person found, with how well they matched.
pub(crate) struct Hit {
    pub person_id: String,
    pub score: f64,
}

/// The persons matching every criterion, best first (then by id).
pub(crate) async fn find(store: &dyn Store, c: &Criteria) -> Result<Vec<Hit>, StoreError> {
    let by_id = match &c.identifier {
        Some((system, value)) => Some(by_identifier(store, system, value).await?),
        None => None,
    };
    let by_demographics = match c.birthdate {
        Some(dob) => Some(by_demographics(store, c.name.as_deref(), dob).await?),
        None => None,
    };
    let mut hits: Vec<Hit> = match (by_id, by_demographics) {
        (Some(ids), Some(scored)) => scored
            .into_iter()
            .filter(|(id, _)| ids.contains(id))
            .map(|(person_id, s)| Hit {
                person_id,
                score: IDENTIFIER_SCORE + s,
            })
            .collect(),
        (Some(ids), None) => ids
            .into_iter()
            .map(|person_id| Hit {
                person_id,
                score: IDENTIFIER_SCORE,
            })
            .collect(),
        (None, Some(scored)) => scored
            .into_iter()
            .map(|(person_id, score)| Hit { person_id, score })
            .collect(),
        (None, None) => Vec::new(),
    };
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.person_id.cmp(&b.person_id))
    });
    Ok(hits)
}

/// Whether the store knows the identifier system (a strong identifier kind).
pub(crate) fn known_system(system: &str) -> bool {
    Identifier::check(system, "").is_some()
}

async fn by_identifier(
    store: &dyn Store,
    system: &str,
    value: &str,
) -> Result<Vec<String>, StoreError> {
    let Some(id) = Identifier::check(system, value).filter(|i| i.valid) else {
        return Ok(Vec::new());
    };
    let links = store
        .find_by_identifiers(&[StrongId {
            system: id.system,
            value: id.value,
        }])
        .await?;
    let mut persons: Vec<String> = links.into_iter().map(|l| l.person_id).collect();
    persons.sort();
    persons.dedup();
    Ok(persons)
}

/// Persons born on `dob` whose names (or aliases) match `name`, each with its best score.
async fn by_demographics(
    store: &dyn Store,
    name: Option<&str>,
    dob: NaiveDate,
) -> Result<BTreeMap<String, f64>, StoreError> {
    let queries = interpretations(name, dob);
    let mut keys: Vec<String> = queries.iter().flat_map(blocking_keys).collect();
    keys.sort();
    keys.dedup();
    let cfg = &MatchConfig::default();
    let mut best: BTreeMap<String, f64> = BTreeMap::new();
    for candidate in store.candidates(&keys, CANDIDATE_LIMIT).await? {
        let scores = candidate
            .demographics
            .iter()
            .filter_map(|d| stored_demographics(d.expose()))
            .flat_map(|d| queries.iter().filter_map(move |q| matches(q, &d, cfg)));
        if let Some(s) = scores.max_by(f64::total_cmp) {
            best.insert(candidate.person_id, s);
        }
    }
    Ok(best)
}

/// The demographics a store keeps for a candidate: the record stage's profile
/// (`{"demographics": ..., "identifiers": ...}`) or bare `Demographics`.
fn stored_demographics(text: &str) -> Option<Demographics> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Profile { demographics: Demographics },
        Bare(Demographics),
    }
    match serde_json::from_str(text).ok()? {
        Stored::Profile { demographics } | Stored::Bare(demographics) => Some(demographics),
    }
}

/// The ways a name text can be read: one word as a family or a given name; several as given
/// names then a family name, or a family name then given names.
fn interpretations(name: Option<&str>, dob: NaiveDate) -> Vec<Demographics> {
    let with = |names: Vec<Name>| Demographics {
        names,
        birth_date: Some(dob),
        ..Demographics::default()
    };
    let words: Vec<String> = name
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let name = |given: &[String], family: &str| Name {
        given: given.to_vec(),
        family: family.to_owned(),
        alias: false,
    };
    match words.as_slice() {
        [] => vec![with(Vec::new())],
        [one] => vec![
            with(vec![name(&[], one)]),
            with(vec![name(std::slice::from_ref(one), "")]),
        ],
        [first, rest @ ..] => {
            let (last, middle) = words.split_last().map_or((first, &[][..]), |(l, m)| (l, m));
            vec![
                with(vec![name(middle, last)]),
                with(vec![name(rest, first)]),
            ]
        }
    }
}

/// The score of a candidate's demographics against the query, when every criterion holds:
/// the same date of birth, and no queried name part that disagrees, at least one that agrees.
fn matches(query: &Demographics, candidate: &Demographics, cfg: &MatchConfig) -> Option<f64> {
    if candidate.birth_date != query.birth_date {
        return None;
    }
    let s = score(query, candidate, cfg);
    let Some(q) = query.names.first() else {
        return Some(s.total);
    };
    let asked = [
        (Field::FamilyName, !q.family.is_empty()),
        (Field::GivenName, !q.given.is_empty()),
    ];
    let mut agreed = false;
    for (field, was_asked) in asked {
        match (was_asked, s.outcome(field)) {
            (false, _) => {}
            (true, None | Some(Comparison::Disagree)) => return None,
            (true, Some(_)) => agreed = true,
        }
    }
    agreed.then_some(s.total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(
        given: &str,
        family: &str,
        alias: Option<(&str, &str)>,
        dob: NaiveDate,
    ) -> Demographics {
        let mut names = vec![Name {
            given: vec![given.into()],
            family: family.into(),
            alias: false,
        }];
        names.extend(alias.map(|(g, f)| Name {
            given: vec![g.into()],
            family: f.into(),
            alias: true,
        }));
        Demographics {
            names,
            birth_date: Some(dob),
            ..Demographics::default()
        }
    }

    fn found(name: &str, who: &Demographics, dob: NaiveDate) -> bool {
        let cfg = MatchConfig::default();
        interpretations(Some(name), dob)
            .iter()
            .any(|q| matches(q, who, &cfg).is_some())
    }

    #[test]
    fn names_match_fuzzily_and_by_alias_but_never_on_another_birth_date() {
        let dob = NaiveDate::from_ymd_opt(1991, 7, 14).unwrap();
        let other = NaiveDate::from_ymd_opt(1991, 7, 15).unwrap();
        let alex = person("Alexander", "Testperson", Some(("Sandy", "Morgan")), dob);
        assert!(found("Alexander Testperson", &alex, dob));
        assert!(found("Testperson", &alex, dob));
        assert!(found("Alex Testpersen", &alex, dob), "nickname and typo");
        assert!(found("Testperson, Alexander", &alex, dob), "family first");
        assert!(found("Sandy Morgan", &alex, dob), "alias");
        assert!(!found("Alexander Testperson", &alex, other));
        assert!(!found("Brian Cole", &alex, dob));
    }
}
