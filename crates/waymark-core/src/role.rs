//! The roles a recipient acts in (dataset.md §2).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

macro_rules! roles {
    ($($variant:ident => $code:literal,)*) => {
        /// A recipient's role; what it may see is data, in the role policy.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Role {
            $(
                #[doc = concat!("`", $code, "`")]
                #[serde(rename = $code)]
                $variant,
            )*
        }

        impl Role {
            /// Every role, in a fixed order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The code used in config, tokens and policy files.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }
        }
    };
}

roles! {
    CustodyOfficer => "custody-officer",
    CustodyHealthcare => "custody-healthcare",
    LiaisonDiversion => "liaison-diversion",
    PrisonHealthcare => "prison-healthcare",
    PrisonOfficer => "prison-officer",
    Probation => "probation",
    Gp => "gp",
    PrivacyOfficer => "privacy-officer",
    Commissioner => "commissioner",
    IntegrationEngineer => "integration-engineer",
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.code() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.code().parse::<Role>().unwrap(), *role);
            assert_eq!(serde_json::to_value(role).unwrap(), role.code());
        }
        assert!("sergeant".parse::<Role>().is_err());
    }
}
