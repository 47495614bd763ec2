//! The deliver stage: one queue per [`Subscription`], FHIR subscription-notification bundles in
//! the R4 Subscriptions Backport shape, signed in the Standard Webhooks format, posted by a
//! [`RestHook`] and retried with exponential backoff and jitter until delivered, rejected or
//! dead-lettered. [`mock`] is a stand-in receiving system for the demo and the tests.
//!
//! **Architecture invariant:** [`enqueue`] (and [`enqueue_recall`], its `consent.changed`
//! recall variant) is the only way onto a delivery queue, and it takes a
//! [`Releasable`](waymark_policy::Releasable) by value: nothing reaches a subscriber without
//! passing the policy engine.
//!
//! This crate must never log or put into an error, event or rejection reason anything from a
//! notification body: reasons name status codes and error kinds only.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod enqueue;
mod hook;
pub mod mock;
mod notification;
mod sign;
mod subscription;
mod worker;

pub use enqueue::{EnqueueError, RECALL_TOPIC, enqueue, enqueue_recall};
pub use hook::{
    BACKOFF_BASE, BACKOFF_CAP, DeliveryOutcome, HookError, RestHook, RestHookConfig, backoff,
    jitter, retry_after,
};
pub use notification::{EventMeta, TOPIC_BASE, notification_bundle};
pub use sign::{SignError, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, secret_key, sign};
pub use subscription::{
    PayloadMode, RETRY_WINDOW, SUBSCRIPTION_VERSION, Subscription, SubscriptionError,
    delivery_limit_for, queue_name, queue_spec,
};
pub use worker::{DeliveryEvent, run_deliveries};
