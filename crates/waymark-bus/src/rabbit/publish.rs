//! Publishing with a confirm, through reconnects and alarms.
//!
//! A publish is sent on the session's confirm channel and counts only once the broker acks it.
//! Anything else — a broken connection, a nack, a confirm that does not come — is a failed
//! publish: it is sent again on a fresh session after a back-off, until it is confirmed or the
//! caller's patience runs out. So a message may be stored twice (its first confirm was lost);
//! consumers drop such copies by id (ADR 0005). While the broker blocks publishing (a disk or
//! memory alarm), the confirm is simply awaited: the publisher waits, nothing is dropped.

use std::{
    pin::pin,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use lapin::{BasicProperties, Confirmation, options::BasicPublishOptions};

use super::{
    codec,
    link::{Backoff, Link, amqp},
};
use crate::BusError;

/// Where a confirmed publish went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Routed {
    /// Stored in the queue.
    Stored,
    /// No queue of that name: returned unroutable (nothing stored).
    NoRoute,
}

/// Publishes `body` to `exchange` with `routing_key` and waits for the confirm, retrying on
/// fresh sessions for up to `patience`.
pub(super) async fn confirmed(
    link: &Link,
    (exchange, routing_key): (&str, &str),
    properties: &BasicProperties,
    body: &[u8],
    patience: Duration,
) -> Result<Routed, BusError> {
    let deadline = Instant::now() + patience;
    let mut backoff = Backoff::new(&link.options);
    let mut waiting = Waiting::new(link);
    loop {
        let error = match once(link, (exchange, routing_key), properties, body).await {
            Ok(routed) => return Ok(routed),
            Err(error) => error,
        };
        if Instant::now() >= deadline {
            return Err(error);
        }
        waiting.start();
        tracing::debug!(queue = routing_key, error = %error, "publish not confirmed; retrying");
        backoff.wait(deadline).await;
    }
}

/// One attempt on the current session.
async fn once(
    link: &Link,
    (exchange, routing_key): (&str, &str),
    properties: &BasicProperties,
    body: &[u8],
) -> Result<Routed, BusError> {
    let session = link.session().await?;
    let options = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    let sent = session
        .publish
        .basic_publish(
            exchange.into(),
            codec::short(routing_key)?,
            options,
            body,
            properties.clone(),
        )
        .await;
    let confirm = match sent {
        Ok(confirm) => confirm,
        Err(error) => {
            link.broken(session.generation, &error.to_string()).await;
            return Err(amqp(error));
        }
    };
    let mut confirm = pin!(confirm);
    let timeout = link.options.confirm_timeout;
    let confirmation = loop {
        match tokio::time::timeout(timeout, confirm.as_mut()).await {
            Ok(result) => break result,
            // Blocked by an alarm: keep waiting for this confirm rather than publish again.
            Err(_) if session.conn.status().blocked() && session.alive() => continue,
            Err(_) => {
                link.broken(session.generation, "publisher confirm timed out")
                    .await;
                return Err(BusError::Backend("publisher confirm timed out".into()));
            }
        }
    };
    match confirmation {
        Ok(Confirmation::Ack(None)) => Ok(Routed::Stored),
        Ok(Confirmation::Ack(Some(_returned))) => Ok(Routed::NoRoute),
        Ok(Confirmation::Nack(_)) => {
            Err(BusError::Backend("the broker refused the publish".into()))
        }
        Ok(Confirmation::NotRequested) => Err(BusError::Backend(
            "publish channel is not in confirm mode".into(),
        )),
        Err(error) => {
            link.broken(session.generation, &error.to_string()).await;
            Err(amqp(error))
        }
    }
}

/// Counts this publish among the waiting ones from its first failure until it ends.
struct Waiting<'a> {
    link: &'a Link,
    counted: bool,
}

impl<'a> Waiting<'a> {
    fn new(link: &'a Link) -> Self {
        Self {
            link,
            counted: false,
        }
    }

    fn start(&mut self) {
        if !self.counted {
            self.counted = true;
            self.link.waiting.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.counted {
            self.link.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
