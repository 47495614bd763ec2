//! Retry timing: exponential backoff with jitter, and `Retry-After`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header;

/// The first retry delay (before jitter).
pub const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// The longest retry delay, and the longest `Retry-After` honoured.
pub const BACKOFF_CAP: Duration = Duration::from_secs(6 * 3600);

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
