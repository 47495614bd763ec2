//! The MLLP listener: accepts connections, reads frames, publishes one envelope per message and
//! answers each only after the bus confirmed (or failed) the publish. IO at the edges; the
//! decisions are in `ingest`, `mllp` and `ack`.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};
use waymark_bus::{AdapterContext, BusError, Message, Published, Publisher};
use waymark_core::ErrorCode;

use crate::{
    ack::{self, AckCode, Answer},
    ingest::{self, Ingested},
    mllp::{Event, FrameReader},
    msh::read_header,
    telemetry::{AckNotSent, FrameDiscarded, FramePublished, Metrics, PublishFailed},
};

/// Limits of one connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub max_frame: usize,
    pub read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// What every connection shares.
#[derive(Clone, Debug)]
pub(crate) struct Shared {
    pub publisher: Publisher,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
}

/// Accepts until shutdown; then waits for the connections to finish the frame in hand.
/// Aborting this task aborts every connection task with it (they live in its `JoinSet`).
pub(crate) async fn serve(listener: TcpListener, shared: Shared, shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = AdapterContext::stopped(shutdown.clone()) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if connections.len() < shared.limits.max_connections => {
                    shared.metrics.connection();
                    connections.spawn(connection(stream, shared.clone(), shutdown.clone()));
                }
                Ok(_) => FrameDiscarded { reason: "too-many-connections", size: 0 }.emit(),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    tracing::info!("excelicare mllp listener stopped");
}

/// One sender's connection: frames in, answers out, in order.
async fn connection(mut stream: TcpStream, shared: Shared, shutdown: watch::Receiver<bool>) {
    let mut reader = FrameReader::new(shared.limits.max_frame);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let timeout = if reader.in_frame() {
            shared.limits.read_timeout
        } else {
            shared.limits.idle_timeout
        };
        let read = tokio::select! {
            () = AdapterContext::stopped(shutdown.clone()), if !reader.in_frame() => break,
            read = tokio::time::timeout(timeout, stream.read(&mut buf)) => read,
        };
        let events = match read {
            Ok(Ok(n)) if n > 0 => {
                shared.metrics.read(n);
                reader.push(&buf[..n])
            }
            _ => {
                handle_all(&mut stream, &shared, reader.finish()).await;
                break;
            }
        };
        if !handle_all(&mut stream, &shared, events).await {
            break;
        }
    }
}

/// Handles events in order; `false` when the connection is gone.
async fn handle_all(stream: &mut TcpStream, shared: &Shared, events: Vec<Event>) -> bool {
    for event in events {
        if !handle(stream, shared, event).await {
            return false;
        }
    }
    true
}

async fn handle(stream: &mut TcpStream, shared: &Shared, event: Event) -> bool {
    match event {
        Event::Frame(content) => {
            shared.metrics.frame();
            let ingested = ingest::ingest(content, Utc::now());
            let answer = publish(shared, &ingested).await;
            write_answer(stream, &ingested, answer, &shared.metrics).await
        }
        Event::Oversized { prefix, size } => {
            shared.metrics.frame();
            shared.metrics.rejected();
            FrameDiscarded {
                reason: "too-large",
                size,
            }
            .emit();
            let header = read_header(&prefix).ok();
            let error = ingest::oversized_error();
            let answer = Answer {
                code: AckCode::Reject,
                error: Some(error),
                ack_id: "oversized",
            };
            shared.metrics.ack(AckCode::Reject);
            let bytes = ack::build(header.as_ref(), &answer, Utc::now());
            stream.write_all(&crate::mllp::frame(&bytes)).await.is_ok()
        }
        Event::Truncated { size } => {
            shared.metrics.truncated();
            FrameDiscarded {
                reason: "truncated",
                size,
            }
            .emit();
            true
        }
        Event::Garbage { size } => {
            shared.metrics.garbage(size);
            FrameDiscarded {
                reason: "garbage",
                size,
            }
            .emit();
            true
        }
    }
}

/// Publishes and decides the answer: the ingest verdict when the bus confirmed, `AR` otherwise.
async fn publish(shared: &Shared, ingested: &Ingested) -> (AckCode, Option<ack::AckError>) {
    let envelope = &ingested.envelope;
    let message = Message::new(envelope.id.clone(), envelope.to_bytes())
        .with_header("source", "excelicare")
        .with_header("message-type", envelope.message_type.as_str())
        .with_header("content-type", envelope.content_type.as_str());
    match shared.publisher.publish(message).await {
        Ok(published) => {
            let duplicate = published == Published::Duplicate;
            shared
                .metrics
                .published(duplicate, ingested.error_code().is_some());
            if let Some(lag) = envelope
                .event_time
                .filter(|_| ingested.error_code().is_none())
                .and_then(|t| {
                    (envelope.received_at - t)
                        .num_milliseconds()
                        .try_into()
                        .ok()
                })
            {
                shared.metrics.lag(lag);
            }
            FramePublished {
                id: &envelope.id,
                message_type: &envelope.message_type,
                duplicate,
                error_code: ingested.error_code(),
                ack: ingested.code,
            }
            .emit();
            (ingested.code, ingested.error)
        }
        Err(err) => {
            PublishFailed {
                id: &envelope.id,
                code: err.code(),
            }
            .emit();
            match err {
                BusError::TooLarge { .. } => {
                    shared.metrics.rejected();
                    (AckCode::Reject, Some(ingest::bus_too_large_error()))
                }
                _ => {
                    shared.metrics.publish_failed();
                    (AckCode::Reject, Some(ingest::transient_error()))
                }
            }
        }
    }
}

async fn write_answer(
    stream: &mut TcpStream,
    ingested: &Ingested,
    (code, error): (AckCode, Option<ack::AckError>),
    metrics: &Metrics,
) -> bool {
    let answer = Answer {
        code,
        error,
        ack_id: ingested.envelope.id.as_str(),
    };
    let bytes = ack::build(ingested.header.as_ref(), &answer, Utc::now());
    let written = stream.write_all(&crate::mllp::frame(&bytes)).await.is_ok();
    if written {
        metrics.ack(code);
    } else {
        AckNotSent {
            id: &ingested.envelope.id,
        }
        .emit();
    }
    written
}
