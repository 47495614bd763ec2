//! What a bus says about its link to its backend: read by the health endpoint and telemetry.

use std::time::Duration;

/// The state of a bus's link to its backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Connected; publishes are confirmed.
    Up,
    /// Not connected: publishers wait and retry with back-off, receivers get nothing.
    Down,
    /// Connected, but the broker has blocked publishing (a disk or memory alarm): publishers
    /// wait until it lifts; nothing is dropped.
    Blocked,
}

impl LinkState {
    /// `up`, `down` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Blocked => "blocked",
        }
    }
}

/// A snapshot of a bus's link. Holds no message content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusHealth {
    /// Which bus: `embedded` or `rabbitmq`.
    pub backend: &'static str,
    /// The link now.
    pub state: LinkState,
    /// How long it has been in this state (zero when unknown).
    pub for_how_long: Duration,
    /// Connections (re)established since the bus was opened, the first included.
    pub connects: u64,
    /// Publishes waiting for the broker right now (retrying or blocked).
    pub waiting_publishes: u64,
    /// The last backend error, if any (broker and socket text only, never message content).
    pub last_error: Option<String>,
}

impl BusHealth {
    /// A bus that has no link to lose: always up.
    pub fn up(backend: &'static str) -> Self {
        Self {
            backend,
            state: LinkState::Up,
            for_how_long: Duration::ZERO,
            connects: 0,
            waiting_publishes: 0,
            last_error: None,
        }
    }

    /// Whether publishes go through now.
    pub fn is_up(&self) -> bool {
        self.state == LinkState::Up
    }
}
