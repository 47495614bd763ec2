//! Alerts: values the board produces when a condition changes state; the shell logs them and
//! the dashboard lists them.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Needs a look.
    Warning,
    /// Needs action now.
    Critical,
}

/// Whether the alert starts or ends a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition began (or got worse).
    Raised,
    /// The condition ended.
    Cleared,
}

/// One state transition of one condition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// Stable code, e.g. `ops.feed-quiet` (see [`crate::codes`]).
    pub code: &'static str,
    /// What it is about: a source code, a subscription id, or a caller's `role/organisation`
    /// (never a person).
    pub subject: String,
    /// How bad (of the new state, for a raise; of the old one, for a clear).
    pub severity: Severity,
    /// Raised or cleared.
    pub state: AlertState,
    /// When the board noticed.
    pub at: DateTime<Utc>,
    /// One line for a human, with counts and codes only.
    pub detail: String,
}
