//! The role policy: which data classes each role may receive, and under which legal basis.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    str::FromStr,
};

use serde::{Deserialize, Serialize};
use waymark_core::{DataClass, Role};

use crate::PolicyError;

/// The policy file format version this build reads.
pub const POLICY_VERSION: u32 = 1;

/// The lawful basis a data class is released under (dataset.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LegalBasis {
    /// `direct-care`: the recipient provides care to the person.
    DirectCare,
    /// `statutory-duty`: a duty in law (e.g. PACE Code C, MAPPA).
    StatutoryDuty,
    /// `care-of-the-state`: the person is in the care of the state (prison).
    CareOfTheState,
    /// `vital-interests`: to protect someone's life.
    VitalInterests,
    /// `consent`: only when the person has consented; otherwise nothing of the class is released.
    Consent,
}

impl LegalBasis {
    /// Every basis, in a fixed order.
    pub const ALL: &'static [Self] = &[
        Self::DirectCare,
        Self::StatutoryDuty,
        Self::CareOfTheState,
        Self::VitalInterests,
        Self::Consent,
    ];

    /// The code used in the policy file and the manifest.
    pub fn code(self) -> &'static str {
        match self {
            Self::DirectCare => "direct-care",
            Self::StatutoryDuty => "statutory-duty",
            Self::CareOfTheState => "care-of-the-state",
            Self::VitalInterests => "vital-interests",
            Self::Consent => "consent",
        }
    }
}

impl fmt::Display for LegalBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for LegalBasis {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|b| b.code() == s).ok_or(())
    }
}

/// One data class granted to a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The class.
    pub class: DataClass,
    /// Why it may be released.
    pub basis: LegalBasis,
    /// Only a registered professional acting in the role receives it.
    pub registered_only: bool,
}

/// Why a data class is not released to a recipient; part of the manifest rule name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The role is not granted the class (or the policy says it never sees it).
    NotPermitted,
    /// Granted only to registered professionals, and the recipient is not registered.
    RegisteredOnly,
    /// Granted on the basis of consent, and the person has not consented.
    ConsentRequired,
}

impl Refusal {
    /// The code used in rule names.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotPermitted => "not-permitted",
            Self::RegisteredOnly => "registered-only",
            Self::ConsentRequired => "consent-required",
        }
    }
}

/// One role's entry in the policy.
#[derive(Clone, Debug)]
pub struct RolePolicy {
    grants: BTreeMap<DataClass, Grant>,
    never: BTreeSet<DataClass>,
    who: String,
    note: String,
}

impl RolePolicy {
    /// Every grant, by class.
    pub fn grants(&self) -> impl Iterator<Item = &Grant> {
        self.grants.values()
    }

    /// What the dataset brief says the role never sees.
    pub fn never(&self) -> &BTreeSet<DataClass> {
        &self.never
    }

    /// Who acts in the role (for reviewers).
    pub fn who(&self) -> &str {
        &self.who
    }

    /// The reviewer's note.
    pub fn note(&self) -> &str {
        &self.note
    }

    /// Whether `class` may be released, and on which basis.
    pub fn decide(
        &self,
        class: DataClass,
        registered: bool,
        consented: &BTreeSet<DataClass>,
    ) -> Result<LegalBasis, Refusal> {
        let grant = self.grants.get(&class).ok_or(Refusal::NotPermitted)?;
        if grant.registered_only && !registered {
            return Err(Refusal::RegisteredOnly);
        }
        if grant.basis == LegalBasis::Consent && !consented.contains(&class) {
            return Err(Refusal::ConsentRequired);
        }
        Ok(grant.basis)
    }
}

/// The role policy: one [`RolePolicy`] per [`Role`].
#[derive(Clone, Debug)]
pub struct Policy {
    version: u32,
    name: String,
    roles: BTreeMap<Role, RolePolicy>,
    pub(crate) consent_rules: ConsentRules,
    pub(crate) alerts: crate::alerts::DerivedAlerts,
}

/// How consent combines with the legal basis (the policy file's `consent` section).
#[derive(Clone, Debug)]
pub struct ConsentRules {
    /// Bases under which a class is released even when the person refused it (default
    /// `statutory-duty` and `vital-interests`).
    pub refusal_overridden_by: BTreeSet<LegalBasis>,
    /// Roles that may break glass, and whether only registered professionals in them may.
    pub break_glass: BTreeMap<Role, bool>,
}

impl Default for ConsentRules {
    fn default() -> Self {
        Self {
            refusal_overridden_by: [LegalBasis::StatutoryDuty, LegalBasis::VitalInterests].into(),
            break_glass: BTreeMap::new(),
        }
    }
}

const BUILTIN: &str = include_str!("../../../profiles/hjmd/role-policy.json");

impl Policy {
    /// The default HJMD policy, `profiles/hjmd/role-policy.json`, with the derived alerts of
    /// `profiles/hjmd/derived-alerts.json`, compiled in.
    pub fn builtin() -> Result<Self, PolicyError> {
        let alerts = crate::alerts::DerivedAlerts::builtin()?;
        Ok(Self::from_json(BUILTIN)?.with_derived_alerts(alerts))
    }

    /// This policy releasing `alerts` where they apply (a policy read by [`Policy::from_json`]
    /// has none).
    #[must_use]
    pub fn with_derived_alerts(mut self, alerts: crate::alerts::DerivedAlerts) -> Self {
        self.alerts = alerts;
        self
    }

    /// How consent combines with the legal basis.
    pub fn consent_rules(&self) -> &ConsentRules {
        &self.consent_rules
    }

