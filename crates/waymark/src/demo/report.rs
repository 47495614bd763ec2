//! What the demo prints: one line per event, and the summary.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use chrono::Utc;
use waymark_core::SourceSystem;
use waymark_delivery::{DeliveryEvent, mock::MockReceiver};
use waymark_pipeline::PipelineEvent;
use waymark_store::Counts;

/// Running counts of what the stages reported.
#[derive(Clone, Default)]
pub struct Tally(Arc<Mutex<Totals>>);

#[derive(Default)]
struct Totals {
    /// Per source: (mapped, quarantined); a quarantined envelope that could not be read has no
    /// source and is counted under none.
    by_source: BTreeMap<SourceSystem, (u64, u64)>,
    mapped: usize,
    quarantined: usize,
    recorded: usize,
    released: usize,
    withheld: usize,
    delivered: usize,
    retried: usize,
    dead: usize,
}

impl Tally {
    fn with<R>(&self, f: impl FnOnce(&mut Totals) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Counts a stage event.
    pub fn count_pipeline(&self, event: &PipelineEvent) {
        self.with(|t| match event {
            PipelineEvent::Mapped { source, .. } => {
                t.mapped += 1;
                t.by_source.entry(*source).or_default().0 += 1;
            }
            PipelineEvent::Quarantined { source, stage, .. } => {
                t.quarantined += 1;
                // What the map stage refused is what was not mapped; a later stage's refusal
                // is of a message already counted as mapped.
                if let (Some(source), &"map") = (source, stage) {
                    t.by_source.entry(*source).or_default().1 += 1;
                }
            }
            PipelineEvent::Recorded { .. } => t.recorded += 1,
            PipelineEvent::Released { withheld, .. } => {
                t.released += 1;
                t.withheld += withheld;
            }
            PipelineEvent::NotReleased { .. } | PipelineEvent::BreakGlass { .. } => {}
        });
    }

    /// A source's (mapped, quarantined) so far.
    pub fn of_source(&self, source: SourceSystem) -> (u64, u64) {
        self.with(|t| t.by_source.get(&source).copied().unwrap_or_default())
    }

    /// Whether everything mapped was recorded (or refused later) and everything released was
    /// delivered (or dead-lettered): the hub has nothing in hand.
    pub fn settled(&self) -> bool {
        self.with(|t| {
            let later_refusals = t.quarantined.saturating_sub(
                t.by_source
                    .values()
                    .map(|(_, q)| *q as usize)
                    .sum::<usize>(),
            );
            t.recorded + later_refusals >= t.mapped && t.delivered + t.dead >= t.released
        })
    }

    /// Counts a delivery event.
    pub fn count_delivery(&self, event: &DeliveryEvent) {
        self.with(|t| match event {
            DeliveryEvent::Delivered { .. } => t.delivered += 1,
            DeliveryEvent::Retrying { .. } => t.retried += 1,
            DeliveryEvent::DeadLettered { .. }
            | DeliveryEvent::Rejected { .. }
            | DeliveryEvent::Deactivated { .. } => t.dead += 1,
            DeliveryEvent::Heartbeat { .. } => {}
        });
    }

    /// The closing lines.
    pub fn print_summary(
        &self,
        published: usize,
        store: Counts,
        receivers: [&MockReceiver; 2],
        elapsed: Duration,
    ) {
        let secs = elapsed.as_secs_f64().max(1e-9);
        self.with(|t| {
            println!("---");
            println!(
                "published {published} / mapped {} / quarantined {} / delivered {}",
                t.mapped, store.quarantined, t.delivered
            );
            println!(
                "  recorded {} for {} persons; released {} ({} resources withheld by policy); \
                 retries {}; dead-lettered {}",
                t.recorded, store.persons, t.released, t.withheld, t.retried, t.dead
            );
            for (name, r) in ["prison healthcare", "probation"].iter().zip(receivers) {
                println!(
                    "  {name}: {} notifications, all signatures verified, {} duplicates",
                    r.unique_ids().len(),
                    r.duplicates().len()
                );
            }
            println!(
                "  {:.2} s, {:.1} events/s published to delivered",
                secs,
                published as f64 / secs
            );
        });
    }
}

/// The reconciliation, a line per source: what each adapter published, and what the map stage
/// made of it. `true` when every source published and every published message was mapped or
/// quarantined.
pub fn print_reconciliation(tally: &Tally, published: &[(SourceSystem, u64)]) -> bool {
    println!("  source      published   mapped  quarantined");
    let mut all = true;
    for (source, sent) in published {
        let (mapped, quarantined) = tally.of_source(*source);
        let ok = *sent > 0 && mapped + quarantined == *sent;
        all &= ok;
        let mark = if ok { "" } else { "  MISMATCH" };
        let name = source.as_str();
        println!("  {name:<11} {sent:>9} {mapped:>8} {quarantined:>12}{mark}");
    }
    all
}

/// One line for a stage event.
pub fn print_pipeline(event: &PipelineEvent) {
    let now = Utc::now().format("%H:%M:%S%.3f");
    match event {
        PipelineEvent::Mapped { .. } => {}
        PipelineEvent::Quarantined {
            message_id,
            stage,
            code,
            ..
        } => {
            println!(
                "{now}  quarantined  {}  at {stage}: {code}",
                short(message_id.as_str())
            );
        }
        PipelineEvent::Recorded {
            message_id,
            topic,
            person_id,
            applied_now,
            ..
        } => {
            let again = if *applied_now {
                ""
            } else {
                " (already applied)"
            };
            println!(
                "{now}  recorded     {}  {topic:<18} person {}{again}",
                short(message_id.as_str()),
                short(person_id)
            );
        }
        PipelineEvent::Released {
            subscription,
            event_number,
            withheld,
            ..
        } => {
            println!(
                "{now}  released     #{event_number:<4} to {subscription} ({withheld} withheld)"
            );
        }
        PipelineEvent::NotReleased {
            subscription, code, ..
        } => {
            println!("{now}  not released to {subscription}: {code}");
        }
        PipelineEvent::BreakGlass { subscription, .. } => {
            println!("{now}  break-glass  release to {subscription}: alert the privacy officer");
        }
    }
}

/// One line for a delivery event.
pub fn print_delivery(event: &DeliveryEvent) {
    let now = Utc::now().format("%H:%M:%S%.3f");
    match event {
        DeliveryEvent::Delivered {
            subscription,
            message_id,
            attempt,
        } => println!(
            "{now}  delivered    {}  to {subscription} (attempt {attempt})",
            short(message_id.as_str())
        ),
        DeliveryEvent::Retrying {
            subscription,
            reason,
            ..
        } => {
            println!("{now}  retrying     to {subscription}: {reason}");
        }
        DeliveryEvent::DeadLettered {
            subscription,
            reason,
            ..
        }
        | DeliveryEvent::Rejected {
            subscription,
            reason,
            ..
        } => {
            println!("{now}  DEAD-LETTER  to {subscription}: {reason}");
        }
        DeliveryEvent::Deactivated {
            subscription,
            reason,
        } => println!("{now}  DEACTIVATED  {subscription}: {reason}"),
        DeliveryEvent::Heartbeat {
            subscription,
            delivered,
            ..
        } => println!("{now}  heartbeat    to {subscription} (delivered: {delivered})"),
    }
}

/// How many resources with a clinical data class a receiver holds.
pub fn clinical_leaks(receiver: &MockReceiver) -> usize {
    receiver
        .received()
        .iter()
        .flat_map(|r| {
            waymark_fhir::entries(&r.body)
                .map(waymark_fhir::data_class)
                .collect::<Vec<_>>()
        })
        .filter(|class| class.is_some_and(waymark_core::DataClass::is_clinical))
        .count()
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
