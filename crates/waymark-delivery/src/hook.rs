//! The rest-hook channel: POST a signed notification, classify the answer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{StatusCode, header};

use crate::{Subscription, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, sign};

/// The first retry delay (before jitter).
pub const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// The longest retry delay, and the longest `Retry-After` honoured.
pub const BACKOFF_CAP: Duration = Duration::from_secs(6 * 3600);

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
        /// How long to wait (the endpoint's `Retry-After`, else [`backoff`]).
        after: Duration,
        /// Why, e.g. `http 503`, `timed out`.
        reason: String,
    },
    /// It can never succeed: 410 (`gone`) and other 4xx.
    Rejected {
        /// Why, e.g. `gone`, `http 401`.
        reason: String,
    },
}

/// Settings of a [`RestHook`].
#[derive(Clone, Debug)]
pub struct RestHookConfig {
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for the whole request, response headers and the (small) body read included.
    pub timeout: Duration,
    /// Response body bytes read (and discarded) at most; the rest is never read.
    pub max_response_bytes: usize,
}

impl Default for RestHookConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_response_bytes: 4096,
        }
    }
}

/// The HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("rest-hook client could not be built: {0}")]
pub struct HookError(String);

/// Posts notifications to subscribers' endpoints.
#[derive(Clone, Debug)]
pub struct RestHook {
    client: reqwest::Client,
    max_response_bytes: usize,
}

impl RestHook {
    /// A client with the config's timeouts that never follows redirects (a redirect must not
    /// carry a notification to a host nobody configured).
    pub fn new(config: &RestHookConfig) -> Result<Self, HookError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("waymark/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HookError(e.to_string()))?;
        Ok(Self {
            client,
            max_response_bytes: config.max_response_bytes,
        })
    }

    /// Signs and POSTs `body` to the subscription's endpoint as a first attempt.
    pub async fn send(
        &self,
        sub: &Subscription,
        webhook_id: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> DeliveryOutcome {
        self.send_attempt(sub, webhook_id, body, now, 1).await
    }

    /// As [`RestHook::send`], for delivery attempt `attempt` (1, 2, ...), which sets the backoff
    /// when the endpoint gives no `Retry-After`.
    pub async fn send_attempt(
        &self,
        sub: &Subscription,
        webhook_id: &str,
        body: &[u8],
        now: DateTime<Utc>,
        attempt: u32,
    ) -> DeliveryOutcome {
        let backoff_delay = backoff(attempt, jitter(webhook_id, attempt));
        let timestamp = now.timestamp();
        let signature = match sign(sub.secret.expose(), webhook_id, timestamp, body) {
            Ok(s) => s,
            // Our configuration is wrong, not the message: keep it queued until it is fixed.
            Err(e) => {
                return DeliveryOutcome::Retry {
                    after: BACKOFF_CAP,
                    reason: e.to_string(),
                };
            }
        };
        let request = self
            .client
            .post(&sub.endpoint)
            .header(header::CONTENT_TYPE, "application/fhir+json")
            .header(WEBHOOK_ID, webhook_id)
            .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(WEBHOOK_SIGNATURE, signature)
            .body(body.to_vec());
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let after = retry_after(response.headers().get(header::RETRY_AFTER), now);
                self.drain(response).await;
                classify(status, after.unwrap_or(backoff_delay))
            }
            Err(e) => DeliveryOutcome::Retry {
                after: backoff_delay,
                reason: error_kind(&e).into(),
            },
        }
    }

    /// Reads at most `max_response_bytes` of the body (so the connection can be reused) and
    /// drops it unread beyond that; the content is never looked at.
    async fn drain(&self, mut response: reqwest::Response) {
        let mut read = 0;
        while read < self.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
    }
}

