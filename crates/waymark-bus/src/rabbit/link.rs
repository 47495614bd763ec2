//! The connection to the broker: one at a time, re-established with back-off when it fails,
//! and the health every caller can read.
//!
//! A [`Session`] is one connection and its publishing channel (in confirm mode). Whoever finds
//! the session broken says so ([`Link::broken`]); the next caller reconnects. Each session has a
//! new generation number, so a late report about an old one never drops a fresh one. On every
//! new session the shared topology (requeue exchange, delay queues, registry) and every
//! queue this process declared are declared again, so a broker that lost them gets them back.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use lapin::{Channel, Connection, ConnectionProperties, options::ConfirmSelectOptions};

use super::{RabbitBusOptions, registry, topology};
use crate::{BusError, BusHealth, LinkState, QueueSpec};

/// One connection and its publishing channel.
pub(super) struct Session {
    pub generation: u64,
    pub conn: Connection,
    pub publish: Channel,
}

impl Session {
    /// Whether the connection and the publishing channel are still open.
    pub(super) fn alive(&self) -> bool {
        self.conn.status().connected() && self.publish.status().connected()
    }
}

struct Health {
    state: LinkState,
    since: Instant,
    last_error: Option<String>,
}

/// The link to the broker, shared by every operation of a bus.
pub(super) struct Link {
    url: String,
    pub(super) options: RabbitBusOptions,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
    next_gen: AtomicU64,
    connects: AtomicU64,
    pub(super) waiting: AtomicU64,
    health: Mutex<Health>,
    declared: Mutex<Vec<QueueSpec>>,
}

impl Link {
    pub(super) fn new(url: &str, options: RabbitBusOptions) -> Self {
        Self {
            url: url.to_owned(),
            options,
            session: tokio::sync::Mutex::new(None),
            next_gen: AtomicU64::new(1),
            connects: AtomicU64::new(0),
            waiting: AtomicU64::new(0),
            health: Mutex::new(Health {
                state: LinkState::Down,
                since: Instant::now(),
                last_error: None,
            }),
            declared: Mutex::default(),
        }
    }

    /// The current session, connecting once if there is none.
    pub(super) async fn session(&self) -> Result<Arc<Session>, BusError> {
        let mut current = self.session.lock().await;
        if let Some(session) = current.as_ref().filter(|s| s.alive()) {
            return Ok(Arc::clone(session));
        }
        if let Some(old) = current.take() {
            close(&old.conn, 320, "waymark reconnecting").await;
        }
        let connecting = tokio::time::timeout(CONNECT_TIMEOUT, self.connect()).await;
        let connected = connecting
            .unwrap_or_else(|_| Err(BusError::Backend("connecting to RabbitMQ timed out".into())));
        match connected {
            Ok(session) => {
                let session = Arc::new(session);
                *current = Some(Arc::clone(&session));
                self.connects.fetch_add(1, Ordering::Relaxed);
                self.set(LinkState::Up, None);
                tracing::info!(generation = session.generation, "connected to RabbitMQ");
                Ok(session)
            }
            Err(error) => {
                self.set(LinkState::Down, Some(error.to_string()));
                Err(error)
            }
        }
    }

    /// The session, waiting with back-off until one is had or `patience` runs out.
    pub(super) async fn session_within(
        &self,
        patience: Duration,
    ) -> Result<Arc<Session>, BusError> {
        let deadline = Instant::now() + patience;
        let mut backoff = Backoff::new(&self.options);
        loop {
            match self.session().await {
                Ok(session) => return Ok(session),
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(_) => backoff.wait(deadline).await,
            }
        }
    }

    /// Reports session `generation` broken: the next caller reconnects.
    pub(super) async fn broken(&self, generation: u64, why: &str) {
        let mut current = self.session.lock().await;
        if current.as_ref().is_some_and(|s| s.generation == generation) {
            tracing::warn!(generation, error = why, "RabbitMQ connection lost");
            self.set(LinkState::Down, Some(why.to_owned()));
            if let Some(old) = current.take() {
                close(&old.conn, 320, "waymark reconnecting").await;
            }
        }
    }

    /// Closes the connection for good (a clean shutdown; unacked messages go back).
    pub(super) async fn close(&self) {
        if let Some(old) = self.session.lock().await.take() {
            close(&old.conn, 200, "waymark closing").await;
        }
    }

