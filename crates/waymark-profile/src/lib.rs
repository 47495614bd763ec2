//! Validates canonical bundles, the output of the map stage, before anything downstream sees
//! them. A bundle that passes becomes a [`CanonicalBundle`]; one that fails is explained by an
//! [`OperationOutcome`] whose issues name the element (`Bundle.entry[3].resource.status`) and the
//! rule (`profile.required`), for quarantine.
//!
//! Four layers, in order, after a cost guard (more than [`MAX_ENTRIES`] entries, nesting deeper
//! than [`MAX_DEPTH`] or more than [`MAX_NODES`] elements: one `too-costly` issue, nothing else
//! examined):
//!
//! 1. **schema** (`profile.schema`): the official FHIR R4 JSON Schema, vendored and embedded, with
//!    each resource validated against its own `#/definitions/<resourceType>` (compiled lazily per
//!    type and cached; the types the hub emits are compiled by [`Validator::r4`]);
//! 2. **what the schema misses**: known `resourceType` and an `id` on every resource
//!    (`profile.required`), no empty strings / arrays / objects (`profile.empty`), at most one
//!    choice element per `[x]` (`profile.choice`), required primitives of Encounter, Flag and
//!    Provenance (`profile.required`);
//! 3. **Waymark bundle rules**: type `collection`, exactly one Patient and a Provenance, `fullUrl`
//!    `urn:uuid:<id>` (`profile.bundle`), one data-class and one confidentiality label on every
//!    resource but the Provenance (`profile.label`), every `urn:uuid:` reference resolves
//!    (`profile.reference`);
//! 4. **the HJMD profiles** (`profiles/hjmd/`, embedded; see its README): each resource is
//!    matched to its profile (`meta.profile`, else the package's selection rules;
//!    `profile.unprofiled` when none) and checked against the profile's differential —
//!    cardinality (`profile.cardinality`, `profile.as-of` for a missing as-of date), fixed and
//!    pattern values (`profile.fixed`, `profile.pattern`), `[x]` types (`profile.type`),
//!    bindings (`profile.binding`: an error for a required binding, a warning for an extensible
//!    one or a code system the hub does not hold) — plus the profile's labels (`profile.label`)
//!    and identifier formats by system (`profile.identifier`). An issue on an element an earlier
//!    layer already reported is dropped. [`Validator::schema_only`] leaves this layer out.
//!
//! Two more rule codes: `profile.too-costly` (the cost guard) and `profile.truncated` (an
//! information issue saying how many issues past [`MAX_ISSUES`] were left out).
//!
//! Pure after loading: no IO, no clock. Issue text never contains element values — only
//! locations, property names and the rule broken — so an outcome may be logged and shown to an
//! integration engineer.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod canonical;
mod constraints;
mod package;
mod path;
mod rules;
mod schema;
mod structure;
mod terminology;

use std::collections::HashSet;

use serde_json::Value;
use waymark_core::{ErrorCode, IssueType};
use waymark_fhir::{Issue, OperationOutcome, Severity};

pub use canonical::CanonicalBundle;
pub use package::Package;

/// Bundles with more entries than this are refused unexamined.
pub const MAX_ENTRIES: usize = 1_000;
/// Bundles nested deeper than this (objects and arrays) are refused unexamined.
pub const MAX_DEPTH: usize = 64;
/// Bundles with more elements than this are refused unexamined.
pub const MAX_NODES: usize = 500_000;
/// At most this many issues are reported; one more issue says that some were left out.
pub const MAX_ISSUES: usize = 100;
/// `Bundle.meta.tag` system naming what the source said happened.
pub const SOURCE_EVENT_SYSTEM: &str = "https://fhir.waymark.org.uk/CodeSystem/hjmd-source-event";

/// Why a validator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The embedded schema could not be read or compiled (a build defect, not bad input).
    #[error("fhir schema: {0}")]
    Schema(String),
    /// A file of the HJMD package is malformed or references what the package does not hold.
    #[error("profile package file `{file}` at `{path}`: {reason}")]
    Package {
        /// The file name.
        file: String,
        /// Where in the file (a JSON path, or line and column).
        path: String,
        /// What is wrong (never patient data: the package holds none).
        reason: String,
    },
}

impl ErrorCode for ProfileError {
    fn code(&self) -> &'static str {
        "profile.load"
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Exception
    }
}

/// Validates bundles against the FHIR R4 schema and the Waymark bundle rules. `Send + Sync`:
/// build one and share it.
pub struct Validator {
    schemas: schema::Schemas,
    package: Option<Package>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").finish_non_exhaustive()
    }
}

impl Validator {
    /// Builds the R4 validator from the embedded schema: about 50 ms (release) to 65 ms (debug)
    /// for the five types the hub emits; other resource types compile on first use.
    /// Also loads the embedded HJMD package (layer 4).
    pub fn r4() -> Result<Self, ProfileError> {
        Self::with_package(Package::embedded()?)
    }

