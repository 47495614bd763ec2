//! Runs the map stage's programs: jq mappings from `mappings/`, executed by jaq, turning one
//! source message into one canonical FHIR R4 Bundle about one person; and the tooling
//! integration engineers keep them alive with ([`fixtures`], [`lint`], [`trace`], [`diff`]).
//!
//! Must never do IO after [`MappingSet::load`] (the tooling modules read the folder they are
//! given), read the clock for anything but the run watchdog, or put input values into an
//! error: a mapping failure is quarantined and shown to engineers, so reasons name the mapping,
//! its version, the envelope id and the error kind (or the mapping author's own `error` text).
//! A tutorial: `docs/tutorials/writing-a-mapping.md`.
//!
//! # Layout
//!
//! ```text
//! mappings/
//!   nomis/prison-movement.jq                one program per group of message types
//!   nomis/tests/<case>.input.json           input document  (see MappingInput)
//!   nomis/tests/<case>.expected.json        expected bundle (after the runner's Provenance)
//!   terminology/ConceptMap-*.json           FHIR ConceptMaps, for wm_translate
//!   terminology/labels.json                 data classes and confidentiality codes, for wm_security
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
//! Provenance itself. Every other resource must carry exactly one data-class and one
//! confidentiality label known to `labels.json`; the runner refuses the bundle otherwise
//! (`mapping.output`, naming the entry, e.g. ``Bundle.entry[2].resource` (Flag) has no
//! confidentiality label``).
//!
//! # Helpers
//!
//! jaq's standard library is available except what is impure (`now`, `env`, `localtime`,
//! `strflocaltime`, `debug`, `stderr`, `halt`, `halt_error`; `include`/`import`): using those is
//! a compile error. `fromjson` and `join` are Waymark's own, with the same results (`fromjson`
//! refuses nesting deeper than 128 levels). Waymark adds:
//!
//! | helper | does | example |
//! |---|---|---|
//! | `wm_uuid(parts)` | uuid v5 of a string or an array of strings and numbers, so re-running a message gives the same ids | `wm_uuid(["nomis", "patient", "A1234BC"])` → `"5c1b…"` (always the same) |
//! | `wm_prison_number` | its input if it is a NOMIS prison number (`^[A-Z][0-9]{4}[A-Z]{2}$`), else `null` | `"A1234BC" \| wm_prison_number` → `"A1234BC"`; `"x" \| wm_prison_number` → `null` |
//! | `wm_nhs_number` | the 10 digits of a valid NHS number (spaces and dashes removed, modulus 11 checked; a string or an integer), else `null` | `"943 476 5919" \| wm_nhs_number` → `"9434765919"`; `"9434765918" \| wm_nhs_number` → `null` |
//! | `wm_pnc` | a valid PNC ID (`YYYY/NNNNNNNA`, `YY/NNNNNNNA`, slash optional, any case) as `YY/NNNNNNNA` with the serial zero-padded, check character verified; else `null` | `"2003/11985x" \| wm_pnc` → `"03/0011985X"`; `"03/11985Y" \| wm_pnc` → `null` |
//! | `wm_translate(map)` | the target code of the input code in a ConceptMap (by `id` or `url`), honouring `group.unmapped` (`fixed`, `provided`); `null` in, `null` out | `"H" \| wm_translate("nomis-alert-type-to-data-class")` → `"risk-self"` |
//! | `wm_security(class; confidentiality)` | `meta.security`: the data-class and confidentiality codings, systems and known codes from `terminology/labels.json` (an unknown code fails the mapping) | `wm_security("identity"; "N")` → `[{"system": "…/hjmd-data-class", "code": "identity"}, {"system": "…/v3-Confidentiality", "code": "N"}]` |
//! | `wm_security(class)` | the same with the class's default confidentiality from `labels.json` | `wm_security("mh-clinical")` → `[… "mh-clinical" …, … "V" …]` |
//! | `wm_hl7(path)` | the text at an HL7 v2 path in a message tree or one segment (see [`hl7`] for the tree); `null` when absent or empty (HL7 `""` too); a path without component means component 1 | `wm_hl7("PID-3[2].1")` → `"A1234BC"`; `wm_hl7("PID-5")` → `"Smith"`; `wm_hl7("OBX[2]-5")` → `"72"` |
//! | `wm_hl7_count(path)` | how many segments (`"OBX"`) or field repetitions (`"PID-3"`) there are | `wm_hl7_count("PID-3")` → `2` |
//! | `wm_hl7_segments(name)` | the segments with that name, in order, to iterate | `[wm_hl7_segments("OBX")[] \| wm_hl7("OBX-3.1")]` → `["SH", "WT"]` |
//! | `wm_hl7_date` | an HL7 date/time (`YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]`) as ISO 8601 with the same precision; `null` if it is not a real date | `"20240502" \| wm_hl7_date` → `"2024-05-02"`; `"20240502160511+0100" \| wm_hl7_date` → `"2024-05-02T16:05:11+01:00"` |
//! | `wm_hl7_date(offset)` | the same, with `offset` for a time that carries none | `"202405021605" \| wm_hl7_date("+01:00")` → `"2024-05-02T16:05:00+01:00"` |
//! | `wm_ref(id)` | a reference to a bundle entry | `wm_ref("5c1b…")` → `{"reference": "urn:uuid:5c1b…"}` |
//! | `wm_entry` | a bundle entry for the resource in `.` | `{resourceType: "Patient", id: "5c1b…"} \| wm_entry` → `{"fullUrl": "urn:uuid:5c1b…", "resource": {…}}` |
//! | `wm_compact` | drops `null`, `""`, `[]`, `{}` at every depth, and containers left empty (FHIR forbids empty values) | `{a: null, b: [""], c: 1} \| wm_compact` → `{"c": 1}` |
//! | `error(text)` | fails the mapping with `text` as the reason (write it without input values) | `error("prison record unavailable: " + .context.error.code)` |
//!
//! Helper failures are reasons a mapping author can act on and never quote the value, e.g.
//! `wm_hl7: the path is not of the form SEG[n]-F[r].C.S (e.g. PID-3[2].1)`.
//!
//! # Bounds
//!
//! Before a run: payload ([`MAX_PAYLOAD_BYTES`]) and context ([`MAX_CONTEXT_BYTES`]) sizes
//! (`mapping.too-large`) and nesting ([`MAX_DEPTH`]). After: output size ([`MAX_OUTPUT_BYTES`])
//! and nesting, number of outputs (the runner stops after the second).
//!
//! During a run ([`Limits`]): every run happens on a worker thread with a 256 MiB stack (reused
//! between runs). jaq has no fuel, so the runner instruments the program: every recursive
//! definition (the mapping's and the standard library's: `repeat`, `recurse`, `while`,
//! `until`, …), every `reduce`/`foreach` iteration and every `range` output is a **step** that
//! counts against a budget (200,000; `mapping.steps`), checks the clock (2 s;
//! `mapping.timeout`) and measures the stack (128 MiB; `mapping.recursion`). So
//! `def f: f + 1; f` ends in `mapping.recursion` and `[range(1e9)]` in `mapping.steps`, never in
//! a stack overflow or an endless worker; catching the error with `try` does not hide it.
//! A run that does not answer within the timeout and a grace period (one built-in working for
//! seconds without a step, e.g. sorting a huge array) is **abandoned**: the caller gets
//! `mapping.timeout`, the thread finishes in the background and is counted; while more than
//! [`Limits::max_abandoned`] are still going the set refuses work with `mapping.unavailable`.
//!
//! What is still not bounded, precisely:
//! - **memory inside one step**: a single built-in can allocate in one go (`"x" * 1e10`, or
//!   `[.[], .[]]` doubling an array a few dozen times without a loop); jaq has no allocation hook
//!   and the library cannot install a global allocator. Steps bound every *loop*, and with it
//!   everything a loop allocates.
//! - **values nested very deep**: built-ins such as `tojson`, `==` and `sort` recurse over a
//!   value's depth. Input is at most 128 levels deep and `fromjson` refuses deeper text, so only
//!   a loop can build a deep value (one level per step at best): up to 200,000 levels, which the
//!   256 MiB stack holds for those built-ins (measured: 200,000 levels take under 256 MiB in a
//!   debug build), but not if the program is also deep in recursion at that moment.
//! - **the program text**: the parser has no nesting limit; mapping files are reviewed code.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod convert;
pub mod diff;
pub mod er7;
mod error;
pub mod fixtures;
mod header;
pub mod hl7;
mod hl7_natives;
mod input;
mod instrument;
mod jq;
mod labels;
pub mod lint;
mod natives;
mod provenance;
mod sandbox;
mod set;
mod terminology;
pub mod trace;

pub use convert::{MAX_DEPTH, MAX_OUTPUT_BYTES};
pub use error::MappingError;
pub use header::{HEADER_VERSION, MappingHeader};
pub use input::{EnvelopeMeta, MAX_CONTEXT_BYTES, MAX_PAYLOAD_BYTES, MappingInput};
pub use labels::LABELS_FILE;
pub use provenance::{ENVELOPE_ID_SYSTEM, META_SOURCE_BASE, SOURCE_SYSTEM_ID_SYSTEM};
pub use sandbox::{Limit, Limits};
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
