//! The deliver stage: one queue per [`Subscription`], FHIR subscription-notification bundles in
//! the R4 Subscriptions Backport shape (or CloudEvents signals, [`PayloadMode::Signal`]), signed
//! in the Standard Webhooks format (two signatures while a secret is rotated), posted by a
//! [`RestHook`] and retried with exponential backoff and jitter for a configurable window until
//! delivered, rejected or dead-lettered; [`resend_dead_letters`] puts dead letters back. A
//! `410 Gone` stops the worker ([`DeliveryEvent::Deactivated`]); idle subscriptions get
//! heartbeats. [`fhir`] reads and writes subscriptions as FHIR R4 `Subscription` resources;
//! [`status_bundle`] and [`events_bundle`] are the `$status` and `$events` answers.
//! [`EndpointPolicy`] keeps notifications off private addresses, at validation and again at
//! connect time. [`mock`] is a stand-in receiving system for the demo and the tests.
//!
//! **Architecture invariant:** [`enqueue`] (and [`enqueue_recall`], its `consent.changed`
//! recall variant) is the only way onto a delivery queue, and it takes a
//! [`Releasable`](waymark_policy::Releasable) by value: nothing reaches a subscriber without
//! passing the policy engine. ([`resend_dead_letters`] only moves what `enqueue` put there;
//! handshakes and heartbeats carry no data and never touch a queue.)
//!
//! This crate must never log or put into an error, event or rejection reason anything from a
//! notification body, a secret, a header value or a filter value: reasons name status codes,
//! error kinds and rules only.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod bundles;
mod endpoint;
mod enqueue;
mod events;
pub mod fhir;
mod hook;
pub mod mock;
mod notification;
mod outcome;
mod resend;
mod retry;
mod sign;
mod signal;
mod subscription;
mod worker;

pub use bundles::{events_bundle, handshake_bundle, heartbeat_bundle, status_bundle};
pub use endpoint::{EndpointPolicy, is_public};
pub use enqueue::{EnqueueError, RECALL_TOPIC, enqueue, enqueue_recall};
pub use events::DeliveryEvent;
pub use fhir::{REDACTED_HEADER_VALUE, WAYMARK_EXTENSION_BASE};
pub use hook::{HookError, RestHook, RestHookConfig};
pub use notification::{EventMeta, TOPIC_BASE, notification_bundle};
pub use outcome::{DeliveryOutcome, GONE};
pub use resend::{RESENDS_HEADER, WEBHOOK_ID_HEADER, resend_dead_letters};
pub use retry::{BACKOFF_BASE, BACKOFF_CAP, backoff, jitter, retry_after};
pub use sign::{SignError, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, secret_key, sign};
pub use signal::{CLOUDEVENTS_CONTENT_TYPE, EVENT_TYPE_PREFIX, HUB_URI, signal_event};
pub use subscription::{
    EventFacts, Filter, FilterName, PayloadMode, RETRY_WINDOW, SUBSCRIPTION_VERSION, Subscription,
    SubscriptionError, SubscriptionStatus, delivery_limit_for, parse_header, queue_name,
    queue_spec, queue_spec_for,
};
pub use worker::run_deliveries;
