//! The authenticator a hub process starts with: the auth config file when one is given,
//! otherwise the development issuer of the data folder (the key `waymark token` signs with,
//! `<data-dir>/dev-issuer/`), in development mode. Revocations persist in
//! `<data-dir>/revocations.jsonl` and are loaded at start.

use std::{path::Path, sync::Arc};

use super::{
    AuthConfig, Authenticator, ConfigError, FileRevocations, RevocationError, Revocations,
    dev::{DevError, DevIssuer},
};

/// The revocation file, under the data folder.
pub const REVOCATIONS_FILE: &str = "revocations.jsonl";

/// Why the hub's authenticator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HubAuthError {
    /// The config file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The development key could not be made or read.
    #[error(transparent)]
    Dev(#[from] DevError),
    /// The revocation file could not be read.
    #[error("revocations could not be {0}")]
    Revocations(&'static str),
}

impl From<RevocationError> for HubAuthError {
    fn from(err: RevocationError) -> Self {
        Self::Revocations(err.0)
    }
}

/// The authenticator of a hub: `config` when given, else the development issuer kept in
/// `data_dir`.
pub async fn hub_authenticator(
    config: Option<&Path>,
    data_dir: &Path,
) -> Result<Authenticator, HubAuthError> {
    let config = match config {
        Some(path) => AuthConfig::load(path)?,
        None => DevIssuer::load_or_create(data_dir)?.development_config(),
    };
    let source = FileRevocations::new(data_dir.join(REVOCATIONS_FILE));
    let revocations = Revocations::with_source(Box::new(source)).await?;
    Ok(Authenticator::new(config, Arc::new(revocations))?)
}
