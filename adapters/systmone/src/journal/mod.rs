//! The pull journal: an append-only file of pull requests and what became of them, one JSON
//! line each, `fsync`ed before a request is acknowledged. It is the adapter's checkpoint: on
//! start every request neither done nor failed is pending again.
//!
//! Lines: `{"op":"req","seq","nhs","reason","at"}`, `{"op":"done","seq"}`,
//! `{"op":"fail","seq","code"}`. A torn last line (a crash mid-write) is cut off on open. When the
//! file grows over its limit it is compacted (the live records rewritten to a new file, which
//! replaces it atomically); if the live records alone are over the limit, new requests are
//! refused with `systmone.journal-full`. The file holds NHS numbers: it is created `0600`.

mod file;

use std::{
    collections::{BTreeMap, HashSet},
    fs::File,
    io::Write,
    path::{Path, PathBuf},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use file::{create_private, open_append, push_line, read_records};

use crate::{
    SystmOneError,
    request::{PullRequest, Reason},
};

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Line {
    Req {
        seq: u64,
        nhs: String,
        reason: Reason,
        at: DateTime<Utc>,
    },
    Done {
        seq: u64,
    },
    Fail {
        seq: u64,
        code: String,
    },
}

/// Where a journaled request stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Pending,
    InFlight,
    Failed(String),
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    request: PullRequest,
    state: State,
}

/// What became of a submitted request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Submitted {
    /// The journal sequence number of the request that will serve it.
    pub seq: u64,
    /// True when a pending request for the same person already covered it (nothing written).
    pub coalesced: bool,
}

/// Counts of the journal's live records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Waiting for a worker.
    pub pending: u64,
    /// Being fetched or published now.
    pub in_flight: u64,
    /// Given up on; kept for an operator.
    pub failed: u64,
    /// When the oldest pending or in-flight request was asked for.
    pub oldest_requested_at: Option<DateTime<Utc>>,
    /// Bytes the journal file takes.
    pub bytes: u64,
}

/// The journal file and its live records.
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    size: u64,
    limit: u64,
    next_seq: u64,
    entries: BTreeMap<u64, Entry>,
}

pub(super) fn io(err: &std::io::Error) -> SystmOneError {
    SystmOneError::Journal(err.kind())
}

impl Journal {
    /// Opens (creating) the journal at `path`, cutting off a torn last line.
    pub(crate) fn open(path: &Path, limit: u64) -> Result<Self, SystmOneError> {
        let (entries, next_seq, good_len) = read_records(path)?;
        let file = open_append(path)?;
        file.set_len(good_len).map_err(|e| io(&e))?;
        let mut journal = Self {
            path: path.to_owned(),
            file,
            size: good_len,
            limit,
            next_seq,
            entries,
        };
        if journal.size > journal.limit {
            journal.compact()?;
        }
        Ok(journal)
    }

    /// Journals a request durably, or finds a pending one for the same person.
    pub(crate) fn submit(&mut self, request: PullRequest) -> Result<Submitted, SystmOneError> {
        if let Some((&seq, _)) = self
            .entries
            .iter()
            .find(|(_, e)| e.state == State::Pending && e.request.nhs() == request.nhs())
        {
            return Ok(Submitted {
                seq,
                coalesced: true,
            });
        }
        let seq = self.next_seq;
        let line = Line::Req {
            seq,
            nhs: request.nhs().to_owned(),
            reason: request.reason.clone(),
            at: request.requested_at,
        };
        self.append(&line, true)?;
        self.next_seq += 1;
        self.entries.insert(
            seq,
            Entry {
                request,
                state: State::Pending,
            },
        );
        Ok(Submitted {
            seq,
            coalesced: false,
        })
    }

    /// The oldest pending request whose person has nothing in flight, now marked in flight.
    pub(crate) fn take(&mut self) -> Option<(u64, PullRequest)> {
        let busy: HashSet<String> = self
            .entries
            .values()
            .filter(|e| e.state == State::InFlight)
            .map(|e| e.request.nhs().to_owned())
            .collect();
        let (seq, entry) = self
            .entries
            .iter_mut()
            .find(|(_, e)| e.state == State::Pending && !busy.contains(e.request.nhs()))?;
        entry.state = State::InFlight;
        Some((*seq, entry.request.clone()))
    }

    /// An in-flight request goes back to pending (the worker stopped before finishing it).
    pub(crate) fn release(&mut self, seq: u64) {
        if let Some(entry) = self.entries.get_mut(&seq)
            && entry.state == State::InFlight
        {
            entry.state = State::Pending;
        }
    }

    /// The request was served and its answer confirmed by the bus: forget it, durably.
    pub(crate) fn done(&mut self, seq: u64) -> Result<(), SystmOneError> {
        self.append(&Line::Done { seq }, false)?;
        self.entries.remove(&seq);
        Ok(())
    }

    /// The request was given up on: keep it, marked failed with an error code, durably.
    pub(crate) fn fail(&mut self, seq: u64, code: &str) -> Result<(), SystmOneError> {
        self.append(
            &Line::Fail {
                seq,
                code: code.to_owned(),
            },
            false,
        )?;
        if let Some(entry) = self.entries.get_mut(&seq) {
            entry.state = State::Failed(code.to_owned());
        }
        Ok(())
    }

