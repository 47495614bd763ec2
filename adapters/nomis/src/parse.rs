//! Decoding an SNS notification and the HMPPS offender event inside it. Pure: no IO, no clock.
//!
//! An SNS HTTP delivery's body is a JSON object whose `Message` field is itself a JSON document
//! held in a string: the offender event (`eventType`, `eventDatetime`, `offenderIdDisplay`,
//! `bookingId`, ...). NOMIS writes `eventDatetime` in Europe/London local time without a zone;
//! [`london_to_utc`] converts it with the UK daylight-saving rule, no time-zone database needed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use waymark_core::{ErrorCode, IssueType, Sensitive};

/// Why a body is not a usable offender-event notification. Never carries message content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body is not a JSON object.
    #[error("notification body is not a json object")]
    Body,
    /// The body's `Type` is not `Notification`.
    #[error("body is not an sns notification")]
    NotNotification,
    /// A required notification field is missing or not a string.
    #[error("notification field `{0}` is missing or not a string")]
    MissingField(&'static str),
    /// The inner `Message` is not a JSON object.
    #[error("notification `Message` is not a json object")]
    Message,
    /// `eventType` is missing, or not a plain event-type token.
    #[error("event has no usable `eventType`")]
    EventType,
    /// `eventDatetime` is not a date-time.
    #[error("event `eventDatetime` is not a date-time")]
    EventTime,
}

impl ErrorCode for ParseError {
    fn code(&self) -> &'static str {
        match self {
            Self::Body => "nomis.parse.body",
            Self::NotNotification => "nomis.parse.not-notification",
            Self::MissingField(_) => "nomis.parse.missing-field",
            Self::Message => "nomis.parse.message",
            Self::EventType => "nomis.parse.event-type",
            Self::EventTime => "nomis.parse.event-time",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Body | Self::NotNotification | Self::Message => IssueType::Structure,
            Self::MissingField(_) | Self::EventType => IssueType::Required,
            Self::EventTime => IssueType::Value,
        }
    }
}

/// A decoded SNS notification carrying an offender event.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The SNS `MessageId` (not unique on its own: real samples reuse one for two messages).
    pub sns_message_id: String,
    /// The inner `Message` string, as sent.
    pub message: Sensitive<String>,
    /// The decoded event.
    pub event: OffenderEvent,
}

/// The fields of an offender event the adapter needs.
#[derive(Debug, Clone, PartialEq)]
pub struct OffenderEvent {
    /// `eventType`, e.g. `EXTERNAL_MOVEMENT_RECORD-INSERTED`.
    pub event_type: String,
    /// `eventDatetime` converted to UTC; `Err` when present but unreadable, `Ok(None)` if absent.
    pub event_time: Result<Option<DateTime<Utc>>, ParseError>,
    /// `offenderIdDisplay`, the prison number, when the event names one (not yet checked).
    pub prison_number: Option<Sensitive<String>>,
    /// `bookingId`, when the event names one.
    pub booking_id: Option<u64>,
}

impl Notification {
    /// The key the envelope id is derived from: `<MessageId>:<sha256 hex of Message>`.
    pub fn source_key(&self) -> String {
        format!(
            "{}:{}",
            self.sns_message_id,
            sha256_hex(self.message.expose().as_bytes())
        )
    }
}

/// The key of a body that could not be decoded: the sha256 hex of the body.
pub fn unparseable_key(body: &[u8]) -> String {
    sha256_hex(body)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Decodes an SNS notification body and the offender event inside it.
pub fn parse_notification(body: &[u8]) -> Result<Notification, ParseError> {
    let Ok(Value::Object(outer)) = serde_json::from_slice::<Value>(body) else {
        return Err(ParseError::Body);
    };
    if outer.get("Type").and_then(Value::as_str) != Some("Notification") {
        return Err(ParseError::NotNotification);
    }
    let sns_message_id = string_field(&outer, "MessageId")?;
    let message = string_field(&outer, "Message")?;
    let event = parse_event(&message)?;
    Ok(Notification {
        sns_message_id,
        message: Sensitive::new(message),
        event,
    })
}

fn string_field(object: &Map<String, Value>, name: &'static str) -> Result<String, ParseError> {
    match object.get(name) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
        _ => Err(ParseError::MissingField(name)),
    }
}

/// Decodes the inner `Message` of a notification.
pub fn parse_event(message: &str) -> Result<OffenderEvent, ParseError> {
    let Ok(Value::Object(event)) = serde_json::from_str::<Value>(message) else {
        return Err(ParseError::Message);
    };
    let event_type = match event.get("eventType").and_then(Value::as_str) {
        Some(kind) if is_event_type_token(kind) => kind.to_owned(),
        _ => return Err(ParseError::EventType),
    };
    let event_time = match event.get("eventDatetime") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => parse_event_time(text).map(Some),
        Some(_) => Err(ParseError::EventTime),
    };
    let prison_number = match event.get("offenderIdDisplay").and_then(Value::as_str) {
        Some(text) if !text.is_empty() => Some(Sensitive::new(text.to_owned())),
        _ => None,
    };
    Ok(OffenderEvent {
        event_type,
        event_time,
        prison_number,
        booking_id: booking_id(&event),
    })
}

