//! Keeping refused input: one path for every stage, so every refusal is stored with its reason
//! and reported the same way.

use chrono::Utc;
use waymark_core::{Envelope, MessageId};
use waymark_fhir::OperationOutcome;
use waymark_store::{QuarantineEntry, Store};

use crate::{PipelineEvent, Step, Telemetry, worker::transient_backoff};

/// Why a stage refused a message.
#[derive(Debug)]
pub struct Refusal {
    /// Stable error code.
    pub code: String,
    /// The explanation.
    pub outcome: OperationOutcome,
}

impl Refusal {
    /// A refusal explained by a Waymark error.
    pub fn from_error(err: &dyn waymark_core::ErrorCode) -> Self {
        Self {
            code: err.code().to_owned(),
            outcome: OperationOutcome::from_error(err),
        }
    }
}

/// The message being refused: its id, the envelope when known, and the exact bytes.
pub(crate) struct Refused<'a> {
    pub id: &'a MessageId,
    pub envelope: Option<&'a Envelope>,
    pub original: &'a [u8],
}

/// Stores the refusal and reports it; retry later if the store is down.
pub(crate) async fn keep(
    store: &dyn Store,
    telemetry: &Telemetry,
    stage: &'static str,
    refused: Refused<'_>,
    refusal: Refusal,
    attempt: u32,
) -> Step {
    let entry = QuarantineEntry {
        message_id: refused.id.clone(),
        source: refused.envelope.map(|e| e.source),
        message_type: refused.envelope.map(|e| e.message_type.clone()),
        stage: stage.to_owned(),
        code: refusal.code.clone(),
        outcome: refusal.outcome.to_json(),
        original: refused.original.to_vec().into(),
        quarantined_at: Utc::now(),
    };
    if let Err(err) = store.quarantine(entry).await {
        tracing::warn!(stage, message_id = %refused.id, error = %err, "quarantine write failed");
        return Step::Retry(transient_backoff(attempt));
    }
    telemetry.emit(PipelineEvent::Quarantined {
        message_id: refused.id.clone(),
        source: refused.envelope.map(|e| e.source),
        stage,
        code: refusal.code,
    });
    Step::Done
}
