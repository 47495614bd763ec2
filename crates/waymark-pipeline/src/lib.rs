//! The stage workers: thin IO shells around the pure crates, one per stage after ingest.
//!
//! `map` turns envelopes into validated canonical bundles (or quarantine entries), `record`
//! decides who each is about, merges it into that person's record and raises the pathway
//! events, `release` runs the policy engine for each
//! matching subscription and puts the [`Releasable`](waymark_policy::Releasable) result on that
//! subscription's queue, and `deliver` (in `waymark-delivery`) sends it.
//!
//! Every worker acks only after its effect is durable, and every effect is keyed by a stable id,
//! so a redelivery is a no-op. Workers never log patient data: only ids, codes and counts.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod carried;
mod hub;
mod identity;
mod map;
mod quarantine;
mod queues;
mod record;
mod release;
mod subscriptions;
mod supervisor;
mod telemetry;
mod worker;

pub use hub::{Hub, HubParts, Stage, StagePlan};
pub use identity::{Decider, IdentityDesk};
pub use map::{MapStage, map_envelope};
pub use quarantine::Refusal;
pub use queues::{INGEST, RECORD, RELEASE, STAGE_DELIVERY_LIMIT, declare_all};
pub use record::RecordStage;
pub use release::{
    ConsentChange, ConsentChangeError, EVERY_CHANGE, RECALLED, REDELIVERED, RELEASED, ReleaseStage,
    event_facts, queues_for, wants,
};
pub use subscriptions::{POLL_EVERY, SubscriptionSet};
pub use supervisor::{RECHECK, SubscriptionFilter};
pub use telemetry::{PipelineEvent, Telemetry};
pub use worker::{Handler, Step, run_worker};
