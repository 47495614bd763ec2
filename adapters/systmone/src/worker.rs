//! A worker: takes the oldest pending request from the journal, fetches the record, publishes
//! the answer and marks the request done only after the bus confirmed. A request whose fetch
//! is given up on is kept in the journal as failed; one interrupted by a shutdown stays pending.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use waymark_bus::{AdapterContext, BusError, Published, Publisher};
use waymark_core::{Envelope, ErrorCode};

use crate::{
    client::{Fetch, GpcClient},
    envelope::{bus_message, context_error_code, envelope_for},
    handle::PullHandle,
    request::PullRequest,
    telemetry::{Counter, EnvelopePublished, PublishFailed, RequestFailed},
};

/// Longest wait between two publish attempts while the bus is down.
const MAX_PUBLISH_BACKOFF: Duration = Duration::from_secs(5);
/// Longest idle wait before looking at the journal again.
const IDLE: Duration = Duration::from_millis(500);

/// What a worker needs.
#[derive(Clone, Debug)]
pub(crate) struct Worker {
    pub handle: PullHandle,
    pub client: GpcClient,
    pub publisher: Publisher,
    pub shutdown: watch::Receiver<bool>,
}

impl Worker {
    /// Serves requests until shutdown.
    pub(crate) async fn run(self) {
        while !*self.shutdown.borrow() {
            let Some((seq, request)) = self.handle.take() else {
                tokio::select! {
                    () = self.handle.wait_for_work(IDLE) => {}
                    () = AdapterContext::stopped(self.shutdown.clone()) => {}
                }
                continue;
            };
            self.serve(seq, &request).await;
        }
    }

    async fn serve(&self, seq: u64, request: &PullRequest) {
        let telemetry = self.handle.counters();
        let answer = match self
            .client
            .fetch(seq, request, telemetry, &self.shutdown)
            .await
        {
            Fetch::Answered(answer) => answer,
            Fetch::Stopped => return self.handle.release(seq),
            Fetch::Failed(err) => return self.give_up(seq, err.code()).await,
        };
        telemetry.incr(Counter::Received);
        let envelope = envelope_for(request, answer, Utc::now());
        match self.publish(seq, request, &envelope).await {
            Ok(()) => {
                if self.handle.done(seq).await.is_err() {
                    // Not marked done: it is served again after a restart, with the same id.
                    self.handle.release(seq);
                }
            }
            Err(Some(code)) => self.give_up(seq, code).await,
            Err(None) => self.handle.release(seq),
        }
    }

    async fn give_up(&self, seq: u64, code: &'static str) {
        self.handle.counters().incr(Counter::Failed);
        RequestFailed { seq, code }.emit();
        if self.handle.fail(seq, code).await.is_err() {
            self.handle.release(seq);
        }
    }

    /// Publishes until the bus confirms. `Err(None)`: stopping; `Err(Some(code))`: the bus can
    /// never take it (too large).
    async fn publish(
        &self,
        seq: u64,
        request: &PullRequest,
        envelope: &Envelope,
    ) -> Result<(), Option<&'static str>> {
        let telemetry = self.handle.counters();
        let mut delay = Duration::from_millis(50);
        loop {
            match self.publisher.publish(bus_message(request, envelope)).await {
                Ok(published) => {
                    let duplicate = published == Published::Duplicate;
                    let counter = if duplicate {
                        Counter::Duplicates
                    } else {
                        Counter::Published
                    };
                    telemetry.incr(counter);
                    let error_code = context_error_code(envelope);
                    if error_code.is_some() && !duplicate {
                        telemetry.incr(Counter::Flawed);
                    }
                    EnvelopePublished {
                        seq,
                        id: &envelope.id,
                        duplicate,
                        error_code,
                        size: envelope.payload.expose().len(),
                    }
                    .emit();
                    return Ok(());
                }
                Err(err) => {
                    telemetry.incr(Counter::PublishFailures);
                    PublishFailed {
                        seq,
                        id: &envelope.id,
                        code: err.code(),
                    }
                    .emit();
                    if matches!(err, BusError::TooLarge { .. } | BusError::Invalid(_)) {
                        return Err(Some(err.code()));
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = AdapterContext::stopped(self.shutdown.clone()) => return Err(None),
            }
            delay = (delay * 2).min(MAX_PUBLISH_BACKOFF);
        }
    }
}
