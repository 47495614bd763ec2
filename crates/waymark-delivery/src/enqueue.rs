//! The only ways onto a delivery queue: [`enqueue`] and [`enqueue_recall`], both taking a
//! [`Releasable`] by value.

use waymark_bus::{Bus, BusError, Message, Published};
use waymark_core::{ErrorCode, IssueType};
use waymark_policy::Releasable;

use crate::{
    EventMeta, PayloadMode, Subscription, SubscriptionStatus, notification_bundle, queue_name,
    signal_event,
};

/// Why a notification was not enqueued. Names subscriptions and codes, never patient data.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// The subscription is disabled or switched off.
    #[error("subscription `{0}` is disabled or off")]
    Disabled(String),
    /// The bundle was released to a different recipient than the subscription's.
    #[error("the bundle was released to a different recipient than subscription `{0}`'s")]
    RecipientMismatch(String),
    /// The event is about a different Patient than the released bundle.
    #[error(
        "the event for subscription `{0}` is about a different Patient than the released bundle"
    )]
    PatientMismatch(String),
    /// The event's topic is not the subscription's.
    #[error("event topic `{topic}` is not the topic of subscription `{subscription}`")]
    TopicMismatch {
        /// The subscription.
        subscription: String,
        /// The event's topic.
        topic: String,
    },
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
}

impl ErrorCode for EnqueueError {
    fn code(&self) -> &'static str {
        match self {
            Self::Disabled(_) => "delivery.disabled",
            Self::RecipientMismatch(_) => "delivery.recipient-mismatch",
            Self::PatientMismatch(_) => "delivery.patient-mismatch",
            Self::TopicMismatch { .. } => "delivery.topic-mismatch",
            Self::Bus(e) => e.code(),
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Bus(e) => e.issue_type(),
            Self::Disabled(_) => IssueType::Processing,
            _ => IssueType::Forbidden,
        }
    }
}

/// The topic of a recall notice: the only topic [`enqueue_recall`] accepts, on any subscription.
pub const RECALL_TOPIC: &str = "consent.changed";

/// Puts the notification of `event` for `sub` on the subscription's queue: a Backport
/// notification bundle, or in [`PayloadMode::Signal`] a CloudEvents signal
/// ([`signal_event`]: type and subject only, nothing of the released resources).
///
/// Takes the [`Releasable`] by value: only what the policy released to this subscription's
/// recipient can be enqueued. The message id is `event.event_id.child(sub.id)`, so enqueueing the
/// same event again is a no-op ([`Published::Duplicate`]); the key is the Patient id, so one
/// person's notifications are delivered in order; headers `topic` and `event-number`.
pub async fn enqueue(
    bus: &dyn Bus,
    sub: &Subscription,
    event: &EventMeta,
    releasable: Releasable,
) -> Result<Published, EnqueueError> {
    check(sub, event, &releasable, &sub.topic)?;
    let body = match sub.payload {
        PayloadMode::Signal => signal_event(sub, event),
        _ => notification_bundle(sub, event, Some(&releasable)),
    };
    publish(bus, sub, event, &releasable, &body).await
}

/// Puts a recall notice (a [`RECALL_TOPIC`] event: a Consent was withdrawn) for `sub` on the
/// subscription's queue, whatever topic the subscription is on: a recall goes to every
/// subscription that received the person's data.
///
/// Still takes a [`Releasable`] by value (the policy ran for this recipient, and the Patient is
/// one it may be told about), but the notice is always in the `id-only` shape — the status entry
/// naming the Patient, no resources — whatever the subscription's payload mode: a recall carries
/// no data (a signal subscription gets a CloudEvents signal of type
/// `uk.org.waymark.consent.changed`). Same id, key and headers as [`enqueue`]; refused for any
/// other topic.
pub async fn enqueue_recall(
    bus: &dyn Bus,
    sub: &Subscription,
    event: &EventMeta,
    releasable: Releasable,
) -> Result<Published, EnqueueError> {
    check(sub, event, &releasable, RECALL_TOPIC)?;
    let body = match sub.payload {
        PayloadMode::Signal => signal_event(sub, event),
        _ => notification_bundle(sub, event, None),
    };
    publish(bus, sub, event, &releasable, &body).await
}

/// Refuses a disabled or `off` subscription, another recipient, another Patient, or a topic other than
/// `topic`.
fn check(
    sub: &Subscription,
    event: &EventMeta,
    releasable: &Releasable,
    topic: &str,
) -> Result<(), EnqueueError> {
    if !sub.enabled || sub.status == SubscriptionStatus::Off {
        return Err(EnqueueError::Disabled(sub.id.clone()));
    }
    if releasable.recipient() != &sub.recipient {
        return Err(EnqueueError::RecipientMismatch(sub.id.clone()));
    }
    if releasable.patient_id() != event.patient_id {
        return Err(EnqueueError::PatientMismatch(sub.id.clone()));
    }
    if event.topic != topic {
        let topic = event.topic.clone();
        return Err(EnqueueError::TopicMismatch {
            subscription: sub.id.clone(),
            topic,
        });
    }
    Ok(())
}

async fn publish(
    bus: &dyn Bus,
    sub: &Subscription,
    event: &EventMeta,
    releasable: &Releasable,
    body: &serde_json::Value,
) -> Result<Published, EnqueueError> {
    let message = Message::new(event.event_id.child(&sub.id), body.to_string().into_bytes())
        .with_key(releasable.patient_id())
        .with_header("topic", &event.topic)
        .with_header("event-number", event.event_number.to_string());
    Ok(bus.publish(&queue_name(&sub.id), message).await?)
}
