//! The adapter's telemetry events. Every log line the adapter writes goes through one `emit()`
//! here, so what may be logged is visible in one place: message ids, event types (already checked
//! to be plain tokens), error codes and sizes; never payloads, names or identifiers.

use waymark_core::MessageId;

/// An SNS subscription-lifecycle message that needs no action from the adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Confirmation {
    /// `SubscriptionConfirmation`.
    Subscribe,
    /// `UnsubscribeConfirmation`.
    Unsubscribe,
}

impl Confirmation {
    /// Reads the `x-amz-sns-message-type` header value.
    pub(crate) fn from_header(value: &str) -> Option<Self> {
        match value {
            "SubscriptionConfirmation" => Some(Self::Subscribe),
            "UnsubscribeConfirmation" => Some(Self::Unsubscribe),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Subscribe => "SubscriptionConfirmation",
            Self::Unsubscribe => "UnsubscribeConfirmation",
        }
    }
}

/// A subscription confirmation was received and answered 200 without further action.
pub(crate) struct ConfirmationIgnored(pub Confirmation);

impl ConfirmationIgnored {
    pub(crate) fn emit(&self) {
        tracing::info!(
            sns_type = self.0.as_str(),
            "sns confirmation received; nothing to do"
        );
    }
}

/// An envelope was published; the delivery is acknowledged.
pub(crate) struct EnvelopePublished<'a> {
    pub id: &'a MessageId,
    pub message_type: &'a str,
    pub duplicate: bool,
    pub error_code: Option<&'a str>,
}

impl EnvelopePublished<'_> {
    pub(crate) fn emit(&self) {
        tracing::info!(
            message_id = %self.id,
            event_type = self.message_type,
            duplicate = self.duplicate,
            error_code = self.error_code.unwrap_or(""),
            "nomis envelope published"
        );
    }
}

/// The bus refused or failed a publish; the delivery is not acknowledged.
pub(crate) struct PublishFailed<'a> {
    pub id: &'a MessageId,
    pub code: &'static str,
}

impl PublishFailed<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(message_id = %self.id, code = self.code, "nomis publish failed; not acked");
    }
}

/// A notification could not be decoded or enriched; it is published with `context.error`.
pub(crate) struct NotificationFlawed<'a> {
    pub id: &'a MessageId,
    pub code: &'static str,
    pub size: usize,
}

impl NotificationFlawed<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(
            message_id = %self.id,
            code = self.code,
            size = self.size,
            "nomis notification flawed; publishing for quarantine"
        );
    }
}
