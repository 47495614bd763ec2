//! What this process handled, counted from its telemetry and printed as one line a person or a
//! test can read. Counts only: no ids, no patient data.
//!
//! The delivery events also feed a feed-health board of the process's own, whose operator
//! alerts (`ops.delivery.dead-letter`: resend with `$resend` once the endpoint is fixed;
//! `ops.subscription.silent`; `ops.subscription.deactivated`; `ops.subscription-failing`) are
//! logged once per transition, as the embedded hub logs them.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use tokio::{sync::mpsc, task::JoinHandle};
use waymark_delivery::DeliveryEvent;
use waymark_health::{AlertState, HealthBoard, HealthConfig};
use waymark_pipeline::PipelineEvent;

/// Messages this process handled, by outcome.
#[derive(Debug, Default)]
pub struct Counts {
    mapped: AtomicU64,
    quarantined: AtomicU64,
    recorded: AtomicU64,
    released: AtomicU64,
    delivered: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
    deactivated: AtomicU64,
    silent: AtomicU64,
}

impl Counts {
    /// Counts one stage event.
    pub fn pipeline(&self, event: &PipelineEvent) {
        let counter = match event {
            PipelineEvent::Mapped { .. } => &self.mapped,
            PipelineEvent::Quarantined { .. } => &self.quarantined,
            PipelineEvent::Recorded { .. } => &self.recorded,
            PipelineEvent::Released { .. } => &self.released,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one delivery event.
    pub fn delivery(&self, event: &DeliveryEvent) {
        let counter = match event {
            DeliveryEvent::Delivered { .. } => &self.delivered,
            DeliveryEvent::Retrying { .. } => &self.retried,
            DeliveryEvent::DeadLettered { .. } | DeliveryEvent::Rejected { .. } => &self.dead,
            DeliveryEvent::Deactivated { .. } => &self.deactivated,
            DeliveryEvent::Heartbeat {
                delivered: false, ..
            } => &self.silent,
            DeliveryEvent::Heartbeat { .. } => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `mapped=N quarantined=N recorded=N released=N delivered=N retried=N dead=N
    /// deactivated=N silent=N`.
    pub fn line(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "mapped={} quarantined={} recorded={} released={} delivered={} retried={} dead={} \
             deactivated={} silent={}",
            get(&self.mapped),
            get(&self.quarantined),
            get(&self.recorded),
            get(&self.released),
            get(&self.delivered),
            get(&self.retried),
            get(&self.dead),
            get(&self.deactivated),
            get(&self.silent),
        )
    }
}

/// Counts every event of both channels, printing a `handled` line each second the counts
/// changed, until the returned task is aborted.
pub(super) fn tally(
    counts: Arc<Counts>,
    mut pipeline: mpsc::UnboundedReceiver<PipelineEvent>,
    mut delivery: mpsc::UnboundedReceiver<DeliveryEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut printed = counts.line();
        let mut board = HealthBoard::new(HealthConfig::default());
        loop {
            tokio::select! {
                Some(event) = pipeline.recv() => counts.pipeline(&event),
                Some(event) = delivery.recv() => {
                    counts.delivery(&event);
                    alert(&mut board, &event);
                }
                _ = tick.tick() => {
                    let line = counts.line();
                    if line != printed {
                        eprintln!("waymark run: handled {line}");
                        printed = line;
                    }
                }
            }
        }
    })
}

/// Feeds the process's board with a delivery event and logs the alerts it raises or clears.
fn alert(board: &mut HealthBoard, event: &DeliveryEvent) {
    let now = Utc::now();
    board.observe(crate::embedded::from_delivery(event), now);
    for alert in board.evaluate(now) {
        match alert.state {
            AlertState::Raised => tracing::warn!(
                target: "waymark::health",
                code = alert.code, subject = %alert.subject, severity = ?alert.severity,
                detail = %alert.detail, "alert raised"
            ),
            AlertState::Cleared => tracing::info!(
                target: "waymark::health",
                code = alert.code, subject = %alert.subject, detail = %alert.detail,
                "alert cleared"
            ),
        }
    }
}
