//! The poll loop: fetch a page after the checkpoint's cursor (retrying with backoff, honouring
//! `Retry-After`), publish each of its events and wait for the bus to confirm each, then — and
//! only then — write the checkpoint. An event at or below the checkpoint's sequence means the
//! feed went backwards: it is skipped with a record (a counter and a log line without data).

use std::{future::Future, path::PathBuf, time::Duration};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use waymark_bus::{AdapterContext, BusError, Message, Published, Publisher};
use waymark_core::{Envelope, ErrorCode};

use crate::{
    AthenaError, Checkpoint,
    client::{AthenaApi, Page},
    event::{self, Head},
    telemetry::{
        CheckpointFailed, Count, EnvelopePublished, EventFlawed, EventSkipped, FetchFailed,
        PageDone, PublishFailed, Telemetry,
    },
};

/// How long to wait between retries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    pub first: Duration,
    pub max: Duration,
    pub max_retry_after: Duration,
}

impl Backoff {
    fn next(&self, current: Duration) -> Duration {
        (current * 2).clamp(Duration::from_millis(1), self.max)
    }
}

/// Everything the poll loop needs.
pub(crate) struct Poller {
    pub api: AthenaApi,
    pub publisher: Publisher,
    pub shutdown: watch::Receiver<bool>,
    pub telemetry: Telemetry,
    pub checkpoint_path: PathBuf,
    pub page_size: u32,
    pub poll_interval: Duration,
    pub backoff: Backoff,
}

/// Where the page walk stands: the last sequence published and the latest event time.
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    last_sequence: Option<u64>,
    latest: Option<DateTime<Utc>>,
}

impl Poller {
    /// Polls until the shutdown signal.
    pub(crate) async fn run(self, mut checkpoint: Checkpoint) -> Result<(), AthenaError> {
        let mut progress = Progress {
            last_sequence: checkpoint.last_sequence,
            latest: None,
        };
        while let Some(page) = self.fetch(checkpoint.cursor.as_deref()).await {
            self.telemetry.incr(Count::Pages);
            let Some(done) = self.publish_page(&page, progress).await else {
                break;
            };
            progress = done;
            let cursor = page.next_cursor.clone().or(checkpoint.cursor.take());
            let next = Checkpoint::new(cursor, progress.last_sequence);
            if !self.save(&next).await {
                break;
            }
            checkpoint = next;
            PageDone {
                events: page.events.len(),
                last_sequence: progress.last_sequence,
                has_more: page.has_more,
            }
            .emit();
            if !page.has_more || page.events.is_empty() {
                self.telemetry.incr(Count::CaughtUp);
                if !self.sleep(self.poll_interval).await {
                    break;
                }
            }
        }
        tracing::info!("athena poller stopped");
        Ok(())
    }

    /// The next page, retrying every failure; `None` once asked to stop.
    async fn fetch(&self, cursor: Option<&str>) -> Option<Page> {
        let mut delay = self.backoff.first;
        loop {
            let failure = match self.or_stop(self.api.fetch(cursor, self.page_size)).await? {
                Ok(page) => return Some(page),
                Err(failure) => failure,
            };
            self.telemetry.incr(Count::Retried);
            match failure.error {
                AthenaError::RateLimited => self.telemetry.incr(Count::RateLimited),
                AthenaError::InvalidPage | AthenaError::TooLarge { .. } => {
                    self.telemetry.incr(Count::Rejected)
                }
                _ => {}
            }
            let wait = failure
                .retry_after
                .map_or(delay, |asked| asked.min(self.backoff.max_retry_after));
            FetchFailed {
                code: failure.error.code(),
                status: match failure.error {
                    AthenaError::Status { status } | AthenaError::Token { status } => Some(status),
                    _ => None,
                },
                retry_in: wait,
            }
            .emit();
            if !self.sleep(wait).await {
                return None;
            }
            delay = self.backoff.next(delay);
        }
    }

