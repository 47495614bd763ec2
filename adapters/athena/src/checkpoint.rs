//! The checkpoint: where in Athena's feed the adapter is. Written only after every event of a
//! page was confirmed by the bus, atomically (a temporary file in the same folder, fsynced, then
//! renamed over the old one, then the folder fsynced), so after a crash it is either the old or
//! the new checkpoint, never a torn one.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::AthenaError;

/// The checkpoint format version this build reads.
const VERSION: u32 = 1;

/// A position in the feed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    version: u32,
    /// Athena's opaque cursor to continue from (`None`: from the start of the feed).
    pub cursor: Option<String>,
    /// The highest event sequence number published so far; an event at or below it means the
    /// feed went backwards, and it is skipped with a record.
    pub last_sequence: Option<u64>,
}

impl Checkpoint {
    /// A checkpoint at `cursor` after `last_sequence`.
    pub fn new(cursor: Option<String>, last_sequence: Option<u64>) -> Self {
        Self {
            version: VERSION,
            cursor,
            last_sequence,
        }
    }

    /// Reads the checkpoint at `path`; a missing file is the start of the feed.
    pub fn load(path: &Path) -> Result<Self, AthenaError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::new(None, None)),
            Err(_) => return Err(AthenaError::Checkpoint("cannot be read")),
        };
        let checkpoint: Self = serde_json::from_slice(&bytes)
            .map_err(|_| AthenaError::Checkpoint("is not a checkpoint"))?;
        if checkpoint.version != VERSION {
            return Err(AthenaError::Checkpoint("has an unsupported version"));
        }
        Ok(checkpoint)
    }

    /// Writes the checkpoint to `path` atomically and durably.
    pub fn save(&self, path: &Path) -> Result<(), AthenaError> {
        let fail = |_| AthenaError::Checkpoint("cannot be written");
        let dir = parent(path);
        let tmp = temporary(path);
        let bytes =
            serde_json::to_vec(self).map_err(|_| AthenaError::Checkpoint("cannot be encoded"))?;
        let mut file = std::fs::File::create(&tmp).map_err(fail)?;
        file.write_all(&bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(fail)?;
        if let Ok(dir) = std::fs::File::open(&dir) {
            dir.sync_all().map_err(fail)?;
        }
        Ok(())
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("athena.checkpoint");
        assert_eq!(
            Checkpoint::load(&path).unwrap(),
            Checkpoint::new(None, None)
        );
        let at = Checkpoint::new(Some("c1.00ff".into()), Some(42));
        at.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), at);
        assert!(!temporary(&path).exists());
    }

    #[test]
    fn refuses_garbage_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp");
        std::fs::write(&path, b"{\"secret\": \"A1234BC\"").unwrap();
        let err = Checkpoint::load(&path).unwrap_err();
        assert!(!err.to_string().contains("A1234BC"));
        std::fs::write(&path, br#"{"version":2,"cursor":null,"lastSequence":null}"#).unwrap();
        assert!(Checkpoint::load(&path).is_err());
    }
}
