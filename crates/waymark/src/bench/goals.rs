//! The ratios and the goals of issue 12, computed from the figures of the same run. A goal
//! whose figures were not measured says so (`met: null`), never passes by default.

use serde_json::{Value, json};

use super::report::Report;

/// Adds `ratios` and `goals` to the report, and a table row per ratio.
pub fn evaluate(report: &mut Report) {
    let n = |path: &[&str]| report.number(path);
    let hub_rabbit = n(&["end_to_end", "rabbitmq_postgres", "records_per_s"]);
    let hub_embedded = n(&["end_to_end", "embedded", "records_per_s"]);
    let quorum = n(&["ceilings", "broker", "quorum", "msgs_per_s"]);
    let classic = n(&["ceilings", "broker", "classic", "msgs_per_s"]);
    let best_peer = [
        n(&["peers", "node", "records_per_s"]),
        n(&["peers", "python", "records_per_s"]),
    ]
    .into_iter()
    .flatten()
    .reduce(f64::max);
    let p99_rabbit = n(&["latency", "rabbitmq_postgres", "load_50", "p99_ms"]);
    let p99_embedded = n(&["latency", "embedded", "load_50", "p99_ms"]);
    let people = people_loss(report);
    let healthy = healthy_p99_ratio(report);
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let ratios = [
        (
            "hub (RabbitMQ + PostgreSQL) / broker ceiling (quorum)",
            ratio(hub_rabbit, quorum),
        ),
        (
            "hub (RabbitMQ + PostgreSQL) / broker ceiling (classic)",
            ratio(hub_rabbit, classic),
        ),
        (
            "hub (embedded) / broker ceiling (quorum)",
            ratio(hub_embedded, quorum),
        ),
        (
            "hub (RabbitMQ + PostgreSQL) / best peer pipeline",
            ratio(hub_rabbit, best_peer),
        ),
        (
            "hub (embedded) / best peer pipeline",
            ratio(hub_embedded, best_peer),
        ),
    ];
    let mut ratio_json = serde_json::Map::new();
    for (what, value) in ratios {
        if let Some(v) = value {
            report.row("ratios", what, v, "×", "same run");
        }
        ratio_json.insert(what.to_owned(), json!(value));
    }
    report.set(&["ratios"], Value::Object(ratio_json));
    let goals = vec![
        goal(
            "end to end ≥ 50 % of the broker-only ceiling (quorum)",
            ratio(hub_rabbit, quorum),
            "≥ 0.5",
            |v| Some(v >= 0.5),
        ),
        goal(
            "end to end ≥ 3× the best peer pipeline",
            ratio(hub_rabbit, best_peer),
            "≥ 3",
            |v| Some(v >= 3.0),
        ),
        goal(
            "p99 publish→delivered at 50 % load, quorum queues (RabbitMQ + PostgreSQL)",
            p99_rabbit,
            "≤ 100 ms",
            |v| Some(v <= 100.0),
        ),
        goal(
            "p99 publish→delivered at 50 % load, classic queues (not run: the hub's RabbitMQ \
              bus declares quorum queues only)",
            None,
            "≤ 25 ms",
            |v| Some(v <= 25.0),
        ),
        goal(
            "p99 publish→delivered at 50 % load, embedded (context for the classic goal)",
            p99_embedded,
            "≤ 25 ms",
            |v| Some(v <= 25.0),
        ),
        goal(
            "throughput loss from 10 k people to the largest population measured",
            people,
            "≤ 0.10",
            |v| Some(v <= 0.10),
        ),
        // Each subscriptions step runs at 50 % of its own maximum, so the ratio compares
        // p99s at different rates: shown, never counted as met.
        goal(
            "healthy endpoints' p99 with slow and failing subscribers / with 1 subscription \
             (each at 50 % of its own maximum rate: not the same load, not judged)",
            healthy,
            "≤ 1.25 at the same rate",
            |_| None,
        ),
    ];
    report.set(&["goals"], Value::Array(goals));
}

fn goal(
    what: &str,
    measured: Option<f64>,
    target: &str,
    met: impl Fn(f64) -> Option<bool>,
) -> Value {
    json!({"goal": what, "measured": measured, "target": target, "met": measured.and_then(met)})
}

/// 1 − rate at the largest population / rate at 10 k.
fn people_loss(report: &Report) -> Option<f64> {
    let rate = |p: &str| report.number(&["scaling", "people", p, "records_per_s"]);
    let base = rate("10000")?;
    let last = rate("1000000").or_else(|| rate("100000"))?;
    Some(1.0 - last / base)
}

/// Healthy p99 at the most subscriptions measured / at one subscription.
fn healthy_p99_ratio(report: &Report) -> Option<f64> {
    let p99 = |n: &str| report.number(&["subscriptions", n, "healthy_latency_at_50", "p99_ms"]);
    let base = p99("1")?;
    let last = p99("1000").or_else(|| p99("100")).or_else(|| p99("10"))?;
    Some(last / base.max(1e-9))
}
