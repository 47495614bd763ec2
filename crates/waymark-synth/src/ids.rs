//! Strong identifiers for synthetic people: unique per person by construction (each is a
//! permutation of the person's index), with valid check characters, in ranges no real person
//! holds (NHS numbers starting with 9 are never issued to patients).

use waymark_core::SourceSystem;

use crate::rng::Permutation;

/// The check-character alphabet of PNC IDs and CRO numbers (no I, O or S).
const MOD23: &[u8; 23] = b"ZABCDEFGHJKLMNPQRTUVWXY";

/// Prison numbers: letter, 4 digits, 2 letters.
const PRISON_SPACE: u64 = 26 * 10_000 * 676;

/// Prison numbers below this index are people's own; the rest are NOMIS duplicates.
const PRISON_PRIMARY: u64 = 10_000_000;

/// The permutations a population draws its identifiers from.
#[derive(Clone, Copy)]
pub(crate) struct IdSpace {
    nhs: Permutation,
    pnc: Permutation,
    cro: Permutation,
    prison: Permutation,
    local: [Permutation; 5],
}

impl IdSpace {
    pub(crate) fn new(seed: u64) -> Self {
        let local = |i: u64| Permutation::new(100_000_000, seed ^ (0x10C4_1000 + i));
        Self {
            nhs: Permutation::new(10_000_000, seed ^ 0x4E45),
            pnc: Permutation::new(10_000_000, seed ^ 0x504E),
            cro: Permutation::new(1_000_000, seed ^ 0x4352),
            prison: Permutation::new(PRISON_SPACE, seed ^ 0x4E4F),
            local: [local(0), local(1), local(2), local(3), local(4)],
        }
    }

    /// A valid 10-digit NHS number, unique to `person` (for fewer than 10 million people).
    pub(crate) fn nhs_number(&self, person: u32) -> u64 {
        let base8 = 90_000_000 + self.nhs.apply(u64::from(person));
        let first = base8 % 10;
        for step in 0..10 {
            let base9 = base8 * 10 + (first + step) % 10;
            if let Some(check) = nhs_check(base9) {
                return base9 * 10 + check;
            }
        }
        base8 * 100 // unreachable: only one ninth digit of ten gives check 10
    }

    /// The 7-digit PNC serial of `person`.
    pub(crate) fn pnc_serial(&self, person: u32) -> u32 {
        u32::try_from(self.pnc.apply(u64::from(person))).unwrap_or(0)
    }

    /// The serial of the `n`-th CRO number issued in year `yy` (unique within the year for
    /// fewer than a million a year).
    pub(crate) fn cro_serial(&self, yy: u8, n: u32) -> u32 {
        let x = u64::from(yy) * 1_000_000 + u64::from(n % 1_000_000);
        u32::try_from(self.cro.apply(x) % 1_000_000).unwrap_or(0)
    }

    /// The prison number of `person`; `duplicate` > 0 gives the numbers NOMIS issued to the
    /// same person again, by mistake, under new bookings.
    pub(crate) fn prison_code(&self, person: u32, duplicate: u8) -> u32 {
        let index = if duplicate == 0 {
            u64::from(person)
        } else {
            PRISON_PRIMARY + u64::from(person) * 8 + u64::from(duplicate % 8)
        };
        u32::try_from(self.prison.apply(index)).unwrap_or(0)
    }

    /// The id of the `record`-th local record a source holds for `person` (8 digits).
    pub(crate) fn local(&self, source: SourceSystem, person: u32, record: u8) -> u64 {
        self.local[source_index(source)].apply(u64::from(person) * 8 + u64::from(record % 8))
    }
}

/// The position of a source in [`SourceSystem::ALL`].
pub(crate) fn source_index(source: SourceSystem) -> usize {
    SourceSystem::ALL
        .iter()
        .position(|s| *s == source)
        .unwrap_or(0)
}

/// The modulus 11 check digit of a 9-digit NHS number base, `None` when it would be 10.
pub(crate) fn nhs_check(base9: u64) -> Option<u64> {
    let mut sum = 0;
    let mut rest = base9;
    for weight in 2..=10 {
        sum += (rest % 10) * weight;
        rest /= 10;
    }
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c),
    }
}

/// The mod-23 check letter of a number.
pub(crate) fn mod23(n: u64) -> char {
    char::from(MOD23[usize::try_from(n % 23).unwrap_or(0)])
}

/// A PNC ID, long form `YYYY/NNNNNNNA` or short `YY/NNNNNNNA`.
pub(crate) fn pnc_text(year: u16, serial: u32, long: bool) -> String {
    let yy = year % 100;
    let check = mod23(u64::from(yy) * 10_000_000 + u64::from(serial));
    if long {
        format!("{year:04}/{serial:07}{check}")
    } else {
        format!("{yy:02}/{serial:07}{check}")
    }
}

/// A CRO number `NNNNNN/YYL`.
pub(crate) fn cro_text(serial: u32, yy: u8) -> String {
    let check = mod23(u64::from(serial) * 100 + u64::from(yy));
    format!("{serial:06}/{yy:02}{check}")
}

pub(crate) fn prison_text(code: u32) -> String {
    let p = u64::from(code);
    let letter = |i: u64| char::from(b'A' + u8::try_from(i % 26).unwrap_or(0));
    let first = letter(p / (10_000 * 676));
    let rest = p % (10_000 * 676);
    let digits = rest / 676;
    let tail = rest % 676;
    format!("{first}{digits:04}{}{}", letter(tail / 26), letter(tail))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use waymark_core::{CroNumber, NhsNumber, PncId, PrisonNumber};

    use super::*;

    #[test]
    fn identifiers_are_valid_and_unique() {
        let ids = IdSpace::new(9);
        let mut seen = HashSet::new();
        for person in 0..20_000u32 {
            let nhs = format!("{:010}", ids.nhs_number(person));
            assert!(NhsNumber::parse(&nhs).is_ok(), "{nhs}");
            assert!(seen.insert(nhs));
            let serial = ids.pnc_serial(person);
            assert!(PncId::parse(&pnc_text(1999, serial, true)).is_ok());
            assert!(PncId::parse(&pnc_text(2004, serial, false)).is_ok());
            let cro = cro_text(ids.cro_serial(7, person), 7);
            assert!(CroNumber::parse(&cro).is_ok());
            assert!(seen.insert(cro));
            for dup in 0..3 {
                let p = prison_text(ids.prison_code(person, dup));
                assert!(PrisonNumber::parse(&p).is_ok(), "{p}");
                assert!(seen.insert(p));
            }
        }
    }

    #[test]
    fn nhs_check_matches_published_examples() {
        assert_eq!(nhs_check(943_476_591), Some(9));
        assert_eq!(nhs_check(401_023_213), Some(7));
        assert_eq!(nhs_check(100_000_001), None);
    }
}
