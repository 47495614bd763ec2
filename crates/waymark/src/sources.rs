//! The closed registry of source systems for the offline tools (`map`, `mappings trace`) and
//! the configuration check: how a native message of each source is wrapped in an envelope, as
//! its adapter would wrap it, and how each adapter checks its `[feeds.<source>]` table.

use chrono::Utc;
use serde_json::Value;
use waymark_core::{Envelope, SourceSystem};

/// A native message, wrapped as the source's adapter would.
pub(crate) fn native_envelope(
    source: SourceSystem,
    bytes: Vec<u8>,
    context: Value,
) -> Result<Envelope, String> {
    match source {
        SourceSystem::Nomis => Ok(waymark_adapter_nomis::offline_envelope(
            bytes,
            Utc::now(),
            context,
        )),
        SourceSystem::Athena => Ok(waymark_adapter_athena::envelope_for_event(
            bytes,
            Utc::now(),
        )),
        SourceSystem::Excelicare => {
            Ok(waymark_adapter_excelicare::ingest(bytes, Utc::now()).envelope)
        }
        SourceSystem::Systmone => Ok(waymark_adapter_systmone::offline_envelope(
            bytes,
            Utc::now(),
            context,
        )),
        SourceSystem::Scr => Err(
            "an SCR answer is wrapped with the pull request it answers: give an envelope or an \
             input document"
                .to_owned(),
        ),
    }
}

/// A feed table problem: the key under the feed (`.listen`, or empty), what is wrong, and what
/// was expected.
pub(crate) type FeedProblem = (String, String, String);

/// Checks a `[feeds.<source>]` table with the source adapter's own configuration type.
pub(crate) fn check_feed(source: &str, table: Value) -> Result<(), FeedProblem> {
    let source: SourceSystem = source.parse().map_err(|_| {
        (
            String::new(),
            format!("`{source}` is not a source system"),
            "one of athena, excelicare, systmone, nomis, scr".to_owned(),
        )
    })?;
    let valid = |result: Result<(), String>| result.map_err(|e| (String::new(), e, String::new()));
    match source {
        SourceSystem::Nomis => {
            let config: waymark_adapter_nomis::NomisConfig = typed(table)?;
            valid(config.validate().map_err(|e| e.to_string()))
        }
        SourceSystem::Athena => {
            let config: waymark_adapter_athena::AthenaConfig = typed(table)?;
            valid(config.validate().map_err(|e| e.to_string()))
        }
        SourceSystem::Excelicare => {
            let config: waymark_adapter_excelicare::ExcelicareConfig = typed(table)?;
            valid(config.validate().map_err(|e| e.to_string()))
        }
        SourceSystem::Systmone => {
            let config: waymark_adapter_systmone::SystmOneConfig = typed(table)?;
            valid(config.validate().map_err(|e| e.to_string()))
        }
        SourceSystem::Scr => {
            let config: waymark_adapter_scr::ScrConfig = typed(table)?;
            valid(config.validate().map_err(|e| e.to_string()))
        }
    }
}

fn typed<T: serde::de::DeserializeOwned>(table: Value) -> Result<T, FeedProblem> {
    serde_path_to_error::deserialize(table).map_err(|err| {
        let path = err.path().to_string();
        let key = if path == "." {
            String::new()
        } else {
            format!(".{path}")
        };
        let message = err.inner().to_string();
        let (what, expected) = message
            .split_once(", expected ")
            .map_or((message.clone(), String::new()), |(w, e)| {
                (w.to_owned(), e.to_owned())
            });
        (key, what, expected)
    })
}
