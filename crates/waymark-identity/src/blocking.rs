//! Blocking keys: the few keys a store indexes each person under, so that candidates for a
//! record are found by looking up the record's own keys instead of scanning everyone.
//!
//! The keys pair parts of the date of birth (the whole date, the date with day and month
//! swapped, the year, the day and month) with the phonetic family or given name or the
//! postcode, so that a record shares a key with its person even when two of date-part, given
//! name, family name and postcode are wrong (not both parts of the date, which no single keying
//! error changes). Keys start with `v1:`; a new scheme gets a new prefix so a store can index
//! both while it re-indexes. Keys hold patient data (dates, postcodes): never log them.

use chrono::{Datelike, NaiveDate};

use crate::{demographics::Demographics, text};

/// The blocking keys of a record (at most 8, no duplicates).
pub fn blocking_keys(d: &Demographics) -> Vec<String> {
    let families = family_codes(d);
    let given = d
        .primary_name()
        .and_then(|n| n.given.first())
        .map(|g| text::phonetic(&text::normalise(g)))
        .filter(|c| !c.is_empty());
    let postcode = d.postcodes.first();
    let mut keys = Vec::with_capacity(8);
    match d.birth_date {
        Some(dob) => {
            let (y, md) = (dob.year(), format!("{:02}{:02}", dob.month(), dob.day()));
            keys.push(format!("v1:dob:{dob}"));
            keys.extend(swap(dob).map(|s| format!("v1:dob:{s}")));
            keys.extend(families.first().map(|f| format!("v1:yf:{y}:{f}")));
            keys.extend(families.iter().map(|f| format!("v1:mf:{md}:{f}")));
            keys.extend(
                given
                    .iter()
                    .map(|g| format!("v1:yg:{y}-{:02}:{g}", dob.month())),
            );
            keys.extend(given.iter().map(|g| format!("v1:mg:{md}:{g}")));
            keys.extend(postcode.map(|p| format!("v1:pc:{p}:{y}")));
        }
        None => {
            if let (Some(g), Some(f)) = (&given, families.first()) {
                keys.push(format!("v1:gf:{g}:{f}"));
            }
            if let (Some(p), Some(f)) = (postcode, families.first()) {
                keys.push(format!("v1:pf:{p}:{f}"));
            }
        }
    }
    keys.dedup();
    keys
}

/// Phonetic codes of up to two distinct family names: the person's own first, then an alias
/// or previous name.
fn family_codes(d: &Demographics) -> Vec<String> {
    let mut codes: Vec<String> = Vec::with_capacity(2);
    let own = d.names.iter().filter(|n| !n.alias);
    let aliases = d.names.iter().filter(|n| n.alias);
    for name in own.chain(aliases) {
        let code = text::phonetic(&text::normalise(&name.family));
        if !code.is_empty() && !codes.contains(&code) {
            codes.push(code);
            if codes.len() == 2 {
                break;
            }
        }
    }
    codes
}

/// The date with day and month swapped, when that is a different valid date.
fn swap(d: NaiveDate) -> Option<NaiveDate> {
    (d.day() != d.month())
        .then(|| NaiveDate::from_ymd_opt(d.year(), d.day(), d.month()))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demographics::{Name, Sex};

    fn person(given: &str, family: &str, dob: (i32, u32, u32)) -> Demographics {
        Demographics {
            names: vec![Name {
                given: vec![given.into()],
                family: family.into(),
                alias: false,
            }],
            birth_date: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2),
            sex: Sex::Male,
            postcodes: vec!["LS115QT".into()],
        }
    }

    fn shares_a_key(a: &Demographics, b: &Demographics) -> bool {
        let kb = blocking_keys(b);
        blocking_keys(a).iter().any(|k| kb.contains(k))
    }

    #[test]
    fn keys_tolerate_two_errors() {
        let truth = person("Robert", "Thompson", (1985, 3, 7));
        let mut with_alias = truth.clone();
        with_alias.names.push(Name {
            given: vec!["Bob".into()],
            family: "Walker".into(),
            alias: true,
        });
        assert_eq!(blocking_keys(&with_alias).len(), 8);
        // Day and month swapped, and a new surname.
        assert!(shares_a_key(
            &truth,
            &person("Robert", "Walker", (1985, 7, 3))
        ));
        // Year wrong and family name misspelt.
        assert!(shares_a_key(&truth, &person("Bob", "Tomson", (1958, 3, 7))));
        // Year wrong and a new surname.
        assert!(shares_a_key(
            &truth,
            &person("Robert", "Walker", (1958, 3, 7))
        ));
        // Day wrong and a new surname.
        assert!(shares_a_key(
            &truth,
            &person("Rupert", "Walker", (1985, 3, 17))
        ));
        // Year wrong and a nickname: the old surname listed as an alias still finds it.
        assert!(shares_a_key(
            &with_alias,
            &person("Bob", "Walker", (1958, 3, 7))
        ));
        // Unrelated.
        assert!(!shares_a_key(
            &truth,
            &Demographics {
                postcodes: vec![],
                ..person("Jane", "Ahmed", (1990, 1, 1))
            }
        ));
    }

    #[test]
    fn no_birth_date_still_gives_keys() {
        let d = Demographics {
            birth_date: None,
            ..person("Robert", "Smith", (1, 1, 1))
        };
        let keys = blocking_keys(&d);
        assert_eq!(keys.len(), 2);
        assert!(keys.iter().all(|k| k.starts_with("v1:")));
        assert!(blocking_keys(&Demographics::default()).is_empty());
    }
}
