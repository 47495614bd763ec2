//! `waymark token`: a development token for the embedded hub.

use std::path::PathBuf;

use clap::Args;
use waymark_api::auth::dev::{DevIssuer, DevToken};
use waymark_core::Role;

use serde_json::json;

use crate::exit::{OK, UNREADABLE, emit, fail, success};

/// Longest lifetime a development token may have.
const MAX_TTL_SECS: u64 = 30 * 24 * 3600;

/// Print a development bearer token (a JWT) for the embedded hub.
///
/// The token is signed with the development issuer's Ed25519 key, generated on first use and
/// kept in DIR/dev-issuer/ (owner-only). Only a hub in development mode using the same data
/// folder trusts it; production mode refuses the development issuer. Prints the token on
/// stdout and what it says on stderr. Exit 0 printed, 2 bad arguments or unreadable key.
///
/// Example: waymark token --role custody-healthcare --org RXY --registered --ttl 1h
///
/// Example: curl -H "Authorization: Bearer $(waymark token --role probation --org P01)" ...
#[derive(Args, Clone, Debug)]
pub struct TokenArgs {
    /// The Waymark role, e.g. custody-healthcare, liaison-diversion, probation, gp.
    #[arg(long)]
    pub role: Role,
    /// The organisation code (e.g. an ODS code) the caller acts for.
    #[arg(long)]
    pub org: String,
    /// The caller is a registered health professional.
    #[arg(long)]
    pub registered: bool,
    /// The subject (`sub`): who the caller is.
    #[arg(long, default_value = "dev-user")]
    pub subject: String,
    /// Lifetime: seconds, or a number with s, m, h or d (at most 30d).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: u64,
    /// The hub's data folder (the key is in DIR/dev-issuer/).
    #[arg(long, env = "WAYMARK_DATA_DIR", default_value = "hub-data")]
    pub data_dir: PathBuf,
    /// Print one JSON object on stdout instead (`{"ok": true, "token", "role",
    /// "organisation", "registered", "subject", "expires_at", "kid"}`); same exit codes.
    #[arg(long)]
    pub json: bool,
}

/// `90`, `90s`, `15m`, `1h`, `2d` → seconds.
fn parse_ttl(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err("use s, m, h or d, e.g. 1h".to_owned()),
    };
    let secs = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|s| (1..=MAX_TTL_SECS).contains(s))
        .ok_or_else(|| "a lifetime from 1s to 30d, e.g. 1h".to_owned())?;
    Ok(secs)
}

/// Runs `waymark token`; returns the exit code.
pub fn run(args: &TokenArgs) -> u8 {
    let issuer = match DevIssuer::load_or_create(&args.data_dir) {
        Ok(issuer) => issuer,
        Err(err) => {
            return fail(
                args.json,
                "token",
                UNREADABLE,
                "token.issuer",
                &err.to_string(),
            );
        }
    };
    let token = DevToken {
        subject: args.subject.clone(),
        role: args.role,
        registered: args.registered,
        organisation: args.org.clone(),
        ttl_secs: args.ttl,
    };
    let now = chrono::Utc::now().timestamp();
    let jwt = match issuer.issue(&token, now) {
        Ok(jwt) => jwt,
        Err(err) => {
            return fail(
                args.json,
                "token",
                UNREADABLE,
                "token.issue",
                &err.to_string(),
            );
        }
    };
    if args.json {
        let expires = now.saturating_add(i64::try_from(args.ttl).unwrap_or(i64::MAX));
        let fields = json!({
            "token": jwt,
            "role": args.role.code(),
            "organisation": args.org,
            "registered": args.registered,
            "subject": args.subject,
            "expires_at": chrono::DateTime::from_timestamp(expires, 0).map(|t| t.to_rfc3339()),
            "kid": issuer.kid(),
        });
        return emit(&success(fields), OK);
    }
    println!("{jwt}");
    eprintln!(
        "development token: {} ({}) at {}, subject {}, valid {}s, key {}",
        args.role,
        if args.registered {
            "registered"
        } else {
            "not registered"
        },
        args.org,
        args.subject,
        args.ttl,
        issuer.kid(),
    );
    OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_with_units_and_bounds() {
        assert_eq!(parse_ttl("90"), Ok(90));
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert_eq!(parse_ttl("2d"), Ok(172_800));
        for bad in ["0", "31d", "1w", "h", "", "-1h", "1.5h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
