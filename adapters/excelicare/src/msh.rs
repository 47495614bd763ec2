//! What the adapter reads of a message: its MSH header, and whether it is one the hub takes.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::{
    ack,
    er7::{self, Delimiters, Er7Error},
};

/// HL7 versions the adapter accepts (MSH-12): 2.3 to 2.8.
pub const SUPPORTED_VERSIONS: [&str; 10] = [
    "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1",
];

/// Message types (MSH-9.1 `^` MSH-9.2) the adapter accepts.
/// (Medication comes as RAS^O17, administrations; RDE^O11 orders are answered `AR` 200.)
pub const SUPPORTED_TYPES: [&str; 5] = ["ADT^A04", "ADT^A08", "ORU^R01", "RAS^O17", "REF^I12"];

/// The MSH fields the adapter uses. Values may be identifiers: never log them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// Separators declared in MSH-1/MSH-2 (needed to answer in kind).
    pub delimiters: Delimiters,
    /// MSH-3 (sending application), raw.
    pub sending_application: String,
    /// MSH-4 (sending facility), raw.
    pub sending_facility: String,
    /// MSH-5 (receiving application), raw.
    pub receiving_application: String,
    /// MSH-6 (receiving facility), raw.
    pub receiving_facility: String,
    /// MSH-7 (date/time of message).
    pub timestamp: Option<String>,
    /// MSH-9.1 and MSH-9.2 joined with `^`, e.g. `ADT^A04`, when both are plain tokens.
    pub message_type: Option<String>,
    /// MSH-10 (message control id), raw.
    pub control_id: Option<String>,
    /// MSH-11 (processing id).
    pub processing_id: Option<String>,
    /// MSH-12 (version id).
    pub version: Option<String>,
}

/// What the adapter makes of one frame's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A supported message: publish it and answer `AA`.
    Accept,
    /// Readable but flawed (a required MSH field missing): publish with `context.error`, `AE`.
    Flawed(Flaw),
    /// Readable but not something the hub takes: publish with `context.error`, `AR`.
    Unsupported(Flaw),
}

/// A problem with a readable message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    /// MSH-9 (message type) missing or not `TYPE^EVENT`.
    MissingType,
    /// MSH-10 (control id) missing.
    MissingControlId,
    /// MSH-12 (version) missing.
    MissingVersion,
    /// MSH-12 names a version outside [`SUPPORTED_VERSIONS`].
    UnsupportedVersion,
    /// MSH-9 names a type outside [`SUPPORTED_TYPES`].
    UnsupportedType,
}

impl Flaw {
    /// The stable code written into `context.error.code`.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingType => "excelicare.msh.missing-type",
            Self::MissingControlId => "excelicare.msh.missing-control-id",
            Self::MissingVersion => "excelicare.msh.missing-version",
            Self::UnsupportedVersion => "excelicare.unsupported-version",
            Self::UnsupportedType => "excelicare.unsupported-type",
        }
    }

    /// HL7 table 0357 error code for the ACK's ERR-3.
    pub fn hl7_error(self) -> &'static str {
        match self {
            Self::MissingType | Self::MissingControlId | Self::MissingVersion => {
                ack::REQUIRED_FIELD_MISSING
            }
            Self::UnsupportedVersion => ack::UNSUPPORTED_VERSION,
            Self::UnsupportedType => ack::UNSUPPORTED_TYPE,
        }
    }

    /// The MSH field at fault, for ERR-2.
    pub fn field(self) -> usize {
        match self {
            Self::MissingType | Self::UnsupportedType => 9,
            Self::MissingControlId => 10,
            Self::MissingVersion | Self::UnsupportedVersion => 12,
        }
    }
}

/// The header of a readable message, or why it is not one.
pub fn read_header(bytes: &[u8]) -> Result<Header, Er7Error> {
    let m = er7::parse(bytes)?;
    let raw = |field: usize| {
        m.segment("MSH")
            .and_then(|s| s.fields.get(field - 1))
            .map(|f| (*f).to_owned())
            .unwrap_or_default()
    };
    let token = |s: Option<String>| s.filter(|t| is_token(t));
    let message_type = match (token(m.value("MSH", 9, 1)), token(m.value("MSH", 9, 2))) {
        (Some(kind), Some(event)) => Some(format!("{kind}^{event}")),
        _ => None,
    };
    Ok(Header {
        delimiters: m.delimiters,
        sending_application: raw(3),
        sending_facility: raw(4),
        receiving_application: raw(5),
        receiving_facility: raw(6),
        timestamp: m.value("MSH", 7, 1),
        message_type,
        control_id: m.value("MSH", 10, 1),
        processing_id: m.value("MSH", 11, 1),
        version: m.value("MSH", 12, 1),
    })
}

/// Upper-case letters, digits and `_`, 1 to 20 characters (safe to log).
fn is_token(s: &str) -> bool {
    (1..=20).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

impl Header {
    /// Whether the hub takes this message, and if not why.
    pub fn verdict(&self) -> Verdict {
        let Some(message_type) = &self.message_type else {
            return Verdict::Flawed(Flaw::MissingType);
        };
        if self.control_id.is_none() {
            return Verdict::Flawed(Flaw::MissingControlId);
        }
        let Some(version) = &self.version else {
            return Verdict::Flawed(Flaw::MissingVersion);
        };
        if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
            return Verdict::Unsupported(Flaw::UnsupportedVersion);
        }
        if !SUPPORTED_TYPES.contains(&message_type.as_str()) {
            return Verdict::Unsupported(Flaw::UnsupportedType);
        }
        Verdict::Accept
    }

    /// The source's own key of the message: sending application and facility with the control
    /// id, so a resend of the same message always gets the same id.
    pub fn source_key(&self) -> Option<String> {
        let control = self.control_id.as_ref()?;
        Some(format!(
            "{}|{}|{}",
            self.sending_application, self.sending_facility, control
        ))
    }

    /// MSH-7 as UTC: its own offset when it has one, else UK local time (GMT/BST).
    pub fn event_time(&self) -> Option<DateTime<Utc>> {
        parse_timestamp(self.timestamp.as_deref()?)
    }
}

