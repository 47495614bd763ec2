//! The redaction manifest: the audit entry of one release.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use waymark_core::{DataClass, Role};

use crate::{BreakGlassRecord, ConsentDecision, LegalBasis};

/// The redaction manifest: an audit entry saying what one recipient received and what was
/// withheld from it by which rule. Holds no patient data (resource ids are hub-generated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// The policy's name.
    pub policy: String,
    /// The policy file version.
    pub policy_version: u32,
    /// The receiving organisation.
    pub organisation: String,
    /// The recipient's role.
    pub role: Role,
    /// Whether the recipient is a registered professional.
    pub registered: bool,
    /// Why the recipient receives the data.
    pub purpose: String,
    /// The legal basis of each released data class.
    pub legal_basis: BTreeMap<DataClass, LegalBasis>,
    /// Every released resource.
    pub released: Vec<Released>,
    /// Every withheld resource, with the rule that withheld it.
    pub withheld: Vec<Withheld>,
    /// The moment the release was decided at (consent periods and break-glass expiry are
    /// judged at it).
    pub decided_at: DateTime<Utc>,
    /// What the person's Consents said, for every class where consent was the basis or a
    /// Consent decided anything.
    pub consent: BTreeMap<DataClass, ConsentDecision>,
    /// The derived alerts released, as `derived-alert:<id>` (their Flags are in `released`).
    pub derived_alerts: Vec<String>,
    /// A break-glass request and what it overrode.
    pub break_glass: Option<BreakGlassRecord>,
    /// The privacy officer must be alerted (a break-glass was requested): the release stage
    /// turns this into a log line and a telemetry event.
    pub privacy_officer_alert: bool,
}

/// One released resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Released {
    /// e.g. `Flag`.
    pub resource_type: String,
    /// The resource's (hub-generated) id.
    pub resource_id: String,
    /// Its data class; `None` for the Provenance.
    pub data_class: Option<DataClass>,
}

/// One withheld resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Withheld {
    /// e.g. `Condition`.
    pub resource_type: String,
    /// The resource's (hub-generated) id.
    pub resource_id: String,
    /// Its data class, when it has a readable one.
    pub data_class: Option<DataClass>,
    /// The rule that withheld it, e.g. `role-policy:probation:not-permitted:mh-clinical` or
    /// `default-deny:no-data-class`.
    pub rule: String,
}
