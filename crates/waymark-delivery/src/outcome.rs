//! What one delivery attempt came to, from an HTTP status or a transport error.

use std::time::Duration;

use reqwest::StatusCode;

use crate::endpoint::AddressRefused;

/// The `reason` of a [`DeliveryOutcome::Rejected`] for `410 Gone`.
pub const GONE: &str = "gone";

/// What one delivery attempt came to. Reasons hold status codes and error kinds, never content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The endpoint accepted it (2xx).
    Delivered {
        /// The HTTP status.
        status: u16,
    },
    /// Try again after `after`: 408, 429, 5xx, 3xx, connection failures, timeouts.
    Retry {
        /// How long to wait (the endpoint's `Retry-After`, else [`backoff`](crate::backoff)).
        after: Duration,
        /// Why, e.g. `http 503`, `timed out`.
        reason: String,
    },
    /// It can never succeed: 410 ([`GONE`]) and other 4xx.
    Rejected {
        /// Why, e.g. `gone`, `http 401`.
        reason: String,
    },
}

impl DeliveryOutcome {
    /// Whether the endpoint answered `410 Gone`: the subscription is to be switched off.
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Rejected { reason } if reason == GONE)
    }
}

/// The outcome for an HTTP status; `after` is used when it says to retry.
pub(crate) fn classify(status: StatusCode, after: Duration) -> DeliveryOutcome {
    let code = status.as_u16();
    if status.is_success() {
        return DeliveryOutcome::Delivered { status: code };
    }
    let retry = |reason: String| DeliveryOutcome::Retry { after, reason };
    match code {
        408 | 429 => retry(format!("http {code}")),
        410 => DeliveryOutcome::Rejected {
            reason: GONE.into(),
        },
        400..=499 => DeliveryOutcome::Rejected {
            reason: format!("http {code}"),
        },
        300..=399 => retry(format!("http {code} (redirects are not followed)")),
        _ => retry(format!("http {code}")),
    }
}

pub(crate) fn error_kind(e: &reqwest::Error) -> &'static str {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<AddressRefused>() {
            return "endpoint address refused by policy";
        }
        source = err.source();
    }
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let after = Duration::from_secs(7);
        let retry = |reason: &str| DeliveryOutcome::Retry {
            after,
            reason: reason.into(),
        };
        let check = |code: u16| classify(StatusCode::from_u16(code).unwrap(), after);
        assert_eq!(check(200), DeliveryOutcome::Delivered { status: 200 });
        assert_eq!(check(204), DeliveryOutcome::Delivered { status: 204 });
        assert_eq!(check(408), retry("http 408"));
        assert_eq!(check(429), retry("http 429"));
        assert_eq!(check(500), retry("http 500"));
        assert_eq!(check(503), retry("http 503"));
        assert_eq!(
            check(410),
            DeliveryOutcome::Rejected {
                reason: "gone".into()
            }
        );
        assert_eq!(
            check(401),
            DeliveryOutcome::Rejected {
                reason: "http 401".into()
            }
        );
        assert_eq!(
            check(404),
            DeliveryOutcome::Rejected {
                reason: "http 404".into()
            }
        );
        assert!(matches!(check(302), DeliveryOutcome::Retry { .. }));
    }
}
