//! The audit entry of a pushed release: appended **before** the notification is queued, so
//! nothing reaches a delivery queue unaudited.
//!
//! One entry per notification queued: method `NOTIFY`, path `/Subscription/<id>/$notify/<topic>`,
//! the subscription id as the client, the recipient's organisation, role and registration, the
//! person, the pathway event id as the correlation id, and from the `Releasable`'s manifest the
//! data classes released (with their legal basis) and withheld (with the rule, one per class).
//! Never a value. A release message redelivered after a fault part-way through its
//! subscriptions appends its entries again, marked [`REDELIVERED`], so the chain stays whole and
//! a reader can tell the repeat from a second release.

use chrono::Utc;
use waymark_audit::{AuditRecord, ClassDecision};
use waymark_delivery::Subscription;
use waymark_policy::Releasable;
use waymark_store::PathwayEvent;

/// The outcome of the entry of a notification queued.
pub const RELEASED: &str = "released";
/// The outcome of an entry that may repeat an earlier one (the release message was redelivered).
pub const REDELIVERED: &str = "released.redelivered";
/// The outcome of the entry of a recall notice (a Consent was withdrawn; the notice holds no
/// data).
pub const RECALLED: &str = "recall";
/// The "status" of a push entry: queued for delivery.
const QUEUED: u16 = 202;

/// What kind of notification an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// A release, on delivery `attempt` of the release message (0 or 1: the first).
    Release {
        /// The release message's delivery attempt.
        attempt: u32,
    },
    /// A recall notice.
    Recall,
}

/// The audit record of queueing `releasable` for `sub` about `event`. Pure.
pub(crate) fn push_record(
    sub: &Subscription,
    event: &PathwayEvent,
    topic: &str,
    releasable: &Releasable,
    push: Push,
) -> AuditRecord {
    let outcome = match push {
        Push::Release { attempt } if attempt > 1 => REDELIVERED,
        Push::Release { .. } => RELEASED,
        Push::Recall => RECALLED,
    };
    let path = format!("/Subscription/{}/$notify/{topic}", sub.id);
    let mut record = AuditRecord::new(Utc::now(), "NOTIFY", &path, outcome, QUEUED);
    let recipient = releasable.recipient();
    record.client_id = Some(sub.id.clone());
    record.organisation = Some(recipient.organisation.clone());
    record.role = Some(recipient.role.code().to_owned());
    record.registered = Some(recipient.registered);
    record.person_ids = vec![event.person_id.clone()];
    record.correlation_id = Some(event.event_id.as_str().to_owned());
    if push != Push::Recall {
        let (released, withheld) = classes(releasable);
        record.released = released;
        record.withheld = withheld;
    }
    record
}

/// Classes released (with their legal basis) and withheld (with the rule that withheld the
/// first resource of the class), from the manifest.
fn classes(releasable: &Releasable) -> (Vec<ClassDecision>, Vec<ClassDecision>) {
    let manifest = releasable.manifest();
    let released = manifest
        .legal_basis
        .iter()
        .map(|(class, basis)| ClassDecision {
            class: class.code().to_owned(),
            rule: basis.code().to_owned(),
        })
        .collect();
    let mut withheld: Vec<ClassDecision> = Vec::new();
    for w in &manifest.withheld {
        let class = w
            .data_class
            .map_or_else(|| "unlabelled".to_owned(), |c| c.code().to_owned());
        if !withheld.iter().any(|d| d.class == class) {
            withheld.push(ClassDecision {
                class,
                rule: w.rule.clone(),
            });
        }
    }
    (released, withheld)
}