    /// The R4 validator with a given HJMD package (e.g. [`Package::load_dir`]).
    pub fn with_package(package: Package) -> Result<Self, ProfileError> {
        Ok(Self {
            schemas: schema::Schemas::r4()?,
            package: Some(package),
        })
    }

    /// Layers 1 to 3 only, without the HJMD profiles: for the benchmark's comparison and for
    /// tests of later stages over bundles no mapping produces. The hub never uses it.
    pub fn schema_only() -> Result<Self, ProfileError> {
        Ok(Self {
            schemas: schema::Schemas::r4()?,
            package: None,
        })
    }

    /// The HJMD package layer 4 checks against (`None` for [`Validator::schema_only`]).
    pub fn package(&self) -> Option<&Package> {
        self.package.as_ref()
    }

    /// Validates a bundle; on success it becomes a [`CanonicalBundle`].
    pub fn validate(&self, bundle: Value) -> Result<CanonicalBundle, OperationOutcome> {
        if let Some(issue) = structure::too_costly(&bundle) {
            structure::dismantle(bundle);
            return Err(OperationOutcome::single(issue));
        }
        if !bundle.is_object() {
            let text = "is not a Bundle (expected a JSON object)";
            let issue = Issue::error(IssueType::Structure, "profile.bundle", text).at("Bundle");
            return Err(OperationOutcome::single(issue));
        }
        let mut schema_issues = Vec::new();
        self.schemas.check(
            "Bundle",
            &bundle,
            &path::Path::default(),
            &mut schema_issues,
        );
        let entries = bundle["entry"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (i, entry) in entries.iter().enumerate() {
            if let Some(resource) = entry.get("resource") {
                let at = path::Path::entry_resource(i);
                structure::check_resource(&self.schemas, resource, &at, &mut schema_issues);
            }
        }
        let mut walker = structure::Walker {
            choices: &self.schemas.choices,
            issues: Vec::new(),
        };
        walker.walk(&bundle, &mut path::Path::default());
        let mut issues = walker.issues;
        let patient = rules::check(&bundle, &mut issues);
        if let Some(package) = &self.package {
            let mut profile_issues = Vec::new();
            constraints::check(
                package,
                &bundle,
                &path::Path::default(),
                &mut profile_issues,
            );
            for (i, entry) in entries.iter().enumerate() {
                if let Some(resource) = entry.get("resource").filter(|r| r.is_object()) {
                    let at = path::Path::entry_resource(i);
                    constraints::check(package, resource, &at, &mut profile_issues);
                }
            }
            let earlier: Vec<Issue> = schema_issues.iter().chain(&issues).cloned().collect();
            issues.extend(
                profile_issues
                    .into_iter()
                    .filter(|i| !explained(&earlier, i)),
            );
        }
        let issues = merge(schema_issues, issues);
        let outcome = OperationOutcome { issues };
        match patient {
            Some(patient) if outcome.is_ok() => {
                Ok(CanonicalBundle::new(bundle, patient, outcome.issues))
            }
            _ => Err(outcome),
        }
    }
}

/// A profile issue adds nothing when an earlier layer already reported the same element, or
/// (for `profile.unprofiled`) anything inside the same resource.
fn explained(earlier: &[Issue], issue: &Issue) -> bool {
    let Some(at) = issue.location.as_deref() else {
        return false;
    };
    earlier
        .iter()
        .filter_map(|e| e.location.as_deref())
        .any(|e| {
            e == at
                || (issue.rule == "profile.unprofiled"
                    && e.strip_prefix(at).is_some_and(|rest| rest.starts_with('.')))
        })
}

/// Schema issues first, then the others; a schema issue is dropped where an element-level check
/// (`profile.empty`, `profile.bundle`) reported the same element (an empty string also fails the
/// string pattern); duplicates dropped; at most [`MAX_ISSUES`].
fn merge(schema_issues: Vec<Issue>, others: Vec<Issue>) -> Vec<Issue> {
    let specific: HashSet<Option<String>> = others
        .iter()
        .filter(|i| matches!(i.rule.as_str(), "profile.empty" | "profile.bundle"))
        .map(|i| i.location.clone())
        .collect();
    let schema_issues = schema_issues
        .into_iter()
        .filter(|i| i.rule != "profile.schema" || !specific.contains(&i.location));
    let mut seen = HashSet::new();
    let mut merged: Vec<Issue> = schema_issues
        .chain(others)
        .filter(|i| seen.insert((i.rule.clone(), i.location.clone())))
        .collect();
    if merged.len() > MAX_ISSUES {
        let left_out = merged.len() - MAX_ISSUES;
        merged.truncate(MAX_ISSUES);
        let mut more = Issue::error(
            IssueType::TooCostly,
            "profile.truncated",
            format!("{left_out} further issues were not listed"),
        );
        more.severity = Severity::Information;
        merged.push(more);
    }
    merged
}
