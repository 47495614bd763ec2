//! Recovery and memory in flight: a backlog of envelopes is queued while no stage runs (the
//! hub is down), then a hub is started over it and the clock runs until every envelope is
//! recorded and every notification delivered. The process's RSS before and after queueing,
//! and its peak while draining, give the memory per 10 k in-flight records. Loss and
//! duplicates after `kill -9` are measured by the test suite, not here.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use waymark_adapter_nomis::Population;
use waymark_bus::Message;

use super::{
    Context,
    e2e::{self, PUBLISHERS},
    fixtures,
    hub::{self, Backend},
    stats,
    subs::Receivers,
};

/// Where loss and duplicates after `kill -9` are measured (must be 0 / 0).
pub const KILL_9_TESTS: &str = "crates/waymark/tests/it/faults/ (worker, hub, broker, \
     postgres: kill -9 of a worker, the hub, RabbitMQ, PostgreSQL) and \
     crates/waymark/tests/it/restart.rs (stop and restart mid-stream): every envelope \
     delivered, none twice";

/// The envelopes the design's recovery figure is for.
const DESIGN_BACKLOG: f64 = 100_000.0;

/// What one drain measured.
#[derive(Clone, Debug, Default)]
pub struct Drain {
    /// Envelopes queued.
    pub backlog: usize,
    /// Seconds to queue them (no stage running).
    pub queue_s: f64,
    /// Seconds from the stages' start to the last delivery.
    pub drain_s: f64,
    /// RSS before queueing, once queued, and the peak while queued and draining (bytes).
    pub rss_before: u64,
    /// RSS with the backlog queued.
    pub rss_queued: u64,
    /// Peak RSS from the start of queueing to the end of the drain.
    pub rss_peak: u64,
    /// Whether the peak was reset before queueing (else it is the process's lifetime peak).
    pub peak_reset: bool,
    /// Notifications delivered and received twice.
    pub delivered: usize,
    /// Notifications received twice.
    pub duplicates: usize,
}

impl Drain {
    /// Envelopes per second drained.
    pub fn rate(&self) -> f64 {
        self.backlog as f64 / self.drain_s.max(1e-9)
    }

    /// MiB per 10 k in-flight envelopes of an RSS `bytes` above the RSS before queueing.
    pub fn per_10k(&self, bytes: u64) -> f64 {
        e2e::mib(bytes.saturating_sub(self.rss_before)) * 10_000.0 / self.backlog.max(1) as f64
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({"backlog": self.backlog, "queue_s": self.queue_s, "drain_s": self.drain_s,
            "drain_records_per_s": self.rate(),
            "extrapolated_100k_s": DESIGN_BACKLOG / self.rate().max(1e-9),
            "rss_before_mib": e2e::mib(self.rss_before),
            "rss_queued_mib": e2e::mib(self.rss_queued), "rss_peak_mib": e2e::mib(self.rss_peak),
            "peak_reset_before_queueing": self.peak_reset,
            "steady_mib_per_10k_in_flight": self.per_10k(self.rss_queued),
            "peak_mib_per_10k_in_flight": self.per_10k(self.rss_peak),
            "notifications_delivered": self.delivered, "duplicates": self.duplicates})
    }
}

/// The recovery section, on each backend.
pub async fn run(cx: &mut Context<'_>) -> anyhow::Result<()> {
    cx.progress.say(
        "recovery",
        &format!("capturing {} envelopes for the backlog", cx.opts.backlog),
    );
    let messages = backlog(cx.opts.backlog).await?;
    for backend in cx.services.backends() {
        let name = backend.name();
        cx.progress.say(
            "recovery",
            &format!(
                "{name}: {} envelopes queued with no stage running, then drained",
                messages.len()
            ),
        );
        match drain(&backend, cx, &messages).await {
            Ok(d) => record(cx, name, &d),
            Err(err) => {
                cx.progress
                    .say("recovery", &format!("{name} FAILED: {err:#}"));
                cx.report
                    .skip(&format!("Recovery ({name})"), &format!("failed: {err:#}"));
            }
        }
    }
    cx.report.set(
        &["recovery", "kill_9_loss_and_duplicates"],
        json!(KILL_9_TESTS),
    );
    Ok(())
}

/// At least `n` envelopes of a synthetic population (seed 42), the first `n` of them.
async fn backlog(n: usize) -> anyhow::Result<Vec<Message>> {
    let mut people = n.div_ceil(3).max(1);
    while Population::synthetic(42, people).expected().sent < n {
        people += people / 10 + 1;
    }
    let mut messages = fixtures::capture(Population::synthetic(42, people)).await?;
    messages.truncate(n);
    Ok(messages)
}

async fn drain(backend: &Backend, cx: &Context<'_>, messages: &[Message]) -> anyhow::Result<Drain> {
    let receivers = Receivers::start(2, 0, 0).await?;
    let mut d = Drain {
        backlog: messages.len(),
        ..Drain::default()
    };
    let mut started = Instant::now();
    let run = hub::start(
        backend,
        cx.shared,
        receivers,
        cx.opts.workers,
        async |_, bus| {
            waymark_pipeline::declare_all(bus.as_ref(), &[]).await?;
            d.rss_before = stats::rss_bytes();
            d.peak_reset = stats::reset_peak_rss();
            let t = Instant::now();
            hub::publish_all(bus, messages, PUBLISHERS).await?;
            d.queue_s = t.elapsed().as_secs_f64();
            d.rss_queued = stats::rss_bytes();
            started = Instant::now();
            Ok(())
        },
    )
    .await?;
    let done = run
        .wait_done(messages.len(), Duration::from_secs(1_800))
        .await?;
    d.drain_s = (done - started).as_secs_f64();
    d.rss_peak = stats::peak_rss_bytes();
    d.delivered = run.receivers.healthy_delivered();
    d.duplicates = run.receivers.duplicates();
    run.stop().await?;
    Ok(d)
}

fn record(cx: &mut Context<'_>, name: &str, d: &Drain) {
    cx.report.set(&["recovery", name], d.to_json());
    let extrapolated = DESIGN_BACKLOG / d.rate().max(1e-9);
    cx.report.row(
        "recovery",
        &format!("{name}: drain a backlog of {} envelopes", d.backlog),
        d.rate(),
        "records/s",
        &format!(
            "{:.1} s; 100 k backlog ≈ {:.0} min (extrapolated, not run); queued in {:.1} s; \
             {} delivered, {} dup",
            d.drain_s,
            extrapolated / 60.0,
            d.queue_s,
            d.delivered,
            d.duplicates
        ),
    );
    let peak_note = if d.peak_reset {
        ""
    } else {
        " (peak not resettable: lifetime peak)"
    };
    cx.report.row(
        "memory",
        &format!("{name}: RSS per 10 k in-flight envelopes, steady"),
        d.per_10k(d.rss_queued),
        "MiB",
        &format!(
            "RSS {:.1} → {:.1} MiB with {} queued and no stage running (the backlog waits in \
             the bus, not in the hub)",
            e2e::mib(d.rss_before),
            e2e::mib(d.rss_queued),
            d.backlog
        ),
    );
    cx.report.row(
        "memory",
        &format!("{name}: RSS per 10 k in-flight envelopes, peak"),
        d.per_10k(d.rss_peak),
        "MiB",
        &format!(
            "peak {:.0} MiB while queueing and draining, {:.1} MiB above the RSS before \
             queueing, scaled to 10 k{peak_note}",
            e2e::mib(d.rss_peak),
            e2e::mib(d.rss_peak.saturating_sub(d.rss_before))
        ),
    );
}