/// The outcome for an HTTP status; `after` is used when it says to retry.
fn classify(status: StatusCode, after: Duration) -> DeliveryOutcome {
    let code = status.as_u16();
    if status.is_success() {
        return DeliveryOutcome::Delivered { status: code };
    }
    let retry = |reason: String| DeliveryOutcome::Retry { after, reason };
    match code {
        408 | 429 => retry(format!("http {code}")),
        410 => DeliveryOutcome::Rejected {
            reason: "gone".into(),
        },
        400..=499 => DeliveryOutcome::Rejected {
            reason: format!("http {code}"),
        },
        300..=399 => retry(format!("http {code} (redirects are not followed)")),
        _ => retry(format!("http {code}")),
    }
}

fn error_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

/// The delay a `Retry-After` header asks for: delay-seconds or an HTTP date (relative to
/// `now`), at most [`BACKOFF_CAP`]. `None` when absent or unreadable.
pub fn retry_after(value: Option<&header::HeaderValue>, now: DateTime<Utc>) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    let delay = match text.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(delay.min(BACKOFF_CAP))
}

/// Exponential backoff with "equal jitter": the delay after failed attempt `attempt` (1-based)
/// is `d/2 + rng_value·d/2` where `d = min(BACKOFF_CAP, BACKOFF_BASE·2^(attempt-1))` and
/// `rng_value` is in `[0, 1]` (clamped). Pure.
pub fn backoff(attempt: u32, rng_value: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let full = BACKOFF_BASE.saturating_mul(1 << exponent).min(BACKOFF_CAP);
    let half = full / 2;
    half + half.mul_f64(rng_value.clamp(0.0, 1.0))
}

/// A jitter value in `[0, 1)` from a message id and attempt number: different messages retry at
/// different times, and the same attempt of the same message always waits the same (FNV-1a).
pub fn jitter(webhook_id: &str, attempt: u32) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in webhook_id.bytes().chain(attempt.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // The top 53 bits as a fraction; precision loss is the point.
    #[allow(clippy::cast_precision_loss)]
    let fraction = (hash >> 11) as f64 / (1u64 << 53) as f64;
    fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let secs = |a, r| backoff(a, r).as_secs_f64();
        assert_eq!(secs(1, 0.0), 15.0);
        assert_eq!(secs(1, 1.0), 30.0);
        assert_eq!(secs(2, 0.0), 30.0);
        assert_eq!(secs(3, 0.5), 90.0);
        assert_eq!(secs(0, 0.0), 15.0, "attempt 0 is treated as the first");
        assert_eq!(backoff(50, 1.0), BACKOFF_CAP);
        assert_eq!(backoff(u32::MAX, 0.0), BACKOFF_CAP / 2);
        assert_eq!(backoff(2, 7.0), backoff(2, 1.0), "rng value clamped");
        for attempt in 1..40 {
            assert!(backoff(attempt + 1, 0.0) >= backoff(attempt, 0.0));
        }
    }

    #[test]
    fn jitter_is_in_range_and_spreads() {
        let values: Vec<f64> = (0..1000).map(|n| jitter(&format!("msg-{n}"), 1)).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let low = values.iter().filter(|v| **v < 0.5).count();
        assert!((400..600).contains(&low), "{low}");
        assert_eq!(jitter("m", 1), jitter("m", 1));
        assert_ne!(jitter("m", 1), jitter("m", 2));
    }

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

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .to_utc();
        let header = |s: &'static str| header::HeaderValue::from_static(s);
        assert_eq!(
            retry_after(Some(&header("120")), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(Some(&header("99999999")), now),
            Some(BACKOFF_CAP)
        );
        let date = header("Wed, 21 Oct 2015 07:30:00 GMT");
        assert_eq!(
            retry_after(Some(&date), now),
            Some(Duration::from_secs(120))
        );
        let past = header("Wed, 21 Oct 2015 07:00:00 GMT");
        assert_eq!(retry_after(Some(&past), now), Some(Duration::ZERO));
        assert_eq!(retry_after(Some(&header("soon")), now), None);
        assert_eq!(retry_after(None, now), None);
    }
}
