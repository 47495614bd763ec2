//! The hash chain: [`chain`] makes the next [`AuditEntry`], [`verify`] / [`Verifier`] check a
//! log against its separately stored [`Head`].
//!
//! `hash = SHA-256(prev_hash (32 bytes) || canonical record bytes || sequence (u64, big
//! endian))`, hex in storage. Sequences start at 1; the first entry's `prev_hash` is
//! [`GENESIS`] (64 zeros). The fixed-length prefix and suffix make the concatenation
//! unambiguous.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AuditRecord;

/// The `prev_hash` of the first entry, and the hash of the empty log's head.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its place, from 1, without gaps.
    pub sequence: u64,
    /// The previous entry's hash (hex), [`GENESIS`] for the first.
    pub prev_hash: String,
    /// This entry's hash (hex).
    pub hash: String,
    /// What was audited.
    pub record: AuditRecord,
}

/// The last entry of the log, stored apart from the entries and moved in the same transaction
/// as each append; `sequence` 0 with [`GENESIS`] for an empty log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The last sequence.
    pub sequence: u64,
    /// The last hash.
    pub hash: String,
}

impl Head {
    /// The head of an empty log.
    pub fn genesis() -> Self {
        Self {
            sequence: 0,
            hash: GENESIS.to_owned(),
        }
    }
}

/// A log that checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Entries checked.
    pub count: u64,
    /// The last entry (the genesis head for an empty log).
    pub head: Head,
}

/// What is wrong, and where. Names a sequence and a kind, never record contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tamper {
    /// The first sequence found wrong (for a log cut short: the first one missing).
    pub sequence: u64,
    /// How.
    pub kind: TamperKind,
}

/// The kinds of tampering [`verify`] tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TamperKind {
    /// The entry's hash does not match its contents (changed record, sequence or prev hash).
    Modified,
    /// The entry's `prev_hash` is not the previous entry's hash (an entry was removed,
    /// inserted or moved, or its neighbour rewritten with a recomputed hash).
    BrokenLink,
    /// A sequence is missing or out of order (deleted, inserted or reordered entries).
    Sequence,
    /// The log ends before the stored head (its tail was removed).
    Truncated,
    /// The log goes on past the stored head, or ends on a hash other than the head's
    /// (entries appended or rewritten outside the hub).
    HeadMismatch,
}

impl TamperKind {
    /// A stable code, e.g. `audit.modified`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Modified => "audit.modified",
            Self::BrokenLink => "audit.broken-link",
            Self::Sequence => "audit.sequence",
            Self::Truncated => "audit.truncated",
            Self::HeadMismatch => "audit.head-mismatch",
        }
    }
}

impl std::fmt::Display for Tamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at sequence {}", self.kind.code(), self.sequence)
    }
}

impl std::error::Error for Tamper {}

/// The hash of an entry with this place, predecessor and record.
pub fn entry_hash(sequence: u64, prev_hash: &str, record: &AuditRecord) -> String {
    let mut prev = [0u8; 32];
    // A malformed stored prev hash hashes as something no honest entry has.
    if hex::decode_to_slice(prev_hash, &mut prev).is_err() {
        prev = [0xff; 32];
    }
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(record.canonical());
    hasher.update(sequence.to_be_bytes());
    hex::encode(hasher.finalize())
}

/// The entry that follows `prev` (the log's head) with `record` (its time cut to the
/// microsecond).
pub fn chain(prev: &Head, record: AuditRecord) -> AuditEntry {
    let record = record.normalised();
    let sequence = prev.sequence + 1;
    AuditEntry {
        sequence,
        hash: entry_hash(sequence, &prev.hash, &record),
        prev_hash: prev.hash.clone(),
        record,
    }
}

/// Checks a log page by page: [`Verifier::push`] each entry in sequence order, then
/// [`Verifier::finish`] with the stored head.
#[derive(Clone, Debug)]
pub struct Verifier {
    last: Head,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            last: Head::genesis(),
        }
    }
}

impl Verifier {
    /// Checks the next entry.
    pub fn push(&mut self, entry: &AuditEntry) -> Result<(), Tamper> {
        let expected = self.last.sequence + 1;
        let at = |kind| Tamper {
            sequence: expected,
            kind,
        };
        if entry.sequence != expected {
            return Err(at(TamperKind::Sequence));
        }
        if entry_hash(entry.sequence, &entry.prev_hash, &entry.record) != entry.hash {
            return Err(at(TamperKind::Modified));
        }
        if entry.prev_hash != self.last.hash {
            return Err(at(TamperKind::BrokenLink));
        }
        self.last = Head {
            sequence: entry.sequence,
            hash: entry.hash.clone(),
        };
        Ok(())
    }

    /// Compares the end of the log with the stored head.
    pub fn finish(self, head: &Head) -> Result<Verified, Tamper> {
        if self.last.sequence < head.sequence {
            return Err(Tamper {
                sequence: self.last.sequence + 1,
                kind: TamperKind::Truncated,
            });
        }
        if self.last != *head {
            return Err(Tamper {
                sequence: head.sequence.max(1),
                kind: TamperKind::HeadMismatch,
            });
        }
        Ok(Verified {
            count: self.last.sequence,
            head: self.last,
        })
    }
}

/// Checks a whole log (entries in sequence order) against its stored head.
pub fn verify<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
    head: &Head,
) -> Result<Verified, Tamper> {
    let mut verifier = Verifier::default();
    for entry in entries {
        verifier.push(entry)?;
    }
    verifier.finish(head)
}
