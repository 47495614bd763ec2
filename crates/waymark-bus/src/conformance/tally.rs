//! What a restart run counted, and the verdict.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use waymark_core::MessageId;

use super::restart::id;

/// What [`survives_restarts`] counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct RestartReport {
    /// Messages whose publish was confirmed.
    pub published: u64,
    /// Distinct messages whose effect was applied.
    pub effected: u64,
    /// Confirmed but never effected. Must be 0.
    pub lost: u64,
    /// Effects applied twice for one message id. Must be 0: the effect store is idempotent by
    /// message id, as the hub's store is, so this counts duplicates that did not carry the id.
    pub duplicated_effects: u64,
    /// Deliveries of a message already effected (at-least-once redeliveries and republished
    /// copies), absorbed by the idempotent effect store.
    pub redeliveries: u64,
    /// Messages at risk at a crash (published or being published, not yet effected).
    pub at_risk: u64,
    /// Of those, effected in the end. Must equal `at_risk`.
    pub recovered: u64,
    /// Deliveries of ids never published. Must be 0.
    pub unexpected: u64,
    /// Keyed messages first effected before an earlier message of their key. Must be 0.
    pub out_of_order: u64,
    /// Publish calls that failed during a crash and were retried by the publisher.
    pub publish_retries: u64,
    /// Crashes done.
    pub restarts: u32,
    /// From the first publish to the last effect.
    pub elapsed: Duration,
}

#[derive(Default)]
pub(super) struct Log {
    pub attempted: HashSet<MessageId>,
    pub confirmed: HashSet<MessageId>,
    pub effects: HashMap<MessageId, u64>,
    pub first_effects: Vec<MessageId>,
    pub redeliveries: u64,
    pub retries: u64,
    pub at_risk: HashSet<MessageId>,
}

pub(super) fn tally(
    queue: &str,
    log: &Log,
    restarts: u32,
    elapsed: Duration,
    (publishers, per): (u32, u32),
) -> RestartReport {
    let effected = |id: &MessageId| log.effects.contains_key(id);
    let position: HashMap<&MessageId, usize> = log
        .first_effects
        .iter()
        .enumerate()
        .map(|(at, id)| (id, at))
        .collect();
    let at = |p, n| {
        position
            .get(&id(queue, p, n))
            .copied()
            .unwrap_or(usize::MAX)
    };
    let out_of_order = (0..publishers)
        .flat_map(|p| (1..per).map(move |n| (p, n)))
        .filter(|&(p, n)| at(p, n - 1) > at(p, n))
        .count();
    RestartReport {
        published: log.confirmed.len() as u64,
        effected: log.effects.len() as u64,
        lost: log.confirmed.iter().filter(|id| !effected(id)).count() as u64,
        duplicated_effects: log.effects.values().filter(|&&n| n > 1).count() as u64,
        redeliveries: log.redeliveries,
        at_risk: log.at_risk.len() as u64,
        recovered: log.at_risk.iter().filter(|id| effected(id)).count() as u64,
        unexpected: log
            .effects
            .keys()
            .filter(|id| !log.attempted.contains(*id))
            .count() as u64,
        out_of_order: out_of_order as u64,
        publish_retries: log.retries,
        restarts,
        elapsed,
    }
}

pub(super) fn check(report: &RestartReport) {
    assert_eq!(report.lost, 0, "messages lost across restarts: {report:?}");
    assert_eq!(
        report.duplicated_effects, 0,
        "effects applied twice: {report:?}"
    );
    assert_eq!(
        report.unexpected, 0,
        "messages never published were delivered: {report:?}"
    );
    assert_eq!(
        report.out_of_order, 0,
        "keyed messages out of order across restarts: {report:?}"
    );
    assert_eq!(
        report.recovered, report.at_risk,
        "messages at risk not recovered: {report:?}"
    );
    assert!(
        report.published > 0 && report.restarts > 0,
        "nothing was tested: {report:?}"
    );
}
