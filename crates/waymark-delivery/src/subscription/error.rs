//! Why a subscription (file or FHIR resource) cannot be used.

use waymark_core::{ErrorCode, IssueType};

use crate::SignError;

/// A subscription that cannot be used. Never contains a secret, a header value or a filter
/// value: names, codes and rules only.
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
    /// The endpoint is not a usable URL, or the endpoint policy refuses it.
    #[error("subscription endpoint is not usable: {0}")]
    Endpoint(&'static str),
    /// The secret is not a usable `whsec_` secret.
    #[error("subscription secret is not usable: {0}")]
    Secret(#[from] SignError),
    /// The secret is too short or too long.
    #[error("subscription secret must decode to 24 to 64 bytes, not {0}")]
    SecretLength(usize),
    /// The heartbeat period is out of range.
    #[error("subscription heartbeat period must be 60 to 86400 seconds, not {0}")]
    Heartbeat(u64),
    /// A filter value is not of its filter's form.
    #[error("subscription filter `{0}` has a value not of its form ({1})")]
    FilterValue(&'static str, &'static str),
    /// A filter name this hub does not know.
    #[error("subscription filter `{0}` is not known (establishment, patient-identifier)")]
    FilterName(String),
    /// An extra header is not allowed or not of the `Name: value` form.
    #[error("subscription header {0}")]
    Header(String),
    /// The FHIR resource is not a Subscription.
    #[error("the resource is a `{0}`, not a Subscription")]
    ResourceType(String),
    /// A required element of the FHIR resource is missing.
    #[error("the Subscription has no `{0}`")]
    Missing(&'static str),
    /// An element of the FHIR resource has a value this hub does not accept.
    #[error("the Subscription's `{0}` is not accepted: {1}")]
    Element(&'static str, &'static str),
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
            Self::Heartbeat(_) => "subscription.heartbeat",
            Self::FilterValue(..) | Self::FilterName(_) => "subscription.filter",
            Self::Header(_) => "subscription.header",
            Self::ResourceType(_) => "subscription.resource-type",
            Self::Missing(_) => "subscription.missing",
            Self::Element(..) => "subscription.element",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Malformed(_) | Self::ResourceType(_) => IssueType::Structure,
            Self::Missing(_) => IssueType::Required,
            Self::Endpoint(_) => IssueType::Forbidden,
            _ => IssueType::Invalid,
        }
    }
}

/// A name from input, cut to 64 printable ASCII characters for an error message.
pub(crate) fn shown(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}
