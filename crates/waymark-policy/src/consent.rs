//! Consent as FHIR R4 `Consent` resources (scope `patient-privacy`), and the pure evaluator that
//! says whether a person's consents permit, deny or say nothing about one data class reaching
//! one recipient at one moment.
//!
//! How a Consent is read (see [`Consent::from_json`]):
//!
//! - only `status: active` Consents count; `inactive` is a withdrawn consent, and `draft`,
//!   `proposed`, `rejected` and `entered-in-error` say nothing;
//! - the root `provision` is the base rule (`type` required: `permit` or `deny`); nested
//!   `provision`s are exceptions to their parent and apply only within it (a nested provision
//!   without `type` is the opposite of its parent); among matching siblings `deny` wins;
//! - a provision matches when every criterion it states matches: `actor` (any of them; an actor
//!   names a recipient role by a `role` coding in [`RECIPIENT_ROLE_SYSTEM`] and/or an
//!   organisation by `reference.identifier.value`), `securityLabel` (codings in the data-class
//!   system), `purpose` (coding codes, compared with the recipient's purpose) and `period`
//!   (inclusive; a date-only end lasts the whole day);
//! - across Consents, the one with the latest `dateTime` that decides anything wins (a later
//!   deny withdraws an earlier permit, a later permit replaces an earlier refusal); on a tie
//!   `deny` wins; a Consent without `dateTime` is the oldest;
//! - a Consent that does not parse makes the answer [`ConsentDecision::Unreadable`], which the
//!   policy treats as a refusal (it might be one): fail safe.

mod parse;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use waymark_core::{DataClass, Role};

pub use parse::ConsentError;
pub(crate) use parse::is_fhir_id;

use crate::Recipient;

/// The code system of recipient roles in `Consent.provision.actor.role` (codes are
/// [`Role`] codes, e.g. `gp`).
pub const RECIPIENT_ROLE_SYSTEM: &str = "https://fhir.waymark.org.uk/CodeSystem/hjmd-role";
/// The `Consent.scope` code system.
pub const CONSENT_SCOPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
/// The one scope the hub reads: consent to share.
pub const PATIENT_PRIVACY: &str = "patient-privacy";

/// What a person's consents say about one class reaching one recipient now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "decision", content = "consent")]
pub enum ConsentDecision {
    /// The named Consent permits it.
    Permit(String),
    /// The named Consent refuses it (a refusal, or a withdrawal by a later deny).
    Deny(String),
    /// No active Consent decides it.
    NoConsent,
    /// A Consent could not be read (its id, or `#<index>` without one): treated as a refusal.
    Unreadable(String),
}

/// A Consent's `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentStatus {
    /// `draft`.
    Draft,
    /// `proposed`.
    Proposed,
    /// `active`: the only status that counts.
    Active,
    /// `rejected`.
    Rejected,
    /// `inactive`: withdrawn.
    Inactive,
    /// `entered-in-error`.
    EnteredInError,
}

/// `permit` or `deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvisionType {
    /// `permit`.
    Permit,
    /// `deny`.
    Deny,
}

impl ProvisionType {
    fn opposite(self) -> Self {
        match self {
            Self::Permit => Self::Deny,
            Self::Deny => Self::Permit,
        }
    }
}

/// Who a provision is about; `None` matches any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The recipient role.
    pub role: Option<Role>,
    /// The recipient organisation.
    pub organisation: Option<String>,
}

/// A rule of a Consent; empty criteria match everything within the parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provision {
    /// What happens when it matches.
    pub kind: ProvisionType,
    /// When it applies (inclusive bounds).
    pub period: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    /// Recipients it is about.
    pub actors: Vec<Actor>,
    /// Data classes it is about.
    pub classes: Vec<DataClass>,
    /// Purposes it is about.
    pub purposes: Vec<String>,
    /// Exceptions.
    pub provisions: Vec<Provision>,
}

/// One parsed `Consent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// `Consent.id`.
    pub id: String,
    /// `Consent.status`.
    pub status: ConsentStatus,
    /// `Consent.dateTime`: when it was given (orders Consents).
    pub date_time: Option<DateTime<Utc>>,
    /// The root rule.
    pub provision: Provision,
}

/// What is being asked: this recipient, this class, now.
struct Query<'a> {
    recipient: &'a Recipient,
    class: DataClass,
    now: DateTime<Utc>,
}

