//! Derived alerts (`profiles/hjmd/derived-alerts.json`): a plain-language Flag released to a
//! role that may not see the detail but must know the risk.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use waymark_core::{CONFIDENTIALITY_SYSTEM, DATA_CLASS_SYSTEM, DataClass, Role};

use crate::PolicyError;

const BUILTIN: &str = include_str!("../../../profiles/hjmd/derived-alerts.json");
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0x7d1c_2a90_64be_4f3b_9a0e_51c8_0b6d_e2f4);
/// Longest alert text accepted.
const MAX_TEXT: usize = 200;

/// One derived alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivedAlert {
    /// Stable id; the manifest lists the alert as `derived-alert:<id>`.
    pub id: String,
    /// Roles it is released to.
    pub roles: BTreeSet<Role>,
    /// Withholding any of these classes (by the role policy) raises it.
    pub when_withheld: BTreeSet<DataClass>,
    /// Its own data class: `risk-self` or `safeguarding`.
    pub class: DataClass,
    /// The plain-language instruction.
    pub text: String,
}

/// Every derived alert.
#[derive(Clone, Debug, Default)]
pub struct DerivedAlerts {
    alerts: Vec<DerivedAlert>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: u32,
    #[serde(default, rename = "name")]
    _name: String,
    #[serde(default, rename = "source")]
    _source: String,
    #[serde(default, rename = "how-to-read")]
    _how_to_read: Vec<String>,
    alerts: Vec<RawAlert>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    id: String,
    roles: Vec<String>,
    #[serde(rename = "when-withheld")]
    when_withheld: Vec<String>,
    class: String,
    text: String,
}

impl DerivedAlerts {
    /// `profiles/hjmd/derived-alerts.json`, compiled in.
    pub fn builtin() -> Result<Self, PolicyError> {
        Self::from_json(BUILTIN)
    }

    /// Loads and checks an alerts file: version 1, unique ids, known roles and classes, an
    /// alert class of `risk-self` or `safeguarding`, text of 1 to 200 characters.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        let bad = |what: String| PolicyError::DerivedAlerts(what);
        let raw: RawFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.version != 1 {
            return Err(bad(format!("version {} is not supported", raw.version)));
        }
        let mut alerts: Vec<DerivedAlert> = Vec::new();
        for a in raw.alerts {
            let alert = a.check()?;
            if alerts.iter().any(|b| b.id == alert.id) {
                return Err(bad(format!("alert `{}` is listed twice", alert.id)));
            }
            alerts.push(alert);
        }
        Ok(Self { alerts })
    }

    /// Every alert.
    pub fn alerts(&self) -> &[DerivedAlert] {
        &self.alerts
    }
}

impl RawAlert {
    fn check(self) -> Result<DerivedAlert, PolicyError> {
        let bad = |what: &str| PolicyError::DerivedAlerts(format!("alert `{}`: {what}", self.id));
        if !crate::consent::is_fhir_id(&self.id) {
            return Err(bad("id is not a FHIR id"));
        }
        let roles = self
            .roles
            .iter()
            .map(|r| r.parse::<Role>().map_err(|_| bad("unknown role")))
            .collect::<Result<_, _>>()?;
        let class = |c: &String| {
            c.parse::<DataClass>()
                .map_err(|_| bad("unknown data class"))
        };
        let when_withheld = self
            .when_withheld
            .iter()
            .map(class)
            .collect::<Result<_, _>>()?;
        let own = class(&self.class)?;
        if !matches!(own, DataClass::RiskSelf | DataClass::Safeguarding) {
            return Err(bad("class must be risk-self or safeguarding"));
        }
        if self.text.trim().is_empty() || self.text.chars().count() > MAX_TEXT {
            return Err(bad("text must be 1 to 200 characters"));
        }
        Ok(DerivedAlert {
            id: self.id.clone(),
            roles,
            when_withheld,
            class: own,
            text: self.text.clone(),
        })
    }
}

impl DerivedAlert {
    /// The id of this alert's Flag for the Patient `patient_id` (stable across releases).
    pub fn flag_id(&self, patient_id: &str) -> String {
        let name = format!("{patient_id}|{}", self.id);
        Uuid::new_v5(&ALERT_NAMESPACE, name.as_bytes()).to_string()
    }

    /// The bundle entry: an active Flag with the alert text, its class label (confidentiality
    /// `N`) and the Patient as subject; nothing else.
    pub(crate) fn entry(&self, patient_id: &str, patient_ref: &str) -> Value {
        let id = self.flag_id(patient_id);
        json!({
            "fullUrl": format!("urn:uuid:{id}"),
            "resource": {
                "resourceType": "Flag",
                "id": id,
                "meta": { "security": [
                    { "system": DATA_CLASS_SYSTEM, "code": self.class.code() },
                    { "system": CONFIDENTIALITY_SYSTEM, "code": "N" },
                ] },
                "status": "active",
                "code": { "text": self.text },
                "subject": { "reference": patient_ref },
            },
        })
    }
}
