//! The ExceliCare adapter: an MLLP server (HL7 v2 over TCP, `0x0B … 0x1C 0x0D` frames) that
//! takes the custody healthcare record's messages — ADT^A04/A08 (registration, update),
//! ORU^R01 (assessments and observations), RAS^O17 (medication given), REF^I12
//! (referral to liaison and diversion) — and publishes each, bytes untouched, in an
//! [`Envelope`](waymark_core::Envelope) (content type [`HL7_CONTENT_TYPE`]) to the ingest
//! queue, then answers with an HL7 original-mode `ACK`. It also holds a faithful mock of
//! ExceliCare's sending side ([`MockExcelicare`]), fed from the shared synthetic population
//! ([`Script::synthetic`]), with fault injection ([`Script::with_faults`]).
//!
//! # Ids
//!
//! The envelope id is derived from MSH-3 (sending application), MSH-4 (sending facility) and
//! MSH-10 (control id), so a resend of a message is the same envelope and the bus stores it once.
//! A message with no control id is keyed by a digest of its bytes. `message_type` is MSH-9.1
//! `^` MSH-9.2 (e.g. `ADT^A04`), or `unparseable`; `event_time` is MSH-7 (UK local time when
//! it carries no offset).
//!
//! # Answers (MSA-1)
//!
//! The answer is written **only after the bus confirmed the publish** (or failed it):
//!
//! | case | published | MSA-1 | ERR-3 (table 0357) | the sender should |
//! |---|---|---|---|---|
//! | accepted (supported version 2.3–2.8.1 and type) | yes | `AA` | — | move on |
//! | readable but flawed: MSH-9, MSH-10 or MSH-12 missing | yes, `context.error` `excelicare.msh.*` | `AE` | `101` | move on; the hub quarantines it |
//! | not an HL7 message (no MSH, bad separators, not text) | yes, `context.error` `excelicare.unreadable` | `AE` (MSA-2 empty) | `100` | move on; the hub quarantines it |
//! | more than [`MAX_SEGMENTS`] segments (only MSH is read) | yes, `context.error` `excelicare.too-many-segments` | `AE` | `100` | move on; the hub quarantines it |
//! | unsupported version (e.g. 2.1, 3.0) | yes, `context.error` `excelicare.unsupported-version` | `AR` | `203` | not resend as is; it is kept for review |
//! | unsupported message type | yes, `context.error` `excelicare.unsupported-type` | `AR` | `200` | not resend as is; it is kept for review |
//! | frame over `max_frame_bytes`, or too large for the bus | no | `AR` | `104` | not resend; counted as `rejected` |
//! | bus unavailable (publish failed) | no | `AR` | `207` | **resend** (never `AA`) |
//!
//! A frame cut off (the connection drops, the read times out, or a new start block arrives
//! before the end block) gets no answer, so the sender resends it; the fragment is discarded
//! and counted (`truncated`). Bytes between frames are discarded and counted (`garbage_bytes`).
//! Nothing is lost silently: everything the sender does not resend is on the bus or was
//! answered `AR` 104.
//!
//! # Rules
//!
//! This crate never knows about FHIR, mappings or policy; never panics on any input; never
//! logs, or puts in an error, a payload, a name, an identifier or a control id: only message
//! ids, message types (checked to be plain tokens), ACK codes, error codes and sizes.
//!
//! The map stage reads HL7 as the JSON tree of `waymark_mapping::hl7`: [`hl7_tree`] makes it
//! from the envelope payload (escape sequences decoded, repetitions and components as arrays).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod ack;
mod clinical;
mod config;
mod error;
/// The ER7 reader lives with the mappings (the map stage reads HL7 through it too).
use waymark_mapping::er7;
mod faults;
mod ingest;
mod messages;
mod mllp;
mod mock;
mod msh;
mod rng;
mod script;
mod server;
mod telemetry;

pub use ack::{AckCode, ReadAck, TRANSIENT_ERROR, read as read_ack};
pub use config::{CONFIG_VERSION, ExcelicareConfig, MAX_FRAME_LIMIT, RunningAdapter};
pub use er7::{Er7Error, escape as er7_escape, to_tree as hl7_tree, unescape as er7_unescape};
pub use error::ExcelicareError;
pub use faults::{FAULTS, OVERSIZED_BYTES};
pub use ingest::{
    HL7_CONTENT_TYPE, Ingested, MAX_SEGMENTS, TOO_MANY_SEGMENTS, UNPARSEABLE, UNREADABLE, ingest,
};
pub use messages::{NOTE, SENDING_APPLICATION};
pub use mllp::{END, Event as MllpEvent, FrameReader, OVERSIZE_PREFIX, START, frame};
pub use mock::{MockExcelicare, Outcome, SendOptions, SendReport};
pub use msh::{SUPPORTED_TYPES, SUPPORTED_VERSIONS};
pub use script::{Expect, Script, Scripted, Transport};
pub use telemetry::{Metrics, MetricsSnapshot};
pub use waymark_bus::AdapterContext;
