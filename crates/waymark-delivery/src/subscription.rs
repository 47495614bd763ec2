//! A subscription: who receives which topic, where, how much of it, signed with which secret.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use waymark_bus::QueueSpec;
use waymark_core::{ErrorCode, IssueType, Sensitive};
use waymark_policy::Recipient;

use crate::{SignError, hook::backoff, secret_key};

/// The subscription file format version this build reads.
pub const SUBSCRIPTION_VERSION: u32 = 1;

/// How long a notification is retried before it is dead-lettered (architecture §3, deliver).
pub const RETRY_WINDOW: Duration = Duration::from_secs(72 * 3600);

/// How long a received delivery is held before the bus redelivers it; longer than a request's
/// connect timeout plus its total timeout.
const LEASE: Duration = Duration::from_secs(60);

/// What a notification carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadMode {
    /// A signal only (the status entry naming the Patient): the subscriber pulls what it needs
    /// through the API with its own authorisation.
    IdOnly,
    /// The status entry followed by the redacted resources released to the recipient.
    FullResource,
}

/// One subscriber's subscription to one topic (`version: 1`).
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
    /// Where notifications are POSTed: `https://`, or `http://` to a loopback address only.
    pub endpoint: String,
    /// Who receives them: the role policy redacts for this recipient.
    pub recipient: Recipient,
    /// Standard Webhooks signing secret, `whsec_<base64 of 24 to 64 random bytes>`.
    pub secret: Sensitive<String>,
    /// `id-only` or `full-resource`.
    pub payload: PayloadMode,
    /// A disabled subscription gets no new notifications; its queue is kept. Default `true`.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// A subscription that cannot be used. Never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    /// Not JSON of the subscription shape.
    #[error("subscription is not valid JSON of the subscription shape: {0}")]
    Malformed(String),
    /// A version this build does not read.
    #[error("subscription version {0} is not supported (this build reads version 1)")]
    Version(u32),
    /// The id is not a slug.
    #[error("subscription id `{0}` is not a slug of 1 to 64 characters `a-z`, `0-9`, `-`")]
    Id(String),
    /// The topic is not a topic name.
    #[error("subscription topic `{0}` is not a topic name (`a-z`, `0-9`, `.`, `-`)")]
    Topic(String),
    /// The endpoint is not a usable URL.
    #[error("subscription endpoint is not usable: {0}")]
    Endpoint(&'static str),
    /// The secret is not a usable `whsec_` secret.
    #[error("subscription secret is not usable: {0}")]
    Secret(#[from] SignError),
    /// The secret is too short or too long.
    #[error("subscription secret must decode to 24 to 64 bytes, not {0}")]
    SecretLength(usize),
}

impl ErrorCode for SubscriptionError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "subscription.malformed",
            Self::Version(_) => "subscription.version",
            Self::Id(_) => "subscription.id",
            Self::Topic(_) => "subscription.topic",
            Self::Endpoint(_) => "subscription.endpoint",
            Self::Secret(_) | Self::SecretLength(_) => "subscription.secret",
        }
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Invalid
    }
}

impl Subscription {
    /// Reads and validates a subscription file.
    pub fn from_json(text: &str) -> Result<Self, SubscriptionError> {
        let sub: Self =
            serde_json::from_str(text).map_err(|e| SubscriptionError::Malformed(e.to_string()))?;
        sub.validate()?;
        Ok(sub)
    }

    /// Checks version, id, topic, endpoint and secret.
    pub fn validate(&self) -> Result<(), SubscriptionError> {
        if self.version != SUBSCRIPTION_VERSION {
            return Err(SubscriptionError::Version(self.version));
        }
        let slug = |s: &str, extra: char| {
            (1..=64).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == extra)
        };
        if !slug(&self.id, '-') {
            return Err(SubscriptionError::Id(self.id.clone()));
        }
        if !slug(&self.topic, '.') {
            return Err(SubscriptionError::Topic(self.topic.clone()));
        }
        check_endpoint(&self.endpoint)?;
        let key = secret_key(self.secret.expose())?;
        if !(24..=64).contains(&key.len()) {
            return Err(SubscriptionError::SecretLength(key.len()));
        }
        Ok(())
    }
}

fn check_endpoint(endpoint: &str) -> Result<(), SubscriptionError> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|_| SubscriptionError::Endpoint("not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SubscriptionError::Endpoint(
            "credentials in the URL are not allowed",
        ));
    }
    let host = url
        .host_str()
        .ok_or(SubscriptionError::Endpoint("no host"))?;
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>();
    let loopback = host == "localhost" || ip.is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(SubscriptionError::Endpoint(
            "plain http is allowed to loopback addresses only",
        )),
        _ => Err(SubscriptionError::Endpoint("scheme must be https")),
    }
}

/// The delivery queue of a subscription: `waymark.deliver.<id>`.
pub fn queue_name(subscription_id: &str) -> String {
    format!("waymark.deliver.{subscription_id}")
}

/// The queue the caller declares for a subscription before starting its worker: deliveries
/// enough to retry for [`RETRY_WINDOW`], a 60 s lease.
pub fn queue_spec(sub: &Subscription) -> QueueSpec {
    QueueSpec {
        name: queue_name(&sub.id),
        delivery_limit: delivery_limit_for(RETRY_WINDOW),
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
