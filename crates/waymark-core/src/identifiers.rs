//! Checked identifier newtypes: the strong identifiers the hub links people by.
//!
//! Each has one checked constructor (`parse`) and keeps its value in [`Sensitive`], so `Debug`
//! prints `[redacted]`. Errors name the rule broken, never the value. No IO.

use std::fmt;

use crate::Sensitive;

/// Identifier system URI of the NHS number (UK Core).
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// Identifier system URI of the PNC ID.
pub const PNC_ID_SYSTEM: &str = "https://fhir.waymark.org.uk/Id/pnc-id";
/// Identifier system URI of the CRO number.
pub const CRO_NUMBER_SYSTEM: &str = "https://fhir.waymark.org.uk/Id/cro-number";
/// Identifier system URI of the NOMIS prison number.
pub const PRISON_NUMBER_SYSTEM: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";

/// The check-character alphabet shared by PNC IDs and CRO numbers (no I, O or S).
const MOD23_ALPHABET: &[u8; 23] = b"ZABCDEFGHJKLMNPQRTUVWXY";

/// Why an identifier was refused. Never carries the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// The value does not have the identifier's shape.
    #[error("does not have the format of {0}")]
    Format(&'static str),
    /// The value has the shape but its check digit or letter is wrong.
    #[error("has a wrong check character for {0}")]
    Check(&'static str),
}

macro_rules! checked_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(Sensitive<String>);

        impl $name {
            /// What the identifier is called in messages.
            pub const NAME: &'static str = $what;

            /// The checked value, normalised.
            pub fn expose(&self) -> &str {
                self.0.expose()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}([redacted])", stringify!($name))
            }
        }
    };
}

checked_id!(
    /// An NHS number: 10 digits, the last a modulus 11 check digit (NHS Data Dictionary, "NHS
    /// Number"). Spaces between the 3-3-4 groups are accepted and removed.
    NhsNumber,
    "an NHS number"
);

checked_id!(
    /// A Police National Computer ID: `YYYY/NNNNNNNA` or `YY/NNNNNNNA` (year, serial of up to 7
    /// digits, check letter). The check letter is the 2-digit year followed by the serial padded
    /// to 7 digits, read as one number, modulo 23, indexed into `ZABCDEFGHJKLMNPQRTUVWXY`.
    /// Source: the PNC ID check-character rule as implemented in HMPPS services (e.g.
    /// `PncNumber` in ministryofjustice/prisoner-offender-search) and in police data-quality
    /// guidance; the examples in the tests are computed from that rule. Stored as `YY/NNNNNNNA`
    /// with the serial zero-padded.
    PncId,
    "a PNC ID"
);

checked_id!(
    /// A Criminal Records Office number: `NNNNNN/YYL` (serial of up to 6 digits, 2-digit year,
    /// check letter). The check letter uses the PNC rule: the serial padded to 6 digits followed
    /// by the year, read as one number, modulo 23 into `ZABCDEFGHJKLMNPQRTUVWXY`. UNCERTAIN:
    /// this ordering is our reading of the HMPPS implementations; the older `SF` fingerprint form
    /// (`SF95/123456A`) is not accepted.
    CroNumber,
    "a CRO number"
);

checked_id!(
    /// A NOMIS prison number: one letter, four digits, two letters (`A1234BC`).
    PrisonNumber,
    "a NOMIS prison number"
);

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn mod23_letter(digits: &str) -> Option<u8> {
    let n: u64 = digits.parse().ok()?;
    usize::try_from(n % 23).ok().map(|i| MOD23_ALPHABET[i])
}

impl NhsNumber {
    /// Checks an NHS number.
    pub fn parse(text: &str) -> Result<Self, IdentifierError> {
        let digits: String = text.chars().filter(|c| *c != ' ').collect();
        if digits.len() != 10 || !all_digits(&digits) {
            return Err(IdentifierError::Format(Self::NAME));
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = d[..9].iter().zip((2..=10).rev()).map(|(x, w)| x * w).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err(IdentifierError::Check(Self::NAME)),
            c => c,
        };
        if check != d[9] {
            return Err(IdentifierError::Check(Self::NAME));
        }
        Ok(Self(digits.into()))
    }
}

impl PncId {
    /// Checks a PNC ID (`YYYY/NNNNNNNA` or `YY/NNNNNNNA`, letter case-insensitive).
    pub fn parse(text: &str) -> Result<Self, IdentifierError> {
        let format = IdentifierError::Format(Self::NAME);
        let upper = text.trim().to_ascii_uppercase();
        let (year, rest) = upper.split_once('/').ok_or(format)?;
        let year = match year.len() {
            4 => &year[2..],
            2 => year,
            _ => return Err(format),
        };
        let split = rest.len().checked_sub(1).ok_or(format)?;
        let (serial, letter) = rest.split_at(split);
        if !all_digits(year) || !all_digits(serial) || serial.len() > 7 {
            return Err(format);
        }
        let letter = check_letter(letter).ok_or(format)?;
        let serial = format!("{serial:0>7}");
        if mod23_letter(&format!("{year}{serial}")) != Some(letter) {
            return Err(IdentifierError::Check(Self::NAME));
        }
        Ok(Self(
            format!("{year}/{serial}{}", char::from(letter)).into(),
        ))
    }
}

