//! Faults the mock applies on purpose, to prove the adapter retries what may pass, keeps what
//! cannot, and never panics or loses a request.

use std::time::Duration;

/// What the mock does to one record's answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Answers normally.
    #[default]
    None,
    /// The first answer is delayed by [`MockFaults::slow`] (past a short client timeout).
    Slow,
    /// The first two answers are `503` with `Retry-After: 1`.
    ServerError,
    /// The first answer's connection is dropped half-way through the body.
    DroppedConnection,
    /// Every answer is `200` with a truncated (invalid) JSON body.
    Malformed,
    /// The record carries extensions GP Connect does not define (it still maps).
    UnknownExtensions,
}

/// Which faults the mock injects. `Default`: none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MockFaults {
    /// Faults given to records in turn (record *k* of the valid NHS numbers gets
    /// `cycle[k % every]` when `k % every < cycle.len()`).
    pub cycle: Vec<Fault>,
    /// The spacing of faulted records (at least `cycle.len()`).
    pub every: usize,
    /// The delay of a `Slow` answer.
    pub slow: Duration,
    /// Every fourth notification is written to the feed again, with a new sequence number.
    pub duplicate_notifications: bool,
    /// Feed pages are served in reverse sequence order and repeat the notification just
    /// before the cursor.
    pub disordered_feed: bool,
}

impl MockFaults {
    /// Every fault kind, spread one in `every` records, with duplicate and disordered
    /// notifications; `slow` is the delay of a slow answer.
    pub fn all(every: usize, slow: Duration) -> Self {
        Self {
            cycle: vec![
                Fault::Slow,
                Fault::ServerError,
                Fault::DroppedConnection,
                Fault::Malformed,
                Fault::UnknownExtensions,
            ],
            every: every.max(5),
            slow,
            duplicate_notifications: true,
            disordered_feed: true,
        }
    }

    /// The fault of the `k`-th record.
    pub(crate) fn assign(&self, k: usize) -> Fault {
        if self.cycle.is_empty() {
            return Fault::None;
        }
        let every = self.every.max(self.cycle.len());
        self.cycle.get(k % every).copied().unwrap_or(Fault::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_spread_in_turn() {
        let faults = MockFaults::all(10, Duration::ZERO);
        let got: Vec<Fault> = (0..12).map(|k| faults.assign(k)).collect();
        assert_eq!(got[0], Fault::Slow);
        assert_eq!(got[4], Fault::UnknownExtensions);
        assert_eq!(got[5], Fault::None);
        assert_eq!(got[10], Fault::Slow);
        assert_eq!(MockFaults::default().assign(0), Fault::None);
    }
}
