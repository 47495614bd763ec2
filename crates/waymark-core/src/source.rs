//! The source systems Waymark takes data from.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A system on the health and justice pathway that Waymark ingests from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceSystem {
    /// Police custody record.
    Athena,
    /// Custody healthcare record (HL7 v2 over MLLP).
    Excelicare,
    /// Prison healthcare (GP Connect).
    Systmone,
    /// Prisons (HMPPS offender events + Prison API).
    Nomis,
    /// NHS Summary Care Record.
    Scr,
}

impl SourceSystem {
    /// Every source, in a fixed order.
    pub const ALL: [Self; 5] = [
        Self::Athena,
        Self::Excelicare,
        Self::Systmone,
        Self::Nomis,
        Self::Scr,
    ];

    /// The lower-case name used in config, mapping folders and queue names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Athena => "athena",
            Self::Excelicare => "excelicare",
            Self::Systmone => "systmone",
            Self::Nomis => "nomis",
            Self::Scr => "scr",
        }
    }
}

impl fmt::Display for SourceSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source name that is not one of [`SourceSystem::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown source system `{0}` (expected one of athena, excelicare, systmone, nomis, scr)")]
pub struct UnknownSource(pub String);

impl FromStr for SourceSystem {
    type Err = UnknownSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|src| src.as_str() == s)
            .ok_or_else(|| UnknownSource(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for src in SourceSystem::ALL {
            assert_eq!(src.as_str().parse::<SourceSystem>().unwrap(), src);
            assert_eq!(serde_json::to_value(src).unwrap(), src.as_str());
        }
        assert!("pnc".parse::<SourceSystem>().is_err());
    }
}