/// `YYYYMMDDHHMM[SS[.S…]][+/-ZZZZ]` as UTC; `None` for anything less precise or not a date.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let split = text.find(['+', '-']).unwrap_or(text.len());
    let (stamp, zone) = text.split_at(split);
    let stamp = stamp.split('.').next().unwrap_or_default();
    let format = match stamp.len() {
        12 => "%Y%m%d%H%M",
        14 => "%Y%m%d%H%M%S",
        _ => return None,
    };
    let local = NaiveDateTime::parse_from_str(stamp, format).ok()?;
    if zone.is_empty() {
        return Some(london_to_utc(local));
    }
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits = zone.get(1..)?;
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..)?.parse().ok()?;
    let offset = chrono::FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?;
    offset
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// UK civil time to UTC: BST (UTC+1) from 01:00 UTC on the last Sunday of March to 01:00 UTC on
/// the last Sunday of October. A time in the repeated hour is read as BST.
fn london_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    let year = local.year();
    let start = last_sunday(year, 3).and_hms_opt(1, 0, 0);
    let end = last_sunday(year, 10).and_hms_opt(1, 0, 0);
    let as_bst = local - chrono::Duration::hours(1);
    let in_bst = match (start, end) {
        (Some(start), Some(end)) => as_bst >= start && as_bst < end,
        _ => false,
    };
    Utc.from_utc_datetime(if in_bst { &as_bst } else { &local })
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let last_day = NaiveDate::from_ymd_opt(year, month + 1, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or_default();
    let back = last_day.weekday().num_days_from_sunday();
    last_day - chrono::Duration::days(i64::from(back))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(msh: &str) -> Header {
        read_header(msh.as_bytes()).unwrap()
    }

    #[test]
    fn reads_the_header_and_accepts_supported_messages() {
        let h = header(
            "MSH|^~\\&|EXCELICARE|SUITE1|WAYMARK|HUB|20240601120000+0100||ADT^A04^ADT_A01|C1|P|2.5.1",
        );
        assert_eq!(h.message_type.as_deref(), Some("ADT^A04"));
        assert_eq!(h.control_id.as_deref(), Some("C1"));
        assert_eq!(h.verdict(), Verdict::Accept);
        assert_eq!(h.source_key().as_deref(), Some("EXCELICARE|SUITE1|C1"));
        assert_eq!(
            h.event_time().unwrap().to_rfc3339(),
            "2024-06-01T11:00:00+00:00"
        );
    }

    #[test]
    fn classifies_each_flaw() {
        let base = |nine: &str, ten: &str, twelve: &str| {
            header(&format!(
                "MSH|^~\\&|A|F|B|G|202406011200||{nine}|{ten}|P|{twelve}"
            ))
            .verdict()
        };
        assert_eq!(base("", "C1", "2.5"), Verdict::Flawed(Flaw::MissingType));
        assert_eq!(base("ADT", "C1", "2.5"), Verdict::Flawed(Flaw::MissingType));
        assert_eq!(
            base("ADT^A04", "", "2.5"),
            Verdict::Flawed(Flaw::MissingControlId)
        );
        assert_eq!(
            base("ADT^A04", "C1", ""),
            Verdict::Flawed(Flaw::MissingVersion)
        );
        for v in ["2.1", "3.0", "2.2"] {
            assert_eq!(
                base("ADT^A04", "C1", v),
                Verdict::Unsupported(Flaw::UnsupportedVersion)
            );
        }
        assert_eq!(
            base("SIU^S12", "C1", "2.5"),
            Verdict::Unsupported(Flaw::UnsupportedType)
        );
        assert_eq!(
            base("adt^a04", "C1", "2.5"),
            Verdict::Flawed(Flaw::MissingType)
        );
    }

    #[test]
    fn times_without_offset_are_uk_local() {
        let t = |s| parse_timestamp(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("202407011200").as_deref(),
            Some("2024-07-01T11:00:00+00:00")
        );
        assert_eq!(
            t("202401011200").as_deref(),
            Some("2024-01-01T12:00:00+00:00")
        );
        assert_eq!(
            t("20240331005959").as_deref(),
            Some("2024-03-31T00:59:59+00:00")
        );
        assert_eq!(
            t("20240331023000").as_deref(),
            Some("2024-03-31T01:30:00+00:00")
        );
        assert_eq!(
            t("20241027003000").as_deref(),
            Some("2024-10-26T23:30:00+00:00")
        );
        assert_eq!(
            t("20241027013000").as_deref(),
            Some("2024-10-27T00:30:00+00:00")
        );
        assert_eq!(
            t("20240601120000-0500").as_deref(),
            Some("2024-06-01T17:00:00+00:00")
        );
        for bad in [
            "",
            "2024",
            "20240601",
            "20241301120000",
            "20240601120000+01",
            "x",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }
}
