//! The wait between a consumer's attempts to subscribe (see `consumer`).

use std::time::Duration;

/// The wait between a consumer's failed attempts: from 250 ms, doubling to 5 s, each wait
/// spread by up to a half so that the consumers of several processes do not retry in step.
/// A subscription that held for [`HEALTHY`] starts the next round from the shortest wait.
pub(super) struct Pause {
    next: Duration,
    waits: u64,
}

/// The shortest and longest waits between a consumer's attempts.
const PAUSE: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(5));
/// How long a subscription must hold to count as healthy.
const HEALTHY: Duration = Duration::from_secs(10);

impl Default for Pause {
    fn default() -> Self {
        Self {
            next: PAUSE.0,
            waits: 0,
        }
    }
}

impl Pause {
    pub(super) async fn wait(&mut self) {
        tokio::time::sleep(self.spread()).await;
        self.next = (self.next * 2).min(PAUSE.1);
        self.waits += 1;
    }

    /// `next` plus up to half of it, varied by the time and the count of waits.
    fn spread(&self) -> Duration {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
        let salt = nanos ^ self.waits.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let half = u64::try_from(self.next.as_micros() / 2)
            .unwrap_or(u64::MAX)
            .max(1);
        self.next + Duration::from_micros(salt % half)
    }

    /// A subscription ended after `held`: after a healthy one the next attempt is at once
    /// and the waits start again from the shortest; after a short one (the broker took the
    /// subscription and dropped it soon after) the next attempt waits.
    pub(super) async fn after_subscription(&mut self, held: Duration) {
        if held >= HEALTHY {
            *self = Self::default();
        } else {
            self.wait().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_to_the_longest_and_spread_by_at_most_a_half() {
        let mut pause = Pause::default();
        for _ in 0..10 {
            let spread = pause.spread();
            assert!(spread >= pause.next && spread <= pause.next + pause.next / 2);
            pause.next = (pause.next * 2).min(PAUSE.1);
            pause.waits += 1;
        }
        assert_eq!(pause.next, PAUSE.1);
    }

    #[tokio::test]
    async fn a_short_subscription_waits_a_healthy_one_starts_the_waits_again() {
        let mut pause = Pause::default();
        let before = std::time::Instant::now();
        pause.after_subscription(Duration::from_millis(10)).await;
        assert!(before.elapsed() >= PAUSE.0, "a short subscription waits");
        assert_eq!((pause.next, pause.waits), (PAUSE.0 * 2, 1));
        pause.after_subscription(HEALTHY).await;
        assert_eq!((pause.next, pause.waits), (PAUSE.0, 0));
    }
}
