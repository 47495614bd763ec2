//! The end-to-end, latency and per-stage sections.

use serde_json::json;

use super::{Context, e2e, hub::Backend, stages as stage_timing, subs::Receivers};

/// The maximum rate on each backend, with the embedded hub's two subscriptions.
pub async fn throughput(cx: &mut Context<'_>) -> anyhow::Result<()> {
    for backend in cx.services.backends() {
        max_rate(cx, &backend).await?;
    }
    Ok(())
}

/// Measures and records the maximum rate on `backend`.
async fn max_rate(cx: &mut Context<'_>, backend: &Backend) -> anyhow::Result<f64> {
    let name = backend.name();
    cx.progress.say(
        "end_to_end",
        &format!("{name}: {} envelopes, max rate", cx.fixtures.messages.len()),
    );
    let receivers = Receivers::start(2, 0, 0).await?;
    let t = e2e::throughput(
        backend,
        cx.shared,
        &cx.fixtures.messages,
        receivers,
        cx.opts.workers,
        async |_| Ok(()),
    )
    .await?;
    cx.report
        .set(&["end_to_end", name], t.to_json(cx.fixtures.messages.len()));
    cx.report.row(
        "end_to_end",
        &format!("{name}: publish → webhook 2xx"),
        t.rate,
        "records/s",
        &format!(
            "{} workers/stage, 2 subscriptions, {} delivered, {} dup",
            cx.opts.workers, t.delivered, t.duplicates
        ),
    );
    cx.report.row(
        "end_to_end",
        &format!("{name}: CPU per record"),
        t.cpu_us,
        "µs",
        "whole process (hub + mock receivers)",
    );
    cx.report.row(
        "end_to_end",
        &format!("{name}: RSS with every envelope queued"),
        e2e::mib(t.rss_loaded),
        "MiB",
        &format!("after the run {:.0} MiB", e2e::mib(t.rss_after)),
    );
    Ok(t.rate)
}

/// Latency at fixed fractions of each backend's maximum rate.
pub async fn latency(cx: &mut Context<'_>) -> anyhow::Result<()> {
    let fractions: &[f64] = if cx.opts.quick {
        &[0.5]
    } else {
        &[0.25, 0.5, 0.75, 0.9]
    };
    let seconds = if cx.opts.quick { 8.0 } else { 20.0 };
    for backend in cx.services.backends() {
        let name = backend.name();
        let max = match cx.report.number(&["end_to_end", name, "records_per_s"]) {
            Some(max) => max,
            None => max_rate(cx, &backend).await?,
        };
        for &fraction in fractions {
            let rate = max * fraction;
            let pct = format!("{:.0}", fraction * 100.0);
            cx.progress
                .say("latency", &format!("{name}: {pct} % of max = {rate:.1}/s"));
            let receivers = Receivers::start(2, 0, 0).await?;
            let (p, sent) = e2e::latency(
                &backend,
                cx.shared,
                cx.fixtures,
                receivers,
                cx.opts.workers,
                rate,
                seconds,
            )
            .await?;
            let mut value = p.to_json();
            value["rate_per_s"] = json!(rate);
            value["envelopes"] = json!(sent);
            cx.report
                .set(&["latency", name, &format!("load_{pct}")], value);
            cx.report.row(
                "latency",
                &format!("{name}: p99 at {pct} % load"),
                p.p99,
                "ms",
                &format!(
                    "p50 {:.1}, p90 {:.1}, p99.9 {:.1}, max {:.1} ms; {} of {sent} traced",
                    p.p50, p.p90, p.p999, p.max, p.count
                ),
            );
        }
    }
    Ok(())
}

/// Each stage alone.
pub async fn stages(cx: &mut Context<'_>) -> anyhow::Result<()> {
    cx.progress.say(
        "stages",
        "parse, map, validate, identity + merge, policy, persist, deliver",
    );
    let timings = stage_timing::per_stage(cx.shared, cx.fixtures).await?;
    for (what, us) in timings {
        cx.report.set(&["stages", &what], json!(us));
        cx.report.row("stages", &what, us, "µs/record", "");
    }
    Ok(())
}
