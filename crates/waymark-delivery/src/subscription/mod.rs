//! A subscription: who receives which topic, where, how much of it, signed with which secret.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use waymark_bus::QueueSpec;
use waymark_core::Sensitive;
use waymark_policy::Recipient;

use crate::{EndpointPolicy, endpoint::check_endpoint, retry::backoff};

/// The subscription file format version this build reads.
pub const SUBSCRIPTION_VERSION: u32 = 1;

/// How long a notification is retried before it is dead-lettered (architecture §3, deliver).
pub const RETRY_WINDOW: Duration = Duration::from_secs(72 * 3600);

/// How long a received delivery is held before the bus redelivers it; longer than a request's
/// connect timeout plus its total timeout.
const LEASE: Duration = Duration::from_secs(60);

mod check;
mod error;
mod filter;

pub use check::parse_header;
pub use error::SubscriptionError;
pub(crate) use error::shown;
pub use filter::{EventFacts, Filter, FilterName};

/// What a notification carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadMode {
    /// A signal only (the status entry naming the Patient): the subscriber pulls what it needs
    /// through the API with its own authorisation.
    IdOnly,
    /// The status entry followed by the redacted resources released to the recipient.
    FullResource,
    /// A CloudEvents 1.0 JSON signal (`application/cloudevents+json`, NHS England's
    /// notification pattern): event type and subject (`Patient/<hub id>`), no resources; the
    /// subscriber pulls through the API with its own token.
    Signal,
}

/// The Backport status of a subscription.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionStatus {
    /// Created, handshake not yet answered: nothing is delivered.
    Requested,
    /// Delivering.
    #[default]
    Active,
    /// Delivery is failing (set by the operator or the shell); nothing is delivered, events
    /// keep queueing.
    Error,
    /// Switched off (by the subscriber, or by a `410 Gone`): nothing is delivered or queued.
    Off,
}

impl SubscriptionStatus {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Active => "active",
            Self::Error => "error",
            Self::Off => "off",
        }
    }

    /// The status with FHIR code `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "requested" => Some(Self::Requested),
            "active" => Some(Self::Active),
            "error" => Some(Self::Error),
            "off" => Some(Self::Off),
            _ => None,
        }
    }
}

/// One subscriber's subscription to one topic (`version: 1`). Every field added after the first
/// release has a default, so older files still read.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// File format version: `1`.
    pub version: u32,
    /// Slug naming the subscription, `[a-z0-9-]{1,64}`; the delivery queue is
    /// `waymark.deliver.<id>`.
    pub id: String,
    /// The topic subscribed to, e.g. `prison.reception` (dataset.md §4).
    pub topic: String,
    /// Where notifications are POSTed: `https://`, or `http://` to a loopback address only
    /// (and only outside production, see [`EndpointPolicy`]).
    pub endpoint: String,
    /// Who receives them: the role policy redacts for this recipient.
    pub recipient: Recipient,
    /// Standard Webhooks signing secret, `whsec_<base64 of 24 to 64 random bytes>`.
    pub secret: Sensitive<String>,
    /// The secret being rotated out: while set, every request carries both signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<Sensitive<String>>,
    /// `id-only`, `full-resource` or `signal`.
    pub payload: PayloadMode,
    /// A disabled subscription gets no new notifications; its queue is kept. Default `true`.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The Backport status; default `active`.
    #[serde(default)]
    pub status: SubscriptionStatus,
    /// Only events matching every filter are notified; none = every event of the topic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// Seconds without a notification after which a heartbeat is sent (60 to 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_period: Option<u64>,
    /// Extra `Name: value` headers sent with each POST (e.g. the subscriber's own API key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Sensitive<String>>,
    /// Why the subscription exists (FHIR `Subscription.reason`), free text from the subscriber.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

