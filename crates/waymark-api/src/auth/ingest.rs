//! Which authenticated clients push messages for which source (`POST /ingest/{source}`).

use serde::{Deserialize, Serialize};
use waymark_core::SourceSystem;

use super::{AuthConfig, Principal};

/// One system client allowed to push for one source: matched on the token's issuer and its
/// subject and/or client id (at least one; every one given must match).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestClient {
    /// The source system it pushes for.
    pub source: SourceSystem,
    /// The exact `iss` of its tokens (one of `issuers`).
    pub issuer: String,
    /// The token's `sub` (a client-credentials token's own client), if matched on.
    #[serde(default)]
    pub subject: Option<String>,
    /// The token's client id (`client_id` / `azp`), if matched on.
    #[serde(default)]
    pub client_id: Option<String>,
}

impl IngestClient {
    /// Whether `principal` is this client.
    pub fn is(&self, principal: &Principal) -> bool {
        principal.issuer == self.issuer
            && (self.subject.is_some() || self.client_id.is_some())
            && self
                .subject
                .as_ref()
                .is_none_or(|s| *s == principal.subject)
            && self
                .client_id
                .as_ref()
                .is_none_or(|c| principal.client_id.as_ref() == Some(c))
    }
}

impl AuthConfig {
    /// Whether `principal` may push messages for `source` ([`AuthConfig::ingest`]).
    pub fn pushes_for(&self, principal: &Principal, source: SourceSystem) -> bool {
        self.ingest
            .iter()
            .any(|c| c.source == source && c.is(principal))
    }
}
