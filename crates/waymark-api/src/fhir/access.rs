//! Who may call what. Record content follows the role policy (data, `role-policy.json`): a
//! role reads persons only when it is granted the `identity` class; `$everything` needs every
//! data class; recording and reading Consents needs the `consent` class; the audit trail is
//! the privacy officer's; the admin routes are the integration engineer's. Subscriptions are
//! [`SUBSCRIPTION_RULES`]: the integration engineer manages every one; every other caller only
//! its own organisation's, subscribing as itself.

use axum::{
    extract::Request,
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::collections::BTreeSet;
use waymark_core::{DataClass, Role};
use waymark_policy::{Policy, Recipient};

use super::forbidden;
use crate::auth::{AuthError, Principal};

/// The purpose recorded for reads through the API.
pub const READ_PURPOSE: &str = "direct-care-read";

/// Middleware on the admin routes: integration engineers only (inside authentication).
pub async fn admin_only(request: Request, next: Next) -> Response {
    match request.extensions().get::<Principal>() {
        Some(p) if p.role == Role::IntegrationEngineer => next.run(request).await,
        Some(_) => forbidden(
            "api.forbidden.admin",
            "the admin routes are for integration engineers",
        ),
        None => AuthError::Missing.into_response(),
    }
}

/// The recipient a caller reads as.
pub(crate) fn recipient(p: &Principal) -> Recipient {
    Recipient {
        organisation: p.organisation.clone(),
        role: p.role,
        registered: p.registered,
        purpose: READ_PURPOSE.to_owned(),
    }
}

fn granted(policy: &Policy, p: &Principal, class: DataClass) -> bool {
    policy
        .decide(p.role, p.registered, &BTreeSet::new(), class)
        .is_ok()
}

/// The role may find and read persons (it is granted `identity`).
pub(crate) fn may_read_persons(policy: &Policy, p: &Principal) -> bool {
    granted(policy, p, DataClass::Identity)
}

/// The role is granted every data class without consent (`$everything`).
pub(crate) fn may_see_everything(policy: &Policy, p: &Principal) -> bool {
    DataClass::ALL.iter().all(|c| granted(policy, p, *c))
}

/// The role may record and read Consents (it is granted the `consent` class).
pub(crate) fn may_handle_consent(policy: &Policy, p: &Principal) -> bool {
    granted(policy, p, DataClass::Consent)
}

/// The role may search the audit trail.
pub(crate) fn may_read_audit(p: &Principal) -> bool {
    p.role == Role::PrivacyOfficer
}

/// What a caller does to a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionAction {
    /// `POST /fhir/Subscription`.
    Create,
    /// `GET /fhir/Subscription/{id}`.
    Read,
    /// `PUT /fhir/Subscription/{id}`.
    Update,
    /// `DELETE /fhir/Subscription/{id}`.
    Delete,
    /// `GET /fhir/Subscription`.
    Search,
    /// `GET /fhir/Subscription/{id}/$status`.
    Status,
    /// `GET /fhir/Subscription/{id}/$events`.
    Events,
    /// `POST /fhir/Subscription/{id}/$resend`.
    Resend,
}

/// Which subscriptions a caller may act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Every subscription, with any recipient.
    Every,
    /// Only those whose recipient is the caller's own organisation; a subscription it writes
    /// gets its recipient (organisation, role, registration) from its token.
    OwnOrganisation,
    /// None (403).
    Refused,
}

/// Who may do what to subscriptions: the action, the integration engineer's reach, every
/// other authenticated caller's reach. Another organisation's subscription is answered as
/// absent (404), never as forbidden, so its existence does not leak.
pub const SUBSCRIPTION_RULES: &[(SubscriptionAction, Reach, Reach)] = &[
    (
        SubscriptionAction::Create,
        Reach::Every,
        Reach::OwnOrganisation,
    ),
    (
        SubscriptionAction::Read,
        Reach::Every,
        Reach::OwnOrganisation,
    ),
    (
        SubscriptionAction::Update,
        Reach::Every,
        Reach::OwnOrganisation,
    ),
    (
        SubscriptionAction::Delete,
        Reach::Every,
        Reach::OwnOrganisation,
    ),
    (
        SubscriptionAction::Search,
        Reach::Every,
        Reach::OwnOrganisation,
    ),
    (
        SubscriptionAction::Status,
        Reach::Every,
        Reach::OwnOrganisation,
    ),
    (
        SubscriptionAction::Events,
        Reach::Every,
        Reach::OwnOrganisation,
    ),
    (SubscriptionAction::Resend, Reach::Every, Reach::Refused),
];

/// The caller's reach for `action` ([`SUBSCRIPTION_RULES`]).
pub fn subscription_reach(p: &Principal, action: SubscriptionAction) -> Reach {
    let engineer = p.role == Role::IntegrationEngineer;
    SUBSCRIPTION_RULES
        .iter()
        .find(|(a, _, _)| *a == action)
        .map_or(
            Reach::Refused,
            |(_, eng, other)| {
                if engineer { *eng } else { *other }
            },
        )
}

/// Whether a subscription for `recipient` is within `reach` of the caller.
pub fn within_reach(p: &Principal, reach: Reach, recipient: &Recipient) -> bool {
    match reach {
        Reach::Every => true,
        Reach::OwnOrganisation => recipient.organisation == p.organisation,
        Reach::Refused => false,
    }
}

/// The recipient of a subscription written by a caller of reach [`Reach::OwnOrganisation`]:
/// its own organisation, role and registration, with the stated `purpose`.
pub(crate) fn own_recipient(p: &Principal, purpose: String) -> Recipient {
    Recipient {
        organisation: p.organisation.clone(),
        role: p.role,
        registered: p.registered,
        purpose,
    }
}