/// The one upper-case check letter at the end of a PNC ID or CRO number.
fn check_letter(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [b] if b.is_ascii_uppercase() => Some(*b),
        _ => None,
    }
}

impl CroNumber {
    /// Checks a CRO number (`NNNNNN/YYL`, letter case-insensitive).
    pub fn parse(text: &str) -> Result<Self, IdentifierError> {
        let format = IdentifierError::Format(Self::NAME);
        let upper = text.trim().to_ascii_uppercase();
        let (serial, rest) = upper.split_once('/').ok_or(format)?;
        if !all_digits(serial) || serial.len() > 6 || rest.len() != 3 {
            return Err(format);
        }
        let (year, letter) = rest.split_at(2);
        if !all_digits(year) {
            return Err(format);
        }
        let letter = check_letter(letter).ok_or(format)?;
        let serial = format!("{serial:0>6}");
        if mod23_letter(&format!("{serial}{year}")) != Some(letter) {
            return Err(IdentifierError::Check(Self::NAME));
        }
        Ok(Self(
            format!("{serial}/{year}{}", char::from(letter)).into(),
        ))
    }
}

impl PrisonNumber {
    /// Checks a NOMIS prison number (`[A-Z][0-9]{4}[A-Z]{2}`, upper case only).
    pub fn parse(text: &str) -> Result<Self, IdentifierError> {
        let b = text.as_bytes();
        let ok = b.len() == 7
            && b[0].is_ascii_uppercase()
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5..].iter().all(u8::is_ascii_uppercase);
        if !ok {
            return Err(IdentifierError::Format(Self::NAME));
        }
        Ok(Self(text.to_owned().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers() {
        // Published test numbers (NHS Digital examples).
        for ok in ["9434765919", "943 476 5919", "9434765870", "4010232137"] {
            assert!(NhsNumber::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            NhsNumber::parse("9434765918"),
            Err(IdentifierError::Check("an NHS number"))
        );
        // Check digit would be 10: never issued.
        assert!(matches!(
            NhsNumber::parse("1000000010"),
            Err(IdentifierError::Check(_))
        ));
        for bad in ["943476591", "94347659190", "94347659A9", ""] {
            assert!(
                matches!(NhsNumber::parse(bad), Err(IdentifierError::Format(_))),
                "{bad}"
            );
        }
        assert_eq!(
            NhsNumber::parse("9434765919").unwrap().expose(),
            "9434765919"
        );
    }

    #[test]
    fn pnc_ids() {
        // 02 0012345 = 20012345 → 20012345 mod 23 = 22 → 'Y'.
        assert_eq!(20_012_345 % 23, 22);
        assert_eq!(PncId::parse("02/12345Y").unwrap().expose(), "02/0012345Y");
        assert_eq!(
            PncId::parse("2002/0012345y").unwrap().expose(),
            "02/0012345Y"
        );
        // 96 0123456 = 960123456 mod 23 = 2 → 'B'.
        assert_eq!(960_123_456 % 23, 2);
        assert!(PncId::parse("1996/0123456B").is_ok());
        assert!(matches!(
            PncId::parse("1996/0123456J"),
            Err(IdentifierError::Check(_))
        ));
        for bad in [
            "96-0123456B",
            "996/0123456B",
            "96/01234567B",
            "96/B",
            "96/0123456",
            "96/12I3B",
        ] {
            assert!(
                matches!(PncId::parse(bad), Err(IdentifierError::Format(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn cro_numbers() {
        // 012345 98 = 1234598 mod 23 = 4 → 'D'.
        assert_eq!(1_234_598 % 23, 4);
        assert_eq!(
            CroNumber::parse("12345/98d").unwrap().expose(),
            "012345/98D"
        );
        assert!(matches!(
            CroNumber::parse("012345/98M"),
            Err(IdentifierError::Check(_))
        ));
        for bad in ["SF95/123456A", "1234567/98L", "012345/9L", "012345-98L"] {
            assert!(
                matches!(CroNumber::parse(bad), Err(IdentifierError::Format(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn prison_numbers() {
        assert!(PrisonNumber::parse("A1234BC").is_ok());
        for bad in ["a1234BC", "A123BC", "A12345C", "AB234BC", "A1234B1", ""] {
            assert!(PrisonNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_and_errors_never_show_the_value() {
        let n = NhsNumber::parse("9434765919").unwrap();
        assert!(!format!("{n:?}").contains("943"));
        let e = PncId::parse("96/0123456J").unwrap_err();
        assert!(!e.to_string().contains("0123456"));
    }
}