    /// Remembers a declared queue, to declare it again on every new connection.
    pub(super) fn remember(&self, spec: &QueueSpec) {
        let mut declared = self.declared.lock().unwrap_or_else(|p| p.into_inner());
        declared.retain(|s| s.name != spec.name);
        declared.push(spec.clone());
    }

    pub(super) fn health(&self) -> BusHealth {
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        // (alive, blocked) of the current session; unknown while someone holds it (connecting).
        let session = self.session.try_lock().ok().map(|s| {
            s.as_ref()
                .map_or((false, false), |s| (s.alive(), s.conn.status().blocked()))
        });
        let state = match (health.state, session) {
            (LinkState::Up, Some((false, _))) => LinkState::Down,
            (LinkState::Up, Some((true, true))) => LinkState::Blocked,
            (state, _) => state,
        };
        BusHealth {
            backend: "rabbitmq",
            state,
            for_how_long: health.since.elapsed(),
            connects: self.connects.load(Ordering::Relaxed),
            waiting_publishes: self.waiting.load(Ordering::Relaxed),
            last_error: health.last_error.clone(),
        }
    }

    fn set(&self, state: LinkState, error: Option<String>) {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if health.state != state {
            health.state = state;
            health.since = Instant::now();
        }
        if error.is_some() {
            health.last_error = error;
        }
    }

    async fn connect(&self) -> Result<Session, BusError> {
        let properties = ConnectionProperties::default().with_connection_name("waymark".into());
        let conn = Connection::connect(&self.url, properties)
            .await
            .map_err(amqp)?;
        let publish = conn.create_channel().await.map_err(amqp)?;
        publish
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(amqp)?;
        self.declare_all(&conn).await?;
        let generation = self.next_gen.fetch_add(1, Ordering::Relaxed);
        Ok(Session {
            generation,
            conn,
            publish,
        })
    }
}

impl Link {
    /// Declares the shared topology and every queue this process declared, holding the broker
    /// lock (one process at a time) when it can be had within [`DECLARE_LOCK_PATIENCE`];
    /// without it otherwise (a holder that long is stuck, and declaring is idempotent).
    async fn declare_all(&self, conn: &Connection) -> Result<(), BusError> {
        let lock = registry::BrokerLock::take_within(conn, DECLARE_LOCK_PATIENCE).await;
        if let Err(error) = &lock {
            tracing::warn!(error = %error, "declaring without the broker lock");
        }
        let declared = self
            .declared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let result = declare_each(conn, &declared).await;
        if let Ok(lock) = lock {
            lock.release().await;
        }
        result
    }
}

async fn declare_each(conn: &Connection, declared: &[QueueSpec]) -> Result<(), BusError> {
    topology::declare_shared(conn).await?;
    for spec in declared {
        topology::declare_queue(conn, spec).await?;
    }
    Ok(())
}

/// How long a new connection waits for the broker lock before it declares without it.
const DECLARE_LOCK_PATIENCE: Duration = Duration::from_secs(10);
/// How long connecting, opening the channel and declaring the topology may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long closing a connection may take (a dead one never answers).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Closes a connection, not waiting long for a broker that may be gone.
async fn close(conn: &Connection, code: u16, why: &str) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, conn.close(code, why.into())).await;
}

/// How long handing an ack to the connection may take.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Acks one delivery. False when it could not be sent (its channel is gone, or the connection
/// does not take it in time): the broker will deliver the message again.
pub(super) async fn ack(acker: &lapin::Acker) -> bool {
    let sent = tokio::time::timeout(
        ACK_TIMEOUT,
        acker.ack(lapin::options::BasicAckOptions::default()),
    );
    matches!(sent.await, Ok(Ok(true)))
}

/// Closes a channel, not waiting long for a broker that may be gone.
pub(super) async fn close_channel(channel: &Channel, why: &str) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, channel.close(200, why.into())).await;
}

/// Exponential back-off between attempts, from `reconnect_min` up to `reconnect_max`.
pub(super) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(super) fn new(options: &RabbitBusOptions) -> Self {
        Self {
            next: options.reconnect_min,
            max: options.reconnect_max.max(options.reconnect_min),
        }
    }

    /// Sleeps the next back-off (never past `deadline`) and doubles it.
    pub(super) async fn wait(&mut self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(self.next.min(left)).await;
        self.next = (self.next * 2).min(self.max);
    }
}

/// A lapin error as a backend error. Lapin's text names the broker's reply and the queue, never
/// message content.
pub(super) fn amqp(error: lapin::Error) -> BusError {
    BusError::Backend(format!("RabbitMQ: {error}"))
}