/// An event type is logged and used as a bus header, so it must be a plain token, never text
/// that could carry patient data.
fn is_event_type_token(kind: &str) -> bool {
    (1..=100).contains(&kind.len())
        && kind
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn booking_id(event: &Map<String, Value>) -> Option<u64> {
    match event.get("bookingId")? {
        Value::Number(n) => n.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Reads an `eventDatetime`: Europe/London local time without a zone (NOMIS), or an RFC 3339
/// time with an offset (newer HMPPS events).
pub fn parse_event_time(text: &str) -> Result<DateTime<Utc>, ParseError> {
    if let Ok(zoned) = DateTime::parse_from_rfc3339(text) {
        return Ok(zoned.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|_| ParseError::EventTime)?;
    if !PLAUSIBLE_YEARS.contains(&local.year()) {
        return Err(ParseError::EventTime);
    }
    Ok(london_to_utc(local))
}

/// Years an event can plausibly carry; anything else is a malformed time, not an event.
const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// The last Sunday of a month that has 31 days (March and October).
fn last_sunday_of(year: i32, month: u32) -> Option<NaiveDate> {
    let last = NaiveDate::from_ymd_opt(year, month, 31)?;
    let back = last.weekday().num_days_from_sunday();
    last.checked_sub_signed(Duration::days(i64::from(back)))
}

/// Whether UK summer time (BST, UTC+1) is in force at an instant: from 01:00 UTC on the last
/// Sunday of March until 01:00 UTC on the last Sunday of October.
pub fn is_bst(instant: DateTime<Utc>) -> bool {
    let year = instant.year();
    let (Some(start), Some(end)) = (last_sunday_of(year, 3), last_sunday_of(year, 10)) else {
        return false;
    };
    let at_one = |day: NaiveDate| day.and_hms_opt(1, 0, 0).map(|t| Utc.from_utc_datetime(&t));
    match (at_one(start), at_one(end)) {
        (Some(start), Some(end)) => start <= instant && instant < end,
        _ => false,
    }
}

/// Converts Europe/London wall-clock time to UTC.
///
/// In the autumn hour that happens twice (01:00–02:00 local on the last Sunday of October) the
/// earlier, BST reading is taken. In the spring hour that never happens (01:00–02:00 local on
/// the last Sunday of March) the time is read as GMT, as a clock not yet put forward would show.
pub fn london_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    // `checked_sub`: at the very start of chrono's range there is no earlier hour, and no BST.
    match local
        .checked_sub_signed(Duration::hours(1))
        .map(|t| Utc.from_utc_datetime(&t))
    {
        Some(as_bst) if is_bst(as_bst) => as_bst,
        _ => Utc.from_utc_datetime(&local),
    }
}

/// Converts UTC to Europe/London wall-clock time (the inverse of [`london_to_utc`]).
pub fn utc_to_london(instant: DateTime<Utc>) -> NaiveDateTime {
    let offset = if is_bst(instant) {
        Duration::hours(1)
    } else {
        Duration::zero()
    };
    let utc = instant.naive_utc();
    utc.checked_add_signed(offset).unwrap_or(utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    #[test]
    fn times_at_the_edge_of_the_calendar_are_refused_not_panicked_on() {
        for text in [
            "-262143-01-01T00:30:00",
            "+262142-12-31T23:30:00",
            "0001-01-01T00:00:00",
        ] {
            assert!(
                matches!(parse_event_time(text), Err(ParseError::EventTime)),
                "{text}"
            );
        }
        let first = NaiveDateTime::MIN;
        assert_eq!(london_to_utc(first).naive_utc(), first);
        assert_eq!(
            utc_to_london(Utc.from_utc_datetime(&NaiveDateTime::MAX)),
            NaiveDateTime::MAX
        );
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn last_sundays_are_sundays_at_the_end_of_the_month() {
        for year in [2020, 2024, 2025, 2026] {
            for month in [3, 10] {
                let day = last_sunday_of(year, month).unwrap();
                assert_eq!(day.weekday(), Weekday::Sun);
                assert!(day.day() > 24, "{day}");
            }
        }
        assert_eq!(
            last_sunday_of(2025, 3).unwrap(),
            NaiveDate::from_ymd_opt(2025, 3, 30).unwrap()
        );
        assert_eq!(
            last_sunday_of(2025, 10).unwrap(),
            NaiveDate::from_ymd_opt(2025, 10, 26).unwrap()
        );
    }

    #[test]
    fn spring_transition_2025() {
        // Clocks go forward at 01:00 GMT on 30 March 2025 (local 01:00 -> 02:00).
        assert!(!is_bst(utc("2025-03-30T00:59:59Z")));
        assert!(is_bst(utc("2025-03-30T01:00:00Z")));
        assert_eq!(
            london_to_utc(local("2025-03-30T00:30:00")),
            utc("2025-03-30T00:30:00Z")
        );
        assert_eq!(
            london_to_utc(local("2025-03-30T02:30:00")),
            utc("2025-03-30T01:30:00Z")
        );
        // The hour that does not exist is read as GMT.
        assert_eq!(
            london_to_utc(local("2025-03-30T01:30:00")),
            utc("2025-03-30T01:30:00Z")
        );
        assert_eq!(
            london_to_utc(local("2025-03-29T12:00:00")),
            utc("2025-03-29T12:00:00Z")
        );
        assert_eq!(
            london_to_utc(local("2025-03-31T12:00:00")),
            utc("2025-03-31T11:00:00Z")
        );
    }

    #[test]
    fn autumn_transition_2025() {
        // Clocks go back at 01:00 GMT on 26 October 2025 (local 02:00 BST -> 01:00 GMT).
        assert!(is_bst(utc("2025-10-26T00:59:59Z")));
        assert!(!is_bst(utc("2025-10-26T01:00:00Z")));
        assert_eq!(
            london_to_utc(local("2025-10-26T00:30:00")),
            utc("2025-10-25T23:30:00Z")
        );
        // The hour that happens twice takes the earlier (BST) reading.
        assert_eq!(
            london_to_utc(local("2025-10-26T01:30:00")),
            utc("2025-10-26T00:30:00Z")
        );
        assert_eq!(
            london_to_utc(local("2025-10-26T02:30:00")),
            utc("2025-10-26T02:30:00Z")
        );
        assert_eq!(
            london_to_utc(local("2025-10-27T09:00:00")),
            utc("2025-10-27T09:00:00Z")
        );
    }

    #[test]
    fn utc_to_london_round_trips_outside_the_repeated_hour() {
        for text in [
            "2025-01-15T10:00:00Z",
            "2025-07-01T23:30:00Z",
            "2025-03-30T01:00:00Z",
        ] {
            let instant = utc(text);
            assert_eq!(london_to_utc(utc_to_london(instant)), instant, "{text}");
        }
        assert_eq!(
            utc_to_london(utc("2025-07-01T23:30:00Z")),
            local("2025-07-02T00:30:00")
        );
    }

    #[test]
    fn event_times_read_nomis_and_rfc3339_forms() {
        let sample = parse_event_time("2020-01-13T11:33:23.790725").unwrap();
        assert_eq!(sample.to_rfc3339(), "2020-01-13T11:33:23.790725+00:00");
        let summer = parse_event_time("2020-06-13T11:33:23").unwrap();
        assert_eq!(summer, utc("2020-06-13T10:33:23Z"));
        let zoned = parse_event_time("2020-06-13T11:33:23+01:00").unwrap();
        assert_eq!(zoned, utc("2020-06-13T10:33:23Z"));
        assert_eq!(parse_event_time("13/01/2020"), Err(ParseError::EventTime));
    }

    fn notification(message: &str) -> Vec<u8> {
        serde_json::json!({"Type": "Notification", "MessageId": "m-1", "Message": message})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn decodes_a_notification_and_its_event() {
        let message = r#"{"eventType":"OFFENDER-UPDATED","eventDatetime":"2020-02-25T11:24:32.935401","offenderIdDisplay":"A7089EY","bookingId":"12"}"#;
        let parsed = parse_notification(&notification(message)).unwrap();
        assert_eq!(parsed.sns_message_id, "m-1");
        assert_eq!(parsed.event.event_type, "OFFENDER-UPDATED");
        assert_eq!(
            parsed.event.prison_number.as_ref().unwrap().expose(),
            "A7089EY"
        );
        assert_eq!(parsed.event.booking_id, Some(12));
        assert_eq!(
            parsed.event.event_time,
            Ok(Some(utc("2020-02-25T11:24:32.935401Z")))
        );
        assert!(parsed.source_key().starts_with("m-1:"));
        assert_eq!(parsed.source_key().len(), "m-1:".len() + 64);
    }

    #[test]
    fn each_broken_shape_has_its_own_error() {
        let check = |body: &[u8], want: ParseError| {
            assert_eq!(parse_notification(body).unwrap_err(), want);
        };
        check(b"{not json", ParseError::Body);
        check(b"[1,2]", ParseError::Body);
        check(
            br#"{"Type":"SubscriptionConfirmation"}"#,
            ParseError::NotNotification,
        );
        check(
            br#"{"Type":"Notification","Message":"{}"}"#,
            ParseError::MissingField("MessageId"),
        );
        check(&notification("not json"), ParseError::Message);
        check(
            &notification(r#"{"eventDatetime":"2020-01-01T00:00:00"}"#),
            ParseError::EventType,
        );
        check(
            &notification(r#"{"eventType":"Jane Smith was here"}"#),
            ParseError::EventType,
        );
        let bad_time = parse_notification(&notification(
            r#"{"eventType":"X","eventDatetime":"yesterday"}"#,
        ))
        .unwrap();
        assert_eq!(bad_time.event.event_time, Err(ParseError::EventTime));
    }

    #[test]
    fn errors_never_echo_content() {
        let err =
            parse_notification(&notification(r#"{"eventType":"A1234BC Smith"}"#)).unwrap_err();
        assert!(!err.to_string().contains("A1234BC"));
        assert_eq!(err.code(), "nomis.parse.event-type");
    }
}
