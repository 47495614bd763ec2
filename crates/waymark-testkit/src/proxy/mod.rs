//! A fault-injecting TCP proxy for the fault tests: it listens on `127.0.0.1:0` in front of one
//! target address and forwards both ways, and its faults can be switched while connections are
//! open — added latency, a TCP reset of every connection (`SO_LINGER` 0, so the peer sees RST,
//! not FIN), new connections closed at once, half-open connections (accepted and read, never
//! forwarded nor answered), and stop / resume of the listener itself (connections refused
//! meanwhile, then accepted again on the same port).
//!
//! It holds no data: bytes are forwarded (or swallowed) as they come, and only counted.

mod conn;

use std::{
    io,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// What the proxy does to connections, besides the added latency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways.
    #[default]
    None,
    /// Reset every connection, new and open, with a TCP RST.
    Reset,
    /// Close each new connection at once, before a byte passes (open ones go on).
    Drop,
    /// Accept and read, never forward nor answer. An open connection that swallows bytes
    /// stays a black hole (its stream is broken) until its client closes it.
    HalfOpen,
}

/// Counts of what the proxy did, since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections forwarded to the target.
    pub forwarded: u64,
    /// Connections reset (RST), new or open.
    pub reset: u64,
    /// New connections closed at once.
    pub dropped: u64,
    /// Connections that swallowed bytes (half-open).
    pub swallowed: u64,
    /// Bytes forwarded, both ways.
    pub bytes: u64,
}

/// The live settings every connection watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct State {
    pub fault: Fault,
    pub latency: Duration,
    pub running: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub accepted: AtomicU64,
    pub forwarded: AtomicU64,
    pub reset: AtomicU64,
    pub dropped: AtomicU64,
    pub swallowed: AtomicU64,
    pub bytes: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }
}

/// A running proxy; stops listening and closes its connections when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    target: SocketAddr,
    state: watch::Sender<State>,
    counters: Arc<Counters>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:0` forwarding to `target`, with no fault.
    pub async fn start(target: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (state, _) = watch::channel(State {
            fault: Fault::None,
            latency: Duration::ZERO,
            running: true,
        });
        let proxy = Self {
            addr,
            target,
            state,
            counters: Arc::default(),
            accept: Mutex::new(None),
        };
        proxy.spawn_accept(listener);
        Ok(proxy)
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the proxy forwards to.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Sets the fault, for new and (see [`Fault`]) open connections.
    pub fn set_fault(&self, fault: Fault) {
        self.state.send_modify(|s| s.fault = fault);
    }

    /// Delays every chunk forwarded, each way, by `latency` (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        self.state.send_modify(|s| s.latency = latency);
    }

    /// Stops listening (new connections are refused) and closes every open connection.
    pub fn stop(&self) {
        if let Some(task) = self.lock_accept().take() {
            task.abort();
        }
        self.state.send_modify(|s| s.running = false);
    }

    /// Listens again, on the same address, after [`stop`](Self::stop); a no-op when running.
    pub async fn resume(&self) -> io::Result<()> {
        if self.lock_accept().is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        self.state.send_modify(|s| s.running = true);
        self.spawn_accept(listener);
        Ok(())
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ProxyStats {
            accepted: get(&c.accepted),
            forwarded: get(&c.forwarded),
            reset: get(&c.reset),
            dropped: get(&c.dropped),
            swallowed: get(&c.swallowed),
            bytes: get(&c.bytes),
        }
    }

    fn spawn_accept(&self, listener: TcpListener) {
        let task = tokio::spawn(conn::accept_loop(
            listener,
            self.target,
            self.state.subscribe(),
            self.counters.clone(),
        ));
        if let Some(old) = self.lock_accept().replace(task) {
            old.abort();
        }
    }

    fn lock_accept(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        // A poisoned lock only means a panic elsewhere; the handle inside is still sound.
        self.accept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
