//! Shared by the API tests: a development issuer and the authenticator that trusts it, an
//! `ApiState` over real SQLite files, and a router that signs every request in as a role.
#![allow(dead_code)]

use std::sync::Arc;

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    middleware::map_request,
};
use waymark_api::{
    ApiState,
    auth::{
        Authenticator, Revocations,
        dev::{DevIssuer, DevToken},
    },
    router,
};
use waymark_bus::Bus;
use waymark_core::Role;
use waymark_mapping::MappingSet;
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_store::SqliteStore;

/// A development issuer and an authenticator trusting it (development mode).
pub struct Dev {
    pub issuer: Arc<DevIssuer>,
    pub revocations: Arc<Revocations>,
    pub auth: Arc<Authenticator>,
}

impl Dev {
    pub fn new() -> Self {
        let issuer = DevIssuer::generate().unwrap();
        let revocations = Arc::new(Revocations::new());
        let auth = Authenticator::new(issuer.development_config(), revocations.clone()).unwrap();
        Self {
            issuer: Arc::new(issuer),
            revocations,
            auth: Arc::new(auth),
        }
    }

    /// A token for `role` at `organisation`, valid ten minutes.
    pub fn token(&self, role: Role, registered: bool, organisation: &str) -> String {
        let token = DevToken {
            subject: format!("{}-user", role.code()),
            role,
            registered,
            organisation: organisation.to_owned(),
            ttl_secs: 600,
        };
        self.issuer
            .issue(&token, chrono::Utc::now().timestamp())
            .unwrap()
    }

    /// A token of the integration engineer (the admin routes' role).
    pub fn engineer(&self) -> String {
        self.token(Role::IntegrationEngineer, false, "waymark-ops")
    }
}

/// The API's state over `store` (also the audit log) and `bus`.
pub fn state(
    store: Arc<SqliteStore>,
    bus: Arc<dyn Bus>,
    mappings: Arc<MappingSet>,
    validator: Arc<Validator>,
    dev: &Dev,
) -> ApiState {
    ApiState {
        store: store.clone(),
        bus,
        mappings,
        validator,
        auth: dev.auth.clone(),
        audit: store,
        policy: Arc::new(Policy::builtin().unwrap()),
        subscriptions: waymark_pipeline::SubscriptionSet::fixed(Vec::new()),
        endpoints: waymark_delivery::EndpointPolicy::local(),
        hook: waymark_delivery::RestHook::new(&waymark_delivery::RestHookConfig::default())
            .unwrap(),
    }
}

/// `router(state)` with `token` as the bearer of every request.
pub fn signed_in(state: ApiState, token: String) -> Router {
    let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    router(state).layer(map_request(move |mut request: Request| {
        let value = value.clone();
        async move {
            request.headers_mut().insert(header::AUTHORIZATION, value);
            request
        }
    }))
}

/// The repo's mappings and the R4 validator.
pub fn repo_parts() -> (Arc<MappingSet>, Arc<Validator>) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    (
        Arc::new(MappingSet::load(&repo.join("mappings")).unwrap()),
        Arc::new(Validator::r4().unwrap()),
    )
}
