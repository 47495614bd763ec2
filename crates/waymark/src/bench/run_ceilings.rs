//! The ceilings section: what this machine does with no hub at all, measured first.

use serde_json::json;

use super::{Context, broker, db, local};

/// Concurrent HTTP clients of the loopback ceiling.
const HTTP_CLIENTS: usize = 32;

/// JSON, fsync, loopback HTTP; then the broker and the database when the run has them.
pub async fn run(cx: &mut Context<'_>) -> anyhow::Result<()> {
    let quick = cx.opts.quick;
    let bundles = cx.fixtures.bundle_bytes();
    anyhow::ensure!(
        !bundles.is_empty(),
        "no envelope mapped: nothing to measure with"
    );
    let avg = bundles.iter().map(Vec::len).sum::<usize>() / bundles.len();
    cx.progress
        .say("ceilings", "JSON parse + serialise (serde_json)");
    let (docs, mib) = local::json_round_trip(&bundles, if quick { 5 } else { 50 })?;
    cx.report.set(
        &["ceilings", "json"],
        json!({"docs_per_s": docs, "mib_per_s": mib,
        "avg_bundle_bytes": avg, "library": "serde_json (Value)"}),
    );
    cx.report.row(
        "ceilings",
        "JSON parse + serialise, canonical bundles",
        docs,
        "docs/s",
        &format!("{mib:.0} MiB/s, {avg} B avg"),
    );
    cx.progress
        .say("ceilings", "fsync latency (write 4 KiB + fsync)");
    std::fs::create_dir_all(&cx.opts.out)?;
    let fsync = local::fsync_latency(&cx.opts.out, if quick { 200 } else { 2_000 }).await?;
    cx.report.set(&["ceilings", "fsync"], fsync.to_json());
    cx.report.row(
        "ceilings",
        "fsync 4 KiB, p50",
        fsync.p50,
        "ms",
        &format!("p99 {:.2} ms", fsync.p99),
    );
    cx.progress
        .say("ceilings", "loopback HTTP POST to a null handler");
    let n = if quick { 5_000 } else { 50_000 };
    let body = bundles.first().cloned().unwrap_or_default();
    let http = local::http_post(n, HTTP_CLIENTS, body).await?;
    cx.report.set(
        &["ceilings", "http_post"],
        json!({"requests_per_s": http,
        "concurrency": HTTP_CLIENTS, "requests": n, "client": "reqwest", "server": "axum"}),
    );
    cx.report.row(
        "ceilings",
        "loopback HTTP POST, null handler",
        http,
        "req/s",
        &format!("{HTTP_CLIENTS} clients, one bundle body"),
    );
    if let Some(url) = &cx.services.amqp {
        brokers(cx, url).await?;
    }
    if let Some(url) = cx.services.pg.clone() {
        database(cx, &url, &bundles).await?;
    }
    Ok(())
}

async fn brokers(cx: &mut Context<'_>, url: &str) -> anyhow::Result<()> {
    let n = if cx.opts.quick { 5_000 } else { 20_000 };
    for kind in ["classic", "quorum"] {
        cx.progress.say("ceilings", &format!("broker only, {kind}"));
        let rate = broker::broker_only(url, kind, n, 256).await?;
        cx.report.set(
            &["ceilings", "broker", kind],
            json!({"msgs_per_s": rate, "messages": n,
            "confirm_window": 256, "body_bytes": broker::BODY, "persistent": true}),
        );
        cx.report.row(
            "ceilings",
            &format!("broker only, {kind}: publish+confirm, consume+ack"),
            rate,
            "msgs/s",
            "1 KiB persistent, confirms by 256",
        );
    }
    cx.progress
        .say("ceilings", "broker only, quorum, confirm each");
    let one = broker::broker_only(url, "quorum", n / 10, 1).await?;
    cx.report.set(
        &["ceilings", "broker", "quorum_confirm_each"],
        json!({"msgs_per_s": one}),
    );
    cx.report.row(
        "ceilings",
        "broker only, quorum, confirm each",
        one,
        "msgs/s",
        "one publisher awaiting every confirm",
    );
    Ok(())
}

async fn database(cx: &mut Context<'_>, url: &str, bundles: &[Vec<u8>]) -> anyhow::Result<()> {
    let docs: Vec<String> = bundles
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    let version = db::server_version(url).await?;
    cx.report.set(&["machine", "postgres"], json!(version));
    let n = if cx.opts.quick { 10_000 } else { 100_000 };
    cx.progress.say(
        "ceilings",
        "database only, INSERT … UNNEST, 256 rows per commit",
    );
    let batched = db::insert_rows(url, &docs, n, 256, 4).await?;
    cx.progress.say(
        "ceilings",
        "database only, one row per commit, 8 connections",
    );
    let single = db::insert_rows(url, &docs, n / 10, 1, 8).await?;
    cx.report.set(
        &["ceilings", "database"],
        json!({"rows_per_s_batched": batched,
        "rows_per_s_one_per_commit": single, "batch": 256, "synchronous_commit": "on",
        "row": "message id, person uuid, source, time, canonical bundle as jsonb"}),
    );
    cx.report.row(
        "ceilings",
        "database only, INSERT … UNNEST (256/commit)",
        batched,
        "rows/s",
        "PostgreSQL, synchronous_commit=on, 4 connections",
    );
    cx.report.row(
        "ceilings",
        "database only, one row per commit",
        single,
        "rows/s",
        "8 connections",
    );
    Ok(())
}