impl Subscription {
    /// A subscription with every optional field at its default (enabled, `active`, no filters,
    /// no heartbeat, no extra headers, no previous secret).
    pub fn new(
        id: impl Into<String>,
        topic: impl Into<String>,
        endpoint: impl Into<String>,
        recipient: Recipient,
        secret: impl Into<String>,
        payload: PayloadMode,
    ) -> Self {
        Self {
            version: SUBSCRIPTION_VERSION,
            id: id.into(),
            topic: topic.into(),
            endpoint: endpoint.into(),
            recipient,
            secret: Sensitive::new(secret.into()),
            previous_secret: None,
            payload,
            enabled: true,
            status: SubscriptionStatus::Active,
            filters: Vec::new(),
            heartbeat_period: None,
            headers: Vec::new(),
            reason: None,
        }
    }

    /// Reads and validates a subscription file (with [`EndpointPolicy::local`]).
    pub fn from_json(text: &str) -> Result<Self, SubscriptionError> {
        let sub: Self =
            serde_json::from_str(text).map_err(|e| SubscriptionError::Malformed(e.to_string()))?;
        sub.validate()?;
        Ok(sub)
    }

    /// [`Subscription::validate_with`] the [`EndpointPolicy::local`] policy.
    pub fn validate(&self) -> Result<(), SubscriptionError> {
        self.validate_with(&EndpointPolicy::local())
    }

    /// Checks version, id, topic, endpoint (against `policy`), secrets, heartbeat period,
    /// filters and headers.
    pub fn validate_with(&self, policy: &EndpointPolicy) -> Result<(), SubscriptionError> {
        if self.version != SUBSCRIPTION_VERSION {
            return Err(SubscriptionError::Version(self.version));
        }
        if !check::slug(&self.id, '-') {
            return Err(SubscriptionError::Id(self.id.clone()));
        }
        if !check::slug(&self.topic, '.') {
            return Err(SubscriptionError::Topic(self.topic.clone()));
        }
        check_endpoint(&self.endpoint, policy).map_err(SubscriptionError::Endpoint)?;
        check::secret(self.secret.expose())?;
        if let Some(previous) = &self.previous_secret {
            check::secret(previous.expose())?;
        }
        check::heartbeat(self.heartbeat_period)?;
        self.filters.iter().try_for_each(Filter::validate)?;
        check::headers(self.headers.iter().map(|h| h.expose().as_str()))
    }

    /// Whether notifications are delivered: enabled and `active`.
    pub fn is_live(&self) -> bool {
        self.enabled && self.status == SubscriptionStatus::Active
    }

    /// Whether an event with these facts passes every filter (no filters: every event).
    pub fn matches(&self, facts: &EventFacts) -> bool {
        self.filters.iter().all(|f| f.matches(facts))
    }
}

/// The delivery queue of a subscription: `waymark.deliver.<id>`.
pub fn queue_name(subscription_id: &str) -> String {
    format!("waymark.deliver.{subscription_id}")
}

/// The queue the caller declares for a subscription before starting its worker: deliveries
/// enough to retry for [`RETRY_WINDOW`], a 60 s lease.
pub fn queue_spec(sub: &Subscription) -> QueueSpec {
    queue_spec_for(sub, RETRY_WINDOW)
}

/// As [`queue_spec`], retrying for `retry_window` (the hook's
/// [`RestHookConfig::retry_window`](crate::RestHookConfig::retry_window)).
pub fn queue_spec_for(sub: &Subscription, retry_window: Duration) -> QueueSpec {
    QueueSpec {
        name: queue_name(&sub.id),
        delivery_limit: delivery_limit_for(retry_window),
        lease: LEASE,
        ordered: true,
    }
}

/// The fewest deliveries whose retry delays, at their shortest (no jitter added), add up to at
/// least `window`: a notification is dead-lettered no sooner than `window` after its first try
/// (unless the endpoint's `Retry-After` asks for shorter waits).
pub fn delivery_limit_for(window: Duration) -> u32 {
    let mut waited = Duration::ZERO;
    let mut deliveries = 1;
    while waited < window && deliveries < 1_000 {
        waited += backoff(deliveries, 0.0);
        deliveries += 1;
    }
    deliveries
}
