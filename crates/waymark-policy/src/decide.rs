//! The decision for each data class of one release: role policy, then consent and legal basis,
//! then break-glass. The rule, as data in `role-policy.json` (`consent` section):
//!
//! 1. a class the role is not granted (or granted only to registered professionals, for one who
//!    is not) is withheld: `role-policy:<role>:<refusal>:<class>`; break-glass never changes this;
//! 2. a class granted on the basis of `consent` is released only when the person's Consents
//!    [`Permit`](ConsentDecision::Permit) it; with no Consent deciding it the policy engine
//!    cannot decide, so it is withheld: `default-deny:no-consent:<role>:<class>`;
//! 3. a class the person refused ([`Deny`](ConsentDecision::Deny)) is withheld whatever its
//!    basis, `consent:refused:<consent id>:<class>`, except under a basis listed in
//!    `refusal-overridden-by` (statutory duty, vital interests);
//! 4. a Consent that cannot be read counts as a refusal: `default-deny:consent-unreadable:<id>`;
//! 5. an active break-glass by a role that may break glass releases what 2–4 withheld, under
//!    the basis `vital-interests`, and the manifest records it and asks for a privacy-officer
//!    alert.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use waymark_core::DataClass;

use crate::{ConsentDecision, ConsentSet, LegalBasis, Policy, Recipient};

/// An emergency override of consent, stated by the clinician who breaks glass.
#[derive(Clone, PartialEq, Eq)]
pub struct BreakGlass {
    /// Why (the clinician's statement; recorded in the manifest, never logged).
    pub reason: String,
    /// When it stops applying.
    pub until: DateTime<Utc>,
}

impl fmt::Debug for BreakGlass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakGlass")
            .field("reason", &"**REDACTED**")
            .field("until", &self.until)
            .finish()
    }
}

/// What a release is decided against besides the bundle and the recipient. Time is a
/// parameter: the caller reads the clock (and the person's Consents) at the moment of release.
#[derive(Clone, Copy, Debug)]
pub struct ReleaseContext<'a> {
    /// The person's FHIR `Consent` resources (JSON), as stored now.
    pub consents: &'a [Value],
    /// The moment of release.
    pub now: DateTime<Utc>,
    /// A break-glass request, if any.
    pub break_glass: Option<&'a BreakGlass>,
}

impl ReleaseContext<'_> {
    /// No Consents, no break-glass.
    pub fn without_consent(now: DateTime<Utc>) -> ReleaseContext<'static> {
        ReleaseContext {
            consents: &[],
            now,
            break_glass: None,
        }
    }
}

/// Whether a break-glass request was honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakGlassStatus {
    /// Honoured.
    Active,
    /// `until` had passed.
    Expired,
    /// The recipient's role (or registration) may not break glass.
    NotPermittedForRole,
}

/// The manifest's record of a break-glass request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BreakGlassRecord {
    /// The clinician's stated reason, as given.
    pub reason: String,
    /// When it expires.
    pub until: DateTime<Utc>,
    /// Whether it was honoured.
    pub status: BreakGlassStatus,
    /// The classes released only because of it.
    pub overridden: Vec<DataClass>,
}

/// The fate of one class in one release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClassDecision {
    Release { basis: LegalBasis, glass: bool },
    Withhold { rule: String },
}

/// Every class decided once for one release.
pub(crate) struct Decisions {
    pub(crate) classes: Vec<(DataClass, ClassDecision)>,
    pub(crate) consent: Vec<(DataClass, ConsentDecision)>,
    pub(crate) break_glass: Option<BreakGlassRecord>,
}

impl Decisions {
    pub(crate) fn get(&self, class: DataClass) -> Option<&ClassDecision> {
        self.classes
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, d)| d)
    }
}

impl Policy {
    pub(crate) fn decide_classes(
        &self,
        recipient: &Recipient,
        cx: &ReleaseContext<'_>,
    ) -> Decisions {
        let consents = ConsentSet::parse(cx.consents);
        let glass_status = cx.break_glass.map(|bg| {
            if !self.may_break_glass(recipient.role, recipient.registered) {
                BreakGlassStatus::NotPermittedForRole
            } else if bg.until <= cx.now {
                BreakGlassStatus::Expired
            } else {
                BreakGlassStatus::Active
            }
        });
        let glass = glass_status == Some(BreakGlassStatus::Active);
        let mut out = Decisions {
            classes: Vec::with_capacity(DataClass::ALL.len()),
            consent: Vec::new(),
            break_glass: None,
        };
        for class in DataClass::ALL.iter().copied() {
            let decision = self.decide_class(recipient, cx.now, &consents, glass, class, &mut out);
            out.classes.push((class, decision));
        }
        out.break_glass = cx
            .break_glass
            .zip(glass_status)
            .map(|(bg, status)| BreakGlassRecord {
                reason: bg.reason.clone(),
                until: bg.until,
                status,
                overridden: out
                    .classes
                    .iter()
                    .filter(|(_, d)| matches!(d, ClassDecision::Release { glass: true, .. }))
                    .map(|(c, _)| *c)
                    .collect(),
            });
        out
    }

    fn decide_class(
        &self,
        recipient: &Recipient,
        now: DateTime<Utc>,
        consents: &ConsentSet,
        glass: bool,
        class: DataClass,
        out: &mut Decisions,
    ) -> ClassDecision {
        let role = recipient.role;
        let basis = match self.decide(role, recipient.registered, &Default::default(), class) {
            Ok(basis) => basis,
            Err(crate::Refusal::ConsentRequired) => LegalBasis::Consent,
            Err(refusal) => {
                let rule = format!("role-policy:{role}:{}:{class}", refusal.code());
                return ClassDecision::Withhold { rule };
            }
        };
        let consent = consents.decide(recipient, class, now);
        let overridable = self.consent_rules.refusal_overridden_by.contains(&basis);
        let blocked = match (&consent, basis) {
            (ConsentDecision::Permit(_), _) => None,
            (ConsentDecision::NoConsent, LegalBasis::Consent) => {
                Some(format!("default-deny:no-consent:{role}:{class}"))
            }
            (ConsentDecision::NoConsent, _) => None,
            (_, _) if overridable => None,
            (ConsentDecision::Deny(id), _) => Some(format!("consent:refused:{id}:{class}")),
            (ConsentDecision::Unreadable(id), _) => {
                Some(format!("default-deny:consent-unreadable:{id}"))
            }
        };
        if consent != ConsentDecision::NoConsent || basis == LegalBasis::Consent {
            out.consent.push((class, consent));
        }
        match blocked {
            None => ClassDecision::Release {
                basis,
                glass: false,
            },
            Some(_) if glass => ClassDecision::Release {
                basis: LegalBasis::VitalInterests,
                glass: true,
            },
            Some(rule) => ClassDecision::Withhold { rule },
        }
    }
}
