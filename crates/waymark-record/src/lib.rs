//! The record stage's pure core: the longitudinal person record, pathway events and the
//! person summary.
//!
//! - [`PersonRecord`]: every dataset item of one person from every source, merged by the
//!   source's own event time (ties by message id), never by arrival order. Per item and source
//!   the latest versions are kept; the **current** value per source, **discrepancies** between
//!   sources (both kept, side by side, never overwritten) and **marker status** (current, stale
//!   past its review-by date, ended; computed at a given `now`) are derived. Same entries, any
//!   order, same record; a message applied twice changes nothing.
//! - [`Topics`] (data: `profiles/hjmd/topics.json`, generated with the HJMD package) and
//!   [`detect`]: the events of dataset.md section 4 raised from a [`Change`], naming items and
//!   resources, never values.
//! - [`summary`]: a FHIR R4 document Bundle, one Composition section per dataset group and data
//!   class, headlines first with source and as-of date, detail as entries; [`html`]: the same
//!   as a printable page.
//!
//! **What it must never do:** IO, read the clock (time is a parameter), or put patient data in
//! `Debug`, `Display`, errors, changes or events (values are [`waymark_core::Sensitive`]).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod change;
mod config;
mod dates;
mod detect;
mod entry;
mod escape;
mod extract;
mod html;
mod item;
mod key;
mod marker;
mod path;
mod record;
mod summary;
mod topics;
mod version;

pub use change::{Change, ChangeKind, ItemChange};
pub use config::RecordConfig;
pub use detect::{ChangedItem, DetectedEvent, detect};
pub use entry::{Entry, SOURCE_EVENT_SYSTEM};
pub use extract::ITEM_SYSTEM;
pub use html::html;
pub use item::Item;
pub use key::{ItemKey, ItemKind};
pub use marker::{MarkerStatus, review_by};
pub use record::PersonRecord;
pub use summary::{SECTION_LABELS_URL, SUMMARY_TYPE_LOINC, section_data_class, summary};
pub use topics::{Topic, TopicError, Topics, Trigger};
pub use version::{EXPECTED_RELEASE_DATE_URL, RELEASE_DESTINATION_URL, Version};
