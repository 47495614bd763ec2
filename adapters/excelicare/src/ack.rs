//! HL7 v2 original-mode acknowledgements: building the adapter's `ACK` and reading one (the
//! mock sender's side). See the crate docs for which code answers which case.

use chrono::{DateTime, Utc};

use crate::{
    er7::{self, Delimiters},
    msh::Header,
};

/// MSA-1 acknowledgement code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AckCode {
    /// Application accept: the message is durably with the hub.
    Accept,
    /// Application error: the message is durably with the hub, in quarantine; do not resend it
    /// unchanged.
    Error,
    /// Application reject: see the ERR segment; `207` means the hub could not take it now and
    /// the sender must resend, any other code that it will never be taken as sent.
    Reject,
}

impl AckCode {
    /// `AA`, `AE` or `AR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "AA",
            Self::Error => "AE",
            Self::Reject => "AR",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "AA" | "CA" => Some(Self::Accept),
            "AE" | "CE" => Some(Self::Error),
            "AR" | "CR" => Some(Self::Reject),
            _ => None,
        }
    }
}

/// HL7 table 0357 code: application internal error (the hub's bus failed): resend.
pub const TRANSIENT_ERROR: &str = "207";
/// HL7 table 0357 code: unsupported message type.
pub const UNSUPPORTED_TYPE: &str = "200";
/// HL7 table 0357 code: unsupported version id.
pub const UNSUPPORTED_VERSION: &str = "203";
/// HL7 table 0357 code: required field missing.
pub const REQUIRED_FIELD_MISSING: &str = "101";
/// HL7 table 0357 code: segment sequence error (used for content that is not an HL7 message).
pub const SEGMENT_SEQUENCE: &str = "100";

/// The ERR segment of an answer: table 0357 code, a fixed text (never a value from the message)
/// and the MSH field at fault, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckError {
    /// HL7 table 0357 code.
    pub code: &'static str,
    /// Fixed text.
    pub text: &'static str,
    /// MSH field number at fault.
    pub field: Option<usize>,
}

/// What an answer says.
#[derive(Clone, Copy, Debug)]
pub struct Answer<'a> {
    /// MSA-1.
    pub code: AckCode,
    /// The error, for `AE`/`AR`.
    pub error: Option<AckError>,
    /// MSA-3 / ERR text id for the ack's own control id (the envelope id; no patient data).
    pub ack_id: &'a str,
}

/// Builds the ACK for a message with header `header` (`None`: unreadable, answered with the
/// default separators and no control id to echo).
pub fn build(header: Option<&Header>, answer: &Answer<'_>, now: DateTime<Utc>) -> Vec<u8> {
    let fallback = Header::default();
    let h = header.unwrap_or(&fallback);
    let d = h.delimiters;
    let f = d.field;
    let event = h
        .message_type
        .as_deref()
        .and_then(|t| t.split('^').nth(1))
        .unwrap_or_default();
    let version = h
        .version
        .as_deref()
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .unwrap_or("2.5.1");
    let control = h
        .control_id
        .as_deref()
        .map(|c| er7::escape(c, &d))
        .unwrap_or_default();
    let encoding = format!(
        "{}{}{}{}",
        d.component, d.repetition, d.escape, d.subcomponent
    );
    let mut out = format!(
        "MSH{f}{encoding}{f}{}{f}{}{f}{}{f}{}{f}{}{f}{f}ACK{c}{event}{c}ACK{f}{}{f}P{f}{version}\r\
         MSA{f}{}{f}{control}\r",
        h.receiving_application,
        h.receiving_facility,
        h.sending_application,
        h.sending_facility,
        now.format("%Y%m%d%H%M%S+0000"),
        ack_control_id(answer.ack_id),
        answer.code.as_str(),
        c = d.component,
    );
    if let Some(err) = &answer.error {
        out.push_str(&err_segment(err, &d));
    }
    out.into_bytes()
}

fn err_segment(err: &AckError, d: &Delimiters) -> String {
    let (f, c) = (d.field, d.component);
    let location = err
        .field
        .map(|n| format!("MSH{c}1{c}{n}"))
        .unwrap_or_default();
    format!(
        "ERR{f}{f}{location}{f}{}{c}{}{c}HL70357{f}E\r",
        err.code,
        er7::escape(err.text, d)
    )
}

/// At most 20 characters of the ack id, letters and digits only.
fn ack_control_id(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect()
}

/// An acknowledgement as the sender reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadAck {
    /// MSA-1.
    pub code: AckCode,
    /// MSA-2: the control id of the message acknowledged.
    pub control_id: Option<String>,
    /// ERR-3.1: the table 0357 code.
    pub error_code: Option<String>,
}

impl ReadAck {
    /// Whether the sender should send the message again (an `AR` for a transient fault).
    pub fn resend(&self) -> bool {
        self.code == AckCode::Reject && self.error_code.as_deref() == Some(TRANSIENT_ERROR)
    }
}

/// Reads an ACK; `None` when it is not one.
pub fn read(bytes: &[u8]) -> Option<ReadAck> {
    let m = er7::parse(bytes).ok()?;
    let code = AckCode::parse(&m.value("MSA", 1, 1)?)?;
    Some(ReadAck {
        code,
        control_id: m.value("MSA", 2, 1),
        error_code: m.value("ERR", 3, 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msh::read_header;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_717_243_200, 0).unwrap()
    }

    #[test]
    fn swaps_sender_and_receiver_and_echoes_the_control_id() {
        let h = read_header(
            b"MSH|^~\\&|EXCELICARE|SUITE1|WAYMARK|HUB|20240601120000||ORU^R01^ORU_R01|C\\F\\9|P|2.4",
        )
        .unwrap();
        let answer = Answer {
            code: AckCode::Accept,
            error: None,
            ack_id: "5c1b-77",
        };
        let ack = String::from_utf8(build(Some(&h), &answer, now())).unwrap();
        assert_eq!(
            ack,
            "MSH|^~\\&|WAYMARK|HUB|EXCELICARE|SUITE1|20240601120000+0000||ACK^R01^ACK|5c1b77|P|2.4\r\
             MSA|AA|C\\F\\9\r"
        );
        let read = read(ack.as_bytes()).unwrap();
        assert_eq!(read.code, AckCode::Accept);
        assert_eq!(read.control_id.as_deref(), Some("C|9"));
        assert!(!read.resend());
    }

    #[test]
    fn errors_carry_an_err_segment_and_transient_rejects_ask_for_a_resend() {
        let h = read_header(b"MSH|^~\\&|A|B|C|D|20240601120000||ADT^A04|X1|P|2.5").unwrap();
        let answer = Answer {
            code: AckCode::Reject,
            error: Some(AckError {
                code: TRANSIENT_ERROR,
                text: "hub unavailable; resend",
                field: None,
            }),
            ack_id: "a",
        };
        let ack = build(Some(&h), &answer, now());
        let text = String::from_utf8(ack.clone()).unwrap();
        assert!(
            text.ends_with("ERR|||207^hub unavailable; resend^HL70357|E\r"),
            "{text}"
        );
        assert!(read(&ack).unwrap().resend());
        let unreadable = build(None, &answer, now());
        let read = read(&unreadable).unwrap();
        assert_eq!(read.control_id, None);
        assert_eq!(read.code, AckCode::Reject);
    }

    #[test]
    fn garbage_is_not_an_ack() {
        assert_eq!(read(b"hello"), None);
        assert_eq!(read(b"MSH|^~\\&|A\rMSA|XX|1"), None);
    }
}
