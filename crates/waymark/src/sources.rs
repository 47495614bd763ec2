//! The closed registry of source systems for the offline tools (`map`, `mappings trace`): how a
//! native message of each source is wrapped in an envelope, as its adapter would wrap it.

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
        other => Err(format!(
            "no adapter for `{other}` yet: give an envelope or an input document"
        )),
    }
}
