//! Loading and checking an [`AuthConfig`]: production refuses the development issuer, HMAC
//! algorithms and keys, and JWKS over plain HTTP.

use std::path::Path;

use jsonwebtoken::AlgorithmFamily;

use super::{
    config::{AUTH_CONFIG_VERSION, AuthConfig, IssuerConfig, Mode},
    dev::DEV_ISSUER,
    error::ConfigError,
};

impl AuthConfig {
    /// Parses and validates a config document.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: Self =
            serde_json::from_str(text).map_err(|e| ConfigError::Malformed(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io(e.to_string()))?;
        Self::from_json(&text)
    }

    /// Checks the config; production refuses the development issuer, HMAC and plain-HTTP JWKS.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.version != AUTH_CONFIG_VERSION {
            return Err(ConfigError::Version(self.version));
        }
        if self.issuers.is_empty() {
            return Err(ConfigError::invalid("no issuers"));
        }
        let lock = &self.lockout;
        if lock.max_failures == 0 || lock.window_secs == 0 || lock.lock_secs == 0 {
            return Err(ConfigError::invalid("lockout values must be positive"));
        }
        if self.rate_limit.requests > 0 && self.rate_limit.per_secs == 0 {
            return Err(ConfigError::invalid("rate_limit.per_secs must be positive"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for issuer in &self.issuers {
            if !seen.insert(issuer.issuer.as_str()) {
                return Err(ConfigError::invalid("an issuer is listed twice"));
            }
            issuer.validate(self.mode)?;
        }
        for client in &self.ingest {
            if client.subject.is_none() && client.client_id.is_none() {
                return Err(ConfigError::invalid(
                    "an ingest client needs a subject or a client_id",
                ));
            }
            if !seen.contains(client.issuer.as_str()) {
                return Err(ConfigError::invalid(
                    "an ingest client names an issuer that is not listed",
                ));
            }
        }
        Ok(())
    }
}

impl IssuerConfig {
    fn validate(&self, mode: Mode) -> Result<(), ConfigError> {
        if self.issuer.is_empty() || self.audiences.is_empty() || self.algorithms.is_empty() {
            return Err(ConfigError::invalid(
                "an issuer needs issuer, audiences, algorithms",
            ));
        }
        if self.keys.is_empty() && self.jwks.is_none() {
            return Err(ConfigError::invalid("an issuer needs keys or jwks"));
        }
        if mode == Mode::Production {
            self.validate_production()?;
        }
        if self
            .jwks
            .as_ref()
            .is_some_and(|j| j.timeout_ms == 0 || j.refresh_secs == 0)
        {
            return Err(ConfigError::invalid(
                "jwks timeout and refresh must be positive",
            ));
        }
        Ok(())
    }

    fn validate_production(&self) -> Result<(), ConfigError> {
        if self.issuer == DEV_ISSUER {
            return Err(ConfigError::DevelopmentIssuer);
        }
        let hmac = self
            .algorithms
            .iter()
            .any(|a| a.family() == AlgorithmFamily::Hmac)
            || self.keys.iter().any(|k| k.secret_base64.is_some());
        if hmac {
            return Err(ConfigError::invalid(
                "production accepts asymmetric algorithms only",
            ));
        }
        if self
            .jwks
            .as_ref()
            .is_some_and(|j| !j.url.starts_with("https://"))
        {
            return Err(ConfigError::invalid(
                "production fetches JWKS over https only",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::config::Mode;

    /// The example of the report and the module docs: NHS CIS2 users by JWKS, one system
    /// client by an inline key, mutual TLS for it, allow-lists for two organisations.
    const EXAMPLE: &str = r#"{
      "version": 1,
      "mode": "production",
      "leeway_secs": 60,
      "issuers": [
        {
          "issuer": "https://am.nhsidentity.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare",
          "audiences": ["waymark-hub"],
          "algorithms": ["RS256"],
          "jwks": {"url": "https://am.nhsidentity.spineservices.nhs.uk/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare/connect/jwk_uri",
                   "refresh_secs": 3600, "min_refresh_secs": 60, "timeout_ms": 5000},
          "claims": {
            "role_entries": "nhsid_nrbac_roles",
            "selected_role": {"claim": "selected_roleid", "field": "person_roleid"},
            "role_code": "role_code",
            "organisation": "org_code",
            "client_id": ["azp", "client_id"]
          },
          "roles": [
            {"code": "S8000:G8000:R8001", "role": "custody-healthcare", "registered": true},
            {"code": "S8000:G8000:R8003", "role": "liaison-diversion", "registered": true},
            {"code": "S8000:G8001:R8007", "role": "liaison-diversion", "registered": false}
          ]
        },
        {
          "issuer": "https://login.hmpps.test/auth/issuer",
          "audiences": ["waymark-hub"],
          "algorithms": ["ES256"],
          "keys": [{"jwk": {"kty": "EC", "crv": "P-256", "kid": "hmpps-1",
                            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}],
          "claims": {"role_code": "waymark_role", "organisation": "org", "client_id": ["client_id"]},
          "roles": [{"code": "nomis-adapter", "role": "integration-engineer"}]
        }
      ],
      "organisations": {
        "RXY": {"ip_allow": ["10.20.0.0/16", "2001:db8:20::/48"]},
        "MDI": {"ip_allow": ["10.30.4.0/24"]}
      },
      "require_ip_allow_list": false,
      "trusted_proxies": [],
      "lockout": {"max_failures": 10, "window_secs": 300, "lock_secs": 900},
      "rate_limit": {"requests": 1200, "per_secs": 60},
      "client_certificates": {
        "ca_pem": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n",
        "required_for_clients": ["nomis-adapter"],
        "fingerprints": {"nomis-adapter": ["9f:86:d0:81:88:4c:7d:65:9a:2f:ea:a0:c5:5a:d0:15:a3:bf:4f:1b:2b:0b:82:2c:d1:5d:6c:15:b0:f0:0a:08"]}
      }
    }"#;

    #[test]
    fn the_example_config_loads() {
        let config = AuthConfig::from_json(EXAMPLE).unwrap();
        assert_eq!(config.mode, Mode::Production);
        assert_eq!(config.issuers.len(), 2);
        assert_eq!(config.organisations["MDI"].ip_allow.len(), 1);
        let issuers: Result<Vec<_>, _> = config
            .issuers
            .iter()
            .cloned()
            .map(crate::auth::verify::Issuer::new)
            .collect();
        assert!(issuers.is_ok(), "the keys build");
    }

    #[test]
    fn unknown_fields_versions_and_bad_keys_are_refused() {
        let extra = EXAMPLE.replacen("\"leeway_secs\"", "\"leeway\": 1, \"leeway_secs\"", 1);
        assert!(matches!(
            AuthConfig::from_json(&extra),
            Err(ConfigError::Malformed(_))
        ));
        let v2 = EXAMPLE.replacen("\"version\": 1", "\"version\": 2", 1);
        assert_eq!(
            AuthConfig::from_json(&v2).unwrap_err(),
            ConfigError::Version(2)
        );
        let mut config = AuthConfig::from_json(EXAMPLE).unwrap();
        config.issuers[1].keys[0].alg = Some(jsonwebtoken::Algorithm::RS256);
        let built = crate::auth::verify::Issuer::new(config.issuers[1].clone());
        assert!(matches!(built, Err(ConfigError::Key { .. })));
    }
}
