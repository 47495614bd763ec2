//! `MappingSet`: every mapping under `mappings/`, compiled once, selected by (source, message
//! type), run in the sandbox.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use waymark_core::{Envelope, SourceSystem};

use crate::convert::{self, MAX_DEPTH, Oversize};
use crate::jq::{Env, Program, RunError};
use crate::labels::Labels;
use crate::sandbox::{Abort, Limit, Limits, Sandbox};
use crate::terminology::ConceptMaps;
use crate::{
    EnvelopeMeta, MAX_CONTEXT_BYTES, MAX_PAYLOAD_BYTES, MappingError, MappingHeader, MappingInput,
    header, provenance,
};

struct Loaded {
    header: MappingHeader,
    program: Program,
}

/// What every run shares; `'static` so a worker thread may hold it.
struct Shared {
    mappings: Vec<Loaded>,
    maps: ConceptMaps,
    labels: Labels,
}

/// The loaded mappings. Pure after loading (apart from the sandbox's clock and threads);
/// `Send + Sync`, so one set serves every worker.
pub struct MappingSet {
    shared: Arc<Shared>,
    by_type: HashMap<(SourceSystem, String), usize>,
    sandbox: Sandbox,
}

impl std::fmt::Debug for MappingSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.headers().map(|h| h.id.as_str()).collect();
        f.debug_struct("MappingSet")
            .field("mappings", &ids)
            .field("limits", self.sandbox.limits())
            .finish_non_exhaustive()
    }
}

