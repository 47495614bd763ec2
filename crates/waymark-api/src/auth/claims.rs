//! From a verified token's claims to a Waymark role, registration and organisation: the role
//! claim mapping of the issuer's config. Role entries (CIS2: `nhsid_nrbac_roles`) pair a role
//! code with an organisation; when the token says which entry the user selected
//! (`selected_roleid`) only that one counts. Exactly one (role, registered, organisation) must
//! come out: none is `RoleUnmapped`, several is `RoleAmbiguous` (both 403).

use std::collections::BTreeSet;

use serde_json::Value;
use waymark_core::Role;

use super::{
    config::{ClaimsConfig, RoleCode},
    error::AuthError,
};

/// What the role mapping decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mapped {
    pub role: Role,
    pub registered: bool,
    pub organisation: String,
}

/// The value at a dotted path (`a.b.c`) through objects.
pub(crate) fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return None;
    }
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// A string or a number, as text; anything else is none.
pub(crate) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A string, or the strings of an array.
fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The client id: the first configured top-level claim present.
pub(crate) fn client_id(claims: &Value, config: &ClaimsConfig) -> Option<String> {
    config
        .client_id
        .iter()
        .find_map(|path| lookup(claims, path).and_then(scalar))
}

/// The role entries that count: all, or the selected one.
fn entries<'v>(claims: &'v Value, config: &ClaimsConfig) -> Vec<&'v Value> {
    let all: Vec<&Value> = match &config.role_entries {
        None => vec![claims],
        Some(path) => match lookup(claims, path) {
            Some(Value::Array(items)) => items.iter().filter(|e| e.is_object()).collect(),
            _ => Vec::new(),
        },
    };
    let Some(selected) = &config.selected_role else {
        return all;
    };
    let Some(id) = lookup(claims, &selected.claim).and_then(scalar) else {
        return all;
    };
    all.into_iter()
        .filter(|e| lookup(e, &selected.field).and_then(scalar).as_deref() == Some(id.as_str()))
        .collect()
}

/// Maps the claims to one role, registration and organisation.
pub(crate) fn map_role(
    claims: &Value,
    config: &ClaimsConfig,
    codes: &[RoleCode],
) -> Result<Mapped, AuthError> {
    let mut found: BTreeSet<(Role, bool, Option<String>)> = BTreeSet::new();
    for entry in entries(claims, config) {
        let organisation = lookup(entry, &config.organisation)
            .or_else(|| lookup(claims, &config.organisation))
            .and_then(scalar);
        for code in strings(lookup(entry, &config.role_code)) {
            if let Some(mapping) = codes.iter().find(|m| m.code == code) {
                found.insert((mapping.role, mapping.registered, organisation.clone()));
            }
        }
    }
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (None, _) => Err(AuthError::RoleUnmapped),
        (Some(_), Some(_)) => Err(AuthError::RoleAmbiguous),
        (Some((_, _, None)), None) => Err(AuthError::Organisation),
        (Some((role, registered, Some(organisation))), None) => Ok(Mapped {
            role,
            registered,
            organisation,
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::auth::config::SelectedRole;

    fn cis2() -> ClaimsConfig {
        ClaimsConfig {
            role_entries: Some("nhsid_nrbac_roles".into()),
            selected_role: Some(SelectedRole {
                claim: "selected_roleid".into(),
                field: "person_roleid".into(),
            }),
            role_code: "role_code".into(),
            organisation: "org_code".into(),
            client_id: vec!["client_id".into()],
        }
    }

    fn codes() -> Vec<RoleCode> {
        vec![
            RoleCode {
                code: "S1:G1:R8001".into(),
                role: Role::CustodyHealthcare,
                registered: true,
            },
            RoleCode {
                code: "S1:G1:R8003".into(),
                role: Role::LiaisonDiversion,
                registered: false,
            },
        ]
    }

    fn token(selected: &str) -> Value {
        json!({
            "selected_roleid": selected,
            "nhsid_nrbac_roles": [
                {"person_roleid": "1", "org_code": "RXY", "role_code": "S1:G1:R8001"},
                {"person_roleid": "2", "org_code": "RXZ", "role_code": "S1:G1:R8003"},
                {"person_roleid": "3", "org_code": "RXZ", "role_code": "S9:G9:R9999"}
            ]
        })
    }

    #[test]
    fn the_selected_cis2_role_maps() {
        let m = map_role(&token("2"), &cis2(), &codes()).unwrap();
        assert_eq!(m.role, Role::LiaisonDiversion);
        assert!(!m.registered);
        assert_eq!(m.organisation, "RXZ");
        let m = map_role(&token("1"), &cis2(), &codes()).unwrap();
        assert_eq!((m.role, m.registered), (Role::CustodyHealthcare, true));
    }

    #[test]
    fn unmapped_and_ambiguous_roles_are_refused() {
        assert_eq!(
            map_role(&token("3"), &cis2(), &codes()),
            Err(AuthError::RoleUnmapped)
        );
        let mut unselected = token("1");
        unselected
            .as_object_mut()
            .unwrap()
            .remove("selected_roleid");
        assert_eq!(
            map_role(&unselected, &cis2(), &codes()),
            Err(AuthError::RoleAmbiguous)
        );
    }

    #[test]
    fn flat_claims_and_a_missing_organisation() {
        let config = ClaimsConfig::default();
        let codes = vec![RoleCode {
            code: "gp".into(),
            role: Role::Gp,
            registered: true,
        }];
        let m = map_role(&json!({"role": ["x", "gp"], "org": "Y01"}), &config, &codes).unwrap();
        assert_eq!((m.role, m.organisation.as_str()), (Role::Gp, "Y01"));
        assert_eq!(
            map_role(&json!({"role": "gp"}), &config, &codes),
            Err(AuthError::Organisation)
        );
        assert_eq!(
            client_id(&json!({"azp": "app"}), &config).as_deref(),
            Some("app")
        );
        assert_eq!(lookup(&json!({"a": {"b": 1}}), "a.b"), Some(&json!(1)));
        assert_eq!(lookup(&json!({"a": 1}), ""), None);
    }
}
