//! The SNS HTTP(S) subscription endpoint: `POST /sns`.
//!
//! SNS redelivers a notification until the endpoint answers 2xx, so the answer is the ack:
//! 200 only after the bus confirmed the publish; 503 when the bus failed, or when the Prison API
//! failed transiently (unreachable, timed out, reset, 5xx or 429 after the client's own
//! retries) — nothing is published then, and SNS delivers the notification again under its
//! delivery policy, so an outage delays notifications rather than parking them; 413 when the
//! body is over 16 MiB or the bus refuses the envelope as too large (permanent). A body that
//! cannot be decoded, or whose enrichment failed for good (404, another non-transient status
//! such as 403, a 2xx of the wrong shape, no usable prison number, too large), is published
//! with `context.error` for the map stage to quarantine.
//! `SubscriptionConfirmation` and `UnsubscribeConfirmation` deliveries are answered 200 and only
//! logged (subscriptions are confirmed by the operator); any other `x-amz-sns-message-type`,
//! or none, is treated as a notification, so nothing is dropped for a missing header. SNS
//! signatures are not verified yet.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use chrono::Utc;
use waymark_bus::{BusError, Message, Published, Publisher};
use waymark_core::{Envelope, ErrorCode};

use crate::{
    client::PrisonApi,
    ingest::{context_error_code, envelope_for},
    telemetry::{
        Confirmation, ConfirmationIgnored, EnrichmentDeferred, EnvelopePublished, PublishFailed,
        Telemetry,
    },
};

/// The path SNS delivers to.
pub const SNS_PATH: &str = "/sns";
/// The largest body accepted; larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The header in which SNS names the kind of message.
pub const SNS_TYPE_HEADER: &str = "x-amz-sns-message-type";

/// What the endpoint needs: where to publish and how to enrich.
#[derive(Clone, Debug)]
pub struct ListenerState {
    publisher: Publisher,
    api: PrisonApi,
    enrich_limit: usize,
    telemetry: Telemetry,
}

impl ListenerState {
    /// `enrich_limit`: bodies larger than this are published unenriched (`nomis.too-large`).
    /// Counts into `api`'s [`Telemetry`].
    pub fn new(publisher: Publisher, api: PrisonApi, enrich_limit: usize) -> Self {
        let telemetry = api.telemetry().clone();
        Self {
            publisher,
            api,
            enrich_limit,
            telemetry,
        }
    }
}

/// The endpoint's routes.
pub fn router(state: ListenerState) -> Router {
    Router::new()
        .route(SNS_PATH, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(state))
}

async fn receive(
    State(state): State<Arc<ListenerState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> StatusCode {
    let sns_type = headers
        .get(SNS_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(confirmation) = Confirmation::from_header(sns_type) {
        ConfirmationIgnored(confirmation).emit();
        state.telemetry.confirmation();
        return StatusCode::OK;
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            state.telemetry.rejected();
            return rejection.status();
        }
    };
    state.telemetry.received();
    match envelope_for(&state.api, state.enrich_limit, body.to_vec(), Utc::now()).await {
        Ok(envelope) => publish(&state.publisher, &state.telemetry, &envelope).await,
        Err(deferred) => {
            EnrichmentDeferred {
                id: &deferred.id,
                code: deferred.error.code(),
            }
            .emit();
            state.telemetry.enrich_deferred();
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// Publishes and turns the outcome into the ack (or not) SNS sees.
async fn publish(publisher: &Publisher, telemetry: &Telemetry, envelope: &Envelope) -> StatusCode {
    let message = Message::new(envelope.id.clone(), envelope.to_bytes())
        .with_header("source", "nomis")
        .with_header("message-type", envelope.message_type.as_str())
        .with_header("content-type", envelope.content_type.as_str());
    match publisher.publish(message).await {
        Ok(published) => {
            let duplicate = published == Published::Duplicate;
            let error_code = context_error_code(envelope);
            EnvelopePublished {
                id: &envelope.id,
                message_type: &envelope.message_type,
                duplicate,
                error_code,
            }
            .emit();
            telemetry.confirmed(duplicate, error_code.is_some(), lag_ms(envelope));
            StatusCode::OK
        }
        Err(err) => {
            PublishFailed {
                id: &envelope.id,
                code: err.code(),
            }
            .emit();
            if let BusError::TooLarge { .. } = err {
                telemetry.rejected();
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                telemetry.unacked();
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }
}

/// Milliseconds from the event's time to its receipt (0 when the event claims a later time).
fn lag_ms(envelope: &Envelope) -> Option<u64> {
    let lag = envelope.received_at - envelope.event_time?;
    Some(u64::try_from(lag.num_milliseconds()).unwrap_or(0))
}
