//! One entry point per fuzz target, each `fn(&[u8])` over the real parser as the hub uses it.
//! Each returns normally on every input; an `assert!` inside one states an invariant whose
//! breach is a bug (reported by the fuzzer as a crash, like a panic in the parser itself).

mod adapters;
mod edge;
mod hl7;
mod hub;

pub use adapters::{athena_page, nomis_event, scr_bundle, systmone_bundle};
pub use edge::{api_query, webhook_verify};
pub use hl7::{er7, mllp};
pub use hub::{fhir_validate, mapping};

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the
/// `fuzz/corpus/<name>/` folder) and its entry point.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The entry point.
    pub run: fn(&[u8]),
}

/// Every target, in the order `deploy/local/fuzz.sh` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "er7",
        run: er7,
    },
    Target {
        name: "mllp",
        run: mllp,
    },
    Target {
        name: "nomis_event",
        run: nomis_event,
    },
    Target {
        name: "athena_page",
        run: athena_page,
    },
    Target {
        name: "systmone_bundle",
        run: systmone_bundle,
    },
    Target {
        name: "scr_bundle",
        run: scr_bundle,
    },
    Target {
        name: "fhir_validate",
        run: fhir_validate,
    },
    Target {
        name: "mapping",
        run: mapping,
    },
    Target {
        name: "webhook_verify",
        run: webhook_verify,
    },
    Target {
        name: "api_query",
        run: api_query,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

/// A fixed receive time: targets are pure functions of their input.
pub(crate) fn received_at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(19_875)
}
