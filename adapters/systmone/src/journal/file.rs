//! The journal file's IO: opening it private and append-only, reading its records back.

use std::{
    collections::BTreeMap,
    fs::{File, OpenOptions},
    io::{BufRead, BufReader},
    path::Path,
};

use waymark_core::Sensitive;

use super::{Entry, Line, State, io};
use crate::{SystmOneError, request::PullRequest};

pub(super) fn push_line(out: &mut Vec<u8>, line: &Line) {
    if let Ok(bytes) = serde_json::to_vec(line) {
        out.extend_from_slice(&bytes);
        out.push(b'\n');
    }
}

#[cfg(unix)]
pub(super) fn create_private(path: &Path) -> Result<File, SystmOneError> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(&e))
}

#[cfg(not(unix))]
pub(super) fn create_private(path: &Path) -> Result<File, SystmOneError> {
    File::create(path).map_err(|e| io(&e))
}

pub(super) fn open_append(path: &Path) -> Result<File, SystmOneError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| io(&e))
    }
    #[cfg(not(unix))]
    {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io(&e))
    }
}

pub(super) type Records = (BTreeMap<u64, Entry>, u64, u64);

/// Reads every whole line: the live entries, the next sequence number and the length of the
/// readable prefix (a torn or unreadable line ends it).
pub(super) fn read_records(path: &Path) -> Result<Records, SystmOneError> {
    let mut entries = BTreeMap::new();
    let (mut next_seq, mut good_len) = (1, 0u64);
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok((entries, next_seq, 0));
        }
        Err(err) => return Err(io(&err)),
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| io(&e))?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        let Ok(line) = serde_json::from_slice::<Line>(&buf) else {
            break;
        };
        good_len += n as u64;
        apply(&mut entries, &mut next_seq, line);
    }
    Ok((entries, next_seq, good_len))
}

fn apply(entries: &mut BTreeMap<u64, Entry>, next_seq: &mut u64, line: Line) {
    match line {
        Line::Req {
            seq,
            nhs,
            reason,
            at,
        } => {
            *next_seq = (*next_seq).max(seq + 1);
            let request = PullRequest {
                nhs_number: Sensitive::new(nhs),
                reason,
                requested_at: at,
            };
            entries.insert(
                seq,
                Entry {
                    request,
                    state: State::Pending,
                },
            );
        }
        Line::Done { seq } => {
            entries.remove(&seq);
        }
        Line::Fail { seq, code } => {
            if let Some(entry) = entries.get_mut(&seq) {
                entry.state = State::Failed(code);
            }
        }
    }
}
