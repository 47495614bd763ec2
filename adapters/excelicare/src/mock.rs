//! The mock ExceliCare: an MLLP client, as the real system's interface engine is. It sends its
//! [`Script`] in order, one message at a time, waits for each answer and moves its outbox on
//! only when answered (`AA`, `AE`, or a final `AR`). A message unanswered — connection refused
//! or dropped, no answer in time, `AR` 207 — is sent again after a backoff, on a new
//! connection if need be. The outbox is the checkpoint: restart the hub mid-stream and the mock
//! resends what was not answered.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::watch,
};

use crate::{
    ack::{self, AckCode, ReadAck},
    mllp::{self, Event, FrameReader},
    script::{Script, Scripted, Transport},
};

/// How the mock sends.
#[derive(Clone, Copy, Debug)]
pub struct SendOptions {
    /// How long to wait for an answer before counting the attempt as failed.
    pub ack_timeout: Duration,
    /// Wait after a failed attempt before the next.
    pub backoff: Duration,
    /// Attempts of one message before the mock gives up on it.
    pub max_attempts: u32,
    /// Piece size and pause of a slow send.
    pub slow_chunk: usize,
    /// Pause between pieces of a slow send.
    pub slow_pause: Duration,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            ack_timeout: Duration::from_secs(5),
            backoff: Duration::from_millis(20),
            max_attempts: 500,
            slow_chunk: 64,
            slow_pause: Duration::from_millis(2),
        }
    }
}

/// What became of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The final answer, `None` if the mock gave up.
    pub answer: Option<AckCode>,
    /// ERR-3 of the final answer.
    pub error_code: Option<String>,
    /// Times it was sent (first included).
    pub attempts: u32,
}

/// The outbox: what was answered so far (the sender's checkpoint).
#[derive(Debug, Default)]
struct Outbox {
    outcomes: Vec<Outcome>,
    reconnects: u64,
    mismatched_acks: u64,
}

/// A summary of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Messages in the script.
    pub sent: usize,
    /// Answered `AA`.
    pub accepted: usize,
    /// Answered `AE`.
    pub errors: usize,
    /// Answered with a final `AR`.
    pub rejected: usize,
    /// Given up (no final answer after `max_attempts`).
    pub unanswered: usize,
    /// Sends in all (first sends and resends).
    pub attempts: u64,
    /// Connections opened.
    pub connections: u64,
    /// Answers whose MSA-2 did not match the message sent (must stay 0).
    pub mismatched_acks: u64,
    /// Per message, in script order.
    pub outcomes: Vec<Outcome>,
}

/// The mock sender.
#[derive(Clone, Debug)]
pub struct MockExcelicare {
    script: Arc<Script>,
    outbox: Arc<Mutex<Outbox>>,
    progress: watch::Sender<usize>,
}

impl MockExcelicare {
    /// A mock that will send `script`.
    pub fn new(script: Script) -> Self {
        let outcomes = vec![Outcome::default(); script.items().len()];
        Self {
            script: Arc::new(script),
            outbox: Arc::new(Mutex::new(Outbox {
                outcomes,
                ..Outbox::default()
            })),
            progress: watch::channel(0).0,
        }
    }

    /// The script.
    pub fn script(&self) -> &Script {
        &self.script
    }

    /// How many messages have their final answer; changes as the mock runs.
    pub fn progress(&self) -> watch::Receiver<usize> {
        self.progress.subscribe()
    }

    /// Sends every message not yet answered to `addr`, in order, and reports.
    pub async fn send_all(&self, addr: SocketAddr, options: SendOptions) -> SendReport {
        let mut conn: Option<TcpStream> = None;
        let start = *self.progress.borrow();
        for index in start..self.script.items().len() {
            self.send_one(index, addr, &options, &mut conn).await;
            self.progress.send_replace(index + 1);
        }
        self.report()
    }

    /// The report so far.
    pub fn report(&self) -> SendReport {
        let outbox = self.lock();
        let count = |code: AckCode| {
            outbox
                .outcomes
                .iter()
                .filter(|o| o.answer == Some(code))
                .count()
        };
        let answered = |o: &&Outcome| o.answer.is_some();
        let final_reject = count(AckCode::Reject);
        SendReport {
            sent: outbox.outcomes.len(),
            accepted: count(AckCode::Accept),
            errors: count(AckCode::Error),
            rejected: final_reject,
            unanswered: outbox.outcomes.iter().filter(|o| !answered(o)).count(),
            attempts: outbox.outcomes.iter().map(|o| u64::from(o.attempts)).sum(),
            connections: outbox.reconnects,
            mismatched_acks: outbox.mismatched_acks,
            outcomes: outbox.outcomes.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn send_one(
        &self,
        index: usize,
        addr: SocketAddr,
        options: &SendOptions,
        conn: &mut Option<TcpStream>,
    ) {
        let item = &self.script.items()[index];
        for attempt in 1..=options.max_attempts {
            self.lock().outcomes[index].attempts = attempt;
            let transport = if attempt == 1 {
                item.transport
            } else {
                Transport::Clean
            };
            match self.attempt(item, transport, addr, options, conn).await {
                Some(read) if !read.resend() => {
                    let outcome = &mut self.lock().outcomes[index];
                    outcome.answer = Some(read.code);
                    outcome.error_code = read.error_code;
                    return;
                }
                _ => tokio::time::sleep(options.backoff).await,
            }
        }
    }

    /// One send and wait; `None` when there was no usable answer (the connection is dropped).
    async fn attempt(
        &self,
        item: &Scripted,
        transport: Transport,
        addr: SocketAddr,
        options: &SendOptions,
        conn: &mut Option<TcpStream>,
    ) -> Option<ReadAck> {
        if conn.is_none() {
            *conn = Some(TcpStream::connect(addr).await.ok()?);
            self.lock().reconnects += 1;
        }
        let stream = conn.as_mut()?;
        let sent = write(stream, &item.bytes, transport, options).await;
        let answer = match (sent, transport) {
            (Ok(()), Transport::Clean | Transport::Slow | Transport::GarbageBefore) => {
                tokio::time::timeout(options.ack_timeout, read_answer(stream))
                    .await
                    .ok()
                    .flatten()
            }
            _ => None,
        };
        let Some(answer) = answer else {
            *conn = None;
            return None;
        };
        let expected = item.key.as_ref().map(|k| k.1.as_str());
        if answer.control_id.as_deref() != expected {
            self.lock().mismatched_acks += 1;
        }
        Some(answer)
    }
}

async fn write(
    stream: &mut TcpStream,
    message: &[u8],
    transport: Transport,
    options: &SendOptions,
) -> std::io::Result<()> {
    let framed = mllp::frame(message);
    match transport {
        Transport::Clean | Transport::DropBeforeAck => stream.write_all(&framed).await,
        Transport::Truncate => stream.write_all(&framed[..framed.len() / 2]).await,
        Transport::GarbageBefore => {
            stream.write_all(b"\x00\x07NOISE\r\n").await?;
            stream.write_all(&framed).await
        }
        Transport::Slow => {
            for chunk in framed.chunks(options.slow_chunk.max(1)) {
                stream.write_all(chunk).await?;
                tokio::time::sleep(options.slow_pause).await;
            }
            Ok(())
        }
    }
}

/// Reads until one whole frame arrives; `None` on EOF or an unreadable answer.
async fn read_answer(stream: &mut TcpStream) -> Option<ReadAck> {
    let mut reader = FrameReader::new(1024 * 1024);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        for event in reader.push(&buf[..n]) {
            if let Event::Frame(bytes) = event {
                return ack::read(&bytes);
            }
        }
    }
}
