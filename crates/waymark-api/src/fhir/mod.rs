//! The FHIR R4 pull API: one route table ([`ENDPOINTS`]) that both [`routes`] (the router)
//! and [`capability_statement`] (`/fhir/metadata`) are generated from, so the statement lists
//! exactly what is served.
//!
//! - `GET /fhir/Patient?identifier=|name=|birthdate=` — role-scoped person search, paged by an
//!   opaque continuation (`_page`), never a `total` ([`patient`]);
//! - `GET /fhir/Patient/{id}/$summary` (`_format=html` for the printable page) and
//!   `GET /fhir/Patient/{id}/$everything` ([`summary`], [`everything`]);
//! - `POST /fhir/Consent`, `GET /fhir/Consent/{id}`, `GET /fhir/Consent?patient=`
//!   ([`consent`]);
//! - `GET /fhir/AuditEvent?patient=&agent=&date=` for privacy officers ([`audit_event`]);
//! - `Subscription` create / read / update / delete / search, `$status`, `$events` and
//!   `$resend` ([`subscription`]).
//!
//! Who may call what is [`access`]; every read goes through the role policy at the moment of
//! the read, with the person's Consents as stored then, and leaves its data classes released
//! and withheld for the audit layer ([`crate::audit::AuditDetail`]).

pub mod access;
mod audit_event;
mod consent;
mod errors;
mod everything;
mod paging;
mod patient;
mod person;
mod search;
pub mod subscription;
mod summary;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{MethodRouter, delete, get, post, put},
};
use serde_json::{Value, json};

use crate::{ApiState, routes::Routes};

pub(crate) use errors::{bad_request, forbidden, not_found};

/// The header a clinician states a break-glass reason in (see [`person::break_glass`]).
pub const BREAK_GLASS_HEADER: &str = "x-break-glass-reason";

/// What the FHIR API serves: one entry per route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /fhir/Patient` (search).
    PatientSearch,
    /// `GET /fhir/Patient/{id}/$summary`.
    Summary,
    /// `GET /fhir/Patient/{id}/$everything`.
    Everything,
    /// `POST /fhir/Consent`.
    ConsentCreate,
    /// `GET /fhir/Consent/{id}`.
    ConsentRead,
    /// `GET /fhir/Consent` (search).
    ConsentSearch,
    /// `GET /fhir/AuditEvent` (search).
    AuditEventSearch,
    /// `POST /fhir/Subscription`.
    SubscriptionCreate,
    /// `GET /fhir/Subscription/{id}`.
    SubscriptionRead,
    /// `PUT /fhir/Subscription/{id}`.
    SubscriptionUpdate,
    /// `DELETE /fhir/Subscription/{id}`.
    SubscriptionDelete,
    /// `GET /fhir/Subscription` (search).
    SubscriptionSearch,
    /// `GET /fhir/Subscription/{id}/$status`.
    SubscriptionStatus,
    /// `GET /fhir/Subscription/{id}/$events`.
    SubscriptionEvents,
    /// `POST /fhir/Subscription/{id}/$resend`.
    SubscriptionResend,
}

/// Every FHIR endpoint, in the order the CapabilityStatement lists them.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::PatientSearch,
    Endpoint::Summary,
    Endpoint::Everything,
    Endpoint::ConsentCreate,
    Endpoint::ConsentRead,
    Endpoint::ConsentSearch,
    Endpoint::AuditEventSearch,
    Endpoint::SubscriptionCreate,
    Endpoint::SubscriptionRead,
    Endpoint::SubscriptionUpdate,
    Endpoint::SubscriptionDelete,
    Endpoint::SubscriptionSearch,
    Endpoint::SubscriptionStatus,
    Endpoint::SubscriptionEvents,
    Endpoint::SubscriptionResend,
];

/// How an endpoint appears in the CapabilityStatement: an interaction, or an operation with
/// its definition's canonical (`None`: the core specification's `<Resource>-<name>`).
enum Capability {
    Interaction(&'static str),
    Operation(&'static str, Option<&'static str>),
}

/// The Subscriptions R5 Backport IG's `$status`.
const BACKPORT_STATUS: &str = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status";
/// The Subscriptions R5 Backport IG's `$events`.
const BACKPORT_EVENTS: &str = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events";
/// The hub's own `$resend`.
const WAYMARK_RESEND: &str = "https://fhir.waymark.org.uk/OperationDefinition/Subscription-resend";

impl Endpoint {
    /// The axum path.
    pub fn path(self) -> &'static str {
        match self {
            Self::PatientSearch => "/fhir/Patient",
            Self::Summary => "/fhir/Patient/{id}/$summary",
            Self::Everything => "/fhir/Patient/{id}/$everything",
            Self::ConsentCreate | Self::ConsentSearch => "/fhir/Consent",
            Self::ConsentRead => "/fhir/Consent/{id}",
            Self::AuditEventSearch => "/fhir/AuditEvent",
            Self::SubscriptionCreate | Self::SubscriptionSearch => "/fhir/Subscription",
            Self::SubscriptionRead | Self::SubscriptionUpdate | Self::SubscriptionDelete => {
                "/fhir/Subscription/{id}"
            }
            Self::SubscriptionStatus => "/fhir/Subscription/{id}/$status",
            Self::SubscriptionEvents => "/fhir/Subscription/{id}/$events",
            Self::SubscriptionResend => "/fhir/Subscription/{id}/$resend",
        }
    }