    /// Whether a recipient in `role` may break glass.
    pub fn may_break_glass(&self, role: Role, registered: bool) -> bool {
        self.consent_rules
            .break_glass
            .get(&role)
            .is_some_and(|registered_only| registered || !registered_only)
    }

    /// The text of the built-in policy file.
    pub fn builtin_json() -> &'static str {
        BUILTIN
    }

    /// Loads and checks a policy file: version 1, every role exactly once, known classes and
    /// bases, no class granted twice, no class both granted and listed under `never`.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        let raw: RawPolicy =
            serde_json::from_str(text).map_err(|e| PolicyError::Malformed(e.to_string()))?;
        match raw.version {
            None => return Err(PolicyError::MissingVersion),
            Some(POLICY_VERSION) => {}
            Some(other) => return Err(PolicyError::UnsupportedVersion(other)),
        }
        let mut roles = BTreeMap::new();
        for entry in raw.roles {
            let (role, policy) = entry.check()?;
            if roles.insert(role, policy).is_some() {
                return Err(PolicyError::DuplicateRole(role));
            }
        }
        if let Some(missing) = Role::ALL.iter().find(|r| !roles.contains_key(r)) {
            return Err(PolicyError::MissingRole(*missing));
        }
        Ok(Self {
            version: POLICY_VERSION,
            name: raw.name,
            roles,
            consent_rules: raw
                .consent
                .map(RawConsentRules::check)
                .transpose()?
                .unwrap_or_default(),
            alerts: crate::alerts::DerivedAlerts::default(),
        })
    }

    /// The file format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The policy's name, as written in the file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entry for `role`.
    pub fn role(&self, role: Role) -> Option<&RolePolicy> {
        self.roles.get(&role)
    }

    /// Whether `class` may be released to a recipient in `role`, and on which basis.
    /// `consented` holds the classes the person has consented to this recipient seeing.
    pub fn decide(
        &self,
        role: Role,
        registered: bool,
        consented: &BTreeSet<DataClass>,
        class: DataClass,
    ) -> Result<LegalBasis, Refusal> {
        self.role(role)
            .ok_or(Refusal::NotPermitted)
            .and_then(|r| r.decide(class, registered, consented))
    }

    /// Every class a recipient in `role` may receive now, with its basis.
    pub fn permitted(
        &self,
        role: Role,
        registered: bool,
        consented: &BTreeSet<DataClass>,
    ) -> BTreeMap<DataClass, LegalBasis> {
        DataClass::ALL
            .iter()
            .filter_map(|c| Some((*c, self.decide(role, registered, consented, *c).ok()?)))
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Option<u32>,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "source")]
    _source: Option<String>,
    #[serde(default, rename = "how-to-read")]
    _how_to_read: Vec<String>,
    roles: Vec<RawRole>,
    #[serde(default)]
    consent: Option<RawConsentRules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsentRules {
    #[serde(rename = "refusal-overridden-by")]
    refusal_overridden_by: Vec<String>,
    #[serde(default, rename = "break-glass")]
    break_glass: Vec<RawBreakGlass>,
    #[serde(default, rename = "note")]
    _note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreakGlass {
    role: String,
    #[serde(default, rename = "registered-only")]
    registered_only: bool,
}

impl RawConsentRules {
    fn check(self) -> Result<ConsentRules, PolicyError> {
        let mut refusal_overridden_by = BTreeSet::new();
        for name in self.refusal_overridden_by {
            let basis = name
                .parse::<LegalBasis>()
                .map_err(|()| PolicyError::UnknownConsentBasis(name))?;
            refusal_overridden_by.insert(basis);
        }
        let mut break_glass = BTreeMap::new();
        for entry in self.break_glass {
            let role: Role = entry
                .role
                .parse()
                .map_err(|_| PolicyError::UnknownRole(entry.role))?;
            break_glass.insert(role, entry.registered_only);
        }
        Ok(ConsentRules {
            refusal_overridden_by,
            break_glass,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    role: String,
    #[serde(default)]
    who: String,
    grants: Vec<RawGrant>,
    #[serde(default)]
    never: Vec<String>,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    class: String,
    basis: String,
    #[serde(default, rename = "registered-only")]
    registered_only: bool,
}

impl RawRole {
    fn check(self) -> Result<(Role, RolePolicy), PolicyError> {
        let role: Role = self
            .role
            .parse()
            .map_err(|_| PolicyError::UnknownRole(self.role))?;
        let class = |name: String| {
            name.parse::<DataClass>()
                .map_err(|_| PolicyError::UnknownClass { role, class: name })
        };
        let mut grants = BTreeMap::new();
        for g in self.grants {
            let basis = g
                .basis
                .parse::<LegalBasis>()
                .map_err(|()| PolicyError::UnknownBasis {
                    role,
                    basis: g.basis,
                })?;
            let grant = Grant {
                class: class(g.class)?,
                basis,
                registered_only: g.registered_only,
            };
            if grants.insert(grant.class, grant).is_some() {
                return Err(PolicyError::DuplicateGrant {
                    role,
                    class: grant.class,
                });
            }
        }
        let mut never = BTreeSet::new();
        for name in self.never {
            let c = class(name)?;
            if !never.insert(c) {
                return Err(PolicyError::DuplicateNever { role, class: c });
            }
            if grants.contains_key(&c) {
                return Err(PolicyError::Contradiction { role, class: c });
            }
        }
        Ok((
            role,
            RolePolicy {
                grants,
                never,
                who: self.who,
                note: self.note,
            },
        ))
    }
}

#[cfg(test)]
mod tests;
