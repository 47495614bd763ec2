//! An issuer's JWKS document: fetched when a token first needs it (with a bounded timeout and
//! size, no redirects), cached, refreshed after `refresh_secs` and — at most every
//! `min_refresh_secs` — when a token names a key id the cache does not hold (key rotation). A
//! failed refresh keeps the cached keys; with none cached the request answers 503.

use std::sync::{Arc, RwLock};

use jsonwebtoken::jwk::Jwk;

use super::{
    config::JwksConfig,
    error::{AuthError, ConfigError},
    keys::{VerifierKey, from_jwk},
};

/// Largest JWKS document read (bytes).
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// An issuer's JWKS document, cached.
pub(crate) struct Jwks {
    issuer: String,
    url: String,
    refresh: i64,
    min_refresh: i64,
    client: reqwest::Client,
    state: RwLock<JwksState>,
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct JwksState {
    keys: Arc<Vec<VerifierKey>>,
    fetched_at: Option<i64>,
    attempted_at: Option<i64>,
}

impl Jwks {
    /// A cache for `config`'s URL; nothing is fetched until a token needs it.
    pub fn new(issuer: &str, config: &JwksConfig) -> Result<Self, ConfigError> {
        let timeout = std::time::Duration::from_millis(config.timeout_ms);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| ConfigError::invalid("cannot build the JWKS HTTP client"))?;
        Ok(Self {
            issuer: issuer.to_owned(),
            url: config.url.clone(),
            refresh: i64::try_from(config.refresh_secs).unwrap_or(i64::MAX),
            min_refresh: i64::try_from(config.min_refresh_secs).unwrap_or(i64::MAX),
            client,
            state: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The cached keys, fetched first when stale or when `kid` is not among them.
    pub async fn keys(
        &self,
        now: i64,
        kid: Option<&str>,
    ) -> Result<Arc<Vec<VerifierKey>>, AuthError> {
        if self.wants_fetch(now, kid) {
            let _one_at_a_time = self.fetching.lock().await;
            if self.wants_fetch(now, kid) {
                self.refresh(now).await;
            }
        }
        let state = self.state.read().map_err(|_| AuthError::KeysUnavailable)?;
        if state.fetched_at.is_none() {
            return Err(AuthError::KeysUnavailable);
        }
        Ok(Arc::clone(&state.keys))
    }

    fn wants_fetch(&self, now: i64, kid: Option<&str>) -> bool {
        let Ok(state) = self.state.read() else {
            return false;
        };
        let stale = state
            .fetched_at
            .is_none_or(|t| now.saturating_sub(t) >= self.refresh);
        let missing =
            kid.is_some_and(|k| !state.keys.iter().any(|key| key.kid.as_deref() == Some(k)));
        let may_try = state
            .attempted_at
            .is_none_or(|t| now.saturating_sub(t) >= self.min_refresh);
        (stale || missing) && may_try
    }

    async fn refresh(&self, now: i64) {
        let fetched = self.fetch().await;
        let Ok(mut state) = self.state.write() else {
            return;
        };
        state.attempted_at = Some(now);
        match fetched {
            Ok(keys) => {
                state.keys = Arc::new(keys);
                state.fetched_at = Some(now);
            }
            Err(reason) => {
                tracing::warn!(code = "auth.jwks.fetch", issuer = %self.issuer, reason, "JWKS fetch failed; keeping the cached keys");
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<VerifierKey>, &'static str> {
        let mut response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|_| "unreachable")?;
        if !response.status().is_success() {
            return Err("HTTP status");
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| "read")? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err("too large");
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body)
    }
}

/// The usable signature keys of a JWKS document; others (encryption, symmetric, unknown) are
/// skipped.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<Vec<VerifierKey>, &'static str> {
    #[derive(serde::Deserialize)]
    struct Doc {
        keys: Vec<serde_json::Value>,
    }
    let doc: Doc = serde_json::from_slice(body).map_err(|_| "not a JWKS document")?;
    Ok(doc
        .keys
        .into_iter()
        .filter_map(|v| serde_json::from_value::<Jwk>(v).ok())
        .filter_map(|jwk| from_jwk(&jwk).ok())
        .collect())
}
