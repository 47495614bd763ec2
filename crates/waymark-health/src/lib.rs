//! Feed health: is every feed alive, timely and complete, and is every subscriber being served?
//!
//! [`HealthBoard`] takes [`Observation`]s (what the stages reported, converted by the shell from
//! their typed telemetry) and aggregates them, per source, per site and per subscription, into
//! last-seen times, rates, lag percentiles, quarantine reasons, dataset-item completeness,
//! delivery success and backlogs, kept in bounded per-bucket time series. A [`Snapshot`] is what
//! the dashboard and the metrics render; [`HealthBoard::evaluate`] returns the [`Alert`]s raised
//! or cleared since the last evaluation, once per state transition.
//!
//! **What it must never do:** read the clock (time is always a parameter), do IO, or export
//! person-level data. The only per-person state is a hash of the hub's person key, used inside
//! the board to count people for completeness; it never appears in a [`Snapshot`], an [`Alert`]
//! or any other output.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod alert;
mod board;
mod break_glass;
mod conditions;
mod config;
mod feed;
mod observation;
mod snapshot;
mod subscription;
mod view;
mod window;

pub use alert::{Alert, AlertState, Severity};
pub use board::HealthBoard;
pub use config::{FeedRule, FeedStatus, HealthConfig, feed_status};
pub use observation::Observation;
pub use snapshot::{
    FeedView, ItemShare, LagView, QueueView, ReasonCount, SiteView, Snapshot, SubscriptionStatus,
    SubscriptionView,
};
pub use window::{Bucket, SeriesPoint, Window, percentile};

/// Alert codes, stable: operators route on them.
pub mod codes {
    /// A feed is late or silent against its expected interval.
    pub const FEED_QUIET: &str = "ops.feed-quiet";
    /// A subscription's deliveries are failing or dead-lettered.
    pub const SUBSCRIPTION_FAILING: &str = "ops.subscription-failing";
    /// A notification is in a subscription's dead-letter queue: an operator fixes the endpoint
    /// (or the subscription), then resends it with `$resend`. Cleared when the dead-letter queue
    /// is empty again.
    pub const DEAD_LETTER: &str = "ops.delivery.dead-letter";
    /// A heartbeat failed: the subscriber's endpoint is silent. Cleared by the next delivery or
    /// heartbeat accepted.
    pub const SUBSCRIPTION_SILENT: &str = "ops.subscription.silent";
    /// The endpoint answered `410 Gone` and the subscription was switched off (status `off`).
    /// Cleared when it delivers again (switched back on).
    pub const SUBSCRIPTION_DEACTIVATED: &str = "ops.subscription.deactivated";
    /// A feed's quarantine rate is over its threshold.
    pub const QUARANTINE_RATE: &str = "ops.quarantine-rate";
    /// A dataset item's completeness fell well below its best.
    pub const COMPLETENESS_DROP: &str = "ops.completeness-drop";
    /// A record was served under break-glass: for the privacy officer (role, organisation and
    /// count only).
    pub const BREAK_GLASS: &str = "privacy.break-glass";
}
