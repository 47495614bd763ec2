//! FHIR R4 `Subscription` resources in the Subscriptions R5 Backport IG shape, to and from
//! [`Subscription`](crate::Subscription).
//!
//! - `criteria`: the topic canonical ([`TOPIC_BASE`](crate::TOPIC_BASE) + topic), with one
//!   `backport-filter-criteria` extension per filter on `_criteria` (`name=value`; a
//!   `Resource?name=value` form is read too).
//! - `channel`: `type` `rest-hook`, `endpoint`, `payload` the MIME type (`application/fhir+json`,
//!   or `application/cloudevents+json` for the signal mode) with a `backport-payload-content`
//!   extension (`id-only`, `full-resource`), `header` (`Name: value`), and the
//!   `backport-heartbeat-period` extension.
//! - `status`, `reason`.
//! - Waymark extensions ([`WAYMARK_EXTENSION_BASE`]): `subscription-recipient` (complex:
//!   `organisation`, `role`, `registered`, `purpose`) on the resource; `subscription-secret` and
//!   `subscription-previous-secret` on the channel — accepted on write, never written by
//!   [`Subscription::to_fhir`](crate::Subscription::to_fhir), which also writes header names
//!   with the value replaced by [`REDACTED_HEADER_VALUE`].

mod read;
mod write;

/// Base of the hub's own StructureDefinitions (extensions).
pub const WAYMARK_EXTENSION_BASE: &str = "https://fhir.waymark.org.uk/StructureDefinition/";
/// What [`Subscription::to_fhir`](crate::Subscription::to_fhir) writes in place of a header's value.
pub const REDACTED_HEADER_VALUE: &str = "[redacted]";

const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";
const SUBSCRIPTION_PROFILE: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription";
const FHIR_JSON: &str = "application/fhir+json";
const CLOUDEVENTS_JSON: &str = "application/cloudevents+json";

fn backport(name: &str) -> String {
    format!("{BACKPORT}{name}")
}

fn waymark(name: &str) -> String {
    format!("{WAYMARK_EXTENSION_BASE}{name}")
}
