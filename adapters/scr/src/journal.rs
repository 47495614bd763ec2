//! The pull journal: an append-only file of JSON lines, fsynced after every append, that holds
//! every accepted pull request until its answer is on the bus. It is the adapter's checkpoint:
//! on start the file is replayed, and every request without a `done` or `failed` line is
//! pending again. A torn last line (a crash mid-write) is ignored. The file is compacted (done
//! requests dropped, pending and failed ones kept) on open and whenever an append would take it
//! over its size limit; if it is still over, new requests are refused (`scr.journal.full`).
//!
//! The file holds NHS numbers (like the bus holds payloads); nothing here logs them.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    sync::Mutex,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    ScrError,
    request::{Nhs, PullReason, PullRequest},
};

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
enum Record {
    Request {
        seq: u64,
        nhs: String,
        reason: String,
        at: DateTime<Utc>,
    },
    Done {
        seq: u64,
        outcome: String,
        id: String,
    },
    Failed {
        seq: u64,
        code: String,
    },
}

/// One pending request, as the worker takes it.
#[derive(Clone, Debug)]
pub struct Job {
    /// Its place in the journal.
    pub seq: u64,
    /// The request.
    pub request: PullRequest,
}

/// What became of a submitted request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Journaled (fsynced) as a new pending request.
    Journaled {
        /// Its sequence number.
        seq: u64,
    },
    /// A request for the same person is already pending; nothing new was written.
    Coalesced {
        /// The pending request's sequence number.
        seq: u64,
    },
}

/// Counts of the journal's requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JournalStatus {
    /// Accepted and not yet answered (queued or being worked on).
    pub pending: usize,
    /// Answered and published since the journal was opened.
    pub done: usize,
    /// Given up on (kept in the journal, visible here until compaction keeps them anyway).
    pub failed: usize,
}

struct Inner {
    file: File,
    size: u64,
    next_seq: u64,
    pending: BTreeMap<u64, PullRequest>,
    by_nhs: HashMap<String, u64>,
    failed: BTreeMap<u64, (PullRequest, String)>,
    queue: VecDeque<u64>,
    done: usize,
}

/// The journal. Calls block on file IO (fsync); call them from `spawn_blocking`.
pub struct Journal {
    path: PathBuf,
    max_bytes: u64,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").finish_non_exhaustive()
    }
}

