//! Reading a FHIR R4 Patient (a `serde_json::Value` from outside: anything may be missing or
//! of the wrong type, nothing panics, and the work is bounded).

use chrono::NaiveDate;
use serde_json::Value;

use crate::{
    demographics::{Demographics, Name, Sex, normalise_postcode},
    identifier::Identifier,
};

/// At most this many names, given names per name, addresses and identifiers are read.
const MAX_NAMES: usize = 20;
const MAX_GIVEN: usize = 5;
const MAX_ADDRESSES: usize = 10;
const MAX_IDENTIFIERS: usize = 50;

/// Name uses that mark a name as an alias rather than the person's own.
const ALIAS_USES: &[&str] = &["old", "nickname", "maiden", "anonymous", "temp"];

/// The demographics of a Patient: names (aliases flagged), full birth date, sex, postcodes.
pub fn demographics(patient: &Value) -> Demographics {
    let mut names: Vec<Name> = array(patient, "name", MAX_NAMES).filter_map(name).collect();
    names.sort_by_key(|n| n.alias);
    let mut postcodes: Vec<String> = array(patient, "address", MAX_ADDRESSES)
        .filter_map(|a| a.get("postalCode")?.as_str())
        .filter_map(normalise_postcode)
        .collect();
    postcodes.dedup();
    Demographics {
        names,
        birth_date: patient
            .get("birthDate")
            .and_then(Value::as_str)
            .filter(|s| s.len() == 10)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()),
        sex: patient
            .get("gender")
            .and_then(Value::as_str)
            .map_or(Sex::Unknown, Sex::from_fhir),
        postcodes,
    }
}

/// The Patient's strong identifiers, most trusted first, each checked.
pub fn identifiers(patient: &Value) -> Vec<Identifier> {
    let mut ids: Vec<Identifier> = array(patient, "identifier", MAX_IDENTIFIERS)
        .filter_map(|id| {
            let system = id.get("system")?.as_str()?;
            let value = id.get("value")?.as_str()?;
            Identifier::check(system, value)
        })
        .collect();
    ids.sort_by_key(|id| id.kind);
    ids
}

fn array<'a>(v: &'a Value, key: &str, max: usize) -> impl Iterator<Item = &'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .take(max)
}

fn name(n: &Value) -> Option<Name> {
    let alias = n
        .get("use")
        .and_then(Value::as_str)
        .is_some_and(|u| ALIAS_USES.contains(&u));
    let mut given: Vec<String> = array(n, "given", MAX_GIVEN)
        .filter_map(Value::as_str)
        .flat_map(str::split_whitespace)
        .take(MAX_GIVEN)
        .map(str::to_owned)
        .collect();
    let mut family = n
        .get("family")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if given.is_empty() && family.is_empty() {
        let text = n.get("text").and_then(Value::as_str)?;
        let mut words: Vec<&str> = text.split_whitespace().take(MAX_GIVEN + 1).collect();
        family = words.pop()?.to_owned();
        given = words.into_iter().map(str::to_owned).collect();
    }
    Some(Name {
        given,
        family,
        alias,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::identifier::IdentifierKind;

    #[test]
    fn reads_a_patient() {
        let p = json!({
            "resourceType": "Patient",
            "identifier": [
                {"system": "https://fhir.waymark.org.uk/Id/athena-local-id", "value": "AT1"},
                {"system": "https://fhir.waymark.org.uk/Id/pnc-id", "value": "2002/0012345Y"},
                {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765918"},
                {"system": "urn:x", "value": "1"},
                {"system": "https://fhir.waymark.org.uk/Id/cro-number"}
            ],
            "name": [
                {"use": "old", "family": "Jones", "given": ["Bob"]},
                {"use": "official", "family": " Smith ", "given": ["Robert", "James Paul"]},
                {"text": "Bobby Smith"}
            ],
            "gender": "male",
            "birthDate": "1980-12-31",
            "address": [{"postalCode": "ls11 5qt"}, {"postalCode": 7}]
        });
        let d = demographics(&p);
        assert_eq!(d.names.len(), 3);
        assert!(!d.names[0].alias);
        assert_eq!(d.names[0].family, "Smith");
        assert_eq!(d.names[0].given, ["Robert", "James", "Paul"]);
        assert_eq!(d.names[1].family, "Smith");
        assert!(d.names[2].alias);
        assert_eq!(d.birth_date, NaiveDate::from_ymd_opt(1980, 12, 31));
        assert_eq!(d.sex, Sex::Male);
        assert_eq!(d.postcodes, ["LS115QT"]);
        let ids = identifiers(&p);
        let kinds: Vec<_> = ids.iter().map(|i| (i.kind, i.valid)).collect();
        assert_eq!(
            kinds,
            [
                (IdentifierKind::NhsNumber, false),
                (IdentifierKind::PncId, true),
                (IdentifierKind::LocalId, true)
            ]
        );
    }

    #[test]
    fn hostile_or_empty_input_gives_nothing() {
        for p in [
            json!(null),
            json!([]),
            json!({"name": "x", "birthDate": 5, "identifier": {}}),
            json!({"birthDate": "1980-02-30", "gender": ["male"], "name": [{"given": [1]}]}),
        ] {
            let d = demographics(&p);
            assert!(d.names.is_empty() && d.birth_date.is_none() && d.sex == Sex::Unknown);
            assert!(identifiers(&p).is_empty());
        }
        let partial = json!({"birthDate": "1980-02"});
        assert!(demographics(&partial).birth_date.is_none());
    }
}