    /// Counts of live records.
    pub(crate) fn stats(&self) -> JournalStats {
        let mut stats = JournalStats {
            bytes: self.size,
            ..JournalStats::default()
        };
        for entry in self.entries.values() {
            match entry.state {
                State::Pending => stats.pending += 1,
                State::InFlight => stats.in_flight += 1,
                State::Failed(_) => stats.failed += 1,
            }
            if entry.state != State::Pending && entry.state != State::InFlight {
                continue;
            }
            let at = entry.request.requested_at;
            stats.oldest_requested_at = Some(stats.oldest_requested_at.map_or(at, |o| o.min(at)));
        }
        stats
    }

    /// Error codes of the failed requests, oldest first (for an operator; no patient data).
    pub(crate) fn failed_codes(&self) -> Vec<String> {
        self.entries
            .values()
            .filter_map(|e| match &e.state {
                State::Failed(code) => Some(code.clone()),
                _ => None,
            })
            .collect()
    }

    /// Appends one line and fsyncs; compacts first when a new request would pass the limit.
    fn append(&mut self, line: &Line, is_request: bool) -> Result<(), SystmOneError> {
        let mut bytes = serde_json::to_vec(line)
            .map_err(|_| SystmOneError::Journal(std::io::ErrorKind::InvalidData))?;
        bytes.push(b'\n');
        let len = bytes.len() as u64;
        if self.size + len > self.limit {
            self.compact()?;
            if is_request && self.size + len > self.limit {
                return Err(SystmOneError::JournalFull {
                    size: self.size,
                    limit: self.limit,
                });
            }
        }
        self.file.write_all(&bytes).map_err(|e| io(&e))?;
        self.file.sync_data().map_err(|e| io(&e))?;
        self.size += len;
        Ok(())
    }

    /// Rewrites the live records to a new file that atomically replaces the journal.
    fn compact(&mut self) -> Result<(), SystmOneError> {
        let tmp = self.path.with_extension("compacting");
        let mut out = Vec::new();
        for (seq, entry) in &self.entries {
            let req = Line::Req {
                seq: *seq,
                nhs: entry.request.nhs().to_owned(),
                reason: entry.request.reason.clone(),
                at: entry.request.requested_at,
            };
            push_line(&mut out, &req);
            if let State::Failed(code) = &entry.state {
                push_line(
                    &mut out,
                    &Line::Fail {
                        seq: *seq,
                        code: code.clone(),
                    },
                );
            }
        }
        {
            let mut file = create_private(&tmp)?;
            file.write_all(&out).map_err(|e| io(&e))?;
            file.sync_all().map_err(|e| io(&e))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| io(&e))?;
        if let Some(dir) = self.path.parent()
            && let Ok(dir) = File::open(dir)
        {
            let _ = dir.sync_all();
        }
        self.file = open_append(&self.path)?;
        self.size = out.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    fn request(nhs: &str) -> PullRequest {
        PullRequest::new(nhs, "prison-reception", Utc::now()).unwrap()
    }

    #[test]
    fn pending_requests_survive_a_reopen_and_duplicates_coalesce() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut journal = Journal::open(&path, 1 << 20).unwrap();
        let a = journal.submit(request("9434765919")).unwrap();
        let again = journal.submit(request("943 476 5919")).unwrap();
        assert_eq!((again.seq, again.coalesced), (a.seq, true));
        let b = journal.submit(request("9434765870")).unwrap();
        let (taken, _) = journal.take().unwrap();
        assert_eq!(taken, a.seq);
        // While `a` is in flight a new request for the same person is journaled, not coalesced.
        let c = journal.submit(request("9434765919")).unwrap();
        assert!(!c.coalesced);
        assert_eq!(journal.take().unwrap().0, b.seq);
        assert!(
            journal.take().is_none(),
            "c waits for a, its person is busy"
        );
        journal.done(a.seq).unwrap();
        journal.fail(b.seq, "systmone.gave-up").unwrap();
        drop(journal);

        let mut journal = Journal::open(&path, 1 << 20).unwrap();
        let stats = journal.stats();
        assert_eq!((stats.pending, stats.failed), (1, 1));
        assert_eq!(journal.failed_codes(), vec!["systmone.gave-up".to_owned()]);
        assert_eq!(journal.take().unwrap().0, c.seq);
        assert!(journal.submit(request("9434765870")).unwrap().seq > c.seq);
    }

    #[test]
    fn a_torn_last_line_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut journal = Journal::open(&path, 1 << 20).unwrap();
        journal.submit(request("9434765919")).unwrap();
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"op":"req","seq":2,"nh"#).unwrap();
        drop(file);
        let mut journal = Journal::open(&path, 1 << 20).unwrap();
        assert_eq!(journal.stats().pending, 1);
        assert_eq!(journal.submit(request("9434765870")).unwrap().seq, 2);
        drop(journal);
        assert_eq!(Journal::open(&path, 1 << 20).unwrap().stats().pending, 2);
    }

    #[test]
    fn the_file_is_compacted_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut journal = Journal::open(&path, 400).unwrap();
        for _ in 0..20 {
            let s = journal.submit(request("9434765919")).unwrap();
            let (seq, _) = journal.take().unwrap();
            assert_eq!(seq, s.seq);
            journal.done(seq).unwrap();
        }
        assert!(journal.stats().bytes <= 400, "{}", journal.stats().bytes);
        let mut refused = None;
        for n in [
            "9434765919",
            "9434765870",
            "9876543210",
            "4010232137",
            "9000000009",
        ] {
            if let Err(err) = journal.submit(request(n)) {
                refused = Some(err);
                break;
            }
        }
        assert!(matches!(refused, Some(SystmOneError::JournalFull { .. })));
        assert!(std::fs::metadata(&path).unwrap().len() <= 400);
    }
}
