//! Each adapter's decoder: what it reads of a source's bytes before wrapping them in an
//! envelope. A decoder may refuse (typed) or flag the envelope for quarantine; it never loses
//! the bytes: every envelope made here must carry the input exactly.

use serde_json::{Value, json};
use waymark_adapter_athena::{Page, envelope_for_event};
use waymark_adapter_nomis::{offline_envelope as nomis_offline, parse_event, parse_notification};
use waymark_adapter_scr::{
    Answer as ScrAnswer, PullRequest as ScrPull, envelope_for as scr_envelope,
};
use waymark_adapter_systmone::{
    Answer as GpcAnswer, ChangeNotification, PullRequest as GpcPull, SystmOneError,
    envelope_for as gpc_envelope, offline_envelope as gpc_offline,
};
use waymark_core::{Envelope, Sensitive};

use super::received_at;

/// A valid NHS number (modulus 11) for the pull requests the answers belong to.
const NHS: &str = "9434765919";

fn keeps_bytes(envelope: &Envelope, data: &[u8]) {
    assert_eq!(
        envelope.payload.expose().as_slice(),
        data,
        "the envelope keeps the exact bytes"
    );
    let back = Envelope::from_bytes(&envelope.to_bytes());
    assert!(
        back.is_ok(),
        "an envelope the adapter made reads back from the bus"
    );
}

/// NOMIS: the SNS notification, the offender event inside it, and the envelope.
pub fn nomis_event(data: &[u8]) {
    if let Ok(notification) = parse_notification(data) {
        let _key = notification.source_key();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_event(text);
    }
    keeps_bytes(
        &nomis_offline(data.to_vec(), received_at(), Value::Null),
        data,
    );
}

/// Athena: a feed page (each event kept as its exact bytes), one envelope per event; and the
/// input itself as one event.
pub fn athena_page(data: &[u8]) {
    if let Ok(page) = Page::parse(data) {
        for event in page.events.iter().take(256) {
            let bytes = event.expose().clone();
            keeps_bytes(&envelope_for_event(bytes, received_at()), event.expose());
        }
    }
    keeps_bytes(&envelope_for_event(data.to_vec(), received_at()), data);
}

/// SystmOne: a structured-record answer judged as the client judges a 200, as a record and as a
/// flawed answer, and as a change-feed notification.
pub fn systmone_bundle(data: &[u8]) {
    keeps_bytes(&gpc_offline(data.to_vec(), received_at(), json!({})), data);
    if let Ok(request) = GpcPull::new(NHS, "prison-reception", received_at()) {
        let record = gpc_envelope(&request, GpcAnswer::Record(data.to_vec()), received_at());
        keeps_bytes(&record, data);
        let flawed = GpcAnswer::Flawed(data.to_vec(), SystmOneError::Malformed);
        keeps_bytes(&gpc_envelope(&request, flawed, received_at()), data);
    }
    let _ = serde_json::from_slice::<ChangeNotification>(data);
}

/// SCR: an answer of each kind (summary, no consent, no result, malformed) to a pull request.
pub fn scr_bundle(data: &[u8]) {
    let Ok(request) = ScrPull::new(NHS, "identified") else {
        return;
    };
    let body = || Sensitive::new(data.to_vec());
    for answer in [
        ScrAnswer::Summary(body()),
        ScrAnswer::NoConsent(body()),
        ScrAnswer::NoResult(body()),
        ScrAnswer::Malformed(body()),
    ] {
        keeps_bytes(&scr_envelope(&answer, &request, received_at()), data);
    }
}
