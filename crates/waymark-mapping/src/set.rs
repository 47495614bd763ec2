//! `MappingSet`: every mapping under `mappings/`, compiled once, selected by (source, message
//! type).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use waymark_core::{Envelope, SourceSystem};

use crate::convert::{self, MAX_DEPTH};
use crate::jq::{Program, RunError};
use crate::terminology::ConceptMaps;
use crate::{EnvelopeMeta, MappingError, MappingHeader, MappingInput, header, provenance};

struct Loaded {
    header: MappingHeader,
    program: Program,
}

/// The loaded mappings. Pure after loading; `Send + Sync`, so one set serves every worker.
pub struct MappingSet {
    mappings: Vec<Loaded>,
    by_type: HashMap<(SourceSystem, String), usize>,
    maps: ConceptMaps,
}

impl std::fmt::Debug for MappingSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.mappings.iter().map(|m| m.header.id.as_str()).collect();
        f.debug_struct("MappingSet")
            .field("mappings", &ids)
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

impl MappingSet {
    /// Loads `dir/<source>/*.jq` for every source system and the ConceptMaps in
    /// `dir/terminology/*.json`; parses headers, compiles every program, and refuses two mappings
    /// claiming the same (source, message type).
    pub fn load(dir: &Path) -> Result<Self, MappingError> {
        if !dir.is_dir() {
            let reason = "not a directory".into();
            return Err(MappingError::Load {
                path: dir.to_owned(),
                reason,
            });
        }
        let mut set = Self {
            mappings: Vec::new(),
            by_type: HashMap::new(),
            maps: ConceptMaps::load(&dir.join("terminology"))?,
        };
        for source in SourceSystem::ALL {
            let folder = dir.join(source.as_str());
            if !folder.is_dir() {
                continue;
            }
            for file in files_with_extension(&folder, "jq")? {
                set.add(&file, source)?;
            }
        }
        Ok(set)
    }

    fn add(&mut self, file: &Path, source: SourceSystem) -> Result<(), MappingError> {
        let code = std::fs::read_to_string(file).map_err(|e| MappingError::Load {
            path: file.to_owned(),
            reason: e.to_string(),
        })?;
        let (header, types_line) = header::parse(file, source, &code)?;
        let program = Program::compile(file, &code)?;
        let index = self.mappings.len();
        for message_type in &header.message_types {
            if let Some(other) = self.by_type.insert((source, message_type.clone()), index) {
                return Err(MappingError::Header {
                    file: file.to_owned(),
                    line: types_line,
                    reason: format!(
                        "message type `{message_type}` is already mapped by `{}`",
                        self.mappings[other].header.file.display()
                    ),
                });
            }
        }
        self.mappings.push(Loaded { header, program });
        Ok(())
    }

    /// The headers of every loaded mapping.
    pub fn headers(&self) -> impl Iterator<Item = &MappingHeader> {
        self.mappings.iter().map(|m| &m.header)
    }

    /// The mapping that handles (source, message type), if any.
    pub fn mapping_for(&self, source: SourceSystem, message_type: &str) -> Option<&MappingHeader> {
        self.find(source, message_type).map(|m| &m.header)
    }

    fn find(&self, source: SourceSystem, message_type: &str) -> Option<&Loaded> {
        let index = self.by_type.get(&(source, message_type.to_owned()))?;
        self.mappings.get(*index)
    }

    /// Maps one envelope to a bundle (not yet validated): selects the mapping, builds the input
    /// document, runs the program and completes the bundle with `meta.source` and a Provenance.
    pub fn map(&self, envelope: &Envelope) -> Result<Value, MappingError> {
        if self.find(envelope.source, &envelope.message_type).is_none() {
            return Err(MappingError::NoMapping {
                source_system: envelope.source,
                message_type: envelope.message_type.clone(),
            });
        }
        self.map_input(&MappingInput::from_envelope(envelope)?)
    }

    /// Maps an input document (what [`MappingSet::map`] builds from an envelope; what the
    /// mapping fixtures hold).
    pub fn map_input(&self, input: &MappingInput) -> Result<Value, MappingError> {
        let meta = &input.envelope;
        let mapping =
            self.find(meta.source, &meta.message_type)
                .ok_or_else(|| MappingError::NoMapping {
                    source_system: meta.source,
                    message_type: meta.message_type.clone(),
                })?;
        let (message, context) = (input.message.expose(), input.context.expose());
        if convert::depth_exceeds(message, MAX_DEPTH) || convert::depth_exceeds(context, MAX_DEPTH)
        {
            let reason = format!("the message or its context nests deeper than {MAX_DEPTH} levels");
            return Err(MappingError::NotJson {
                message_id: meta.id.clone(),
                reason,
            });
        }
        let doc = jaq_json::Val::obj(
            [
                ("envelope", convert::to_val(&meta.to_json())),
                ("message", convert::to_val(message)),
                ("context", convert::to_val(context)),
            ]
            .into_iter()
            .map(|(k, v)| (jaq_json::Val::from(k.to_owned()), v))
            .collect(),
        );
        let header = &mapping.header;
        let output = mapping.program.run(doc, &self.maps).map_err(|e| match e {
            RunError::Raised(reason) => runtime(header, meta, reason),
            RunError::Kind(kind) => runtime(header, meta, kind.to_owned()),
            RunError::NoOutput => output_error(header, meta, "the program produced no output"),
            RunError::ManyOutputs => {
                output_error(header, meta, "the program produced more than one output")
            }
        })?;
        let mut bundle = convert::from_val(&output).map_err(|r| output_error(header, meta, r))?;
        provenance::complete(&mut bundle, meta, header)
            .map_err(|r| output_error(header, meta, r))?;
        Ok(bundle)
    }
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