impl Journal {
    /// Opens (or creates) the journal at `path`, replays it and compacts it.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Self, ScrError> {
        let (pending, failed, next_seq) = replay(path)?;
        let mut inner = Inner {
            file: rewrite(path, &pending, &failed)?,
            size: 0,
            next_seq,
            queue: pending.keys().copied().collect(),
            by_nhs: pending
                .iter()
                .map(|(seq, r)| (r.nhs_number.expose().to_owned(), *seq))
                .collect(),
            pending,
            failed,
            done: 0,
        };
        inner.size = file_size(&inner.file)?;
        Ok(Self {
            path: path.to_owned(),
            max_bytes,
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Journals a request (fsynced before it returns), or coalesces it with a pending one for
    /// the same person.
    pub fn submit(&self, request: &PullRequest) -> Result<Accepted, ScrError> {
        let mut inner = self.lock();
        if let Some(seq) = inner.by_nhs.get(request.nhs_number.expose()) {
            return Ok(Accepted::Coalesced { seq: *seq });
        }
        let seq = inner.next_seq;
        let record = Record::Request {
            seq,
            nhs: request.nhs_number.expose().to_owned(),
            reason: request.reason.as_str().to_owned(),
            at: request.requested_at,
        };
        self.append(&mut inner, &record)?;
        inner.next_seq += 1;
        inner.pending.insert(seq, request.clone());
        inner
            .by_nhs
            .insert(request.nhs_number.expose().to_owned(), seq);
        inner.queue.push_back(seq);
        Ok(Accepted::Journaled { seq })
    }

    /// The next queued request, if any (it stays pending until `done` or `failed`).
    pub fn take(&self) -> Option<Job> {
        let mut inner = self.lock();
        while let Some(seq) = inner.queue.pop_front() {
            if let Some(request) = inner.pending.get(&seq) {
                let request = request.clone();
                return Some(Job { seq, request });
            }
        }
        None
    }

    /// Records that the answer to `seq` is on the bus as message `id`.
    pub fn done(&self, seq: u64, outcome: &str, id: &str) -> Result<(), ScrError> {
        let mut inner = self.lock();
        let record = Record::Done {
            seq,
            outcome: outcome.to_owned(),
            id: id.to_owned(),
        };
        self.append(&mut inner, &record)?;
        if let Some(request) = inner.pending.remove(&seq) {
            inner.by_nhs.remove(request.nhs_number.expose());
            inner.done += 1;
        }
        Ok(())
    }

    /// Records that `seq` was given up on with `code`; it stays in the journal as failed.
    pub fn failed(&self, seq: u64, code: &str) -> Result<(), ScrError> {
        let mut inner = self.lock();
        let record = Record::Failed {
            seq,
            code: code.to_owned(),
        };
        self.append(&mut inner, &record)?;
        if let Some(request) = inner.pending.remove(&seq) {
            inner.by_nhs.remove(request.nhs_number.expose());
            inner.failed.insert(seq, (request, code.to_owned()));
        }
        Ok(())
    }

    /// Puts a request taken but not finished (the adapter is stopping) back in the queue.
    pub fn requeue(&self, seq: u64) {
        let mut inner = self.lock();
        if inner.pending.contains_key(&seq) {
            inner.queue.push_front(seq);
        }
    }

    /// Counts of pending, done and failed requests.
    pub fn status(&self) -> JournalStatus {
        let inner = self.lock();
        JournalStatus {
            pending: inner.pending.len(),
            done: inner.done,
            failed: inner.failed.len(),
        }
    }

    /// The error codes of the failed requests, oldest first (no identifiers).
    pub fn failed_codes(&self) -> Vec<String> {
        self.lock()
            .failed
            .values()
            .map(|(_, c)| c.clone())
            .collect()
    }

    fn append(&self, inner: &mut Inner, record: &Record) -> Result<(), ScrError> {
        let mut line = serde_json::to_vec(record).map_err(|e| ScrError::Journal(e.into()))?;
        line.push(b'\n');
        let len = line.len() as u64;
        if inner.size + len > self.max_bytes {
            inner.file = rewrite(&self.path, &inner.pending, &inner.failed)?;
            inner.size = file_size(&inner.file)?;
            if inner.size + len > self.max_bytes {
                return Err(ScrError::JournalFull);
            }
        }
        inner.file.write_all(&line).map_err(ScrError::Journal)?;
        inner.file.sync_data().map_err(ScrError::Journal)?;
        inner.size += len;
        Ok(())
    }
}

type Replayed = (
    BTreeMap<u64, PullRequest>,
    BTreeMap<u64, (PullRequest, String)>,
    u64,
);

fn replay(path: &Path) -> Result<Replayed, ScrError> {
    let mut pending = BTreeMap::new();
    let mut failed = BTreeMap::new();
    let mut next_seq = 1;
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((pending, failed, next_seq));
        }
        Err(e) => return Err(ScrError::Journal(e)),
    };
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(ScrError::Journal)?;
        // A torn or foreign line is skipped: only whole records count.
        let Ok(record) = serde_json::from_slice::<Record>(&line) else {
            tracing::warn!(code = "scr.journal.skipped-line", "journal line unreadable");
            continue;
        };
        match record {
            Record::Request {
                seq,
                nhs,
                reason,
                at,
            } => {
                next_seq = next_seq.max(seq + 1);
                if let (Ok(nhs_number), Ok(reason)) = (Nhs::parse(&nhs), PullReason::parse(&reason))
                {
                    let request = PullRequest {
                        nhs_number,
                        reason,
                        requested_at: at,
                    };
                    pending.insert(seq, request);
                }
            }
            Record::Done { seq, .. } => {
                pending.remove(&seq);
            }
            Record::Failed { seq, code } => {
                if let Some(request) = pending.remove(&seq) {
                    failed.insert(seq, (request, code));
                }
            }
        }
    }
    Ok((pending, failed, next_seq))
}

