//! Turns one notification body into one envelope, per the NOMIS envelope contract
//! (`docs/specs/stage-contracts.md`). A flawed body gets an envelope carrying `context.error` so
//! the map stage can quarantine it; a notification whose enrichment failed transiently (the
//! Prison API unreachable, a 5xx or a 429 after the client's retries) gets none: it is
//! [`Deferred`], and the endpoint leaves it unacknowledged for SNS to deliver again.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use waymark_core::{Envelope, ErrorCode, MessageId, NewEnvelope, SourceSystem};

use crate::{
    NomisError,
    client::PrisonApi,
    parse::{Notification, ParseError, parse_notification, unparseable_key},
    telemetry::NotificationFlawed,
};

/// The message type of a body that is not a decodable notification.
pub const UNPARSEABLE: &str = "unparseable";

const JSON: &str = "application/json";
const OCTETS: &str = "application/octet-stream";

/// A notification not enriched because the Prison API failed transiently: not published.
#[derive(Debug)]
pub(crate) struct Deferred {
    /// The id its envelope will have.
    pub id: MessageId,
    /// The last failure (transient: [`ErrorCode::is_transient`]).
    pub error: NomisError,
}

/// Builds the envelope for a notification body received at `received_at`, or defers it when
/// the Prison API failed transiently.
pub(crate) async fn envelope_for(
    api: &PrisonApi,
    enrich_limit: usize,
    body: Vec<u8>,
    received_at: DateTime<Utc>,
) -> Result<Envelope, Deferred> {
    match parse_notification(&body) {
        Ok(notification) => {
            let context = match context_for(api, enrich_limit, &notification, body.len()).await {
                Err(error) if error.is_transient() => {
                    let id = notification_id(&notification);
                    return Err(Deferred { id, error });
                }
                context => context,
            };
            Ok(notification_envelope(
                &notification,
                body,
                received_at,
                context,
            ))
        }
        Err(err) => Ok(unparseable_envelope(&err, body, received_at)),
    }
}

/// Builds the envelope for a notification body without calling the Prison API, with `context`
/// fetched elsewhere (`waymark map --context`). For tools; the live path is the listener.
pub fn offline_envelope(body: Vec<u8>, received_at: DateTime<Utc>, context: Value) -> Envelope {
    match parse_notification(&body) {
        Ok(notification) => notification_envelope(&notification, body, received_at, Ok(context)),
        Err(err) => unparseable_envelope(&err, body, received_at),
    }
}

async fn context_for(
    api: &PrisonApi,
    enrich_limit: usize,
    notification: &Notification,
    size: usize,
) -> Result<Value, NomisError> {
    if size > enrich_limit {
        return Err(NomisError::TooLarge {
            size,
            limit: enrich_limit,
        });
    }
    let found = api.enrich(&notification.event).await?;
    Ok(json!({ "prisoner": found.prisoner.into_inner(), "alerts": found.alerts.into_inner() }))
}

fn notification_envelope(
    notification: &Notification,
    body: Vec<u8>,
    received_at: DateTime<Utc>,
    context: Result<Value, NomisError>,
) -> Envelope {
    let id = notification_id(notification);
    let event = &notification.event;
    if let Err(err) = &event.event_time {
        NotificationFlawed {
            id: &id,
            code: err.code(),
            size: body.len(),
        }
        .emit();
    }
    let context = context.unwrap_or_else(|err| {
        NotificationFlawed {
            id: &id,
            code: err.code(),
            size: body.len(),
        }
        .emit();
        error_context(err.code(), err.http_status())
    });
    let params = NewEnvelope {
        id,
        source: SourceSystem::Nomis,
        message_type: &event.event_type,
        event_time: event.event_time.clone().ok().flatten(),
        received_at,
        content_type: JSON,
    };
    Envelope::new(params, body).with_context(context)
}

fn notification_id(notification: &Notification) -> MessageId {
    MessageId::derive(SourceSystem::Nomis, &notification.source_key())
}

fn unparseable_envelope(err: &ParseError, body: Vec<u8>, received_at: DateTime<Utc>) -> Envelope {
    let id = MessageId::derive(SourceSystem::Nomis, &unparseable_key(&body));
    NotificationFlawed {
        id: &id,
        code: err.code(),
        size: body.len(),
    }
    .emit();
    let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
    let params = NewEnvelope {
        id,
        source: SourceSystem::Nomis,
        message_type: UNPARSEABLE,
        event_time: None,
        received_at,
        content_type: if is_json { JSON } else { OCTETS },
    };
    Envelope::new(params, body).with_context(error_context(err.code(), None))
}

/// `{ "error": { "code": ..., "status": ... } }`.
fn error_context(code: &str, status: Option<u16>) -> Value {
    json!({ "error": { "code": code, "status": status } })
}

/// The error code an envelope's context carries, if any.
pub(crate) fn context_error_code(envelope: &Envelope) -> Option<&str> {
    envelope
        .context
        .expose()
        .pointer("/error/code")
        .and_then(Value::as_str)
}
