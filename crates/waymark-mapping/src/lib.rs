//! Runs the map stage's programs: jq mappings from `mappings/`, executed by jaq, turning one
//! source message into one canonical FHIR R4 Bundle about one person.
//!
//! Must never do IO after [`MappingSet::load`], read the clock, or put input values into an
//! error: a mapping failure is quarantined and shown to engineers, so reasons name the mapping,
//! its version, the envelope id and the error kind (or the mapping author's own `error` text).
//!
//! # Layout
//!
//! ```text
//! mappings/
//!   nomis/prison-movement.jq                one program per group of message types
//!   nomis/tests/<case>.input.json           input document  (see MappingInput)
//!   nomis/tests/<case>.expected.json        expected bundle (after the runner's Provenance)
//!   terminology/ConceptMap-*.json           FHIR ConceptMaps, for wm_translate
//! ```
//!
//! A mapping opens with a header (see [`MappingHeader`]); `#` is a jq comment, so the file is
//! an ordinary jq program:
//!
//! ```text
//! # waymark-mapping: 1
//! # source: nomis
//! # message-types: EXTERNAL_MOVEMENT_RECORD-INSERTED, OFFENDER-UPDATED
//! # version: 1.0.0
//! # profile: hjmd-bundle
//! ```
//!
//! The program sees the [`MappingInput`] document as `.` and must produce exactly one Bundle.
//! The runner then adds the Provenance (id derived from the envelope id; `target` every entry;
//! `recorded` the received time; the source system as agent; the envelope id as entity;
//! `policy` = `https://fhir.waymark.org.uk/mapping/<id>|<version>`) and sets `Bundle.meta.source`
//! to `https://fhir.waymark.org.uk/source/<source>#<envelope id>`. A program must not emit a
//! Provenance itself.
//!
//! # Helpers
//!
//! jaq's standard library is available except what is impure (`now`, `env`, `localtime`,
//! `strflocaltime`, `debug`, `stderr`, `halt`, `halt_error`; `include`/`import`): using those is
//! a compile error. Waymark adds:
//!
//! | helper | does | example |
//! |---|---|---|
//! | `wm_uuid(parts)` | uuid v5 of a string or an array of strings and numbers, so re-running a message gives the same ids | `wm_uuid(["nomis", "patient", "A1234BC"])` → `"5c1b…"` (always the same) |
//! | `wm_prison_number` | its input if it is a NOMIS prison number (`^[A-Z][0-9]{4}[A-Z]{2}$`), else `null` | `"A1234BC" \| wm_prison_number` → `"A1234BC"`; `"x" \| wm_prison_number` → `null` |
//! | `wm_translate(map)` | the target code of the input code in a ConceptMap (by `id` or `url`), honouring `group.unmapped` (`fixed`, `provided`); `null` in, `null` out | `"H" \| wm_translate("nomis-alert-type-to-data-class")` → `"risk-self"` |
//! | `wm_ref(id)` | a reference to a bundle entry | `wm_ref("5c1b…")` → `{"reference": "urn:uuid:5c1b…"}` |
//! | `wm_entry` | a bundle entry for the resource in `.` | `{resourceType: "Patient", id: "5c1b…"} \| wm_entry` → `{"fullUrl": "urn:uuid:5c1b…", "resource": {…}}` |
//! | `wm_security(class; confidentiality)` | `meta.security` labels | `wm_security("identity"; "N")` → two codings |
//! | `wm_compact` | drops `null`, `""`, `[]`, `{}` at every depth, and containers left empty (FHIR forbids empty values) | `{a: null, b: [""], c: 1} \| wm_compact` → `{"c": 1}` |
//! | `error(text)` | fails the mapping with `text` as the reason (write it without input values) | `error("prison record unavailable: " + .context.error.code)` |
//!
//! # Bounds
//!
//! Bounded: payload size ([`MAX_PAYLOAD_BYTES`], `mapping.too-large`); input and output nesting
//! ([`MAX_DEPTH`]); output size ([`MAX_OUTPUT_BYTES`], about the serialised size, checked while
//! converting); number of outputs (the runner stops after the second); error text.
//! Not bounded: CPU time and memory *inside* a run, and recursion depth of a program's own
//! recursive definitions — jaq has no fuel or depth limit, so a program such as
//! `def f: f + 1; f` overflows the stack and `[repeat(1)]` never ends. Mappings are reviewed code
//! in the repository, not input; a stage that must survive a bad mapping release runs the map
//! step under a watchdog.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod convert;
mod error;
mod header;
mod input;
mod jq;
mod provenance;
mod set;
mod terminology;

pub use convert::{MAX_DEPTH, MAX_OUTPUT_BYTES};
pub use error::MappingError;
pub use header::{HEADER_VERSION, MappingHeader};
pub use input::{EnvelopeMeta, MAX_PAYLOAD_BYTES, MappingInput};
pub use provenance::{ENVELOPE_ID_SYSTEM, META_SOURCE_BASE, SOURCE_SYSTEM_ID_SYSTEM};
pub use set::MappingSet;

/// Whether `s` is a NOMIS prison number: a letter, four digits, two letters (`A1234BC`).
pub fn is_prison_number(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[0].is_ascii_uppercase()
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_uppercase)
}

#[cfg(test)]
mod tests {
    #[test]
    fn prison_numbers() {
        assert!(super::is_prison_number("A5089DY"));
        for bad in ["a5089DY", "A508DY", "A5089D1", "A5089DYY", "", "Á5089DY"] {
            assert!(!super::is_prison_number(bad), "{bad}");
        }
    }
}
