//! The receiving systems of a run: one healthy mock receiver shared by the healthy
//! subscriptions, and, when asked, one that answers after 2 s (slow) and one that answers 503
//! to everything (failing), each shared by its subscriptions.

use std::time::Duration;

use waymark_delivery::{
    Subscription,
    mock::{MockReceiver, Received},
};

/// The webhook secret of every bench subscription.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab";

/// How long the slow endpoints take to answer.
pub const SLOW: Duration = Duration::from_secs(2);

/// The receivers and the subscriptions pointing at them.
pub struct Receivers {
    healthy: MockReceiver,
    _slow: MockReceiver,
    _failing: MockReceiver,
    subscriptions: Vec<Subscription>,
    healthy_ids: Vec<String>,
}

impl Receivers {
    /// `n` subscriptions (alternately the embedded hub's prison-healthcare and probation
    /// recipients, every change, full resources), of which `slow` answer after [`SLOW`] and
    /// `failing` answer 503; the rest are healthy.
    pub async fn start(n: usize, slow: usize, failing: usize) -> anyhow::Result<Self> {
        let secrets = || vec![SECRET.to_owned()];
        let healthy = MockReceiver::start(secrets()).await?;
        let slow_rx = MockReceiver::start(secrets()).await?;
        slow_rx.go_slow(SLOW);
        let failing_rx = MockReceiver::start(secrets()).await?;
        failing_rx.go_down(true);
        let templates = crate::embedded::demo_subscriptions(&healthy.url(), &healthy.url(), SECRET);
        let run = uuid::Uuid::new_v4().simple().to_string();
        let mut subscriptions = Vec::with_capacity(n);
        let mut healthy_ids = Vec::new();
        for i in 0..n {
            let Some(template) = templates.get(i % templates.len()) else {
                break;
            };
            let mut sub = template.clone();
            sub.id = format!("bench-{}-{i}", &run[..8]);
            if i < slow {
                sub.endpoint = slow_rx.url();
            } else if i < slow + failing {
                sub.endpoint = failing_rx.url();
            } else {
                healthy_ids.push(sub.id.clone());
            }
            subscriptions.push(sub);
        }
        Ok(Self {
            healthy,
            _slow: slow_rx,
            _failing: failing_rx,
            subscriptions,
            healthy_ids,
        })
    }

    /// Every subscription.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.subscriptions.clone()
    }

    /// The ids of the healthy subscriptions.
    pub fn healthy_ids(&self) -> Vec<String> {
        self.healthy_ids.clone()
    }

    /// Distinct notifications the healthy receiver accepted.
    pub fn healthy_delivered(&self) -> usize {
        self.healthy.unique_ids().len()
    }

    /// Everything the healthy receiver accepted.
    pub fn healthy_received(&self) -> Vec<Received> {
        self.healthy.received()
    }

    /// Notifications the healthy receiver got more than once.
    pub fn duplicates(&self) -> usize {
        self.healthy.duplicates().len()
    }
}