/// The files in `dir` whose name ends `.<ext>`, sorted.
pub(crate) fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, MappingError> {
    let err = |e: std::io::Error| MappingError::Load {
        path: dir.to_owned(),
        reason: e.to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let path = entry.map_err(err)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == ext) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads a mapping file (errors name the file).
pub(crate) fn read_code(file: &Path) -> Result<String, MappingError> {
    std::fs::read_to_string(file).map_err(|e| MappingError::Load {
        path: file.to_owned(),
        reason: e.to_string(),
    })
}

impl MappingSet {
    /// Loads `dir/<source>/*.jq` for every source system, the ConceptMaps in
    /// `dir/terminology/ConceptMap-*.json` and the labels in `dir/terminology/labels.json`;
    /// parses headers, compiles every program, and refuses two mappings claiming the same
    /// (source, message type). Runs use [`Limits::default`].
    pub fn load(dir: &Path) -> Result<Self, MappingError> {
        Self::load_with(dir, Limits::default())
    }

    /// [`MappingSet::load`] with other run limits.
    pub fn load_with(dir: &Path, limits: Limits) -> Result<Self, MappingError> {
        if !dir.is_dir() {
            let reason = "not a directory".into();
            return Err(MappingError::Load {
                path: dir.to_owned(),
                reason,
            });
        }
        let terminology = dir.join("terminology");
        let mut shared = Shared {
            mappings: Vec::new(),
            maps: ConceptMaps::load(&terminology)?,
            labels: Labels::load(&terminology)?,
        };
        let mut by_type = HashMap::new();
        for source in SourceSystem::ALL {
            let folder = dir.join(source.as_str());
            if !folder.is_dir() {
                continue;
            }
            for file in files_with_extension(&folder, "jq")? {
                add(&mut shared, &mut by_type, &file, source)?;
            }
        }
        Ok(Self {
            shared: Arc::new(shared),
            by_type,
            sandbox: Sandbox::new(limits),
        })
    }

    /// The headers of every loaded mapping.
    pub fn headers(&self) -> impl Iterator<Item = &MappingHeader> {
        self.shared.mappings.iter().map(|m| &m.header)
    }

    /// The mapping that handles (source, message type), if any.
    pub fn mapping_for(&self, source: SourceSystem, message_type: &str) -> Option<&MappingHeader> {
        let index = self.index(source, message_type)?;
        Some(&self.shared.mappings[index].header)
    }

    /// The run limits.
    pub fn limits(&self) -> &Limits {
        self.sandbox.limits()
    }

    /// Runs that overran their time, were abandoned, and are still going.
    pub fn abandoned_runs(&self) -> usize {
        self.sandbox.abandoned()
    }

    fn index(&self, source: SourceSystem, message_type: &str) -> Option<usize> {
        self.by_type
            .get(&(source, message_type.to_owned()))
            .copied()
    }

    /// Maps one envelope to a bundle (not yet validated): selects the mapping, builds the input
    /// document, runs the program and completes the bundle with `meta.source` and a Provenance.
    pub fn map(&self, envelope: &Envelope) -> Result<Value, MappingError> {
        if self
            .index(envelope.source, &envelope.message_type)
            .is_none()
        {
            return Err(MappingError::NoMapping {
                source_system: envelope.source,
                message_type: envelope.message_type.clone(),
            });
        }
        self.map_owned(MappingInput::from_envelope(envelope)?)
    }

    /// Maps an input document (what [`MappingSet::map`] builds from an envelope; what the
    /// mapping fixtures hold).
    pub fn map_input(&self, input: &MappingInput) -> Result<Value, MappingError> {
        self.map_owned(input.clone())
    }

    fn map_owned(&self, input: MappingInput) -> Result<Value, MappingError> {
        let meta = input.envelope.clone();
        let index =
            self.index(meta.source, &meta.message_type)
                .ok_or_else(|| MappingError::NoMapping {
                    source_system: meta.source,
                    message_type: meta.message_type.clone(),
                })?;
        check_size(&meta, input.message.expose(), "payload", MAX_PAYLOAD_BYTES)?;
        check_size(&meta, input.context.expose(), "context", MAX_CONTEXT_BYTES)?;
        let header = &self.shared.mappings[index].header;
        let shared = Arc::clone(&self.shared);
        let envelope = meta.to_json();
        let ran = self.sandbox.run(move |guard| {
            let (message, context) = (input.message.into_inner(), input.context.into_inner());
            let doc = jaq_json::Val::obj(
                [
                    ("envelope", convert::to_val(&envelope)),
                    ("message", convert::to_val(&message)),
                    ("context", convert::to_val(&context)),
                ]
                .into_iter()
                .map(|(k, v)| (jaq_json::Val::from(k.to_owned()), v))
                .collect(),
            );
            let env = Env {
                maps: &shared.maps,
                labels: &shared.labels,
                guard,
            };
            let output = shared.mappings[index].program.run(doc, &env)?;
            Ok(convert::from_val(&output))
        });
        let mut bundle = match ran {
            Ok(Ok(Ok(value))) => value,
            Ok(Ok(Err(reason))) => return Err(output_error(header, &meta, reason)),
            Ok(Err(e)) => return Err(self.run_error(header, &meta, e)),
            Err(abort) => return Err(self.abort_error(header, &meta, abort)),
        };
        provenance::complete(&mut bundle, &meta, header)
            .map_err(|r| output_error(header, &meta, r))?;
        check_labels(&self.shared.labels, &bundle).map_err(|r| output_error(header, &meta, &r))?;
        Ok(bundle)
    }

    fn run_error(&self, header: &MappingHeader, meta: &EnvelopeMeta, e: RunError) -> MappingError {
        match e {
            RunError::Raised(reason) => runtime(header, meta, reason),
            RunError::Kind(kind) => runtime(header, meta, kind.to_owned()),
            RunError::NoOutput => output_error(header, meta, "the program produced no output"),
            RunError::ManyOutputs => {
                output_error(header, meta, "the program produced more than one output")
            }
            RunError::Limit(limit) => self.limit_error(header, meta, limit),
        }
    }

    fn limit_error(
        &self,
        header: &MappingHeader,
        meta: &EnvelopeMeta,
        limit: Limit,
    ) -> MappingError {
        MappingError::Limit {
            mapping: header.id.clone(),
            version: header.version.clone(),
            message_id: meta.id.clone(),
            limit,
            reason: limit.reason(self.sandbox.limits()),
        }
    }

    fn abort_error(
        &self,
        header: &MappingHeader,
        meta: &EnvelopeMeta,
        abort: Abort,
    ) -> MappingError {
        match abort {
            Abort::Unavailable(reason) => MappingError::Unavailable { reason },
            Abort::Timeout => self.limit_error(header, meta, Limit::Time),
            Abort::Panicked => runtime(
                header,
                meta,
                "the jq engine failed (a panic in jaq or a helper; please report it)".into(),
            ),
        }
    }
}

fn add(
    shared: &mut Shared,
    by_type: &mut HashMap<(SourceSystem, String), usize>,
    file: &Path,
    source: SourceSystem,
) -> Result<(), MappingError> {
    let code = read_code(file)?;
    let (header, types_line) = header::parse(file, source, &code)?;
    let program = Program::compile(file, &code)?;
    let index = shared.mappings.len();
    for message_type in &header.message_types {
        if let Some(other) = by_type.insert((source, message_type.clone()), index) {
            return Err(MappingError::Header {
                file: file.to_owned(),
                line: types_line,
                reason: format!(
                    "message type `{message_type}` is already mapped by `{}`",
                    shared.mappings[other].header.file.display()
                ),
            });
        }
    }
    shared.mappings.push(Loaded { header, program });
    Ok(())
}

fn check_size(
    meta: &EnvelopeMeta,
    value: &Value,
    part: &'static str,
    limit: usize,
) -> Result<(), MappingError> {
    match convert::measure(value, MAX_DEPTH, limit) {
        Ok(()) => Ok(()),
        Err(Oversize::Bytes(size)) => Err(MappingError::TooLarge {
            message_id: meta.id.clone(),
            part,
            size,
            limit,
        }),
        Err(Oversize::Depth) => Err(MappingError::NotJson {
            message_id: meta.id.clone(),
            reason: format!("the {part} nests deeper than {MAX_DEPTH} levels"),
        }),
    }
}

/// Every resource but the Provenance carries one data-class and one confidentiality label.
fn check_labels(labels: &Labels, bundle: &Value) -> Result<(), String> {
    let entries = bundle["entry"].as_array().into_iter().flatten();
    for (i, entry) in entries.enumerate() {
        let resource = &entry["resource"];
        let kind = resource["resourceType"].as_str().unwrap_or("resource");
        if kind == "Provenance" {
            continue;
        }
        labels
            .check(resource)
            .map_err(|why| format!("`Bundle.entry[{i}].resource` ({kind}) {why}"))?;
    }
    Ok(())
}

fn runtime(header: &MappingHeader, meta: &EnvelopeMeta, reason: String) -> MappingError {
    MappingError::Runtime {
        mapping: header.id.clone(),
        version: header.version.clone(),
        message_id: meta.id.clone(),
        reason,
    }
}

fn output_error(header: &MappingHeader, meta: &EnvelopeMeta, reason: &str) -> MappingError {
    MappingError::Output {
        mapping: header.id.clone(),
        version: header.version.clone(),
        message_id: meta.id.clone(),
        reason: reason.to_owned(),
    }
}
