//! Who a release is for.

use serde::{Deserialize, Serialize};
use waymark_core::Role;

/// The organisation, role and purpose a bundle is released to. Holds no patient data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// The receiving organisation, e.g. an ODS code or `hmp-leeds`.
    pub organisation: String,
    /// The role the recipient acts in; the role policy decides what it sees.
    pub role: Role,
    /// Whether the recipient is a registered health professional (some grants require it).
    /// Defaults to `false`, the narrower view.
    #[serde(default)]
    pub registered: bool,
    /// Why the recipient receives the data, e.g. `continuity-of-care`; recorded in the manifest.
    pub purpose: String,
}
