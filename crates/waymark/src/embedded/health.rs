//! The shell around the feed-health board: every stage and delivery event is converted into an
//! [`Observation`] and passed on to the caller's receivers unchanged (a fan-out); once a second
//! the queue depths of the subscriptions now in the live set are sampled and the board
//! re-judged, and each alert it returns is logged (dead letters, silent endpoints and
//! subscriptions switched off by `410 Gone` among them).

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use chrono::Utc;
use tokio::{
    sync::mpsc::{self, UnboundedReceiver, UnboundedSender},
    task::JoinHandle,
};
use waymark_api::SharedHealth;
use waymark_bus::{Bus, dead_letter_name};
use waymark_delivery::{DeliveryEvent, queue_name};
use waymark_health::{Alert, AlertState, HealthBoard, HealthConfig, Observation};
use waymark_pipeline::{INGEST, PipelineEvent, RECORD, RELEASE, SubscriptionSet, Telemetry};

/// How often depths are sampled and conditions re-judged.
const TICK: Duration = Duration::from_secs(1);

/// The board and the tasks feeding it.
pub struct HealthTap {
    /// The board, for the API and for tests.
    pub board: SharedHealth,
    /// What the stages get instead of the caller's telemetry.
    pub telemetry: Telemetry,
    /// What the delivery workers get instead of the caller's sender.
    pub delivery_events: UnboundedSender<DeliveryEvent>,
    tasks: Vec<JoinHandle<()>>,
}

impl HealthTap {
    /// Starts the fan-out: events reach the board and then `telemetry` / `delivery_out`.
    pub fn start(
        config: HealthConfig,
        subscriptions: Arc<SubscriptionSet>,
        bus: Arc<dyn Bus>,
        telemetry: Telemetry,
        delivery_out: UnboundedSender<DeliveryEvent>,
    ) -> Self {
        let board: SharedHealth = Arc::new(Mutex::new(HealthBoard::new(config)));
        Self::attach(board, subscriptions, bus, telemetry, delivery_out)
    }

    /// [`start`](Self::start) on an existing board, e.g. one kept across a restart of the hub,
    /// so what the board learnt before (best completeness, open alerts) carries on.
    pub fn attach(
        board: SharedHealth,
        subscriptions: Arc<SubscriptionSet>,
        bus: Arc<dyn Bus>,
        telemetry: Telemetry,
        delivery_out: UnboundedSender<DeliveryEvent>,
    ) -> Self {
        announce(&board, &subscriptions);
        let (tap, pipeline_rx) = Telemetry::channel();
        let (delivery_tx, delivery_rx) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(pump_pipeline(board.clone(), pipeline_rx, telemetry)),
            tokio::spawn(pump_delivery(board.clone(), delivery_rx, delivery_out)),
            tokio::spawn(tick(board.clone(), bus, subscriptions)),
        ];
        Self {
            board,
            telemetry: tap,
            delivery_events: delivery_tx,
            tasks,
        }
    }

    /// Stops the tasks.
    pub fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Lists every subscription of the set on the board (an idle one shows too).
fn announce(board: &SharedHealth, subscriptions: &SubscriptionSet) {
    let snapshot = subscriptions.snapshot();
    with_board(board, |b| {
        for sub in snapshot.iter() {
            b.announce_subscription(&sub.id);
        }
    });
}

fn with_board<R>(board: &SharedHealth, f: impl FnOnce(&mut HealthBoard) -> R) -> R {
    f(&mut board.lock().unwrap_or_else(PoisonError::into_inner))
}

fn observe(board: &SharedHealth, observation: Observation) {
    let alerts = with_board(board, |b| {
        let now = Utc::now();
        b.observe(observation, now);
        b.evaluate(now)
    });
    log_alerts(&alerts);
}

async fn pump_pipeline(
    board: SharedHealth,
    mut events: UnboundedReceiver<PipelineEvent>,
    out: Telemetry,
) {
    while let Some(event) = events.recv().await {
        if let Some(observation) = from_pipeline(&event) {
            observe(&board, observation);
        }
        out.forward(event);
    }
}

async fn pump_delivery(
    board: SharedHealth,
    mut events: UnboundedReceiver<DeliveryEvent>,
    out: UnboundedSender<DeliveryEvent>,
) {
    while let Some(event) = events.recv().await {
        observe(&board, from_delivery(&event));
        // A dropped receiver only means the caller is not listening.
        let _ = out.send(event);
    }
}