impl Actor {
    fn matches(&self, recipient: &Recipient) -> bool {
        self.role.is_none_or(|r| r == recipient.role)
            && self
                .organisation
                .as_deref()
                .is_none_or(|o| o == recipient.organisation)
    }
}

impl Provision {
    fn matches(&self, q: &Query<'_>) -> bool {
        let (start, end) = self.period;
        (self.actors.is_empty() || self.actors.iter().any(|a| a.matches(q.recipient)))
            && (self.classes.is_empty() || self.classes.contains(&q.class))
            && (self.purposes.is_empty() || self.purposes.contains(&q.recipient.purpose))
            && start.is_none_or(|s| s <= q.now)
            && end.is_none_or(|e| q.now <= e)
    }

    /// The rule's answer, or `None` when it does not apply.
    fn decide(&self, q: &Query<'_>) -> Option<ProvisionType> {
        if !self.matches(q) {
            return None;
        }
        let nested: Vec<ProvisionType> =
            self.provisions.iter().filter_map(|p| p.decide(q)).collect();
        if nested.contains(&ProvisionType::Deny) {
            Some(ProvisionType::Deny)
        } else if nested.is_empty() {
            Some(self.kind)
        } else {
            Some(ProvisionType::Permit)
        }
    }
}

impl Consent {
    /// Reads one FHIR R4 `Consent` (JSON). Never panics; see [`ConsentError`].
    pub fn from_json(value: &Value) -> Result<Self, ConsentError> {
        parse::consent(value)
    }

    /// This Consent's answer for `recipient`, `class` at `now`, or `None` when it says nothing.
    pub fn decide(
        &self,
        recipient: &Recipient,
        class: DataClass,
        now: DateTime<Utc>,
    ) -> Option<ProvisionType> {
        if self.status != ConsentStatus::Active {
            return None;
        }
        self.provision.decide(&Query {
            recipient,
            class,
            now,
        })
    }
}

/// A person's Consents, read once per release.
#[derive(Clone, Debug, Default)]
pub struct ConsentSet {
    consents: Vec<Consent>,
    unreadable: Option<String>,
}

impl ConsentSet {
    /// Reads every Consent; the first unreadable one is remembered (by id or `#<index>`).
    pub fn parse(consents: &[Value]) -> Self {
        let mut set = Self::default();
        for (n, value) in consents.iter().enumerate() {
            match Consent::from_json(value) {
                Ok(c) => set.consents.push(c),
                Err(_) if set.unreadable.is_some() => {}
                Err(_) => {
                    let label = value["id"].as_str().filter(|id| parse::is_fhir_id(id));
                    set.unreadable = Some(label.map_or_else(|| format!("#{n}"), str::to_owned));
                }
            }
        }
        set
    }

    /// The parsed Consents.
    pub fn consents(&self) -> &[Consent] {
        &self.consents
    }

    /// The decision for `class` reaching `recipient` at `now` (see the module docs).
    pub fn decide(
        &self,
        recipient: &Recipient,
        class: DataClass,
        now: DateTime<Utc>,
    ) -> ConsentDecision {
        if let Some(label) = &self.unreadable {
            return ConsentDecision::Unreadable(label.clone());
        }
        let mut best: Option<(Option<DateTime<Utc>>, ProvisionType, &str)> = None;
        for c in &self.consents {
            let Some(kind) = c.decide(recipient, class, now) else {
                continue;
            };
            let newer = best.as_ref().is_none_or(|(t, k, _)| {
                c.date_time > *t || (c.date_time == *t && kind == ProvisionType::Deny && *k != kind)
            });
            if newer {
                best = Some((c.date_time, kind, &c.id));
            }
        }
        match best {
            None => ConsentDecision::NoConsent,
            Some((_, ProvisionType::Permit, id)) => ConsentDecision::Permit(id.to_owned()),
            Some((_, ProvisionType::Deny, id)) => ConsentDecision::Deny(id.to_owned()),
        }
    }
}

/// The decision of `consents` (FHIR `Consent` JSON) for `class` reaching `recipient` at `now`.
pub fn evaluate(
    consents: &[Value],
    recipient: &Recipient,
    class: DataClass,
    now: DateTime<Utc>,
) -> ConsentDecision {
    ConsentSet::parse(consents).decide(recipient, class, now)
}

#[cfg(test)]
mod tests;
