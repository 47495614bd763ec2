//! What the board is told: one value per thing a stage did, converted by the shell from the
//! stages' typed telemetry. Codes, counts, times and hub-generated keys only.

use chrono::{DateTime, Utc};

/// One thing a stage did, as the board needs to know it.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// A message from `source` reached the hub and was mapped (a map-stage quarantine counts
    /// as received too).
    Received {
        /// Source system code.
        source: String,
    },
    /// A stage refused a message; it is in quarantine.
    Quarantined {
        /// Source system code, when the envelope was readable.
        source: Option<String>,
        /// Refusing stage.
        stage: String,
        /// Error code.
        code: String,
    },
    /// The record stage appended a canonical bundle to a person's record.
    Recorded {
        /// Source system code.
        source: String,
        /// Establishment or custody suite code, when the bundle names one.
        site: Option<String>,
        /// When the event happened at the source.
        event_time: Option<DateTime<Utc>>,
        /// The hub's person key: hashed at once, never kept or exported as given.
        person_key: String,
        /// Dataset items (data-class codes) present in the bundle.
        items: Vec<String>,
    },
    /// The release stage queued a payload for a subscription.
    Released {
        /// Key that the matching delivery observation carries.
        delivery: String,
        /// Subscription id.
        subscription: String,
        /// Source system code of the event.
        source: Option<String>,
        /// Site of the event, when the bundle names one.
        site: Option<String>,
        /// When the event happened at the source.
        event_time: Option<DateTime<Utc>>,
        /// Resources the policy withheld.
        withheld_resources: usize,
    },
    /// The policy released nothing of the event to a subscription.
    Withheld {
        /// Subscription id.
        subscription: String,
        /// Policy code.
        code: String,
    },
    /// The subscriber's endpoint accepted a notification.
    Delivered {
        /// Key given on release.
        delivery: String,
        /// Subscription id.
        subscription: String,
    },
    /// A delivery attempt failed and will be retried.
    Retried {
        /// Subscription id.
        subscription: String,
    },
    /// A delivery was dead-lettered (limit reached, or refused for good).
    DeadLettered {
        /// Subscription id.
        subscription: String,
    },
    /// The endpoint answered `410 Gone`: the subscription was switched off.
    Deactivated {
        /// Subscription id.
        subscription: String,
    },
    /// A heartbeat was sent (nothing delivered for the heartbeat period); not `delivered`: the
    /// endpoint is silent.
    Heartbeat {
        /// Subscription id.
        subscription: String,
        /// Whether the endpoint accepted it.
        delivered: bool,
    },
    /// A person's record was served under break-glass (the API's `$summary` / `$everything`).
    /// Who asked, by role and organisation; never the person or the stated reason.
    BreakGlass {
        /// The caller's role code.
        role: String,
        /// The caller's organisation (e.g. an ODS code).
        organisation: String,
    },
}