async fn tick(board: SharedHealth, bus: Arc<dyn Bus>, subscriptions: Arc<SubscriptionSet>) {
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        // The set changes while the hub runs (the API creates and deletes subscriptions).
        announce(&board, &subscriptions);
        let ids: Vec<String> = subscriptions
            .snapshot()
            .iter()
            .map(|s| s.id.clone())
            .collect();
        let mut depths = Vec::new();
        for stage in [INGEST, RECORD, RELEASE] {
            // A stage's dead letters are acknowledged messages no stage will take again: an
            // operator must see them (`waymark_queue_depth{queue="waymark.map.dead"}` etc.).
            for queue in [stage.to_owned(), dead_letter_name(stage)] {
                if let Ok(depth) = bus.depth(&queue).await {
                    depths.push((queue, depth.total()));
                }
            }
        }
        let mut backlogs = Vec::new();
        for id in &ids {
            let queue = queue_name(id);
            let (Ok(live), Ok(dead)) = (
                bus.depth(&queue).await,
                bus.depth(&dead_letter_name(&queue)).await,
            ) else {
                continue;
            };
            depths.push((queue, live.total()));
            backlogs.push((id.clone(), live.total(), dead.total()));
        }
        let alerts = with_board(&board, |b| {
            for (queue, depth) in &depths {
                b.set_queue_depth(queue, *depth);
            }
            for (id, live, dead) in &backlogs {
                b.set_backlog(id, *live, *dead);
            }
            b.evaluate(Utc::now())
        });
        log_alerts(&alerts);
    }
}

fn log_alerts(alerts: &[Alert]) {
    for alert in alerts {
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

/// What the board needs of a stage event (nothing of a patient but the hub's person key,
/// which the board hashes at once).
fn from_pipeline(event: &PipelineEvent) -> Option<Observation> {
    Some(match event {
        PipelineEvent::Mapped { source, .. } => Observation::Received {
            source: source.as_str().to_owned(),
        },
        PipelineEvent::Quarantined {
            source,
            stage,
            code,
            ..
        } => Observation::Quarantined {
            source: source.map(|s| s.as_str().to_owned()),
            stage: (*stage).to_owned(),
            code: code.clone(),
        },
        PipelineEvent::Recorded {
            applied_now: false, ..
        }
        | PipelineEvent::BreakGlass { .. } => return None,
        PipelineEvent::Recorded {
            person_id,
            source,
            site,
            event_time,
            items,
            ..
        } => Observation::Recorded {
            source: source.as_str().to_owned(),
            site: site.clone(),
            event_time: *event_time,
            person_key: person_id.clone(),
            items: items.clone(),
        },
        PipelineEvent::Released {
            event_id,
            subscription,
            withheld,
            source,
            site,
            event_time,
            ..
        } => Observation::Released {
            delivery: event_id.child(subscription).as_str().to_owned(),
            subscription: subscription.clone(),
            source: source.clone(),
            site: site.clone(),
            event_time: Some(*event_time),
            withheld_resources: *withheld,
        },
        PipelineEvent::NotReleased {
            subscription, code, ..
        } => Observation::Withheld {
            subscription: subscription.clone(),
            code: code.clone(),
        },
    })
}

/// What the board needs of a delivery event (ids and outcomes only); `waymark run` feeds its
/// own board with it too.
pub(crate) fn from_delivery(event: &DeliveryEvent) -> Observation {
    match event {
        DeliveryEvent::Delivered {
            subscription,
            message_id,
            ..
        } => Observation::Delivered {
            delivery: message_id.as_str().to_owned(),
            subscription: subscription.clone(),
        },
        DeliveryEvent::Retrying { subscription, .. } => Observation::Retried {
            subscription: subscription.clone(),
        },
        DeliveryEvent::DeadLettered { subscription, .. }
        | DeliveryEvent::Rejected { subscription, .. } => Observation::DeadLettered {
            subscription: subscription.clone(),
        },
        DeliveryEvent::Deactivated { subscription, .. } => Observation::Deactivated {
            subscription: subscription.clone(),
        },
        DeliveryEvent::Heartbeat {
            subscription,
            delivered,
            ..
        } => Observation::Heartbeat {
            subscription: subscription.clone(),
            delivered: *delivered,
        },
    }
}