    /// The HTTP method.
    pub fn method(self) -> &'static str {
        match self {
            Self::ConsentCreate | Self::SubscriptionCreate | Self::SubscriptionResend => "POST",
            Self::SubscriptionUpdate => "PUT",
            Self::SubscriptionDelete => "DELETE",
            _ => "GET",
        }
    }

    /// The FHIR resource type.
    pub fn resource(self) -> &'static str {
        match self {
            Self::PatientSearch | Self::Summary | Self::Everything => "Patient",
            Self::ConsentCreate | Self::ConsentRead | Self::ConsentSearch => "Consent",
            Self::AuditEventSearch => "AuditEvent",
            _ => "Subscription",
        }
    }

    /// The search parameters it takes (searches only).
    pub fn search_params(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::PatientSearch => patient::SEARCH_PARAMS,
            Self::ConsentSearch => consent::SEARCH_PARAMS,
            Self::AuditEventSearch => audit_event::SEARCH_PARAMS,
            Self::SubscriptionSearch => subscription::SEARCH_PARAMS,
            _ => &[],
        }
    }

    fn capability(self) -> Capability {
        match self {
            Self::PatientSearch
            | Self::ConsentSearch
            | Self::AuditEventSearch
            | Self::SubscriptionSearch => Capability::Interaction("search-type"),
            Self::Summary => Capability::Operation("summary", None),
            Self::Everything => Capability::Operation("everything", None),
            Self::ConsentCreate | Self::SubscriptionCreate => Capability::Interaction("create"),
            Self::ConsentRead | Self::SubscriptionRead => Capability::Interaction("read"),
            Self::SubscriptionUpdate => Capability::Interaction("update"),
            Self::SubscriptionDelete => Capability::Interaction("delete"),
            Self::SubscriptionStatus => Capability::Operation("status", Some(BACKPORT_STATUS)),
            Self::SubscriptionEvents => Capability::Operation("events", Some(BACKPORT_EVENTS)),
            Self::SubscriptionResend => Capability::Operation("resend", Some(WAYMARK_RESEND)),
        }
    }

    fn handler(self) -> MethodRouter<ApiState> {
        match self {
            Self::PatientSearch => get(patient::search),
            Self::Summary => get(summary::summary),
            Self::Everything => get(everything::everything),
            Self::ConsentCreate => post(consent::create),
            Self::ConsentRead => get(consent::read),
            Self::ConsentSearch => get(consent::search),
            Self::AuditEventSearch => get(audit_event::search),
            Self::SubscriptionCreate => post(subscription::create),
            Self::SubscriptionRead => get(subscription::read),
            Self::SubscriptionUpdate => put(subscription::update),
            Self::SubscriptionDelete => delete(subscription::delete),
            Self::SubscriptionSearch => get(subscription::search),
            Self::SubscriptionStatus => get(subscription::status),
            Self::SubscriptionEvents => get(subscription::events),
            Self::SubscriptionResend => post(subscription::resend),
        }
    }
}

/// The FHIR routes of [`ENDPOINTS`] (unprotected: [`crate::router`] wraps them).
pub(crate) fn routes() -> Routes {
    ENDPOINTS.iter().fold(Routes::new(), |routes, endpoint| {
        routes.route(endpoint.method(), endpoint.path(), endpoint.handler())
    })
}

/// The CapabilityStatement: every resource of [`ENDPOINTS`] with its interactions, search
/// parameters and operations.
pub fn capability_statement() -> Value {
    let mut resources: Vec<(&str, Vec<Endpoint>)> = Vec::new();
    for endpoint in ENDPOINTS {
        match resources
            .iter_mut()
            .find(|(r, _)| *r == endpoint.resource())
        {
            Some((_, list)) => list.push(*endpoint),
            None => resources.push((endpoint.resource(), vec![*endpoint])),
        }
    }
    let resource: Vec<Value> = resources
        .iter()
        .map(|(kind, list)| resource_capability(kind, list))
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-21",
        "kind": "instance",
        "software": { "name": "Waymark", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Waymark health and justice hub" },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{ "text": "Bearer JWT (OAuth 2.0 / NHS CIS2-style role claims)" }],
                "description": "Every resource route needs a bearer token; what a role sees is the role policy's decision at the moment of the read."
            },
            "resource": resource,
        }],
    })
}

fn resource_capability(kind: &str, endpoints: &[Endpoint]) -> Value {
    let mut interactions = Vec::new();
    let mut operations = Vec::new();
    let mut params = Vec::new();
    for endpoint in endpoints {
        match endpoint.capability() {
            Capability::Interaction(code) => interactions.push(json!({ "code": code })),
            Capability::Operation(name, definition) => operations.push(json!({
                "name": name,
                "definition": definition.map_or_else(
                    || format!("http://hl7.org/fhir/OperationDefinition/{kind}-{name}"),
                    str::to_owned,
                ),
            })),
        }
        params.extend(
            endpoint
                .search_params()
                .iter()
                .map(|(name, kind)| json!({ "name": name, "type": kind })),
        );
    }
    let mut out = json!({ "type": kind, "interaction": interactions });
    if !params.is_empty() {
        out["searchParam"] = Value::from(params);
    }
    if !operations.is_empty() {
        out["operation"] = Value::from(operations);
    }
    out
}

/// A FHIR JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/fhir+json")],
        body.to_string(),
    )
        .into_response()
}

/// An empty `searchset` (no matches, or none the caller may know of).
pub(crate) fn paging_empty() -> Response {
    let bundle = json!({ "resourceType": "Bundle", "type": "searchset", "entry": [] });
    json_response(StatusCode::OK, &bundle)
}
