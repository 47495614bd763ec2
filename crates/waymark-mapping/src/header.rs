//! The comment header every mapping file opens with:
//!
//! ```text
//! # waymark-mapping: 1
//! # source: nomis
//! # message-types: EXTERNAL_MOVEMENT_RECORD-INSERTED, OFFENDER-UPDATED
//! # version: 1.0.0
//! # profile: hjmd-bundle
//! ```
//!
//! The header is the leading block of `#` lines. `# key: value` lines (key in lower-case letters
//! and `-`) are fields; every field is required, none may repeat, unknown keys are errors. Other
//! `#` lines are prose.

use std::path::{Path, PathBuf};

use waymark_core::SourceSystem;

use crate::MappingError;

/// The header format version this build reads.
pub const HEADER_VERSION: &str = "1";

/// What a mapping file says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingHeader {
    /// `<source>/<file stem>`, e.g. `nomis/prison-movement`.
    pub id: String,
    /// The source system whose messages it maps (also the folder it lives in).
    pub source: SourceSystem,
    /// The source message types it handles.
    pub message_types: Vec<String>,
    /// The mapping's own version (`major.minor.patch`), recorded in every Provenance.
    pub version: String,
    /// The profile its output must meet, e.g. `hjmd-bundle`.
    pub profile: String,
    /// The file it was loaded from.
    pub file: PathBuf,
}

impl MappingHeader {
    /// `https://fhir.waymark.org.uk/mapping/<id>|<version>`, the Provenance policy naming it.
    pub fn policy(&self) -> String {
        format!(
            "https://fhir.waymark.org.uk/mapping/{}|{}",
            self.id, self.version
        )
    }

    /// An information issue naming this mapping and its version (rule `mapping.produced-by`),
    /// added to an outcome about a bundle it produced so that whoever reads the quarantine
    /// knows which program to fix.
    pub fn issue(&self) -> waymark_fhir::Issue {
        waymark_fhir::Issue {
            severity: waymark_fhir::Severity::Information,
            code: waymark_core::IssueType::Processing,
            rule: "mapping.produced-by".into(),
            location: None,
            text: format!(
                "the bundle was produced by mapping `{}` version {}",
                self.id, self.version
            ),
        }
    }
}

#[derive(Default)]
struct Fields {
    format: Option<String>,
    source: Option<String>,
    message_types: Option<String>,
    version: Option<String>,
    profile: Option<String>,
}

/// Parses the header of `code`, read from `file` in the folder of `folder_source`; also returns
/// the line of the `message-types` field.
pub(crate) fn parse(
    file: &Path,
    folder_source: SourceSystem,
    code: &str,
) -> Result<(MappingHeader, usize), MappingError> {
    let err = |line: usize, reason: String| MappingError::Header {
        file: file.to_owned(),
        line,
        reason,
    };
    let mut fields = Fields::default();
    let mut last = 0;
    let mut types_line = 0;
    for (i, line) in code
        .lines()
        .enumerate()
        .take_while(|(_, l)| l.starts_with('#'))
    {
        let n = i + 1;
        last = n;
        let Some((key, value)) = field(line) else {
            continue;
        };
        if n == 1 && key != "waymark-mapping" {
            return Err(err(
                1,
                "the first line must be `# waymark-mapping: 1`".into(),
            ));
        }
        let slot = match key {
            "waymark-mapping" => &mut fields.format,
            "source" => &mut fields.source,
            "message-types" => {
                types_line = n;
                &mut fields.message_types
            }
            "version" => &mut fields.version,
            "profile" => &mut fields.profile,
            other => return Err(err(n, format!("unknown header field `{other}`"))),
        };
        if slot.replace(value.to_owned()).is_some() {
            return Err(err(n, format!("header field `{key}` is given twice")));
        }
    }
    let end = last + 1;
    let need = |v: Option<String>, key: &str| {
        v.filter(|v| !v.is_empty())
            .ok_or_else(|| err(end, format!("the header has no `{key}` field")))
    };
    let format = need(fields.format, "waymark-mapping")?;
    if format != HEADER_VERSION {
        return Err(err(
            1,
            format!("header version `{format}` is not supported (this build reads 1)"),
        ));
    }
    let source = need(fields.source, "source")?;
    let source: SourceSystem = source.parse().map_err(|e| err(end, format!("{e}")))?;
    if source != folder_source {
        return Err(err(
            end,
            format!("`source: {source}` but the file is in the `{folder_source}` folder"),
        ));
    }
    let message_types: Vec<String> = need(fields.message_types, "message-types")?
        .split(',')
        .map(|t| t.trim().to_owned())
        .collect();
    if message_types.iter().any(String::is_empty) {
        return Err(err(end, "`message-types` has an empty entry".into()));
    }
    let version = need(fields.version, "version")?;
    let semver = version.split('.').collect::<Vec<_>>();
    if semver.len() != 3
        || semver
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(err(
            end,
            format!("version `{version}` is not `major.minor.patch`"),
        ));
    }
    let profile = need(fields.profile, "profile")?;
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let header = MappingHeader {
        id: format!("{source}/{stem}"),
        source,
        message_types,
        version,
        profile,
        file: file.to_owned(),
    };
    Ok((header, types_line))
}

/// `# key: value` → `(key, value)` when `key` is lower-case letters and `-`.
fn field(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.trim_start_matches('#').split_once(':')?;
    let key = key.trim();
    let is_key = !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    is_key.then(|| (key, value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# waymark-mapping: 1\n# source: nomis\n# Prose is fine here.\n\
        # message-types: A, B-C\n# version: 1.2.3\n# profile: hjmd-bundle\n.\n";

    fn check(code: &str) -> Result<MappingHeader, MappingError> {
        parse(Path::new("nomis/m.jq"), SourceSystem::Nomis, code).map(|(h, _)| h)
    }

    fn line_of(code: &str) -> usize {
        match check(code).unwrap_err() {
            MappingError::Header { line, .. } => line,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn reads_a_good_header() {
        let h = check(GOOD).unwrap();
        assert_eq!(h.id, "nomis/m");
        assert_eq!(h.message_types, ["A", "B-C"]);
        assert_eq!(
            h.policy(),
            "https://fhir.waymark.org.uk/mapping/nomis/m|1.2.3"
        );
    }

    #[test]
    fn names_the_line_of_each_problem() {
        assert_eq!(
            line_of(&GOOD.replace("# waymark-mapping: 1\n", "# source: x\n")),
            1
        );
        assert_eq!(
            line_of(&GOOD.replace("waymark-mapping: 1", "waymark-mapping: 2")),
            1
        );
        assert_eq!(
            line_of(&GOOD.replace("# profile", "# colour: red\n# profile")),
            6
        );
        assert_eq!(line_of(&GOOD.replace("# version: 1.2.3\n", "")), 6);
        assert_eq!(line_of(&GOOD.replace("1.2.3", "one")), 7);
        assert_eq!(line_of(&GOOD.replace("A, B-C", "A,,B")), 7);
        assert_eq!(line_of(&GOOD.replace("source: nomis", "source: athena")), 7);
        assert_eq!(
            line_of(&GOOD.replace("# profile", "# source: nomis\n# profile")),
            6
        );
    }
}
