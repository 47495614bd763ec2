//! How a `receive` waits on a queue with nothing deliverable, without polling.
//!
//! Only one process uses the file (see the module docs of `sqlite`), so every change that can
//! make a message deliverable *now* happens in this process and wakes the queue's waiters: a
//! publish, an ack (it may unblock the next message of a key), a nack (retry now, or a new due
//! time), a reject, a dead-lettering (into the dead-letter queue). Everything else that makes a
//! message deliverable is the clock: a retry coming due or a lease running out, both stored as
//! the row's `visible_at`. So an idle receiver sleeps until the earliest `visible_at` still in
//! the future on its queue ([`next_due`]) or a wake-up, whichever comes first, and an idle queue
//! costs no queries at all. A message held back only by an older one with its key needs no
//! timer of its own: the older row's `visible_at` is in the set, and its ack, reject or
//! dead-lettering wakes the queue.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use sqlx::SqliteConnection;
use tokio::sync::Notify;

use super::backend;
use crate::BusError;

/// The wake-up signal of each queue's waiting receivers.
#[derive(Default)]
pub(super) struct Wakers(Mutex<HashMap<String, Arc<Notify>>>);

impl Wakers {
    /// The signal of `queue` (created on first use).
    pub fn of(&self, queue: &str) -> Arc<Notify> {
        let mut wakers = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(wakers.entry(queue.to_owned()).or_default())
    }

    /// Wakes `queue`'s waiting receivers: something may have become deliverable.
    pub fn wake(&self, queue: &str) {
        self.of(queue).notify_waiters();
    }
}

/// The earliest time after `now` (unix ms) at which a row of `queue` becomes visible: a delayed
/// retry's due time or an in-flight lease's end. `None` when no row is waiting on the clock.
pub(super) async fn next_due(
    conn: &mut SqliteConnection,
    queue: &str,
    now: i64,
) -> Result<Option<i64>, BusError> {
    let (due,): (Option<i64>,) =
        sqlx::query_as("SELECT MIN(visible_at) FROM messages WHERE queue = ?1 AND visible_at > ?2")
            .bind(queue)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
    Ok(due)
}

/// How long an idle receiver sleeps before looking again, unless woken: until the next due
/// time (`due`, unix ms; `now` likewise), but no longer than the receive has `left` nor than
/// the safety-net `cap`, and at least 1 ms (so a due time a hair away does not spin).
pub(super) fn pause(now: i64, due: Option<i64>, left: Duration, cap: Duration) -> Duration {
    let until_due = due.map_or(Duration::MAX, |due| {
        Duration::from_millis(due.saturating_sub(now).max(0).unsigned_abs())
    });
    until_due.min(left).min(cap).max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    #[test]
    fn sleeps_until_the_next_due_time() {
        let pause = pause(1_000, Some(1_250), LONG, LONG);
        assert_eq!(pause, Duration::from_millis(250));
    }

    #[test]
    fn nothing_due_sleeps_out_the_wait_or_the_cap() {
        assert_eq!(
            pause(0, None, Duration::from_secs(5), LONG),
            Duration::from_secs(5)
        );
        assert_eq!(
            pause(0, None, LONG, Duration::from_secs(30)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn never_past_the_deadline_and_never_zero() {
        let left = Duration::from_millis(40);
        assert_eq!(pause(0, Some(10_000), left, LONG), left);
        assert_eq!(pause(500, Some(500), LONG, LONG), Duration::from_millis(1));
        assert_eq!(pause(900, Some(500), LONG, LONG), Duration::from_millis(1));
        assert_eq!(
            pause(0, None, Duration::ZERO, LONG),
            Duration::from_millis(1)
        );
    }
}