/// Writes pending and failed requests to a new file, fsyncs it and moves it into place.
fn rewrite(
    path: &Path,
    pending: &BTreeMap<u64, PullRequest>,
    failed: &BTreeMap<u64, (PullRequest, String)>,
) -> Result<File, ScrError> {
    let tmp = path.with_extension("compacting");
    let mut out = Vec::new();
    let mut all: Vec<(u64, &PullRequest, Option<&String>)> =
        pending.iter().map(|(s, r)| (*s, r, None)).collect();
    all.extend(failed.iter().map(|(s, (r, c))| (*s, r, Some(c))));
    all.sort_by_key(|(seq, _, _)| *seq);
    for (seq, request, code) in all {
        let mut records = vec![Record::Request {
            seq,
            nhs: request.nhs_number.expose().to_owned(),
            reason: request.reason.as_str().to_owned(),
            at: request.requested_at,
        }];
        if let Some(code) = code {
            records.push(Record::Failed {
                seq,
                code: code.clone(),
            });
        }
        for record in records {
            serde_json::to_writer(&mut out, &record).map_err(|e| ScrError::Journal(e.into()))?;
            out.push(b'\n');
        }
    }
    let io = |result: std::io::Result<()>| result.map_err(ScrError::Journal);
    let mut file = File::create(&tmp).map_err(ScrError::Journal)?;
    io(file.write_all(&out))?;
    io(file.sync_all())?;
    io(std::fs::rename(&tmp, path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        io(File::open(dir).and_then(|d| d.sync_all()))?;
    }
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(ScrError::Journal)
}

fn file_size(file: &File) -> Result<u64, ScrError> {
    Ok(file.metadata().map_err(ScrError::Journal)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(nhs: &str) -> PullRequest {
        PullRequest::new(nhs, "identified").unwrap()
    }

    #[test]
    fn pending_requests_survive_a_reopen_and_duplicates_coalesce() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pull.journal");
        let journal = Journal::open(&path, 1 << 20).unwrap();
        let a = journal.submit(&request("9434765919")).unwrap();
        assert_eq!(a, Accepted::Journaled { seq: 1 });
        assert_eq!(
            journal.submit(&request("9434765919")).unwrap(),
            Accepted::Coalesced { seq: 1 }
        );
        journal.submit(&request("9990000018")).unwrap();
        journal.submit(&request("4010232137")).unwrap();
        let job = journal.take().unwrap();
        journal.done(job.seq, "gp-summary", "id-1").unwrap();
        let job = journal.take().unwrap();
        journal.failed(job.seq, "scr.api.gave-up").unwrap();
        drop(journal);
        // A torn line at the end is ignored.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"op":"done","seq":3,"outc"#).unwrap();
        let journal = Journal::open(&path, 1 << 20).unwrap();
        let status = journal.status();
        assert_eq!((status.pending, status.failed), (1, 1));
        assert_eq!(journal.failed_codes(), vec!["scr.api.gave-up".to_owned()]);
        let job = journal.take().unwrap();
        assert_eq!(job.seq, 3);
        assert!(journal.take().is_none());
        assert_eq!(
            journal.submit(&request("9434765919")).unwrap(),
            Accepted::Journaled { seq: 4 }
        );
    }

    #[test]
    fn a_full_journal_refuses_after_compacting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pull.journal");
        let journal = Journal::open(&path, 300).unwrap();
        journal.submit(&request("9434765919")).unwrap();
        let job = journal.take().unwrap();
        journal.done(job.seq, "gp-summary", "id").unwrap();
        // Compaction drops the done request, so the next fits.
        journal.submit(&request("4010232137")).unwrap();
        journal.submit(&request("9990000018")).ok();
        let third = journal.submit(&request("9000000009"));
        assert!(matches!(third, Err(ScrError::JournalFull)));
        assert!(std::fs::metadata(&path).unwrap().len() <= 300);
    }
}