    /// Publishes every event of the page; `None` when asked to stop before the page was done.
    async fn publish_page(&self, page: &Page, mut progress: Progress) -> Option<Progress> {
        let received_at = Utc::now();
        let mut regressed = false;
        for bytes in &page.events {
            self.telemetry.incr(Count::Received);
            let head = event::head(bytes.expose());
            let envelope = event::envelope(&head, bytes.expose().clone(), received_at);
            if let (Some(seq), Some(last)) = (head.sequence, progress.last_sequence)
                && seq <= last
            {
                self.skip(
                    &envelope,
                    &head,
                    "sequence-not-after-checkpoint",
                    Some(last),
                );
                regressed = true;
                continue;
            }
            if head.flawed {
                self.telemetry.incr(Count::Rejected);
                EventFlawed {
                    id: &envelope.id,
                    size: bytes.expose().len(),
                }
                .emit();
            }
            self.publish(&envelope, &head).await?;
            progress = self.advance(progress, &head, received_at);
        }
        if regressed {
            self.telemetry.incr(Count::CursorRegressions);
        }
        Some(progress)
    }

    fn advance(&self, mut p: Progress, head: &Head, received_at: DateTime<Utc>) -> Progress {
        p.last_sequence = p.last_sequence.max(head.sequence);
        if let Some(at) = head.occurred_at.filter(|_| !head.flawed) {
            if p.latest.is_some_and(|latest| at < latest) {
                self.telemetry.incr(Count::LateEvents);
            }
            p.latest = p.latest.max(Some(at));
            let lag = (received_at - at).to_std().unwrap_or(Duration::ZERO);
            self.telemetry.set_lag(lag);
        }
        p
    }

    fn skip(&self, envelope: &Envelope, head: &Head, reason: &'static str, last: Option<u64>) {
        self.telemetry.incr(Count::Skipped);
        EventSkipped {
            id: &envelope.id,
            reason,
            sequence: head.sequence,
            checkpoint: last,
        }
        .emit();
    }

    /// Publishes until the bus confirms; `None` when asked to stop first.
    async fn publish(&self, envelope: &Envelope, head: &Head) -> Option<()> {
        let message = Message::new(envelope.id.clone(), envelope.to_bytes())
            .with_header("source", "athena")
            .with_header("message-type", envelope.message_type.as_str())
            .with_header("content-type", envelope.content_type.as_str());
        let mut delay = self.backoff.first;
        loop {
            let err = match self
                .or_stop(self.publisher.publish(message.clone()))
                .await?
            {
                Ok(published) => {
                    self.published(envelope, head, published);
                    return Some(());
                }
                Err(err @ BusError::TooLarge { .. }) => {
                    self.skip(envelope, head, err.code(), None);
                    return Some(());
                }
                Err(err) => err,
            };
            self.telemetry.incr(Count::Retried);
            PublishFailed {
                id: &envelope.id,
                code: err.code(),
                retry_in: delay,
            }
            .emit();
            if !self.sleep(delay).await {
                return None;
            }
            delay = self.backoff.next(delay);
        }
    }

    fn published(&self, envelope: &Envelope, head: &Head, published: Published) {
        let duplicate = published == Published::Duplicate;
        let count = if duplicate {
            Count::Duplicates
        } else {
            Count::Published
        };
        self.telemetry.incr(count);
        EnvelopePublished {
            id: &envelope.id,
            kind: &head.kind,
            sequence: head.sequence,
            duplicate,
            error_code: head.flawed.then_some(crate::FLAWED_CODE),
        }
        .emit();
    }

    /// Writes the checkpoint, retrying a failed write; `false` when asked to stop first.
    async fn save(&self, checkpoint: &Checkpoint) -> bool {
        let mut delay = self.backoff.first;
        loop {
            let (cp, path) = (checkpoint.clone(), self.checkpoint_path.clone());
            let written = tokio::task::spawn_blocking(move || cp.save(&path)).await;
            match written.unwrap_or(Err(AthenaError::Task)) {
                Ok(()) => {
                    self.telemetry.incr(Count::Checkpoints);
                    return true;
                }
                Err(err) => CheckpointFailed { code: err.code() }.emit(),
            }
            if !self.sleep(delay).await {
                return false;
            }
            delay = self.backoff.next(delay);
        }
    }

    async fn sleep(&self, wait: Duration) -> bool {
        self.or_stop(tokio::time::sleep(wait)).await.is_some()
    }

    /// Runs `work` unless the shutdown signal comes first (then `None`).
    async fn or_stop<F: Future>(&self, work: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            () = AdapterContext::stopped(self.shutdown.clone()) => None,
            out = work => Some(out),
        }
    }
}
