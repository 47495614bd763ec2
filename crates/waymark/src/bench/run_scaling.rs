//! The scaling sections: people in the store, and subscriptions (embedded backend: 1,000
//! quorum queues would measure the broker's queue count, not the hub).

use serde_json::json;

use super::{Context, e2e, hub::Backend, scaling, subs::Receivers};

/// Throughput with 10 k → 100 k (→ 1 M) people already in the store.
pub async fn people(cx: &mut Context<'_>) -> anyhow::Result<()> {
    let levels: &[u64] = if cx.opts.quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    for &people in levels {
        cx.progress.say(
            "scaling",
            &format!("embedded: {people} people pre-loaded, max rate"),
        );
        let receivers = Receivers::start(2, 0, 0).await?;
        let mut load_rate = 0.0;
        let t = e2e::throughput(
            &Backend::Embedded,
            cx.shared,
            &cx.fixtures.messages,
            receivers,
            cx.opts.workers,
            async |store| {
                load_rate = scaling::preload(store, people).await?;
                Ok(())
            },
        )
        .await?;
        let mut value = t.to_json(cx.fixtures.messages.len());
        value["preload_persons_per_s"] = json!(load_rate);
        cx.report
            .set(&["scaling", "people", &people.to_string()], value);
        cx.report.row(
            "scaling",
            &format!("embedded, {people} people in the store"),
            t.rate,
            "records/s",
            &format!(
                "RSS after {:.0} MiB, CPU {:.0} µs/record, preload {load_rate:.0}/s",
                e2e::mib(t.rss_after),
                t.cpu_us
            ),
        );
        cx.report.row(
            "memory",
            &format!("embedded: RSS after the {people} people step"),
            e2e::mib(t.rss_after),
            "MiB",
            &format!(
                "whole process after the hub stopped; {:.0} MiB with every envelope queued",
                e2e::mib(t.rss_loaded)
            ),
        );
    }
    Ok(())
}

/// Throughput and the healthy endpoints' latency with 1 → 100 (→ 1,000) subscriptions, 1 %
/// slow (2 s) and 1 % failing (503) from 10 on. About `budget` notifications per step; the
/// latency run lasts at most `cap` seconds.
pub async fn subscriptions(cx: &mut Context<'_>) -> anyhow::Result<()> {
    let levels: &[usize] = if cx.opts.quick {
        &[1, 10, 100]
    } else {
        &[1, 10, 100, 1_000]
    };
    let (budget, cap) = if cx.opts.quick {
        (1_000, 20.0)
    } else {
        (10_000, 60.0)
    };
    for &n in levels {
        let bad = scaling::unhealthy(n);
        let count = (budget / n).clamp(10, cx.fixtures.messages.len());
        let messages = &cx.fixtures.messages[..count];
        cx.progress.say(
            "subscriptions",
            &format!(
                "embedded: {n} subscriptions ({bad} slow, \
            {bad} failing), {count} envelopes, max rate"
            ),
        );
        let receivers = Receivers::start(n, bad, bad).await?;
        let t = e2e::throughput(
            &Backend::Embedded,
            cx.shared,
            messages,
            receivers,
            cx.opts.workers,
            async |_| Ok(()),
        )
        .await?;
        let rate = t.rate * 0.5;
        cx.progress.say(
            "subscriptions",
            &format!(
                "embedded: {n} subscriptions, latency at \
            50 % = {rate:.1}/s"
            ),
        );
        let receivers = Receivers::start(n, bad, bad).await?;
        let seconds = (count as f64 / rate.max(0.1)).min(cap);
        let (p, sent) = e2e::latency(
            &Backend::Embedded,
            cx.shared,
            cx.fixtures,
            receivers,
            cx.opts.workers,
            rate,
            seconds,
        )
        .await?;
        let mut value = t.to_json(count);
        value["healthy_latency_at_50"] = p.to_json();
        value["slow"] = json!(bad);
        value["failing"] = json!(bad);
        value["latency_envelopes"] = json!(sent);
        cx.report.set(&["subscriptions", &n.to_string()], value);
        cx.report.row(
            "subscriptions",
            &format!("embedded, {n} subscriptions ({bad}+{bad} bad)"),
            t.rate,
            "records/s",
            &format!(
                "{} healthy notifications; healthy p99 {:.1} ms at 50 %",
                t.delivered, p.p99
            ),
        );
    }
    Ok(())
}
