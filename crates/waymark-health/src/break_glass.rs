//! `privacy.break-glass`: records served under break-glass, counted per caller role and
//! organisation over a window. Every new use raises the alert again (with the count), so the
//! privacy officer sees each one; it clears when the window passes without a use. Nothing of
//! the person or the stated reason is ever taken in.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

use crate::{Alert, AlertState, HealthBoard, Severity, codes};

/// Uses remembered per role and organisation (the oldest are forgotten beyond).
const USES_MAX: usize = 10_000;
/// Role and organisation pairs tracked; beyond, further organisations share one subject.
const SUBJECTS_MAX: usize = 1_000;
/// The organisation named once [`SUBJECTS_MAX`] is reached.
const OTHER: &str = "other-organisations";

/// The break-glass uses of one role at one organisation.
#[derive(Clone, Debug)]
pub(crate) struct Uses {
    role: String,
    organisation: String,
    times: VecDeque<DateTime<Utc>>,
    reported: usize,
    open: bool,
}

impl HealthBoard {
    /// One record served under break-glass to `role` at `organisation`, at `now`.
    pub(crate) fn break_glass_used(&mut self, role: &str, organisation: &str, now: DateTime<Utc>) {
        let mut subject = format!("{role}/{organisation}");
        let mut organisation = organisation;
        if !self.break_glass.contains_key(&subject) && self.break_glass.len() >= SUBJECTS_MAX {
            subject = format!("{role}/{OTHER}");
            organisation = OTHER;
        }
        let uses = self.break_glass.entry(subject).or_insert_with(|| Uses {
            role: role.to_owned(),
            organisation: organisation.to_owned(),
            times: VecDeque::new(),
            reported: 0,
            open: false,
        });
        uses.times.push_back(now);
        while uses.times.len() > USES_MAX {
            uses.times.pop_front();
        }
    }

    /// The break-glass alerts due at `now`: a raise for each subject with uses not reported
    /// yet, a clear for each whose window emptied.
    pub(crate) fn judge_break_glass(&mut self, now: DateTime<Utc>) -> Vec<Alert> {
        let secs = i64::try_from(self.config.break_glass_window_secs).unwrap_or(i64::MAX);
        let window = Duration::try_seconds(secs).unwrap_or(Duration::MAX);
        let cutoff = now.checked_sub_signed(window);
        let span = span(self.config.break_glass_window_secs);
        let mut alerts = Vec::new();
        for (subject, uses) in &mut self.break_glass {
            while uses
                .times
                .front()
                .is_some_and(|t| cutoff.is_some_and(|c| *t <= c))
            {
                uses.times.pop_front();
            }
            let count = uses.times.len();
            let state = if count > uses.reported {
                Some(AlertState::Raised)
            } else if count == 0 && uses.open {
                Some(AlertState::Cleared)
            } else {
                None
            };
            uses.reported = count;
            let Some(state) = state else { continue };
            uses.open = state == AlertState::Raised;
            let detail = format!(
                "{} at {}: {count} record(s) served under break-glass in the last {span}",
                uses.role, uses.organisation
            );
            alerts.push(Alert {
                code: codes::BREAK_GLASS,
                subject: subject.clone(),
                severity: Severity::Warning,
                state,
                at: now,
                detail,
            });
        }
        self.break_glass
            .retain(|_, u| u.open || !u.times.is_empty());
        for alert in &alerts {
            let key = (codes::BREAK_GLASS, alert.subject.clone());
            match alert.state {
                AlertState::Raised => self.conditions.insert(key, Severity::Warning),
                AlertState::Cleared => self.conditions.remove(&key),
            };
            self.keep(alert.clone());
        }
        alerts
    }
}

/// `24 h`, or `90 s` for a window that is not whole hours.
fn span(secs: u64) -> String {
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else {
        format!("{secs} s")
    }
}
