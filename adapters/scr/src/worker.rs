//! The workers: take a pending request from the journal, ask the SCR, publish the answer in one
//! envelope, and only once the bus confirmed, mark the request done in the journal. "No
//! consent" and "no result" are answers, not records: nothing is published (there is nothing
//! the person agreed to share, and nothing for an engineer to fix in a quarantine); the request
//! is marked done with that outcome and counted (`no_consent`, `no_result`). A bus
//! failure keeps the request pending (the publish is retried with backoff); a stop signal puts
//! an unfinished request back in the queue, and it stays pending in the journal for the next
//! start. Answers that will never come (retries out of their window, a 4xx, an answer over the
//! size limit) are marked failed in the journal and counted.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use tokio::sync::{Notify, watch};
use waymark_bus::{AdapterContext, BusError, Message, Published, Publisher};
use waymark_core::{Envelope, ErrorCode};

use crate::{
    ScrError,
    client::{Answer, ScrApi},
    ingest::{NO_CONSENT, NO_RESULT, context_error_code, envelope_for},
    journal::{Job, Journal},
    telemetry::{
        Count, EnvelopePublished, FetchRetry, JournalFailed, PublishFailed, RequestFailed,
        Telemetry,
    },
};

/// What the handle, the listener and the workers share.
pub(crate) struct Shared {
    pub journal: Arc<Journal>,
    pub api: ScrApi,
    pub publisher: Publisher,
    pub telemetry: Arc<Telemetry>,
    pub wake: Notify,
    pub publish_backoff: Duration,
    pub publish_max_backoff: Duration,
}

/// Runs a journal call (it fsyncs) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    journal: &Arc<Journal>,
    call: impl FnOnce(&Journal) -> T + Send + 'static,
) -> Result<T, ScrError> {
    let journal = journal.clone();
    tokio::task::spawn_blocking(move || call(&journal))
        .await
        .map_err(|_| ScrError::Task)
}

/// One worker: runs until the stop signal.
pub(crate) async fn run(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let notified = shared.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match shared.journal.take() {
            Some(job) => process(&shared, job, &shutdown).await,
            None => {
                tokio::select! {
                    () = &mut notified => {}
                    () = AdapterContext::stopped(shutdown.clone()) => return,
                }
            }
        }
    }
}

async fn process(shared: &Shared, job: Job, shutdown: &watch::Receiver<bool>) {
    let telemetry = shared.telemetry.clone();
    let seq = job.seq;
    let on_retry = move |code: &'static str, attempt: u32, wait: Duration| {
        telemetry.count(Count::Retried);
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        FetchRetry {
            seq,
            code,
            attempt,
            wait_ms,
        }
        .emit();
    };
    let fetched = tokio::select! {
        fetched = shared.api.fetch(&job.request.nhs_number, &on_retry) => fetched,
        () = AdapterContext::stopped(shutdown.clone()) => {
            shared.journal.requeue(seq);
            return;
        }
    };
    match fetched {
        Ok(answer) => publish_answer(shared, &job, &answer, shutdown).await,
        Err(err) => give_up(shared, seq, err.code()).await,
    }
}

async fn publish_answer(
    shared: &Shared,
    job: &Job,
    answer: &Answer,
    shutdown: &watch::Receiver<bool>,
) {
    let telemetry = &shared.telemetry;
    telemetry.count(Count::Fetched);
    match answer {
        Answer::NoConsent(_) => {
            telemetry.count(Count::NoConsent);
            return finish(shared, job.seq, NO_CONSENT, String::new()).await;
        }
        Answer::NoResult(_) => {
            telemetry.count(Count::NoResult);
            return finish(shared, job.seq, NO_RESULT, String::new()).await;
        }
        Answer::Malformed(_) => telemetry.count(Count::Flawed),
        Answer::Summary(_) => {}
    }
    let envelope = envelope_for(answer, &job.request, Utc::now());
    let published = match publish_until_confirmed(shared, job.seq, &envelope, shutdown).await {
        Ok(published) => published,
        Err(PublishEnd::Stopping) => {
            shared.journal.requeue(job.seq);
            return;
        }
        Err(PublishEnd::Refused(err)) => return give_up(shared, job.seq, err.code()).await,
    };
    let lag = Utc::now() - job.request.requested_at;
    let lag_ms = u64::try_from(lag.num_milliseconds()).unwrap_or(0);
    let duplicate = published == Published::Duplicate;
    telemetry.published(duplicate, lag_ms);
    EnvelopePublished {
        seq: job.seq,
        id: &envelope.id,
        message_type: &envelope.message_type,
        duplicate,
        error_code: context_error_code(&envelope),
    }
    .emit();
    let kind = envelope.message_type.clone();
    finish(shared, job.seq, &kind, envelope.id.to_string()).await;
}

/// Marks a request done in the journal with its outcome (and the id published, if any).
async fn finish(shared: &Shared, seq: u64, outcome: &str, id: String) {
    let outcome = outcome.to_owned();
    let done = blocking(&shared.journal, move |j| j.done(seq, &outcome, &id)).await;
    if let Err(err) | Ok(Err(err)) = done {
        JournalFailed {
            seq,
            code: err.code(),
        }
        .emit();
    }
}

enum PublishEnd {
    Stopping,
    Refused(BusError),
}

/// Publishes until the bus confirms, the bus refuses the message for good, or a stop.
async fn publish_until_confirmed(
    shared: &Shared,
    seq: u64,
    envelope: &Envelope,
    shutdown: &watch::Receiver<bool>,
) -> Result<Published, PublishEnd> {
    let mut delay = shared.publish_backoff;
    loop {
        let message = Message::new(envelope.id.clone(), envelope.to_bytes())
            .with_header("source", "scr")
            .with_header("message-type", envelope.message_type.as_str())
            .with_header("content-type", envelope.content_type.as_str());
        let err = match shared.publisher.publish(message).await {
            Ok(published) => return Ok(published),
            Err(err) => err,
        };
        shared.telemetry.count(Count::PublishFailure);
        PublishFailed {
            seq,
            id: &envelope.id,
            code: err.code(),
        }
        .emit();
        if matches!(err, BusError::TooLarge { .. }) {
            return Err(PublishEnd::Refused(err));
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = AdapterContext::stopped(shutdown.clone()) => return Err(PublishEnd::Stopping),
        }
        delay = (delay * 2).min(shared.publish_max_backoff);
    }
}

/// Marks a request failed: kept in the journal with its code, counted, logged.
async fn give_up(shared: &Shared, seq: u64, code: &'static str) {
    shared.telemetry.count(Count::Failed);
    RequestFailed { seq, code }.emit();
    let marked = blocking(&shared.journal, move |j| j.failed(seq, code)).await;
    if let Err(err) | Ok(Err(err)) = marked {
        JournalFailed {
            seq,
            code: err.code(),
        }
        .emit();
    }
}
