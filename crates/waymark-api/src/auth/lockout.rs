//! Lock-out after repeated failures, and a per-caller rate limit.
//!
//! Failures are counted per source address (every refusal) and per authenticated subject (a
//! refusal after the token verified: role, organisation, address). Claims of a token that did
//! not verify are never used as a key, so nobody can lock another user out by sending garbage
//! in their name. `max_failures` within `window_secs` lock the key for `lock_secs`; a locked
//! key is refused before any verification work. At most `max_tracked` keys are kept.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    net::IpAddr,
    sync::{Mutex, PoisonError},
};

use super::{
    config::{LockoutConfig, RateLimitConfig},
    error::AuthError,
};

/// What failures are counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LockKey {
    /// A source address.
    Address(IpAddr),
    /// An authenticated subject (`iss` + `sub`).
    Subject(String),
}

#[derive(Default)]
struct Failures {
    at: VecDeque<i64>,
    locked_until: Option<i64>,
}

struct Window {
    start: i64,
    count: u32,
}

/// The lock-out and rate-limit state of one authenticator.
pub(crate) struct Guard {
    lockout: LockoutConfig,
    rate: RateLimitConfig,
    failures: Mutex<HashMap<LockKey, Failures>>,
    windows: Mutex<HashMap<String, Window>>,
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Guard {
    pub fn new(lockout: LockoutConfig, rate: RateLimitConfig) -> Self {
        Self {
            lockout,
            rate,
            failures: Mutex::default(),
            windows: Mutex::default(),
        }
    }

    /// Refuses a locked key, saying when it is released.
    pub fn check(&self, key: &LockKey, now: i64) -> Result<(), AuthError> {
        let map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(key).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(AuthError::LockedOut {
                retry_after: u64::try_from(until - now).unwrap_or(1),
            }),
            _ => Ok(()),
        }
    }

    /// Counts a failure; locks the key at the threshold.
    pub fn fail(&self, key: LockKey, now: i64) {
        let window = secs(self.lockout.window_secs);
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if !map.contains_key(&key) && map.len() >= self.lockout.max_tracked {
            evict(&mut map, |f| {
                f.locked_until
                    .unwrap_or(0)
                    .max(f.at.back().copied().unwrap_or(0))
            });
        }
        let entry = map.entry(key).or_default();
        if entry.locked_until.is_some_and(|until| until <= now) {
            *entry = Failures::default();
        }
        entry.at.push_back(now);
        while entry
            .at
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= window)
        {
            entry.at.pop_front();
        }
        let max = usize::try_from(self.lockout.max_failures).unwrap_or(usize::MAX);
        if entry.at.len() >= max {
            entry.locked_until = Some(now.saturating_add(secs(self.lockout.lock_secs)));
            entry.at.clear();
        }
    }

    /// Counts one request of `client` (a caller); refuses it over the limit.
    pub fn rate(&self, client: &str, now: i64) -> Result<(), AuthError> {
        if self.rate.requests == 0 {
            return Ok(());
        }
        let per = secs(self.rate.per_secs);
        let mut map = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if !map.contains_key(client) && map.len() >= self.lockout.max_tracked {
            evict(&mut map, |w| w.start);
        }
        let window = map.entry(client.to_owned()).or_insert(Window {
            start: now,
            count: 0,
        });
        if now.saturating_sub(window.start) >= per {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        if window.count >= self.rate.requests {
            let retry = window.start.saturating_add(per).saturating_sub(now);
            return Err(AuthError::RateLimited {
                retry_after: u64::try_from(retry).unwrap_or(1),
            });
        }
        window.count += 1;
        Ok(())
    }
}

/// Drops the entry with the oldest activity.
fn evict<K: Clone + Eq + Hash, V>(map: &mut HashMap<K, V>, last: impl Fn(&V) -> i64) {
    if let Some(oldest) = map
        .iter()
        .min_by_key(|(_, v)| last(v))
        .map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(max_tracked: usize) -> Guard {
        Guard::new(
            LockoutConfig {
                max_failures: 3,
                window_secs: 60,
                lock_secs: 600,
                max_tracked,
            },
            RateLimitConfig {
                requests: 2,
                per_secs: 10,
            },
        )
    }

    #[test]
    fn failures_in_a_window_lock_until_the_period_ends() {
        let g = guard(10);
        let key = LockKey::Address("10.0.0.1".parse().unwrap());
        g.fail(key.clone(), 0);
        g.fail(key.clone(), 30);
        g.fail(key.clone(), 70); // the first fell out of the window
        assert!(g.check(&key, 70).is_ok());
        g.fail(key.clone(), 80);
        assert_eq!(
            g.check(&key, 80),
            Err(AuthError::LockedOut { retry_after: 600 })
        );
        assert_eq!(
            g.check(&key, 679),
            Err(AuthError::LockedOut { retry_after: 1 })
        );
        assert!(g.check(&key, 680).is_ok());
        g.fail(key.clone(), 681);
        assert!(g.check(&key, 681).is_ok(), "a fresh count after the lock");
    }

    #[test]
    fn the_rate_limit_is_per_client_and_per_window() {
        let g = guard(10);
        assert!(g.rate("a", 0).is_ok());
        assert!(g.rate("a", 1).is_ok());
        assert_eq!(
            g.rate("a", 4),
            Err(AuthError::RateLimited { retry_after: 6 })
        );
        assert!(g.rate("b", 4).is_ok());
        assert!(g.rate("a", 10).is_ok());
    }

    #[test]
    fn tracking_is_bounded() {
        let g = guard(2);
        for i in 0..5u8 {
            g.fail(LockKey::Address([10, 0, 0, i].into()), i64::from(i));
        }
        assert_eq!(g.failures.lock().unwrap().len(), 2);
    }
}
