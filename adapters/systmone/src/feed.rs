//! The change-notification poller: reads SystmOne's change feed after the persisted cursor,
//! journals one pull request (`change-notification`) per notification, and only then moves
//! the cursor on (written to a temporary file, fsynced, renamed). Notifications may come twice
//! or out of order: each is only a trigger to pull the person's current record, duplicates
//! coalesce in the journal, and the cursor is the highest sequence number journaled.
//!
//! Feed wire format (`GET {base}/changes?after=<cursor>&limit=<n>`):
//! `{"notifications": [{"sequence": 7, "nhsNumber": "...", "changedAt": "...Z"}]}`.

use std::{
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::{DateTime, Utc};
use reqwest::header::ACCEPT;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use waymark_bus::AdapterContext;
use waymark_core::ErrorCode;

use crate::{
    SystmOneError,
    client::{GpcClient, read_limited},
    gpc::bearer_jwt,
    handle::PullHandle,
    request::{PullRequest, Reason},
    telemetry::{Counter, FeedAdvanced, FeedFailed},
};

/// The feed's path under the provider's base.
pub const CHANGES_PATH: &str = "/changes";
/// `Ssp-InteractionID` the mock expects on the feed.
pub const FEED_INTERACTION_ID: &str = "urn:waymark:systmone:change-notifications-1";
/// Largest feed page accepted.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// One change notification.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeNotification {
    /// The feed's sequence number (increasing as written; pages may be out of order).
    pub sequence: u64,
    /// Whose record changed. Never logged.
    pub nhs_number: String,
    /// When it changed.
    pub changed_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Page {
    notifications: Vec<ChangeNotification>,
}

/// The poller.
#[derive(Debug)]
pub(crate) struct Poller {
    pub handle: PullHandle,
    pub client: GpcClient,
    pub cursor_path: PathBuf,
    pub page_size: u32,
    pub interval: Duration,
    pub shutdown: watch::Receiver<bool>,
}

impl Poller {
    pub(crate) async fn run(self) {
        let mut failures = 0u32;
        while !*self.shutdown.borrow() {
            let wait = match self.poll_once().await {
                Ok(0) => self.interval,
                Ok(_) => Duration::ZERO,
                Err(err) => {
                    self.handle.counters().incr(Counter::FeedErrors);
                    FeedFailed { code: err.code() }.emit();
                    failures = failures.saturating_add(1);
                    self.interval.saturating_mul(failures.min(6))
                }
            };
            if wait.is_zero() {
                failures = 0;
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = AdapterContext::stopped(self.shutdown.clone()) => {}
            }
        }
    }

    /// Reads one page, journals it, moves the cursor. Returns how many were new.
    pub(crate) async fn poll_once(&self) -> Result<usize, SystmOneError> {
        let cursor = read_cursor(&self.cursor_path)?;
        let page = self.fetch(cursor).await?;
        let fresh: Vec<&ChangeNotification> = page
            .notifications
            .iter()
            .filter(|n| n.sequence > cursor)
            .collect();
        let Some(next) = fresh.iter().map(|n| n.sequence).max() else {
            return Ok(0);
        };
        let telemetry = self.handle.counters();
        telemetry.add(Counter::Notifications, fresh.len() as u64);
        for notification in &fresh {
            let at = notification.changed_at.unwrap_or_else(Utc::now);
            match PullRequest::new(&notification.nhs_number, Reason::CHANGE_NOTIFICATION, at) {
                Ok(request) => {
                    self.handle.pull(request).await?;
                }
                Err(_) => telemetry.incr(Counter::Rejected),
            }
        }
        write_cursor(&self.cursor_path, next)?;
        FeedAdvanced {
            count: fresh.len(),
            cursor: next,
        }
        .emit();
        Ok(fresh.len())
    }

    async fn fetch(&self, cursor: u64) -> Result<Page, SystmOneError> {
        let url = format!(
            "{}{CHANGES_PATH}?after={cursor}&limit={}",
            self.client.base(),
            self.page_size
        );
        let identity = self.client.identity();
        let response = self
            .client
            .http()
            .get(&url)
            .header("Ssp-TraceID", uuid::Uuid::new_v4().to_string())
            .header("Ssp-From", &identity.from_asid)
            .header("Ssp-To", &identity.to_asid)
            .header("Ssp-InteractionID", FEED_INTERACTION_ID)
            .header(
                "Authorization",
                format!("Bearer {}", bearer_jwt(identity, &url, Utc::now())),
            )
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|_| SystmOneError::Unreachable)?;
        let status = response.status().as_u16();
        let body = read_limited(response, MAX_PAGE_BYTES).await?;
        if status != 200 {
            return Err(SystmOneError::Status { status });
        }
        serde_json::from_slice(&body).map_err(|_| SystmOneError::Malformed)
    }
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    after: u64,
}

/// The persisted cursor (0 when there is none yet).
pub fn read_cursor(path: &Path) -> Result<u64, SystmOneError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<Cursor>(&bytes)
            .map(|c| c.after)
            .map_err(|_| SystmOneError::Journal(std::io::ErrorKind::InvalidData)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(err) => Err(SystmOneError::Journal(err.kind())),
    }
}

fn write_cursor(path: &Path, after: u64) -> Result<(), SystmOneError> {
    let io = |e: std::io::Error| SystmOneError::Journal(e.kind());
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec(&Cursor { after }).unwrap_or_default();
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(&bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cursor.json");
        assert_eq!(read_cursor(&path).unwrap(), 0);
        write_cursor(&path, 42).unwrap();
        assert_eq!(read_cursor(&path).unwrap(), 42);
        std::fs::write(&path, b"garbage").unwrap();
        assert_eq!(read_cursor(&path).unwrap_err().code(), "systmone.journal");
    }
}
