//! Who may call what. Record content follows the role policy (data, `role-policy.json`): a
//! role reads persons only when it is granted the `identity` class; `$everything` needs every
//! data class; recording and reading Consents needs the `consent` class; the audit trail is
//! the privacy officer's; the admin routes are the integration engineer's.

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
